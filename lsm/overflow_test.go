package lsm

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/batchrepr"
	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/vfs"
)

// year is a rough year, for TTLs far in the future.
const year = 365 * 24 * time.Hour

// maxExpiry is the latest expiry a DB stores: the largest Unix-nanosecond
// time an int64 holds, in April 2262.
var maxExpiry = time.Unix(0, math.MaxInt64)

// TestTTLPastYear2262SaturatesOnEveryWritePath: a TTL whose expiry lies
// beyond what an int64 of Unix nanoseconds holds used to wrap around to a
// time in the past, so the write succeeded and the key vanished at once.
// Every path that turns a TTL into an expiry must keep the key, with the
// expiry clamped to the largest representable time.
func TestTTLPastYear2262SaturatesOnEveryWritePath(t *testing.T) {
	huge := []time.Duration{250 * year, 290 * year, time.Duration(math.MaxInt64)}
	paths := []struct {
		name  string
		write func(db *DB, k []byte, ttl time.Duration) error
		read  func(db *DB, k []byte) ([]byte, error)
	}{
		{"Put", func(db *DB, k []byte, ttl time.Duration) error {
			return db.Put(k, []byte("v"), WithTTL(ttl))
		}, (*DB).Get},
		{"Put IfAbsent", func(db *DB, k []byte, ttl time.Duration) error {
			return db.Put(k, []byte("v"), WithTTL(ttl), IfAbsent())
		}, (*DB).Get},
		{"Expire of an existing key", func(db *DB, k []byte, ttl time.Duration) error {
			if err := db.Put(k, []byte("v")); err != nil {
				return err
			}
			return db.Expire(k, ttl)
		}, (*DB).Get},
		{"Expire of a key with a TTL", func(db *DB, k []byte, ttl time.Duration) error {
			if err := db.Put(k, []byte("v"), WithTTL(time.Hour)); err != nil {
				return err
			}
			return db.Expire(k, ttl)
		}, (*DB).Get},
		{"Increment creating the key", func(db *DB, k []byte, ttl time.Duration) error {
			_, err := db.Increment(k, 1, WithTTL(ttl))
			return err
		}, (*DB).Get},
		{"Batch Put", func(db *DB, k []byte, ttl time.Duration) error {
			b := db.NewBatch()
			b.Put(k, []byte("v"), WithTTL(ttl))
			return db.Apply(b)
		}, (*DB).Get},
		{"Batch Put with a condition", func(db *DB, k []byte, ttl time.Duration) error {
			b := db.NewBatch()
			b.Put(k, []byte("v"), WithTTL(ttl), IfAbsent())
			return db.Apply(b)
		}, (*DB).Get},
		{"PutItem", func(db *DB, k []byte, ttl time.Duration) error {
			return db.PutItem([]byte("pk"), k, []byte("v"), WithTTL(ttl))
		}, func(db *DB, k []byte) ([]byte, error) { return db.GetItem([]byte("pk"), k) }},
		{"Batch PutItem", func(db *DB, k []byte, ttl time.Duration) error {
			b := db.NewBatch()
			b.PutItem([]byte("pk"), k, []byte("v"), WithTTL(ttl))
			return db.Apply(b)
		}, func(db *DB, k []byte) ([]byte, error) { return db.GetItem([]byte("pk"), k) }},
	}
	for _, clockName := range []string{"fake clock", "time.Now"} {
		fs := vfs.NewMem()
		opts := &Options{}
		if clockName == "fake clock" {
			opts.Clock = newFakeClock().Now
		}
		db := openMem(t, fs, opts)
		var written [][]byte
		for _, p := range paths {
			for _, ttl := range huge {
				k := []byte(p.name + " " + ttl.String())
				require.NoError(t, p.write(db, k, ttl), "%s, %s: %s", clockName, p.name, ttl)
				_, err := p.read(db, k)
				require.NoError(t, err, "%s, %s with TTL %s: the key must not vanish", clockName, p.name, ttl)
				written = append(written, k)
			}
		}
		check := func(stage string) {
			for _, k := range written {
				v, err := db.Get(k)
				if err != nil { // an item
					v, err = db.GetItem([]byte("pk"), k)
				}
				require.NoError(t, err, "%s, %s: %s", clockName, stage, k)
				require.NotEmpty(t, v)
			}
			items := db.Query([]byte("pk"), nil)
			n := 0
			for items.Next() {
				require.Equal(t, maxExpiry, items.Item().Expiry, "%s, %s: item %s", clockName, stage, items.Item().SK)
				n++
			}
			require.NoError(t, items.Close())
			require.Equal(t, 2*len(huge), n, "%s, %s", clockName, stage)
		}
		check("in the memtable")
		exp, err := db.Expiry([]byte("Put " + huge[0].String()))
		require.NoError(t, err)
		require.Equal(t, maxExpiry, exp, "the expiry is clamped to the largest representable time")
		require.NoError(t, db.Compact(nil, nil))
		check("after a full compaction")
		require.NoError(t, db.Close())
		db = openMem(t, fs, opts)
		check("after reopen")
		require.NoError(t, db.Verify())
		require.NoError(t, db.Close())
	}
}

// TestIncrementKeepsASaturatedExpiry: an existing key's expiry survives an
// Increment, clamped or not.
func TestIncrementKeepsASaturatedExpiry(t *testing.T) {
	db := openMem(t, vfs.NewMem(), &Options{Clock: newFakeClock().Now})
	defer db.Close()
	k := []byte("n")
	_, err := db.Increment(k, 5, WithTTL(time.Duration(math.MaxInt64)))
	require.NoError(t, err)
	n, err := db.Increment(k, 1, WithTTL(time.Second))
	require.NoError(t, err)
	require.EqualValues(t, 6, n)
	exp, err := db.Expiry(k)
	require.NoError(t, err)
	require.Equal(t, maxExpiry, exp)
}

// TestOptionsTheTableWriterRejectsFailAtOpen: sizes the table writer refuses
// used to pass Open, and then every flush failed and latched the DB. They
// are ErrInvalidArgument at Open; the largest accepted values work.
func TestOptionsTheTableWriterRejectsFailAtOpen(t *testing.T) {
	for name, o := range map[string]Options{
		"BlockSize over 64 MiB":     {BlockSize: 64<<20 + 1},
		"BlockSize at MaxInt":       {BlockSize: math.MaxInt},
		"BloomBitsPerKey over 100":  {BloomBitsPerKey: 101},
		"BloomBitsPerKey at MaxInt": {BloomBitsPerKey: math.MaxInt},
	} {
		o.FS = vfs.NewMem()
		_, err := Open("/db", &o)
		require.ErrorIs(t, err, ErrInvalidArgument, name)
	}
	for name, o := range map[string]Options{
		"BlockSize 64 MiB":              {BlockSize: 64 << 20},
		"BloomBitsPerKey 100":           {BloomBitsPerKey: 100},
		"TargetFileSize at MaxInt64":    {TargetFileSize: math.MaxInt64},
		"BaseLevelSize at MaxInt64":     {BaseLevelSize: math.MaxInt64},
		"BlockCacheSize at MaxInt64":    {BlockCacheSize: math.MaxInt64},
		"LevelMultiplier at MaxInt":     {LevelMultiplier: math.MaxInt},
		"MaxOpenFiles at MaxInt":        {MaxOpenFiles: math.MaxInt},
		"TTLCompactionInterval at max":  {TTLCompactionInterval: math.MaxInt64},
		"L0 thresholds at MaxInt":       {L0CompactionTrigger: math.MaxInt, L0SlowdownWrites: math.MaxInt, L0StopWrites: math.MaxInt},
		"MaxImmutableMemtables at max":  {MaxImmutableMemtables: math.MaxInt},
		"CompactionConcurrency at 1000": {CompactionConcurrency: 1000},
	} {
		o.FS = vfs.NewMem()
		db, err := Open("/db", &o)
		require.NoError(t, err, name)
		for i := range 100 {
			require.NoError(t, db.Put([]byte{byte(i)}, []byte("v")), name)
		}
		require.NoError(t, db.Flush(), name)
		require.NoError(t, db.Compact(nil, nil), name)
		for i := range 100 {
			_, err := db.Get([]byte{byte(i)})
			require.NoError(t, err, name)
		}
		require.NoError(t, db.Verify(), name)
		require.NoError(t, db.Close(), name)
	}
}

// TestARequestTooLargeForAnyMemtableFailsAlone: a memtable holds at most
// 4 GiB; a batch whose entries need more used to make the commit leader
// rotate memtables forever. It fails alone with ErrInvalidArgument, and the
// DB keeps taking writes. (A real batch that large needs gigabytes of
// memory, so the request claims its entry count instead.)
func TestARequestTooLargeForAnyMemtableFailsAlone(t *testing.T) {
	db := openMem(t, vfs.NewMem(), nil)
	defer db.Close()
	req := getReq()
	req.repr = batchrepr.AppendEntry(req.repr, keys.KindDelete, []byte("k"), nil, 0)
	req.count = 1 << 26 // 64 Mi entries: about 4 GiB of memtable space
	err := db.commitWrite(req)
	require.ErrorIs(t, err, ErrInvalidArgument)
	require.NoError(t, db.Put([]byte("k"), []byte("v")), "the DB still takes writes")
	v, err := db.Get([]byte("k"))
	require.NoError(t, err)
	require.Equal(t, "v", string(v))
}

// TestMemoryBoundDoesNotWrap: the memory bound of options near the int
// limits used to wrap around (MaxImmutableMemtables+1 at math.MaxInt, a
// TargetFileSize times the compactions, a block cache plus the rest), so a
// MemoryLimit the options cannot keep passed Open. The bound saturates: such
// options are ErrInvalidArgument with a MemoryLimit, and without one the
// bound Metrics reports is the largest int64, never a small or negative
// number.
func TestMemoryBoundDoesNotWrap(t *testing.T) {
	huge := map[string]Options{
		"MaxImmutableMemtables at MaxInt":       {MaxImmutableMemtables: math.MaxInt},
		"TargetFileSize at MaxInt64":            {TargetFileSize: math.MaxInt64},
		"TargetFileSize 2^60, 1000 compactions": {TargetFileSize: 1 << 60, CompactionConcurrency: 1000},
		"BlockCacheSize at MaxInt64":            {BlockCacheSize: math.MaxInt64},
	}
	for name, o := range huge {
		o.FS = vfs.NewMem()
		o.MemoryLimit = 1 << 30
		_, err := Open("/db", &o)
		require.ErrorIs(t, err, ErrInvalidArgument, "%s with MemoryLimit 1 GiB", name)
	}
	for name, o := range huge {
		o.FS = vfs.NewMem()
		db, err := Open("/db", &o)
		require.NoError(t, err, name)
		require.Equal(t, int64(math.MaxInt64), db.Metrics().MemoryBound, name)
		require.NoError(t, db.Close())
	}
}

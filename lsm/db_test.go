package lsm

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/vfs"
)

func TestPutGetDeleteAcrossFlushAndReopen(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, smallOpts(fs))
	for i := 0; i < 3000; i++ {
		require.NoError(t, db.Put([]byte(fmt.Sprintf("key%05d", i)), []byte(fmt.Sprintf("value%d", i))))
	}
	for i := 0; i < 3000; i += 3 {
		require.NoError(t, db.Delete([]byte(fmt.Sprintf("key%05d", i))))
	}
	check := func(db *DB) {
		for i := 0; i < 3000; i++ {
			v, err := db.Get([]byte(fmt.Sprintf("key%05d", i)))
			if i%3 == 0 {
				require.ErrorIs(t, err, ErrNotFound, "key%05d", i)
				continue
			}
			require.NoError(t, err, "key%05d", i)
			require.Equal(t, fmt.Sprintf("value%d", i), string(v))
		}
		has, err := db.Has([]byte("key00001"))
		require.NoError(t, err)
		require.True(t, has)
		has, err = db.Has([]byte("key00000"))
		require.NoError(t, err)
		require.False(t, has)
	}
	check(db)
	require.NoError(t, db.Flush())
	require.Greater(t, db.Metrics().Flushes, int64(1), "the small memtable must have flushed on its own too (tables may since have been compacted into one)")
	require.NoError(t, db.Close())
	db = openMem(t, fs, smallOpts(fs))
	check(db)
	require.NoError(t, db.Flush())
	check(db)
	require.NoError(t, db.Close())
}

func TestGetReturnsACopy(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, nil)
	defer db.Close()
	key, val := []byte("k"), []byte("v1")
	require.NoError(t, db.Put(key, val))
	val[1] = '9' // the DB keeps no reference to the caller's slices
	got, err := db.Get(key)
	require.NoError(t, err)
	require.Equal(t, "v1", string(got))
	got[0] = 'x'
	again, _ := db.Get(key)
	require.Equal(t, "v1", string(again))
}

func TestSecondOpenIsLocked(t *testing.T) {
	for _, name := range []string{"mem", "os"} {
		t.Run(name, func(t *testing.T) {
			var fs vfs.FS = vfs.NewMem()
			dir := "/db"
			if name == "os" {
				fs, dir = vfs.Default, t.TempDir()
			}
			db, err := Open(dir, &Options{FS: fs})
			require.NoError(t, err)
			_, err = Open(dir, &Options{FS: fs})
			require.ErrorIs(t, err, ErrLocked)
			_, err = Open(dir, &Options{FS: fs, ReadOnly: true})
			require.ErrorIs(t, err, ErrLocked)
			require.NoError(t, db.Close())
			db, err = Open(dir, &Options{FS: fs})
			require.NoError(t, err)
			require.NoError(t, db.Close())
		})
	}
}

func TestEverythingAfterCloseIsErrClosed(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, nil)
	require.NoError(t, db.Put([]byte("a"), []byte("1")))
	b := db.NewBatch()
	b.Put([]byte("b"), []byte("2"))
	require.NoError(t, db.Close())
	require.ErrorIs(t, db.Close(), ErrClosed)
	_, err := db.Get([]byte("a"))
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, db.Put([]byte("a"), []byte("1")), ErrClosed)
	require.ErrorIs(t, db.Delete([]byte("a")), ErrClosed)
	require.ErrorIs(t, db.Apply(b), ErrClosed)
	_, err = db.Has([]byte("a"))
	require.ErrorIs(t, err, ErrClosed)
	_, err = db.Expiry([]byte("a"))
	require.ErrorIs(t, err, ErrClosed)
	_, err = db.Increment([]byte("n"), 1)
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, db.Expire([]byte("a"), 0), ErrClosed)
	_, err = db.NewIter(nil)
	require.ErrorIs(t, err, ErrClosed)
	s := db.NewSnapshot()
	_, err = s.Get([]byte("a"))
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, db.Flush(), ErrClosed)
	require.ErrorIs(t, db.Compact(nil, nil), ErrClosed)
	require.ErrorIs(t, db.Verify(), ErrClosed)
	require.ErrorIs(t, db.Checkpoint("/cp"), ErrClosed)
	items := db.Query([]byte("p"), nil)
	require.False(t, items.Next())
	require.ErrorIs(t, items.Err(), ErrClosed)
	_, err = db.GetItem([]byte("p"), []byte("s"))
	require.ErrorIs(t, err, ErrClosed)
	require.Contains(t, db.Metrics().String(), "# Server")
}

func TestCloseRefusesWhileIteratorsOrSnapshotsLive(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, nil)
	it, err := db.NewIter(nil)
	require.NoError(t, err)
	s := db.NewSnapshot()
	err = db.Close()
	require.ErrorIs(t, err, ErrInvalidArgument)
	require.NoError(t, db.Put([]byte("still"), []byte("open")))
	require.NoError(t, it.Close())
	require.ErrorIs(t, it.Close(), ErrClosed, "double iterator close")
	require.Error(t, db.Close())
	require.NoError(t, s.Close())
	require.ErrorIs(t, s.Close(), ErrClosed)
	require.NoError(t, db.Close())
}

func TestInvalidArguments(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, nil)
	defer db.Close()
	for name, err := range map[string]error{
		"empty key put":     db.Put(nil, []byte("v")),
		"empty key delete":  db.Delete([]byte{}),
		"oversized key":     db.Put(make([]byte, MaxKeySize+1), nil),
		"zero TTL":          db.Put([]byte("k"), nil, WithTTL(0)),
		"two conditions":    db.Put([]byte("k"), nil, IfAbsent(), IfPresent()),
		"nil batch":         db.Apply(nil),
		"negative expire":   db.Expire([]byte("k"), -1),
		"TTL on a delete":   db.Delete([]byte("k"), WithTTL(1)),
		"batch with bad op": func() error { b := db.NewBatch(); b.Put(nil, nil); return db.Apply(b) }(),
	} {
		require.ErrorIs(t, err, ErrInvalidArgument, name)
	}
	_, err := db.Get(nil)
	require.ErrorIs(t, err, ErrInvalidArgument)
	require.NoError(t, db.Apply(db.NewBatch()), "an empty batch is a no-op")
	require.NoError(t, db.Put(make([]byte, MaxKeySize), []byte("max key is fine")))
	_, err = Open("/other", &Options{FS: fs, Sync: SyncMode(9)})
	require.ErrorIs(t, err, ErrInvalidArgument)
}

func TestParseSyncMode(t *testing.T) {
	for _, m := range []SyncMode{SyncAlways, SyncEverySec, SyncNo} {
		got, err := ParseSyncMode(m.String())
		require.NoError(t, err)
		require.Equal(t, m, got)
	}
	_, err := ParseSyncMode("sometimes")
	require.ErrorIs(t, err, ErrInvalidArgument)
}

func TestReadOnly(t *testing.T) {
	fs := vfs.NewMem()
	_, err := Open("/db", &Options{FS: fs, ReadOnly: true})
	require.ErrorIs(t, err, ErrNoDatabase, "read-only open of a missing DB")
	require.NotErrorIs(t, err, ErrNotFound, "a missing DB is not a missing key")
	db := openMem(t, fs, smallOpts(fs))
	for i := 0; i < 500; i++ {
		require.NoError(t, db.Put([]byte(fmt.Sprintf("k%04d", i)), []byte("v")))
	}
	require.NoError(t, db.Close())
	before := fs.String()
	ro, err := Open("/db", &Options{FS: fs, ReadOnly: true})
	require.NoError(t, err)
	v, err := ro.Get([]byte("k0499"))
	require.NoError(t, err)
	require.Equal(t, "v", string(v))
	require.ErrorIs(t, ro.Put([]byte("x"), nil), ErrReadOnly)
	require.ErrorIs(t, ro.Delete([]byte("x")), ErrReadOnly)
	require.ErrorIs(t, ro.Flush(), ErrReadOnly)
	require.Len(t, dbScan(t, ro), 500)
	require.NoError(t, ro.Close())
	require.Equal(t, before, fs.String(), "a read-only open writes nothing")
}

func TestBatchAllOrNothingAndLaterWins(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, nil)
	defer db.Close()
	b := db.NewBatch()
	b.Put([]byte("a"), []byte("1"))
	b.Put([]byte("a"), []byte("2"))
	b.Put([]byte("b"), []byte("1"))
	b.Delete([]byte("b"))
	require.Equal(t, 4, b.Len())
	require.NoError(t, db.Apply(b))
	v, _ := db.Get([]byte("a"))
	require.Equal(t, "2", string(v))
	_, err := db.Get([]byte("b"))
	require.ErrorIs(t, err, ErrNotFound)

	// Applying again does not consume it; Reset empties it.
	require.NoError(t, db.Apply(b))
	b.Reset()
	require.Equal(t, 0, b.Len())
	b.Put([]byte("c"), []byte("3"))
	b.Put([]byte("a"), []byte("9"), IfAbsent()) // fails: a exists
	require.ErrorIs(t, db.Apply(b), ErrConditionFailed)
	_, err = db.Get([]byte("c"))
	require.ErrorIs(t, err, ErrNotFound, "a failed batch writes nothing")
	if errors.Is(err, ErrCorruption) {
		t.Fatal("not corruption")
	}
}

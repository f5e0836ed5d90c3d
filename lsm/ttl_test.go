package lsm

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/vfs"
)

func TestTTLExpiresAtExactlyTPlusD(t *testing.T) {
	fs, clock := vfs.NewMem(), newFakeClock()
	db := openMem(t, fs, &Options{Clock: clock.Now})
	defer db.Close()
	require.NoError(t, db.Put([]byte("k"), []byte("v"), WithTTL(10*time.Second)))
	exp, err := db.Expiry([]byte("k"))
	require.NoError(t, err)
	require.Equal(t, clock.Now().Add(10*time.Second), exp)

	clock.Advance(10*time.Second - time.Nanosecond)
	v, err := db.Get([]byte("k"))
	require.NoError(t, err)
	require.Equal(t, "v", string(v))

	clock.Advance(time.Nanosecond) // now == T + d: expired
	_, err = db.Get([]byte("k"))
	require.ErrorIs(t, err, ErrNotFound)
	has, err := db.Has([]byte("k"))
	require.NoError(t, err)
	require.False(t, has)
	_, err = db.Expiry([]byte("k"))
	require.ErrorIs(t, err, ErrNotFound)
	require.Empty(t, dbScan(t, db))
	require.Greater(t, db.Metrics().ExpiredHidden, int64(0))
}

func TestPutWithoutTTLClearsExpiryAndExpireSetsIt(t *testing.T) {
	fs, clock := vfs.NewMem(), newFakeClock()
	db := openMem(t, fs, &Options{Clock: clock.Now})
	defer db.Close()
	k := []byte("k")
	require.NoError(t, db.Put(k, []byte("1"), WithTTL(time.Second)))
	require.NoError(t, db.Put(k, []byte("2")))
	exp, err := db.Expiry(k)
	require.NoError(t, err)
	require.True(t, exp.IsZero(), "a plain Put replaces the whole entry, expiry included")

	require.NoError(t, db.Expire(k, time.Minute))
	exp, _ = db.Expiry(k)
	require.Equal(t, clock.Now().Add(time.Minute), exp)
	v, _ := db.Get(k)
	require.Equal(t, "2", string(v), "Expire keeps the value")
	require.NoError(t, db.Expire(k, 0))
	exp, _ = db.Expiry(k)
	require.True(t, exp.IsZero(), "Expire 0 removes the expiry")
	require.ErrorIs(t, db.Expire([]byte("absent"), time.Second), ErrNotFound)
}

func TestExpiredEntryShadowsOlderVersionsThroughFlushCompactionAndReopen(t *testing.T) {
	fs, clock := vfs.NewMem(), newFakeClock()
	opts := func() *Options { o := smallOpts(fs); o.Clock = clock.Now; return o }
	db := openMem(t, fs, opts())
	// An old value deep down, then a TTL version above it.
	for i := 0; i < 100; i++ {
		require.NoError(t, db.Put([]byte(fmt.Sprintf("k%03d", i)), []byte("old")))
	}
	require.NoError(t, db.Compact(nil, nil))
	for i := 0; i < 100; i++ {
		require.NoError(t, db.Put([]byte(fmt.Sprintf("k%03d", i)), []byte("new"), WithTTL(time.Minute)))
	}
	require.NoError(t, db.Flush())
	clock.Advance(time.Hour)
	check := func(db *DB, stage string) {
		for i := 0; i < 100; i++ {
			_, err := db.Get([]byte(fmt.Sprintf("k%03d", i)))
			require.ErrorIs(t, err, ErrNotFound, "%s: k%03d came back", stage, i)
		}
		require.Empty(t, dbScan(t, db), stage)
	}
	check(db, "after flush")
	// A compaction that does not reach the bottom keeps tombstones; the
	// full one drops everything.
	require.NoError(t, db.Compact(nil, nil))
	check(db, "after compaction")
	require.Greater(t, db.Metrics().ExpiredDropped, int64(0))
	require.NoError(t, db.Close())
	db = openMem(t, fs, opts())
	check(db, "after reopen")
	require.NoError(t, db.Close())
}

func TestSnapshotJudgesExpiryAtReadTime(t *testing.T) {
	fs, clock := vfs.NewMem(), newFakeClock()
	db := openMem(t, fs, &Options{Clock: clock.Now})
	defer db.Close()
	require.NoError(t, db.Put([]byte("k"), []byte("v"), WithTTL(time.Second)))
	s := db.NewSnapshot()
	defer s.Close()
	v, err := s.Get([]byte("k"))
	require.NoError(t, err)
	require.Equal(t, "v", string(v))
	clock.Advance(2 * time.Second)
	_, err = s.Get([]byte("k"))
	require.ErrorIs(t, err, ErrNotFound, "a snapshot does not show a key whose expiry has passed")
}

func TestTTLCompactionReclaimsExpiredSpace(t *testing.T) {
	fs, clock := vfs.NewMem(), newFakeClock()
	o := smallOpts(fs)
	o.Clock = clock.Now
	o.TTLCompactionInterval = 10 * time.Millisecond
	db := openMem(t, fs, o)
	defer db.Close()
	val := make([]byte, 100)
	for i := 0; i < 5000; i++ {
		require.NoError(t, db.Put([]byte(fmt.Sprintf("k%05d", i)), val, WithTTL(time.Minute)))
	}
	require.NoError(t, db.Compact(nil, nil))
	peak := db.Metrics().DiskBytes
	require.Greater(t, peak, int64(100_000))
	clock.Advance(2 * time.Minute)
	// No writes: the TTL compaction alone must bring the space back.
	deadline := time.Now().Add(20 * time.Second)
	for db.Metrics().DiskBytes > peak/20 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	m := db.Metrics()
	require.LessOrEqual(t, m.DiskBytes, peak/20, "expired data still takes %d of %d bytes", m.DiskBytes, peak)
	require.Greater(t, m.TTLCompactions, int64(0))
	require.Empty(t, dbScan(t, db))
}

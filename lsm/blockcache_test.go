package lsm

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/offheap"
	"github.com/stratadb/strata/vfs"
)

// TestReadsReleaseCachedBlocks: a DB whose reads of every kind went
// through its block cache (Get, GetAppend with and without NoFillCache,
// Has, Expiry, snapshot Gets, iterators both ways, compactions), with a
// cache small enough to evict, holds its data blocks off the Go heap while
// open and frees them all at Close: every read released what it used.
func TestReadsReleaseCachedBlocks(t *testing.T) {
	fs := vfs.NewMem()
	opts := smallOpts(fs)
	opts.BlockCacheSize = 64 << 10
	db, err := Open("/db", opts)
	require.NoError(t, err)
	const n = 3000
	val := func(i int) string { return fmt.Sprintf("value-%06d-%s", i, string(make([]byte, 40))) }
	for i := 0; i < n; i++ {
		require.NoError(t, db.Put(fmt.Appendf(nil, "k%06d", i), []byte(val(i))))
	}
	require.NoError(t, db.Flush())
	require.NoError(t, db.Compact(nil, nil))
	snap := db.NewSnapshot()
	for i := 0; i < n; i += 7 {
		k := fmt.Appendf(nil, "k%06d", i)
		v, err := db.Get(k)
		require.NoError(t, err)
		require.Equal(t, val(i), string(v))
		v, err = db.GetAppend(nil, k, &GetOptions{NoFillCache: i%2 == 0})
		require.NoError(t, err)
		require.Equal(t, val(i), string(v))
		ok, err := db.Has(k)
		require.NoError(t, err)
		require.True(t, ok)
		_, err = db.Expiry(k)
		require.NoError(t, err)
		v, err = snap.Get(k)
		require.NoError(t, err)
		require.Equal(t, val(i), string(v))
		_, err = db.Get(fmt.Appendf(nil, "k%06dx", i))
		require.ErrorIs(t, err, ErrNotFound)
	}
	it, err := db.NewIter(nil)
	require.NoError(t, err)
	i := 0
	for ok := it.First(); ok; ok = it.Next() {
		require.Equal(t, val(i), string(it.Value()))
		i++
	}
	require.Equal(t, n, i)
	for ok := it.Last(); ok; ok = it.Prev() {
		i--
		require.Equal(t, val(i), string(it.Value()))
	}
	require.Zero(t, i)
	require.NoError(t, it.Close())
	require.NoError(t, snap.Close())
	if offheap.OffHeap {
		require.Positive(t, db.blockCache.OffHeap(), "the cache holds blocks off the heap")
	}
	require.Positive(t, db.blockCache.Misses(), "reads went through the cache")
	require.NoError(t, db.Close())
	checkBlocksFreed(t, db)
}

package sstable

import (
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/vfs"
)

// TestCacheReserve: charges made with Reserve count against the capacity,
// evict blocks to make room, block new blocks while they fill the cache,
// and come back exactly when returned.
func TestCacheReserve(t *testing.T) {
	const capacity = 64 << 10
	c := NewCache(capacity)
	block := make([]byte, 1000)
	for off := uint64(0); off < 200; off++ {
		c.Set(1, off, block)
	}
	require.LessOrEqual(t, c.Size(), int64(capacity))
	require.Greater(t, c.Size(), int64(capacity/2))

	c.Reserve(capacity / 2)
	require.Equal(t, int64(capacity/2), c.Reserved())
	require.LessOrEqual(t, c.Size()+c.Reserved(), int64(capacity), "blocks were evicted to make room")
	for off := uint64(200); off < 400; off++ {
		c.Set(1, off, block)
		require.LessOrEqual(t, c.Size()+c.Reserved(), int64(capacity))
	}

	c.Reserve(capacity) // more than the capacity: nothing is cached
	require.Zero(t, c.Size())
	c.Set(2, 0, block)
	_, ok := c.Get(2, 0)
	require.False(t, ok, "no room for blocks while charges exceed the capacity")

	c.Reserve(-capacity)
	c.Reserve(-capacity / 2)
	require.Zero(t, c.Reserved())
	c.Set(2, 0, block)
	_, ok = c.Get(2, 0)
	require.True(t, ok)
}

// TestTableCacheMetaBound: open readers charge their index and filter to the
// block cache, the table cache closes readers to keep those charges within
// three quarters of the cache, and closing returns every charge.
func TestTableCacheMetaBound(t *testing.T) {
	dir := t.TempDir()
	sizes := makeTables(t, dir, 20)
	fs := &countingFS{FS: vfs.Default}
	// Measure one reader's metadata to size the cache for about four.
	probe := NewTableCache(fs, tableNames(dir), 100, ReaderOptions{})
	rd, h, err := probe.Get(1, sizes[1])
	require.NoError(t, err)
	per := rd.MemoryUsage()
	require.Positive(t, per)
	h.Release()
	require.NoError(t, probe.Close())

	bc := NewCache(per * 16 / 3) // 3/4 of it holds four readers' metadata
	tc := NewTableCache(fs, tableNames(dir), 100, ReaderOptions{Cache: bc})
	budget := bc.Capacity() * 3 / 4
	r := rand.New(rand.NewPCG(3, 3))
	for range 200 {
		i := 1 + r.IntN(20)
		rd, h, err := tc.Get(uint64(i), sizes[uint64(i)])
		require.NoError(t, err)
		checkTableReader(t, rd, i)
		h.Release()
		require.LessOrEqual(t, bc.Reserved(), budget, "metadata of open readers within the budget")
		require.LessOrEqual(t, bc.Size()+bc.Reserved(), bc.Capacity())
		n := int64(tc.Len())
		require.InDelta(t, n*per, bc.Reserved(), float64(n*per/5), "every open reader is charged (the tables are about alike)")
	}
	require.Less(t, tc.Len(), 20, "the bound closed readers the count bound would have kept")
	require.NoError(t, tc.Close())
	require.Zero(t, bc.Reserved(), "closed readers return their charges")
	require.Zero(t, fs.open.Load())
}

// TestWriterMemoryCounter: a writer publishes the bytes it holds while it
// builds a table, growing with the table, and takes them back when it
// finishes or aborts.
func TestWriterMemoryCounter(t *testing.T) {
	for _, abort := range []bool{false, true} {
		var mem atomic.Int64
		w := NewWriter(&memFile{}, WriterOptions{BlockSize: 512, Memory: &mem})
		entries := genEntries(rand.New(rand.NewPCG(4, 4)), 3000)
		var last int64
		for i, e := range entries {
			require.NoError(t, w.Add(e.key, e.value))
			if i == len(entries)/10 {
				last = mem.Load()
				require.Positive(t, last)
			}
		}
		require.Greater(t, mem.Load(), last, "the index and filter keys grow with the table")
		if abort {
			w.Abort()
		} else {
			_, err := w.Finish()
			require.NoError(t, err)
		}
		require.Zero(t, mem.Load())
	}
}

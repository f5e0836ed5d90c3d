package sstable

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCompactionIterDoesNotFillCache: an iterator from NewCompactionIter
// yields the same entries as NewIter, in both directions and after seeks,
// uses blocks the cache holds, and adds none of the blocks it reads.
func TestCompactionIterDoesNotFillCache(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	entries := genEntries(r, 3000)
	data, props := writeTable(t, entries, WriterOptions{BlockSize: 1024, Compression: CompressionSnappy})
	require.Greater(t, props.NumDataBlocks, uint64(10))
	cache := NewCache(64 << 20)
	stats := new(Stats)
	rd := openTable(t, data, ReaderOptions{Cache: cache, Stats: stats})
	defer rd.Close()

	// A full pass forward and backward, and seeks: same entries as the
	// model, and nothing cached.
	it := rd.NewCompactionIter()
	i := 0
	for ok := it.First(); ok; ok = it.Next() {
		require.Equal(t, entries[i].key, it.Key())
		require.True(t, bytes.Equal(entries[i].value, it.Value()))
		i++
	}
	require.NoError(t, it.Error())
	require.Equal(t, len(entries), i)
	for ok := it.Last(); ok; ok = it.Prev() {
		i--
		require.Equal(t, entries[i].key, it.Key())
	}
	require.Equal(t, 0, i)
	for n := 0; n < 200; n++ {
		e := entries[r.IntN(len(entries))]
		require.True(t, it.SeekGE(e.key))
		require.Equal(t, e.key, it.Key())
	}
	require.NoError(t, it.Close())
	require.Zero(t, cache.Size(), "a compaction iterator cached blocks")
	require.Zero(t, stats.BlockCacheHits.Load())
	read := stats.DataBlocksRead.Load()
	require.GreaterOrEqual(t, read, int64(props.NumDataBlocks))

	// An ordinary iterator fills the cache; a compaction iterator then
	// reads every block from it, and none from the file.
	it = rd.NewIter()
	for ok := it.First(); ok; ok = it.Next() {
	}
	require.NoError(t, it.Close())
	require.NotZero(t, cache.Size())
	size := cache.Size()
	read = stats.DataBlocksRead.Load()
	hits := stats.BlockCacheHits.Load()
	it = rd.NewCompactionIter()
	i = 0
	for ok := it.First(); ok; ok = it.Next() {
		require.Equal(t, entries[i].key, it.Key())
		i++
	}
	require.NoError(t, it.Close())
	require.Equal(t, len(entries), i)
	require.Equal(t, read, stats.DataBlocksRead.Load(), "blocks read from the file although cached")
	require.Equal(t, hits+int64(props.NumDataBlocks), stats.BlockCacheHits.Load())
	require.Equal(t, size, cache.Size())
}

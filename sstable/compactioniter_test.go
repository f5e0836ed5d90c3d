package sstable

import (
	"bytes"
	"math/rand/v2"
	"runtime"
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

// TestCompactionIterCountsApart: with ReaderOptions.CompactionStats set, a
// compaction iterator's block reads and cache lookups count there, not in
// Stats nor in the cache's hits and misses, so that Stats says what reads
// cost; an ordinary iterator still counts in Stats.
func TestCompactionIterCountsApart(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	entries := genEntries(r, 3000)
	data, props := writeTable(t, entries, WriterOptions{BlockSize: 1024, Compression: CompressionSnappy})
	cache := NewCache(64 << 20)
	stats, cstats := new(Stats), new(Stats)
	rd := openTable(t, data, ReaderOptions{Cache: cache, Stats: stats, CompactionStats: cstats})
	defer rd.Close()
	blocks := int64(props.NumDataBlocks)

	scan := func(it *Iterator) {
		t.Helper()
		n := 0
		for ok := it.First(); ok; ok = it.Next() {
			n++
		}
		require.NoError(t, it.Close())
		require.Equal(t, len(entries), n)
	}
	// Nothing cached: the compaction reads every block from the file.
	scan(rd.NewCompactionIter())
	require.Equal(t, blocks, cstats.DataBlocksRead.Load())
	require.Equal(t, blocks, cstats.BlockCacheMisses.Load())
	require.Positive(t, cstats.DataBytesRead.Load())
	require.Zero(t, stats.DataBlocksRead.Load()+stats.BlockCacheMisses.Load()+stats.BlockCacheHits.Load()+stats.DataBytesRead.Load(),
		"a compaction's reads counted as reads")
	require.Zero(t, cache.Hits()+cache.Misses(), "a compaction's lookups counted in the cache")

	// A read fills the cache and counts in Stats; a compaction then finds
	// every block there, counting hits in CompactionStats only.
	scan(rd.NewIter())
	require.Equal(t, blocks, stats.DataBlocksRead.Load())
	hits, misses := cache.Hits(), cache.Misses()
	scan(rd.NewCompactionIter())
	require.Equal(t, blocks, cstats.DataBlocksRead.Load(), "a compaction read cached blocks from the file")
	require.Equal(t, blocks, cstats.BlockCacheHits.Load())
	require.Equal(t, hits, cache.Hits())
	require.Equal(t, misses, cache.Misses())
	require.Equal(t, blocks, stats.DataBlocksRead.Load())
}

// TestCachePeek: Peek finds what Get finds, counts nothing, and leaves the
// block unmarked, so that the next insert past the capacity evicts it
// first (a block found by Get gets a second chance).
func TestCachePeek(t *testing.T) {
	block := make([]byte, 1024) // a slot size (slab.Size): charged as it is
	// One shard's worth: keys on the same shard compete for its capacity.
	c := NewCache(cacheShards * (3*(int64(len(block))+cacheEntryOverhead) + 10))
	var same []uint64 // offsets of file 1 that share a shard with offset 0
	s0 := c.shard(cacheKey{1, 0})
	for off := uint64(0); len(same) < 4; off++ {
		if c.shard(cacheKey{1, off}) == s0 {
			same = append(same, off)
		}
	}
	c.Set(1, same[0], block)
	c.Set(1, same[1], block)
	c.Set(1, same[2], block)
	_, ok := c.Peek(1, same[0])
	require.True(t, ok)
	_, ok = c.Peek(1, 12345678)
	require.False(t, ok)
	require.Zero(t, c.Hits()+c.Misses())
	_, ok = c.Get(1, same[1]) // marked: survives the next eviction
	require.True(t, ok)
	c.Set(1, same[3], block) // evicts the oldest unmarked block: same[0]
	_, ok = c.Peek(1, same[0])
	require.False(t, ok, "a peeked block was kept over one found by Get")
	_, ok = c.Peek(1, same[1])
	require.True(t, ok)
}

// TestCompactionIterReusesItsBlockBuffer: a compaction iterator decodes the
// blocks it reads from the file into one buffer of its own, so a pass over
// a table of many blocks allocates a few buffers, not one per block (in a
// large fill, the per-block allocations were most of the garbage), and
// still yields every entry, compressed blocks and stored ones alike.
func TestCompactionIterReusesItsBlockBuffer(t *testing.T) {
	for _, c := range []Compression{CompressionSnappy, CompressionNone} {
		r := rand.New(rand.NewPCG(3, 4))
		entries := genEntries(r, 6000)
		data, props := writeTable(t, entries, WriterOptions{BlockSize: 4096, Compression: c})
		require.Greater(t, props.NumDataBlocks, uint64(40))
		rd := openTable(t, data, ReaderOptions{Cache: NewCache(64 << 20)})
		it := rd.NewCompactionIter()
		it.SetReadahead(0) // one positioned read per block
		pass := func() {
			i := 0
			for ok := it.First(); ok; ok = it.Next() {
				if !bytes.Equal(entries[i].key, it.Key()) || !bytes.Equal(entries[i].value, it.Value()) {
					t.Fatalf("compression %d: entry %d differs", c, i)
				}
				i++
			}
			require.NoError(t, it.Error())
			require.Equal(t, len(entries), i)
		}
		pass() // the pools warm up
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		pass()
		runtime.ReadMemStats(&after)
		perBlock := float64(after.TotalAlloc-before.TotalAlloc) / float64(props.NumDataBlocks)
		if !raceEnabled { // the race build's pools drop buffers at random
			require.Less(t, perBlock, 512.0, "compression %d: %.0f bytes allocated per block read", c, perBlock)
		}
		require.NoError(t, it.Close())
		require.NoError(t, rd.Close())
	}
}

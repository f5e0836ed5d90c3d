package sstable

import (
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/keys"
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

// TestTableCacheMetaBound: with a block cache whose shards are too small
// for a table's index and filter, open readers keep them and charge them to
// the cache, the table cache closes readers to keep those charges within
// three quarters of the cache, and closing returns every charge.
func TestTableCacheMetaBound(t *testing.T) {
	dir := t.TempDir()
	sizes := makeTables(t, dir, 20)
	fs := &countingFS{FS: vfs.Default}
	// Measure one reader's metadata to size the cache for about two: with
	// a reader's fixed part (readerFixed) in the charge, a cache for more
	// would have shards large enough to take these tables' index and
	// filter.
	probe := NewTableCache(fs, tableNames(dir), 100, ReaderOptions{})
	rd, h, err := probe.Get(1, sizes[1])
	require.NoError(t, err)
	per := rd.MemoryUsage()
	require.Positive(t, per)
	h.Release()
	require.NoError(t, probe.Close())

	bc := NewCache(per * 8 / 3) // 3/4 of it holds two readers' metadata
	require.False(t, bc.partFits(per-readerFixed), "the shards are too small for a table's index and filter")
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

// TestTableMetaPartsInCache: with a block cache that holds the index and
// filter of a few tables but not of all, random point reads over many
// tables open each table once: an evicted index or filter is read again
// alone (one block, at most one index and one filter per Get), never by
// reopening the table, and the blocks, the parts and the charges stay
// within the capacity. Before the parts were cache entries, the table
// cache closed readers to bound their metadata and every reopen re-read
// the footer, properties, index and filter.
func TestTableMetaPartsInCache(t *testing.T) {
	const n = 40
	dir := t.TempDir()
	sizes := makeBigTables(t, dir, n)
	fs := &countingFS{FS: vfs.Default}
	// One table's parts and block sizes, read without a cache.
	probe := NewTableCache(fs, tableNames(dir), n, ReaderOptions{})
	rd, h, err := probe.Get(1, sizes[1])
	require.NoError(t, err)
	largest := max(rd.ix.memoryUsage(), filterMemory(rd.filter))
	h.Release()
	require.NoError(t, probe.Close())

	// Each shard holds the larger part of a table and a little more: the
	// cache holds the parts of about ten tables, not those of forty.
	bc := NewCache(cacheShards * (largest + 2*cacheEntryOverhead + 1000))
	require.True(t, bc.partFits(largest), "a part fits in a shard")
	require.Less(t, bc.Capacity(), n/3*(rd.ix.memoryUsage()+filterMemory(rd.filter)), "the parts of a third of the tables do not fit")
	var st Stats
	tc := NewTableCache(fs, tableNames(dir), 100, ReaderOptions{Cache: bc, Stats: &st})
	r := rand.New(rand.NewPCG(5, 5))
	for range 400 {
		i := 1 + r.IntN(n)
		rd, h, err := tc.Get(uint64(i), sizes[uint64(i)])
		require.NoError(t, err)
		metaReads := st.IndexBlocksRead.Load() + st.FilterBlocksRead.Load()
		bytes0 := st.BytesRead.Load()
		j := r.IntN(bigTableKeys)
		uk := fmt.Appendf(nil, "t%02d-k%06d", i, j)
		_, v, found, err := rd.Get(uk, keys.SearchKey(nil, uk, keys.MaxSeq))
		require.NoError(t, err)
		require.True(t, found)
		require.Equal(t, fmt.Sprintf("v%d-%d", i, j), string(v))
		h.Release()
		f := rd.meta.footer
		metaBlocks := int64(f.index.length + f.filter.length + 2*blockTrailerLen)
		maxData := int64(rd.meta.props.MaxBlockSize) + blockTrailerLen
		require.LessOrEqual(t, st.IndexBlocksRead.Load()+st.FilterBlocksRead.Load()-metaReads, int64(2), "at most one index and one filter read again")
		require.LessOrEqual(t, st.BytesRead.Load()-bytes0, metaBlocks+maxData, "a Get reads at most the index, the filter and one data block")
		blocks, meta := bc.Usage()
		require.LessOrEqual(t, blocks+meta, bc.Capacity())
	}
	require.Equal(t, int64(n), tc.Opens(), "every table opened once: evicted parts do not reopen tables")
	require.Equal(t, n, tc.Len())
	require.Positive(t, st.FilterBlocksRead.Load(), "filters were read on demand")
	require.Positive(t, st.IndexBlocksRead.Load()-n, "indexes were evicted and read again")
	require.NoError(t, tc.Close())
	require.Zero(t, bc.Reserved(), "closed readers return their charges")
	require.Zero(t, fs.open.Load())
}

// bigTableKeys is the number of keys of each table makeBigTables writes.
const bigTableKeys = 4000

// makeBigTables writes n tables with an index and a filter of some
// kilobytes each; table i holds the keys "t<i>-k<j>" (two-digit i,
// six-digit j) with the values "v<i>-<j>".
func makeBigTables(t *testing.T, dir string, n int) map[uint64]int64 {
	sizes := map[uint64]int64{}
	for i := 1; i <= n; i++ {
		f, err := vfs.Default.Create(tableNames(dir)(uint64(i)))
		require.NoError(t, err)
		w := NewWriter(f, WriterOptions{BlockSize: 512})
		for j := 0; j < bigTableKeys; j++ {
			require.NoError(t, w.Add(keys.MakeKey(nil, fmt.Appendf(nil, "t%02d-k%06d", i, j), 1, keys.KindSet), fmt.Appendf(nil, "v%d-%d", i, j)))
		}
		props, err := w.Finish()
		require.NoError(t, err)
		sizes[uint64(i)] = int64(props.FileSize)
	}
	return sizes
}

// TestCachePartsOutliveDataBlocks: a table's index or filter, at the tail
// of the cache and unused since, is passed over once more than a data
// block: it survives a turnover of the cache by data blocks that evicts a
// data block cached with it, and goes at the second.
func TestCachePartsOutliveDataBlocks(t *testing.T) {
	c := NewCache(cacheShards * 10_000)
	s := &c.shards[0]
	// Offsets of file 1 that land in shard 0.
	var offs []uint64
	for off := uint64(0); len(offs) < 200; off++ {
		if c.shard(cacheKey{1, off}) == s {
			offs = append(offs, off)
		}
	}
	part := "an index"
	require.True(t, c.setPart(1, offs[0], part, 1000, prioFilter))
	c.Set(1, offs[1], make([]byte, 1024))
	fill := func(from int) int { // data blocks until the shard turned over once
		var added int64
		i := from
		for ; added < s.capacity; i++ {
			c.Set(1, offs[i], make([]byte, 1024))
			added += 1024 + cacheEntryOverhead
		}
		return i
	}
	next := fill(2)
	_, ok := c.getPartNoRef(1, offs[0])
	require.True(t, ok, "the part outlived one turnover")
	_, ok = c.Peek(1, offs[1])
	require.False(t, ok, "the data block cached with it did not")
	fill(next)
	_, ok = c.getPartNoRef(1, offs[0])
	require.False(t, ok, "an unused part goes at the second turnover")
	_, ok = c.Get(1, offs[0])
	require.False(t, ok, "Get never returns a part as a block")
}

// TestEvictedFilterReadAgainWhenWorthIt: a reader with a cache does not
// read the table's filter when it opens, and goes on as after the cache
// evicted it: reads of the table go without it (reading the data block
// the index gives) until they number filterReload, its size in data
// blocks; the next one reads it, and later reads use it from the cache.
// After an eviction the same holds again.
func TestEvictedFilterReadAgainWhenWorthIt(t *testing.T) {
	dir := t.TempDir()
	sizes := makeBigTables(t, dir, 1)
	bc := NewCache(1 << 20)
	var st Stats
	tc := NewTableCache(vfs.Default, tableNames(dir), 10, ReaderOptions{Cache: bc, Stats: &st})
	defer tc.Close()
	rd, h, err := tc.Get(1, sizes[1])
	require.NoError(t, err)
	defer h.Release()
	require.Nil(t, rd.filter, "the reader keeps no filter of its own")
	require.Zero(t, st.FilterBlocksRead.Load(), "opening the table did not read its filter")
	require.Positive(t, st.IndexBlocksRead.Load(), "it read the index")
	k := rd.filterReload
	require.Greater(t, k, int64(2), "the filter is several data blocks long")

	absent := func(j int) {
		t.Helper()
		uk := fmt.Appendf(nil, "t01-k%06dx", j)
		_, _, found, err := rd.Get(uk, keys.SearchKey(nil, uk, keys.MaxSeq))
		require.NoError(t, err)
		require.False(t, found)
	}
	// cycle reads absent keys with no filter in the cache: k-1 reads go
	// without it, the k-th reads it and uses it, and the next uses the
	// cached one.
	cycle := func(phase string, from int) {
		t.Helper()
		filters, bypasses, data, skips := st.FilterBlocksRead.Load(), st.FilterBypasses.Load(), st.DataBlocksRead.Load(), st.FilterSkips.Load()
		for j := int64(1); j < k; j++ {
			absent(from + int(j)*150)
			require.Equal(t, bypasses+j, st.FilterBypasses.Load(), "%s: read %d of %d goes without the filter", phase, j, k)
			require.Equal(t, filters, st.FilterBlocksRead.Load(), "%s: read %d of %d without the filter does not read it", phase, j, k)
			require.Equal(t, data+j, st.DataBlocksRead.Load(), "%s: it reads the data block instead", phase)
		}
		absent(from + int(k)*150)
		require.Equal(t, filters+1, st.FilterBlocksRead.Load(), "%s: the filterReload-th read reads the filter", phase)
		require.Equal(t, skips+1, st.FilterSkips.Load(), "%s: and the filter excludes the key", phase)
		require.Equal(t, data+k-1, st.DataBlocksRead.Load())
		absent(from + int(k)*150 + 1)
		require.Equal(t, filters+1, st.FilterBlocksRead.Load(), "%s: the cache keeps it", phase)
		require.Equal(t, skips+2, st.FilterSkips.Load())
		require.Equal(t, data+k-1, st.DataBlocksRead.Load(), "%s: the cached filter saves the data block", phase)
	}
	cycle("after open", 0)
	bc.EvictFile(1)
	cycle("after eviction", 1)
}

// discardFile is a table file that keeps nothing, so that a test can count
// what the writer alone allocates.
type discardFile struct{}

func (discardFile) Read([]byte) (int, error)          { return 0, io.EOF }
func (discardFile) ReadAt([]byte, int64) (int, error) { return 0, io.EOF }
func (discardFile) Write(p []byte) (int, error)       { return len(p), nil }
func (discardFile) Close() error                      { return nil }
func (discardFile) Sync() error                       { return nil }
func (discardFile) Size() (int64, error)              { return 0, nil }

// TestWritersReuseBuffers: writers one after another reuse the output
// buffer and the filter's chunks of those finished or aborted before them,
// so a table of about 1 MiB allocates a small part of that, not a new
// 256 KiB buffer (grown by doubling) and new chunks for the filter.
func TestWritersReuseBuffers(t *testing.T) {
	if raceEnabled {
		t.Skip("under the race detector sync.Pool drops items on purpose")
	}
	const tables = 40
	value := make([]byte, 100)
	ikeys := make([][]byte, 9000) // ~1 MiB of entries per table
	for i := range ikeys {
		ikeys[i] = keys.MakeKey(nil, fmt.Appendf(nil, "%016d", 2*i), 1, keys.KindSet)
	}
	write := func(abort bool) {
		w := NewWriter(discardFile{}, WriterOptions{})
		for _, k := range ikeys {
			require.NoError(t, w.Add(k, value))
		}
		if abort {
			w.Abort()
			return
		}
		_, err := w.Finish()
		require.NoError(t, err)
	}
	write(false) // fills the pools
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range tables {
		write(i%4 == 3)
	}
	runtime.ReadMemStats(&after)
	perTable := (after.TotalAlloc - before.TotalAlloc) / tables
	t.Logf("%d bytes allocated per table", perTable)
	require.Less(t, perTable, uint64(128<<10), "bytes allocated per table of ~1 MiB")
}

// TestReaderMemoryIsCharged: what open readers add to the Go heap is
// charged to the block cache, as the parts it holds (their indexes and
// filters) or as the readers' reservations (MemoryUsage, with the fixed
// part every reader holds), so that a table cache allowed many open tables
// stays inside the cache's budget.
func TestReaderMemoryIsCharged(t *testing.T) {
	const n = 500
	dir := t.TempDir()
	sizes := makeTables(t, dir, n)
	bc := NewCache(64 << 20)
	tc := NewTableCache(vfs.Default, tableNames(dir), n, ReaderOptions{Cache: bc})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 1; i <= n; i++ {
		_, h, err := tc.Get(uint64(i), sizes[uint64(i)])
		require.NoError(t, err)
		h.Release()
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	require.Equal(t, n, tc.Len())
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	_, charged := bc.Usage()
	t.Logf("%d open readers: heap grew %d B (%d a reader), %d B charged (%d a reader)", n, grown, grown/n, charged, charged/n)
	require.LessOrEqual(t, grown, charged, "every byte open readers hold is charged to the cache")
	require.NoError(t, tc.Close())
	require.Zero(t, bc.Reserved(), "closed readers return their reservations")
}

package sstable

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/keys"
)

// countingFile counts the positioned reads made of a table's bytes.
type countingFile struct {
	data    []byte
	reads   atomic.Int64
	largest atomic.Int64 // the most bytes one read asked for
}

func (f *countingFile) ReadAt(p []byte, off int64) (int, error) {
	f.reads.Add(1)
	for {
		l := f.largest.Load()
		if int64(len(p)) <= l || f.largest.CompareAndSwap(l, int64(len(p))) {
			break
		}
	}
	return bytes.NewReader(f.data).ReadAt(p, off)
}

// readaheadTable writes a table of many small blocks and opens it over a
// countingFile, without a cache.
func readaheadTable(t *testing.T) ([]kv, *countingFile, *Reader, *Stats, Properties) {
	t.Helper()
	entries := genEntries(rand.New(rand.NewPCG(3, 3)), 4000)
	data, props := writeTable(t, entries, WriterOptions{BlockSize: 1024, Compression: CompressionSnappy})
	require.Greater(t, props.NumDataBlocks, uint64(100))
	f := &countingFile{data: data}
	stats := new(Stats)
	rd, err := NewReader(f, int64(len(data)), 1, "000001.sst", ReaderOptions{Stats: stats})
	require.NoError(t, err)
	t.Cleanup(func() { rd.Close() })
	f.reads.Store(0)
	f.largest.Store(0)
	return entries, f, rd, stats, props
}

// TestReadaheadFullScan: a full scan, by an ordinary iterator and by a
// compaction's, yields every entry while reading the blocks with far fewer
// positioned reads than blocks; every block is still decoded once.
func TestReadaheadFullScan(t *testing.T) {
	for _, compaction := range []bool{false, true} {
		entries, f, rd, stats, props := readaheadTable(t)
		it := rd.NewIter()
		if compaction {
			it = rd.NewCompactionIter()
		}
		i := 0
		for ok := it.First(); ok; ok = it.Next() {
			require.Equal(t, entries[i].key, it.Key())
			require.True(t, bytes.Equal(entries[i].value, it.Value()))
			i++
		}
		require.NoError(t, it.Close())
		require.Equal(t, len(entries), i)
		blocks := int64(props.NumDataBlocks)
		require.Equal(t, blocks, stats.DataBlocksRead.Load(), "compaction %v", compaction)
		require.Less(t, f.reads.Load(), blocks/4, "compaction %v: %d reads for %d blocks", compaction, f.reads.Load(), blocks)
		require.NotZero(t, stats.Readaheads.Load())
		require.Equal(t, int64(props.DataSize), stats.DataBytesRead.Load(), "every data byte read once")
	}
}

// TestCompactionReadaheadShare: a compaction iterator given a share of its
// compaction's readahead budget never reads more than the share with one
// positioned read, and a share under minReadahead reads block by block;
// every entry still comes back once.
func TestCompactionReadaheadShare(t *testing.T) {
	for _, share := range []int{0, minReadahead - 1, 48 << 10, 1 << 30} {
		entries, f, rd, stats, props := readaheadTable(t)
		it := rd.NewCompactionIter()
		it.SetReadahead(share)
		i := 0
		for ok := it.First(); ok; ok = it.Next() {
			require.Equal(t, entries[i].key, it.Key())
			i++
		}
		require.NoError(t, it.Close())
		require.Equal(t, len(entries), i)
		blocks := int64(props.NumDataBlocks)
		require.Equal(t, blocks, stats.DataBlocksRead.Load(), "share %d", share)
		if share < minReadahead {
			require.Zero(t, stats.Readaheads.Load(), "share %d", share)
			require.Equal(t, blocks, f.reads.Load(), "share %d: one read per block", share)
			continue
		}
		require.NotZero(t, stats.Readaheads.Load(), "share %d", share)
		require.LessOrEqual(t, f.largest.Load(), int64(min(share, CompactionReadahead)), "share %d", share)
		require.Less(t, f.reads.Load(), blocks/4, "share %d", share)
	}
}

// TestReadaheadShortScan: a seek and a scan over readaheadAfter blocks read
// exactly those blocks, one positioned read each; the scan's next block
// starts reading ahead.
func TestReadaheadShortScan(t *testing.T) {
	entries, f, rd, stats, _ := readaheadTable(t)
	it := rd.NewIter()
	defer it.Close()
	require.True(t, it.SeekGE(entries[len(entries)/4].key))
	for stats.DataBlocksRead.Load() < readaheadAfter+1 {
		require.True(t, it.Next())
	}
	for stats.DataBlocksRead.Load() == readaheadAfter+1 {
		require.True(t, it.Next())
	}
	// readaheadAfter reads of one block, then one readahead, whose next
	// block needed no read.
	require.Equal(t, int64(readaheadAfter+1), f.reads.Load())
	require.Equal(t, int64(1), stats.Readaheads.Load())
	require.Equal(t, int64(readaheadAfter+2), stats.DataBlocksRead.Load())

	// Seeks elsewhere are not reads in order.
	for n := 0; n < 20; n++ {
		require.True(t, it.SeekGE(entries[(n*397)%len(entries)].key))
	}
	require.Equal(t, int64(1), stats.Readaheads.Load())
	require.LessOrEqual(t, f.reads.Load(), stats.DataBlocksRead.Load()-1)
}

// TestReadaheadCorruptBlock: a damaged block brought by a readahead is
// reported when the scan reaches it, naming its offset; the entries before
// it are returned.
func TestReadaheadCorruptBlock(t *testing.T) {
	entries, f, rd, _, props := readaheadTable(t)
	h := rd.mustIndex(t).handles[props.NumDataBlocks/2]
	f.data = bytes.Clone(f.data)
	f.data[h.offset+h.length/2] ^= 0x40
	for _, compaction := range []bool{false, true} {
		it := rd.NewIter()
		if compaction {
			it = rd.NewCompactionIter()
		}
		i := 0
		for ok := it.First(); ok; ok = it.Next() {
			require.Equal(t, entries[i].key, it.Key())
			i++
		}
		err := it.Close()
		require.True(t, errors.Is(err, keys.ErrCorruption), "%v", err)
		require.Contains(t, err.Error(), "checksum")
		require.Contains(t, err.Error(), "000001.sst at offset")
		require.Greater(t, i, 0)
		require.Less(t, i, len(entries))
	}
}

// TestCompactionReadaheadOffHeap: a compaction iterator of a reader with a
// block cache reads ahead into the cache's allocator (outside the Go heap),
// charged to nothing, and gives the buffer back when closed or reset; an
// ordinary iterator's buffer stays on the heap. Every entry comes back once
// either way.
func TestCompactionReadaheadOffHeap(t *testing.T) {
	entries, rd, c := cachedTable(t, 3, 4000)
	base := c.alloc.Live() // the point index

	it := rd.NewCompactionIter()
	scanEntries(t, it, entries, len(entries)/2)
	require.NotNil(t, it.ra.alloc, "the compaction iterator's readahead is the allocator's")
	require.GreaterOrEqual(t, c.alloc.Live()-base, int64(CompactionReadahead))
	require.Zero(t, c.Size(), "charged to nothing")
	require.NoError(t, it.Close())
	require.Equal(t, base, c.alloc.Live(), "closed, the iterator gave its buffer back")

	it = rd.NewCompactionIter()
	scanEntries(t, it, entries, len(entries))
	require.Greater(t, c.alloc.Live(), base)
	rd.ResetIter(it, true) // an unclosed iterator, reset: its buffer goes back too
	require.Equal(t, base, c.alloc.Live(), "reset, the iterator gave its buffer back")
	scanEntries(t, it, entries, len(entries))
	require.NoError(t, it.Close())
	require.Equal(t, base, c.alloc.Live())

	it = rd.NewIter()
	scanEntries(t, it, entries, len(entries))
	require.NotNil(t, it.ra.buf, "an ordinary scan reads ahead")
	require.Nil(t, it.ra.alloc, "on the heap")
	require.NoError(t, it.Close())
}

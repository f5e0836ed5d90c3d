package sstable

import (
	"fmt"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/invariants"
	"github.com/stratadb/strata/keys"
)

// TestPointIndexLivesOutsideTheHeap: the cache keeps a table's point index
// in its allocator's memory (outside the Go heap), charged to the tables'
// metadata. Gets and seeks read it in place and release it; an open
// iterator holds it, so that evicting the table from the cache under it
// leaves the iterator reading a point index that is still there; the next
// read after the eviction makes it again, the same.
func TestPointIndexLivesOutsideTheHeap(t *testing.T) {
	var entries []kv
	for i := range 20000 {
		entries = append(entries, kv{keys.MakeKey(nil, fmt.Appendf(nil, "key%08d", i*2), 1, keys.KindSet), fmt.Appendf(nil, "value%d", i)})
	}
	data, _ := writeTable(t, entries, WriterOptions{BlockSize: 512})
	c := NewCache(8 << 20)
	defer c.Close()
	stats := &Stats{}
	rd := openTable(t, data, ReaderOptions{Cache: c, Stats: stats})
	defer rd.Close()
	whole := openTable(t, data, ReaderOptions{}) // no cache: keeps its own on the heap
	defer whole.Close()

	held := pointIndexLive(rd)
	require.Positive(t, held, "cached at the open, in the allocator's memory")
	blocks := int(rd.meta.props.NumDataBlocks)
	require.GreaterOrEqual(t, held, int64(8+12*blocks), "12 bytes a data block and the header")
	require.Equal(t, held, c.alloc.Live(), "the point index is the allocator's only block")
	require.GreaterOrEqual(t, c.Parts(), held, "charged with the tables' metadata")
	require.Zero(t, c.Size(), "not with the data blocks")

	requireSame := func(r *Reader) {
		t.Helper()
		got, err := heldPointIdx(r)
		require.NoError(t, err)
		want := whole.pix
		require.NotNil(t, got)
		require.Equal(t, want.prefixes, got.prefixes)
		require.Equal(t, want.ends, got.ends)
		require.Equal(t, want.common, got.common)
	}
	requireSame(rd)

	for i := 0; i < len(entries); i += 97 {
		uk := keys.UserKey(entries[i].key)
		_, v, found, err := rd.Get(uk, keys.SearchKey(nil, uk, keys.MaxSeq))
		require.NoError(t, err)
		require.True(t, found, "key %s", uk)
		require.Equal(t, entries[i].value, v)
	}
	if invariants.Enabled {
		require.Zero(t, c.HeldRefs(), "every Get released the point index and its block")
	}

	it := rd.NewIter()
	require.True(t, it.SeekGE(keys.SearchKey(nil, []byte("key00010000"), keys.MaxSeq)))
	if invariants.Enabled {
		require.Positive(t, c.HeldRefs(), "the open iterator holds the point index")
	}
	c.EvictFile(1)
	require.Zero(t, c.Parts(), "evicted")
	// The iterator still steps by the point index it holds (its memory is
	// freed once the iterator lets it go: in the invariants build, a read
	// of freed memory faults).
	n := 0
	for ok := it.SeekGE(keys.SearchKey(nil, []byte("key00030000"), keys.MaxSeq)); ok && n < 1000; ok = it.Next() {
		require.Equal(t, entries[15000+n].key, it.Key())
		n++
	}
	require.NoError(t, it.Error())
	require.Equal(t, 1000, n)
	require.NoError(t, it.Close())
	if invariants.Enabled {
		require.Zero(t, c.HeldRefs(), "closed, the iterator released the point index")
	}
	c.EvictFile(1) // the blocks the iterator read meanwhile
	require.Zero(t, c.alloc.Live(), "the evicted point index's memory is freed once its iterator closed")

	before := stats.IndexBlocksRead.Load()
	uk := keys.UserKey(entries[5].key)
	_, _, found, err := rd.Get(uk, keys.SearchKey(nil, uk, keys.MaxSeq))
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, before+1, stats.IndexBlocksRead.Load(), "evicted, the index is read again")
	require.Positive(t, pointIndexLive(rd), "and its point index cached again in the allocator's memory")
	requireSame(rd)
}

// TestStoredPointIndexRoundTrips: the cached form holds every field of a
// point index, the empty common prefix and a single block included.
func TestStoredPointIndexRoundTrips(t *testing.T) {
	for _, p := range []pointIndex{
		{prefixes: []uint64{7}, ends: []uint32{100}},
		{prefixes: []uint64{1, 2, 1 << 63}, ends: []uint32{10, 20, 1 << 31}, common: []byte("user:")},
	} {
		buf := make([]uint64, (p.storedLen()+8)/8+1) // 8-byte aligned, a byte to spare
		b := unsafeBytes(buf)[:p.storedLen()]
		require.NoError(t, p.store(b))
		got := storedPointIndex(b)
		require.Equal(t, p.prefixes, got.prefixes)
		require.Equal(t, p.ends, got.ends)
		require.Equal(t, len(p.common), len(got.common))
		require.Equal(t, string(p.common), string(got.common))
		require.ErrorIs(t, p.store(unsafeBytes(buf)[1:p.storedLen()+1]), errUnaligned, "refused at an odd address")
	}
}

// unsafeBytes returns the bytes of w: a buffer 8-byte aligned.
func unsafeBytes(w []uint64) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(w))), len(w)*8)
}

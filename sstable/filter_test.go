package sstable

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/invariants"
	"github.com/stratadb/strata/internal/slab"
	"github.com/stratadb/strata/keys"
)

// TestFilterSkipsAbsentKeys: with the default 10 bits per key, more than 90%
// of Gets for absent keys are answered by the filter alone (counted in
// Stats), and every present key passes.
func TestFilterSkipsAbsentKeys(t *testing.T) {
	var entries []kv
	for i := 0; i < 5000; i++ {
		entries = append(entries, kv{keys.MakeKey(nil, fmt.Appendf(nil, "key%08d", i*2), 1, keys.KindSet), []byte("v")})
	}
	data, _ := writeTable(t, entries, WriterOptions{})
	stats := &Stats{}
	rd := openTable(t, data, ReaderOptions{Stats: stats, Cache: NewCache(1 << 20)})
	for _, e := range entries {
		uk := keys.UserKey(e.key)
		require.True(t, rd.MayContain(uk))
		_, _, found, err := rd.Get(uk, keys.SearchKey(nil, uk, keys.MaxSeq))
		require.NoError(t, err)
		require.True(t, found)
	}
	require.Zero(t, stats.FilterSkips.Load(), "a present key was excluded")
	passes := stats.FilterPasses.Load()
	const misses = 10000
	for i := 0; i < misses; i++ {
		uk := fmt.Appendf(nil, "key%08d", i*2+1)
		_, _, found, err := rd.Get(uk, keys.SearchKey(nil, uk, keys.MaxSeq))
		require.NoError(t, err)
		require.False(t, found)
	}
	skips := stats.FilterSkips.Load()
	require.Equal(t, int64(misses), skips+stats.FilterPasses.Load()-passes)
	require.Greater(t, skips, int64(misses*9/10), "filter skipped only %d of %d absent keys", skips, misses)
	t.Logf("false positive rate %.2f%%", 100*float64(misses-skips)/misses)

	// Without a filter nothing is skipped and every probe admits.
	data, props := writeTable(t, entries, WriterOptions{BloomBitsPerKey: -1})
	require.Zero(t, props.FilterSize)
	stats = &Stats{}
	rd = openTable(t, data, ReaderOptions{Stats: stats})
	require.True(t, rd.MayContain([]byte("nope")))
	require.True(t, rd.MayContainPrefix([]byte("nope")))
	require.Zero(t, stats.FilterSkips.Load()+stats.FilterPasses.Load())
}

// TestPrefixFilter: with a Prefix function (item partitions), every written
// prefix is admitted and most absent partitions are excluded.
func TestPrefixFilter(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	var entries []kv
	written := map[string]bool{}
	for p := 0; p < 300; p++ {
		pk := fmt.Appendf(nil, "part%05d\x00", p*2)
		written[string(keys.AppendPartitionPrefix(nil, pk))] = true
		for s := 0; s < 1+r.IntN(5); s++ {
			uk := keys.ItemKey(nil, pk, fmt.Appendf(nil, "sk%03d", s))
			entries = append(entries, kv{keys.MakeKey(nil, uk, 1, keys.KindSet), []byte("v")})
		}
	}
	// Plain keys too, which have no prefix.
	entries = append(entries, kv{keys.MakeKey(nil, []byte("zzz-plain"), 1, keys.KindSet), nil})
	opts := WriterOptions{Prefix: keys.PartitionPrefixLen}
	data, _ := writeTable(t, entries, opts)
	stats := &Stats{}
	rd := openTable(t, data, ReaderOptions{Prefix: keys.PartitionPrefixLen, Stats: stats})
	require.NoError(t, rd.Verify())
	for p := range written {
		require.True(t, rd.MayContainPrefix([]byte(p)), "prefix %q", p)
	}
	require.Zero(t, stats.FilterSkips.Load())
	excluded := 0
	for p := 0; p < 1000; p++ {
		pk := fmt.Appendf(nil, "part%05d\x00", p*2+1)
		if !rd.MayContainPrefix(keys.AppendPartitionPrefix(nil, pk)) {
			excluded++
		}
	}
	require.Greater(t, excluded, 900)
	require.Equal(t, int64(excluded), stats.FilterSkips.Load())
}

// TestDecodeFilterRejectsBadLengths: a filter block whose declared bit
// count does not match its length is corruption, found before allocating.
func TestDecodeFilterRejectsBadLengths(t *testing.T) {
	fw := filterWriter{bitsPerKey: 10}
	fw.addUserKey([]byte("a"), nil)
	good := fw.finish()
	f, err := decodeFilter(good, "f", 0)
	require.NoError(t, err)
	require.True(t, f.Test([]byte("a")))

	set := func(m uint64, k uint32, body int) []byte {
		b := binary.LittleEndian.AppendUint64(nil, m)
		b = binary.LittleEndian.AppendUint32(b, k)
		return append(b, make([]byte, body)...)
	}
	for name, b := range map[string][]byte{
		"short":         {1, 2, 3},
		"zero bits":     set(0, 3, 8),
		"zero hashes":   set(64, 0, 8),
		"many hashes":   set(64, 1000, 8),
		"huge m":        set(1<<62, 3, 8),
		"wrapping m":    set(^uint64(0), 3, 0),
		"too many word": set(64, 3, 16),
		"ragged body":   set(64, 3, 9),
	} {
		_, err := decodeFilter(b, "f.sst", 12)
		require.Error(t, err, name)
		require.True(t, errors.Is(err, keys.ErrCorruption), name)
		require.Contains(t, err.Error(), "f.sst at offset 12", name)
	}
}

// TestFilterWriterChunks: entries spread over many chunks, and keys longer
// than a chunk (kept as hashes), are all admitted by the filter, and each
// kept key costs at most filterMaxEntry bytes whatever its size.
func TestFilterWriterChunks(t *testing.T) {
	fw := filterWriter{bitsPerKey: 10}
	var want [][]byte
	for i := 0; i < 100000; i++ {
		k := fmt.Appendf(nil, "key-%08d", i)
		if i%5000 == 7 {
			k = bytes.Repeat([]byte{byte(i)}, 3*filterChunk)
		}
		fw.addUserKey(k, nil)
		fw.addUserKey(k, nil) // a repeat is not added twice
		want = append(want, k)
	}
	require.Equal(t, len(want), fw.n)
	require.Greater(t, len(fw.chunks), 3)
	used := 0
	for _, c := range fw.chunks {
		used += len(c)
	}
	require.LessOrEqual(t, used, filterMaxEntry*len(want))
	seen := 0
	fw.each(func(h *[4]uint64) {
		require.Equal(t, bloomHashes(want[seen]), *h, "key %d", seen)
		seen++
	})
	require.Equal(t, len(want), seen)
	f, err := decodeFilter(fw.finish(), "f", 0)
	require.NoError(t, err)
	for _, k := range want {
		require.True(t, f.Test(k), "%q", k[:min(len(k), 16)])
	}
}

// TestCachedFilterLivesOutsideTheHeap: a filter the cache holds is a block
// of the cache's allocator (outside the Go heap), charged to the tables'
// metadata (Parts), probed in place with a reference released after each
// probe; evicting the table's blocks frees it, and the next probes read it
// again.
func TestCachedFilterLivesOutsideTheHeap(t *testing.T) {
	var entries []kv
	for i := 0; i < 20000; i++ {
		entries = append(entries, kv{keys.MakeKey(nil, fmt.Appendf(nil, "key%08d", i*2), 1, keys.KindSet), []byte("value")})
	}
	data, _ := writeTable(t, entries, WriterOptions{})
	c := NewCache(8 << 20)
	defer c.Close()
	stats := &Stats{}
	rd := openTable(t, data, ReaderOptions{Cache: c, Stats: stats})
	defer rd.Close()
	fl := int64(rd.meta.footer.filter.length)
	require.Equal(t, pointIndexLive(rd), c.alloc.Live(), "the filter is read on demand; the point index is cached at the open")
	require.Positive(t, pointIndexLive(rd), "the point index is in the allocator's memory")
	probe := func() {
		for i := 0; i < 2000; i++ {
			rd.MayContain(fmt.Appendf(nil, "key%08d", i*2+1))
		}
	}
	probe()
	require.Equal(t, int64(1), stats.FilterBlocksRead.Load())
	requireFilterHeld(t, rd, 1, "the filter is the allocator's only block beside the point index")
	require.GreaterOrEqual(t, c.Parts(), fl, "charged with the tables' metadata")
	require.Zero(t, c.Size(), "not with the data blocks")
	skips := stats.FilterSkips.Load()
	require.Greater(t, skips, int64(1500))
	require.Zero(t, c.HeldRefs(), "every probe released its reference")

	c.EvictFile(1)
	require.Zero(t, c.alloc.Live(), "evicted, the filter's and the point index's memory is freed")
	probe()
	require.Equal(t, int64(2), stats.FilterBlocksRead.Load(), "read again once evicted")
	requireFilterHeld(t, rd, 1, "read again")
	require.Zero(t, c.HeldRefs())
}

// requireFilterHeld asserts that r's cache's allocator holds n filter
// blocks of r's table beside r's point index (if the cache holds it), each
// its stored length and trailer rounded up to the allocator's size class
// at most.
func requireFilterHeld(t *testing.T, r *Reader, n int64, msg string) {
	t.Helper()
	stored := int(r.meta.footer.filter.length) + blockTrailerLen
	live := r.cache.alloc.Live() - pointIndexLive(r)
	require.GreaterOrEqual(t, live, int64(stored)*n, msg)
	require.LessOrEqual(t, live, int64(slab.Size(stored))*n, msg)
}

// pointIndexLive returns what r's cache's allocator holds for r's point
// index: its cached form's buffer, 0 if the cache does not hold one.
func pointIndexLive(r *Reader) int64 {
	ref, b, ok := r.cache.getMeta(r.fileNum, r.meta.footer.index.offset+1)
	if !ok {
		return 0
	}
	ref.Release()
	if invariants.Enabled || len(b) >= slab.LongFrom { // a mapping of its own, of the exact size
		return int64(len(b))
	}
	return int64(slab.Size(len(b)))
}

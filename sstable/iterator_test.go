package sstable

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/invariants"
	"github.com/stratadb/strata/keys"
)

// inBounds returns the model entries whose user key is in [lower, upper).
func inBounds(entries []kv, lower, upper []byte) []kv {
	var out []kv
	for _, e := range entries {
		uk := keys.UserKey(e.key)
		if lower != nil && bytes.Compare(uk, lower) < 0 {
			continue
		}
		if upper != nil && bytes.Compare(uk, upper) >= 0 {
			continue
		}
		out = append(out, e)
	}
	return out
}

// TestIteratorBounds: with random user key bounds, every positioning call
// agrees with the model restricted to the bounds.
func TestIteratorBounds(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	entries := genEntries(r, 1500)
	data, _ := writeTable(t, entries, WriterOptions{BlockSize: 512, Compression: CompressionSnappy})
	rd := openTable(t, data, ReaderOptions{Cache: NewCache(1 << 20)})
	it := rd.NewIter()
	for round := 0; round < 200; round++ {
		var lower, upper []byte
		if r.IntN(4) > 0 {
			lower = randomUserKey(r)
		}
		if r.IntN(4) > 0 {
			upper = randomUserKey(r)
		}
		it.SetBounds(lower, upper)
		model := inBounds(entries, lower, upper)
		name := fmt.Sprintf("bounds [%q, %q)", lower, upper)

		var got []kv
		for ok := it.First(); ok; ok = it.Next() {
			got = append(got, kv{bytes.Clone(it.Key()), bytes.Clone(it.Value())}) // valid until the next move
		}
		require.NoError(t, it.Error())
		require.Equal(t, len(model), len(got), name)
		for i := range got {
			require.Equal(t, model[i].key, got[i].key, name)
		}
		n := len(model)
		for ok := it.Last(); ok; ok = it.Prev() {
			n--
			require.Equal(t, model[n].key, it.Key(), name)
		}
		require.Equal(t, 0, n, name)

		for s := 0; s < 20; s++ {
			target := randomTarget(r, entries)
			var pos int
			var ok bool
			if r.IntN(2) == 0 {
				pos = modelSeekGE(model, target)
				ok = it.SeekGE(target)
			} else {
				pos = modelSeekGE(model, target) - 1
				ok = it.SeekLT(target)
			}
			for step := 0; ; step++ {
				require.Equal(t, pos >= 0 && pos < len(model), ok, "%s seek %s step %d", name, fmtKey(target), step)
				if !ok || step == 4 {
					break
				}
				require.Equal(t, model[pos].key, it.Key())
				if r.IntN(2) == 0 {
					pos++
					ok = it.Next()
				} else {
					pos--
					ok = it.Prev()
				}
			}
		}
	}
	require.NoError(t, it.Close())
}

// TestBoundedScanStopsAtIndex: when an index key shows the next block is out
// of bounds, the iterator stops without loading it.
func TestBoundedScanStopsAtIndex(t *testing.T) {
	var entries []kv
	for _, uk := range []string{"a000", "c000", "e000", "g000"} {
		entries = append(entries, kv{keys.MakeKey(nil, []byte(uk), 1, keys.KindSet), []byte("v")})
	}
	// One entry per block; index keys "b", "d", "f", "h".
	data, props := writeTable(t, entries, WriterOptions{BlockSize: 1})
	require.Equal(t, uint64(4), props.NumDataBlocks)

	stats := &Stats{}
	rd := openTable(t, data, ReaderOptions{Stats: stats})
	it := rd.NewIter()
	it.SetBounds(nil, []byte("b"))
	require.True(t, it.First())
	require.Equal(t, entries[0].key, it.Key())
	require.False(t, it.Next())
	require.Equal(t, int64(1), stats.DataBlocksRead.Load(), "forward scan loaded a block past the upper bound")

	it.SetBounds([]byte("f0"), nil)
	require.True(t, it.Last())
	require.Equal(t, entries[3].key, it.Key())
	require.False(t, it.Prev())
	require.Equal(t, int64(2), stats.DataBlocksRead.Load(), "backward scan loaded a block below the lower bound")
	require.NoError(t, it.Close())
}

// TestSeekWithinBlockDoesNotReload: a second SeekGE landing in the loaded
// block does not go back to the cache.
func TestSeekWithinBlockDoesNotReload(t *testing.T) {
	var entries []kv
	for i := 0; i < 100; i++ {
		entries = append(entries, kv{keys.MakeKey(nil, fmt.Appendf(nil, "k%03d", i), 1, keys.KindSet), []byte("v")})
	}
	data, _ := writeTable(t, entries, WriterOptions{})
	stats := &Stats{}
	rd := openTable(t, data, ReaderOptions{Stats: stats, Cache: NewCache(1 << 20)})
	it := rd.NewIter()
	require.True(t, it.SeekGE(entries[10].key))
	lookups := stats.BlockCacheHits.Load() + stats.BlockCacheMisses.Load()
	require.Equal(t, int64(1), lookups)
	for _, i := range []int{50, 20, 99, 0} {
		require.True(t, it.SeekGE(entries[i].key))
		require.Equal(t, entries[i].key, it.Key())
	}
	require.Equal(t, lookups, stats.BlockCacheHits.Load()+stats.BlockCacheMisses.Load())
	require.NoError(t, it.Close())
}

// TestGetCachedDoesNotAllocate: a LookupRef served from the block cache allocates
// nothing, and neither does iterating a cached table.
func TestGetCachedDoesNotAllocate(t *testing.T) {
	var entries []kv
	for i := 0; i < 2000; i++ {
		entries = append(entries, kv{keys.MakeKey(nil, fmt.Appendf(nil, "user%08d", i), 5, keys.KindSet), []byte("some value")})
	}
	data, _ := writeTable(t, entries, WriterOptions{Compression: CompressionSnappy})
	rd := openTable(t, data, ReaderOptions{Cache: NewCache(8 << 20)})
	uk := []byte("user00001234")
	sk := keys.SearchKey(nil, uk, keys.MaxSeq)
	_, v, found, err := rd.Get(uk, sk)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, "some value", string(v))
	tr, v, found, err := rd.Lookup(uk, sk)
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, "some value", string(v))
	require.Equal(t, keys.Trailer(5, keys.KindSet), tr)
	allocs := testing.AllocsPerRun(100, func() {
		var ref BlockRef
		_, _, ref, found, _ = rd.LookupRef(uk, sk)
		ref.Release()
	})
	require.True(t, found)
	if !raceEnabled { // under the race detector sync.Pool drops items on purpose
		require.Zero(t, allocs)
	}

	it := rd.NewIter()
	for ok := it.First(); ok; ok = it.Next() {
	} // warm the cache
	allocs = testing.AllocsPerRun(10, func() {
		for ok := it.First(); ok; ok = it.Next() {
		}
	})
	if !invariants.Enabled { // the invariants build records each BlockRef
		require.Zero(t, allocs)
	}
}

// TestReaderConcurrentUse: one Reader and one Cache serve concurrent Gets
// and iterators (run with -race), all agreeing with the model.
func TestReaderConcurrentUse(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 13))
	entries := genEntries(r, 1000)
	data, _ := writeTable(t, entries, WriterOptions{BlockSize: 512, Compression: CompressionZstd})
	// A cache too small for the table, so blocks are evicted and reloaded.
	rd := openTable(t, data, ReaderOptions{Cache: NewCache(32 << 10), Stats: &Stats{}})
	done := make(chan error)
	for g := 0; g < 6; g++ {
		go func(g int) {
			r := rand.New(rand.NewPCG(uint64(g), 14))
			for i := 0; i < 300; i++ {
				e := entries[r.IntN(len(entries))]
				p, _ := keys.Parse(e.key)
				ik, v, found, err := rd.Get(p.UserKey, keys.SearchKey(nil, p.UserKey, p.Seq))
				if err != nil || !found || !bytes.Equal(ik, e.key) || !bytes.Equal(v, e.value) {
					done <- fmt.Errorf("Get %s: found=%v err=%v", fmtKey(e.key), found, err)
					return
				}
				if i%50 == 0 {
					it := rd.NewIter()
					n := 0
					for ok := it.First(); ok; ok = it.Next() {
						if !bytes.Equal(it.Key(), entries[n].key) {
							done <- fmt.Errorf("scan entry %d differs", n)
							return
						}
						n++
					}
					if err := it.Close(); err != nil || n != len(entries) {
						done <- fmt.Errorf("scan: %d entries, %v", n, err)
						return
					}
				}
			}
			done <- nil
		}(g)
	}
	for g := 0; g < 6; g++ {
		require.NoError(t, <-done)
	}
}

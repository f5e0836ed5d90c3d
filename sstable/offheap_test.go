package sstable

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/invariants"
	"github.com/stratadb/strata/internal/offheap"
	"github.com/stratadb/strata/keys"
)

// offheapTable writes n entries of 100-byte values in 1 KiB blocks and
// opens it over cache.
func offheapTable(t *testing.T, n int, cache *Cache) (*Reader, []kv) {
	t.Helper()
	entries := make([]kv, n)
	for i := range entries {
		v := bytes.Repeat([]byte{byte(i)}, 100)
		entries[i] = kv{keys.MakeKey(nil, fmt.Appendf(nil, "key%06d", i), 1, keys.KindSet), v}
	}
	data, _ := writeTable(t, entries, WriterOptions{BlockSize: 1024, Compression: CompressionSnappy})
	return openTable(t, data, ReaderOptions{Cache: cache}), entries
}

// TestEveryBlockRefReleased: Gets, Lookups, LookupRefs released,
// LookupAppends, iterators in both directions and compaction iterators,
// all closed, leave no block held, and once the reader and the cache are
// closed the cache holds no memory off the Go heap. A cache that evicts
// (smaller than the table) makes blocks leave while readers may hold them.
func TestEveryBlockRefReleased(t *testing.T) {
	for _, capacity := range []int64{1 << 20, 96 << 10} {
		cache := NewCache(capacity)
		rd, entries := offheapTable(t, 2000, cache)
		r := rand.New(rand.NewPCG(5, uint64(capacity)))
		for i := 0; i < 500; i++ {
			e := entries[r.IntN(len(entries))]
			uk := keys.UserKey(e.key)
			sk := keys.SearchKey(nil, uk, keys.MaxSeq)
			_, v, found, err := rd.Get(uk, sk)
			require.NoError(t, err)
			require.True(t, found)
			require.Equal(t, e.value, v)
			_, v, found, err = rd.Lookup(uk, sk)
			require.NoError(t, err)
			require.True(t, found)
			require.Equal(t, e.value, v)
			_, v, ref, found, err := rd.LookupRef(uk, sk)
			require.NoError(t, err)
			require.True(t, found)
			require.Equal(t, e.value, v)
			ref.Release()
			_, v, _, err = rd.LookupAppend(nil, uk, sk, r.IntN(2) == 0)
			require.NoError(t, err)
			require.Equal(t, e.value, v)
			absent := append(bytes.Clone(uk), 'x')
			_, _, ref, found, err = rd.LookupRef(absent, keys.SearchKey(nil, absent, keys.MaxSeq))
			require.NoError(t, err)
			require.False(t, found)
			ref.Release()
		}
		it := rd.NewIter()
		n := 0
		for ok := it.First(); ok; ok = it.Next() {
			require.Equal(t, entries[n].value, it.Value())
			n++
		}
		require.Equal(t, len(entries), n)
		for ok := it.Last(); ok; ok = it.Prev() {
			n--
			require.Equal(t, entries[n].value, it.Value())
		}
		require.True(t, it.SeekGE(entries[700].key))
		require.NoError(t, it.Close())
		ci := rd.NewCompactionIter()
		require.True(t, ci.First())
		require.True(t, ci.SeekGE(entries[1500].key))
		unclosed := rd.NewIter()
		require.True(t, unclosed.SeekGE(entries[10].key)) // holds a block until closed
		require.NoError(t, ci.Close())

		if offheap.OffHeap {
			require.Positive(t, cache.OffHeap(), "cached blocks live off the heap")
		}
		if invariants.Enabled {
			require.NotNil(t, unclosed.ref.e, "the iterator's block is cached")
			held := int64(1)
			if unclosed.pref.e != nil {
				held++ // and its point index, in the cache's memory
			}
			require.Equal(t, held, cache.HeldRefs(), "capacity %d: only the open iterator holds a block and the point index", capacity)
		}
		require.NoError(t, unclosed.Close())
		require.Zero(t, cache.HeldRefs(), "capacity %d: every BlockRef released", capacity)
		require.NoError(t, rd.Close())
		cache.Close()
		require.Zero(t, cache.OffHeap(), "capacity %d: a closed cache with no block held holds no memory", capacity)
	}
}

// TestHeldBlockOutlivesEviction: a block a reader holds keeps its bytes
// when the cache evicts it (and when the cache closes), and its memory goes
// with the last release.
func TestHeldBlockOutlivesEviction(t *testing.T) {
	cache := NewCache(1 << 20)
	rd, entries := offheapTable(t, 200, cache)
	it := rd.NewIter()
	require.True(t, it.SeekGE(entries[50].key))
	cache.EvictFile(rd.FileNum())
	_, ok := cache.Get(rd.FileNum(), it.dataOff)
	require.False(t, ok, "the block was evicted")
	cache.Close()
	if offheap.OffHeap {
		require.Positive(t, cache.OffHeap(), "the held block is not freed")
	}
	off := it.dataOff
	for i := 50; it.dataOff == off; i++ {
		require.Equal(t, entries[i].key, it.Key())
		require.Equal(t, entries[i].value, it.Value())
		require.True(t, it.Next())
	}
	require.NoError(t, it.Close())
	require.Zero(t, cache.OffHeap(), "the last release freed it")
	require.NoError(t, rd.Close())
}

// TestBlockRefReleasedTwicePanics: in the invariants build a second
// Release of one BlockRef panics, even while the block has other holders.
func TestBlockRefReleasedTwicePanics(t *testing.T) {
	if !invariants.Enabled {
		t.Skip("checked in the invariants build only")
	}
	cache := NewCache(1 << 20)
	defer cache.Close()
	cache.Set(1, 0, []byte("a block"))
	ref, b, ok := cache.acquire(1, 0, false)
	require.True(t, ok)
	require.Equal(t, "a block", string(b))
	ref.Release()
	require.Panics(t, ref.Release)
}

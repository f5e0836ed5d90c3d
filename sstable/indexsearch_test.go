package sstable

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/keys"
)

// TestIndexSearch: the prefix search finds the same index entry as a
// binary search over the index entries, for every key of the table, their
// neighbours and random keys, on tables whose user keys are short (under
// the 8 prefix bytes, with zero bytes) or share long prefixes, down to one
// entry per block.
func TestIndexSearch(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	entries := genEntries(r, 3000)
	shared := make([]kv, 0, 2000)
	for i := 0; i < 2000; i++ { // user keys with a common 12-byte prefix
		uk := append([]byte("common-prefix"), byte(i>>8), byte(i), 'x')
		shared = append(shared, kv{keys.MakeKey(nil, uk, keys.SeqNum(i+1), keys.KindSet), []byte("v")})
	}
	decimal := make([]kv, 20000)
	for i := range decimal { // the benchmark harness's keys: 16 decimal digits
		decimal[i] = kv{keys.MakeKey(nil, fmt.Appendf(nil, "%016d", 2*i+1000000), keys.SeqNum(i+1), keys.KindSet), make([]byte, 100)}
	}
	for name, es := range map[string][]kv{"random": entries, "shared": shared, "decimal": decimal} {
		for _, bs := range []int{1, 256, 4096} {
			data, _ := writeTable(t, es, WriterOptions{BlockSize: bs})
			rd := openTable(t, data, ReaderOptions{})
			m, err := rd.index()
			require.NoError(t, err)
			require.NotNil(t, m.prefixes, "%s/%d: index not expanded", name, bs)
			require.Equal(t, len(m.handles), len(m.prefixes))
			if name != "random" {
				// Keys that differ only after a common prefix still get
				// distinct prefixes (the last index key, a short key
				// above the table's, does not hide the common prefix).
				for i := 1; i < len(m.prefixes); i++ {
					require.Less(t, m.prefixes[i-1], m.prefixes[i], "%s/%d: entries %d and %d share a prefix", name, bs, i-1, i)
				}
			}
			targets := [][]byte{{}, keys.SearchKey(nil, nil, keys.MaxSeq), keys.SearchKey(nil, []byte{0xff, 0xff, 0xff, 0xff, 0xff}, 0)}
			for _, e := range es {
				uk := keys.UserKey(e.key)
				targets = append(targets, e.key,
					keys.SearchKey(nil, uk, keys.MaxSeq), keys.SearchKey(nil, uk, 0),
					keys.SearchKey(nil, append(uk[:len(uk):len(uk)], 0), keys.MaxSeq))
			}
			for i := 0; i < 2000; i++ {
				uk := make([]byte, r.IntN(16))
				for j := range uk {
					uk[j] = "abx\x00\xff"[r.IntN(5)]
				}
				targets = append(targets, keys.SearchKey(nil, uk, keys.SeqNum(r.IntN(5000))))
			}
			p := newPointIndex(m)
			require.NotNil(t, p)
			ties := 0
			var a, b blockIter
			require.NoError(t, a.init(m.index, "t", 0))
			require.NoError(t, b.init(m.index, "t", 0))
			for _, target := range targets {
				want := len(m.handles)
				if b.SeekGE(target) {
					want = b.restartIdx
				}
				require.NoError(t, b.err)
				require.Equal(t, want, m.indexSearch(&a, target), "%s/%d: target %x", name, bs, target)
				// The point index agrees wherever it needs no whole key,
				// and its handles are the index's.
				if i, tie := p.search(target); !tie {
					require.Equal(t, want, i, "%s/%d: point index, target %x", name, bs, target)
					if i < len(m.handles) {
						require.Equal(t, m.handles[i], p.handle(i))
					}
				} else {
					ties++
				}
			}
			require.Less(t, ties, len(targets), "%s/%d: the prefixes decide some targets", name, bs)
			require.NoError(t, rd.Close())
		}
	}
}

// TestGetReadsAnEvictedIndexOnce: a Get on a table whose index the cache
// evicted reads the index once, also for a key the point index cannot
// place (a tie: the key's prefix is a block's separator's), where the
// whole index decides; every key reads back.
func TestGetReadsAnEvictedIndexOnce(t *testing.T) {
	var entries []kv
	for i := range 2000 {
		entries = append(entries, kv{keys.MakeKey(nil, fmt.Appendf(nil, "k%06d", i), 1, keys.KindSet), fmt.Appendf(nil, "v%d", i)})
	}
	data, _ := writeTable(t, entries, WriterOptions{BlockSize: 256})
	c := NewCache(8 << 20)
	var st Stats
	r := openTable(t, data, ReaderOptions{Cache: c, Stats: &st})
	defer r.Close()
	p, err := heldPointIdx(r)
	require.NoError(t, err)
	require.NotNil(t, p, "the index has a point index")
	ties := 0
	for _, e := range entries {
		uk := keys.UserKey(e.key)
		search := keys.SearchKey(nil, uk, keys.MaxSeq)
		if _, tie := p.search(search); tie {
			ties++
		}
		c.EvictFile(1)
		before := st.IndexBlocksRead.Load()
		_, v, found, err := r.Get(uk, search)
		require.NoError(t, err)
		require.True(t, found, "key %s", uk)
		require.Equal(t, e.value, v)
		require.Equal(t, int64(1), st.IndexBlocksRead.Load()-before, "key %s: index reads", uk)
	}
	require.Positive(t, ties, "some keys tie in the point index")
}

// tieEntries returns the entries of a table whose keys (k0000000,
// k0000002, ...: fixed-width decimals, one to three versions each) often
// tie in its point index, one or two blocks at a time.
func tieEntries() []kv {
	var entries []kv
	for i := range 3000 {
		uk := fmt.Appendf(nil, "k%07d", 2*i)
		for v := range 1 + i%3 {
			entries = append(entries, kv{keys.MakeKey(nil, uk, keys.SeqNum(3-v), keys.KindSet), fmt.Appendf(nil, "v%d.%d", i, v)})
		}
	}
	return entries
}

// TestGetOnATieSeeksDataBlocksNotTheIndex: with the point index cached and
// the whole index not (as after an open: only the point index is cached),
// a Get whose key ties in the point index seeks the data blocks from the
// tied one on instead of reading the index block again, and answers as a
// reader holding the whole index does, for present keys and for absent
// ones before, between and after them (no filter, so every Get seeks).
func TestGetOnATieSeeksDataBlocksNotTheIndex(t *testing.T) {
	entries := tieEntries()
	data, _ := writeTable(t, entries, WriterOptions{BlockSize: 256, BloomBitsPerKey: -1})
	var st Stats
	r := openTable(t, data, ReaderOptions{Cache: NewCache(8 << 20), Stats: &st})
	defer r.Close()
	whole := openTable(t, data, ReaderOptions{}) // keeps its whole index
	defer whole.Close()
	require.Equal(t, int64(1), st.IndexBlocksRead.Load(), "the open's read")
	p, err := heldPointIdx(r)
	require.NoError(t, err)
	require.NotNil(t, p)
	ties := 0
	for i := -1; i <= 6001; i++ {
		uk := fmt.Appendf(nil, "k%07d", i)
		if i < 0 {
			uk = []byte("j")
		}
		for _, seq := range []keys.SeqNum{keys.MaxSeq, 2, 1} {
			search := keys.SearchKey(nil, uk, seq)
			if _, tie := p.search(search); tie {
				ties++
			}
			_, v, found, err := r.Get(uk, search)
			require.NoError(t, err)
			_, wv, wfound, err := whole.Get(uk, search)
			require.NoError(t, err)
			require.Equal(t, wfound, found, "key %s at %d", uk, seq)
			require.Equal(t, wv, v, "key %s at %d", uk, seq)
		}
	}
	require.Greater(t, ties, 1000, "many keys tie in the point index")
	require.Equal(t, int64(1), st.IndexBlocksRead.Load(), "no tie read the index again")
}

// TestSeekGEOnATieSeeksDataBlocksNotTheIndex: an iterator's SeekGE whose
// target ties in the point index, with the whole index in neither the
// reader nor the cache, seeks the data blocks from the tied one on instead
// of reading the index block, and lands where an iterator over the whole
// index does, as do the Next calls after it, within bounds or not.
func TestSeekGEOnATieSeeksDataBlocksNotTheIndex(t *testing.T) {
	entries := tieEntries()
	data, _ := writeTable(t, entries, WriterOptions{BlockSize: 256})
	var st Stats
	r := openTable(t, data, ReaderOptions{Cache: NewCache(8 << 20), Stats: &st})
	defer r.Close()
	whole := openTable(t, data, ReaderOptions{})
	defer whole.Close()
	p, err := heldPointIdx(r)
	require.NoError(t, err)
	ties := 0
	for _, upper := range [][]byte{nil, []byte("k0003000"), []byte("k0004001")} {
		it, want := r.NewIter(), whole.NewIter()
		it.SetBounds(nil, upper)
		want.SetBounds(nil, upper)
		for i := -1; i <= 6001; i += 1 + (i+3)%3 {
			uk := fmt.Appendf(nil, "k%07d", i)
			if i < 0 {
				uk = []byte("j")
			}
			search := keys.SearchKey(nil, uk, 2)
			if _, tie := p.search(search); tie {
				ties++
			}
			ok, wok := it.SeekGE(search), want.SeekGE(search)
			for step := 0; step < 4; step++ {
				require.Equal(t, wok, ok, "seek %s, step %d", uk, step)
				require.Equal(t, want.Key(), it.Key(), "seek %s, step %d", uk, step)
				require.Equal(t, want.Value(), it.Value(), "seek %s, step %d", uk, step)
				ok, wok = it.Next(), want.Next()
			}
		}
		require.NoError(t, it.Close())
		require.NoError(t, want.Close())
	}
	require.Greater(t, ties, 200, "many targets tie in the point index")
	require.Equal(t, int64(1), st.IndexBlocksRead.Load(), "the open's read alone")
}

// TestGetOnALongTieSearchesTheIndex: keys that share more than 8 bytes
// past the table's common prefix tie in the point index across runs of
// blocks; a Get among them searches the whole index (one read of it)
// rather than walking the run's data blocks, however long the run.
func TestGetOnALongTieSearchesTheIndex(t *testing.T) {
	var entries []kv
	for _, group := range []string{"a-shared-", "b-shared-"} {
		for i := range 2000 {
			entries = append(entries, kv{keys.MakeKey(nil, fmt.Appendf(nil, "%s%06d", group, i), 1, keys.KindSet), []byte("value")})
		}
	}
	data, props := writeTable(t, entries, WriterOptions{BlockSize: 256, BloomBitsPerKey: -1})
	require.Greater(t, props.NumDataBlocks, uint64(100))
	for _, i := range []int{0, 999, 1500, 1999, 2000, 3999} {
		var st Stats
		r := openTable(t, data, ReaderOptions{Cache: NewCache(8 << 20), Stats: &st})
		uk := keys.UserKey(entries[i].key)
		search := keys.SearchKey(nil, uk, keys.MaxSeq)
		p, err := heldPointIdx(r)
		require.NoError(t, err)
		j, tie := p.search(search)
		require.True(t, tie, "key %s ties", uk)
		require.Greater(t, p.tied(j), 10, "key %s ties with a run", uk)
		_, v, found, err := r.Get(uk, search)
		require.NoError(t, err)
		require.True(t, found, "key %s", uk)
		require.Equal(t, []byte("value"), v)
		require.Equal(t, int64(1), st.DataBlocksRead.Load(), "key %s: data blocks read", uk)
		require.Equal(t, int64(2), st.IndexBlocksRead.Load(), "key %s: the open's index read and the search's", uk)
		require.NoError(t, r.Close())
	}
}

// heldPointIdx returns a copy of r's point index (nil if it has none) on
// the heap, that the test may keep while the cache evicts the original.
func heldPointIdx(r *Reader) (*pointIndex, error) {
	var p pointIndex
	has, _, ref, err := r.pointIdx(&p)
	defer ref.Release()
	if err != nil || !has {
		return nil, err
	}
	return &pointIndex{prefixes: slices.Clone(p.prefixes), ends: slices.Clone(p.ends), common: bytes.Clone(p.common)}, nil
}

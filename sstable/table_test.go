package sstable

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/keys"
)

type tableConfig struct {
	name  string
	wopts WriterOptions
	cache bool
}

func tableConfigs() []tableConfig {
	var cs []tableConfig
	for _, c := range []Compression{CompressionNone, CompressionSnappy, CompressionZstd} {
		for _, bits := range []int{0, -1} {
			cs = append(cs, tableConfig{
				name:  fmt.Sprintf("%v/bloom=%d", c, bits),
				wopts: WriterOptions{Compression: c, BloomBitsPerKey: bits},
				cache: true,
			})
		}
	}
	cs = append(cs,
		tableConfig{"tiny-blocks/restart=1/nocache", WriterOptions{BlockSize: 1, RestartInterval: 1}, false},
		tableConfig{"small-blocks/restart=3/snappy", WriterOptions{BlockSize: 300, RestartInterval: 3, Compression: CompressionSnappy}, true},
		tableConfig{"big-blocks/restart=64/zstd", WriterOptions{BlockSize: 64 << 10, RestartInterval: 64, Compression: CompressionZstd}, true},
	)
	return cs
}

// TestRoundTrip writes random internal keys under every compression, with
// and without a filter, and checks that iteration in both directions, random
// seeks with walks, Get and Verify all agree with the sorted input.
func TestRoundTrip(t *testing.T) {
	n := 2000
	if testing.Short() || raceEnabled {
		n = 800
	}
	for ci, cfg := range tableConfigs() {
		t.Run(cfg.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(ci), 42))
			entries := genEntries(r, n)
			data, props := writeTable(t, entries, cfg.wopts)
			var ropts ReaderOptions
			if cfg.cache {
				ropts.Cache = NewCache(1 << 20)
			}
			rd := openTable(t, data, ropts)
			defer func() { require.NoError(t, rd.Close()) }()
			require.NoError(t, rd.Verify())
			require.Equal(t, props, rd.Properties())
			checkTable(t, r, rd, entries)
		})
	}
}

func checkTable(t *testing.T, r *rand.Rand, rd *Reader, entries []kv) {
	t.Helper()
	// Forward.
	it := rd.NewIter()
	i := 0
	for ok := it.First(); ok; ok = it.Next() {
		require.Less(t, i, len(entries))
		require.Equal(t, entries[i].key, it.Key(), "entry %d", i)
		require.Equal(t, norm(entries[i].value), norm(it.Value()), "entry %d", i)
		i++
	}
	require.NoError(t, it.Error())
	require.Equal(t, len(entries), i)
	// Backward.
	i = len(entries) - 1
	for ok := it.Last(); ok; ok = it.Prev() {
		require.GreaterOrEqual(t, i, 0)
		require.Equal(t, entries[i].key, it.Key(), "entry %d", i)
		require.Equal(t, norm(entries[i].value), norm(it.Value()), "entry %d", i)
		i--
	}
	require.NoError(t, it.Error())
	require.Equal(t, -1, i)

	// Random seeks and walks.
	for s := 0; s < 400; s++ {
		target := randomTarget(r, entries)
		var pos int
		var ok bool
		if r.IntN(2) == 0 {
			pos = modelSeekGE(entries, target)
			ok = it.SeekGE(target)
		} else {
			pos = modelSeekGE(entries, target) - 1
			ok = it.SeekLT(target)
		}
		for step := 0; ; step++ {
			inRange := pos >= 0 && pos < len(entries)
			require.Equal(t, inRange, ok, "seek %s step %d", fmtKey(target), step)
			require.Equal(t, ok, it.Valid())
			if !ok || step == 6 {
				break
			}
			require.Equal(t, entries[pos].key, it.Key(), "seek %s step %d", fmtKey(target), step)
			require.Equal(t, norm(entries[pos].value), norm(it.Value()))
			if r.IntN(2) == 0 {
				pos++
				ok = it.Next()
			} else {
				pos--
				ok = it.Prev()
			}
		}
	}
	require.NoError(t, it.Close())

	// Get every key at its own sequence number, and at the newest.
	for i, e := range entries {
		p, _ := keys.Parse(e.key)
		ik, v, found, err := rd.Get(p.UserKey, keys.SearchKey(nil, p.UserKey, p.Seq))
		require.NoError(t, err)
		require.True(t, found, "entry %d %s", i, fmtKey(e.key))
		require.Equal(t, e.key, ik)
		require.Equal(t, norm(e.value), norm(v))
		if i == 0 || !bytes.Equal(keys.UserKey(entries[i-1].key), p.UserKey) {
			ik, _, found, err = rd.Get(p.UserKey, keys.SearchKey(nil, p.UserKey, keys.MaxSeq))
			require.NoError(t, err)
			require.True(t, found)
			require.Equal(t, e.key, ik, "newest version")
		}
		// Below the oldest version: nothing visible.
		if i == len(entries)-1 || !bytes.Equal(keys.UserKey(entries[i+1].key), p.UserKey) {
			_, _, found, err = rd.Get(p.UserKey, keys.SearchKey(nil, p.UserKey, p.Seq-1))
			require.NoError(t, err)
			require.False(t, found, "%s below its oldest version", fmtKey(e.key))
		}
	}
	// Absent user keys.
	present := map[string]bool{}
	for _, e := range entries {
		present[string(keys.UserKey(e.key))] = true
	}
	for s := 0; s < 500; s++ {
		uk := randomUserKey(r)
		if present[string(uk)] {
			continue
		}
		_, _, found, err := rd.Get(uk, keys.SearchKey(nil, uk, keys.MaxSeq))
		require.NoError(t, err)
		require.False(t, found, "absent %q", uk)
	}
}

// norm maps empty slices to nil, so that values compare by content.
func norm(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func randomUserKey(r *rand.Rand) []byte {
	uk := make([]byte, r.IntN(26))
	for i := range uk {
		uk[i] = "abcdexz\x00\xff"[r.IntN(9)]
	}
	return uk
}

// randomTarget returns an existing key, a neighbour of one, or a random key.
func randomTarget(r *rand.Rand, entries []kv) []byte {
	switch r.IntN(4) {
	case 0:
		return entries[r.IntN(len(entries))].key
	case 1:
		p, _ := keys.Parse(entries[r.IntN(len(entries))].key)
		return keys.MakeKey(nil, p.UserKey, p.Seq+keys.SeqNum(r.IntN(3))-1, keys.Kind(r.IntN(3)))
	case 2:
		return keys.SearchKey(nil, randomUserKey(r), keys.MaxSeq)
	default:
		return keys.MakeKey(nil, randomUserKey(r), keys.SeqNum(r.IntN(1<<20)), keys.KindSet)
	}
}

// TestUnexpandedBlocksReadCorrectly: blocks whose expanded form would be
// too large (long keys sharing long prefixes, a long restart interval) are
// cached in their on-disk form, and read the same through Get, iterators and
// Verify.
func TestUnexpandedBlocksReadCorrectly(t *testing.T) {
	prefix := bytes.Repeat([]byte("p"), 1500)
	var entries []kv
	for i := 0; i < 400; i++ {
		uk := append(append([]byte(nil), prefix...), fmt.Sprintf("%04d", i)...)
		entries = append(entries, kv{keys.MakeKey(nil, uk, 1, keys.KindSet), []byte{byte(i)}})
	}
	data, _ := writeTable(t, entries, WriterOptions{BlockSize: 16 << 10, RestartInterval: 200})
	rd := openTable(t, data, ReaderOptions{Cache: NewCache(8 << 20)})
	h := rd.mustIndex(t).handles[0]
	block, ref, err := rd.loadDataBlock(h, true, nil, nil)
	require.NoError(t, err)
	var bi blockIter
	require.NoError(t, bi.init(block, "t", 0))
	require.False(t, bi.dense, "the block should have stayed in its on-disk form")
	ref.Release()
	require.NoError(t, rd.Verify())
	checkTable(t, rand.New(rand.NewPCG(1, 9)), rd, entries)
}

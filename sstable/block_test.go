package sstable

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/keys"
)

func buildBlock(entries []kv, restartInterval int) []byte {
	b := blockWriter{restartInterval: restartInterval}
	for _, e := range entries {
		b.add(e.key, e.value)
	}
	return append([]byte(nil), b.finish()...)
}

// smallEntries returns n sorted entries with small values.
func smallEntries(r *rand.Rand, n int) []kv {
	es := genEntries(r, n)
	for i := range es {
		if len(es[i].value) > 40 {
			es[i].value = es[i].value[:40]
		}
	}
	return es
}

// TestBlockIterAgreesWithModel checks the block iterator over on-disk blocks
// of several restart intervals and over their expanded form: full scans both
// ways, and seeks followed by walks.
func TestBlockIterAgreesWithModel(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, interval := range []int{1, 2, 5, 16, 1000} {
		entries := smallEntries(r, 300)
		raw := buildBlock(entries, interval)
		exp, expanded, n, err := expandBlock(raw, "t", 0)
		require.NoError(t, err)
		require.True(t, expanded)
		require.Equal(t, len(entries), n)
		for _, form := range [][]byte{raw, exp} {
			it, err := NewBlockIter(form)
			require.NoError(t, err)
			i := 0
			for ok := it.First(); ok; ok = it.Next() {
				require.Equal(t, entries[i].key, it.Key())
				require.Equal(t, norm(entries[i].value), norm(it.Value()))
				i++
			}
			require.Equal(t, len(entries), i)
			for ok := it.Last(); ok; ok = it.Prev() {
				i--
				require.Equal(t, entries[i].key, it.Key())
			}
			require.Equal(t, 0, i)
			for s := 0; s < 300; s++ {
				target := randomTarget(r, entries)
				pos := modelSeekGE(entries, target)
				ok := it.SeekGE(target)
				require.Equal(t, pos < len(entries), ok)
				if ok {
					require.Equal(t, entries[pos].key, it.Key())
					if it.Prev() {
						require.Equal(t, entries[pos-1].key, it.Key())
					} else {
						require.Equal(t, 0, pos)
					}
				}
				ok = it.SeekLT(target)
				require.Equal(t, pos > 0, ok)
				if ok {
					require.Equal(t, entries[pos-1].key, it.Key())
					if it.Next() {
						require.Equal(t, entries[pos].key, it.Key())
					}
				}
			}
			require.NoError(t, it.Error())
			require.NoError(t, it.Close())
		}
	}
}

func TestEmptyBlock(t *testing.T) {
	raw := buildBlock(nil, 16)
	require.Equal(t, []byte{0, 0, 0, 0}, raw)
	it, err := NewBlockIter(raw)
	require.NoError(t, err)
	require.False(t, it.First())
	require.False(t, it.Last())
	require.False(t, it.SeekGE(keys.MakeKey(nil, []byte("a"), 1, keys.KindSet)))
	require.False(t, it.SeekLT(keys.MakeKey(nil, []byte("a"), 1, keys.KindSet)))
	require.NoError(t, it.Error())
	exp, err := it.Expand()
	require.NoError(t, err)
	require.Equal(t, raw, exp)
}

// TestExpandFallsBackOnQuadraticBlocks: long keys sharing long prefixes are
// kept in their on-disk form rather than expanded many times over.
func TestExpandFallsBackOnQuadraticBlocks(t *testing.T) {
	prefix := bytes.Repeat([]byte("p"), 2000)
	var entries []kv
	for i := 0; i < 200; i++ {
		uk := append(append([]byte(nil), prefix...), byte(i/16), byte(i%16))
		entries = append(entries, kv{keys.MakeKey(nil, uk, 1, keys.KindSet), nil})
	}
	raw := buildBlock(entries, 1000)
	out, expanded, n, err := expandBlock(raw, "t", 0)
	require.NoError(t, err)
	require.False(t, expanded)
	require.Equal(t, 200, n)
	require.Equal(t, raw, out)
}

// TestMalformedBlocks feeds hand-made damaged blocks to the decoder: each
// must give an error wrapping keys.ErrCorruption, never a panic.
func TestMalformedBlocks(t *testing.T) {
	k1 := keys.MakeKey(nil, []byte("a"), 1, keys.KindSet)
	k2 := keys.MakeKey(nil, []byte("b"), 1, keys.KindSet)
	good := buildBlock([]kv{{k1, []byte("x")}, {k2, []byte("y")}}, 16)
	le := binary.LittleEndian
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := map[string][]byte{
		"too short":            {1, 0},
		"huge restart count":   {0xff, 0xff, 0xff, 0x0f},
		"entries, no restarts": {0, 1, 0, 0, 0, 0, 0},
		"restart past entries": mut(func(b []byte) []byte { le.PutUint32(b[len(b)-8:], 1000); return b }),
		"restart mid entry":    append(append([]byte(nil), good[:len(good)-4]...), append(le.AppendUint32(nil, 3), 2, 0, 0, 0)...),
		"shared at restart":    mut(func(b []byte) []byte { b[0] = 1; return b }),
		"key overruns":         mut(func(b []byte) []byte { b[1] = 100; return b }),
		"value overruns":       mut(func(b []byte) []byte { b[2] = 100; return b }),
		"bad varint":           mut(func(b []byte) []byte { copy(b, []byte{0xff, 0xff, 0xff}); return b }),
		"keys out of order":    buildBlock([]kv{{k2, nil}, {k1, nil}}, 16),
		"shared beyond previous": func() []byte {
			b := buildBlock([]kv{{k1, nil}, {k2, nil}}, 16)
			b[3+len(k1)] = 50 // second entry's shared length
			return b
		}(),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			var err error
			require.NotPanics(t, func() {
				_, _, _, err = expandBlock(b, "x.sst", 77)
			})
			require.Error(t, err)
			require.True(t, errors.Is(err, keys.ErrCorruption), "%v", err)
			require.Contains(t, err.Error(), "x.sst")
			require.Contains(t, err.Error(), "offset 77")
			// The plain iterator never panics either.
			require.NotPanics(t, func() {
				it, err := NewBlockIter(b)
				if err != nil {
					return
				}
				for ok := it.First(); ok; ok = it.Next() {
				}
				for ok := it.Last(); ok; ok = it.Prev() {
				}
				it.SeekGE(k2)
				it.SeekLT(k2)
			})
		})
	}
}

// TestBlockIterNextDoesNotAllocate: iterating a raw block rebuilds keys in a
// reused buffer.
func TestBlockIterNextDoesNotAllocate(t *testing.T) {
	entries := smallEntries(rand.New(rand.NewPCG(3, 3)), 500)
	raw := buildBlock(entries, 16)
	var it blockIter
	require.NoError(t, it.init(raw, "t", 0))
	it.First()
	for it.Next() {
	} // grow the key buffer once
	allocs := testing.AllocsPerRun(20, func() {
		for ok := it.First(); ok; ok = it.Next() {
		}
	})
	require.Zero(t, allocs)
}

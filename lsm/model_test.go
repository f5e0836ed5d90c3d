package lsm

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/vfs"
)

// modelKey draws keys from a small space so that overwrites, deletes and
// shadowing across levels are frequent; some keys hold 0x00 and 0xFF.
func modelKey(r *rand.Rand) []byte {
	n := r.IntN(300)
	switch r.IntN(10) {
	case 0:
		return []byte{byte(n), 0x00, 0xFF}
	default:
		return []byte(fmt.Sprintf("k%03d", n))
	}
}

// modelRange draws a range to delete: usually a few dozen keys of the
// model's space, sometimes everything from the first key.
func modelRange(r *rand.Rand) (start, end []byte) {
	a := r.IntN(300)
	end = []byte(fmt.Sprintf("k%03d", a+1+r.IntN(40)))
	if r.IntN(20) == 0 {
		return nil, end
	}
	if r.IntN(10) == 0 {
		return []byte{byte(a)}, []byte{byte(a), 0xFF, 0}
	}
	return []byte(fmt.Sprintf("k%03d", a)), end
}

func modelDeleteRange(m map[string]string, start, end []byte) {
	for k := range m {
		if k >= string(start) && k < string(end) {
			delete(m, k)
		}
	}
}

type modelSnap struct {
	s     *Snapshot
	model map[string]string
}

func copyModel(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// checkIterAgainst walks it with random moves and compares with the sorted
// model restricted to [lo, hi).
func checkIterAgainst(t *testing.T, r *rand.Rand, it *Iterator, model map[string]string, lo, hi []byte) {
	var want []kv
	for _, e := range modelScan(model) {
		if lo != nil && e.k < string(lo) {
			continue
		}
		if hi != nil && e.k >= string(hi) {
			continue
		}
		want = append(want, e)
	}
	pos := -1 // index into want; -1 or len = invalid
	valid := func() bool { return pos >= 0 && pos < len(want) }
	for step := 0; step < 60; step++ {
		var got bool
		switch op := r.IntN(6); op {
		case 0:
			got, pos = it.First(), 0
		case 1:
			got, pos = it.Last(), len(want)-1
		case 2:
			k := modelKey(r)
			got = it.SeekGE(k)
			pos = sort.Search(len(want), func(i int) bool { return want[i].k >= string(k) })
		case 3:
			k := modelKey(r)
			got = it.SeekLT(k)
			pos = sort.Search(len(want), func(i int) bool { return want[i].k >= string(k) }) - 1
		case 4:
			if !valid() {
				continue
			}
			got = it.Next()
			pos++
		case 5:
			if !valid() {
				continue
			}
			got = it.Prev()
			pos--
		}
		require.NoError(t, it.Error())
		require.Equal(t, valid(), got, "step %d", step)
		if got {
			require.Equal(t, want[pos].k, string(it.Key()), "step %d", step)
			require.Equal(t, want[pos].v, string(it.Value()), "step %d key %q", step, it.Key())
		}
	}
	require.NoError(t, it.Close())
}

func TestRandomOperationsAgainstModel(t *testing.T) {
	seeds := 6
	steps := 3000
	if testing.Short() {
		seeds, steps = 2, 1500
	}
	for seed := 0; seed < seeds; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			runModel(t, uint64(seed), steps)
		})
	}
}

func runModel(t *testing.T, seed uint64, steps int) {
	r := rand.New(rand.NewPCG(seed, 99))
	fs := vfs.NewMem()
	opts := func() *Options {
		o := smallOpts(fs)
		o.MemtableSize = 16 << 10
		if seed%2 == 1 {
			// Staged: writes go to 4 KiB fronts copied into the main list
			// in the background (see newMutableMemtable).
			o.MemtableSize = 64 << 10
		}
		o.Sync = SyncMode(seed % 3)
		o.Compression = Compression(seed % 3)
		if seed%4 == 3 {
			o.BloomBitsPerKey = -1
		}
		return o
	}
	db := openMem(t, fs, opts())
	model := map[string]string{}
	var snaps []modelSnap
	val := func(i int) string { return fmt.Sprintf("v%d-%s", i, bytes.Repeat([]byte("x"), r.IntN(200))) }
	for i := 0; i < steps; i++ {
		switch op := r.IntN(100); {
		case op < 45:
			k, v := modelKey(r), val(i)
			require.NoError(t, db.Put(k, []byte(v)))
			model[string(k)] = v
		case op < 55:
			k := modelKey(r)
			require.NoError(t, db.Delete(k))
			delete(model, string(k))
		case op < 60:
			start, end := modelRange(r)
			require.NoError(t, db.DeleteRange(start, end))
			modelDeleteRange(model, start, end)
		case op < 68:
			// Operations apply to the model in batch order: the later wins.
			b := db.NewBatch()
			var staged []func()
			for j := r.IntN(8); j >= 0; j-- {
				k := modelKey(r)
				switch r.IntN(6) {
				case 0, 1:
					b.Delete(k)
					staged = append(staged, func() { delete(model, string(k)) })
				case 2:
					start, end := modelRange(r)
					b.DeleteRange(start, end)
					staged = append(staged, func() { modelDeleteRange(model, start, end) })
				default:
					v := val(i)
					b.Put(k, []byte(v))
					staged = append(staged, func() { model[string(k)] = v })
				}
			}
			require.NoError(t, db.Apply(b))
			for _, f := range staged {
				f()
			}
		case op < 80:
			k := modelKey(r)
			got, err := db.Get(k)
			if want, ok := model[string(k)]; ok {
				require.NoError(t, err, "get %q", k)
				require.Equal(t, want, string(got), "get %q", k)
			} else {
				require.ErrorIs(t, err, ErrNotFound, "get %q", k)
			}
		case op < 86:
			var lo, hi []byte
			if r.IntN(2) == 0 {
				lo = modelKey(r)
			}
			if r.IntN(2) == 0 {
				hi = modelKey(r)
			}
			it, err := db.NewIter(&IterOptions{LowerBound: lo, UpperBound: hi})
			require.NoError(t, err)
			checkIterAgainst(t, r, it, model, lo, hi)
		case op < 89:
			snaps = append(snaps, modelSnap{db.NewSnapshot(), copyModel(model)})
		case op < 93 && len(snaps) > 0:
			s := snaps[r.IntN(len(snaps))]
			k := modelKey(r)
			got, err := s.s.Get(k)
			if want, ok := s.model[string(k)]; ok {
				require.NoError(t, err)
				require.Equal(t, want, string(got))
			} else {
				require.ErrorIs(t, err, ErrNotFound)
			}
			it, err := s.s.NewIter(nil)
			require.NoError(t, err)
			checkIterAgainst(t, r, it, s.model, nil, nil)
		case op < 95 && len(snaps) > 0:
			j := r.IntN(len(snaps))
			require.NoError(t, snaps[j].s.Close())
			snaps = append(snaps[:j], snaps[j+1:]...)
		case op < 97:
			require.NoError(t, db.Flush())
		case op < 98:
			require.NoError(t, db.Compact(nil, nil))
		default:
			for _, s := range snaps {
				require.NoError(t, s.s.Close())
			}
			snaps = nil
			require.NoError(t, db.Close())
			db = openMem(t, fs, opts())
		}
	}
	require.Equal(t, formatKVs(modelScan(model)), formatKVs(dbScan(t, db)))
	require.NoError(t, db.Verify())
	for _, s := range snaps {
		require.NoError(t, s.s.Close())
	}
	require.NoError(t, db.Close())
}

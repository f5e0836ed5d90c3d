package iterator

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/manifest"
)

// sliceIter is a keys.Iterator over a sorted slice of internal keys.
type sliceIter struct {
	ks  [][]byte
	pos int
}

func (s *sliceIter) SeekGE(k []byte) bool {
	s.pos = sort.Search(len(s.ks), func(i int) bool { return keys.Compare(s.ks[i], k) >= 0 })
	return s.Valid()
}
func (s *sliceIter) SeekLT(k []byte) bool {
	s.pos = sort.Search(len(s.ks), func(i int) bool { return keys.Compare(s.ks[i], k) >= 0 }) - 1
	return s.Valid()
}
func (s *sliceIter) First() bool   { s.pos = 0; return s.Valid() }
func (s *sliceIter) Last() bool    { s.pos = len(s.ks) - 1; return s.Valid() }
func (s *sliceIter) Next() bool    { s.pos = min(s.pos+1, len(s.ks)); return s.Valid() }
func (s *sliceIter) Prev() bool    { s.pos = max(s.pos-1, -1); return s.Valid() }
func (s *sliceIter) Valid() bool   { return s.pos >= 0 && s.pos < len(s.ks) }
func (s *sliceIter) Key() []byte   { return s.ks[s.pos] }
func (s *sliceIter) Value() []byte { return s.ks[s.pos] }
func (s *sliceIter) Error() error  { return nil }
func (s *sliceIter) Close() error  { return nil }

func sortKeys(ks [][]byte) {
	sort.Slice(ks, func(i, j int) bool { return keys.Compare(ks[i], ks[j]) < 0 })
}

// randomSources splits n random unique internal keys among k sorted sources.
func randomSources(r *rand.Rand, n, k int) (all [][]byte, srcs [][][]byte) {
	srcs = make([][][]byte, k)
	for i := 0; i < n; i++ {
		ik := keys.MakeKey(nil, []byte(fmt.Sprintf("k%03d", r.IntN(n/2+1))), keys.SeqNum(i+1), keys.KindSet)
		all = append(all, ik)
		j := r.IntN(k)
		srcs[j] = append(srcs[j], ik)
	}
	sortKeys(all)
	for _, s := range srcs {
		sortKeys(s)
	}
	return all, srcs
}

// checkWalk drives it and a model through random moves and requires equal keys.
func checkWalk(t *testing.T, r *rand.Rand, it keys.Iterator, all [][]byte) {
	model := &sliceIter{ks: all, pos: -1}
	for step := 0; step < 2000; step++ {
		var got, want bool
		var probe []byte
		switch op := r.IntN(6); op {
		case 0:
			got, want = it.First(), model.First()
		case 1:
			got, want = it.Last(), model.Last()
		case 2, 3:
			probe = keys.MakeKey(nil, []byte(fmt.Sprintf("k%03d", r.IntN(len(all)/2+2))), keys.SeqNum(r.IntN(len(all)+2)), keys.KindSet)
			if op == 2 {
				got, want = it.SeekGE(probe), model.SeekGE(probe)
			} else {
				got, want = it.SeekLT(probe), model.SeekLT(probe)
			}
		case 4:
			if !model.Valid() {
				continue
			}
			got, want = it.Next(), model.Next()
		case 5:
			if !model.Valid() {
				continue
			}
			got, want = it.Prev(), model.Prev()
		}
		require.Equal(t, want, got, "step %d", step)
		if want {
			require.Equal(t, keys.Format(model.Key()), keys.Format(it.Key()), "step %d", step)
		}
	}
}

func TestMergingAgreesWithModel(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for trial := 0; trial < 20; trial++ {
		all, srcs := randomSources(r, 200, 1+r.IntN(5))
		children := make([]keys.Iterator, len(srcs))
		for i, s := range srcs {
			children[i] = &sliceIter{ks: s}
		}
		m := NewMerging(children...)
		checkWalk(t, r, m, all)
		require.NoError(t, m.Close())
	}
}

func TestLevelAgreesWithModel(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for trial := 0; trial < 20; trial++ {
		all, _ := randomSources(r, 300, 1)
		// Cut the sorted keys into non-overlapping files at user-key boundaries.
		var files []*manifest.FileMeta
		contents := map[*manifest.FileMeta][][]byte{}
		for start := 0; start < len(all); {
			end := min(start+1+r.IntN(40), len(all))
			for end < len(all) && string(keys.UserKey(all[end])) == string(keys.UserKey(all[end-1])) {
				end++
			}
			f := &manifest.FileMeta{Smallest: all[start], Largest: all[end-1]}
			files = append(files, f)
			contents[f] = all[start:end]
			start = end
		}
		opened := 0
		l := NewLevel(files, func(f *manifest.FileMeta) (keys.Iterator, error) {
			opened++
			return &sliceIter{ks: contents[f]}, nil
		}, nil, nil)
		checkWalk(t, r, l, all)
		require.NoError(t, l.Close())
		require.Greater(t, opened, 0)
	}
}

func TestLevelBoundsSkipTables(t *testing.T) {
	mk := func(a, b string) *manifest.FileMeta {
		return &manifest.FileMeta{Smallest: keys.MakeKey(nil, []byte(a), 1, keys.KindSet), Largest: keys.MakeKey(nil, []byte(b), 1, keys.KindSet)}
	}
	files := []*manifest.FileMeta{mk("a", "c"), mk("d", "f"), mk("g", "i")}
	var opened []string
	l := NewLevel(files, func(f *manifest.FileMeta) (keys.Iterator, error) {
		opened = append(opened, string(f.SmallestUserKey()))
		return &sliceIter{ks: [][]byte{f.Smallest, f.Largest}}, nil
	}, []byte("e"), []byte("f"))
	require.True(t, l.First())
	require.Equal(t, "d", string(keys.UserKey(l.Key())))
	for l.Next() {
	}
	require.Equal(t, []string{"d"}, opened)
	require.NoError(t, l.Close())
}

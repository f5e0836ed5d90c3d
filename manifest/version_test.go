package manifest

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/stratadb/strata/keys"
	"github.com/stretchr/testify/require"
)

// buildVersion applies one edit adding files to an empty version.
func buildVersion(t testing.TB, files ...NewFile) *Version {
	t.Helper()
	v, err := (&Version{}).Apply(&VersionEdit{Added: files})
	require.NoError(t, err)
	require.NoError(t, v.CheckInvariants())
	return v
}

func TestApplyOrdersLevels(t *testing.T) {
	v := buildVersion(t,
		NewFile{0, meta(5, 10, 20, 7, 9)},
		NewFile{0, meta(3, 0, 90, 1, 4)},
		NewFile{0, meta(4, 5, 6, 5, 6)},
		NewFile{1, meta(8, 50, 60, 1, 1)},
		NewFile{1, meta(7, 10, 20, 1, 1)},
		NewFile{1, meta(9, 21, 49, 1, 1)},
	)
	require.Equal(t, []uint64{3, 4, 5}, fileNums(v.Levels[0]), "L0 oldest first")
	require.Equal(t, []uint64{7, 9, 8}, fileNums(v.Levels[1]), "L1 by smallest key")

	// A trivial move: delete from L1 and add to L2 in one edit.
	f9 := v.Levels[1][1]
	nv, err := v.Apply(&VersionEdit{
		Deleted: []DeletedFile{{1, 9}, {0, 4}},
		Added:   []NewFile{{2, f9}, {0, meta(10, 0, 1, 10, 12)}},
	})
	require.NoError(t, err)
	require.NoError(t, nv.CheckInvariants())
	require.Equal(t, []uint64{3, 5, 10}, fileNums(nv.Levels[0]))
	require.Equal(t, []uint64{7, 8}, fileNums(nv.Levels[1]))
	require.Equal(t, []uint64{9}, fileNums(nv.Levels[2]))
	require.Same(t, f9, nv.Levels[2][0], "FileMeta pointers are shared")
	// The old version is untouched.
	require.Equal(t, []uint64{3, 4, 5}, fileNums(v.Levels[0]))
	require.Equal(t, []uint64{7, 9, 8}, fileNums(v.Levels[1]))
	require.Empty(t, v.Levels[2])
	// Unchanged levels share their slices.
	require.Equal(t, 0, nv.NumFiles(3))
}

func TestApplyRejectsBadEdits(t *testing.T) {
	v := buildVersion(t, NewFile{0, meta(3, 0, 9, 1, 2)}, NewFile{1, meta(4, 10, 20, 1, 1)}, NewFile{1, meta(5, 30, 40, 1, 1)})
	before := v.String()
	inverted := meta(9, 10, 20, 1, 1)
	inverted.Smallest, inverted.Largest = inverted.Largest, inverted.Smallest
	badSeq := meta(9, 1, 2, 5, 1)
	short := meta(9, 1, 2, 1, 1)
	short.Largest = []byte("x")
	cases := []struct {
		name, reason string
		e            VersionEdit
	}{
		{"delete absent", "absent from L1", VersionEdit{Deleted: []DeletedFile{{1, 99}}}},
		{"delete from wrong level", "absent from L2", VersionEdit{Deleted: []DeletedFile{{2, 4}}}},
		{"delete twice", "deleted twice", VersionEdit{Deleted: []DeletedFile{{1, 4}, {1, 4}}}},
		{"delete bad level", "bad level", VersionEdit{Deleted: []DeletedFile{{7, 4}}}},
		{"delete negative level", "bad level", VersionEdit{Deleted: []DeletedFile{{-1, 4}}}},
		{"add existing same level", "already in L1", VersionEdit{Added: []NewFile{{1, meta(4, 50, 60, 1, 1)}}}},
		{"add existing other level", "already in L0", VersionEdit{Added: []NewFile{{2, meta(3, 50, 60, 1, 1)}}}},
		{"add twice", "added twice", VersionEdit{Added: []NewFile{{2, meta(8, 1, 2, 1, 1)}, {3, meta(8, 1, 2, 1, 1)}}}},
		{"add bad level", "bad level", VersionEdit{Added: []NewFile{{NumLevels, meta(8, 1, 2, 1, 1)}}}},
		{"add nil meta", "nil table", VersionEdit{Added: []NewFile{{1, nil}}}},
		{"add overlapping L1", "overlaps", VersionEdit{Added: []NewFile{{1, meta(8, 20, 25, 1, 1)}}}},
		{"add overlapping each other", "overlaps", VersionEdit{Added: []NewFile{{3, meta(8, 1, 5, 1, 1)}, {3, meta(9, 5, 6, 1, 1)}}}},
		{"add inverted", "smallest", VersionEdit{Added: []NewFile{{2, inverted}}}},
		{"add bad seqs", "smallest seq", VersionEdit{Added: []NewFile{{2, badSeq}}}},
		{"add short key", "shorter", VersionEdit{Added: []NewFile{{2, short}}}},
		{"add file 0", "file number 0", VersionEdit{Added: []NewFile{{2, meta(0, 1, 2, 1, 1)}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			nv, err := v.Apply(&c.e)
			require.ErrorIs(t, err, ErrBadEdit)
			require.Contains(t, err.Error(), c.reason)
			require.Nil(t, nv)
			require.Equal(t, before, v.String())
		})
	}
}

func TestCheckInvariantsDetects(t *testing.T) {
	inverted := meta(9, 10, 20, 1, 1)
	inverted.Smallest, inverted.Largest = inverted.Largest, inverted.Smallest
	cases := []struct {
		name, reason string
		levels       map[int][]*FileMeta
	}{
		{"L1 overlap", "overlaps", map[int][]*FileMeta{1: {meta(1, 0, 10, 1, 1), meta(2, 10, 20, 1, 1)}}},
		{"L1 unsorted", "overlaps or precedes", map[int][]*FileMeta{3: {meta(1, 30, 40, 1, 1), meta(2, 10, 20, 1, 1)}}},
		{"L0 unsorted", "out of order", map[int][]*FileMeta{0: {meta(1, 0, 10, 5, 6), meta(2, 0, 10, 1, 2)}}},
		{"duplicate across levels", "appears in L0 and L4", map[int][]*FileMeta{0: {meta(1, 0, 10, 1, 1)}, 4: {meta(1, 0, 10, 1, 1)}}},
		{"duplicate in a level", "out of order", map[int][]*FileMeta{0: {meta(1, 0, 10, 1, 1), meta(1, 0, 10, 1, 1)}}},
		{"inverted range", "smallest", map[int][]*FileMeta{2: {inverted}}},
		{"nil table", "nil table", map[int][]*FileMeta{5: {nil}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := &Version{}
			for l, fs := range c.levels {
				v.Levels[l] = fs
			}
			err := v.CheckInvariants()
			require.Error(t, err)
			require.Contains(t, err.Error(), c.reason)
		})
	}
	require.NoError(t, (&Version{}).CheckInvariants())
}

// model is the plain-map model of a version: file number -> (level, range).
type modelFile struct {
	level  int
	lo, hi int
	meta   *FileMeta
}

type model map[uint64]modelFile

func (m model) clone() model {
	c := make(model, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// apply returns the model after e, or ok=false if e must be rejected.
func (m model) apply(e *VersionEdit) (model, bool) {
	n := m.clone()
	seenDel := map[DeletedFile]bool{}
	for _, d := range e.Deleted {
		f, ok := n[d.FileNum]
		if seenDel[d] || !ok || f.level != d.Level {
			return nil, false
		}
		seenDel[d] = true
		delete(n, d.FileNum)
	}
	for _, a := range e.Added {
		if _, ok := n[a.Meta.FileNum]; ok {
			return nil, false
		}
		lo, hi := parseKey(a.Meta.Smallest), parseKey(a.Meta.Largest)
		if a.Level > 0 {
			for _, f := range n {
				if f.level == a.Level && lo <= f.hi && f.lo <= hi {
					return nil, false
				}
			}
		}
		n[a.Meta.FileNum] = modelFile{a.Level, lo, hi, a.Meta}
	}
	return n, true
}

func parseKey(ikey []byte) int {
	i, err := strconv.Atoi(string(keys.UserKey(ikey)[1:]))
	if err != nil {
		panic(err)
	}
	return i
}

// check compares a version with the model: same tables per level.
func (m model) check(t *testing.T, v *Version) {
	t.Helper()
	require.NoError(t, v.CheckInvariants())
	var want [NumLevels][]uint64
	for num, f := range m {
		want[f.level] = append(want[f.level], num)
	}
	for l := range NumLevels {
		got := slices.Clone(fileNums(v.Levels[l]))
		slices.Sort(got)
		slices.Sort(want[l])
		require.Equal(t, want[l], got, "L%d", l)
	}
}

// randomEdit builds an edit of 1-4 operations, valid or not.
func randomEdit(r *rand.Rand, m model, nextNum *uint64, seq *keys.SeqNum) *VersionEdit {
	e := &VersionEdit{}
	nums := make([]uint64, 0, len(m))
	for num := range m {
		nums = append(nums, num)
	}
	slices.Sort(nums)
	for range 1 + r.IntN(4) {
		op := r.IntN(10)
		if len(m) > 200 && op < 6 {
			op += 6 // keep the version small: delete instead of adding
		}
		switch {
		case op < 3: // add to L0
			*seq += 10
			lo := r.IntN(1000)
			*nextNum++
			e.Added = append(e.Added, NewFile{0, meta(*nextNum, lo, lo+r.IntN(50), *seq-9, *seq)})
		case op < 6: // add to L1+
			lo := r.IntN(1000)
			*nextNum++
			e.Added = append(e.Added, NewFile{1 + r.IntN(NumLevels-1), meta(*nextNum, lo, lo+r.IntN(20), 1, 5)})
		case op < 8 && len(nums) > 0: // delete (sometimes from the wrong level)
			num := nums[r.IntN(len(nums))]
			lvl := m[num].level
			if r.IntN(8) == 0 {
				lvl = r.IntN(NumLevels)
			}
			e.Deleted = append(e.Deleted, DeletedFile{lvl, num})
		case op < 9 && len(nums) > 0: // move down a level
			num := nums[r.IntN(len(nums))]
			f := m[num]
			if f.level+1 < NumLevels {
				e.Deleted = append(e.Deleted, DeletedFile{f.level, num})
				e.Added = append(e.Added, NewFile{f.level + 1, f.meta})
			}
		case len(nums) > 0: // re-add an existing table (always bad)
			num := nums[r.IntN(len(nums))]
			e.Added = append(e.Added, NewFile{r.IntN(NumLevels), m[num].meta})
		}
	}
	return e
}

func TestApplyRandomAgainstModel(t *testing.T) {
	steps := 2000
	if testing.Short() {
		steps = 400
	}
	for seed := range uint64(3) {
		r := rand.New(rand.NewPCG(seed, 42))
		m := model{}
		v := &Version{}
		var nextNum uint64
		var seq keys.SeqNum
		var good, bad int
		for range steps {
			e := randomEdit(r, m, &nextNum, &seq)
			before := levelNums(v)
			nm, ok := m.apply(e)
			nv, err := v.Apply(e)
			require.Equal(t, before, levelNums(v), "Apply changed the old version")
			if !ok {
				require.ErrorIs(t, err, ErrBadEdit)
				bad++
				continue
			}
			require.NoError(t, err)
			good++
			nm.check(t, nv)
			m, v = nm, nv
			checkQueries(t, r, v)
		}
		require.Greater(t, good, steps/10)
		require.Greater(t, bad, steps/10)
	}
}

func levelNums(v *Version) (out [NumLevels][]uint64) {
	for l, files := range v.Levels {
		out[l] = fileNums(files)
	}
	return out
}

// checkQueries compares Overlaps and FindFile with brute force.
func checkQueries(t *testing.T, r *rand.Rand, v *Version) {
	t.Helper()
	for range 3 {
		lvl := r.IntN(NumLevels)
		var lo, hi []byte
		if r.IntN(5) > 0 {
			lo = ukey(r.IntN(1100))
		}
		if r.IntN(5) > 0 {
			hi = ukey(r.IntN(1100))
		}
		var want []uint64
		for _, f := range v.Levels[lvl] {
			if (lo == nil || bytes.Compare(f.LargestUserKey(), lo) >= 0) && (hi == nil || bytes.Compare(f.SmallestUserKey(), hi) <= 0) {
				want = append(want, f.FileNum)
			}
		}
		require.Equal(t, want, fileNums(v.Overlaps(lvl, lo, hi)), "L%d [%s, %s]", lvl, lo, hi)
		if lvl > 0 && lo != nil {
			i := v.FindFile(lvl, lo)
			files := v.Levels[lvl]
			wantI := len(files)
			for j, f := range files {
				if bytes.Compare(f.LargestUserKey(), lo) >= 0 {
					wantI = j
					break
				}
			}
			require.Equal(t, wantI, i)
		}
	}
}

func TestOverlapsAndFindFile(t *testing.T) {
	v := buildVersion(t,
		NewFile{1, meta(1, 10, 20, 1, 1)}, NewFile{1, meta(2, 30, 40, 1, 1)}, NewFile{1, meta(3, 50, 60, 1, 1)},
		NewFile{0, meta(4, 15, 36, 1, 2)}, NewFile{0, meta(5, 36, 38, 3, 4)}, NewFile{0, meta(6, 0, 5, 5, 6)},
	)
	cases := []struct {
		level  int
		lo, hi []byte
		want   []uint64
	}{
		{1, ukey(0), ukey(9), nil},
		{1, ukey(20), ukey(30), []uint64{1, 2}},
		{1, ukey(21), ukey(29), nil},
		{1, ukey(21), ukey(30), []uint64{2}},
		{1, nil, ukey(35), []uint64{1, 2}},
		{1, ukey(55), nil, []uint64{3}},
		{1, nil, nil, []uint64{1, 2, 3}},
		{1, ukey(61), nil, nil},
		{0, ukey(36), ukey(37), []uint64{4, 5}},
		{0, ukey(37), ukey(37), []uint64{5}}, // not widened to 4, which overlaps 5
		{0, nil, nil, []uint64{4, 5, 6}},
		{0, ukey(6), ukey(14), nil},
		{2, nil, nil, nil},
		{-1, nil, nil, nil},
		{NumLevels, nil, nil, nil},
	}
	for _, c := range cases {
		require.Equal(t, c.want, fileNums(v.Overlaps(c.level, c.lo, c.hi)), "L%d [%s, %s]", c.level, c.lo, c.hi)
	}
	require.Equal(t, 0, v.FindFile(1, ukey(0)))
	require.Equal(t, 0, v.FindFile(1, ukey(20)))
	require.Equal(t, 1, v.FindFile(1, ukey(21)))
	require.Equal(t, 2, v.FindFile(1, ukey(60)))
	require.Equal(t, 3, v.FindFile(1, ukey(61)))
	require.Equal(t, 0, v.FindFile(9, ukey(1)))
	require.Equal(t, 3, v.NumFiles(1))
	require.Equal(t, uint64(101+102+103), v.LevelSize(1))
	require.Equal(t, uint64(0), v.LevelSize(-3))
	// The L1+ result may be appended to without changing the version.
	got := v.Overlaps(1, ukey(10), ukey(30))
	_ = append(got, meta(99, 0, 0, 1, 1))
	require.Equal(t, []uint64{1, 2, 3}, fileNums(v.Levels[1]))
	require.Contains(t, v.String(), "000002:[k0030 #1 SET..k0040 #1 DEL]")
}

// benchKeys are the user keys k0000..k9999, built before timing starts.
func benchKeys() [][]byte {
	ks := make([][]byte, 10000+30)
	for i := range ks {
		ks[i] = ukey(i)
	}
	return ks
}

func BenchmarkFindFile(b *testing.B) {
	v := benchVersion(b, 1000)
	ks := benchKeys()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = v.FindFile(1, ks[i%10000])
		i += 7
	}
}

func BenchmarkOverlapsL1(b *testing.B) {
	v := benchVersion(b, 1000)
	ks := benchKeys()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = v.Overlaps(1, ks[i%10000], ks[i%10000+30])
		i += 7
	}
}

func BenchmarkApply(b *testing.B) {
	v := benchVersion(b, 1000)
	e := &VersionEdit{
		Deleted: []DeletedFile{{1, 10}, {1, 11}},
		Added:   []NewFile{{1, meta(5000, 90, 95, 1, 1)}, {1, meta(5001, 96, 109, 1, 1)}, {0, meta(5002, 0, 9999, 1<<30, 1<<30)}},
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Apply(e); err != nil {
			b.Fatal(err)
		}
	}
}

// benchVersion holds n tables in L1 (table i covers keys [10i, 10i+9]) and
// 8 in L0.
func benchVersion(b *testing.B, n int) *Version {
	e := &VersionEdit{}
	for i := range n {
		e.Added = append(e.Added, NewFile{1, meta(uint64(i+1), 10*i, 10*i+9, 1, 1)})
	}
	for i := range 8 {
		e.Added = append(e.Added, NewFile{0, meta(uint64(n+i+1), 0, 9999, keys.SeqNum(10*i+1), keys.SeqNum(10*i+9))})
	}
	v, err := (&Version{}).Apply(e)
	require.NoError(b, err)
	return v
}

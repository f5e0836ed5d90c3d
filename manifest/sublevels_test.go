package manifest

import (
	"math/rand/v2"
	"testing"

	"github.com/stratadb/strata/keys"
	"github.com/stretchr/testify/require"
)

// randomL0 returns n L0 tables in L0 order with random key ranges: some
// narrow, some wide, some ending in an exclusive range tombstone end.
func randomL0(rng *rand.Rand, n int) []*FileMeta {
	files := make([]*FileMeta, n)
	for i := range files {
		lo := rng.IntN(100)
		hi := lo + rng.IntN(1+rng.IntN(40))
		seq := keys.SeqNum(10 * (i + 1))
		f := meta(uint64(i+1), lo, hi, seq-5, seq)
		if rng.IntN(4) == 0 {
			f.Largest = keys.RangeDelSentinel(nil, ukey(hi+1))
		}
		files[i] = f
	}
	return files
}

// bruteSublevels is the definition, quadratic: each table's sublevel is one
// more than the highest sublevel of an older table it overlaps.
func bruteSublevels(files []*FileMeta) []int {
	sub := make([]int, len(files))
	for i, f := range files {
		for j := range i {
			if FilesOverlap(files[j], f) {
				sub[i] = max(sub[i], sub[j]+1)
			}
		}
	}
	return sub
}

// TestL0SublevelsRandom checks ComputeL0Sublevels against the definition on
// random layouts, and what reads rely on: each sublevel sorted and disjoint,
// of two overlapping tables the newer in the higher sublevel, MaxSeq and
// Isolated right.
func TestL0SublevelsRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	rounds := 500
	if testing.Short() {
		rounds = 100
	}
	for round := range rounds {
		files := randomL0(rng, rng.IntN(40))
		s := ComputeL0Sublevels(files)
		want := bruteSublevels(files)
		require.Equal(t, len(files), len(s.Of), "round %d", round)
		depth := 0
		for i := range files {
			require.Equal(t, want[i], s.Of[i], "round %d table %d", round, i)
			depth = max(depth, want[i]+1)
		}
		require.Equal(t, depth, s.Depth(), "round %d", round)
		count := 0
		for l, lvl := range s.Levels {
			var maxSeq keys.SeqNum
			for k, f := range lvl {
				maxSeq = max(maxSeq, f.LargestSeq)
				if k > 0 {
					require.True(t, lvl[k-1].EndsBefore(f.SmallestUserKey()), "round %d sublevel %d unsorted or overlapping", round, l)
				}
			}
			require.Equal(t, maxSeq, s.MaxSeq[l])
			count += len(lvl)
		}
		require.Equal(t, len(files), count)
		isolated := 0
		for i, f := range files {
			alone := true
			for j, g := range files {
				if i != j && FilesOverlap(f, g) {
					alone = false
					if j < i {
						require.Less(t, s.Of[j], s.Of[i], "round %d: older overlapping table not below", round)
					}
				}
			}
			if alone {
				isolated++
			}
			require.Equal(t, alone, s.Alone[i], "round %d table %d", round, i)
		}
		require.Equal(t, isolated, s.Isolated, "round %d", round)
	}
}

// TestL0SublevelsExample is the layout of the L0Sublevels documentation.
func TestL0SublevelsExample(t *testing.T) {
	files := []*FileMeta{meta(1, 0, 10, 1, 1), meta(2, 0, 2, 2, 2), meta(3, 3, 5, 3, 3), meta(4, 1, 4, 4, 4), meta(5, 12, 15, 5, 5)}
	s := ComputeL0Sublevels(files)
	require.Equal(t, []int{0, 1, 1, 2, 0}, s.Of)
	require.Equal(t, []uint64{1, 5}, fileNums(s.Levels[0]))
	require.Equal(t, []uint64{2, 3}, fileNums(s.Levels[1]))
	require.Equal(t, []uint64{4}, fileNums(s.Levels[2]))
	require.Equal(t, 1, s.Isolated)
	v := &Version{}
	v.Levels[0] = files
	require.Equal(t, 3, v.L0Depth())
	require.Same(t, v.L0Sublevels(), v.L0Sublevels(), "computed once per version")
	require.Equal(t, 0, (&Version{}).L0Depth())
}

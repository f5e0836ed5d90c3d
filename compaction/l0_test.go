package compaction

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/manifest"
)

func rkey(i int) []byte { return fmt.Appendf(nil, "k%03d", i) }

func rfile(num uint64, lo, hi int, seq keys.SeqNum, size uint64) *manifest.FileMeta {
	return &manifest.FileMeta{FileNum: num, Size: size, SmallestSeq: seq, LargestSeq: seq + 5,
		Smallest: keys.MakeKey(nil, rkey(lo), seq+5, keys.KindSet), Largest: keys.MakeKey(nil, rkey(hi), seq, keys.KindSet)}
}

// randomLayout returns a version with a random base level of disjoint
// tables in L6 and a random L0: flushes, each cut at random base boundaries
// or whole, some tables busy (with every newer table over them, as a running
// compaction leaves them, or, on odd rounds, anywhere).
func randomLayout(rng *rand.Rand, round int) *manifest.Version {
	v := &manifest.Version{}
	num := uint64(1)
	var bounds []int
	for k := rng.IntN(100); k < 1000 && len(bounds) < 12; k += 1 + rng.IntN(150) {
		bounds = append(bounds, k)
	}
	for i, lo := range bounds {
		hi := 999
		if i+1 < len(bounds) {
			hi = bounds[i+1] - 1 - rng.IntN(2)
		}
		if hi < lo {
			hi = lo
		}
		v.Levels[6] = append(v.Levels[6], rfile(num, lo, hi, 1, 50+uint64(rng.IntN(100))))
		num++
	}
	seq := keys.SeqNum(100)
	for range rng.IntN(12) {
		lo := rng.IntN(900)
		hi := lo + rng.IntN(1000-lo)
		// Cut [lo, hi] at the base boundaries inside it, sometimes.
		cuts := []int{lo}
		if rng.IntN(3) > 0 {
			for _, b := range bounds {
				if b > lo && b <= hi && rng.IntN(2) == 0 {
					cuts = append(cuts, b)
				}
			}
		}
		for i, c := range cuts {
			end := hi
			if i+1 < len(cuts) {
				end = cuts[i+1] - 1
			}
			v.Levels[0] = append(v.Levels[0], rfile(num, c, end, seq, 10+uint64(rng.IntN(30))))
			num++
		}
		seq += 10
	}
	if round%2 == 0 {
		// Busy as compactions leave L0: a taken set closed under older
		// overlapping tables.
		if len(v.Levels[0]) > 0 && rng.IntN(2) == 0 {
			seed := rng.IntN(len(v.Levels[0]))
			p := newL0Picker(v)
			busy := map[int]bool{seed: true}
			stack := []int{seed}
			for len(stack) > 0 {
				i := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				p.older(i, func(j int) bool {
					if !busy[j] {
						busy[j] = true
						stack = append(stack, j)
					}
					return true
				})
			}
			for i := range busy {
				v.Levels[0][i].Compacting = true
			}
		}
	} else {
		for _, f := range v.Levels[0] {
			f.Compacting = rng.IntN(6) == 0
		}
	}
	for _, f := range v.Levels[6] {
		f.Compacting = rng.IntN(8) == 0
	}
	return v
}

// TestL0PickRandom picks from random L0 layouts and checks the rule that
// keeps reads correct: no L0 table older than a taken one and overlapping
// it stays behind; nothing busy is taken; the base tables taken are all
// that the L0 ones overlap; a running compaction's key range is not met.
func TestL0PickRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	rounds := 3000
	if testing.Short() {
		rounds = 500
	}
	picked := 0
	for round := range rounds {
		v := randomLayout(rng, round)
		o := Options{L0Trigger: 1 + rng.IntN(3), LevelMultiplier: 10, BaseLevelSize: 100000, TargetFileSize: int64(10 + rng.IntN(100))}
		base, _ := Targets(v, o)
		require.Equal(t, 6, base)
		var running []*Compaction
		if rng.IntN(3) == 0 && len(v.Levels[6]) > 0 {
			f := v.Levels[6][rng.IntN(len(v.Levels[6]))]
			if f.Compacting {
				running = append(running, &Compaction{Level: 0, OutputLevel: 6, Inputs: [2][]*manifest.FileMeta{nil, {f}}})
			}
		}
		c := pickL0Partial(v, o, base, running, ReasonL0, 1)
		if c == nil {
			continue
		}
		picked++
		taken := map[*manifest.FileMeta]bool{}
		for _, f := range c.Inputs[0] {
			require.False(t, f.Compacting, "round %d: busy table %d taken", round, f.FileNum)
			taken[f] = true
		}
		l0 := v.Levels[0]
		last := -1
		for i, f := range l0 {
			if !taken[f] {
				continue
			}
			require.Greater(t, i, last, "round %d: inputs out of L0 order", round)
			last = i
			for _, g := range l0[:i] {
				if manifest.FilesOverlap(f, g) {
					require.True(t, taken[g], "round %d: table %d taken without older overlapping table %d", round, f.FileNum, g.FileNum)
				}
			}
		}
		lo, hi := keyRange(c.Inputs[0])
		require.Equal(t, fileNumsOf(v.Overlaps(6, lo, hi)), fileNumsOf(c.Inputs[1]), "round %d: base inputs", round)
		for _, f := range c.Inputs[1] {
			require.False(t, f.Compacting, "round %d: busy base table %d taken", round, f.FileNum)
		}
		clo, chi := keyRange(c.AllInputs())
		for _, r := range running {
			rlo, rhi := keyRange(r.AllInputs())
			require.True(t, bytes.Compare(chi, rlo) < 0 || bytes.Compare(rhi, clo) < 0, "round %d: meets a running compaction", round)
		}
		// A partial pick over a base level takes at least one window's
		// tables; every unblocked table of L0 is taken when the base is
		// empty.
		require.NotEmpty(t, c.Inputs[0])
	}
	require.Greater(t, picked, rounds/4, "too few picks to test anything")
}

func fileNumsOf(files []*manifest.FileMeta) []uint64 {
	out := []uint64{}
	for _, f := range files {
		out = append(out, f.FileNum)
	}
	return out
}

package collections

import (
	"flag"
	"fmt"
	"testing"
)

var modelSteps = flag.Int("model.steps", 0, "steps per seed of the randomized model tests (0: a default sized for go test)")

func steps(def int) int {
	if *modelSteps > 0 {
		return *modelSteps
	}
	if testing.Short() {
		return def / 4
	}
	return def
}

// runModel runs the randomized model test over ops, with the engine
// operations mixed in, for a few seeds.
func runModel(t *testing.T, n int, ops ...[]hop) {
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			h := newHarness(t, seed)
			// Range deletes from one element, from three, and from the
			// default (never, at these sizes): both ways of deleting data.
			h.rdMin = []int64{1, 3, 0}[seed-1]
			// The metadata cache: with the sole-writer promise (the raw
			// writes here never meet a collection), without it, and so
			// small that it evicts all the time.
			h.sole = seed == 1
			h.metaSize = []int64{0, 0, metaShards * metaEntryBytes}[seed-1]
			h.reopen()
			defer h.close()
			h.dataOps = append(h.dataOps, keyOps()...)
			for _, o := range ops {
				h.dataOps = append(h.dataOps, o...)
			}
			h.ops = append(append(append(h.ops, engineOps()...), h.dataOps...), updateOp())
			h.run(n)
			h.checkNoGarbage()
			// With range deletes from one element, a run that made any
			// collection (the ID mark exists) deleted one that way.
			if _, err := h.db.Get(idHighKey); err == nil && h.rdMin == 1 && h.rangeDels+h.s.rangeDels.Load() == 0 {
				t.Error("no range delete was written")
			}
		})
	}
}

// TestModelStrings runs random key and string operations against the model,
// across flushes, compactions, reopens, clock jumps and raw lsm writes.
func TestModelStrings(t *testing.T) { runModel(t, steps(1500), stringOps()) }

// TestModelHashes runs random hash operations (with strings and key
// operations mixed in, for WRONGTYPE and RENAME) against the model.
func TestModelHashes(t *testing.T) { runModel(t, steps(2000), hashOps(), stringOps()) }

// TestModelSets runs random set operations against the model.
func TestModelSets(t *testing.T) { runModel(t, steps(2000), setOps(), hashOps()) }

package lsm_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stratadb/strata/internal/dbtest"
)

// TestRandomOperationsAgainstModel runs long generated scripts (see
// internal/dbtest) over a key space of 300 keys, each under one of the
// metamorphic configurations, and requires the model's history: every read
// answered as the model answers it, every write's error class, the same
// data at the end, and a DB that passes its checks. A failure prints the
// script reduced to the operations that show it.
func TestRandomOperationsAgainstModel(t *testing.T) {
	seeds, steps := 6, 3000
	if testing.Short() {
		seeds, steps = 2, 1500
	}
	for seed := range seeds {
		c := metaConfigs[(seed*5+1)%len(metaConfigs)]
		t.Run(fmt.Sprintf("%d-%s", seed, c.name), func(t *testing.T) {
			ops := dbtest.Generate(rand.New(rand.NewPCG(uint64(seed), 99)), steps, &dbtest.GenOptions{Keys: 300})
			if report := dbtest.Compare(ops, c.config(), dbtest.ModelConfig()); report != "" {
				t.Errorf("seed %d: %s", seed, report)
			}
		})
	}
}

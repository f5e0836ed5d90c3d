package server

import (
	"math"
	"testing"
)

// TestMultiExecAllocs: the compare's transaction (MULTI, SET, GET, INCR,
// SET, GET, EXEC) served end to end allocates at most a fixed handful:
// the MULTI's queue (its state and the buffers every queued argv is copied
// into), the transaction's keyspace and the keys its commands may write.
// Before, each queued command allocated its own copy, each key list a map,
// and each command run in EXEC its context: 63 allocations in all.
func TestMultiExecAllocs(t *testing.T) {
	const most = 20 // 17 measured
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	var req []byte
	for _, c := range cmdCases {
		if c.name == "MULTI" {
			req = c.req
		}
	}
	f := newRESPFixture(t, "everysec", req)
	seedCmdFixture(t, f)
	tx := func() {
		for i := range 7 {
			if got := f.step(t); got == '-' || (i == 6 && got != '*') {
				t.Fatalf("reply %d: %q", i, f.cl.out.b)
			}
		}
	}
	tx()
	// The least of three measures: AllocsPerRun counts the whole
	// process, and the engine's background work may allocate during one.
	least := math.Inf(1)
	for range 3 {
		least = min(least, testing.AllocsPerRun(300, tx))
	}
	t.Logf("%.1f allocations per transaction", least)
	if least > most {
		t.Errorf("a MULTI/EXEC of 5 commands allocates %.1f, want at most %d", least, most)
	}
}

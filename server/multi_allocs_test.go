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
	testCaseAllocs(t, "MULTI", 7, '*', most)
}

// TestEvalShaAllocs: EVALSHA of the lock release (a GET from the script)
// allocates at most what it did after its redis.call stopped allocating a
// reply writer, a context and a copy per argument: 25, 31 before. Most of
// the rest is the Lua values gopher-lua boxes (KEYS, ARGV, the reply).
func TestEvalShaAllocs(t *testing.T) {
	const most = 26 // 25 measured
	testCaseAllocs(t, "EVALSHA", 1, ':', most)
}

// testCaseAllocs serves cmdCases' request name (steps commands, the last
// answering with a reply of type last) over and over and fails if it
// allocates more than most times.
func testCaseAllocs(t *testing.T, name string, steps int, last byte, most float64) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	var req []byte
	for _, c := range cmdCases {
		if c.name == name {
			req = c.req
		}
	}
	f := newRESPFixture(t, "everysec", req)
	seedCmdFixture(t, f)
	tx := func() {
		for i := range steps {
			if got := f.step(t); got == '-' || (i == steps-1 && got != last) {
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
	t.Logf("%s: %.1f allocations", name, least)
	if least > most {
		t.Errorf("%s allocates %.1f, want at most %v", name, least, most)
	}
}

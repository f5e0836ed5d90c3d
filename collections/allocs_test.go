package collections

import (
	"fmt"
	"testing"
)

// TestCounterPathAllocatesNothing: IncrBy on an existing counter allocates
// nothing, and creating a counter allocates only the engine's error for its
// failed IfPresent increment (formatted at once, that error was four
// allocations, and the metadata probe's key one more: six in all).
func TestCounterPathAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	s, _ := openTestStore(t)
	const runs = 500
	key := []byte("counter")
	if _, err := s.IncrBy(key, 1); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(runs, func() {
		if _, err := s.IncrBy(key, 1); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("IncrBy of an existing counter allocates %v", n)
	}
	fresh := make([][]byte, runs+1)
	for i := range fresh {
		fresh[i] = fmt.Appendf(nil, "new:%08d", i)
	}
	i := 0
	if n := testing.AllocsPerRun(runs, func() {
		got, err := s.IncrBy(fresh[i], 5)
		if err != nil || got != 5 {
			t.Fatalf("IncrBy of a new counter = %d, %v; want 5", got, err)
		}
		i++
	}); n > 1 {
		t.Errorf("IncrBy creating a counter allocates %v, want at most 1", n)
	}
}

package refcount

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestTryAcquire: a live count rises by one; a count at zero or below
// stays as it is and refuses.
func TestTryAcquire(t *testing.T) {
	for _, tc := range []struct {
		start, want int32
		ok          bool
	}{{1, 2, true}, {5, 6, true}, {0, 0, false}, {-1, -1, false}} {
		var n atomic.Int32
		n.Store(tc.start)
		if ok := TryAcquire(&n); ok != tc.ok || n.Load() != tc.want {
			t.Errorf("from %d: ok %v, count %d; want %v, %d", tc.start, ok, n.Load(), tc.ok, tc.want)
		}
	}
}

// TestTryAcquireRacingTheLastRelease: readers acquiring and releasing while
// the owner drops its reference never take one after the count reached
// zero.
func TestTryAcquireRacingTheLastRelease(t *testing.T) {
	for range 200 {
		var n atomic.Int32
		n.Store(1) // the owner's
		var dead atomic.Bool
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 100 {
					if TryAcquire(&n) {
						if dead.Load() {
							t.Error("acquired after the count reached zero")
						}
						if n.Add(-1) == 0 {
							dead.Store(true)
						}
					}
				}
			}()
		}
		if n.Add(-1) == 0 {
			dead.Store(true)
		}
		wg.Wait()
		if n.Load() != 0 {
			t.Fatalf("count %d after every release", n.Load())
		}
	}
}

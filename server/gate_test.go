package server

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestGateExclusion: shared holders of the gate run together, an exclusive
// holder runs alone. Goroutines take it shared and exclusively at random
// and check, while they hold it, who else does.
func TestGateExclusion(t *testing.T) {
	var g gate
	g.init()
	var shared, exclusive atomic.Int32
	var bad atomic.Int32
	var wg sync.WaitGroup
	n := 2000
	if testing.Short() {
		n = 300
	}
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				if (i+w)%7 == 0 {
					g.exclusive()
					if exclusive.Add(1) != 1 || shared.Load() != 0 {
						bad.Add(1)
					}
					exclusive.Add(-1)
					g.releaseExclusive()
					continue
				}
				if err := g.shared(); err != nil {
					bad.Add(1)
					continue
				}
				shared.Add(1)
				if exclusive.Load() != 0 {
					bad.Add(1)
				}
				shared.Add(-1)
				g.releaseShared()
			}
		}()
	}
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d times a holder of the gate was not alone as it should be", bad.Load())
	}
	if v := g.state.Load(); v != 0 {
		t.Fatalf("gate state %#x after every holder left, want 0", v)
	}
}

// TestGateBusy: while an exclusive holder is busy (a script past
// lua-time-limit), a shared waiter gives up with errBusy; once it leaves,
// the gate is taken shared again.
func TestGateBusy(t *testing.T) {
	var g gate
	g.init()
	g.exclusive()
	g.setBusy()
	if err := g.shared(); err != errBusy {
		t.Fatalf("shared while an exclusive holder is busy: %v, want errBusy", err)
	}
	g.releaseExclusive()
	if err := g.shared(); err != nil {
		t.Fatalf("shared after the exclusive holder left: %v", err)
	}
	g.releaseShared()
}

package refcount

import "sync/atomic"

// TryAcquire adds one to n unless it is zero or below (the last reference
// went, or none was published yet), and reports whether it did.
func TryAcquire(n *atomic.Int32) bool {
	for {
		v := n.Load()
		if v <= 0 {
			return false
		}
		if n.CompareAndSwap(v, v+1) {
			return true
		}
	}
}

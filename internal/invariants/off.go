//go:build !invariants && !race

package invariants

// Enabled is false: the build has neither the invariants nor the race tag.
const Enabled = false

// GoroutineID returns 0: without the invariants build no check asks which
// goroutine runs (see the invariants build's GoroutineID).
func GoroutineID() uint64 { return 0 }

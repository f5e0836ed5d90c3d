//go:build race

package collections

// checkInvariants turns on the checks of the Store's in-memory state
// against the engine (invariant) in race builds, where tests run.
const checkInvariants = true

//go:build !invariants && !race

package invariants

// Enabled is false: the build has neither the invariants nor the race tag.
const Enabled = false

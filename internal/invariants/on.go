//go:build invariants || race

package invariants

// Enabled is true: the build has the invariants or race tag.
const Enabled = true

//go:build !invariants

package manifest

// invariants enables panics on broken internal invariants (a reference count
// below zero). Tests build with -tags invariants; release builds do not.
const invariants = false

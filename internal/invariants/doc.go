// Package invariants switches on the engine's internal consistency checks.
//
// Who may use it: every package of the module that has an invariant to
// check; nothing outside it.
//
// Enabled is true when the module is built with the "invariants" or the
// "race" build tag; the engine's comments call such a build "the invariants
// build". So `go test -race` (which CI runs over every engine package)
// checks them, `go test -tags invariants` does without the race detector's
// cost, and release builds pay nothing: every check is written as
//
//	if invariants.Enabled && broken {
//		panic(...)
//	}
//
// and the compiler removes it when Enabled is the constant false. A broken
// invariant is a bug in the engine, never a consequence of user input or file
// contents (those get errors), so a panic is the right report under tests.
//
// GoroutineID, for checks that say which goroutine owns something, reads
// the id only under the invariants build; otherwise it returns 0.
//
// Who may use it: the packages of this module only.
package invariants

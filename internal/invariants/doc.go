// Package invariants switches on the engine's internal consistency checks.
//
// Enabled is true when the module is built with the "invariants" or the
// "race" build tag, so `go test -race` (which CI runs over every engine
// package) checks them, and release builds pay nothing: every check is
// written as
//
//	if invariants.Enabled && broken {
//		panic(...)
//	}
//
// and the compiler removes it when Enabled is the constant false. A broken
// invariant is a bug in the engine, never a consequence of user input or file
// contents (those get errors), so a panic is the right report under tests.
//
// Who may use it: the packages of this module only.
package invariants

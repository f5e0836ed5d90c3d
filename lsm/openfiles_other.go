//go:build !unix

package lsm

// openFileLimit reports no limit where the OS has no RLIMIT_NOFILE.
func openFileLimit() (uint64, bool) { return 0, false }

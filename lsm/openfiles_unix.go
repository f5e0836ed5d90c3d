//go:build unix

package lsm

import "golang.org/x/sys/unix"

// openFileLimit returns the process's soft limit on open files
// (RLIMIT_NOFILE), and false when it cannot be read or is unlimited.
func openFileLimit() (uint64, bool) {
	var l unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &l); err != nil || l.Cur == unix.RLIM_INFINITY {
		return 0, false
	}
	return uint64(l.Cur), true
}

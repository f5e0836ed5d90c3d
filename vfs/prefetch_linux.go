//go:build linux

package vfs

import "golang.org/x/sys/unix"

var _ Prefetcher = osFile{}

// Prefetch implements Prefetcher with posix_fadvise(2) POSIX_FADV_WILLNEED,
// which starts the reads and returns. An error (a file the call does not
// apply to) leaves the reads to come to read the file themselves.
func (f osFile) Prefetch(off, n int64) {
	_ = unix.Fadvise(int(f.Fd()), off, n, unix.FADV_WILLNEED)
}

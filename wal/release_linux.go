//go:build linux

package wal

import "golang.org/x/sys/unix"

// releasePages drops b's pages, part of a shared file mapping, from the
// process (madvise MADV_DONTNEED): for a shared mapping the kernel keeps
// their contents in the page cache, marked dirty if they were written, and
// a later access maps them again from there. An error (b not page-aligned,
// say) leaves the pages mapped, which costs only memory.
func releasePages(b []byte) {
	if len(b) > 0 {
		_ = unix.Madvise(b, unix.MADV_DONTNEED)
	}
}

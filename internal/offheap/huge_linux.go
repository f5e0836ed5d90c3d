package offheap

import "golang.org/x/sys/unix"

// populateFlag maps a buffer's pages within the mmap call (AllocPopulated).
const populateFlag = unix.MAP_POPULATE

// hugeMin is the size from which a buffer is advised to be backed by
// transparent huge pages: two 2 MiB pages, so that at least one aligned
// huge page fits whatever the mapping's alignment.
const hugeMin = 4 << 20

// adviseHuge asks the kernel to back b with transparent huge pages
// (MADV_HUGEPAGE), for buffers of hugeMin bytes or more. A memtable arena is
// filled densely from both ends, so a huge page fault maps 2 MiB that will
// be used, where 4 KiB pages take 512 faults: a 64 MiB arena filled from
// fresh pages cost 265 ms of CPU in faults on a 2-core VM, 8 ms with huge
// pages (a page fault there is ~16 us, as a VM that hands freed pages back
// to its host pays on every first touch). Resident memory stays below the
// buffer's size, as before, and exceeds what is written by at most the two
// huge pages being filled. Where THP is off ("never") or unsupported the
// advice fails and is ignored: the buffer keeps 4 KiB pages.
func adviseHuge(b []byte) {
	if len(b) >= hugeMin {
		_ = unix.Madvise(b, unix.MADV_HUGEPAGE)
	}
}

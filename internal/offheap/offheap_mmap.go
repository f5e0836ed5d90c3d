//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package offheap

import (
	"fmt"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

const offHeap = true

// alloc maps n bytes with the mmap flags given beside MAP_ANON and
// MAP_PRIVATE.
func alloc(n, flags int) ([]byte, error) {
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE|flags)
	if err != nil {
		return nil, fmt.Errorf("offheap: mmap of %d bytes: %w", n, err)
	}
	adviseHuge(b)
	return b, nil
}

// maxPoisoned bounds the freed buffers kept as inaccessible mappings, well
// below the kernel's default limit on mappings per process (65530).
const maxPoisoned = 16384

var poisoned atomic.Int64

func free(b []byte) {
	if poisonFreed && poisoned.Add(1) <= maxPoisoned {
		// Give the pages back but keep the addresses, inaccessible: a use
		// after free faults instead of reaching a later allocation.
		_ = unix.Madvise(b, unix.MADV_DONTNEED)
		if err := unix.Mprotect(b, unix.PROT_NONE); err != nil {
			panic(fmt.Sprintf("offheap: mprotect: %v", err))
		}
		return
	}
	if err := unix.Munmap(b); err != nil {
		// Only a buffer that Alloc did not return can fail here.
		panic(fmt.Sprintf("offheap: munmap: %v", err))
	}
}

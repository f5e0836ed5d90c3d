//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package offheap

import "unsafe"

const offHeap = false

// alloc backs the buffer with a []uint64 for its alignment; the collector
// does not scan it. There are no mmap flags here.
func alloc(n, _ int) ([]byte, error) {
	words := make([]uint64, (n+7)/8)
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), n), nil
}

func free([]byte) {}

// populateFlag means nothing here: a heap buffer is written by make.
const populateFlag = 0

// Package offheap allocates large, long-lived byte buffers outside the Go
// heap, and frees them explicitly.
//
// Who may use it: the memtable's arena (package memtable) and the block
// cache's slabs (package slab), nothing else today; nothing outside the
// module.
//
// Why: the Go garbage collector lets the heap grow to (1 + GOGC/100) times
// the live heap before it collects, so with the default GOGC=100 every
// long-lived buffer on the heap costs up to twice its size in resident
// memory. A memtable arena of 64 MiB is live for its whole life; off the
// heap it costs 64 MiB (and only the pages written to), on the heap up to
// 128 MiB. Pebble allocates its memtable arenas and block cache outside the
// Go heap for the same reason.
//
// On Linux, the BSDs and macOS a buffer is an anonymous private mapping
// (mmap), zero-filled by the kernel page by page as it is first written,
// and Free unmaps it; on Linux a buffer of 4 MiB or more is advised to be
// backed by transparent huge pages (huge_linux.go says why). Elsewhere
// (Windows, Plan 9, wasm) Alloc falls back to the Go heap and Free only
// forgets the buffer: the collector reclaims it once nothing points to it.
//
// The caller owns the lifetime: nothing may touch a buffer after Free. In
// builds with the race detector Free does not unmap but makes the pages
// inaccessible and never reuses the addresses, so any later access faults
// at once instead of reading memory a later Alloc reuses.
package offheap

import "sync/atomic"

var live atomic.Int64

// Live returns the bytes currently allocated by Alloc and not yet freed,
// process-wide.
func Live() int64 { return live.Load() }

// OffHeap reports whether Alloc allocates outside the Go heap on this
// platform.
const OffHeap = offHeap

// Alloc returns a zeroed buffer of n bytes (n > 0) whose first byte is
// aligned to at least 8 bytes. The buffer must be released with Free.
func Alloc(n int) ([]byte, error) { return allocCounted(n, 0) }

// AllocPopulated is Alloc with the buffer's pages mapped at once, for a
// buffer that will be written whole soon (a slab of the block cache): on
// Linux the kernel faults them in within the mmap call (MAP_POPULATE)
// rather than one trap per page at first touch, which on a VM whose host
// takes freed pages back costs about twice as much (fresh 256 KiB
// mappings, each 4 KiB page written: 90 us per 32 KiB touched, 45 us
// populated). Elsewhere it is Alloc.
func AllocPopulated(n int) ([]byte, error) { return allocCounted(n, populateFlag) }

// allocCounted allocates with the mmap flags given (see alloc) and counts
// the buffer in Live.
func allocCounted(n, flags int) ([]byte, error) {
	b, err := alloc(n, flags)
	if err != nil {
		return nil, err
	}
	live.Add(int64(len(b)))
	return b, nil
}

// Free releases a buffer returned by Alloc or AllocPopulated. b must be
// the whole buffer; nothing may read or write it afterwards.
func Free(b []byte) {
	if len(b) == 0 {
		return
	}
	live.Add(-int64(len(b)))
	free(b)
}

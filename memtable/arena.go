package memtable

import (
	"encoding/binary"
	"math"
	"sync/atomic"
	"unsafe"

	"github.com/stratadb/strata/internal/offheap"
)

// Node layout inside the arena (doc.go draws it, with a worked example). A
// node is addressed by the offset n of its prev word; its tower of links
// grows downwards from n, its header and key upwards, and its value lives
// apart, at the arena's value end:
//
//	n-8*(i+1)  link[i], level i in [0, height): one 64-bit word holding the
//	           offset of the next node (low 32 bits) and its tag (high 32
//	           bits: how its user key differs from this node's, see
//	           skiplist), loaded and stored atomically together
//	n          prev:    the node before it at level 0 (a hint, see Iterator.Prev)
//	n+4        keyLen:  length of the internal key (user key + 8-byte trailer)
//	n+8        valLen:  length of the value
//	n+12       valOff:  arena offset of the value
//	n+16       the internal key bytes, then zero padding to a multiple of 8
//
// Offset 0 is never a node (the head's tower starts there), so 0 means nil.
const (
	// maxHeight is the tallest tower. With p = 1/2 (see skiplist) the
	// expected number of nodes at level h is n/2^(h-1), so 20 levels keep
	// searches logarithmic up to 2^20 ≈ 1M entries and degrade gently
	// beyond: a 64 MiB table of ~60-byte entries (1.1M) has ~1 node per
	// top-level step. A 4 GiB table of minimal 28-byte entries (~150M)
	// would scan ~150 cache-hot top-level nodes per search; tables that
	// large are not the design point. Every level costs 4 bytes of worst
	// case in EntrySize.
	maxHeight = 20

	// nodeHeaderSize is the prev, keyLen, valLen and valOff words.
	nodeHeaderSize = 16

	// towerEntry is the size of one level of a tower: a 64-bit word with
	// the next offset and the tag of the node it points to.
	towerEntry = 8

	// align is the alignment of every allocation, so that every tower word
	// is a naturally aligned uint64 for sync/atomic.
	align = 8

	// minCapacity and maxCapacity bound New's capacity. maxCapacity keeps
	// every offset in a uint32.
	minCapacity = 4 << 10
	maxCapacity = math.MaxUint32
)

// arena is one preallocated byte slice that holds every node, key and
// value of a memtable. Only the single writer allocates; readers only read
// bytes of nodes that were published (linked with an atomic store) after the
// bytes were written, so the link load orders the byte reads.
//
// Nodes fill the buffer from the front, values from the back: a search
// touches only towers and keys, so keeping 100-byte values out of the way
// packs several times more nodes into each page and cache line a search
// walks through, and one buffer of capacity bytes serves both.
//
// A memtable's main list lives outside the Go heap (internal/offheap: an
// anonymous mapping where the platform has one), so the collector's
// headroom does not double it, and its memory goes back to the OS when the
// memtable is released (Memtable.Release), not at some later collection.
// Staged fronts stay on the heap: readers and iterators may hold a front
// after it is copied, and only the collector knows when the last one lets
// go of it; they are small (see NewStaged).
//
// Concurrency: bytes below used, and the last vused bytes, belong to
// published or being-built nodes and values; tower and prev words are
// accessed only with sync/atomic. used and vused live in one atomic word
// (top), advanced by the writer or, with allocConcurrent, by
// compare-and-swap, so nodes and values can never overlap.
type arena struct {
	buf      []byte
	top      atomic.Uint64 // used<<32 | vused
	capacity uint64
	offHeap  bool // buf came from offheap.Alloc and goes back with free
}

// newArena returns an arena of capacity bytes whose base is 8-byte aligned:
// off the Go heap if offHeap and the platform allows it, else backed by a
// []uint64, which the GC does not scan. A new arena is zeroed and its pages
// the table never reaches are never touched.
func newArena(capacity int64, offHeap bool) arena {
	if offHeap && offheap.OffHeap {
		if buf, err := offheap.Alloc(int(capacity)); err == nil {
			return arena{buf: buf, capacity: uint64(capacity), offHeap: true}
		}
		// Out of address space or mappings: the heap may still have room.
	}
	words := make([]uint64, (capacity+7)/8)
	buf := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), len(words)*8)
	return arena{buf: buf[:capacity:capacity], capacity: uint64(capacity)}
}

// free gives an off-heap buffer back to the OS and leaves the arena
// without one: any later access panics
// (index out of range) instead of reading memory another arena may own,
// and under the race detector an access racing with free is reported on
// buf. The caller guarantees nothing reads the arena any more.
func (a *arena) free() {
	buf := a.buf
	a.buf = nil
	if a.offHeap {
		offheap.Free(buf)
	}
}

// usage returns the node bytes and the value bytes in use.
func (a *arena) usage() (used, vused uint64) {
	t := a.top.Load()
	return t >> 32, t & math.MaxUint32
}

// size returns the bytes of nodes and values in use.
func (a *arena) size() uint64 {
	used, vused := a.usage()
	return used + vused
}

// reserve computes the allocation of size node bytes and vsize value bytes
// on top of t: the node offset, the value offset and the new top, or false
// if they do not fit.
func (a *arena) reserve(t, size, vsize uint64) (uint32, uint32, uint64, bool) {
	used, vused := t>>32, t&math.MaxUint32
	if size+vsize > a.capacity-(used+vused) {
		return 0, 0, 0, false
	}
	used, vused = used+size, vused+vsize
	return uint32(used - size), uint32(a.capacity - vused), used<<32 | vused, true
}

// alloc reserves size bytes of nodes (a multiple of align) and vsize bytes
// of values, and returns their offsets, or false if they do not fit.
// Writer only.
func (a *arena) alloc(size, vsize uint64) (uint32, uint32, bool) {
	off, voff, t, ok := a.reserve(a.top.Load(), size, vsize)
	if ok {
		a.top.Store(t)
	}
	return off, voff, ok
}

// allocConcurrent is alloc for several writers at once.
func (a *arena) allocConcurrent(size, vsize uint64) (uint32, uint32, bool) {
	for {
		old := a.top.Load()
		off, voff, t, ok := a.reserve(old, size, vsize)
		if !ok {
			return 0, 0, false
		}
		if a.top.CompareAndSwap(old, t) {
			return off, voff, true
		}
	}
}

// casLink replaces node n's level-l link (old, oldTag) by (to, tag) if it
// is still the old one.
func (a *arena) casLink(n uint32, l int, old, oldTag, to, tag uint32) bool {
	return atomic.CompareAndSwapUint64(a.word64(n-towerEntry*uint32(l+1)),
		uint64(oldTag)<<32|uint64(old), uint64(tag)<<32|uint64(to))
}

// word returns a pointer to the 4-byte aligned uint32 at off.
func (a *arena) word(off uint32) *uint32 {
	return (*uint32)(unsafe.Pointer(&a.buf[off]))
}

// word64 returns a pointer to the 8-byte aligned uint64 at off.
func (a *arena) word64(off uint32) *uint64 {
	return (*uint64)(unsafe.Pointer(&a.buf[off]))
}

// link atomically loads node n's level-l link: the successor's offset and
// its tag (see makeTag), always a consistent pair.
func (a *arena) link(n uint32, l int) (next, tag uint32) {
	w := atomic.LoadUint64(a.word64(n - towerEntry*uint32(l+1)))
	return uint32(w), uint32(w >> 32)
}

// next atomically loads the level-l successor of node n.
func (a *arena) next(n uint32, l int) uint32 {
	next, _ := a.link(n, l)
	return next
}

// setLink atomically stores node n's level-l link. The store publishes
// node to (and every byte written to it before) to each reader whose atomic
// load sees it.
func (a *arena) setLink(n uint32, l int, to, tag uint32) {
	atomic.StoreUint64(a.word64(n-towerEntry*uint32(l+1)), uint64(tag)<<32|uint64(to))
}

// prev atomically loads node n's backward hint at level 0.
func (a *arena) prev(n uint32) uint32 { return atomic.LoadUint32(a.word(n)) }

// setPrev atomically stores node n's backward hint.
func (a *arena) setPrev(n, to uint32) { atomic.StoreUint32(a.word(n), to) }

// key returns node n's internal key, capped so an append by the caller
// cannot write into the arena. keyLen is written before n is published and
// never changes, so a plain load is ordered by the link load that found n.
func (a *arena) key(n uint32) []byte {
	kl := *a.word(n + 4)
	o := n + nodeHeaderSize
	return a.buf[o : o+kl : o+kl]
}

// value returns node n's value, capped like key.
func (a *arena) value(n uint32) []byte {
	vl, vo := *a.word(n + 8), *a.word(n + 12)
	return a.buf[vo : vo+vl : vo+vl]
}

// writeNode fills a freshly allocated node at n, its value at voff (not yet
// reachable by any reader, so plain writes suffice).
func (a *arena) writeNode(n, voff uint32, ukey []byte, trailer uint64, value []byte) {
	kl := uint32(len(ukey) + 8)
	*a.word(n + 4) = kl
	*a.word(n + 8) = uint32(len(value))
	*a.word(n + 12) = voff
	o := n + nodeHeaderSize
	copy(a.buf[o:], ukey)
	binary.LittleEndian.PutUint64(a.buf[o+uint32(len(ukey)):], trailer)
	copy(a.buf[voff:], value)
}

// nodeSize returns the node bytes of a node of height h holding an internal
// key of ikeyLen bytes (its value is stored apart).
func nodeSize(h, ikeyLen int64) int64 {
	return alignUp(towerEntry*h + nodeHeaderSize + ikeyLen)
}

func alignUp(n int64) int64 { return (n + align - 1) &^ (align - 1) }

package memtable

import (
	"encoding/binary"
	"math"
	"sync/atomic"
	"unsafe"
)

// Node layout inside the arena (see doc.go for the diagram). A node is
// addressed by the offset n of its prev word; its tower of next-offsets grows
// downwards from n, its header and bytes upwards:
//
//	n-8*(i+1)  link[i], level i in [0, height): one 64-bit word holding the
//	           offset of the next node (low 32 bits) and the first 4 bytes
//	           of its user key (high 32 bits), loaded and stored atomically
//	           together
//	n          prev:    the node before it at level 0 (a hint, see Iterator.Prev)
//	n+4        keyLen:  length of the internal key (user key + 8-byte trailer)
//	n+8        valLen:  length of the value
//	n+12       internal key bytes, then value bytes, padded to 4 bytes
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

	// nodeHeaderSize is the prev, keyLen and valLen words.
	nodeHeaderSize = 12

	// towerEntry is the size of one level of a tower: a 64-bit word with
	// the next offset and the key prefix of the node it points to.
	towerEntry = 8

	// align is the alignment of every allocation, so that every tower word
	// is a naturally aligned uint64 for sync/atomic.
	align = 8

	// minCapacity and maxCapacity bound New's capacity. maxCapacity keeps
	// every offset in a uint32.
	minCapacity = 4 << 10
	maxCapacity = math.MaxUint32
)

// arena is one preallocated, zeroed byte slice that holds every node, key and
// value of a memtable. Only the single writer allocates; readers only read
// bytes of nodes that were published (linked with an atomic store) after the
// bytes were written, so the link load orders the byte reads.
//
// Concurrency: buf's contents below used belong to published or being-built
// nodes; tower and prev words are accessed only with sync/atomic; used is
// written by the writer only and read atomically by anyone.
type arena struct {
	buf  []byte
	used atomic.Uint64
}

// newArena returns an arena of capacity bytes whose base is 8-byte aligned
// (backed by a []uint64, which the GC does not scan).
func newArena(capacity int64) arena {
	words := make([]uint64, (capacity+7)/8)
	buf := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), len(words)*8)
	return arena{buf: buf[:capacity:capacity]}
}

// alloc reserves size bytes (size is a multiple of align) and returns their
// offset, or false if they do not fit. Writer only.
func (a *arena) alloc(size uint64) (uint32, bool) {
	off := a.used.Load()
	if size > uint64(len(a.buf))-off {
		return 0, false
	}
	a.used.Store(off + size)
	return uint32(off), true
}

// allocConcurrent is alloc for several writers at once.
func (a *arena) allocConcurrent(size uint64) (uint32, bool) {
	for {
		off := a.used.Load()
		if size > uint64(len(a.buf))-off {
			return 0, false
		}
		if a.used.CompareAndSwap(off, off+size) {
			return uint32(off), true
		}
	}
}

// casLink replaces node n's level-l link (old, oldPfx) by (to, pfx) if it
// is still the old one.
func (a *arena) casLink(n uint32, l int, old, oldPfx, to, pfx uint32) bool {
	return atomic.CompareAndSwapUint64(a.word64(n-towerEntry*uint32(l+1)),
		uint64(oldPfx)<<32|uint64(old), uint64(pfx)<<32|uint64(to))
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
// its key prefix (see keyPrefix), always a consistent pair.
func (a *arena) link(n uint32, l int) (next, pfx uint32) {
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
func (a *arena) setLink(n uint32, l int, to, pfx uint32) {
	atomic.StoreUint64(a.word64(n-towerEntry*uint32(l+1)), uint64(pfx)<<32|uint64(to))
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
	kl, vl := *a.word(n + 4), *a.word(n + 8)
	o := n + nodeHeaderSize + kl
	return a.buf[o : o+vl : o+vl]
}

// writeNode fills a freshly allocated node at n (not yet reachable by any
// reader, so plain writes suffice).
func (a *arena) writeNode(n uint32, ukey []byte, trailer uint64, value []byte) {
	kl := uint32(len(ukey) + 8)
	*a.word(n + 4) = kl
	*a.word(n + 8) = uint32(len(value))
	o := n + nodeHeaderSize
	copy(a.buf[o:], ukey)
	binary.LittleEndian.PutUint64(a.buf[o+uint32(len(ukey)):], trailer)
	copy(a.buf[o+kl:], value)
}

// nodeSize returns the arena bytes of a node of height h holding an internal
// key of ikeyLen bytes and a value of valueLen bytes.
func nodeSize(h, ikeyLen, valueLen int64) int64 {
	return alignUp(towerEntry*h + nodeHeaderSize + ikeyLen + valueLen)
}

func alignUp(n int64) int64 { return (n + align - 1) &^ (align - 1) }

package memtable

import (
	"hash/maphash"
	"math/bits"
	"sync/atomic"
)

// filter is a blocked bloom filter of the user keys added to a memtable,
// so that a point lookup of a key the memtable does not hold (most of them,
// once the data outgrows one memtable) answers without searching the
// skiplist, a walk of some twenty cache misses on a large table. Each key
// sets filterProbes bits of one 64-bit word, so a test reads one word.
//
// The words live at the start of the main list's arena, after its head:
// they are part of the memtable's capacity (and of the memory bound), go
// back to the OS with the arena, and are zero when the arena is new. They
// are read and written with sync/atomic: an Add sets its key's bits before
// it links the entry, so a lookup that starts after the Add returned sees
// them, and a lookup racing with the Add either sees the bits or may miss
// an entry it could not be sure to see anyway.
//
// A memtable under filterMinCapacity has none. One bit per
// filterBytesPer bytes of capacity (a 64 MiB memtable: 512 KiB
// of filter, 4 Mi bits): about 10 bits per key for 16-byte keys and
// 100-byte values, a false positive rate of about 1 to 2%.
type filter struct {
	off  uint32 // the first word's offset in the arena; 0: no filter
	mask uint32 // the number of words minus one (a power of two minus one)
}

const (
	filterBytesPer    = 128     // arena bytes per filter byte
	filterProbes      = 4       // bits set per key
	filterMinCapacity = 1 << 20 // no filter below: a small table's search is short
)

// filterSeed is shared by every memtable of the process: a filter never
// outlives it.
var filterSeed = maphash.MakeSeed()

// filterWords returns the number of words of the filter of a memtable of
// the given capacity: a power of two, about capacity/filterBytesPer/8.
func filterWords(capacity int64) uint32 {
	return floorPow2(capacity / filterBytesPer / 8)
}

// floorPow2 returns the largest power of two at most n, and 1 for n < 1.
func floorPow2(n int64) uint32 {
	if n < 1 {
		return 1
	}
	return uint32(1) << (bits.Len64(uint64(n)) - 1)
}

// newFilter reserves the filter's words in a, which must be new (zeroed).
// It returns no filter when they do not fit.
func newFilter(a *arena, capacity int64) filter {
	if capacity < filterMinCapacity {
		return filter{}
	}
	words := filterWords(capacity)
	off, _, ok := a.alloc(uint64(words)*8, 0)
	if !ok || off == 0 {
		return filter{}
	}
	return filter{off: off, mask: words - 1}
}

// filterHash returns the hash a filter keeps of ukey.
func filterHash(ukey []byte) uint64 { return maphash.Bytes(filterSeed, ukey) }

// locate returns the word and the bits of hash h: the word from the high
// half, the filterProbes bit positions from six bits each of the low half.
func (f filter) locate(h uint64) (word uint32, mask uint64) {
	word = uint32(h>>32) & f.mask
	for i := range filterProbes {
		mask |= 1 << ((h >> (6 * i)) & 63)
	}
	return word, mask
}

// add sets the bits of hash h.
func (f filter) add(a *arena, h uint64) {
	if f.off == 0 {
		return
	}
	w, m := f.locate(h)
	p := a.word64(f.off + 8*w)
	if atomic.LoadUint64(p)&m != m {
		atomic.OrUint64(p, m)
	}
}

// mayContain reports whether a key of hash h may have been added: false
// means it was not.
func (f filter) mayContain(a *arena, h uint64) bool {
	if f.off == 0 {
		return true
	}
	w, m := f.locate(h)
	return atomic.LoadUint64(a.word64(f.off+8*w))&m == m
}

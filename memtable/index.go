package memtable

import (
	"math/bits"
	"sync/atomic"

	"github.com/stratadb/strata/keys"
)

// index is a hash table from user keys to the node of their newest
// version in a list, so that a point lookup of a key the list holds reads
// a slot and a node instead of descending the skiplist: on a 64 MiB table
// that descent is some twenty dependent cache misses (BenchmarkGet), where
// the index costs one or two.
//
// It is open addressing with linear probing over 32-bit slots in the
// list's arena, after the key filter: part of the memtable's capacity, back
// to the OS with the arena, zero (empty) when new. A slot holds the node's
// offset divided by 8 (nodes are 8-byte aligned) in its high bits and a tag
// of the key's hash in the low tagBits (9 bits for a 64 MiB memtable), so a
// probe reads another key's node only when the tags collide.
//
// The index may be incomplete, never wrong: a key whose probe run finds no
// free slot within indexProbes is simply not indexed, and a lookup that
// does not find a key falls back to the skiplist. What it promises is that
// a key it holds points at the version with the largest trailer (newest
// sequence number) linked so far: slots are only ever filled or replaced
// by a newer version of the same key, never emptied, so an insert
// probing the same run as before finds its key's slot before any free
// one. A lookup at sequence number seq may use the slot's node only if
// that node's seq is <= seq; then no newer version at or below seq exists
// in the list (an insert updates the index before Add returns, so before
// the DB makes its sequence number visible). Otherwise, a snapshot older
// than the newest version, it searches the skiplist.
//
// Concurrency: slots are loaded atomically and changed with
// compare-and-swap, after the node is linked in the list, so a reader that
// sees a slot sees the node's bytes; concurrent inserts of the same key
// (AddConcurrent) keep whichever is newer.
type index struct {
	off     uint32 // the first slot's offset in the arena; 0: no index
	mask    uint32 // the number of slots minus one (a power of two minus one)
	tagBits uint32 // low bits of a slot holding the tag
}

const (
	indexBytesPer    = 16      // arena bytes per index byte (one slot per 64 bytes)
	indexProbes      = 32      // slots a probe run reads at most: two cache lines
	indexMinCapacity = 1 << 20 // no index below: a small table's search is short
)

// indexSlots returns the number of slots of the index of a memtable of the
// given capacity: a power of two, about capacity/indexBytesPer/4.
func indexSlots(capacity int64) uint32 {
	return floorPow2(capacity / indexBytesPer / 4)
}

// newIndex reserves the index's slots in a, which must be new (zeroed),
// for a list of the given capacity. It returns no index when they do not
// fit.
func newIndex(a *arena, capacity int64) index {
	if capacity < indexMinCapacity {
		return index{}
	}
	slots := indexSlots(capacity)
	off, _, ok := a.alloc(uint64(slots)*4, 0)
	if !ok || off == 0 {
		return index{}
	}
	// A node offset is below the capacity (at most 2^32): its value
	// divided by 8 needs nodeBits, and the rest of the slot holds the tag.
	nodeBits := uint32(bits.Len64(uint64(a.capacity-1) >> 3))
	return index{off: off, mask: slots - 1, tagBits: 32 - nodeBits}
}

// slotOf returns the first slot of hash h's probe run and its tag.
func (x index) slotOf(h uint64) (i, tag uint32) {
	return uint32(h) & x.mask, x.tagOf(uint32(h >> 32))
}

// node returns the node offset a nonzero slot word w points at.
func (x index) node(w uint32) uint32 { return w >> x.tagBits << 3 }

// tagOf returns the tag a slot word holds.
func (x index) tagOf(w uint32) uint32 { return w & (1<<x.tagBits - 1) }

// keyIs reports whether node n's user key is ukey, and returns its trailer.
func keyIs(a *arena, n uint32, ukey []byte) (trailer uint64, ok bool) {
	k := a.key(n)
	if string(keys.UserKey(k)) != string(ukey) {
		return 0, false
	}
	return keys.TrailerOf(k), true
}

// find returns the node the index holds for ukey (hash h) and its trailer,
// or ok false if the key is not indexed.
func (x index) find(a *arena, h uint64, ukey []byte) (n uint32, trailer uint64, ok bool) {
	if x.off == 0 {
		return 0, 0, false
	}
	i, tag := x.slotOf(h)
	for range indexProbes {
		w := atomic.LoadUint32(a.word(x.off + 4*i))
		if w == 0 {
			return 0, 0, false
		}
		if x.tagOf(w) == tag {
			if trailer, ok := keyIs(a, x.node(w), ukey); ok {
				return x.node(w), trailer, true
			}
		}
		i = (i + 1) & x.mask
	}
	return 0, 0, false
}

// touch loads the first slot of hash h's probe run, to bring it into the
// cache ahead of add.
func (x index) touch(a *arena, h uint64) uint32 {
	i, _ := x.slotOf(h)
	return atomic.LoadUint32(a.word(x.off + 4*i))
}

// add records node n, just linked with user key ukey (hash h) and trailer,
// unless the index already holds a newer version of the key or has no
// free slot in the key's probe run. Safe for concurrent callers.
func (x index) add(a *arena, h uint64, ukey []byte, trailer uint64, n uint32) {
	if x.off == 0 {
		return
	}
	i, tag := x.slotOf(h)
	nw := n>>3<<x.tagBits | tag
	for p := 0; p < indexProbes; {
		slot := a.word(x.off + 4*i)
		w := atomic.LoadUint32(slot)
		if w == 0 {
			if atomic.CompareAndSwapUint32(slot, 0, nw) {
				return
			}
			continue // another insert took it: look at it again
		}
		if x.tagOf(w) == tag {
			if old, ok := keyIs(a, x.node(w), ukey); ok {
				if old >= trailer || atomic.CompareAndSwapUint32(slot, w, nw) {
					return
				}
				continue // replaced meanwhile: compare with the new one
			}
		}
		p++
		i = (i + 1) & x.mask
	}
}

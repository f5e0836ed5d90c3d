package memtable

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
	"math/rand/v2"
	"sync/atomic"

	"github.com/stratadb/strata/internal/keys"
)

// ErrDuplicateKey is returned by Add for an internal key (user key, seq and
// kind) that is already in the memtable; nothing is inserted.
var ErrDuplicateKey = errors.New("memtable: duplicate internal key")

// skiplist is a lock-free-read skiplist over internal keys in keys.Compare
// order, every node of which lives in arena.
//
// Branching factor p = 1/2: a node reaches level i+1 with probability 1/2,
// so the expected tower is 2 words (8 bytes) per entry. Measured on
// BenchmarkGet's 1M entries (16-byte keys, 100-byte values), a search made
// 28.6 key comparisons with p = 1/2, 31.5 with p = 1/e and 34.4 with
// p = 1/4, for 1.9% more arena than p = 1/4; comparisons below the top
// levels are cache misses, so p = 1/2 was 20-35% faster on Get and Add.
//
// Concurrency: exactly one goroutine (the writer) calls insert at a time;
// rng is owned by it. Any number of goroutines read concurrently without a
// lock: every link (tower word, prev word) and height are read with atomic
// loads and written with atomic stores, and a node's bytes are written
// before its first link is stored. head is immutable after construction.
type skiplist struct {
	arena  arena
	head   uint32        // the sentinel node; its key is never compared
	height atomic.Uint32 // levels in use, in [1, maxHeight]; only grows
	rng    rand.PCG      // writer only: draws tower heights

	// The splice of the last insert (writer only): the node inserted, its
	// height, and its predecessor at every level. An insert of a larger key
	// starts each level's search there instead of at the head, so inserts
	// in ascending order cost a few comparisons of nodes still in cache.
	lastNode   uint32
	lastHeight int
	lastPrev   [maxHeight]uint32

	// concurrent counts inserts made by insertConcurrent; the splice above
	// is stale once it moves (lastConcurrent is its value at the last
	// insert).
	concurrent     atomic.Uint64
	lastConcurrent uint64
}

// searchKey is an internal key split for comparison without building it.
type searchKey struct {
	ukey    []byte
	trailer uint64
}

// makeSearchKey splits ikey without copying it. A key too short to hold a
// trailer is not an internal key; byte-wise comparison with it would not be
// monotonic over the list, so it is taken as a bare user key with the
// largest trailer, sorting before every version of that user key.
func makeSearchKey(ikey []byte) searchKey {
	n := len(ikey) - keys.TrailerLen
	if n < 0 {
		return searchKey{ukey: ikey, trailer: math.MaxUint64}
	}
	return searchKey{ukey: ikey[:n], trailer: binary.LittleEndian.Uint64(ikey[n:])}
}

func (s *skiplist) init(capacity int64, seed1, seed2 uint64) {
	s.arena = newArena(capacity)
	// The head has a full tower and an empty key and value; capacity is at
	// least minCapacity, so it always fits.
	off, _, _ := s.arena.alloc(uint64(nodeSize(maxHeight, 0)), 0)
	s.head = off + towerEntry*maxHeight
	s.height.Store(1)
	s.rng.Seed(seed1, seed2)
}

// less reports whether node n sorts before sk.
func (s *skiplist) less(n uint32, sk *searchKey) bool {
	k := s.arena.key(n)
	t := len(k) - keys.TrailerLen
	if c := bytes.Compare(k[:t], sk.ukey); c != 0 {
		return c < 0
	}
	return binary.LittleEndian.Uint64(k[t:]) > sk.trailer
}

// find returns the last node that sorts before sk (head if none does) and
// the node after it at level 0 as this descent saw it (0 if none). Callers
// must use ge rather than reload lt's link: a concurrent insert may have put
// a node between them that also sorts before sk. One descent; a node already
// found not to be less at a higher level is not compared again.
func (s *skiplist) find(sk *searchKey) (lt, ge uint32) {
	skp := keyPrefix(sk.ukey)
	x := s.head
	var known uint32 // a node known not to be less than sk (0: none)
	for l := int(s.height.Load()) - 1; l >= 0; l-- {
		for {
			n, p := s.arena.link(x, l)
			if n == 0 || n == known || p > skp || (p == skp && !s.less(n, sk)) {
				known = n
				break
			}
			x = n
		}
	}
	return x, known
}

// findLast returns the last node, or head if the list is empty.
func (s *skiplist) findLast() uint32 {
	x := s.head
	for l := int(s.height.Load()) - 1; l >= 0; l-- {
		for n := s.arena.next(x, l); n != 0; n = s.arena.next(x, l) {
			x = n
		}
	}
	return x
}

// prevOf returns the node before n at level 0 (head if n is first). The
// prev word is a hint the writer updates just after linking a node at level
// 0, so it may lag by the node being inserted: walking forward from the hint
// to n finds the true predecessor. The hint always sorts before n and links
// only ever get added, so the walk reaches n.
func (s *skiplist) prevOf(n uint32) uint32 {
	p := s.arena.prev(n)
	for {
		q := s.arena.next(p, 0)
		if q == n || q == 0 {
			return p
		}
		p = q
	}
}

// randomHeight draws a tower height with P(h > i) = 2^-i, capped at
// maxHeight: each trailing zero bit of a random word is one more level.
func (s *skiplist) randomHeight() int {
	h := 1 + bits.TrailingZeros64(s.rng.Uint64())
	return min(h, maxHeight)
}

// insert adds (ukey, trailer) -> value. Writer only. It returns ErrFull or
// ErrDuplicateKey without changing anything.
func (s *skiplist) insert(ukey []byte, trailer uint64, value []byte) error {
	sk := searchKey{ukey: ukey, trailer: trailer}
	skp := keyPrefix(ukey)
	var prev, next, nextPfx [maxHeight]uint32 // nextPfx: key prefixes of next[l]
	x := s.head
	var known uint32
	cur := int(s.height.Load())
	// If sk falls right after the last inserted node (inserts in ascending
	// order), the last splice gives every level's neighbours at once: at
	// the levels of the last node they are that node and its successors,
	// above them its predecessors and their successors, all of which are
	// >= the last node's successor and so above sk. Nothing is inserted
	// between two inserts (one writer), and nothing is ever removed.
	if c := s.concurrent.Load(); c != s.lastConcurrent {
		s.lastNode, s.lastConcurrent = 0, c // concurrent inserts moved things
	}
	if s.lastNode != 0 && s.less(s.lastNode, &sk) {
		if n0 := s.arena.next(s.lastNode, 0); n0 == 0 || !s.less(n0, &sk) {
			for l := 0; l < maxHeight; l++ {
				p := s.lastNode
				if l >= s.lastHeight {
					p = s.lastPrev[l]
				}
				prev[l], next[l] = p, 0
				if l < cur {
					next[l], nextPfx[l] = s.arena.link(p, l)
				}
			}
			return s.link(ukey, trailer, skp, value, &prev, &next, &nextPfx, cur)
		}
	}
	// The descent. Each link also holds the first 4 key bytes of the node
	// it points to, so a successor whose prefix is above sk's stops the
	// level without a visit to that node (a likely cache miss); only nodes
	// the search moves onto, or with an equal prefix, are read.
	var knownPfx uint32
	for l := maxHeight - 1; l >= 0; l-- {
		if l >= cur {
			prev[l], next[l] = s.head, 0
			continue
		}
		for {
			n, p := s.arena.link(x, l)
			if n == known { // found not less at the level above
				break
			}
			if n == 0 {
				known, knownPfx = 0, 0
				break
			}
			if p > skp || (p == skp && !s.less(n, &sk)) {
				known, knownPfx = n, p
				break
			}
			x = n
		}
		prev[l], next[l] = x, known
		if known != 0 {
			nextPfx[l] = knownPfx
		}
	}
	return s.link(ukey, trailer, skp, value, &prev, &next, &nextPfx, cur)
}

// keyPrefix returns the first 4 bytes of a user key as a big-endian number,
// zero-padded: prefixes that differ order their keys the same way.
func keyPrefix(ukey []byte) uint32 {
	if len(ukey) >= 4 {
		return binary.BigEndian.Uint32(ukey)
	}
	var b [4]byte
	copy(b[:], ukey)
	return binary.BigEndian.Uint32(b[:])
}

// link allocates and links a new node between prev and next at every level
// of its height. nextPfx holds the key prefixes of the next nodes and skp
// the new key's. cur is the list's height when the search began.
func (s *skiplist) link(ukey []byte, trailer uint64, skp uint32, value []byte, prev, next, nextPfx *[maxHeight]uint32, cur int) error {
	if n := next[0]; n != 0 && nextPfx[0] == skp {
		k := s.arena.key(n)
		t := len(k) - keys.TrailerLen
		if binary.LittleEndian.Uint64(k[t:]) == trailer && bytes.Equal(k[:t], ukey) {
			return ErrDuplicateKey
		}
	}

	h := s.randomHeight()
	size := nodeSize(int64(h), int64(len(ukey))+keys.TrailerLen)
	off, voff, ok := s.arena.alloc(uint64(size), uint64(len(value)))
	if !ok {
		return ErrFull
	}
	n := off + towerEntry*uint32(h)
	s.arena.writeNode(n, voff, ukey, trailer, value)
	for l := 0; l < h; l++ {
		s.arena.setLink(n, l, next[l], nextPfx[l])
	}
	s.arena.setPrev(n, prev[0])
	if h > cur {
		s.height.Store(uint32(h))
	}
	// Publish bottom-up: once linked at level 0 the node is in the list;
	// the upper levels only make it faster to reach.
	for l := 0; l < h; l++ {
		s.arena.setLink(prev[l], l, n, skp)
	}
	if next[0] != 0 {
		s.arena.setPrev(next[0], n)
	}
	s.lastNode, s.lastHeight, s.lastPrev = n, h, *prev
	return nil
}

// insertConcurrent adds (ukey, trailer) -> value; any number of goroutines
// may call it at once (but not at the same time as insert). Each link is
// published with a compare-and-swap of the (offset, prefix) word; a lost
// race re-finds that level's neighbours from the predecessor it had, which
// still sorts before the key because nothing is ever removed. Internal keys
// must be unique (the DB's sequence numbers are), so duplicates are not
// checked. It returns ErrFull without changing anything.
func (s *skiplist) insertConcurrent(ukey []byte, trailer uint64, value []byte) error {
	sk := searchKey{ukey: ukey, trailer: trailer}
	skp := keyPrefix(ukey)
	var prev, next, nextPfx [maxHeight]uint32
	x := s.head
	var known, knownPfx uint32
	cur := int(s.height.Load())
	for l := maxHeight - 1; l >= 0; l-- {
		if l >= cur {
			prev[l], next[l], nextPfx[l] = s.head, 0, 0
			continue
		}
		for {
			n, p := s.arena.link(x, l)
			if n == known && n != 0 {
				break
			}
			if n == 0 || p > skp || (p == skp && !s.less(n, &sk)) {
				known, knownPfx = n, p
				break
			}
			x = n
		}
		prev[l], next[l], nextPfx[l] = x, known, knownPfx
	}

	h := 1 + bits.TrailingZeros64(rand.Uint64())
	h = min(h, maxHeight)
	size := nodeSize(int64(h), int64(len(ukey))+keys.TrailerLen)
	off, voff, ok := s.arena.allocConcurrent(uint64(size), uint64(len(value)))
	if !ok {
		return ErrFull
	}
	s.concurrent.Add(1)
	n := off + towerEntry*uint32(h)
	s.arena.writeNode(n, voff, ukey, trailer, value)
	for {
		c := s.height.Load()
		if int(c) >= h || s.height.CompareAndSwap(c, uint32(h)) {
			break
		}
	}
	for l := 0; l < h; l++ {
		for {
			s.arena.setLink(n, l, next[l], nextPfx[l])
			if l == 0 {
				s.arena.setPrev(n, prev[0])
			}
			if s.arena.casLink(prev[l], l, next[l], nextPfx[l], n, skp) {
				break
			}
			// Another insert got in after prev[l]: walk on from it.
			x := prev[l]
			for {
				m, p := s.arena.link(x, l)
				if m == 0 || p > skp || (p == skp && !s.less(m, &sk)) {
					prev[l], next[l], nextPfx[l] = x, m, p
					break
				}
				x = m
			}
		}
	}
	if next[0] != 0 {
		s.arena.setPrev(next[0], n) // a hint; Iterator.Prev walks forward from it
	}
	return nil
}

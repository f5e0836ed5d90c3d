package memtable

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"sync/atomic"

	"github.com/stratadb/strata/internal/invariants"
	"github.com/stratadb/strata/keys"
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
	idx    index         // the user keys' index (index.go); none in a front; immutable after New
	height atomic.Uint32 // levels in use, in [1, maxHeight]; only grows
	rng    rand.PCG      // writer only: draws tower heights

	// frontFilter is a front's own key filter (see newFront); none in the
	// main list, whose keys the Memtable's filter holds. Immutable after
	// newFront.
	frontFilter filter

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

	// frozenTop is, under the invariants build, the arena's top word (never
	// 0 once the head is allocated) at the moment the list was sealed as a
	// staged front, and 0 for a list still taking inserts. A sealed front
	// is never modified: newNode panics on one, and the merger checks that
	// its top has not moved once it is copied (see stage).
	frozenTop atomic.Uint64
}

// freeze marks s as a sealed front under the invariants build.
func (s *skiplist) freeze() {
	if invariants.Enabled {
		s.frozenTop.Store(s.arena.top.Load())
	}
}

// checkFrozen panics, under the invariants build, if s was sealed and has
// changed since.
func (s *skiplist) checkFrozen() {
	if invariants.Enabled {
		if want, got := s.frozenTop.Load(), s.arena.top.Load(); want != got {
			panic(fmt.Sprintf("memtable: a sealed front changed: top %#x at seal, %#x now", want, got))
		}
	}
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

func (s *skiplist) init(capacity int64, offHeap bool, seed1, seed2 uint64) {
	s.arena = newArena(capacity, offHeap)
	// The head has a full tower and an empty key and value; capacity is at
	// least minCapacity, so it always fits. Its links (end of list at
	// every level) and header are zero as a new arena is: nothing is
	// written here, so an empty memtable holds no memory (a write would map
	// the arena's first page, on Linux a whole 2 MiB huge page); every
	// other byte is written before it is read.
	size := uint64(nodeSize(maxHeight, 0))
	off, _, _ := s.arena.alloc(size, 0)
	s.head = off + towerEntry*maxHeight
	s.height.Store(1)
	s.rng.Seed(seed1, seed2)
}

// Link tags. Each link word holds, beside the offset of the node it points
// to, a 32-bit tag describing that node's user key relative to the key of
// the node the link belongs to:
//
//	bits 26-31  m: the length of their common prefix (tagUnknownLen: 63 or more)
//	bits 24-25  the number of bytes the successor's key has from m on, at most 3
//	bits  0-23  those bytes, big-endian, zero-padded
//
// A search that knows how long a prefix its key shares with the node it
// stands on decides most steps from the tag alone, without reading the
// successor, which on a big table is a cache miss (see before).
const (
	tagUnknownLen = 63 // m of a tag whose common prefix is 63 bytes or more
	tagWindow     = 3  // successor key bytes in a tag
	tagWindowMask = 1<<(8*tagWindow) - 1
)

// window returns the bytes of ukey from position m on, at most tagWindow of
// them, as a big-endian number zero-padded to tagWindow bytes, and how many
// there are.
func window(ukey []byte, m int) (w uint32, n int) {
	if m+tagWindow <= len(ukey) {
		return uint32(ukey[m])<<16 | uint32(ukey[m+1])<<8 | uint32(ukey[m+2]), tagWindow
	}
	for i := m; i < m+tagWindow; i++ {
		w <<= 8
		if i < len(ukey) {
			w |= uint32(ukey[i])
			n++
		}
	}
	return w, n
}

// makeTag returns the tag of a link to a node with user key ukey from a node
// whose user key shares exactly m leading bytes with it.
func makeTag(m int, ukey []byte) uint32 {
	if m >= tagUnknownLen {
		return tagUnknownLen << 26
	}
	w, n := window(ukey, m)
	return uint32(m)<<26 | uint32(n)<<24 | w
}

// compareNode compares node n's internal key with sk: negative if n sorts
// before sk, zero if they are equal, positive if after. lcp is the length of
// the common prefix of their user keys.
func (s *skiplist) compareNode(n uint32, sk *searchKey) (c, lcp int) {
	k := s.arena.key(n)
	t := len(k) - keys.TrailerLen
	uk := k[:t]
	lcp = keys.SharedPrefixLen(uk, sk.ukey)
	switch {
	case lcp < len(uk) && lcp < len(sk.ukey):
		return int(uk[lcp]) - int(sk.ukey[lcp]), lcp
	case len(uk) != len(sk.ukey):
		return len(uk) - len(sk.ukey), lcp
	}
	// The same user key: the larger trailer (newer) sorts first.
	switch tr := binary.LittleEndian.Uint64(k[t:]); {
	case tr > sk.trailer:
		return -1, lcp
	case tr < sk.trailer:
		return 1, lcp
	}
	return 0, lcp
}

// before reports whether node n sorts before sk, where n is the successor of
// a node x through a link with tag t, and lx is the length of the common
// prefix of sk's user key and x's (x sorts before sk). If n sorts before sk,
// nlx is the common prefix length of sk's user key and n's; if not, eq
// reports whether n's internal key equals sk.
//
// Let m be the common prefix length of x's and n's user keys (from t); x <=
// sk and x <= n. If lx > m, sk agrees with x at byte m, where n's byte is
// larger: n sorts after sk. If lx < m, n agrees with x at byte lx, where
// sk's is larger: n sorts before sk, sharing lx bytes with it. If lx == m,
// both leave x at byte m, and the tag's next bytes of n decide unless they
// equal sk's; only then (or when m was too long for a tag) is n read.
func (s *skiplist) before(n, t uint32, lx int, sk *searchKey) (less bool, nlx int, eq bool) {
	if m := int(t >> 26); m != tagUnknownLen {
		if lx > m {
			return false, 0, false
		}
		if lx < m {
			return true, lx, false
		}
		xw, xn := window(sk.ukey, m)
		w, wn := t&tagWindowMask, int(t>>24&3)
		if xw != w {
			// The first differing byte decides: zero padding sorts like
			// the end of a key. The prefix both really have is cut at the
			// shorter key's end.
			j := (bits.LeadingZeros32(xw^w) - (32 - 8*tagWindow)) / 8
			if xw < w {
				return false, 0, false
			}
			return true, m + min(j, wn, xn), false
		}
		// Equal windows: a key that ends inside one is a prefix of the
		// other, so the shorter sorts first.
		if wn < xn {
			return true, m + wn, false
		}
		if xn < wn {
			return false, 0, false
		}
	}
	c, lcp := s.compareNode(n, sk)
	if c < 0 {
		return true, lcp, false
	}
	return false, 0, c == 0
}

// splice is where a key goes at every level: at level l it sorts after
// prev[l] and before next[l] (0: the end), prevLCP[l] is the common prefix
// length of its user key and prev[l]'s, and nextTag[l] is the tag of the
// link prev[l] -> next[l] as loaded.
type splice struct {
	prev, next [maxHeight]uint32
	nextTag    [maxHeight]uint32
	prevLCP    [maxHeight]int
}

// descend fills sp's levels below cur for sk with one descent from the head,
// and reports whether the node at next[0] equals sk.
func (s *skiplist) descend(sk *searchKey, cur int, sp *splice) (eq bool) {
	return s.descendFrom(sk, s.head, 0, 0, false, cur, sp)
}

// descendFrom fills sp's levels below top for sk, descending from node x
// (which sorts before sk and shares lx bytes of user key with it), and
// reports whether the node at next[0] equals sk. known is a node found not
// to sort before sk at level top (0: the end), eq whether it equals sk; a
// node already found not to be less is not examined again.
func (s *skiplist) descendFrom(sk *searchKey, x uint32, lx int, known uint32, eq bool, top int, sp *splice) bool {
	for l := top - 1; l >= 0; l-- {
		var t uint32
		for {
			var n uint32
			n, t = s.arena.link(x, l)
			if n == known {
				break
			}
			if n == 0 {
				known, eq = 0, false
				break
			}
			less, nlx, e := s.before(n, t, lx, sk)
			if !less {
				known, eq = n, e
				break
			}
			x, lx = n, nlx
		}
		sp.prev[l], sp.next[l], sp.nextTag[l], sp.prevLCP[l] = x, known, t, lx
	}
	return eq
}

// walk moves level l of sp forward past every node that now sorts before
// sk (concurrent inserts may have added some after prev[l]).
func (s *skiplist) walk(sk *searchKey, l int, sp *splice) {
	x, lx := sp.prev[l], sp.prevLCP[l]
	for {
		n, t := s.arena.link(x, l)
		if n != 0 {
			if less, nlx, _ := s.before(n, t, lx, sk); less {
				x, lx = n, nlx
				continue
			}
		}
		sp.prev[l], sp.next[l], sp.nextTag[l], sp.prevLCP[l] = x, n, t, lx
		return
	}
}

// find returns the last node that sorts before sk (head if none does) and
// the node after it at level 0 as this descent saw it (0 if none). Callers
// must use ge rather than reload lt's link: a concurrent insert may have put
// a node between them that also sorts before sk.
func (s *skiplist) find(sk *searchKey) (lt, ge uint32) {
	x, lx := s.head, 0
	var known uint32
	for l := int(s.height.Load()) - 1; l >= 0; l-- {
		for {
			n, t := s.arena.link(x, l)
			if n == known || n == 0 {
				known = n
				break
			}
			less, nlx, _ := s.before(n, t, lx, sk)
			if !less {
				known = n
				break
			}
			x, lx = n, nlx
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

// concurrentHeight draws a tower height like randomHeight, from the
// goroutine-safe global source, for insertConcurrent.
func concurrentHeight() int {
	return min(1+bits.TrailingZeros64(rand.Uint64()), maxHeight)
}

// randomHeight draws a tower height with P(h > i) = 2^-i, capped at
// maxHeight: each trailing zero bit of a random word is one more level.
func (s *skiplist) randomHeight() int {
	h := 1 + bits.TrailingZeros64(s.rng.Uint64())
	return min(h, maxHeight)
}

// insert adds (ukey, trailer) -> value in a node of height h (drawn with
// randomHeight, or copied from another list). Writer only. It returns
// ErrFull or ErrDuplicateKey without changing anything.
//
// sorted says keys come in ascending order, close together (a copy of
// another list): each search then starts from the last insert's
// neighbours at every level. Otherwise only a key landing right after the
// last one reuses them (ascending inserts), and any other key, for which
// climbing from the last insert would cost more than it saves, descends
// from the head.
func (s *skiplist) insert(ukey []byte, trailer uint64, value []byte, h int, sorted bool) error {
	sk := searchKey{ukey: ukey, trailer: trailer}
	kh := s.indexHash(ukey)
	var sp splice
	cur := int(s.height.Load())
	if c := s.concurrent.Load(); c != s.lastConcurrent {
		s.lastNode, s.lastConcurrent = 0, c // concurrent inserts moved things
	}
	if s.lastNode != 0 {
		if c, lcp := s.compareNode(s.lastNode, &sk); c < 0 {
			climb := 1
			if sorted {
				climb = cur
			}
			if eq, ok := s.descendFromLast(&sk, lcp, h, cur, climb, &sp); ok {
				return s.link(ukey, kh, trailer, value, h, &sp, cur, eq)
			}
		}
	}
	eq := s.descend(&sk, cur, &sp)
	return s.link(ukey, kh, trailer, value, h, &sp, cur, eq)
}

// descendFromLast fills sp for sk, which sorts after the last inserted node
// (sharing lcp bytes of user key with it), starting from the last insert's
// splice instead of the head: a finger search. At each level that splice's
// predecessor still sorts before sk (nothing was inserted since: one
// writer). From level 0 up, the first level whose successor does not sort
// before sk keeps its neighbours, and so does every level above it; below
// it, one descent from its predecessor fills the rest. Keys inserted in
// ascending order, close together, so search only the bottom few levels,
// whose nodes the last insert left in cache. h is the new node's height.
// It gives up (ok false) if none of the bottom climb levels holds.
func (s *skiplist) descendFromLast(sk *searchKey, lcp, h, cur, climb int, sp *splice) (eq, ok bool) {
	valid := -1 // the lowest level whose neighbours still hold
	var lastP uint32
	lastLCP := 0
	for l := 0; l < cur; l++ {
		p := s.lastNode
		if l >= s.lastHeight {
			p = s.lastPrev[l]
		}
		sp.prev[l] = p
		if valid >= 0 && l >= h {
			continue // only the predecessor is kept for the next insert
		}
		lx := lcp
		if p != s.lastNode {
			if p != lastP {
				lastP, lastLCP = p, s.commonPrefixWith(p, sk.ukey)
			}
			lx = lastLCP
		}
		n, t := s.arena.link(p, l)
		sp.next[l], sp.nextTag[l], sp.prevLCP[l] = n, t, lx
		if valid < 0 {
			if n == 0 {
				valid = l
			} else if less, _, e := s.before(n, t, lx, sk); !less {
				valid, eq = l, e
			} else if l+1 >= climb {
				return false, false
			}
		}
	}
	if valid == 0 {
		return eq, true
	}
	if valid < 0 {
		// sk sorts after every neighbour: walk on from the top level's.
		return s.descendFrom(sk, sp.prev[cur-1], sp.prevLCP[cur-1], 0, false, cur, sp), true
	}
	return s.descendFrom(sk, sp.prev[valid], sp.prevLCP[valid], sp.next[valid], eq, valid, sp), true
}

// commonPrefixWith returns the common prefix length of node n's user key
// and ukey (0 for the head, whose key is empty).
func (s *skiplist) commonPrefixWith(n uint32, ukey []byte) int {
	if n == s.head {
		return 0
	}
	k := s.arena.key(n)
	return keys.SharedPrefixLen(k[:len(k)-keys.TrailerLen], ukey)
}

// succTag returns the tag of a link from a new node with user key ukey to
// next, given the common prefix length lcp of ukey and the node before it,
// and t, the tag of that node's link to next. If ukey agrees with the node
// before beyond the m bytes that node shares with next, it shares exactly m
// with next too, and the window is next's: the tag is t. Otherwise next is
// read.
func (s *skiplist) succTag(ukey []byte, lcp int, t, next uint32) uint32 {
	if m := int(t >> 26); m != tagUnknownLen && lcp > m {
		return t
	}
	k := s.arena.key(next)
	uk := k[:len(k)-keys.TrailerLen]
	return makeTag(keys.SharedPrefixLen(uk, ukey), uk)
}

// succTags gives a new node's link tags level by level, remembering the
// last: consecutive levels mostly point to the same successor, and a tag
// depends only on the two nodes.
type succTags struct{ next, tag uint32 }

// at returns the tag of the new node's (user key ukey) level-l link to
// sp.next[l]; 0 at the end of the list.
func (m *succTags) at(s *skiplist, ukey []byte, sp *splice, l int) uint32 {
	next := sp.next[l]
	if next == 0 {
		return 0
	}
	if next != m.next {
		m.next, m.tag = next, s.succTag(ukey, sp.prevLCP[l], sp.nextTag[l], next)
	}
	return m.tag
}

// newNode allocates and fills a node of height h; it returns 0 if it does
// not fit.
func (s *skiplist) newNode(ukey []byte, trailer uint64, value []byte, h int, concurrent bool) uint32 {
	if invariants.Enabled && s.frozenTop.Load() != 0 {
		panic("memtable: insert into a sealed staged front")
	}
	size := uint64(nodeSize(int64(h), int64(len(ukey))+keys.TrailerLen))
	alloc := s.arena.alloc
	if concurrent {
		alloc = s.arena.allocConcurrent
	}
	off, voff, ok := alloc(size, uint64(len(value)))
	if !ok {
		return 0
	}
	n := off + towerEntry*uint32(h)
	s.arena.writeNode(n, voff, ukey, trailer, value)
	return n
}

// link allocates a new node of height h and links it into sp at every
// level; eq reports that next[0] holds the same internal key (a
// duplicate). cur is the list's height when the search began.
func (s *skiplist) link(ukey []byte, kh, trailer uint64, value []byte, h int, sp *splice, cur int, eq bool) error {
	if eq {
		return ErrDuplicateKey
	}
	n := s.newNode(ukey, trailer, value, h, false)
	if n == 0 {
		return ErrFull
	}
	for l := cur; l < h; l++ {
		sp.prev[l], sp.next[l], sp.nextTag[l], sp.prevLCP[l] = s.head, 0, 0, 0
	}
	var tags succTags
	for l := 0; l < h; l++ {
		s.arena.setLink(n, l, sp.next[l], tags.at(s, ukey, sp, l))
	}
	s.arena.setPrev(n, sp.prev[0])
	if h > cur {
		s.height.Store(uint32(h))
	}
	// Publish bottom-up: once linked at level 0 the node is in the list;
	// the upper levels only make it faster to reach.
	for l := 0; l < h; l++ {
		s.arena.setLink(sp.prev[l], l, n, makeTag(sp.prevLCP[l], ukey))
	}
	if sp.next[0] != 0 {
		s.arena.setPrev(sp.next[0], n)
	}
	s.lastNode, s.lastHeight, s.lastPrev = n, h, sp.prev
	s.idx.add(&s.arena, kh, ukey, trailer, n)
	return nil
}

// indexHash returns ukey's hash if the list has an index (else 0), after
// loading the first slot of the key's probe run: the cache miss on it then
// overlaps the search that comes before index.add reads it again.
func (s *skiplist) indexHash(ukey []byte) uint64 {
	if s.idx.off == 0 {
		return 0
	}
	h := filterHash(ukey)
	s.idx.touch(&s.arena, h)
	return h
}

// insertConcurrent adds (ukey, trailer) -> value in a node of height h (from
// concurrentHeight); any number of goroutines may call it at once (but not
// at the same time as insert). Each link is published with a
// compare-and-swap of the (offset, tag) word; a lost race re-finds that
// level's neighbours from the predecessor it had, which still sorts before
// the key because nothing is ever removed. Internal keys must be unique (the
// DB's sequence numbers are), so duplicates are not checked. It returns
// ErrFull without changing anything.
func (s *skiplist) insertConcurrent(ukey []byte, trailer uint64, value []byte, h int) error {
	sk := searchKey{ukey: ukey, trailer: trailer}
	kh := s.indexHash(ukey)
	var sp splice
	cur := int(s.height.Load())
	s.descend(&sk, cur, &sp)

	n := s.newNode(ukey, trailer, value, h, true)
	if n == 0 {
		return ErrFull
	}
	s.concurrent.Add(1)
	for l := cur; l < h; l++ {
		sp.prev[l], sp.next[l], sp.nextTag[l], sp.prevLCP[l] = s.head, 0, 0, 0
	}
	for {
		c := s.height.Load()
		if int(c) >= h || s.height.CompareAndSwap(c, uint32(h)) {
			break
		}
	}
	var tags succTags
	for l := 0; l < h; l++ {
		for {
			next := sp.next[l]
			s.arena.setLink(n, l, next, tags.at(s, ukey, &sp, l))
			if l == 0 {
				s.arena.setPrev(n, sp.prev[0])
			}
			if s.arena.casLink(sp.prev[l], l, next, sp.nextTag[l], n, makeTag(sp.prevLCP[l], ukey)) {
				break
			}
			// Another insert got in after prev[l]: walk on from it.
			s.walk(&sk, l, &sp)
		}
	}
	if sp.next[0] != 0 {
		s.arena.setPrev(sp.next[0], n) // a hint; Iterator.Prev walks forward from it
	}
	s.idx.add(&s.arena, kh, ukey, trailer, n)
	return nil
}

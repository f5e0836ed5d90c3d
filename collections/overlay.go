package collections

import (
	"bytes"
	"math/rand/v2"
)

// overlay holds the writes of a Tx not yet applied: the newest state of each
// raw key the Tx wrote, in key order (a skiplist), so that the Tx's reads and
// iterators see its own writes. It belongs to its Tx's goroutine.
type overlay struct {
	head  ovNode // sentinel; head.next[i] is the first node of level i
	level int
	n     int
	rnd   uint64
	// upd is scratch for insert: the last node before the key at each level.
	upd [ovMaxLevel]*ovNode
	// nodes are every node the overlay has made, kept across reset (the Tx
	// is pooled) so that a write reuses a node, its key, value and level
	// buffers rather than allocating them; the first n are in use.
	nodes []*ovNode
}

// ovKeepVal is the largest key or value buffer a node keeps across reset,
// and ovKeepNodes the most nodes kept: a large write once is not pinned in
// the pool.
const (
	ovKeepVal   = 2 << 10
	ovKeepNodes = 256
)

const ovMaxLevel = 20

// ovNode is one raw key's pending state.
type ovNode struct {
	key   []byte
	val   []byte
	del   bool
	expAt int64 // Unix ns; 0 = never
	// covered: deleted by a pending range delete rather than by its own
	// delete, so commit writes nothing for it (the range delete does).
	covered bool
	// incr: val is the engine's value, noted in the Tx's conditions, plus
	// delta (Tx.IncrBy); the key keeps the expiry it has in the engine,
	// which the Tx has not read (expAt is 0), and commit writes the node
	// as a batch increment, which keeps it. Any other write of the key
	// clears it; a read of its expiry resolves it first (Tx.getRawExp).
	incr  bool
	delta int64
	prev  *ovNode // level 0 only
	next  []*ovNode
}

func (o *overlay) reset() {
	for i := range o.head.next {
		o.head.next[i] = nil
	}
	for _, n := range o.nodes[:o.n] {
		if cap(n.val) > ovKeepVal {
			n.val = nil
		}
		if cap(n.key) > ovKeepVal {
			n.key = nil
		}
		n.prev = nil
		clear(n.next[:cap(n.next)])
	}
	if len(o.nodes) > ovKeepNodes {
		clear(o.nodes[ovKeepNodes:])
		o.nodes = o.nodes[:ovKeepNodes]
	}
	o.level, o.n = 0, 0
	if o.head.next == nil {
		o.head.next = make([]*ovNode, ovMaxLevel)
	}
}

func (o *overlay) randomLevel() int {
	if o.rnd == 0 {
		o.rnd = rand.Uint64() | 1
	}
	l := 1
	for l < ovMaxLevel {
		o.rnd ^= o.rnd << 13
		o.rnd ^= o.rnd >> 7
		o.rnd ^= o.rnd << 17
		if o.rnd&3 != 0 {
			break
		}
		l++
	}
	return l
}

// seekGE returns the first node with key >= k, or nil; it fills o.upd.
func (o *overlay) seekGE(k []byte) *ovNode {
	x := &o.head
	for i := o.level - 1; i >= 0; i-- {
		for x.next[i] != nil && bytes.Compare(x.next[i].key, k) < 0 {
			x = x.next[i]
		}
		o.upd[i] = x
	}
	return x.next[0]
}

// seekLT returns the last node with key < k, or nil.
func (o *overlay) seekLT(k []byte) *ovNode {
	x := &o.head
	for i := o.level - 1; i >= 0; i-- {
		for x.next[i] != nil && bytes.Compare(x.next[i].key, k) < 0 {
			x = x.next[i]
		}
	}
	if x == &o.head {
		return nil
	}
	return x
}

// last returns the last node, or nil.
func (o *overlay) last() *ovNode {
	x := &o.head
	for i := o.level - 1; i >= 0; i-- {
		for x.next[i] != nil {
			x = x.next[i]
		}
	}
	if x == &o.head {
		return nil
	}
	return x
}

// find returns the node of k, or nil.
func (o *overlay) find(k []byte) *ovNode {
	if o.n == 0 {
		return nil
	}
	if n := o.seekGE(k); n != nil && bytes.Equal(n.key, k) {
		return n
	}
	return nil
}

// node returns the node of k, inserting an empty one if there is none.
func (o *overlay) node(k []byte) *ovNode {
	if o.head.next == nil {
		o.reset()
	}
	if n := o.seekGE(k); n != nil && bytes.Equal(n.key, k) {
		return n
	}
	l := o.randomLevel()
	for i := o.level; i < l; i++ {
		o.upd[i] = &o.head
	}
	if l > o.level {
		o.level = l
	}
	n := o.newNode(k, l)
	for i := 0; i < l; i++ {
		n.next[i] = o.upd[i].next[i]
		o.upd[i].next[i] = n
	}
	if o.upd[0] != &o.head {
		n.prev = o.upd[0]
	}
	if n.next[0] != nil {
		n.next[0].prev = n
	}
	o.n++
	return n
}

// newNode returns an unlinked node for k with l levels: the next unused one
// of nodes, or a new one.
func (o *overlay) newNode(k []byte, l int) *ovNode {
	if o.n < len(o.nodes) {
		n := o.nodes[o.n]
		next := n.next[:0]
		if cap(next) < l {
			next = make([]*ovNode, 0, l)
		}
		*n = ovNode{key: append(n.key[:0], k...), val: n.val[:0], next: next[:l]}
		return n
	}
	n := &ovNode{key: append([]byte(nil), k...), next: make([]*ovNode, l)}
	o.nodes = append(o.nodes, n)
	return n
}

func (o *overlay) put(k, v []byte, expAt int64) {
	n := o.node(k)
	n.val = append(n.val[:0], v...)
	n.del, n.covered, n.expAt, n.incr = false, false, expAt, false
}

func (o *overlay) del(k []byte) {
	n := o.node(k)
	n.val = n.val[:0]
	n.del, n.covered, n.expAt, n.incr = true, false, 0, false
}

// deleteRange marks every pending key in [lo, hi) as covered by a range
// delete.
func (o *overlay) deleteRange(lo, hi []byte) {
	if o.n == 0 {
		return
	}
	for n := o.seekGE(lo); n != nil && bytes.Compare(n.key, hi) < 0; n = n.next[0] {
		n.val = n.val[:0]
		n.del, n.covered, n.expAt, n.incr = true, true, 0, false
	}
}

func (o *overlay) first() *ovNode {
	if o.head.next == nil {
		return nil
	}
	return o.head.next[0]
}

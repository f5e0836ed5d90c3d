package collections

import (
	"bytes"
	"container/list"
	"sort"
	"sync"
)

// zmirror is an in-memory copy of one sorted set's rank nodes, so that
// ZRANK, ZCOUNT and ZRANGE by rank walk memory instead of seeking from node
// to node in the engine (each seek costs microseconds, and a walk may take
// hundreds). The engine's node keys stay the truth: a mirror is loaded from
// them, changed only together with them, and dropped whenever the Tx that
// changed it does not commit.
//
// It has the shape of the nodes: the level-2 nodes in order, each holding
// its level-1 children in order (the last child's bound is its parent's),
// so adding or removing a node moves at most one node's children.
//
// A mirror is read under its set's key lock shared and changed under it
// exclusive (or under Update), like the keys it copies.
type zmirror struct {
	top []mtop
	// bytes is an estimate of the memory it holds, kept by its writers;
	// charged is what the cache counted when it took it in (the cache
	// reads only that, so it never races with a writer).
	bytes   int
	charged int
	elem    *list.Element // in the cache's LRU list
}

// mtop is a level-2 node with its children.
type mtop struct {
	znode
	kids []znode
}

const mnodeBytes = 64 // estimated overhead of one mirrored node

// topOf returns the index of the first level-2 node whose bound is above s
// (nil: 0), or, with incl, at or above s.
func (m *zmirror) topOf(s []byte, incl bool) int {
	if s == nil {
		return 0
	}
	t := m.top
	return sort.Search(len(t), func(i int) bool {
		c := bytes.Compare(t[i].ub, s)
		return c > 0 || (incl && c == 0)
	})
}

// kidOf returns the index in kids of the first node above s (or, with
// incl, at or above s).
func kidOf(kids []znode, s []byte, incl bool) int {
	if s == nil {
		return 0
	}
	return sort.Search(len(kids), func(i int) bool {
		c := bytes.Compare(kids[i].ub, s)
		return c > 0 || (incl && c == 0)
	})
}

func (m *zmirror) above(level int, s []byte) znode {
	i := min(m.topOf(s, false), len(m.top)-1) // the last bound is topSuffix
	if level == 2 {
		return m.top[i].znode
	}
	kids := m.top[i].kids
	return kids[min(kidOf(kids, s, false), len(kids)-1)]
}

// countBelow returns the entries of the nodes wholly below s (whose bound
// is at most s) and the bound of the last of them (nil if none): where a
// walk of the index to s starts, and the rank there. It sums counts in
// memory: a binary search per level and one addition per node passed.
func (m *zmirror) countBelow(s []byte) (acc int64, lb []byte) {
	if len(m.top) == 0 {
		return 0, nil // never so; a walk from the first entry is right anyway
	}
	i := min(m.topOf(s, false), len(m.top)-1)
	for _, t := range m.top[:i] {
		acc += t.count
	}
	if i > 0 {
		lb = m.top[i-1].ub
	}
	kids := m.top[i].kids
	j := max(min(kidOf(kids, s, false), len(kids)-1), 0)
	for _, k := range kids[:j] {
		acc += k.count
	}
	if j > 0 {
		lb = kids[j-1].ub
	}
	return acc, lb
}

// rankStart returns the lower bound lb of the level-1 node holding the
// entry of rank r (nil for the first node) and the rank acc of its first
// entry, summing counts in memory.
func (m *zmirror) rankStart(r int64) (acc int64, lb []byte) {
	if len(m.top) == 0 {
		return 0, nil
	}
	i := 0
	for i < len(m.top)-1 && acc+m.top[i].count <= r {
		acc += m.top[i].count
		lb = m.top[i].ub
		i++
	}
	kids := m.top[i].kids
	for j := 0; j < len(kids)-1 && acc+kids[j].count <= r; j++ {
		acc += kids[j].count
		lb = kids[j].ub
	}
	return acc, lb
}

func (m *zmirror) lowerBound(level int, ub []byte) []byte {
	i := m.topOf(ub, true)
	if level == 2 {
		if i == 0 {
			return nil
		}
		return m.top[i-1].ub
	}
	if i < len(m.top) {
		if j := kidOf(m.top[i].kids, ub, true); j > 0 {
			return m.top[i].kids[j-1].ub
		}
	}
	if i == 0 {
		return nil
	}
	return m.top[i-1].ub // the last child of the node before
}

func (m *zmirror) put(level int, n znode) {
	i := m.topOf(n.ub, true)
	if i >= len(m.top) {
		return // unreachable: the last bound is topSuffix
	}
	t := &m.top[i]
	if level == 1 {
		j := kidOf(t.kids, n.ub, true)
		if j < len(t.kids) && bytes.Equal(t.kids[j].ub, n.ub) {
			t.kids[j].count = n.count
			return
		}
		n.ub = append([]byte{}, n.ub...)
		t.kids = append(t.kids, znode{})
		copy(t.kids[j+1:], t.kids[j:])
		t.kids[j] = n
		m.bytes += len(n.ub) + mnodeBytes
		return
	}
	if bytes.Equal(t.ub, n.ub) {
		t.count, t.children = n.count, n.children
		return
	}
	// A new level-2 node splits t: the children up to its bound move to it.
	n.ub = append([]byte{}, n.ub...)
	k := kidOf(t.kids, n.ub, false)
	nt := mtop{znode: n, kids: append([]znode{}, t.kids[:k]...)}
	t.kids = append([]znode{}, t.kids[k:]...)
	m.top = append(m.top, mtop{})
	copy(m.top[i+1:], m.top[i:])
	m.top[i] = nt
	m.bytes += len(n.ub) + mnodeBytes
}

func (m *zmirror) del(level int, ub []byte) {
	i := m.topOf(ub, true)
	if i >= len(m.top) {
		return
	}
	t := &m.top[i]
	if level == 1 {
		if j := kidOf(t.kids, ub, true); j < len(t.kids) && bytes.Equal(t.kids[j].ub, ub) {
			m.bytes -= len(ub) + mnodeBytes
			t.kids = append(t.kids[:j], t.kids[j+1:]...)
		}
		return
	}
	if !bytes.Equal(t.ub, ub) || i+1 >= len(m.top) {
		return
	}
	// Its range, and any children left, join the next node.
	next := &m.top[i+1]
	next.kids = append(append([]znode{}, t.kids...), next.kids...)
	m.bytes -= len(ub) + mnodeBytes
	m.top = append(m.top[:i], m.top[i+1:]...)
}

// newMirror builds a mirror from the nodes of both levels in order.
func newMirror(l1, l2 []znode) *zmirror {
	m := &zmirror{top: make([]mtop, 0, len(l2))}
	j := 0
	for _, t := range l2 {
		mt := mtop{znode: t}
		for j < len(l1) && bytes.Compare(l1[j].ub, t.ub) <= 0 {
			mt.kids = append(mt.kids, l1[j])
			m.bytes += len(l1[j].ub) + mnodeBytes
			j++
		}
		m.top = append(m.top, mt)
		m.bytes += len(t.ub) + mnodeBytes
	}
	return m
}

// zcache holds the mirrors of the Store, least recently used first out
// past its byte budget.
type zcache struct {
	mu    sync.Mutex // guards every field
	limit int        // bytes; 0 disables mirrors
	used  int
	m     map[uint64]*zmirror
	lru   list.List // of uint64 IDs, most recent at the front
}

func (c *zcache) enabled() bool { return c.limit > 0 }

// get returns the mirror of id, or nil.
func (c *zcache) get(id uint64) *zmirror {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.m[id]
	if m != nil {
		c.lru.MoveToFront(m.elem)
	}
	return m
}

// add installs m as the mirror of id (or returns the one another reader
// installed meanwhile) and evicts the least recently used past the budget.
func (c *zcache) add(id uint64, m *zmirror) *zmirror {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[uint64]*zmirror{}
	}
	if old := c.m[id]; old != nil {
		c.lru.MoveToFront(old.elem)
		return old
	}
	m.elem = c.lru.PushFront(id)
	c.m[id] = m
	m.charged = m.bytes
	c.used += m.charged
	for c.used > c.limit && c.lru.Len() > 1 {
		e := c.lru.Back()
		victim := e.Value.(uint64)
		c.used -= c.m[victim].charged
		delete(c.m, victim)
		c.lru.Remove(e)
	}
	return m
}

// recharge updates what the cache counts for id's mirror after its writer
// grew or shrank it; the caller holds id's key lock exclusively.
func (c *zcache) recharge(id uint64, m *zmirror) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m[id] == m {
		c.used += m.bytes - m.charged
		m.charged = m.bytes
	}
}

// drop forgets the mirror of id.
func (c *zcache) drop(id uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m := c.m[id]; m != nil {
		c.used -= m.charged
		c.lru.Remove(m.elem)
		delete(c.m, id)
	}
}

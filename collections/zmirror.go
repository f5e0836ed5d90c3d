package collections

import (
	"bytes"
	"container/list"
	"sort"
	"sync"
)

// zmirror is an in-memory copy of one large sorted set's rank nodes, so
// that ZRANK, ZCOUNT and ZRANGE by rank walk memory instead of seeking
// from node to node in the engine (each seek costs microseconds, and a walk
// may take hundreds). The engine's node keys stay the truth: a mirror is
// loaded from them, changed only together with them, and dropped whenever
// the Tx that changed it does not commit.
//
// A mirror is read under its set's key lock shared and changed under it
// exclusive (or under Update), like the keys it copies.
type zmirror struct {
	nodes [3][]znode // levels 1 and 2, in upper-bound order
	// bytes is an estimate of the memory it holds, kept by its writers;
	// charged is what the cache counted when it took it in (the cache
	// reads only that, so it never races with a writer).
	bytes   int
	charged int
	elem    *list.Element // in the cache's LRU list
}

// search returns the index of the first node of level with ub > s.
func (m *zmirror) search(level int, s []byte) int {
	l := m.nodes[level]
	if s == nil {
		return 0
	}
	return sort.Search(len(l), func(i int) bool { return bytes.Compare(l[i].ub, s) > 0 })
}

func (m *zmirror) above(level int, s []byte) znode {
	l := m.nodes[level]
	i := m.search(level, s)
	if i >= len(l) {
		i = len(l) - 1 // unreachable: the last node's bound is topSuffix
	}
	n := l[i]
	return znode{ub: n.ub, count: n.count, children: n.children}
}

func (m *zmirror) lowerBound(level int, ub []byte) []byte {
	l := m.nodes[level]
	i := sort.Search(len(l), func(i int) bool { return bytes.Compare(l[i].ub, ub) >= 0 })
	if i == 0 {
		return nil
	}
	return l[i-1].ub
}

func (m *zmirror) put(level int, n znode) {
	l := m.nodes[level]
	i := sort.Search(len(l), func(i int) bool { return bytes.Compare(l[i].ub, n.ub) >= 0 })
	if i < len(l) && bytes.Equal(l[i].ub, n.ub) {
		l[i].count, l[i].children = n.count, n.children
		return
	}
	n.ub = append([]byte{}, n.ub...)
	l = append(l, znode{})
	copy(l[i+1:], l[i:])
	l[i] = n
	m.nodes[level] = l
	m.bytes += len(n.ub) + 64
}

func (m *zmirror) del(level int, ub []byte) {
	l := m.nodes[level]
	i := sort.Search(len(l), func(i int) bool { return bytes.Compare(l[i].ub, ub) >= 0 })
	if i < len(l) && bytes.Equal(l[i].ub, ub) {
		m.bytes -= len(l[i].ub) + 64
		m.nodes[level] = append(l[:i], l[i+1:]...)
	}
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

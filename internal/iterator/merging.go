package iterator

import "github.com/stratadb/strata/keys"

// Merging merges sorted internal iterators. Internal keys are unique across
// sources (every entry has its own sequence number), so no tie-breaking is
// needed beyond a stable order.
//
// A Merging belongs to one goroutine.
type Merging struct {
	children []keys.Iterator
	maxSeqs  []keys.SeqNum // per child: no entry has a higher sequence number; nil = unknown
	heap     []heapItem    // the valid children; a min-heap forward, max-heap backward
	forward  bool
	err      error
	// heapArr backs heap for up to 8 children: a Merging embedded in its
	// user's struct then needs no allocation of its own.
	heapArr [8]heapItem
}

// heapItem is a valid child and its current key. The key stays valid while
// the child does not move, and only the top child moves between heap
// repairs, so comparisons read keys from the heap, not through the
// children's interfaces.
type heapItem struct {
	child int
	key   []byte
}

// NewMerging returns an iterator over the union of children. It takes
// ownership: Close closes every child.
func NewMerging(children ...keys.Iterator) *Merging {
	m := &Merging{}
	m.Init(children...)
	return m
}

// Init makes m an iterator over children, as NewMerging returns, in memory
// the caller provides (m must be new or closed, and must not be copied
// afterwards: its heap may live inside it).
func (m *Merging) Init(children ...keys.Iterator) {
	*m = Merging{children: children, forward: true}
	if len(children) <= len(m.heapArr) {
		m.heap = m.heapArr[:0]
	} else {
		m.heap = make([]heapItem, 0, len(children))
	}
}

func (m *Merging) less(i, j int) bool {
	c := keys.Compare(m.heap[i].key, m.heap[j].key)
	if m.forward {
		return c < 0
	}
	return c > 0
}

func (m *Merging) down(i int) {
	n := len(m.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		j := l
		if r := l + 1; r < n && m.less(r, l) {
			j = r
		}
		if !m.less(j, i) {
			return
		}
		m.heap[i], m.heap[j] = m.heap[j], m.heap[i]
		i = j
	}
}

// rebuild collects the valid children into the heap for the current
// direction, noting the first error.
func (m *Merging) rebuild() bool {
	m.heap = m.heap[:0]
	for i, c := range m.children {
		if c.Valid() {
			m.heap = append(m.heap, heapItem{i, c.Key()})
		} else if err := c.Error(); err != nil && m.err == nil {
			m.err = err
		}
	}
	for i := len(m.heap)/2 - 1; i >= 0; i-- {
		m.down(i)
	}
	return m.Valid()
}

// First implements keys.Iterator.
func (m *Merging) First() bool {
	m.forward, m.err = true, nil
	for _, c := range m.children {
		c.First()
	}
	return m.rebuild()
}

// Last implements keys.Iterator.
func (m *Merging) Last() bool {
	m.forward, m.err = false, nil
	for _, c := range m.children {
		c.Last()
	}
	return m.rebuild()
}

// SeekGE implements keys.Iterator.
func (m *Merging) SeekGE(ikey []byte) bool {
	m.forward, m.err = true, nil
	for _, c := range m.children {
		c.SeekGE(ikey)
	}
	return m.rebuild()
}

// SeekLT implements keys.Iterator.
func (m *Merging) SeekLT(ikey []byte) bool {
	m.forward, m.err = false, nil
	for _, c := range m.children {
		c.SeekLT(ikey)
	}
	return m.rebuild()
}

// advance moves the top child one step in the current direction and
// restores the heap.
func (m *Merging) advance() bool {
	top := m.children[m.heap[0].child]
	var ok bool
	if m.forward {
		ok = top.Next()
	} else {
		ok = top.Prev()
	}
	if ok {
		m.heap[0].key = top.Key()
	} else {
		if err := top.Error(); err != nil {
			m.err = err
			m.heap = m.heap[:0]
			return false
		}
		last := len(m.heap) - 1
		m.heap[0] = m.heap[last]
		m.heap = m.heap[:last]
	}
	if len(m.heap) > 0 {
		m.down(0)
	}
	return m.Valid()
}

// Next implements keys.Iterator.
func (m *Merging) Next() bool {
	if !m.Valid() {
		return false
	}
	if !m.forward {
		// Reposition every other child at the first key after the current
		// one; the current child simply steps forward.
		cur := m.heap[0].child
		key := append([]byte(nil), m.heap[0].key...)
		m.forward = true
		for i, c := range m.children {
			if i == cur {
				continue
			}
			if c.SeekGE(key) && keys.Compare(c.Key(), key) == 0 {
				c.Next()
			}
		}
		m.children[cur].Next()
		return m.rebuild()
	}
	return m.advance()
}

// Prev implements keys.Iterator.
func (m *Merging) Prev() bool {
	if !m.Valid() {
		return false
	}
	if m.forward {
		cur := m.heap[0].child
		key := append([]byte(nil), m.heap[0].key...)
		m.forward = false
		for i, c := range m.children {
			if i == cur {
				continue
			}
			c.SeekLT(key)
		}
		m.children[cur].Prev()
		return m.rebuild()
	}
	return m.advance()
}

// SetMaxSeqs declares, per child (in NewMerging's order), a sequence number
// no entry of the child exceeds, for SkipForward and SkipBackward. Children
// without a known bound get keys.MaxSeq.
func (m *Merging) SetMaxSeqs(seqs []keys.SeqNum) { m.maxSeqs = seqs }

// SkipForward moves, in the forward direction, every child whose entries
// are all older than seq (see SetMaxSeqs) and that sits below the user key
// end to its first entry at or after end; a nil end exhausts them. The
// caller uses it when a range tombstone with sequence number seq covers
// every key from the current one up to end: all the entries those children
// hold there are deleted, and one seek replaces a step per key. Other
// children do not move. It returns whether any child moved.
func (m *Merging) SkipForward(end []byte, seq keys.SeqNum, scratch []byte) (bool, []byte) {
	if !m.forward || m.maxSeqs == nil || !m.Valid() {
		return false, scratch
	}
	var target []byte
	if end != nil {
		scratch = keys.SearchKey(scratch[:0], end, keys.MaxSeq)
		target = scratch
	}
	moved := false
	for i := 0; i < len(m.heap); {
		h := &m.heap[i]
		if m.maxSeqs[h.child] >= seq || (target != nil && keys.Compare(h.key, target) >= 0) {
			i++
			continue
		}
		moved = true
		c := m.children[h.child]
		if target != nil && c.SeekGE(target) {
			h.key = c.Key()
			i++
			continue
		}
		if err := c.Error(); err != nil && m.err == nil {
			m.err = err
		}
		// Exhausted (or failed): out of the heap.
		last := len(m.heap) - 1
		m.heap[i] = m.heap[last]
		m.heap = m.heap[:last]
	}
	if moved {
		for i := len(m.heap)/2 - 1; i >= 0; i-- {
			m.down(i)
		}
	}
	return moved, scratch
}

// SkipBackward is SkipForward for the backward direction: every child whose
// entries are all older than seq and that sits at or above the user key
// start moves to its last entry below start; a nil start exhausts them.
func (m *Merging) SkipBackward(start []byte, seq keys.SeqNum, scratch []byte) (bool, []byte) {
	if m.forward || m.maxSeqs == nil || !m.Valid() {
		return false, scratch
	}
	var target []byte
	if start != nil {
		scratch = keys.SearchKey(scratch[:0], start, keys.MaxSeq)
		target = scratch
	}
	moved := false
	for i := 0; i < len(m.heap); {
		h := &m.heap[i]
		if m.maxSeqs[h.child] >= seq || (target != nil && keys.Compare(h.key, target) < 0) {
			i++
			continue
		}
		moved = true
		c := m.children[h.child]
		if target != nil && c.SeekLT(target) {
			h.key = c.Key()
			i++
			continue
		}
		if err := c.Error(); err != nil && m.err == nil {
			m.err = err
		}
		last := len(m.heap) - 1
		m.heap[i] = m.heap[last]
		m.heap = m.heap[:last]
	}
	if moved {
		for i := len(m.heap)/2 - 1; i >= 0; i-- {
			m.down(i)
		}
	}
	return moved, scratch
}

// Valid implements keys.Iterator.
func (m *Merging) Valid() bool { return m.err == nil && len(m.heap) > 0 }

// Key implements keys.Iterator.
func (m *Merging) Key() []byte {
	if !m.Valid() {
		return nil
	}
	return m.heap[0].key
}

// Value implements keys.Iterator.
func (m *Merging) Value() []byte {
	if !m.Valid() {
		return nil
	}
	return m.children[m.heap[0].child].Value()
}

// Error implements keys.Iterator.
func (m *Merging) Error() error { return m.err }

// Close implements keys.Iterator: it closes every child and returns the
// first error met.
func (m *Merging) Close() error {
	err := m.err
	for _, c := range m.children {
		if cerr := c.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	m.children, m.heap, m.heapArr = nil, nil, [8]heapItem{}
	return err
}

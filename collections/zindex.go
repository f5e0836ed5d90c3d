package collections

import (
	"bytes"
	"encoding/binary"
)

// zfanout is the default fanout of the rank nodes (doc.go, "Rank nodes"):
// a level-1 node holds 1..2*zfanout index entries, a level-2 node
// 1..2*zfanout level-1 nodes. 256 keeps every node's walk to a few blocks
// and the rank of any member of 10M to about a thousand iterator steps.
const zfanout = 256

// zidx works on one sorted set's score index and rank nodes inside a Tx.
// Index entries are "suffixes": sortable score (8) then member. Every seek
// goes through one Tx iterator over the collection's whole data range.
type zidx struct {
	tx  *Tx
	key []byte // the set's name, for errors
	id  uint64
	pre []byte // 0xFF 'd' ID
	it  *txIter
	fan int64
	kb  []byte // scratch key
}

// znode is one rank node: its lower bound (an index suffix; empty for the
// first node of its level), the index entries it covers and, at level 2,
// its level-1 children.
type znode struct {
	lb       []byte
	count    int64
	children int64
}

func (tx *Tx) zindex(key []byte, m meta) *zidx {
	pre := dataPrefix(nil, m.id)
	lo, hi := dataBounds(m.id)
	fan := int64(zfanout)
	if tx.s.zfan > 0 {
		fan = int64(tx.s.zfan)
	}
	return &zidx{tx: tx, key: key, id: m.id, pre: pre, it: tx.iter(lo, hi), fan: fan}
}

func (z *zidx) close() error { return z.it.Close() }

// idxKey returns the engine key of the index entry with suffix s.
func (z *zidx) idxKey(dst, s []byte) []byte {
	return append(append(append(dst, z.pre...), subScore), s...)
}

func (z *zidx) nodeKey(dst []byte, level int, lb []byte) []byte {
	return append(append(append(dst, z.pre...), byte(subNodeBase+level)), lb...)
}

// suffixOf returns the index suffix of the iterator's key if it is an
// index entry.
func (z *zidx) suffixOf(k []byte) ([]byte, bool) {
	n := len(z.pre)
	if len(k) < n+1+8 || k[n] != subScore {
		return nil, false
	}
	return k[n+1:], true
}

func (z *zidx) decodeNode(level int, k, v []byte) (znode, error) {
	n := znode{lb: append([]byte{}, k[len(z.pre)+1:]...)}
	want := 8
	if level == 2 {
		want = 16
	}
	if len(v) != want {
		return n, corrupt("rank node", z.key, v)
	}
	n.count = int64(binary.BigEndian.Uint64(v))
	if level == 2 {
		n.children = int64(binary.BigEndian.Uint64(v[8:]))
	}
	if n.count < 0 || n.children < 0 {
		return n, corrupt("rank node", z.key, v)
	}
	return n, nil
}

// isNode reports whether k is a node key of level.
func (z *zidx) isNode(k []byte, level int) bool {
	n := len(z.pre)
	return len(k) > n && k[n] == byte(subNodeBase+level)
}

func (z *zidx) put(level int, n znode) {
	var v [16]byte
	binary.BigEndian.PutUint64(v[:], uint64(n.count))
	val := v[:8]
	if level == 2 {
		binary.BigEndian.PutUint64(v[8:], uint64(n.children))
		val = v[:16]
	}
	z.tx.putRaw(z.nodeKey(nil, level, n.lb), val, 0)
}

func (z *zidx) del(level int, lb []byte) { z.tx.delRaw(z.nodeKey(nil, level, lb)) }

// initNodes writes the first node of each level of a new, empty set.
func (z *zidx) initNodes() {
	z.put(1, znode{lb: []byte{}})
	z.put(2, znode{lb: []byte{}, children: 1})
}

// find returns the node of level containing suffix s: the last one whose
// lower bound is <= s.
func (z *zidx) find(level int, s []byte) (znode, error) {
	z.kb = append(z.nodeKey(z.kb[:0], level, s), 0)
	if !z.it.SeekLT(z.kb) || !z.isNode(z.it.Key(), level) {
		if err := z.it.Error(); err != nil {
			return znode{}, err
		}
		return znode{}, corrupt("rank nodes missing", z.key, nil)
	}
	return z.decodeNode(level, z.it.Key(), z.it.Value())
}

// insert counts a new index entry s, which must already be written.
func (z *zidx) insert(s []byte) error {
	n2, err := z.find(2, s)
	if err != nil {
		return err
	}
	n1, err := z.find(1, s)
	if err != nil {
		return err
	}
	n2.count++
	n1.count++
	if n1.count > 2*z.fan {
		// Split n1: its first fan entries stay, the rest start a new node.
		var mid []byte
		i := int64(0)
		for ok := z.it.SeekGE(z.idxKey(z.kb[:0], n1.lb)); ok; ok = z.it.Next() {
			if _, isIdx := z.suffixOf(z.it.Key()); !isIdx {
				break
			}
			if i == z.fan {
				mid, _ = z.suffixOf(z.it.Key())
				mid = append([]byte{}, mid...)
				break
			}
			i++
		}
		if mid == nil {
			if err := z.it.Error(); err != nil {
				return err
			}
			return corrupt("rank node count", z.key, nil)
		}
		z.put(1, znode{lb: mid, count: n1.count - z.fan})
		n1.count = z.fan
		n2.children++
	}
	z.put(1, n1)
	if n2.children > 2*z.fan {
		// Split n2 at its child number fan.
		var mid []byte
		var c, i int64
		for ok := z.it.SeekGE(z.nodeKey(z.kb[:0], 1, n2.lb)); ok; ok = z.it.Next() {
			if !z.isNode(z.it.Key(), 1) {
				break
			}
			if i == z.fan {
				mid = append([]byte{}, z.it.Key()[len(z.pre)+1:]...)
				break
			}
			ch, err := z.decodeNode(1, z.it.Key(), z.it.Value())
			if err != nil {
				return err
			}
			c += ch.count
			i++
		}
		if mid == nil {
			if err := z.it.Error(); err != nil {
				return err
			}
			return corrupt("rank node children", z.key, nil)
		}
		z.put(2, znode{lb: mid, count: n2.count - c, children: n2.children - z.fan})
		n2.count, n2.children = c, z.fan
	}
	z.put(2, n2)
	return nil
}

// remove uncounts the index entry s (already deleted or about to be).
func (z *zidx) remove(s []byte) error {
	n2, err := z.find(2, s)
	if err != nil {
		return err
	}
	n1, err := z.find(1, s)
	if err != nil {
		return err
	}
	n2.count--
	n1.count--
	if n1.count < 0 || n2.count < 0 {
		return corrupt("rank node count", z.key, nil)
	}
	boundary := bytes.Equal(n1.lb, n2.lb) // n2's first child marks its start
	if n1.count == 0 && !boundary {
		z.del(1, n1.lb)
		n2.children--
	} else {
		z.put(1, n1)
	}
	if n2.count == 0 && len(n2.lb) > 0 {
		// Every child is empty, and only the boundary child is left.
		z.del(2, n2.lb)
		z.del(1, n2.lb)
		return nil
	}
	z.put(2, n2)
	return nil
}

// countLess returns the number of index entries whose suffix is < s.
func (z *zidx) countLess(s []byte) (int64, error) {
	var acc int64
	var cur znode
	found := false
	for ok := z.it.SeekGE(z.nodeKey(z.kb[:0], 2, nil)); ok && z.isNode(z.it.Key(), 2); ok = z.it.Next() {
		n, err := z.decodeNode(2, z.it.Key(), z.it.Value())
		if err != nil {
			return 0, err
		}
		if bytes.Compare(n.lb, s) > 0 {
			break
		}
		if found {
			acc += cur.count
		}
		cur, found = n, true
	}
	if !found {
		return 0, z.missing()
	}
	found = false
	for ok := z.it.SeekGE(z.nodeKey(z.kb[:0], 1, cur.lb)); ok && z.isNode(z.it.Key(), 1); ok = z.it.Next() {
		n, err := z.decodeNode(1, z.it.Key(), z.it.Value())
		if err != nil {
			return 0, err
		}
		if bytes.Compare(n.lb, s) > 0 {
			break
		}
		if found {
			acc += cur.count
		}
		cur, found = n, true
	}
	if !found {
		return 0, z.missing()
	}
	for ok := z.it.SeekGE(z.idxKey(z.kb[:0], cur.lb)); ok; ok = z.it.Next() {
		e, isIdx := z.suffixOf(z.it.Key())
		if !isIdx || bytes.Compare(e, s) >= 0 {
			break
		}
		acc++
	}
	return acc, z.it.Error()
}

func (z *zidx) missing() error {
	if err := z.it.Error(); err != nil {
		return err
	}
	return corrupt("rank nodes missing", z.key, nil)
}

// seekRank positions the iterator at the index entry of rank r (0-based),
// which must be below the set's size. size lets it walk from either end
// when r is near one.
func (z *zidx) seekRank(r, size int64) (bool, error) {
	if r < 0 || r >= size {
		return false, nil
	}
	if r < 2*z.fan || size-1-r < 2*z.fan {
		// Near an end: walking the entries beats walking the nodes.
		if r < size-1-r {
			ok := z.it.SeekGE(z.idxKey(z.kb[:0], nil))
			for i := int64(0); ok && i < r; i++ {
				ok = z.it.Next()
			}
			return z.atIdx(ok)
		}
		ok := z.it.SeekLT(append(append(z.kb[:0], z.pre...), subScore+1))
		for i := size - 1; ok && i > r; i-- {
			ok = z.it.Prev()
		}
		return z.atIdx(ok)
	}
	var acc int64
	var cur znode
	found := false
	for ok := z.it.SeekGE(z.nodeKey(z.kb[:0], 2, nil)); ok && z.isNode(z.it.Key(), 2); ok = z.it.Next() {
		n, err := z.decodeNode(2, z.it.Key(), z.it.Value())
		if err != nil {
			return false, err
		}
		cur, found = n, true
		if acc+n.count > r {
			break
		}
		acc += n.count
	}
	if !found {
		return false, z.missing()
	}
	found = false
	for ok := z.it.SeekGE(z.nodeKey(z.kb[:0], 1, cur.lb)); ok && z.isNode(z.it.Key(), 1); ok = z.it.Next() {
		n, err := z.decodeNode(1, z.it.Key(), z.it.Value())
		if err != nil {
			return false, err
		}
		cur, found = n, true
		if acc+n.count > r {
			break
		}
		acc += n.count
	}
	if !found {
		return false, z.missing()
	}
	ok := z.it.SeekGE(z.idxKey(z.kb[:0], cur.lb))
	for ; ok && acc < r; acc++ {
		ok = z.it.Next()
	}
	return z.atIdx(ok)
}

func (z *zidx) atIdx(ok bool) (bool, error) {
	if !ok {
		return false, z.missing()
	}
	if _, isIdx := z.suffixOf(z.it.Key()); !isIdx {
		return false, corrupt("rank nodes count past the index", z.key, nil)
	}
	return true, nil
}

package collections

import (
	"bytes"
	"encoding/binary"
)

// The fanouts of the rank nodes (doc.go, "Rank nodes"): a level-1 node
// holds up to 2*zfanout1 index entries, a level-2 node up to 2*zfanout2
// level-1 nodes. A rank walks the level-2 nodes before its own, then at most
// 2*zfanout2 level-1 nodes (in memory, with a mirror), then at most
// 2*zfanout1 index entries in the engine: 64 keeps that last walk to about
// a hundred entries, and a set's mirror to about 1/40 of its index; 256
// keeps the level-2 walk short for a set with no mirror (about 1,000 seeks
// at 10M members).
const (
	zfanout1 = 64
	zfanout2 = 256
)

// topSuffix is the upper bound of the last node of each level: above every
// index suffix (a sortable score is at most 0xFFF0... for +inf).
var topSuffix = []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}

// zidx works on one sorted set's score index and rank nodes inside a Tx.
// Index entries are "suffixes": sortable score (8) then member.
//
// A node is keyed by the exclusive upper bound of the suffixes it covers;
// its lower bound is the upper bound of the node before it (nothing for the
// first). So the node holding a suffix is the first node above it: one
// forward seek. Node keys are rewritten on every insert and removal, so the
// memtable may hold many versions of each: walks over the engine's nodes
// hop from node to node with seeks, which land on the newest version,
// rather than step with Next, which would pass every older version. A large
// set's nodes are also mirrored in memory (zmirror), and walks then cost
// no engine reads at all.
type zidx struct {
	tx  *Tx
	key []byte // the set's name, for errors
	id  uint64
	pre []byte // 0xFF 'd' ID
	it  *txIter
	// fan1 and fan2 are the fanouts of levels 1 and 2.
	fan1, fan2 int64
	kb         []byte // scratch key
	// mir, if set, is the mirror of this set's nodes: reads come from it,
	// and writes go to it as well as to the Tx.
	mir *zmirror
}

// znode is one rank node: its upper bound, the index entries it covers and,
// at level 2, its level-1 children.
type znode struct {
	ub       []byte
	count    int64
	children int64
}

// zindex opens the index of the set m of the given size.
func (tx *Tx) zindex(key []byte, m meta, size int64) (*zidx, error) {
	pre := dataPrefix(nil, m.id)
	lo, hi := dataBounds(m.id)
	fan1, fan2 := int64(zfanout1), int64(zfanout2)
	if tx.s.zfan > 0 {
		fan1, fan2 = int64(tx.s.zfan), int64(tx.s.zfan)
	}
	z := &zidx{tx: tx, key: key, id: m.id, pre: pre, it: tx.iter(lo, hi), fan1: fan1, fan2: fan2}
	// A mirror, once there, must see every change. A set gets one as soon
	// as it is used (while the cache has room): then neither a write nor a
	// rank needs to seek the engine's nodes.
	z.mir = tx.s.zc.get(m.id)
	if z.mir == nil && size > 0 && tx.s.zc.enabled() {
		mir, err := z.loadMirror()
		if err != nil {
			z.close()
			return nil, err
		}
		z.mir = tx.s.zc.add(m.id, mir)
	}
	if z.mir != nil && tx.ls.write {
		tx.zdirty = append(tx.zdirty, m.id)
	}
	return z, nil
}

func (z *zidx) close() error {
	if z.mir != nil && z.tx.ls.write && z.mir.bytes != z.mir.charged {
		z.tx.s.zc.recharge(z.id, z.mir)
	}
	return z.it.Close()
}

// idxKey returns the engine key of the index entry with suffix s.
func (z *zidx) idxKey(dst, s []byte) []byte {
	return append(append(append(dst, z.pre...), subScore), s...)
}

func (z *zidx) nodeKey(dst []byte, level int, ub []byte) []byte {
	return append(append(append(dst, z.pre...), byte(subNodeBase+level)), ub...)
}

// suffixOf returns the index suffix of the key k if it is an index entry.
func (z *zidx) suffixOf(k []byte) ([]byte, bool) {
	n := len(z.pre)
	if len(k) < n+1+8 || k[n] != subScore {
		return nil, false
	}
	return k[n+1:], true
}

func (z *zidx) decodeNode(level int, k, v []byte) (znode, error) {
	n := znode{ub: append([]byte{}, k[len(z.pre)+1:]...)}
	want := 8
	if level == 2 {
		want = 16
	}
	if len(v) != want || len(n.ub) < 8 {
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
	z.tx.putRaw(z.nodeKey(nil, level, n.ub), val, 0)
	if z.mir != nil {
		z.mir.put(level, n)
	}
}

func (z *zidx) del(level int, ub []byte) {
	z.tx.delRaw(z.nodeKey(nil, level, ub))
	if z.mir != nil {
		z.mir.del(level, ub)
	}
}

// initNodes writes the one node of each level of a new, empty set.
func (z *zidx) initNodes() {
	z.put(1, znode{ub: topSuffix})
	z.put(2, znode{ub: topSuffix, children: 1})
}

// above returns the first node of level whose upper bound is above s (nil
// s: the first node).
func (z *zidx) above(level int, s []byte) (znode, error) {
	if z.mir != nil {
		return z.mir.above(level, s), nil
	}
	z.kb = z.nodeKey(z.kb[:0], level, s)
	if s != nil {
		z.kb = append(z.kb, 0)
	}
	if !z.it.SeekGE(z.kb) || !z.isNode(z.it.Key(), level) {
		return znode{}, z.missing()
	}
	return z.decodeNode(level, z.it.Key(), z.it.Value())
}

// lowerBound returns the lower bound of the node of level with upper bound
// ub: the upper bound of the node before it, or nil for the first.
func (z *zidx) lowerBound(level int, ub []byte) ([]byte, error) {
	if z.mir != nil {
		return z.mir.lowerBound(level, ub), nil
	}
	if !z.it.SeekLT(z.nodeKey(z.kb[:0], level, ub)) || !z.isNode(z.it.Key(), level) {
		return nil, z.it.Error()
	}
	return append([]byte{}, z.it.Key()[len(z.pre)+1:]...), nil
}

// loadMirror reads every node of the set into a new mirror, hopping from
// node to node with seeks (node keys may have many versions in the
// memtable; see zidx).
func (z *zidx) loadMirror() (*zmirror, error) {
	var levels [3][]znode
	for level := 1; level <= 2; level++ {
		n, err := z.above(level, nil)
		for ; err == nil; n, err = z.above(level, n.ub) {
			levels[level] = append(levels[level], n)
			if bytes.Equal(n.ub, topSuffix) {
				break
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return newMirror(levels[1], levels[2]), nil
}

// insert counts a new index entry s, which must already be written.
func (z *zidx) insert(s []byte) error {
	n2, err := z.above(2, s)
	if err != nil {
		return err
	}
	n1, err := z.above(1, s)
	if err != nil {
		return err
	}
	n2.count++
	n1.count++
	if n1.count > 2*z.fan1 {
		// Split n1: its first fan1 entries go to a new node before it.
		lb, err := z.lowerBound(1, n1.ub)
		if err != nil {
			return err
		}
		var mid []byte
		i := int64(0)
		for ok := z.it.SeekGE(z.idxKey(z.kb[:0], lb)); ok; ok = z.it.Next() {
			e, isIdx := z.suffixOf(z.it.Key())
			if !isIdx {
				break
			}
			if i == z.fan1 {
				mid = append([]byte{}, e...)
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
		z.put(1, znode{ub: mid, count: z.fan1})
		n1.count -= z.fan1
		n2.children++
	}
	z.put(1, n1)
	if n2.children > 2*z.fan2 {
		// Split n2: its first fan2 children go to a new node before it.
		lb, err := z.lowerBound(2, n2.ub)
		if err != nil {
			return err
		}
		var c int64
		ch, err := z.above(1, lb)
		for i := int64(0); err == nil && i < z.fan2-1; i++ {
			c += ch.count
			ch, err = z.above(1, ch.ub)
		}
		if err != nil {
			return err
		}
		c += ch.count
		z.put(2, znode{ub: ch.ub, count: c, children: z.fan2})
		n2.count -= c
		n2.children -= z.fan2
	}
	z.put(2, n2)
	return nil
}

// remove uncounts the index entry s (already deleted or about to be).
func (z *zidx) remove(s []byte) error {
	n2, err := z.above(2, s)
	if err != nil {
		return err
	}
	n1, err := z.above(1, s)
	if err != nil {
		return err
	}
	n2.count--
	n1.count--
	if n1.count < 0 || n2.count < 0 {
		return corrupt("rank node count", z.key, nil)
	}
	// n2's last child (same upper bound) marks its end: it stays while n2
	// does. Any other child goes when it empties; its range joins the next
	// child's.
	boundary := bytes.Equal(n1.ub, n2.ub)
	if n1.count == 0 && !boundary {
		z.del(1, n1.ub)
		n2.children--
	} else {
		z.put(1, n1)
	}
	if n2.count == 0 && !bytes.Equal(n2.ub, topSuffix) {
		// Every child is empty, so only the boundary child is left: both
		// go, and their range joins the next level-2 node's.
		z.del(2, n2.ub)
		z.del(1, n2.ub)
		return nil
	}
	z.put(2, n2)
	return nil
}

// countLess returns the number of index entries whose suffix is < s.
func (z *zidx) countLess(s []byte) (int64, error) {
	var acc int64
	var lb []byte
	if z.mir != nil {
		acc, lb = z.mir.countBelow(s)
		return z.countFrom(acc, lb, s)
	}
	n, err := z.above(2, nil)
	for err == nil && bytes.Compare(n.ub, s) <= 0 {
		acc += n.count
		lb = n.ub
		n, err = z.above(2, n.ub)
	}
	if err != nil {
		return 0, err
	}
	n, err = z.above(1, lb)
	for err == nil && bytes.Compare(n.ub, s) <= 0 {
		acc += n.count
		lb = n.ub
		n, err = z.above(1, n.ub)
	}
	if err != nil {
		return 0, err
	}
	return z.countFrom(acc, lb, s)
}

// countFrom adds to acc the index entries from suffix lb (nil: the first)
// up to s, walking them.
func (z *zidx) countFrom(acc int64, lb, s []byte) (int64, error) {
	for ok := z.it.SeekGE(z.idxKey(z.kb[:0], lb)); ok; ok = z.it.Next() {
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
	if r < 2*z.fan1 || size-1-r < 2*z.fan1 {
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
	var lb []byte
	if z.mir != nil {
		acc, lb = z.mir.rankStart(r)
		return z.stepTo(acc, lb, r)
	}
	n, err := z.above(2, nil)
	for err == nil && acc+n.count <= r && !bytes.Equal(n.ub, topSuffix) {
		acc += n.count
		lb = n.ub
		n, err = z.above(2, n.ub)
	}
	if err != nil {
		return false, err
	}
	n, err = z.above(1, lb)
	for err == nil && acc+n.count <= r && !bytes.Equal(n.ub, topSuffix) {
		acc += n.count
		lb = n.ub
		n, err = z.above(1, n.ub)
	}
	if err != nil {
		return false, err
	}
	return z.stepTo(acc, lb, r)
}

// stepTo positions the iterator at the entry of rank r, given that the
// entry at suffix lb (nil: the first) has rank acc.
func (z *zidx) stepTo(acc int64, lb []byte, r int64) (bool, error) {
	ok := z.it.SeekGE(z.idxKey(z.kb[:0], lb))
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

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
	pre []byte  // 0xFF 'd' ID
	it  *txIter // made by iter on first use
	// fan1 and fan2 are the fanouts of levels 1 and 2.
	fan1, fan2 int64
	kb         []byte // scratch key
	sb         []byte // scratch index suffix
	nb         []byte // scratch node key (put, del)
	xi         Iter   // zwalk's
	// mir, if set, is the mirror of this set's nodes: reads come from it,
	// and writes go to it as well as to the Tx.
	mir *zmirror
	// single is set while the set's nodes are known to be one per level,
	// both with the top bound (topSuffix), counting n entries: a new set,
	// or a small one whose top level-1 node counts every member. Then
	// above and lowerBound answer without reading anything. The first
	// write of any other node (a split) clears it.
	single bool
	n      int64
	keys   [52]byte // see newZidx
	// small is set on an index opened for reading a set of at most
	// 2*fan1 members (zread): it counts ranks by walking the index from
	// its first entry, without the nodes.
	small bool
}

// znode is one rank node: its upper bound, the index entries it covers and,
// at level 2, its level-1 children.
type znode struct {
	ub       []byte
	count    int64
	children int64
}

func (tx *Tx) newZidx(key []byte, m meta) *zidx {
	fan1, fan2 := int64(zfanout1), int64(zfanout2)
	if tx.s.zfan > 0 {
		fan1, fan2 = int64(tx.s.zfan), int64(tx.s.zfan)
	}
	z := &zidx{tx: tx, key: key, id: m.id, fan1: fan1, fan2: fan2}
	// The set's fixed keys live in z.keys, each capped at its end: the
	// data prefix (10 bytes), the data range's bounds (10 and 10) and the
	// index's (11 and 11).
	z.pre = dataPrefix(z.keys[0:0:10], m.id)
	copy(z.keys[10:], z.pre)
	dataPrefix(z.keys[20:20:30], m.id+1)
	copy(z.keys[30:], z.pre)
	z.keys[40] = subScore
	copy(z.keys[41:], z.pre)
	z.keys[51] = subScore + 1
	return z
}

// zindex opens the index of the set m of the given size, to read or to
// change it.
func (tx *Tx) zindex(key []byte, m meta, size int64) (*zidx, error) {
	z := tx.newZidx(key, m)
	if err := z.findNodes(size); err != nil {
		return nil, err
	}
	return z, nil
}

// findNodes sets up how z reads the set's nodes. A mirror, once there,
// must see every change. A set gets one as soon as it is used (while the
// cache has room): then neither a write nor a rank needs to seek the
// engine's nodes. A set whose nodes are the top pair alone needs none:
// their counts are its size.
func (z *zidx) findNodes(size int64) error {
	tx := z.tx
	if z.mir == nil { // a caller may have looked it up already
		z.mir = tx.s.zc.get(z.id)
	}
	if z.mir == nil {
		single, err := z.onlyTopNodes(size)
		if err != nil {
			return err
		}
		if single {
			z.single, z.n = true, size
		} else if size > 0 && tx.s.zc.enabled() {
			mir, err := z.loadMirror()
			if err != nil {
				z.close()
				return err
			}
			z.mir = tx.s.zc.add(z.id, mir)
		}
	}
	if z.mir != nil && tx.ls.write {
		tx.zdirty = append(tx.zdirty, z.id)
	}
	return nil
}

// zread opens the index of the set m of the given size to read it. A set
// of at most 2*fan1 members is read by walking its index entries, which
// costs no more than the walk within its last node would: no nodes, no
// mirror.
func (tx *Tx) zread(key []byte, m meta, size int64) (*zidx, error) {
	z := tx.newZidx(key, m)
	if size <= 2*z.fan1 {
		z.small = true
		return z, nil
	}
	if err := z.findNodes(size); err != nil {
		return nil, err
	}
	return z, nil
}

// onlyTopNodes reports whether the set's nodes are the top pair alone,
// counting size entries: true for a new set (size 0: its nodes are being
// written in this Tx), and for a set of at most 2*fan1 members whose top
// level-1 node counts every member (one point read). That suffices: a
// level-2 node other than the top one is never empty (doc.go, "Rank
// nodes": a node left empty goes), nor is a level-1 node other than the
// last child of its parent; so if the top level-1 node holds every entry,
// no other level-2 node exists, and the top one has no other child.
func (z *zidx) onlyTopNodes(size int64) (bool, error) {
	if size == 0 {
		return true, nil
	}
	if size > 2*z.fan1 {
		return false, nil
	}
	z.kb = z.nodeKey(z.kb[:0], 1, topSuffix)
	v, found, err := z.tx.getRaw(z.kb)
	if err != nil || !found || len(v) != 8 {
		return false, err // a missing or bad node: the walk reports it
	}
	return int64(binary.BigEndian.Uint64(v)) == size, nil
}

// iter returns the Tx iterator over the set's data keys, made on first
// use.
func (z *zidx) iter() *txIter {
	if z.it == nil {
		z.it = z.tx.iter(z.keys[10:20:20], z.keys[20:30:30])
	}
	return z.it
}

func (z *zidx) close() error {
	if z.mir != nil && z.tx.ls.write && z.mir.bytes != z.mir.charged {
		z.tx.s.zc.recharge(z.id, z.mir)
	}
	if z.it == nil {
		return nil
	}
	return z.iter().Close()
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
	if z.single {
		if !bytes.Equal(n.ub, topSuffix) {
			z.single = false
		} else if level == 1 {
			z.n = n.count
		}
	}
	var v [16]byte
	binary.BigEndian.PutUint64(v[:], uint64(n.count))
	val := v[:8]
	if level == 2 {
		binary.BigEndian.PutUint64(v[8:], uint64(n.children))
		val = v[:16]
	}
	z.nb = z.nodeKey(z.nb[:0], level, n.ub) // the overlay copies it
	z.tx.putRaw(z.nb, val, 0)
	if z.mir != nil {
		z.mir.put(level, n)
	}
}

func (z *zidx) del(level int, ub []byte) {
	z.single = false
	z.nb = z.nodeKey(z.nb[:0], level, ub)
	z.tx.delRaw(z.nb)
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
	if z.single {
		n := znode{ub: topSuffix, count: z.n}
		if level == 2 {
			n.children = 1
		}
		return n, nil
	}
	if z.mir != nil {
		return z.mir.above(level, s), nil
	}
	z.kb = z.nodeKey(z.kb[:0], level, s)
	if s != nil {
		z.kb = append(z.kb, 0)
	}
	if !z.iter().SeekGE(z.kb) || !z.isNode(z.iter().Key(), level) {
		return znode{}, z.missing()
	}
	return z.decodeNode(level, z.iter().Key(), z.iter().Value())
}

// lowerBound returns the lower bound of the node of level with upper bound
// ub: the upper bound of the node before it, or nil for the first.
func (z *zidx) lowerBound(level int, ub []byte) ([]byte, error) {
	if z.single {
		return nil, nil
	}
	if z.mir != nil {
		return z.mir.lowerBound(level, ub), nil
	}
	if !z.iter().SeekLT(z.nodeKey(z.kb[:0], level, ub)) || !z.isNode(z.iter().Key(), level) {
		return nil, z.iter().Error()
	}
	return append([]byte{}, z.iter().Key()[len(z.pre)+1:]...), nil
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
	if z.single {
		if err := z.insertOne(s); err != nil {
			return err
		}
		if z.single || !z.tx.s.zc.enabled() {
			return nil
		}
		// The set has outgrown its top nodes: mirror its nodes from now
		// on, as zindex does for any set that is not small.
		mir, err := z.loadMirror()
		if err != nil {
			return err
		}
		z.mir = z.tx.s.zc.add(z.id, mir)
		if z.tx.ls.write {
			z.tx.zdirty = append(z.tx.zdirty, z.id)
		}
		return nil
	}
	return z.insertOne(s)
}

func (z *zidx) insertOne(s []byte) error {
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
		for ok := z.iter().SeekGE(z.idxKey(z.kb[:0], lb)); ok; ok = z.iter().Next() {
			e, isIdx := z.suffixOf(z.iter().Key())
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
			if err := z.iter().Error(); err != nil {
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
	if z.small || z.single {
		return z.countFrom(0, nil, s)
	}
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

// What rankFromEnd found.
const (
	walkFound  = iota // the member, at the rank returned
	walkAbsent        // the whole index, without the member
	walkFar           // 2*fan1 entries, without the member: look by the nodes
)

// rankFromEnd looks for member among the first 2*fan1 index entries from
// the lowest score (from the highest with rev) and returns its rank
// counted from that end.
func (z *zidx) rankFromEnd(member []byte, rev bool) (int64, int, error) {
	it := z.iter()
	var ok bool
	if rev {
		ok = it.SeekLT(append(append(z.kb[:0], z.pre...), subScore+1))
	} else {
		ok = it.SeekGE(z.idxKey(z.kb[:0], nil))
	}
	for r := int64(0); ok; r++ {
		e, isIdx := z.suffixOf(it.Key())
		if !isIdx {
			break
		}
		if bytes.Equal(e[8:], member) {
			return r, walkFound, nil
		}
		if r+1 >= 2*z.fan1 {
			return 0, walkFar, nil
		}
		if rev {
			ok = it.Prev()
		} else {
			ok = it.Next()
		}
	}
	return 0, walkAbsent, it.Error()
}

// countFrom adds to acc the index entries from suffix lb (nil: the first)
// up to s, walking them.
func (z *zidx) countFrom(acc int64, lb, s []byte) (int64, error) {
	for ok := z.iter().SeekGE(z.idxKey(z.kb[:0], lb)); ok; ok = z.iter().Next() {
		e, isIdx := z.suffixOf(z.iter().Key())
		if !isIdx || bytes.Compare(e, s) >= 0 {
			break
		}
		acc++
	}
	return acc, z.iter().Error()
}

func (z *zidx) missing() error {
	if err := z.iter().Error(); err != nil {
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
			ok := z.iter().SeekGE(z.idxKey(z.kb[:0], nil))
			for i := int64(0); ok && i < r; i++ {
				ok = z.iter().Next()
			}
			return z.atIdx(ok)
		}
		ok := z.iter().SeekLT(append(append(z.kb[:0], z.pre...), subScore+1))
		for i := size - 1; ok && i > r; i-- {
			ok = z.iter().Prev()
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
	ok := z.iter().SeekGE(z.idxKey(z.kb[:0], lb))
	for ; ok && acc < r; acc++ {
		ok = z.iter().Next()
	}
	return z.atIdx(ok)
}

func (z *zidx) atIdx(ok bool) (bool, error) {
	if !ok {
		return false, z.missing()
	}
	if _, isIdx := z.suffixOf(z.iter().Key()); !isIdx {
		return false, corrupt("rank nodes count past the index", z.key, nil)
	}
	return true, nil
}

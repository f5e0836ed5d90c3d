package collections

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/stratadb/strata/lsm"
)

// CheckKey verifies the engine keys of the collection at key against each
// other: the header's size against the elements, a list's elements against
// its head and tail, a sorted set's members against its score index and its
// rank nodes against the index. It reads the whole collection. It returns
// nil for a string or a missing key, and an error wrapping
// lsm.ErrCorruption naming what disagrees otherwise.
func (s *Store) CheckKey(key []byte) error {
	return s.run1(false, key, func(tx *Tx) error {
		t, m, err := tx.lookup(key)
		if err != nil || t == TypeNone || t == TypeString {
			return err
		}
		h, err := tx.header(key, m)
		if err != nil {
			return err
		}
		bad := func(format string, args ...any) error {
			return fmt.Errorf("%w: collections: %s %q (ID %d): %s", lsm.ErrCorruption, t, key, m.id, fmt.Sprintf(format, args...))
		}
		lo, hi := dataBounds(m.id)
		ti := tx.iter(lo, hi)
		defer ti.Close()
		var elems, index int64
		members := map[string]float64{}
		var idx [][]byte
		nodes := [3][]znode{}
		fan1, fan2 := int64(zfanout1), int64(zfanout2)
		if s.zfan > 0 {
			fan1, fan2 = int64(s.zfan), int64(s.zfan)
		}
		nextSeq := h.head
		for ok := ti.First(); ok; ok = ti.Next() {
			k, v := ti.Key(), ti.Value()
			if len(k) < 11 {
				return bad("short data key %x", k)
			}
			if k[10] == subHeader && len(k) == 11 {
				continue
			}
			switch sub := k[10]; {
			case sub == subElem:
				elems++
				switch t {
				case TypeList:
					if len(k) != 19 || binary.BigEndian.Uint64(k[11:]) != nextSeq {
						return bad("list element key %x, expected sequence %d", k, nextSeq)
					}
					nextSeq++
				case TypeZSet:
					f, err := decodeScore(key, v)
					if err != nil {
						return err
					}
					members[string(k[11:])] = f
				}
			case sub == subScore && t == TypeZSet:
				index++
				idx = append(idx, append([]byte{}, k[11:]...))
			case (sub == subNodeBase+1 || sub == subNodeBase+2) && t == TypeZSet:
				level := int(sub - subNodeBase)
				z := &zidx{key: key, pre: dataPrefix(nil, m.id)}
				n, err := z.decodeNode(level, k, v)
				if err != nil {
					return err
				}
				nodes[level] = append(nodes[level], n)
			default:
				return bad("unexpected data key %x", k)
			}
		}
		if err := ti.Error(); err != nil {
			return err
		}
		if elems != h.size {
			return bad("header says %d elements, found %d", h.size, elems)
		}
		if t != TypeZSet {
			return nil
		}
		if index != h.size {
			return bad("%d index entries for %d members", index, h.size)
		}
		for _, e := range idx {
			f, ok := members[string(e[8:])]
			if !ok || !bytes.Equal(sortableScore(nil, f), e[:8]) {
				return bad("index entry %x has no member with its score", e)
			}
		}
		// The mirror, if there is one, must be the nodes exactly.
		if mir := s.zc.get(m.id); mir != nil {
			var l1, l2 []znode
			for _, t := range mir.top {
				l2 = append(l2, t.znode)
				l1 = append(l1, t.kids...)
			}
			for level, ms := range [][]znode{nil, l1, l2} {
				if level == 0 {
					continue
				}
				if len(ms) != len(nodes[level]) {
					return bad("mirror has %d level-%d nodes, the engine %d", len(ms), level, len(nodes[level]))
				}
				for i, n := range ms {
					e := nodes[level][i]
					if !bytes.Equal(n.ub, e.ub) || n.count != e.count || n.children != e.children {
						return bad("mirror level-%d node %d is %x/%d/%d, the engine's %x/%d/%d", level, i, n.ub, n.count, n.children, e.ub, e.count, e.children)
					}
				}
			}
		}
		// Rank nodes: each level partitions the index by upper bounds
		// (idx and the nodes were read in key order); counts match.
		// An entry e belongs to the first node with ub > e; a child with
		// upper bound u to the first node with ub >= u (inclusive).
		cover := func(ns []znode, keys [][]byte, incl int) []int64 {
			out := make([]int64, len(ns))
			j := 0
			for _, e := range keys {
				for j < len(ns)-1 && bytes.Compare(e, ns[j].ub) >= incl {
					j++
				}
				out[j]++
			}
			return out
		}
		var l1 [][]byte
		for _, n := range nodes[1] {
			l1 = append(l1, n.ub)
		}
		for level := 1; level <= 2; level++ {
			ns := nodes[level]
			if len(ns) == 0 || !bytes.Equal(ns[len(ns)-1].ub, topSuffix) {
				return bad("level %d has no last node", level)
			}
			counts := cover(ns, idx, 0)
			children := cover(ns, l1, 1)
			for i, n := range ns {
				if counts[i] != n.count {
					return bad("level %d node %x counts %d, covers %d", level, n.ub, n.count, counts[i])
				}
				if level == 1 && n.count > 2*fan1 {
					return bad("level 1 node %x holds %d > %d", n.ub, n.count, 2*fan1)
				}
				// A node left empty goes, but for the last child of each
				// level-2 node and the top level-2 node: small sets'
				// writes count on it (zidx.onlyTopNodes).
				if n.count == 0 && i < len(ns)-1 {
					boundary := false
					if level == 1 {
						_, boundary = slices.BinarySearchFunc(nodes[2], n.ub, func(x znode, ub []byte) int { return bytes.Compare(x.ub, ub) })
					}
					if !boundary {
						return bad("level %d node %x is empty", level, n.ub)
					}
				}
				if level == 2 {
					if children[i] != n.children || n.children > 2*fan2 {
						return bad("level 2 node %x says %d children, has %d", n.ub, n.children, children[i])
					}
					if _, found := slices.BinarySearchFunc(l1, n.ub, bytes.Compare); !found {
						return bad("level 2 node %x is not a level 1 boundary", n.ub)
					}
				}
			}
		}
		return nil
	})
}

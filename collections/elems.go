package collections

import (
	"bytes"
	"math/rand/v2"

	"github.com/stratadb/strata/lsm"
)

// elemOff is the length of the prefix of an element key before the field,
// member or sequence: 0xFF 'd' ID(8) 0x01.
const elemOff = 11

func checkElem(e []byte) error {
	if len(e) > MaxElementSize {
		return sizeErr("element", len(e), MaxElementSize)
	}
	return nil
}

// openColl resolves key as a collection of type t for writing, creating it
// if create is set and it does not exist. ok is false if it does not exist
// (and was not created).
func (tx *Tx) openColl(key []byte, t Type, create bool) (m meta, h header, ok bool, err error) {
	m, ok, err = tx.coll(key, t, true)
	if err != nil {
		return m, h, false, err
	}
	if ok {
		h, err = tx.header(key, m)
		return m, h, err == nil, err
	}
	if !create {
		return m, h, false, nil
	}
	m, err = tx.create(key, t)
	if t == TypeList {
		h.head, h.tail = listMid, listMid
	}
	return m, h, err == nil, err
}

// finish writes the header of m after a change, or drops the collection if
// it became empty (Redis deletes empty collections).
func (tx *Tx) finish(key []byte, m meta, h header) {
	if h.size == 0 {
		tx.drop(key, m)
		return
	}
	tx.putHeader(m, h)
	tx.touch(key)
}

// allElems returns every element of m as (suffix, value) pairs in key order.
func (tx *Tx) allElems(m meta, withValues bool) ([][]byte, error) {
	lo, hi := elemBounds(m.id)
	ti := tx.iter(lo, hi)
	var out [][]byte
	for ok := ti.First(); ok; ok = ti.Next() {
		out = append(out, append([]byte{}, ti.Key()[elemOff:]...))
		if withValues {
			out = append(out, append([]byte{}, ti.Value()...))
		}
	}
	return out, ti.Close()
}

// maxPrealloc bounds the elements a reply reserves room for before reading
// them: a size from a (possibly damaged) header or a huge count then costs
// memory only as elements actually arrive.
const maxPrealloc = 1024

// smallRandom is the size up to which random choices read the whole
// collection and choose uniformly; above it they descend the key space with
// seeks (randomKeyIn), which is fast but not exactly uniform.
const smallRandom = 512

// randomElems picks count elements of m (distinct, or with repeats) and
// returns them as (suffix, value) pairs, or suffixes alone. count <= size
// when distinct.
func (tx *Tx) randomElems(m meta, size int64, count int64, distinct, withValues bool) ([][]byte, error) {
	step := 1
	if withValues {
		step = 2
	}
	if size <= smallRandom || (distinct && count*2 >= size) {
		all, err := tx.allElems(m, withValues)
		if err != nil {
			return nil, err
		}
		n := int64(len(all) / step)
		if (distinct && count > n) || (n == 0 && count > 0) {
			return nil, corrupt("size in header above the elements", nil, nil)
		}
		out := make([][]byte, 0, min(count, maxPrealloc)*int64(step))
		if distinct {
			perm := rand.Perm(int(n))
			for _, i := range perm[:count] {
				out = append(out, all[i*step:(i+1)*step]...)
			}
			return out, nil
		}
		for j := int64(0); j < count; j++ {
			i := rand.Int64N(n)
			out = append(out, all[i*int64(step):(i+1)*int64(step)]...)
		}
		return out, nil
	}
	lo, hi := elemBounds(m.id)
	ti := tx.iter(lo, hi)
	defer ti.Close()
	out := make([][]byte, 0, min(count, maxPrealloc)*int64(step))
	seen := map[string]bool{}
	add := func(k, v []byte) {
		out = append(out, k[elemOff:])
		if withValues {
			out = append(out, v)
		}
	}
	for draws := int64(0); int64(len(out)/step) < count; draws++ {
		if draws > 3*count+16 {
			// The descent keeps landing on the same keys (a skewed key
			// space): take the rest in order after a random one.
			k, _, ok := randomKeyIn(ti, lo, hi)
			if !ok {
				break
			}
			steps := int64(0)
			for ok := ti.SeekGE(k); int64(len(out)/step) < count && steps <= 2*size; ok = ti.Next() {
				steps++
				if !ok {
					ok = ti.SeekGE(lo) // wrap around
				}
				if !ok {
					break
				}
				if !seen[string(ti.Key())] {
					seen[string(ti.Key())] = true
					add(append([]byte{}, ti.Key()...), append([]byte{}, ti.Value()...))
				}
			}
			break
		}
		k, v, ok := randomKeyIn(ti, lo, hi)
		if !ok {
			break
		}
		if distinct {
			if seen[string(k)] {
				continue
			}
			seen[string(k)] = true
		}
		add(k, v)
	}
	return out, ti.Error()
}

// seeker is what randomKeyIn needs of an iterator.
type seeker interface {
	SeekGE([]byte) bool
	SeekLT([]byte) bool
	Key() []byte
	Value() []byte
}

var (
	_ seeker = (*txIter)(nil)
	_ seeker = (*lsm.Iterator)(nil)
)

// randomKeyIn returns a pseudo-random key in [lo, hi) and its value (copies),
// descending the key space: at each step it takes the first and last key of
// the current prefix, extends the prefix by their common bytes, then picks a
// byte between their next bytes at random and moves to the first key at or
// after it. Every key can be chosen; keys after gaps in the byte space are
// more likely than others.
func randomKeyIn(it seeker, lo, hi []byte) ([]byte, []byte, bool) {
	prefix := append([]byte{}, lo...)
	for depth := 0; depth < 256; depth++ {
		if !it.SeekGE(prefix) {
			return nil, nil, false
		}
		a := append([]byte{}, it.Key()...)
		if !bytes.HasPrefix(a, prefix) {
			return nil, nil, false
		}
		end := prefixEnd(prefix)
		if end == nil || (hi != nil && bytes.Compare(end, hi) > 0) {
			end = hi
		}
		if !it.SeekLT(end) {
			return nil, nil, false
		}
		b := it.Key()
		if bytes.Equal(a, b) {
			return a, append([]byte{}, it.Value()...), true
		}
		i := len(prefix)
		for i < len(a) && i < len(b) && a[i] == b[i] {
			i++
		}
		prefix = append(prefix[:0], a[:i]...)
		// b is longer than i (a < b and they agree on i bytes); a may end.
		ca := -1
		if i < len(a) {
			ca = int(a[i])
		}
		c := ca + rand.IntN(int(b[i])-ca+1)
		if c < 0 {
			if !it.SeekGE(a) {
				return nil, nil, false
			}
			return a, append([]byte{}, it.Value()...), true
		}
		if !it.SeekGE(append(prefix, byte(c))) {
			return nil, nil, false
		}
		k := it.Key()
		if len(k) <= i || !bytes.HasPrefix(k, prefix) {
			return nil, nil, false
		}
		prefix = append(prefix, k[i])
	}
	return nil, nil, false
}

// prefixEnd returns the smallest key above every key starting with p, nil
// if there is none.
func prefixEnd(p []byte) []byte {
	e := append([]byte{}, p...)
	for i := len(e) - 1; i >= 0; i-- {
		if e[i] != 0xFF {
			e[i]++
			return e[:i+1]
		}
	}
	return nil
}

package collections

import (
	"bytes"
	"math"

	"github.com/stratadb/strata/lsm"
)

// A list's elements sit at the sequence numbers head..tail-1 of its header,
// with no gaps, so index i is the engine key seqKey(id, head+i).

// push adds elems at the head (left) or the tail, creating the list if
// create is set, and returns the new length (0 if the list did not exist and
// create is not set).
func (tx *Tx) push(key []byte, left, create bool, elems [][]byte) (int64, error) {
	if len(elems) == 0 {
		return 0, ErrInvalidArgument
	}
	for _, e := range elems {
		if len(e) > lsm.MaxValueSize {
			return 0, ErrStringTooLong
		}
	}
	m, h, ok, err := tx.openColl(key, TypeList, create)
	if err != nil || !ok {
		return 0, err
	}
	for _, e := range elems {
		if left {
			if h.head == 0 {
				return 0, ErrInvalidArgument
			}
			h.head--
			tx.putRaw(seqKey(nil, m.id, h.head), e, 0)
		} else {
			if h.tail == math.MaxUint64 {
				return 0, ErrInvalidArgument
			}
			tx.putRaw(seqKey(nil, m.id, h.tail), e, 0)
			h.tail++
		}
	}
	h.size = int64(h.tail - h.head)
	tx.putHeader(m, h)
	tx.touch(key)
	return h.size, nil
}

// LPush pushes elems at the head, one after the other (so the last ends up
// first), creating the list, and returns its new length (LPUSH).
func (tx *Tx) LPush(key []byte, elems ...[]byte) (int64, error) {
	return tx.push(key, true, true, elems)
}

// RPush pushes elems at the tail and returns the new length (RPUSH).
func (tx *Tx) RPush(key []byte, elems ...[]byte) (int64, error) {
	return tx.push(key, false, true, elems)
}

// LPushX is LPush only if the list exists; otherwise it returns 0 (LPUSHX).
func (tx *Tx) LPushX(key []byte, elems ...[]byte) (int64, error) {
	return tx.push(key, true, false, elems)
}

// RPushX is RPush only if the list exists (RPUSHX).
func (tx *Tx) RPushX(key []byte, elems ...[]byte) (int64, error) {
	return tx.push(key, false, false, elems)
}

// pop removes up to count elements from one end and returns them in pop
// order; ErrNotFound if the list does not exist.
func (tx *Tx) pop(key []byte, left bool, count int64) ([][]byte, error) {
	if count < 0 {
		return nil, ErrInvalidArgument
	}
	m, h, ok, err := tx.openColl(key, TypeList, false)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNotFound
	}
	count = min(count, h.size)
	out := make([][]byte, 0, min(count, maxPrealloc))
	if count == 0 {
		return out, nil
	}
	var lo, hi uint64
	if left {
		lo, hi = h.head, h.head+uint64(count)
	} else {
		lo, hi = h.tail-uint64(count), h.tail
	}
	if count == 1 {
		v, found, err := tx.getRaw(seqKey(nil, m.id, lo))
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, corrupt("list element missing", key, nil)
		}
		out = append(out, v)
		tx.delRaw(seqKey(nil, m.id, lo))
	} else {
		ti := tx.iter(seqKey(nil, m.id, lo), seqKey(nil, m.id, hi))
		ok := ti.First()
		if !left {
			ok = ti.Last()
		}
		for ; ok; ok = step(ti, left) {
			out = append(out, append([]byte{}, ti.Value()...))
		}
		if err := ti.Close(); err != nil {
			return nil, err
		}
		if int64(len(out)) != count {
			return nil, corrupt("list elements missing", key, nil)
		}
		tx.deleteSeqs(m.id, lo, hi)
	}
	if left {
		h.head = hi
	} else {
		h.tail = lo
	}
	h.size = int64(h.tail - h.head)
	tx.finish(key, m, h)
	return out, nil
}

func step(ti *txIter, forward bool) bool {
	if forward {
		return ti.Next()
	}
	return ti.Prev()
}

// LPop removes and returns the first element (LPOP); ErrNotFound if the
// list does not exist.
func (tx *Tx) LPop(key []byte) ([]byte, error) {
	out, err := tx.pop(key, true, 1)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// RPop removes and returns the last element (RPOP).
func (tx *Tx) RPop(key []byte) ([]byte, error) {
	out, err := tx.pop(key, false, 1)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// LPopCount removes and returns up to count elements from the head (LPOP
// key count): ErrNotFound if the list does not exist, an empty slice for
// count 0.
func (tx *Tx) LPopCount(key []byte, count int64) ([][]byte, error) { return tx.pop(key, true, count) }

// RPopCount removes and returns up to count elements from the tail, last
// first (RPOP key count).
func (tx *Tx) RPopCount(key []byte, count int64) ([][]byte, error) { return tx.pop(key, false, count) }

// LLen returns the length of the list, 0 if it does not exist (LLEN).
func (tx *Tx) LLen(key []byte) (int64, error) { return tx.collLen(key, TypeList) }

// readList resolves key as a list for reading, with its header.
func (tx *Tx) readList(key []byte) (meta, header, bool, error) {
	m, ok, err := tx.readColl(key, TypeList)
	if err != nil || !ok {
		return m, header{}, false, err
	}
	h, err := tx.header(key, m)
	return m, h, err == nil, err
}

// ListRange clamps LRANGE's start and stop (negative from the end) to the
// indexes [start, stop] of a list of n elements; ok is false if the range
// is empty.
func ListRange(n, start, stop int64) (int64, int64, bool) {
	if start < 0 {
		start += n
	}
	if stop < 0 {
		stop += n
	}
	if start < 0 {
		start = 0
	}
	if start > stop || start >= n {
		return 0, 0, false
	}
	if stop >= n {
		stop = n - 1
	}
	return start, stop, true
}

// LRange returns the elements from start to stop, both inclusive, negative
// indexes counting from the end (LRANGE). It costs one seek and the
// elements read; LIter streams a long range instead.
func (tx *Tx) LRange(key []byte, start, stop int64) ([][]byte, error) {
	m, h, ok, err := tx.readList(key)
	if err != nil || !ok {
		return [][]byte{}, err
	}
	a, b, ok := ListRange(h.size, start, stop)
	out := [][]byte{}
	if !ok {
		return out, nil
	}
	ti := tx.iter(seqKey(nil, m.id, h.head+uint64(a)), seqKey(nil, m.id, h.head+uint64(b)+1))
	for ok := ti.First(); ok; ok = ti.Next() {
		out = append(out, append([]byte{}, ti.Value()...))
	}
	return out, ti.Close()
}

// LIndex returns the element at index (negative from the end) with one
// engine read (LINDEX); ErrNotFound if out of range or no list.
func (tx *Tx) LIndex(key []byte, index int64) ([]byte, error) {
	m, h, ok, err := tx.readList(key)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNotFound
	}
	if index < 0 {
		index += h.size
	}
	if index < 0 || index >= h.size {
		return nil, ErrNotFound
	}
	v, found, err := tx.getRaw(seqKey(nil, m.id, h.head+uint64(index)))
	if err == nil && !found {
		err = corrupt("list element missing", key, nil)
	}
	return v, err
}

// LSet sets the element at index (LSET): ErrNoSuchKey if the list does not
// exist, ErrIndexOutOfRange beyond it.
func (tx *Tx) LSet(key []byte, index int64, elem []byte) error {
	if len(elem) > lsm.MaxValueSize {
		return ErrStringTooLong
	}
	m, h, ok, err := tx.openColl(key, TypeList, false)
	if err != nil {
		return err
	}
	if !ok {
		return ErrNoSuchKey
	}
	if index < 0 {
		index += h.size
	}
	if index < 0 || index >= h.size {
		return ErrIndexOutOfRange
	}
	tx.putRaw(seqKey(nil, m.id, h.head+uint64(index)), elem, 0)
	tx.touch(key)
	return nil
}

// LTrim keeps only the elements from start to stop (LTRIM), with at most
// two range deletes whatever the number of elements removed.
func (tx *Tx) LTrim(key []byte, start, stop int64) error {
	m, h, ok, err := tx.openColl(key, TypeList, false)
	if err != nil || !ok {
		return err
	}
	n := h.size
	if start < 0 {
		start += n
	}
	if stop < 0 {
		stop += n
	}
	start = max(start, 0)
	var ltrim, rtrim int64
	if start > stop || start >= n {
		ltrim, rtrim = n, 0
	} else {
		stop = min(stop, n-1)
		ltrim, rtrim = start, n-stop-1
	}
	if ltrim > 0 {
		tx.deleteSeqs(m.id, h.head, h.head+uint64(ltrim))
		h.head += uint64(ltrim)
	}
	if rtrim > 0 && h.head < h.tail {
		tx.deleteSeqs(m.id, h.tail-uint64(rtrim), h.tail)
		h.tail -= uint64(rtrim)
	}
	if ltrim == 0 && rtrim == 0 {
		return nil
	}
	h.size = int64(h.tail - h.head)
	tx.finish(key, m, h)
	return nil
}

// listElems reads the elements at indexes [a, b) of the list.
func (tx *Tx) listElems(m meta, h header, a, b int64) ([][]byte, error) {
	// The header's size may be damaged: reserve no more than a little
	// ahead of the elements actually read.
	out := make([][]byte, 0, min(max(b-a, 0), maxPrealloc))
	if a >= b {
		return out, nil
	}
	ti := tx.iter(seqKey(nil, m.id, h.head+uint64(a)), seqKey(nil, m.id, h.head+uint64(b)))
	for ok := ti.First(); ok; ok = ti.Next() {
		out = append(out, append([]byte{}, ti.Value()...))
	}
	if err := ti.Close(); err != nil {
		return nil, err
	}
	if int64(len(out)) != b-a {
		return nil, corrupt("list elements missing", nil, nil)
	}
	return out, nil
}

// LRem removes the elements equal to elem (LREM): the first count from the
// head if count > 0, the last -count from the tail if count < 0, all if 0.
// It returns how many it removed. The elements on the shorter side of the
// removals are moved to close the gap.
func (tx *Tx) LRem(key []byte, count int64, elem []byte) (int64, error) {
	m, h, ok, err := tx.openColl(key, TypeList, false)
	if err != nil || !ok {
		return 0, err
	}
	all, err := tx.listElems(m, h, 0, h.size)
	if err != nil {
		return 0, err
	}
	remove := make([]bool, len(all))
	var k int64
	if count >= 0 {
		for i := range all {
			if (count == 0 || k < count) && bytes.Equal(all[i], elem) {
				remove[i] = true
				k++
			}
		}
	} else {
		for i := len(all) - 1; i >= 0; i-- {
			if k < -count && bytes.Equal(all[i], elem) {
				remove[i] = true
				k++
			}
		}
	}
	if k == 0 {
		return 0, nil
	}
	tx.rewriteWithout(m, &h, all, remove, k)
	tx.finish(key, m, h)
	return k, nil
}

// rewriteWithout removes the k elements marked in remove from the list m
// whose elements are all, moving the elements on the cheaper side.
func (tx *Tx) rewriteWithout(m meta, h *header, all [][]byte, remove []bool, k int64) {
	n := int64(len(all))
	first, last := int64(-1), int64(-1)
	for i := range remove {
		if remove[i] {
			if first < 0 {
				first = int64(i)
			}
			last = int64(i)
		}
	}
	if n-first <= last+1 {
		// Move the kept elements after the first removal towards the head.
		pos := first
		for i := first; i < n; i++ {
			if !remove[i] {
				tx.putRaw(seqKey(nil, m.id, h.head+uint64(pos)), all[i], 0)
				pos++
			}
		}
		tx.deleteSeqs(m.id, h.tail-uint64(k), h.tail)
		h.tail -= uint64(k)
	} else {
		// Move the kept elements before the last removal towards the tail.
		pos := last
		for i := last; i >= 0; i-- {
			if !remove[i] {
				tx.putRaw(seqKey(nil, m.id, h.head+uint64(pos)), all[i], 0)
				pos--
			}
		}
		tx.deleteSeqs(m.id, h.head, h.head+uint64(k))
		h.head += uint64(k)
	}
	h.size = int64(h.tail - h.head)
}

// LInsert inserts elem before (or after) the first element equal to pivot
// and returns the new length (LINSERT): -1 if pivot is not there, 0 if the
// list does not exist. The shorter side moves by one.
func (tx *Tx) LInsert(key []byte, before bool, pivot, elem []byte) (int64, error) {
	if len(elem) > lsm.MaxValueSize {
		return 0, ErrStringTooLong
	}
	m, h, ok, err := tx.openColl(key, TypeList, false)
	if err != nil || !ok {
		return 0, err
	}
	ti := tx.iter(seqKey(nil, m.id, h.head), seqKey(nil, m.id, h.tail))
	p := int64(-1)
	i := int64(0)
	for ok := ti.First(); ok; ok = ti.Next() {
		if bytes.Equal(ti.Value(), pivot) {
			p = i
			break
		}
		i++
	}
	if err := ti.Close(); err != nil {
		return 0, err
	}
	if p < 0 {
		return -1, nil
	}
	at := p // the new element's index
	if !before {
		at = p + 1
	}
	if at <= h.size-at {
		// Move [0, at) one towards the head.
		part, err := tx.listElems(m, h, 0, at)
		if err != nil {
			return 0, err
		}
		for j, v := range part {
			tx.putRaw(seqKey(nil, m.id, h.head-1+uint64(j)), v, 0)
		}
		h.head--
	} else {
		part, err := tx.listElems(m, h, at, h.size)
		if err != nil {
			return 0, err
		}
		for j, v := range part {
			tx.putRaw(seqKey(nil, m.id, h.head+uint64(at)+1+uint64(j)), v, 0)
		}
		h.tail++
	}
	tx.putRaw(seqKey(nil, m.id, h.head+uint64(at)), elem, 0)
	h.size++
	tx.putHeader(m, h)
	tx.touch(key)
	return h.size, nil
}

// LPosArgs are LPOS's options.
type LPosArgs struct {
	// Rank: 1 (or 0) for the first match, 2 for the second, ...; negative
	// counts matches from the tail.
	Rank int64
	// Count is the number of matches to return; 0 returns every match.
	// Without COUNT, LPOS wants one: pass 1.
	Count int64
	// MaxLen compares at most this many elements; 0 = all.
	MaxLen int64
}

// LPos returns the indexes of the elements equal to elem (LPOS), scanning
// from the head, or from the tail for a negative Rank.
func (tx *Tx) LPos(key, elem []byte, a LPosArgs) ([]int64, error) {
	if a.Count < 0 || a.MaxLen < 0 || a.Rank == math.MinInt64 {
		return nil, ErrInvalidArgument
	}
	m, h, ok, err := tx.readList(key)
	out := []int64{}
	if err != nil || !ok {
		return out, err
	}
	rank := a.Rank
	if rank == 0 {
		rank = 1
	}
	forward := rank > 0
	skip := rank - 1
	if !forward {
		skip = -rank - 1
	}
	ti := tx.iter(seqKey(nil, m.id, h.head), seqKey(nil, m.id, h.tail))
	ok = ti.First()
	idx := int64(0)
	if !forward {
		ok = ti.Last()
		idx = h.size - 1
	}
	for compared := int64(0); ok && (a.MaxLen == 0 || compared < a.MaxLen); compared++ {
		if bytes.Equal(ti.Value(), elem) {
			if skip > 0 {
				skip--
			} else {
				out = append(out, idx)
				if a.Count != 0 && int64(len(out)) >= a.Count {
					break
				}
			}
		}
		if forward {
			idx++
		} else {
			idx--
		}
		ok = step(ti, forward)
	}
	return out, ti.Close()
}

// LMove pops an element from one end of src and pushes it at one end of dst
// (LMOVE; RPOPLPUSH is LMove(src, dst, false, true)), returning it.
// ErrNotFound if src does not exist; ErrWrongType if dst holds another type.
func (tx *Tx) LMove(src, dst []byte, srcLeft, dstLeft bool) ([]byte, error) {
	if _, ok, err := tx.coll(src, TypeList, true); err != nil || !ok {
		if err == nil {
			err = ErrNotFound
		}
		return nil, err
	}
	if _, _, err := tx.coll(dst, TypeList, true); err != nil {
		return nil, err
	}
	out, err := tx.pop(src, srcLeft, 1)
	if err != nil {
		return nil, err
	}
	if _, err := tx.push(dst, dstLeft, true, out); err != nil {
		return nil, err
	}
	return out[0], nil
}

// LIter streams the elements from start to stop inside the Tx.
func (tx *Tx) LIter(key []byte, start, stop int64) (*Iter, error) {
	m, h, ok, err := tx.readList(key)
	if err != nil || !ok {
		return emptyIter(), err
	}
	a, b, ok := ListRange(h.size, start, stop)
	if !ok {
		return emptyIter(), nil
	}
	lo, hi := seqKey(nil, m.id, h.head+uint64(a)), seqKey(nil, m.id, h.head+uint64(b)+1)
	return newIter(tx.iter(lo, hi), TypeList, lo, nil, false, -1), nil
}

// ---- Store wrappers ----

// LPush pushes elems at the head and returns the new length (LPUSH).
func (s *Store) LPush(key []byte, elems ...[]byte) (int64, error) {
	var n int64
	var err error
	for tx := s.begin1(true, key); ; {
		n, err = tx.LPush(key, elems...)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// RPush pushes elems at the tail and returns the new length (RPUSH).
func (s *Store) RPush(key []byte, elems ...[]byte) (int64, error) {
	var n int64
	var err error
	for tx := s.begin1(true, key); ; {
		n, err = tx.RPush(key, elems...)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// LPushX pushes at the head only if the list exists (LPUSHX).
func (s *Store) LPushX(key []byte, elems ...[]byte) (int64, error) {
	var n int64
	var err error
	for tx := s.begin1(true, key); ; {
		n, err = tx.LPushX(key, elems...)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// RPushX pushes at the tail only if the list exists (RPUSHX).
func (s *Store) RPushX(key []byte, elems ...[]byte) (int64, error) {
	var n int64
	var err error
	for tx := s.begin1(true, key); ; {
		n, err = tx.RPushX(key, elems...)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// LPop removes and returns the first element (LPOP); ErrNotFound if none.
func (s *Store) LPop(key []byte) ([]byte, error) {
	var v []byte
	var err error
	for tx := s.begin1(true, key); ; {
		v, err = tx.LPop(key)
		if tx.end(&err) {
			break
		}
	}
	return v, err
}

// RPop removes and returns the last element (RPOP); ErrNotFound if none.
func (s *Store) RPop(key []byte) ([]byte, error) {
	var v []byte
	var err error
	for tx := s.begin1(true, key); ; {
		v, err = tx.RPop(key)
		if tx.end(&err) {
			break
		}
	}
	return v, err
}

// LPopCount removes and returns up to count elements from the head.
func (s *Store) LPopCount(key []byte, count int64) ([][]byte, error) {
	var v [][]byte
	var err error
	for tx := s.begin1(true, key); ; {
		v, err = tx.LPopCount(key, count)
		if tx.end(&err) {
			break
		}
	}
	return v, err
}

// RPopCount removes and returns up to count elements from the tail.
func (s *Store) RPopCount(key []byte, count int64) ([][]byte, error) {
	var v [][]byte
	var err error
	for tx := s.begin1(true, key); ; {
		v, err = tx.RPopCount(key, count)
		if tx.end(&err) {
			break
		}
	}
	return v, err
}

// LLen returns the length of the list (LLEN).
func (s *Store) LLen(key []byte) (int64, error) {
	var n int64
	var err error
	for tx := s.begin1(false, key); ; {
		n, err = tx.LLen(key)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// LRange returns the elements from start to stop (LRANGE).
func (s *Store) LRange(key []byte, start, stop int64) ([][]byte, error) {
	var v [][]byte
	var err error
	for tx := s.begin1(false, key); ; {
		v, err = tx.LRange(key, start, stop)
		if tx.end(&err) {
			break
		}
	}
	return v, err
}

// LIndex returns the element at index (LINDEX); ErrNotFound if none.
func (s *Store) LIndex(key []byte, index int64) ([]byte, error) {
	var v []byte
	var err error
	for tx := s.begin1(false, key); ; {
		v, err = tx.LIndex(key, index)
		if tx.end(&err) {
			break
		}
	}
	return v, err
}

// LSet sets the element at index (LSET).
func (s *Store) LSet(key []byte, index int64, elem []byte) error {
	var err error
	for tx := s.begin1(true, key); ; {
		err = tx.LSet(key, index, elem)
		if tx.end(&err) {
			return err
		}
	}
}

// LTrim keeps the elements from start to stop (LTRIM).
func (s *Store) LTrim(key []byte, start, stop int64) error {
	var err error
	for tx := s.begin1(true, key); ; {
		err = tx.LTrim(key, start, stop)
		if tx.end(&err) {
			return err
		}
	}
}

// LRem removes elements equal to elem (LREM).
func (s *Store) LRem(key []byte, count int64, elem []byte) (int64, error) {
	var n int64
	var err error
	for tx := s.begin1(true, key); ; {
		n, err = tx.LRem(key, count, elem)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// LInsert inserts elem before or after pivot (LINSERT).
func (s *Store) LInsert(key []byte, before bool, pivot, elem []byte) (int64, error) {
	var n int64
	var err error
	for tx := s.begin1(true, key); ; {
		n, err = tx.LInsert(key, before, pivot, elem)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// LPos returns the indexes of elements equal to elem (LPOS).
func (s *Store) LPos(key, elem []byte, a LPosArgs) ([]int64, error) {
	var v []int64
	var err error
	for tx := s.begin1(false, key); ; {
		v, err = tx.LPos(key, elem, a)
		if tx.end(&err) {
			break
		}
	}
	return v, err
}

// LMove moves an element from src to dst (LMOVE).
func (s *Store) LMove(src, dst []byte, srcLeft, dstLeft bool) ([]byte, error) {
	var v []byte
	var err error
	for tx := s.beginN(true, [][]byte{src, dst}); ; {
		v, err = tx.LMove(src, dst, srcLeft, dstLeft)
		if tx.end(&err) {
			break
		}
	}
	return v, err
}

// RPopLPush is LMove(src, dst, false, true) (RPOPLPUSH).
func (s *Store) RPopLPush(src, dst []byte) ([]byte, error) { return s.LMove(src, dst, false, true) }

// LIter streams the elements from start to stop of the list at key, as of
// now, without holding them in memory. Close it.
func (s *Store) LIter(key []byte, start, stop int64) (*Iter, error) {
	var x *Iter
	err := s.run1(false, key, func(tx *Tx) error {
		m, h, ok, err := tx.readList(key)
		if err != nil || !ok {
			x = emptyIter()
			return err
		}
		a, b, ok := ListRange(h.size, start, stop)
		if !ok {
			x = emptyIter()
			return nil
		}
		lo, hi := seqKey(nil, m.id, h.head+uint64(a)), seqKey(nil, m.id, h.head+uint64(b)+1)
		it, err := s.db.NewIter(&lsm.IterOptions{LowerBound: lo, UpperBound: hi})
		if err != nil {
			return err
		}
		x = newIter(it, TypeList, lo, nil, false, -1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return x, nil
}

// RPopLPush is LMove(src, dst, false, true) (RPOPLPUSH).
func (tx *Tx) RPopLPush(src, dst []byte) ([]byte, error) { return tx.LMove(src, dst, false, true) }

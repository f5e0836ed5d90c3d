package collections

import (
	"math"

	"github.com/stratadb/strata/lsm"
)

// readColl resolves key as a collection of type t for reading.
func (tx *Tx) readColl(key []byte, t Type) (meta, bool, error) {
	return tx.coll(key, t, false)
}

// HSet sets field, value, field, value, ... in the hash at key, creating it,
// and returns how many fields were new (HSET, HMSET).
func (tx *Tx) HSet(key []byte, fieldValues ...[]byte) (int, error) {
	if len(fieldValues) == 0 || len(fieldValues)%2 != 0 {
		return 0, ErrInvalidArgument
	}
	for i := 0; i < len(fieldValues); i += 2 {
		if err := checkElem(fieldValues[i]); err != nil {
			return 0, err
		}
	}
	m, h, _, err := tx.openColl(key, TypeHash, true)
	if err != nil {
		return 0, err
	}
	added := 0
	for i := 0; i < len(fieldValues); i += 2 {
		ek := tx.keep(elemKey(tx.scratch(), m.id, fieldValues[i]))
		had, err := tx.hasRaw(ek)
		if err != nil {
			return 0, err
		}
		if !had {
			added++
		}
		tx.putRaw(ek, fieldValues[i+1], 0)
	}
	h.size += int64(added)
	if added > 0 || h.size == 0 {
		tx.putHeader(m, h)
	}
	tx.touch(key)
	return added, nil
}

// HSetNX sets field only if it does not exist and reports whether it did
// (HSETNX).
func (tx *Tx) HSetNX(key, field, value []byte) (bool, error) {
	if err := checkElem(field); err != nil {
		return false, err
	}
	m, ok, err := tx.coll(key, TypeHash, true)
	if err != nil {
		return false, err
	}
	if ok {
		has, err := tx.hasRaw(elemKey(nil, m.id, field))
		if err != nil || has {
			return false, err
		}
	}
	_, err = tx.HSet(key, field, value)
	return err == nil, err
}

// HGet returns the value of field (HGET): ErrNotFound if the key or the
// field does not exist.
func (tx *Tx) HGet(key, field []byte) ([]byte, error) {
	m, ok, err := tx.readColl(key, TypeHash)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNotFound
	}
	v, found, err := tx.getRaw(tx.keep(elemKey(tx.scratch(), m.id, field)))
	if err == nil && !found {
		err = ErrNotFound
	}
	return v, err
}

// hgetAppend is HGet appending the value to dst.
func (tx *Tx) hgetAppend(dst, key, field []byte) ([]byte, error) {
	m, ok, err := tx.readColl(key, TypeHash)
	if err != nil {
		return dst, err
	}
	if !ok {
		return dst, ErrNotFound
	}
	out, found, err := tx.getRawAppend(dst, tx.keep(elemKey(tx.scratch(), m.id, field)))
	if err == nil && !found {
		err = ErrNotFound
	}
	return out, err
}

// HMGet returns the values of the fields, nil for each one that does not
// exist (HMGET).
func (tx *Tx) HMGet(key []byte, fields ...[]byte) ([][]byte, error) {
	m, ok, err := tx.readColl(key, TypeHash)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(fields))
	if !ok {
		return out, nil
	}
	for i, f := range fields {
		v, found, err := tx.getRaw(tx.keep(elemKey(tx.scratch(), m.id, f)))
		if err != nil {
			return nil, err
		}
		if found {
			out[i] = v
		}
	}
	return out, nil
}

// removeElems deletes the given elements of m if present and returns how
// many it deleted.
func (tx *Tx) removeElems(m meta, elems [][]byte) (int, error) {
	n := 0
	for _, e := range elems {
		ek := tx.keep(elemKey(tx.scratch(), m.id, e))
		had, err := tx.hasRaw(ek)
		if err != nil {
			return 0, err
		}
		if had {
			tx.delRaw(ek)
			n++
		}
	}
	return n, nil
}

// HDel deletes fields and returns how many existed (HDEL). The hash goes
// when its last field does.
func (tx *Tx) HDel(key []byte, fields ...[]byte) (int, error) {
	m, h, ok, err := tx.openColl(key, TypeHash, false)
	if err != nil || !ok {
		return 0, err
	}
	n, err := tx.removeElems(m, fields)
	if err != nil || n == 0 {
		return 0, err
	}
	h.size -= int64(n)
	tx.finish(key, m, h)
	return n, nil
}

// HExists reports whether field exists (HEXISTS).
func (tx *Tx) HExists(key, field []byte) (bool, error) {
	m, ok, err := tx.readColl(key, TypeHash)
	if err != nil || !ok {
		return false, err
	}
	return tx.hasRaw(elemKey(nil, m.id, field))
}

// collLen returns the size of the collection at key, 0 if it does not exist.
func (tx *Tx) collLen(key []byte, t Type) (int64, error) {
	m, ok, err := tx.readColl(key, t)
	if err != nil || !ok {
		return 0, err
	}
	h, err := tx.header(key, m)
	return h.size, err
}

// HLen returns the number of fields (HLEN); 0 if key does not exist.
func (tx *Tx) HLen(key []byte) (int64, error) { return tx.collLen(key, TypeHash) }

// HGetAll returns every field and value as field, value, field, value, ...
// in field byte order (HGETALL). HIter streams a large hash instead.
func (tx *Tx) HGetAll(key []byte) ([][]byte, error) {
	m, ok, err := tx.readColl(key, TypeHash)
	if err != nil || !ok {
		return nil, err
	}
	return tx.allElems(m, true)
}

// HKeys returns every field in byte order (HKEYS).
func (tx *Tx) HKeys(key []byte) ([][]byte, error) {
	m, ok, err := tx.readColl(key, TypeHash)
	if err != nil || !ok {
		return nil, err
	}
	return tx.allElems(m, false)
}

// HVals returns every value, in the order of their fields (HVALS).
func (tx *Tx) HVals(key []byte) ([][]byte, error) {
	all, err := tx.HGetAll(key)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, 0, len(all)/2)
	for i := 1; i < len(all); i += 2 {
		out = append(out, all[i])
	}
	return out, nil
}

// HStrLen returns the length of field's value, 0 if it does not exist
// (HSTRLEN).
func (tx *Tx) HStrLen(key, field []byte) (int, error) {
	v, err := tx.HGet(key, field)
	if err == ErrNotFound {
		return 0, nil
	}
	return len(v), err
}

// HIncrBy adds delta to the integer in field, creating it from 0, and
// returns the new value (HINCRBY). ErrHashNotInteger if the value is not an
// integer; ErrOverflow if the sum leaves int64.
func (tx *Tx) HIncrBy(key, field []byte, delta int64) (int64, error) {
	if err := checkElem(field); err != nil {
		return 0, err
	}
	m, h, _, err := tx.openColl(key, TypeHash, true)
	if err != nil {
		return 0, err
	}
	ek := elemKey(nil, m.id, field)
	v, found, err := tx.getRaw(ek)
	if err != nil {
		return 0, err
	}
	var cur int64
	if found {
		var ok bool
		if cur, ok = ParseInt(v); !ok {
			return 0, ErrHashNotInteger
		}
	}
	n, err := addInt(cur, delta)
	if err != nil {
		return 0, err
	}
	var b [20]byte
	tx.putRaw(ek, appendInt(b[:0], n), 0)
	if !found {
		h.size++
		tx.putHeader(m, h)
	}
	tx.touch(key)
	return n, nil
}

// HIncrByFloat adds incr to the float in field as Redis does and returns the
// result (HINCRBYFLOAT).
func (tx *Tx) HIncrByFloat(key, field []byte, incr float64) (float64, error) {
	b, err := tx.HIncrByFloatText(key, field, floatText(incr))
	if err != nil {
		return 0, err
	}
	return parseFloatResult(b), nil
}

// HIncrByFloatText is HIncrByFloat with the increment as text, returning the
// stored text: HINCRBYFLOAT's exact reply.
func (tx *Tx) HIncrByFloatText(key, field, incr []byte) ([]byte, error) {
	if err := checkElem(field); err != nil {
		return nil, err
	}
	m, ok, err := tx.coll(key, TypeHash, true)
	if err != nil {
		return nil, err
	}
	var v []byte
	found := false
	if ok {
		if v, found, err = tx.getRaw(elemKey(nil, m.id, field)); err != nil {
			return nil, err
		}
	}
	r, err := incrFloatText(v, found, incr, ErrHashNotFloat)
	if err != nil {
		return nil, err
	}
	if _, err := tx.HSet(key, field, r); err != nil {
		return nil, err
	}
	return r, nil
}

// HRandField returns random fields (HRANDFIELD): with count > 0 up to count
// distinct ones, with count < 0 exactly -count that may repeat; with
// withValues each is followed by its value. The key not existing gives nil.
func (tx *Tx) HRandField(key []byte, count int64, withValues bool) ([][]byte, error) {
	m, ok, err := tx.readColl(key, TypeHash)
	if err != nil || !ok || count == 0 {
		return nil, err
	}
	h, err := tx.header(key, m)
	if err != nil {
		return nil, err
	}
	return tx.randomPick(m, h.size, count, withValues)
}

// randomPick implements the count rules of HRANDFIELD, SRANDMEMBER and
// ZRANDMEMBER over the elements of m.
func (tx *Tx) randomPick(m meta, size, count int64, withValues bool) ([][]byte, error) {
	if count == math.MinInt64 {
		return nil, ErrCountOutOfRange
	}
	if count >= size {
		return tx.allElems(m, withValues)
	}
	if count > 0 {
		return tx.randomElems(m, size, count, true, withValues)
	}
	return tx.randomElems(m, size, -count, false, withValues)
}

// scanElems returns up to count elements of m after the element after (nil:
// from the first), as (suffix[, value]) pairs, and the element to resume
// after, nil when the scan is complete.
func (tx *Tx) scanElems(m meta, after []byte, count int, withValues bool) ([][]byte, []byte, error) {
	if count <= 0 {
		count = 10
	}
	lo, hi := elemBounds(m.id)
	ti := tx.iter(lo, hi)
	start := lo
	if after != nil {
		start = append(elemKey(nil, m.id, after), 0)
	}
	var out [][]byte
	var last []byte
	n := 0
	ok := ti.SeekGE(start)
	for ; ok && n < count; ok = ti.Next() {
		last = append([]byte{}, ti.Key()[elemOff:]...)
		out = append(out, last)
		if withValues {
			out = append(out, append([]byte{}, ti.Value()...))
		}
		n++
	}
	if !ok {
		last = nil
	}
	return out, last, ti.Close()
}

// HScan returns up to count fields with their values after the field
// cursor (nil: from the start), and the cursor to continue from, nil when
// done (HSCAN; MATCH is the caller's filter). Every field present for the
// whole scan is returned exactly once.
func (tx *Tx) HScan(key, cursor []byte, count int) ([][]byte, []byte, error) {
	m, ok, err := tx.readColl(key, TypeHash)
	if err != nil || !ok {
		return nil, nil, err
	}
	return tx.scanElems(m, cursor, count, true)
}

// HIter streams the fields and values of the hash inside the Tx (see Iter);
// it sees the Tx's writes and is valid until the Tx ends.
func (tx *Tx) HIter(key []byte) (*Iter, error) {
	return tx.elemIter(key, TypeHash)
}

func (tx *Tx) elemIter(key []byte, t Type) (*Iter, error) {
	m, ok, err := tx.readColl(key, t)
	if err != nil || !ok {
		return emptyIter(), err
	}
	lo, hi := elemBounds(m.id)
	return newIter(tx.iter(lo, hi), t, lo, nil, false, -1), nil
}

// ---- Store wrappers ----

// HSet sets field, value, ... in the hash at key and returns how many
// fields were new (HSET).
func (s *Store) HSet(key []byte, fieldValues ...[]byte) (int, error) {
	var n int
	var err error
	for tx := s.begin1(true, key); ; {
		n, err = tx.HSet(key, fieldValues...)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// HSetNX sets field only if it does not exist (HSETNX).
func (s *Store) HSetNX(key, field, value []byte) (bool, error) {
	var ok bool
	var err error
	for tx := s.begin1(true, key); ; {
		ok, err = tx.HSetNX(key, field, value)
		if tx.end(&err) {
			break
		}
	}
	return ok, err
}

// HGet returns the value of field (HGET); ErrNotFound if absent.
func (s *Store) HGet(key, field []byte) ([]byte, error) {
	var v []byte
	var err error
	for tx := s.begin1(false, key); ; {
		v, err = tx.HGet(key, field)
		if tx.end(&err) {
			break
		}
	}
	return v, err
}

// HGetAppend is HGet appending the value to dst, and returning the
// extended slice, so that a caller that reuses dst reads a field without an
// allocation (a server's HGET). It returns dst unchanged with an error.
func (s *Store) HGetAppend(dst, key, field []byte) ([]byte, error) {
	out := dst
	var err error
	for tx := s.begin1(false, key); ; {
		out, err = tx.hgetAppend(dst, key, field)
		if tx.end(&err) {
			break
		}
	}
	if err != nil {
		return dst, err
	}
	return out, nil
}

// HMGet returns the values of fields, nil where absent (HMGET).
func (s *Store) HMGet(key []byte, fields ...[]byte) ([][]byte, error) {
	var vs [][]byte
	var err error
	for tx := s.begin1(false, key); ; {
		vs, err = tx.HMGet(key, fields...)
		if tx.end(&err) {
			break
		}
	}
	return vs, err
}

// HDel deletes fields and returns how many existed (HDEL).
func (s *Store) HDel(key []byte, fields ...[]byte) (int, error) {
	var n int
	var err error
	for tx := s.begin1(true, key); ; {
		n, err = tx.HDel(key, fields...)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// HExists reports whether field exists (HEXISTS).
func (s *Store) HExists(key, field []byte) (bool, error) {
	var ok bool
	var err error
	for tx := s.begin1(false, key); ; {
		ok, err = tx.HExists(key, field)
		if tx.end(&err) {
			break
		}
	}
	return ok, err
}

// HLen returns the number of fields (HLEN).
func (s *Store) HLen(key []byte) (int64, error) {
	var n int64
	var err error
	for tx := s.begin1(false, key); ; {
		n, err = tx.HLen(key)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// HGetAll returns field, value, field, value, ... in field order (HGETALL).
// HIter streams a large hash instead.
func (s *Store) HGetAll(key []byte) ([][]byte, error) {
	var vs [][]byte
	var err error
	for tx := s.begin1(false, key); ; {
		vs, err = tx.HGetAll(key)
		if tx.end(&err) {
			break
		}
	}
	return vs, err
}

// HKeys returns every field (HKEYS).
func (s *Store) HKeys(key []byte) ([][]byte, error) {
	var vs [][]byte
	var err error
	for tx := s.begin1(false, key); ; {
		vs, err = tx.HKeys(key)
		if tx.end(&err) {
			break
		}
	}
	return vs, err
}

// HVals returns every value (HVALS).
func (s *Store) HVals(key []byte) ([][]byte, error) {
	var vs [][]byte
	var err error
	for tx := s.begin1(false, key); ; {
		vs, err = tx.HVals(key)
		if tx.end(&err) {
			break
		}
	}
	return vs, err
}

// HStrLen returns the length of field's value (HSTRLEN).
func (s *Store) HStrLen(key, field []byte) (int, error) {
	var n int
	var err error
	for tx := s.begin1(false, key); ; {
		n, err = tx.HStrLen(key, field)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// HIncrBy adds delta to the integer in field (HINCRBY).
func (s *Store) HIncrBy(key, field []byte, delta int64) (int64, error) {
	var n int64
	var err error
	for tx := s.begin1(true, key); ; {
		n, err = tx.HIncrBy(key, field, delta)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// HIncrByFloat adds incr to the float in field (HINCRBYFLOAT).
func (s *Store) HIncrByFloat(key, field []byte, incr float64) (float64, error) {
	var f float64
	var err error
	for tx := s.begin1(true, key); ; {
		f, err = tx.HIncrByFloat(key, field, incr)
		if tx.end(&err) {
			break
		}
	}
	return f, err
}

// HIncrByFloatText is HIncrByFloat with text in and out (the exact reply).
func (s *Store) HIncrByFloatText(key, field, incr []byte) ([]byte, error) {
	var r []byte
	var err error
	for tx := s.begin1(true, key); ; {
		r, err = tx.HIncrByFloatText(key, field, incr)
		if tx.end(&err) {
			break
		}
	}
	return r, err
}

// HRandField returns random fields (HRANDFIELD; see Tx.HRandField).
func (s *Store) HRandField(key []byte, count int64, withValues bool) ([][]byte, error) {
	var vs [][]byte
	var err error
	for tx := s.begin1(false, key); ; {
		vs, err = tx.HRandField(key, count, withValues)
		if tx.end(&err) {
			break
		}
	}
	return vs, err
}

// HScan returns up to count fields and values after cursor, and the next
// cursor, nil when done (HSCAN).
func (s *Store) HScan(key, cursor []byte, count int) ([][]byte, []byte, error) {
	var vs [][]byte
	var next []byte
	var err error
	for tx := s.begin1(false, key); ; {
		vs, next, err = tx.HScan(key, cursor, count)
		if tx.end(&err) {
			break
		}
	}
	return vs, next, err
}

// HIter streams the fields and values of the hash at key in field order,
// as of now, without holding them in memory. Close it.
func (s *Store) HIter(key []byte) (*Iter, error) {
	return s.elemIter(key, TypeHash)
}

// elemIter opens an Iter over every element of the collection at key,
// taking its engine iterator under the key's lock so that it sees the
// collection whole.
func (s *Store) elemIter(key []byte, t Type) (*Iter, error) {
	var x *Iter
	err := s.run1(false, key, func(tx *Tx) error {
		m, ok, err := tx.readColl(key, t)
		if err != nil || !ok {
			x = emptyIter()
			return err
		}
		lo, hi := elemBounds(m.id)
		it, err := s.db.NewIter(&lsm.IterOptions{LowerBound: lo, UpperBound: hi})
		if err != nil {
			return err
		}
		x = newIter(it, t, lo, nil, false, -1)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return x, nil
}

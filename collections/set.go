package collections

import (
	"bytes"
	"slices"
)

// SAdd adds members to the set at key, creating it, and returns how many
// were new (SADD).
func (tx *Tx) SAdd(key []byte, members ...[]byte) (int, error) {
	if len(members) == 0 {
		return 0, ErrInvalidArgument
	}
	for _, e := range members {
		if err := checkElem(e); err != nil {
			return 0, err
		}
	}
	m, h, _, err := tx.openColl(key, TypeSet, true)
	if err != nil {
		return 0, err
	}
	added := 0
	for _, e := range members {
		ek := tx.keep(elemKey(tx.scratch(), m.id, e))
		had, err := tx.hasRaw(ek)
		if err != nil {
			return 0, err
		}
		if !had {
			tx.putRaw(ek, nil, 0)
			added++
		}
	}
	h.size += int64(added)
	if added > 0 {
		tx.putHeader(m, h)
		tx.touch(key)
	}
	return added, nil
}

// SRem removes members and returns how many were there (SREM). The set
// goes with its last member.
func (tx *Tx) SRem(key []byte, members ...[]byte) (int, error) {
	m, h, ok, err := tx.openColl(key, TypeSet, false)
	if err != nil || !ok {
		return 0, err
	}
	n, err := tx.removeElems(m, members)
	if err != nil || n == 0 {
		return 0, err
	}
	h.size -= int64(n)
	tx.finish(key, m, h)
	return n, nil
}

// SIsMember reports whether member is in the set (SISMEMBER).
func (tx *Tx) SIsMember(key, member []byte) (bool, error) {
	m, ok, err := tx.readColl(key, TypeSet)
	if err != nil || !ok {
		return false, err
	}
	return tx.hasRaw(tx.keep(elemKey(tx.scratch(), m.id, member)))
}

// SMIsMember reports for each member whether it is in the set (SMISMEMBER).
func (tx *Tx) SMIsMember(key []byte, members ...[]byte) ([]bool, error) {
	m, ok, err := tx.readColl(key, TypeSet)
	out := make([]bool, len(members))
	if err != nil || !ok {
		return out, err
	}
	for i, e := range members {
		if out[i], err = tx.hasRaw(elemKey(nil, m.id, e)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SMembers returns every member in byte order (SMEMBERS). SIter streams a
// large set instead.
func (tx *Tx) SMembers(key []byte) ([][]byte, error) {
	m, ok, err := tx.readColl(key, TypeSet)
	if err != nil || !ok {
		return nil, err
	}
	return tx.allElems(m, false)
}

// SCard returns the number of members (SCARD).
func (tx *Tx) SCard(key []byte) (int64, error) { return tx.collLen(key, TypeSet) }

// SPop removes and returns up to count random members (SPOP); nil if the
// key does not exist.
func (tx *Tx) SPop(key []byte, count int64) ([][]byte, error) {
	if count < 0 {
		return nil, ErrInvalidArgument
	}
	m, h, ok, err := tx.openColl(key, TypeSet, false)
	if err != nil || !ok || count == 0 {
		return nil, err
	}
	var picked [][]byte
	if count >= h.size {
		picked, err = tx.allElems(m, false)
	} else {
		picked, err = tx.randomElems(m, h.size, count, true, false)
	}
	if err != nil {
		return nil, err
	}
	n, err := tx.removeElems(m, picked)
	if err != nil {
		return nil, err
	}
	h.size -= int64(n)
	tx.finish(key, m, h)
	return picked, nil
}

// SRandMember returns random members (SRANDMEMBER): with count > 0 up to
// count distinct ones, with count < 0 exactly -count that may repeat.
func (tx *Tx) SRandMember(key []byte, count int64) ([][]byte, error) {
	m, ok, err := tx.readColl(key, TypeSet)
	if err != nil || !ok || count == 0 {
		return nil, err
	}
	h, err := tx.header(key, m)
	if err != nil {
		return nil, err
	}
	return tx.randomPick(m, h.size, count, false)
}

// SMove moves member from the set src to the set dst and reports whether it
// was in src (SMOVE).
func (tx *Tx) SMove(src, dst, member []byte) (bool, error) {
	if err := checkElem(member); err != nil {
		return false, err
	}
	sm, sh, ok, err := tx.openColl(src, TypeSet, false)
	if err != nil || !ok {
		return false, err
	}
	if _, _, err := tx.coll(dst, TypeSet, true); err != nil {
		return false, err
	}
	ek := elemKey(nil, sm.id, member)
	has, err := tx.hasRaw(ek)
	if err != nil || !has {
		return false, err
	}
	if bytes.Equal(src, dst) {
		return true, nil
	}
	tx.delRaw(ek)
	sh.size--
	tx.finish(src, sm, sh)
	_, err = tx.SAdd(dst, member)
	return err == nil, err
}

// setsOf resolves keys as sets (a missing key is an empty set, nil meta).
func (tx *Tx) setsOf(keys [][]byte) ([]*meta, []int64, error) {
	ms := make([]*meta, len(keys))
	sizes := make([]int64, len(keys))
	for i, k := range keys {
		m, ok, err := tx.readColl(k, TypeSet)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			h, err := tx.header(k, m)
			if err != nil {
				return nil, nil, err
			}
			ms[i], sizes[i] = &m, h.size
		}
	}
	return ms, sizes, nil
}

// SInter returns the members of every set (SINTER), walking the smallest
// and probing the others.
func (tx *Tx) SInter(keys ...[]byte) ([][]byte, error) {
	return tx.sinter(keys, 0)
}

func (tx *Tx) sinter(keys [][]byte, limit int64) ([][]byte, error) {
	ms, sizes, err := tx.setsOf(keys)
	if err != nil {
		return nil, err
	}
	small := -1
	for i, m := range ms {
		if m == nil {
			return [][]byte{}, nil
		}
		if small < 0 || sizes[i] < sizes[small] {
			small = i
		}
	}
	if small < 0 {
		return [][]byte{}, nil
	}
	lo, hi := elemBounds(ms[small].id)
	ti := tx.iter(lo, hi)
	out := [][]byte{}
	for ok := ti.First(); ok; ok = ti.Next() {
		e := ti.Key()[elemOff:]
		in := true
		for i, m := range ms {
			if i == small {
				continue
			}
			if in, err = tx.hasRaw(elemKey(nil, m.id, e)); err != nil {
				ti.Close()
				return nil, err
			}
			if !in {
				break
			}
		}
		if in {
			out = append(out, append([]byte{}, e...))
			if limit > 0 && int64(len(out)) >= limit {
				break
			}
		}
	}
	return out, ti.Close()
}

// SInterCard returns the size of the intersection, counting no further than
// limit if limit > 0 (SINTERCARD).
func (tx *Tx) SInterCard(limit int64, keys ...[]byte) (int64, error) {
	out, err := tx.sinter(keys, limit)
	return int64(len(out)), err
}

// SUnion returns the members of any of the sets in byte order (SUNION).
func (tx *Tx) SUnion(keys ...[]byte) ([][]byte, error) {
	ms, _, err := tx.setsOf(keys)
	if err != nil {
		return nil, err
	}
	var all [][]byte
	for _, m := range ms {
		if m == nil {
			continue
		}
		e, err := tx.allElems(*m, false)
		if err != nil {
			return nil, err
		}
		all = append(all, e...)
	}
	slices.SortFunc(all, bytes.Compare)
	all = slices.CompactFunc(all, bytes.Equal)
	if all == nil {
		all = [][]byte{}
	}
	return all, nil
}

// SDiff returns the members of the first set in none of the others
// (SDIFF).
func (tx *Tx) SDiff(keys ...[]byte) ([][]byte, error) {
	ms, _, err := tx.setsOf(keys)
	if err != nil {
		return nil, err
	}
	out := [][]byte{}
	if len(ms) == 0 || ms[0] == nil {
		return out, nil
	}
	lo, hi := elemBounds(ms[0].id)
	ti := tx.iter(lo, hi)
	for ok := ti.First(); ok; ok = ti.Next() {
		e := ti.Key()[elemOff:]
		in := false
		for _, m := range ms[1:] {
			if m == nil {
				continue
			}
			if m.id == ms[0].id {
				in = true
				break
			}
			if in, err = tx.hasRaw(elemKey(nil, m.id, e)); err != nil {
				ti.Close()
				return nil, err
			}
			if in {
				break
			}
		}
		if !in {
			out = append(out, append([]byte{}, e...))
		}
	}
	return out, ti.Close()
}

// storeSet replaces dst with a set of members (deleting dst if there are
// none) and returns its size.
func (tx *Tx) storeSet(dst []byte, members [][]byte) (int64, error) {
	if err := tx.check(dst, true); err != nil {
		return 0, err
	}
	if _, err := tx.del(dst); err != nil {
		return 0, err
	}
	if len(members) == 0 {
		return 0, nil
	}
	n, err := tx.SAdd(dst, members...)
	return int64(n), err
}

// SInterStore stores the intersection in dst and returns its size
// (SINTERSTORE).
func (tx *Tx) SInterStore(dst []byte, keys ...[]byte) (int64, error) {
	r, err := tx.SInter(keys...)
	if err != nil {
		return 0, err
	}
	return tx.storeSet(dst, r)
}

// SUnionStore stores the union in dst and returns its size (SUNIONSTORE).
func (tx *Tx) SUnionStore(dst []byte, keys ...[]byte) (int64, error) {
	r, err := tx.SUnion(keys...)
	if err != nil {
		return 0, err
	}
	return tx.storeSet(dst, r)
}

// SDiffStore stores the difference in dst and returns its size
// (SDIFFSTORE).
func (tx *Tx) SDiffStore(dst []byte, keys ...[]byte) (int64, error) {
	r, err := tx.SDiff(keys...)
	if err != nil {
		return 0, err
	}
	return tx.storeSet(dst, r)
}

// SScan returns up to count members after cursor and the next cursor, nil
// when done (SSCAN).
func (tx *Tx) SScan(key, cursor []byte, count int) ([][]byte, []byte, error) {
	m, ok, err := tx.readColl(key, TypeSet)
	if err != nil || !ok {
		return nil, nil, err
	}
	return tx.scanElems(m, cursor, count, false)
}

// SIter streams the members of the set inside the Tx.
func (tx *Tx) SIter(key []byte) (*Iter, error) { return tx.elemIter(key, TypeSet) }

// ---- Store wrappers ----

// SAdd adds members and returns how many were new (SADD).
func (s *Store) SAdd(key []byte, members ...[]byte) (int, error) {
	var n int
	var err error
	for tx := s.begin1(true, key); ; {
		n, err = tx.SAdd(key, members...)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// SRem removes members and returns how many were there (SREM).
func (s *Store) SRem(key []byte, members ...[]byte) (int, error) {
	var n int
	var err error
	for tx := s.begin1(true, key); ; {
		n, err = tx.SRem(key, members...)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// SIsMember reports whether member is in the set (SISMEMBER).
func (s *Store) SIsMember(key, member []byte) (bool, error) {
	var ok bool
	var err error
	for tx := s.begin1(false, key); ; {
		ok, err = tx.SIsMember(key, member)
		if tx.end(&err) {
			break
		}
	}
	return ok, err
}

// SMIsMember reports membership of each member (SMISMEMBER).
func (s *Store) SMIsMember(key []byte, members ...[]byte) ([]bool, error) {
	var r []bool
	var err error
	for tx := s.begin1(false, key); ; {
		r, err = tx.SMIsMember(key, members...)
		if tx.end(&err) {
			break
		}
	}
	return r, err
}

// SMembers returns every member in byte order (SMEMBERS).
func (s *Store) SMembers(key []byte) ([][]byte, error) {
	var r [][]byte
	var err error
	for tx := s.begin1(false, key); ; {
		r, err = tx.SMembers(key)
		if tx.end(&err) {
			break
		}
	}
	return r, err
}

// SCard returns the number of members (SCARD).
func (s *Store) SCard(key []byte) (int64, error) {
	var n int64
	var err error
	for tx := s.begin1(false, key); ; {
		n, err = tx.SCard(key)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// SPop removes and returns up to count random members (SPOP).
func (s *Store) SPop(key []byte, count int64) ([][]byte, error) {
	var r [][]byte
	var err error
	for tx := s.begin1(true, key); ; {
		r, err = tx.SPop(key, count)
		if tx.end(&err) {
			break
		}
	}
	return r, err
}

// SRandMember returns random members (SRANDMEMBER).
func (s *Store) SRandMember(key []byte, count int64) ([][]byte, error) {
	var r [][]byte
	var err error
	for tx := s.begin1(false, key); ; {
		r, err = tx.SRandMember(key, count)
		if tx.end(&err) {
			break
		}
	}
	return r, err
}

// SMove moves member from src to dst (SMOVE).
func (s *Store) SMove(src, dst, member []byte) (bool, error) {
	var ok bool
	var err error
	for tx := s.beginN(true, [][]byte{src, dst}); ; {
		ok, err = tx.SMove(src, dst, member)
		if tx.end(&err) {
			break
		}
	}
	return ok, err
}

// SInter returns the intersection of the sets (SINTER).
func (s *Store) SInter(keys ...[]byte) ([][]byte, error) {
	var r [][]byte
	var err error
	for tx := s.beginN(false, keys); ; {
		r, err = tx.SInter(keys...)
		if tx.end(&err) {
			break
		}
	}
	return r, err
}

// SInterCard returns the intersection's size, up to limit if > 0
// (SINTERCARD).
func (s *Store) SInterCard(limit int64, keys ...[]byte) (int64, error) {
	var n int64
	var err error
	for tx := s.beginN(false, keys); ; {
		n, err = tx.SInterCard(limit, keys...)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// SUnion returns the union of the sets (SUNION).
func (s *Store) SUnion(keys ...[]byte) ([][]byte, error) {
	var r [][]byte
	var err error
	for tx := s.beginN(false, keys); ; {
		r, err = tx.SUnion(keys...)
		if tx.end(&err) {
			break
		}
	}
	return r, err
}

// SDiff returns the first set minus the others (SDIFF).
func (s *Store) SDiff(keys ...[]byte) ([][]byte, error) {
	var r [][]byte
	var err error
	for tx := s.beginN(false, keys); ; {
		r, err = tx.SDiff(keys...)
		if tx.end(&err) {
			break
		}
	}
	return r, err
}

// SInterStore stores the intersection in dst (SINTERSTORE).
func (s *Store) SInterStore(dst []byte, keys ...[]byte) (int64, error) {
	var n int64
	var err error
	for tx := s.beginN(true, append([][]byte{dst}, keys...)); ; {
		n, err = tx.SInterStore(dst, keys...)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// SUnionStore stores the union in dst (SUNIONSTORE).
func (s *Store) SUnionStore(dst []byte, keys ...[]byte) (int64, error) {
	var n int64
	var err error
	for tx := s.beginN(true, append([][]byte{dst}, keys...)); ; {
		n, err = tx.SUnionStore(dst, keys...)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// SDiffStore stores the difference in dst (SDIFFSTORE).
func (s *Store) SDiffStore(dst []byte, keys ...[]byte) (int64, error) {
	var n int64
	var err error
	for tx := s.beginN(true, append([][]byte{dst}, keys...)); ; {
		n, err = tx.SDiffStore(dst, keys...)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// SScan returns up to count members after cursor, and the next cursor
// (SSCAN).
func (s *Store) SScan(key, cursor []byte, count int) ([][]byte, []byte, error) {
	var r [][]byte
	var next []byte
	var err error
	for tx := s.begin1(false, key); ; {
		r, next, err = tx.SScan(key, cursor, count)
		if tx.end(&err) {
			break
		}
	}
	return r, next, err
}

// SIter streams the members of the set at key in byte order. Close it.
func (s *Store) SIter(key []byte) (*Iter, error) { return s.elemIter(key, TypeSet) }

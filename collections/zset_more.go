package collections

import (
	"slices"
)

// Sorted-set operations of Redis 6.2 and 7.0 built from the Tx primitives:
// ZDIFF, ZDIFFSTORE, ZINTERCARD and ZRANGESTORE. Like ZUNION and ZINTER,
// ZDIFF and ZINTERCARD take plain sets as inputs (each member scored 1).

// zinput reads key as a sorted set's members with scores, a set's
// members scored 1; found is false for an absent key.
func (tx *Tx) zinput(key []byte) (zs []Z, found bool, err error) {
	if err := tx.check(key, false); err != nil {
		return nil, false, err
	}
	t, m, err := tx.lookup(key)
	if err != nil {
		return nil, false, err
	}
	switch t {
	case TypeNone:
		return nil, false, nil
	case TypeZSet:
		zs, err = tx.ZRange(key, 0, -1)
		return zs, true, err
	case TypeSet:
		ms, err := tx.allElems(m, false)
		if err != nil {
			return nil, false, err
		}
		zs = make([]Z, len(ms))
		for i, e := range ms {
			zs[i] = Z{Score: 1, Member: e}
		}
		return zs, true, nil
	}
	return nil, false, ErrWrongType
}

// ZDiff returns the members of the first key that are in none of the
// others, with their scores, in score then member order (ZDIFF ...
// WITHSCORES). Every key is type-checked, as Redis does, even once the
// difference is known to be empty.
func (tx *Tx) ZDiff(keys [][]byte) ([]Z, error) {
	out := []Z{}
	var drop map[string]bool
	for i, k := range keys {
		zs, _, err := tx.zinput(k)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			out = append(out, zs...)
			drop = make(map[string]bool, len(zs))
			continue
		}
		for _, z := range zs {
			drop[string(z.Member)] = true
		}
	}
	out = slices.DeleteFunc(out, func(z Z) bool { return drop[string(z.Member)] })
	slices.SortFunc(out, compareZ)
	return out, nil
}

// ZDiffStore stores ZDiff(keys) in dst, replacing it, and returns its size
// (ZDIFFSTORE).
func (tx *Tx) ZDiffStore(dst []byte, keys [][]byte) (int64, error) {
	r, err := tx.ZDiff(keys)
	if err != nil {
		return 0, err
	}
	return tx.storeZ(dst, r)
}

// ZInterCard returns the size of the intersection of keys, counting no
// further than limit when limit > 0 (ZINTERCARD).
func (tx *Tx) ZInterCard(limit int64, keys ...[]byte) (int64, error) {
	inputs := make([][]Z, len(keys))
	empty := false
	for i, k := range keys {
		zs, found, err := tx.zinput(k)
		if err != nil {
			return 0, err
		}
		if !found || len(zs) == 0 {
			empty = true
		}
		inputs[i] = zs
	}
	if empty {
		return 0, nil
	}
	sets := make([]map[string]bool, len(keys))
	for i, zs := range inputs {
		sets[i] = make(map[string]bool, len(zs))
		for _, z := range zs {
			sets[i][string(z.Member)] = true
		}
	}
	var n int64
	for _, z := range inputs[0] {
		in := true
		for _, s := range sets[1:] {
			if !s[string(z.Member)] {
				in = false
				break
			}
		}
		if in {
			n++
			if limit > 0 && n >= limit {
				break
			}
		}
	}
	return n, nil
}

// ZRangeStore stores the members of src that a selects, with their
// scores, in dst (replacing it) and returns how many (ZRANGESTORE). An
// absent src empties dst.
func (tx *Tx) ZRangeStore(dst, src []byte, a ZRangeArgs) (int64, error) {
	r, err := tx.ZRangeArgs(src, a)
	if err != nil {
		return 0, err
	}
	return tx.storeZ(dst, r)
}

// ZDiff returns the difference of keys (ZDIFF).
func (s *Store) ZDiff(keys [][]byte) ([]Z, error) {
	var out []Z
	var err error
	for tx := s.beginN(false, keys); ; {
		out, err = tx.ZDiff(keys)
		if tx.end(&err) {
			break
		}
	}
	return out, err
}

// ZDiffStore stores the difference of keys in dst (ZDIFFSTORE).
func (s *Store) ZDiffStore(dst []byte, keys [][]byte) (int64, error) {
	var n int64
	var err error
	for tx := s.beginN(true, append([][]byte{dst}, keys...)); ; {
		n, err = tx.ZDiffStore(dst, keys)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// ZInterCard returns the intersection's size, up to limit if > 0
// (ZINTERCARD).
func (s *Store) ZInterCard(limit int64, keys ...[]byte) (int64, error) {
	var n int64
	var err error
	for tx := s.beginN(false, keys); ; {
		n, err = tx.ZInterCard(limit, keys...)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// ZRangeStore stores a range of src in dst (ZRANGESTORE).
func (s *Store) ZRangeStore(dst, src []byte, a ZRangeArgs) (int64, error) {
	var n int64
	var err error
	for tx := s.beginN(true, [][]byte{dst, src}); ; {
		n, err = tx.ZRangeStore(dst, src, a)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

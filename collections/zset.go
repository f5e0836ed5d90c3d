package collections

import (
	"bytes"
	"errors"
	"math"
	"slices"

	"github.com/stratadb/strata/lsm"
)

// ErrZAddXXNX: ZADD with both XX and NX.
var ErrZAddXXNX = errorString("ERR XX and NX options at the same time are not compatible")

// zopen resolves key as a sorted set for writing, creating it (with its
// first rank nodes) if create is set.
func (tx *Tx) zopen(key []byte, create bool) (meta, header, bool, error) {
	m, ok, err := tx.coll(key, TypeZSet, true)
	if err != nil {
		return m, header{}, false, err
	}
	if ok {
		h, err := tx.header(key, m)
		return m, h, err == nil, err
	}
	if !create {
		return m, header{}, false, nil
	}
	if m, err = tx.create(key, TypeZSet); err != nil {
		return m, header{}, false, err
	}
	// A new ID has no mirror and no nodes yet.
	z := tx.newZidx(key, m)
	z.single = true
	z.initNodes()
	return m, header{}, true, nil
}

// scoreOf reads member's score.
func (tx *Tx) scoreOf(key []byte, m meta, member []byte) (float64, bool, error) {
	v, found, err := tx.getRawTmp(tx.keep(elemKey(tx.scratch(), m.id, member)))
	if err != nil || !found {
		return 0, false, err
	}
	f, err := decodeScore(key, v)
	return f, err == nil, err
}

// pendingScore is scoreOf for a set created in this Tx: it reads the Tx's
// own writes alone.
func (tx *Tx) pendingScore(key []byte, m meta, member []byte) (float64, bool, error) {
	n := tx.ov.find(tx.keep(elemKey(tx.scratch(), m.id, member)))
	if n == nil || n.del {
		return 0, false, nil
	}
	f, err := decodeScore(key, n.val)
	return f, err == nil, err
}

func suffix(dst []byte, score float64, member []byte) []byte {
	return append(sortableScore(dst, score), member...)
}

// setScore gives member the score f (old if had), keeping the index and the
// rank nodes in step.
func (z *zidx) setScore(member []byte, old float64, had bool, f float64) error {
	if f == 0 {
		f = 0 // no -0
	}
	if had {
		if old == f {
			return nil
		}
		z.sb = suffix(z.sb[:0], old, member)
		z.kb = z.idxKey(z.kb[:0], z.sb)
		z.tx.delRaw(z.kb)
		if err := z.remove(z.sb); err != nil {
			return err
		}
	}
	// The overlay copies keys: the scratch buffers may be reused.
	z.sb = suffix(z.sb[:0], f, member)
	z.kb = z.idxKey(z.kb[:0], z.sb)
	z.tx.putRaw(z.kb, nil, 0)
	if err := z.insert(z.sb); err != nil {
		return err
	}
	var b [8]byte
	z.kb = elemKey(z.kb[:0], z.id, member)
	z.tx.putRaw(z.kb, encodeScore(b[:0], f), 0)
	return nil
}

// delMember removes member (with its score) from the set.
func (z *zidx) delMember(member []byte, score float64) error {
	s := suffix(nil, score, member)
	z.tx.delRaw(z.idxKey(nil, s))
	z.tx.delRaw(elemKey(nil, z.id, member))
	return z.remove(s)
}

// ZAddArgs are ZADD's options.
type ZAddArgs struct {
	NX bool // only add new members
	XX bool // only update existing members
	GT bool // only update when the new score is greater
	LT bool // only update when the new score is less
	CH bool // count changed members, not only added ones
}

func (a ZAddArgs) validate() error {
	if a.NX && a.XX {
		return ErrZAddXXNX
	}
	if (a.GT && a.LT) || ((a.GT || a.LT) && a.NX) {
		return ErrZAddOptions
	}
	return nil
}

// ZAdd adds or updates members (ZADD) and returns how many were added (with
// CH: added or changed).
func (tx *Tx) ZAdd(key []byte, a ZAddArgs, members ...Z) (int64, error) {
	if err := a.validate(); err != nil {
		return 0, err
	}
	if len(members) == 0 {
		return 0, ErrInvalidArgument
	}
	for _, z := range members {
		if math.IsNaN(z.Score) {
			return 0, ErrNotFloat
		}
		if err := checkElem(z.Member); err != nil {
			return 0, err
		}
	}
	n, _, _, err := tx.zadd(key, a, false, members)
	return n, err
}

// ZAddIncr is ZADD INCR: it adds incr to member's score (from 0) and returns
// the new score; ok is false when the options kept it from happening (a nil
// reply).
func (tx *Tx) ZAddIncr(key []byte, a ZAddArgs, incr float64, member []byte) (float64, bool, error) {
	if err := a.validate(); err != nil {
		return 0, false, err
	}
	if math.IsNaN(incr) {
		return 0, false, ErrNotFloat
	}
	if err := checkElem(member); err != nil {
		return 0, false, err
	}
	_, f, ok, err := tx.zadd(key, a, true, []Z{{Score: incr, Member: member}})
	return f, ok, err
}

// ZIncrBy adds incr to member's score and returns the new score (ZINCRBY).
func (tx *Tx) ZIncrBy(key []byte, incr float64, member []byte) (float64, error) {
	f, _, err := tx.ZAddIncr(key, ZAddArgs{}, incr, member)
	return f, err
}

func (tx *Tx) zadd(key []byte, a ZAddArgs, incr bool, members []Z) (n int64, last float64, done bool, err error) {
	m, h, ok, err := tx.zopen(key, !a.XX)
	if err != nil || !ok {
		return 0, 0, false, err
	}
	// The index is opened by the first member whose score changes: a ZADD
	// that changes nothing reads no more than the members' scores.
	var z *zidx
	defer func() {
		if z == nil {
			return
		}
		if cerr := z.close(); err == nil {
			err = cerr
		}
	}()
	var added, changed int64
	// A set created by this ZADD (size 0: no set is ever empty) has a new
	// ID, which no engine key has ever had: its members can only be in
	// the Tx's own writes.
	fresh := h.size == 0
	for _, e := range members {
		var cur float64
		var had bool
		if fresh {
			cur, had, err = tx.pendingScore(key, m, e.Member)
		} else {
			cur, had, err = tx.scoreOf(key, m, e.Member)
		}
		if err != nil {
			return 0, 0, false, err
		}
		if (had && a.NX) || (!had && a.XX) {
			continue
		}
		f := e.Score
		if incr && had {
			f = cur + e.Score
			if math.IsNaN(f) {
				return 0, 0, false, ErrScoreNaN
			}
		}
		if had && ((a.GT && f <= cur) || (a.LT && f >= cur)) {
			continue
		}
		if !had || f != cur {
			if z == nil {
				if z, err = tx.zindex(key, m, h.size); err != nil {
					return 0, 0, false, err
				}
			}
			if err := z.setScore(e.Member, cur, had, f); err != nil {
				return 0, 0, false, err
			}
		}
		if f == 0 {
			f = 0
		}
		last, done = f, true
		if !had {
			added++
		} else if f != cur {
			changed++
		}
	}
	if h.size+added == 0 {
		// A new set that got nothing (ZADD GT/LT on nothing cannot, but
		// keep the invariant): drop it.
		tx.drop(key, m)
		return 0, last, done, nil
	}
	if added > 0 || h.size == 0 {
		h.size += added
		tx.putHeader(m, h)
	}
	if added > 0 || changed > 0 {
		tx.touch(key)
	}
	if a.CH {
		return added + changed, last, done, nil
	}
	return added, last, done, nil
}

// ZScore returns member's score (ZSCORE); ErrNotFound if there is none.
func (tx *Tx) ZScore(key, member []byte) (float64, error) {
	m, ok, err := tx.readColl(key, TypeZSet)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, ErrNotFound
	}
	f, found, err := tx.scoreOf(key, m, member)
	if err == nil && !found {
		err = ErrNotFound
	}
	return f, err
}

// ZMScore returns the scores of members, with ok[i] false for a member that
// is not there (ZMSCORE).
func (tx *Tx) ZMScore(key []byte, members ...[]byte) (scores []float64, ok []bool, err error) {
	m, exists, err := tx.readColl(key, TypeZSet)
	scores, ok = make([]float64, len(members)), make([]bool, len(members))
	if err != nil || !exists {
		return scores, ok, err
	}
	for i, e := range members {
		if scores[i], ok[i], err = tx.scoreOf(key, m, e); err != nil {
			return nil, nil, err
		}
	}
	return scores, ok, nil
}

// ZCard returns the number of members (ZCARD).
func (tx *Tx) ZCard(key []byte) (int64, error) { return tx.collLen(key, TypeZSet) }

// ZRem removes members and returns how many were there (ZREM).
func (tx *Tx) ZRem(key []byte, members ...[]byte) (n int64, err error) {
	m, h, ok, err := tx.zopen(key, false)
	if err != nil || !ok {
		return 0, err
	}
	z, err := tx.zindex(key, m, h.size)
	if err != nil {
		return
	}
	defer func() {
		if cerr := z.close(); err == nil {
			err = cerr
		}
	}()
	for _, e := range members {
		f, had, err := tx.scoreOf(key, m, e)
		if err != nil {
			return 0, err
		}
		if !had {
			continue
		}
		if err := z.delMember(e, f); err != nil {
			return 0, err
		}
		n++
	}
	if n > 0 {
		h.size -= n
		tx.finish(key, m, h)
	}
	return n, nil
}

// readZ resolves key as a sorted set for reading.
func (tx *Tx) readZ(key []byte) (meta, header, bool, error) {
	m, ok, err := tx.readColl(key, TypeZSet)
	if err != nil || !ok {
		return m, header{}, false, err
	}
	h, err := tx.header(key, m)
	return m, h, err == nil, err
}

// ZRank returns member's 0-based rank by ascending score (ZRANK);
// ErrNotFound if it is not there. It counts with the rank nodes: a few
// hundred iterator steps whatever the size.
func (tx *Tx) ZRank(key, member []byte) (int64, error) {
	return tx.zrank(key, member, false)
}

// ZRevRank is ZRank by descending score (ZREVRANK).
func (tx *Tx) ZRevRank(key, member []byte) (int64, error) {
	return tx.zrank(key, member, true)
}

func (tx *Tx) zrank(key, member []byte, rev bool) (r int64, err error) {
	m, ok, err := tx.readColl(key, TypeZSet)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, ErrNotFound
	}
	z := tx.newZidx(key, m)
	defer func() {
		if cerr := z.close(); err == nil {
			err = cerr
		}
	}()
	if z.mir = tx.s.zc.get(m.id); z.mir == nil {
		// No mirror: the set is likely small. Look for the member among
		// the first 2*fan1 entries from the end it is ranked from, which
		// costs no more than the walk within a node would, and needs
		// neither the size nor the member's score.
		r, res, err := z.rankFromEnd(member, rev)
		switch {
		case err != nil:
			return 0, err
		case res == walkFound:
			return r, nil
		case res == walkAbsent:
			return 0, ErrNotFound
		}
		// A larger set, and the member is farther in: by the nodes.
	}
	h, err := tx.header(key, m)
	if err != nil {
		return 0, err
	}
	f, found, err := tx.scoreOf(key, m, member)
	if err != nil {
		return 0, err
	}
	if !found {
		return 0, ErrNotFound
	}
	if z.small = h.size <= 2*z.fan1; !z.small {
		if err = z.findNodes(h.size); err != nil {
			return 0, err
		}
	}
	if r, err = z.countLess(suffix(nil, f, member)); err != nil {
		return 0, err
	}
	if rev {
		r = h.size - 1 - r
	}
	return r, nil
}

// The engine-key bounds of index ranges.

// countBelow returns the number of index entries whose engine key is below
// k, which lies in [idxLo, idxHi]; size is the set's size.
func (z *zidx) countBelow(k []byte, size int64) (int64, error) {
	if bytes.Compare(k, z.idxHi()) >= 0 {
		return size, nil
	}
	off := len(z.pre) + 1
	if len(k) <= off {
		return 0, nil
	}
	return z.countLess(k[off:])
}

// idxLo and idxHi return the bounds of the index's engine keys, in z's own
// memory, capped: callers must not write into them.
func (z *zidx) idxLo() []byte { return z.keys[30:41:41] }
func (z *zidx) idxHi() []byte { return z.keys[41:52:52] }

// scoreKeys returns the index-key interval [lo, hi) of the scores in r.
func (z *zidx) scoreKeys(r ScoreRange) (lo, hi []byte) {
	lo = z.idxKey(nil, sortableScore(nil, r.Min))
	if r.MinExclusive {
		lo = prefixEnd(lo)
	}
	hi = z.idxKey(nil, sortableScore(nil, r.Max))
	if !r.MaxExclusive {
		hi = prefixEnd(hi)
	}
	return lo, hi
}

// lexKeys returns the index-key interval [lo, hi) of the members in r,
// taking every score to be the first member's (ZRANGEBYLEX is meant for
// sets of one score).
func (z *zidx) lexKeys(r LexRange) (lo, hi []byte, err error) {
	if !z.iter().SeekGE(z.idxLo()) {
		return nil, nil, z.iter().Error()
	}
	s, isIdx := z.suffixOf(z.iter().Key())
	if !isIdx {
		return nil, nil, nil
	}
	score := append([]byte{}, s[:8]...)
	bound := func(b LexBound, upper bool) []byte {
		switch {
		case b.Inf < 0:
			return z.idxLo()
		case b.Inf > 0:
			return z.idxHi()
		}
		k := z.idxKey(nil, append(append([]byte{}, score...), b.Value...))
		if b.Exclusive != upper {
			k = append(k, 0) // just past the member
		}
		return k
	}
	return bound(r.Min, false), bound(r.Max, true), nil
}

// ZBy says what ZRangeArgs ranges over.
type ZBy uint8

// The ZRANGE modes.
const (
	ByRank  ZBy = iota // Start..Stop are ranks (indexes)
	ByScore            // Score is a score range (BYSCORE)
	ByLex              // Lex is a member range (BYLEX)
)

// ZRangeArgs is ZRANGE with every option, for ZRANGE, ZREVRANGE,
// ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZRANGEBYLEX and ZREVRANGEBYLEX.
type ZRangeArgs struct {
	By          ZBy        // what Start/Stop, Score or Lex select by
	Start, Stop int64      // ByRank: indexes, negative from the end
	Score       ScoreRange // ByScore: the scores
	Lex         LexRange   // ByLex: the members
	// Rev walks from the highest score (or member) down. The range itself
	// is given low to high (a server swaps REV's max and min).
	Rev bool
	// Limit applies Offset and Count (LIMIT; ByScore and ByLex only): skip
	// Offset elements, then return at most Count (all if Count < 0).
	Limit         bool
	Offset, Count int64
}

// zplan is where a range walk starts, where it stops, which way it goes and
// how many entries it takes.
type zplan struct {
	start, stop []byte
	rev         bool
	skip, limit int64
	empty       bool
}

func (tx *Tx) zplanOf(z *zidx, h header, a ZRangeArgs) (p zplan, err error) {
	p.rev, p.limit = a.Rev, -1
	if a.Limit && a.By != ByRank {
		if a.Offset < 0 || a.Count == 0 {
			return zplan{empty: true}, nil
		}
		if a.Count > 0 {
			p.limit = a.Count
		}
		p.skip = a.Offset
	}
	var lo, hi []byte
	switch a.By {
	case ByRank:
		ra, rb, ok := ListRange(h.size, a.Start, a.Stop)
		if !ok {
			return zplan{empty: true}, nil
		}
		p.limit = rb - ra + 1
		pos := ra
		if a.Rev {
			pos = h.size - 1 - ra
		}
		if ok, err := z.seekRank(pos, h.size); err != nil || !ok {
			return zplan{empty: true}, err
		}
		p.start, p.stop = append([]byte{}, z.iter().Key()...), z.idxHi()
		if a.Rev {
			p.start, p.stop = append(p.start, 0), z.idxLo()
		}
		return p, nil
	case ByScore:
		if a.Score.empty() {
			return zplan{empty: true}, nil
		}
		lo, hi = z.scoreKeys(a.Score)
	case ByLex:
		if a.Lex.empty() {
			return zplan{empty: true}, nil
		}
		if lo, hi, err = z.lexKeys(a.Lex); err != nil || lo == nil {
			return zplan{empty: true}, err
		}
	}
	if bytes.Compare(lo, hi) >= 0 {
		return zplan{empty: true}, nil
	}
	if !a.Rev {
		p.start, p.stop = lo, hi
	} else {
		p.start, p.stop = hi, lo
	}
	if p.skip >= 2*z.fan1 {
		// A long LIMIT offset: jump to it by rank instead of walking.
		var pos int64
		if !a.Rev {
			r0, err := z.countBelow(lo, h.size)
			if err != nil {
				return p, err
			}
			pos = r0 + p.skip
		} else {
			r1, err := z.countBelow(hi, h.size)
			if err != nil {
				return p, err
			}
			pos = r1 - 1 - p.skip
		}
		if pos < 0 || pos >= h.size {
			return zplan{empty: true}, nil
		}
		if ok, err := z.seekRank(pos, h.size); err != nil || !ok {
			return zplan{empty: true}, err
		}
		p.start, p.skip = append([]byte{}, z.iter().Key()...), 0
		if a.Rev {
			p.start = append(p.start, 0)
		}
	}
	return p, nil
}

// zwalk calls fn with each entry (suffix) the plan selects, in order, while
// fn returns true.
func (z *zidx) zwalk(p zplan, fn func(s []byte) bool) error {
	if p.empty {
		return nil
	}
	x := &z.xi
	*x = Iter{it: z.iter(), typ: TypeZSet, start: p.start, stop: p.stop, reverse: p.rev, left: p.limit, skip: p.skip}
	// x must not close z's iterator: walk it by hand.
	for x.Next() {
		s, _ := z.suffixOf(z.iter().Key())
		if !fn(s) {
			break
		}
	}
	return x.err
}

// ZRangeArgs returns the members (with scores) a selects, in order (ZRANGE
// and its variants). By rank it costs the rank walk (a few hundred steps at
// most, none near either end) plus the members returned.
func (tx *Tx) ZRangeArgs(key []byte, a ZRangeArgs) (out []Z, err error) {
	out = []Z{}
	m, ok, err := tx.readColl(key, TypeZSet)
	if err != nil || !ok {
		return out, err
	}
	z := tx.newZidx(key, m)
	defer func() {
		if cerr := z.close(); err == nil {
			err = cerr
		}
	}()
	var p zplan
	if a.By == ByRank && a.Start >= 0 && a.Start <= a.Stop && a.Start < 2*z.fan1 {
		// A few ranks from either end (ZRANGE 0 9, a top 10): walk there
		// from the end. That needs no size, so no header read.
		p = z.endPlan(a)
	} else {
		h, err := tx.header(key, m)
		if err != nil {
			return nil, err
		}
		if z.small = h.size <= 2*z.fan1; !z.small {
			if err := z.findNodes(h.size); err != nil {
				return nil, err
			}
		}
		if p, err = tx.zplanOf(z, h, a); err != nil {
			return nil, err
		}
	}
	if p.limit > 0 {
		out = make([]Z, 0, min(p.limit, 64))
	}
	// The members share one buffer, each capped at its own end, so that
	// appending to one never writes over the next.
	var buf []byte
	err = z.zwalk(p, func(s []byte) bool {
		mb := s[8:]
		if cap(buf)-len(buf) < len(mb) {
			buf = make([]byte, 0, max(256, 2*cap(buf), len(mb)))
		}
		buf = append(buf, mb...)
		out = append(out, Z{Score: scoreFromSortable(s[:8]), Member: buf[len(buf)-len(mb) : len(buf) : len(buf)]})
		return true
	})
	return out, err
}

// endPlan is the plan of ranks Start..Stop counted from the first entry
// (from the last with Rev), 0 <= Start <= Stop: skip Start entries from
// that end, then take Stop-Start+1.
func (z *zidx) endPlan(a ZRangeArgs) zplan {
	p := zplan{rev: a.Rev, skip: a.Start, limit: a.Stop - a.Start + 1}
	if p.limit <= 0 {
		p.limit = -1 // overflowed: every entry from there
	}
	p.start, p.stop = z.idxLo(), z.idxHi()
	if a.Rev {
		p.start, p.stop = p.stop, p.start
	}
	return p
}

// ZRange returns the members from rank start to stop, both inclusive,
// negative from the end (ZRANGE key start stop).
func (tx *Tx) ZRange(key []byte, start, stop int64) ([]Z, error) {
	return tx.ZRangeArgs(key, ZRangeArgs{Start: start, Stop: stop})
}

// ZRevRange is ZRange by descending score (ZREVRANGE).
func (tx *Tx) ZRevRange(key []byte, start, stop int64) ([]Z, error) {
	return tx.ZRangeArgs(key, ZRangeArgs{Start: start, Stop: stop, Rev: true})
}

// ZRangeByScore returns the members with scores in r, skipping offset and
// returning at most count (all if count < 0) (ZRANGEBYSCORE).
func (tx *Tx) ZRangeByScore(key []byte, r ScoreRange, offset, count int64) ([]Z, error) {
	return tx.ZRangeArgs(key, ZRangeArgs{By: ByScore, Score: r, Limit: true, Offset: offset, Count: count})
}

// ZRevRangeByScore is ZRangeByScore from the highest score down
// (ZREVRANGEBYSCORE).
func (tx *Tx) ZRevRangeByScore(key []byte, r ScoreRange, offset, count int64) ([]Z, error) {
	return tx.ZRangeArgs(key, ZRangeArgs{By: ByScore, Score: r, Rev: true, Limit: true, Offset: offset, Count: count})
}

// ZRangeByLex returns the members in r (ZRANGEBYLEX).
func (tx *Tx) ZRangeByLex(key []byte, r LexRange, offset, count int64) ([]Z, error) {
	return tx.ZRangeArgs(key, ZRangeArgs{By: ByLex, Lex: r, Limit: true, Offset: offset, Count: count})
}

// ZCount returns the number of members with scores in r (ZCOUNT), by the
// rank nodes: O(fanout), not O(count).
func (tx *Tx) ZCount(key []byte, r ScoreRange) (int64, error) {
	return tx.zcount(key, ZRangeArgs{By: ByScore, Score: r})
}

// ZLexCount returns the number of members in r (ZLEXCOUNT).
func (tx *Tx) ZLexCount(key []byte, r LexRange) (int64, error) {
	return tx.zcount(key, ZRangeArgs{By: ByLex, Lex: r})
}

func (tx *Tx) zcount(key []byte, a ZRangeArgs) (n int64, err error) {
	m, h, ok, err := tx.readZ(key)
	if err != nil || !ok {
		return 0, err
	}
	z, err := tx.zread(key, m, h.size)
	if err != nil {
		return
	}
	defer func() {
		if cerr := z.close(); err == nil {
			err = cerr
		}
	}()
	var lo, hi []byte
	if a.By == ByScore {
		if a.Score.empty() {
			return 0, nil
		}
		lo, hi = z.scoreKeys(a.Score)
	} else {
		if a.Lex.empty() {
			return 0, nil
		}
		if lo, hi, err = z.lexKeys(a.Lex); err != nil || lo == nil {
			return 0, err
		}
	}
	if bytes.Compare(lo, hi) >= 0 {
		return 0, nil
	}
	cl, err := z.countBelow(lo, h.size)
	if err != nil {
		return 0, err
	}
	ch, err := z.countBelow(hi, h.size)
	if err != nil {
		return 0, err
	}
	return max(ch-cl, 0), nil
}

// zremWhere removes the members a selects and returns how many.
func (tx *Tx) zremWhere(key []byte, a ZRangeArgs) (n int64, err error) {
	m, h, ok, err := tx.zopen(key, false)
	if err != nil || !ok {
		return 0, err
	}
	z, err := tx.zindex(key, m, h.size)
	if err != nil {
		return
	}
	defer func() {
		if cerr := z.close(); err == nil {
			err = cerr
		}
	}()
	p, err := tx.zplanOf(z, h, a)
	if err != nil {
		return 0, err
	}
	var victims [][]byte
	if err := z.zwalk(p, func(s []byte) bool {
		victims = append(victims, append([]byte{}, s...))
		return true
	}); err != nil {
		return 0, err
	}
	for _, s := range victims {
		if err := z.delMember(s[8:], scoreFromSortable(s[:8])); err != nil {
			return 0, err
		}
	}
	n = int64(len(victims))
	if n > 0 {
		h.size -= n
		tx.finish(key, m, h)
	}
	return n, nil
}

// ZRemRangeByRank removes the members from rank start to stop
// (ZREMRANGEBYRANK) and returns how many.
func (tx *Tx) ZRemRangeByRank(key []byte, start, stop int64) (int64, error) {
	return tx.zremWhere(key, ZRangeArgs{Start: start, Stop: stop})
}

// ZRemRangeByScore removes the members with scores in r (ZREMRANGEBYSCORE).
func (tx *Tx) ZRemRangeByScore(key []byte, r ScoreRange) (int64, error) {
	return tx.zremWhere(key, ZRangeArgs{By: ByScore, Score: r})
}

// ZRemRangeByLex removes the members in r (ZREMRANGEBYLEX).
func (tx *Tx) ZRemRangeByLex(key []byte, r LexRange) (int64, error) {
	return tx.zremWhere(key, ZRangeArgs{By: ByLex, Lex: r})
}

// ZPopMin removes and returns up to count members with the lowest scores
// (ZPOPMIN).
func (tx *Tx) ZPopMin(key []byte, count int64) ([]Z, error) { return tx.zpop(key, count, false) }

// ZPopMax removes and returns up to count members with the highest scores,
// highest first (ZPOPMAX).
func (tx *Tx) ZPopMax(key []byte, count int64) ([]Z, error) { return tx.zpop(key, count, true) }

func (tx *Tx) zpop(key []byte, count int64, max bool) ([]Z, error) {
	out := []Z{}
	if count <= 0 {
		if count < 0 {
			return nil, ErrInvalidArgument
		}
		_, _, _, err := tx.zopen(key, false)
		return out, err
	}
	got, err := tx.ZRangeArgs(key, ZRangeArgs{Start: 0, Stop: count - 1, Rev: max})
	if err != nil || len(got) == 0 {
		return out, err
	}
	ms := make([][]byte, len(got))
	for i := range got {
		ms[i] = got[i].Member
	}
	if _, err := tx.ZRem(key, ms...); err != nil {
		return nil, err
	}
	return got, nil
}

// ZRandMember returns random members with their scores (ZRANDMEMBER): with
// count > 0 up to count distinct ones, with count < 0 exactly -count that
// may repeat.
func (tx *Tx) ZRandMember(key []byte, count int64) ([]Z, error) {
	m, h, ok, err := tx.readZ(key)
	if err != nil || !ok || count == 0 {
		return nil, err
	}
	pairs, err := tx.randomPick(m, h.size, count, true)
	if err != nil {
		return nil, err
	}
	return pairsToZ(key, pairs)
}

func pairsToZ(key []byte, pairs [][]byte) ([]Z, error) {
	out := make([]Z, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		f, err := decodeScore(key, pairs[i+1])
		if err != nil {
			return nil, err
		}
		out = append(out, Z{Score: f, Member: pairs[i]})
	}
	return out, nil
}

// ZScan returns up to count members with scores after cursor (a member; nil
// from the start) in member order, and the next cursor, nil when done
// (ZSCAN).
func (tx *Tx) ZScan(key, cursor []byte, count int) ([]Z, []byte, error) {
	m, ok, err := tx.readColl(key, TypeZSet)
	if err != nil || !ok {
		return nil, nil, err
	}
	pairs, next, err := tx.scanElems(m, cursor, count, true)
	if err != nil {
		return nil, nil, err
	}
	out, err := pairsToZ(key, pairs)
	return out, next, err
}

// ZStoreArgs are ZUNIONSTORE's and ZINTERSTORE's WEIGHTS and AGGREGATE.
type ZStoreArgs struct {
	// Weights multiply each input's scores (default 1 each; a set's members
	// count as score 1).
	Weights []float64
	// Aggregate is "SUM" (the default), "MIN" or "MAX".
	Aggregate string
}

// ZUnion returns the union of the sorted sets (and sets) at keys, in
// Redis's order (ZUNION ... WITHSCORES).
func (tx *Tx) ZUnion(keys [][]byte, a ZStoreArgs) ([]Z, error) { return tx.zcombine(keys, a, false) }

// ZInter returns the intersection (ZINTER ... WITHSCORES).
func (tx *Tx) ZInter(keys [][]byte, a ZStoreArgs) ([]Z, error) { return tx.zcombine(keys, a, true) }

// ZUnionStore stores the union in dst and returns its size (ZUNIONSTORE).
func (tx *Tx) ZUnionStore(dst []byte, keys [][]byte, a ZStoreArgs) (int64, error) {
	r, err := tx.ZUnion(keys, a)
	if err != nil {
		return 0, err
	}
	return tx.storeZ(dst, r)
}

// ZInterStore stores the intersection in dst and returns its size
// (ZINTERSTORE).
func (tx *Tx) ZInterStore(dst []byte, keys [][]byte, a ZStoreArgs) (int64, error) {
	r, err := tx.ZInter(keys, a)
	if err != nil {
		return 0, err
	}
	return tx.storeZ(dst, r)
}

func (tx *Tx) storeZ(dst []byte, r []Z) (int64, error) {
	if err := tx.check(dst, true); err != nil {
		return 0, err
	}
	if _, err := tx.del(dst); err != nil {
		return 0, err
	}
	if len(r) == 0 {
		return 0, nil
	}
	return tx.ZAdd(dst, ZAddArgs{}, r...)
}

func aggregate(agg string, acc, v float64) float64 {
	switch agg {
	case "MIN":
		return math.Min(acc, v)
	case "MAX":
		return math.Max(acc, v)
	}
	s := acc + v
	if math.IsNaN(s) {
		s = 0 // +inf + -inf, as Redis
	}
	return s
}

func (tx *Tx) zcombine(keys [][]byte, a ZStoreArgs, inter bool) ([]Z, error) {
	if len(a.Weights) != 0 && len(a.Weights) != len(keys) {
		return nil, ErrSyntax
	}
	switch a.Aggregate {
	case "", "SUM", "MIN", "MAX":
	default:
		return nil, ErrSyntax
	}
	type input struct {
		m     []Z
		found bool
	}
	ins := make([]input, len(keys))
	for i, k := range keys {
		if err := tx.check(k, false); err != nil {
			return nil, err
		}
		t, m, err := tx.lookup(k)
		if err != nil {
			return nil, err
		}
		w := 1.0
		if len(a.Weights) > 0 {
			w = a.Weights[i]
		}
		switch t {
		case TypeNone:
			continue
		case TypeZSet:
			zs, err := tx.ZRange(k, 0, -1)
			if err != nil {
				return nil, err
			}
			ins[i].m = zs
		case TypeSet:
			ms, err := tx.allElems(m, false)
			if err != nil {
				return nil, err
			}
			for _, e := range ms {
				ins[i].m = append(ins[i].m, Z{Score: 1, Member: e})
			}
		default:
			return nil, ErrWrongType
		}
		ins[i].found = true
		for j := range ins[i].m {
			s := ins[i].m[j].Score * w
			if math.IsNaN(s) {
				s = 0
			}
			ins[i].m[j].Score = s
		}
	}
	acc := map[string]float64{}
	count := map[string]int{}
	for _, in := range ins {
		for _, z := range in.m {
			k := string(z.Member)
			if c, ok := acc[k]; ok {
				acc[k] = aggregate(a.Aggregate, c, z.Score)
			} else {
				acc[k] = z.Score
			}
			count[k]++
		}
	}
	out := []Z{}
	for k, s := range acc {
		if inter && count[k] != len(keys) {
			continue
		}
		if s == 0 {
			s = 0
		}
		out = append(out, Z{Score: s, Member: []byte(k)})
	}
	slices.SortFunc(out, compareZ)
	return out, nil
}

// compareZ orders members as a sorted set does: by score, then by member
// bytes for equal scores.
func compareZ(x, y Z) int {
	if x.Score != y.Score {
		if x.Score < y.Score {
			return -1
		}
		return 1
	}
	return bytes.Compare(x.Member, y.Member)
}

// ZIter streams the members a selects inside the Tx.
func (tx *Tx) ZIter(key []byte, a ZRangeArgs) (x *Iter, err error) {
	m, h, ok, err := tx.readZ(key)
	if err != nil || !ok {
		return emptyIter(), err
	}
	z, err := tx.zread(key, m, h.size)
	if err != nil {
		return emptyIter(), err
	}
	p, err := tx.zplanOf(z, h, a)
	if err != nil || p.empty {
		z.close()
		return emptyIter(), err
	}
	x = newIter(z.iter(), TypeZSet, p.start, p.stop, p.rev, p.limit)
	x.skip = p.skip
	return x, nil
}

// ---- Store wrappers ----

// ZAdd adds or updates members (ZADD) and returns how many were added (with
// CH, changed).
func (s *Store) ZAdd(key []byte, a ZAddArgs, members ...Z) (int64, error) {
	var n int64
	var err error
	for tx := s.begin1(true, key); ; {
		n, err = tx.ZAdd(key, a, members...)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// ZAddIncr is ZADD INCR; ok is false when the options prevented it.
func (s *Store) ZAddIncr(key []byte, a ZAddArgs, incr float64, member []byte) (float64, bool, error) {
	var f float64
	var ok bool
	var err error
	for tx := s.begin1(true, key); ; {
		f, ok, err = tx.ZAddIncr(key, a, incr, member)
		if tx.end(&err) {
			break
		}
	}
	return f, ok, err
}

// ZIncrBy adds incr to member's score (ZINCRBY).
func (s *Store) ZIncrBy(key []byte, incr float64, member []byte) (float64, error) {
	var f float64
	var err error
	for tx := s.begin1(true, key); ; {
		f, err = tx.ZIncrBy(key, incr, member)
		if tx.end(&err) {
			break
		}
	}
	return f, err
}

// ZScore returns member's score (ZSCORE); ErrNotFound if none.
func (s *Store) ZScore(key, member []byte) (float64, error) {
	var f float64
	var err error
	for tx := s.begin1(false, key); ; {
		f, err = tx.ZScore(key, member)
		if tx.end(&err) {
			break
		}
	}
	return f, err
}

// ZMScore returns the scores of members (ZMSCORE).
func (s *Store) ZMScore(key []byte, members ...[]byte) ([]float64, []bool, error) {
	var f []float64
	var ok []bool
	var err error
	for tx := s.begin1(false, key); ; {
		f, ok, err = tx.ZMScore(key, members...)
		if tx.end(&err) {
			break
		}
	}
	return f, ok, err
}

// ZCard returns the number of members (ZCARD).
func (s *Store) ZCard(key []byte) (int64, error) {
	var n int64
	var err error
	for tx := s.begin1(false, key); ; {
		n, err = tx.ZCard(key)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// ZRem removes members (ZREM).
func (s *Store) ZRem(key []byte, members ...[]byte) (int64, error) {
	var n int64
	var err error
	for tx := s.begin1(true, key); ; {
		n, err = tx.ZRem(key, members...)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// ZRank returns member's ascending rank (ZRANK).
func (s *Store) ZRank(key, member []byte) (int64, error) {
	var n int64
	var err error
	for tx := s.begin1(false, key); ; {
		n, err = tx.ZRank(key, member)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// ZRevRank returns member's descending rank (ZREVRANK).
func (s *Store) ZRevRank(key, member []byte) (int64, error) {
	var n int64
	var err error
	for tx := s.begin1(false, key); ; {
		n, err = tx.ZRevRank(key, member)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// ZCount counts the members with scores in r (ZCOUNT).
func (s *Store) ZCount(key []byte, r ScoreRange) (int64, error) {
	var n int64
	var err error
	for tx := s.begin1(false, key); ; {
		n, err = tx.ZCount(key, r)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// ZLexCount counts the members in r (ZLEXCOUNT).
func (s *Store) ZLexCount(key []byte, r LexRange) (int64, error) {
	var n int64
	var err error
	for tx := s.begin1(false, key); ; {
		n, err = tx.ZLexCount(key, r)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// ZRangeArgs returns the members a selects (ZRANGE with every option).
func (s *Store) ZRangeArgs(key []byte, a ZRangeArgs) ([]Z, error) {
	var out []Z
	var err error
	for tx := s.begin1(false, key); ; {
		out, err = tx.ZRangeArgs(key, a)
		if tx.end(&err) {
			break
		}
	}
	return out, err
}

// ZRange returns the members from rank start to stop (ZRANGE).
func (s *Store) ZRange(key []byte, start, stop int64) ([]Z, error) {
	return s.ZRangeArgs(key, ZRangeArgs{Start: start, Stop: stop})
}

// ZRevRange returns the members from rank start to stop by descending score
// (ZREVRANGE): ZRevRange(key, 0, 9) is a top 10.
func (s *Store) ZRevRange(key []byte, start, stop int64) ([]Z, error) {
	return s.ZRangeArgs(key, ZRangeArgs{Start: start, Stop: stop, Rev: true})
}

// ZRangeByScore returns members with scores in r (ZRANGEBYSCORE ... LIMIT
// offset count; count < 0 for all).
func (s *Store) ZRangeByScore(key []byte, r ScoreRange, offset, count int64) ([]Z, error) {
	return s.ZRangeArgs(key, ZRangeArgs{By: ByScore, Score: r, Limit: true, Offset: offset, Count: count})
}

// ZRevRangeByScore is ZRangeByScore from the top (ZREVRANGEBYSCORE).
func (s *Store) ZRevRangeByScore(key []byte, r ScoreRange, offset, count int64) ([]Z, error) {
	return s.ZRangeArgs(key, ZRangeArgs{By: ByScore, Score: r, Rev: true, Limit: true, Offset: offset, Count: count})
}

// ZRangeByLex returns the members in r (ZRANGEBYLEX).
func (s *Store) ZRangeByLex(key []byte, r LexRange, offset, count int64) ([]Z, error) {
	return s.ZRangeArgs(key, ZRangeArgs{By: ByLex, Lex: r, Limit: true, Offset: offset, Count: count})
}

// ZPopMin removes and returns the count lowest members (ZPOPMIN).
func (s *Store) ZPopMin(key []byte, count int64) ([]Z, error) {
	var out []Z
	var err error
	for tx := s.begin1(true, key); ; {
		out, err = tx.ZPopMin(key, count)
		if tx.end(&err) {
			break
		}
	}
	return out, err
}

// ZPopMax removes and returns the count highest members (ZPOPMAX).
func (s *Store) ZPopMax(key []byte, count int64) ([]Z, error) {
	var out []Z
	var err error
	for tx := s.begin1(true, key); ; {
		out, err = tx.ZPopMax(key, count)
		if tx.end(&err) {
			break
		}
	}
	return out, err
}

// ZRemRangeByRank removes members by rank (ZREMRANGEBYRANK).
func (s *Store) ZRemRangeByRank(key []byte, start, stop int64) (int64, error) {
	var n int64
	var err error
	for tx := s.begin1(true, key); ; {
		n, err = tx.ZRemRangeByRank(key, start, stop)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// ZRemRangeByScore removes members by score (ZREMRANGEBYSCORE).
func (s *Store) ZRemRangeByScore(key []byte, r ScoreRange) (int64, error) {
	var n int64
	var err error
	for tx := s.begin1(true, key); ; {
		n, err = tx.ZRemRangeByScore(key, r)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// ZRemRangeByLex removes members by member range (ZREMRANGEBYLEX).
func (s *Store) ZRemRangeByLex(key []byte, r LexRange) (int64, error) {
	var n int64
	var err error
	for tx := s.begin1(true, key); ; {
		n, err = tx.ZRemRangeByLex(key, r)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// ZRandMember returns random members with scores (ZRANDMEMBER).
func (s *Store) ZRandMember(key []byte, count int64) ([]Z, error) {
	var out []Z
	var err error
	for tx := s.begin1(false, key); ; {
		out, err = tx.ZRandMember(key, count)
		if tx.end(&err) {
			break
		}
	}
	return out, err
}

// ZScan returns up to count members after cursor, and the next cursor
// (ZSCAN).
func (s *Store) ZScan(key, cursor []byte, count int) ([]Z, []byte, error) {
	var out []Z
	var next []byte
	var err error
	for tx := s.begin1(false, key); ; {
		out, next, err = tx.ZScan(key, cursor, count)
		if tx.end(&err) {
			break
		}
	}
	return out, next, err
}

// ZUnionStore stores the union of keys in dst (ZUNIONSTORE).
func (s *Store) ZUnionStore(dst []byte, keys [][]byte, a ZStoreArgs) (int64, error) {
	var n int64
	var err error
	for tx := s.beginN(true, append([][]byte{dst}, keys...)); ; {
		n, err = tx.ZUnionStore(dst, keys, a)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// ZInterStore stores the intersection of keys in dst (ZINTERSTORE).
func (s *Store) ZInterStore(dst []byte, keys [][]byte, a ZStoreArgs) (int64, error) {
	var n int64
	var err error
	for tx := s.beginN(true, append([][]byte{dst}, keys...)); ; {
		n, err = tx.ZInterStore(dst, keys, a)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// ZUnion returns the union of keys (ZUNION).
func (s *Store) ZUnion(keys [][]byte, a ZStoreArgs) ([]Z, error) {
	var out []Z
	var err error
	for tx := s.beginN(false, keys); ; {
		out, err = tx.ZUnion(keys, a)
		if tx.end(&err) {
			break
		}
	}
	return out, err
}

// ZInter returns the intersection of keys (ZINTER).
func (s *Store) ZInter(keys [][]byte, a ZStoreArgs) ([]Z, error) {
	var out []Z
	var err error
	for tx := s.beginN(false, keys); ; {
		out, err = tx.ZInter(keys, a)
		if tx.end(&err) {
			break
		}
	}
	return out, err
}

// ZIter streams the members a selects from the sorted set at key, as of
// now, without holding them in memory. Close it.
func (s *Store) ZIter(key []byte, a ZRangeArgs) (*Iter, error) {
	var x *Iter
	err := s.run1(false, key, func(tx *Tx) (err error) {
		m, h, ok, err := tx.readZ(key)
		if err != nil || !ok {
			x = emptyIter()
			return err
		}
		z, err := tx.zread(key, m, h.size)
		if err != nil {
			return err
		}
		p, err := tx.zplanOf(z, h, a)
		if cerr := z.close(); err == nil {
			err = cerr
		}
		if err != nil || p.empty {
			x = emptyIter()
			return err
		}
		it, err := s.db.NewIter(&lsm.IterOptions{LowerBound: z.idxLo(), UpperBound: z.idxHi()})
		if err != nil {
			return err
		}
		x = newIter(it, TypeZSet, p.start, p.stop, p.rev, p.limit)
		x.skip = p.skip
		return nil
	})
	if err != nil {
		return nil, err
	}
	return x, nil
}

var _ = errors.New

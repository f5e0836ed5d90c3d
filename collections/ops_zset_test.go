package collections

import (
	"fmt"
	"math"
	"sort"
	"testing"
)

func init() {
	checkKeyMoreHooks = append(checkKeyMoreHooks, func(h *harness, k string, v *mval) {
		if v.typ != TypeZSet {
			return
		}
		want := v.zsorted()
		got, err := h.c.ZRange([]byte(k), 0, -1)
		h.eq("ZRANGE 0 -1 "+k, zstr(got), err, mzstr(want), nil)
		it, err := h.c.ZIter([]byte(k), ZRangeArgs{Start: 0, Stop: -1})
		if err != nil {
			h.fail("ZIter", err, nil)
		}
		var streamed []Z
		for it.Next() {
			streamed = append(streamed, Z{Score: it.Score(), Member: append([]byte{}, it.Member()...)})
		}
		if err := it.Close(); err != nil {
			h.fail("ZIter", err, nil)
		}
		h.eq("ZIter "+k, zstr(streamed), nil, mzstr(want), nil)
		for i, e := range want {
			r, err := h.c.ZRank([]byte(k), []byte(e.member))
			h.eq(fmt.Sprintf("ZRANK %q %q", k, e.member), r, err, int64(i), nil)
		}
		n, err := h.c.ZCard([]byte(k))
		h.eq("ZCARD "+k, n, err, int64(len(want)), nil)
	})
}

func zstr(zs []Z) string {
	s := ""
	for _, z := range zs {
		s += fmt.Sprintf("%q:%v ", z.Member, z.Score)
	}
	return s
}

func mzstr(zs []mz) string {
	s := ""
	for _, z := range zs {
		s += fmt.Sprintf("%q:%v ", z.member, z.score)
	}
	return s
}

var testScores = []float64{math.Inf(-1), -2.5, -1, 0, 1, 1.5, 2, 10, math.Inf(1)}

func (h *harness) score() float64 { return testScores[h.r.IntN(len(testScores))] }

func (h *harness) scoreRange() ScoreRange {
	a, b := h.score(), h.score()
	if h.r.IntN(4) != 0 && a > b {
		a, b = b, a
	}
	return ScoreRange{Min: a, Max: b, MinExclusive: h.r.IntN(3) == 0, MaxExclusive: h.r.IntN(3) == 0}
}

func (h *harness) lexBound() LexBound {
	switch h.r.IntN(6) {
	case 0:
		return LexBound{Inf: -1}
	case 1:
		return LexBound{Inf: 1}
	}
	return LexBound{Value: []byte(h.elem()), Exclusive: h.r.IntN(2) == 0}
}

// sameScores reports whether every member of v has one score (ZRANGEBYLEX
// and ZLEXCOUNT are defined only then).
func sameScores(v *mval) bool {
	first, ok := 0.0, false
	for _, s := range v.zset {
		if ok && s != first {
			return false
		}
		first, ok = s, true
	}
	return true
}

// mzrange is the model's ZRANGE with every option.
func mzrange(v *mval, a ZRangeArgs) []mz {
	all := v.zsorted()
	var sel []mz
	switch a.By {
	case ByRank:
		n := int64(len(all))
		idx := mrange(n, a.Start, a.Stop)
		for _, i := range idx {
			if a.Rev {
				sel = append(sel, all[n-1-i])
			} else {
				sel = append(sel, all[i])
			}
		}
		return sel
	case ByScore:
		for _, e := range all {
			if a.Score.has(e.score) {
				sel = append(sel, e)
			}
		}
	case ByLex:
		for _, e := range all {
			if a.Lex.has([]byte(e.member)) {
				sel = append(sel, e)
			}
		}
	}
	if a.Rev {
		for i, j := 0, len(sel)-1; i < j; i, j = i+1, j-1 {
			sel[i], sel[j] = sel[j], sel[i]
		}
	}
	if a.Limit {
		if a.Offset < 0 || a.Count == 0 || a.Offset >= int64(len(sel)) {
			return nil
		}
		sel = sel[a.Offset:]
		if a.Count > 0 && int64(len(sel)) > a.Count {
			sel = sel[:a.Count]
		}
	}
	return sel
}

func (h *harness) zrangeArgs() ZRangeArgs {
	a := ZRangeArgs{By: ZBy(h.r.IntN(3)), Rev: h.r.IntN(2) == 0}
	switch a.By {
	case ByRank:
		a.Start, a.Stop = h.idx(), h.idx()
	case ByScore:
		a.Score = h.scoreRange()
	case ByLex:
		a.Lex = LexRange{Min: h.lexBound(), Max: h.lexBound()}
	}
	if a.By != ByRank && h.r.IntN(2) == 0 {
		a.Limit, a.Offset, a.Count = true, int64(h.r.IntN(4)), int64(h.r.IntN(5)-1)
	}
	return a
}

func zsetOps() []hop {
	return []hop{
		{"zadd", 10, func(h *harness) {
			k := h.name()
			var a ZAddArgs
			switch h.r.IntN(8) {
			case 0:
				a.NX = true
			case 1:
				a.XX = true
			case 2:
				a.GT = true
			case 3:
				a.LT = true
			case 4:
				a.XX, a.GT = true, true
			case 5:
				a.NX, a.GT = true, true // an error
			}
			a.CH = h.r.IntN(2) == 0
			var zs []Z
			for i := 0; i < 1+h.r.IntN(3); i++ {
				zs = append(zs, Z{Score: h.score(), Member: []byte(h.elem())})
			}
			incr := h.r.IntN(5) == 0
			if incr {
				zs = zs[:1]
			}
			h.logf("ZADD %q %+v incr=%v %s", k, a, incr, zstr(zs))
			var got any
			var err error
			var gotOK bool
			if incr {
				var f float64
				f, gotOK, err = h.c.ZAddIncr([]byte(k), a, zs[0].Score, zs[0].Member)
				got = f
			} else {
				got, err = h.c.ZAdd([]byte(k), a, zs...)
			}
			if (a.NX && a.XX) || ((a.GT || a.LT) && a.NX) || (a.GT && a.LT) {
				if a.NX && a.XX {
					h.eq("ZADD", got, err, nil, ErrZAddXXNX)
				} else {
					h.eq("ZADD", got, err, nil, ErrZAddOptions)
				}
				return
			}
			v, wrong := h.m.of(k, TypeZSet)
			if wrong {
				h.eq("ZADD", got, err, nil, ErrWrongType)
				return
			}
			if v == nil && a.XX {
				if incr {
					h.eq("ZADD INCR", fmt.Sprint(got, gotOK), err, fmt.Sprint(0.0, false), nil)
				} else {
					h.eq("ZADD", got, err, int64(0), nil)
				}
				return
			}
			v, _ = h.m.mk(k, TypeZSet)
			var added, changed int64
			var last float64
			done := false
			for _, z := range zs {
				m := string(z.Member)
				cur, had := v.zset[m]
				if (had && a.NX) || (!had && a.XX) {
					continue
				}
				f := z.Score
				if incr && had {
					f = cur + z.Score
					if math.IsNaN(f) {
						h.m.gc(k)
						h.eq("ZADD INCR", got, err, nil, ErrScoreNaN)
						return
					}
				}
				if had && ((a.GT && f <= cur) || (a.LT && f >= cur)) {
					continue
				}
				if f == 0 {
					f = 0
				}
				v.zset[m] = f
				last, done = f, true
				if !had {
					added++
				} else if f != cur {
					changed++
				}
			}
			h.m.gc(k)
			if incr {
				h.eq("ZADD INCR", fmt.Sprint(got, gotOK), err, fmt.Sprint(last, done), nil)
				return
			}
			if a.CH {
				added += changed
			}
			h.eq("ZADD", got, err, added, nil)
		}},
		{"zscore", 3, func(h *harness) {
			k, e := h.name(), h.elem()
			got, err := h.c.ZScore([]byte(k), []byte(e))
			gs, gok, err2 := h.c.ZMScore([]byte(k), []byte(e), []byte(h.elems[1]))
			v, wrong := h.m.of(k, TypeZSet)
			if wrong {
				h.eq("ZSCORE", got, err, nil, ErrWrongType)
				h.eq("ZMSCORE", gs, err2, nil, ErrWrongType)
				return
			}
			var s0, s1 float64
			var ok0, ok1 bool
			if v != nil {
				s0, ok0 = v.zset[e]
				s1, ok1 = v.zset[h.elems[1]]
			}
			if ok0 {
				h.eq("ZSCORE", got, err, s0, nil)
			} else {
				h.eq("ZSCORE", got, err, nil, ErrNotFound)
			}
			h.eq("ZMSCORE", fmt.Sprint(gs, gok), err2, fmt.Sprint([]float64{s0, s1}, []bool{ok0, ok1}), nil)
		}},
		{"zrem", 4, func(h *harness) {
			k := h.name()
			ms := []string{h.elem(), h.elem()}
			h.logf("ZREM %q %q", k, ms)
			got, err := h.c.ZRem([]byte(k), bs(ms...)...)
			v, wrong := h.m.of(k, TypeZSet)
			if wrong {
				h.eq("ZREM", got, err, int64(0), ErrWrongType)
				return
			}
			var n int64
			if v != nil {
				for _, m := range ms {
					if _, ok := v.zset[m]; ok {
						delete(v.zset, m)
						n++
					}
				}
				h.m.gc(k)
			}
			h.eq("ZREM", got, err, n, nil)
		}},
		{"zrank", 3, func(h *harness) {
			k, e := h.name(), h.elem()
			rev := h.r.IntN(2) == 0
			var got int64
			var err error
			if rev {
				got, err = h.c.ZRevRank([]byte(k), []byte(e))
			} else {
				got, err = h.c.ZRank([]byte(k), []byte(e))
			}
			v, wrong := h.m.of(k, TypeZSet)
			if wrong {
				h.eq("ZRANK", got, err, 0, ErrWrongType)
				return
			}
			if v != nil {
				for i, z := range v.zsorted() {
					if z.member == e {
						if rev {
							i = len(v.zset) - 1 - i
						}
						h.eq("ZRANK", got, err, int64(i), nil)
						return
					}
				}
			}
			h.eq("ZRANK", got, err, 0, ErrNotFound)
		}},
		{"zrange", 6, func(h *harness) {
			k := h.name()
			a := h.zrangeArgs()
			v, wrong := h.m.of(k, TypeZSet)
			if v != nil && a.By == ByLex && !sameScores(v) {
				return
			}
			got, err := h.c.ZRangeArgs([]byte(k), a)
			if wrong {
				h.eq("ZRANGE", got, err, nil, ErrWrongType)
				return
			}
			var want []mz
			if v != nil {
				want = mzrange(v, a)
			}
			h.eq(fmt.Sprintf("ZRANGE %q %+v", k, a), zstr(got), err, mzstr(want), nil)
			it, err := h.c.ZIter([]byte(k), a)
			if err != nil {
				h.fail("ZIter", err, nil)
			}
			var streamed []Z
			for it.Next() {
				streamed = append(streamed, Z{Score: it.Score(), Member: append([]byte{}, it.Member()...)})
			}
			h.eq("ZIter", zstr(streamed), it.Close(), mzstr(want), nil)
		}},
		{"zcount", 3, func(h *harness) {
			k := h.name()
			lex := h.r.IntN(3) == 0
			v, wrong := h.m.of(k, TypeZSet)
			if lex && v != nil && !sameScores(v) {
				return
			}
			var got int64
			var err error
			var a ZRangeArgs
			if lex {
				a = ZRangeArgs{By: ByLex, Lex: LexRange{Min: h.lexBound(), Max: h.lexBound()}}
				got, err = h.c.ZLexCount([]byte(k), a.Lex)
			} else {
				a = ZRangeArgs{By: ByScore, Score: h.scoreRange()}
				got, err = h.c.ZCount([]byte(k), a.Score)
			}
			if wrong {
				h.eq("ZCOUNT", got, err, 0, ErrWrongType)
				return
			}
			var want int64
			if v != nil {
				want = int64(len(mzrange(v, a)))
			}
			h.eq(fmt.Sprintf("ZCOUNT %q %+v", k, a), got, err, want, nil)
		}},
		{"zpop", 2, func(h *harness) {
			k := h.name()
			max := h.r.IntN(2) == 0
			count := int64(h.r.IntN(4))
			h.logf("ZPOP max=%v %q %d", max, k, count)
			var got []Z
			var err error
			if max {
				got, err = h.c.ZPopMax([]byte(k), count)
			} else {
				got, err = h.c.ZPopMin([]byte(k), count)
			}
			v, wrong := h.m.of(k, TypeZSet)
			if wrong {
				h.eq("ZPOP", got, err, nil, ErrWrongType)
				return
			}
			var want []mz
			if v != nil && count > 0 {
				want = mzrange(v, ZRangeArgs{Start: 0, Stop: count - 1, Rev: max})
				for _, e := range want {
					delete(v.zset, e.member)
				}
				h.m.gc(k)
			}
			h.eq("ZPOP", zstr(got), err, mzstr(want), nil)
		}},
		{"zremrange", 2, func(h *harness) {
			k := h.name()
			a := h.zrangeArgs()
			a.Rev, a.Limit = false, false
			v, wrong := h.m.of(k, TypeZSet)
			if v != nil && a.By == ByLex && !sameScores(v) {
				return
			}
			h.logf("ZREMRANGE %q %+v", k, a)
			var got int64
			var err error
			switch a.By {
			case ByRank:
				got, err = h.c.ZRemRangeByRank([]byte(k), a.Start, a.Stop)
			case ByScore:
				got, err = h.c.ZRemRangeByScore([]byte(k), a.Score)
			default:
				got, err = h.c.ZRemRangeByLex([]byte(k), a.Lex)
			}
			if wrong {
				h.eq("ZREMRANGE", got, err, 0, ErrWrongType)
				return
			}
			var n int64
			if v != nil {
				for _, e := range mzrange(v, a) {
					delete(v.zset, e.member)
					n++
				}
				h.m.gc(k)
			}
			h.eq("ZREMRANGE", got, err, n, nil)
		}},
		{"zincrby", 2, func(h *harness) {
			k, e, d := h.name(), h.elem(), h.score()
			h.logf("ZINCRBY %q %v %q", k, d, e)
			got, err := h.c.ZIncrBy([]byte(k), d, []byte(e))
			v, wrong := h.m.of(k, TypeZSet)
			if wrong {
				h.eq("ZINCRBY", got, err, 0.0, ErrWrongType)
				return
			}
			f := d
			if v != nil {
				if cur, ok := v.zset[e]; ok {
					f = cur + d
				}
			}
			if math.IsNaN(f) {
				h.eq("ZINCRBY", got, err, 0.0, ErrScoreNaN)
				return
			}
			if f == 0 {
				f = 0
			}
			v, _ = h.m.mk(k, TypeZSet)
			v.zset[e] = f
			h.eq("ZINCRBY", got, err, f, nil)
		}},
		{"zrandmember+zscan", 1, func(h *harness) {
			k := h.name()
			count := int64(h.r.IntN(9) - 4)
			got, err := h.c.ZRandMember([]byte(k), count)
			v, wrong := h.m.of(k, TypeZSet)
			if wrong {
				h.eq("ZRANDMEMBER", got, err, nil, ErrWrongType)
				return
			}
			var pairs [][]byte
			for _, z := range got {
				pairs = append(pairs, z.Member, []byte(formatScore(z.Score)))
			}
			h.checkRandom("ZRANDMEMBER", pairs, err, v, count, true)
			var all []string
			var cursor []byte
			for {
				page, next, err := h.c.ZScan([]byte(k), cursor, 2)
				h.eq("ZSCAN", nil, err, nil, nil)
				for _, z := range page {
					all = append(all, fmt.Sprintf("%s=%v", z.Member, z.Score))
				}
				if next == nil {
					break
				}
				cursor = next
			}
			var want []string
			if v != nil {
				for _, m := range sortedKeys(v.zset) {
					want = append(want, fmt.Sprintf("%s=%v", m, v.zset[m]))
				}
			}
			h.eq("ZSCAN all", all, nil, want, nil)
		}},
		{"zstore", 2, func(h *harness) {
			ks := []string{h.name(), h.name()}
			dst := h.name()
			inter := h.r.IntN(2) == 0
			a := ZStoreArgs{Aggregate: []string{"", "SUM", "MIN", "MAX"}[h.r.IntN(4)]}
			if h.r.IntN(2) == 0 {
				a.Weights = []float64{float64(h.r.IntN(3)), -1}
			}
			h.logf("ZSTORE inter=%v %q %q %+v", inter, dst, ks, a)
			var got int64
			var err error
			if inter {
				got, err = h.c.ZInterStore([]byte(dst), bs(ks...), a)
			} else {
				got, err = h.c.ZUnionStore([]byte(dst), bs(ks...), a)
			}
			acc := map[string]float64{}
			cnt := map[string]int{}
			for i, k := range ks {
				mv := h.m.get(k)
				w := 1.0
				if a.Weights != nil {
					w = a.Weights[i]
				}
				var in map[string]float64
				switch {
				case mv == nil:
				case mv.typ == TypeZSet:
					in = mv.zset
				case mv.typ == TypeSet:
					in = map[string]float64{}
					for m := range mv.set {
						in[m] = 1
					}
				default:
					h.eq("ZSTORE", got, err, 0, ErrWrongType)
					return
				}
				for _, m := range sortedKeys(in) {
					s := in[m] * w
					if math.IsNaN(s) {
						s = 0
					}
					if c, ok := acc[m]; ok {
						acc[m] = aggregate(a.Aggregate, c, s)
					} else {
						acc[m] = s
					}
					cnt[m]++
				}
			}
			res := map[string]float64{}
			for m, s := range acc {
				if !inter || cnt[m] == len(ks) {
					if s == 0 {
						s = 0
					}
					res[m] = s
				}
			}
			delete(h.m.keys, dst)
			if len(res) > 0 {
				h.m.keys[dst] = &mval{typ: TypeZSet, zset: res}
			}
			h.eq("ZSTORE", got, err, int64(len(res)), nil)
		}},
	}
}

func runZModel(t *testing.T, n int, names []string, ops ...[]hop) {
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			h := newHarness(t, seed+100)
			h.zfan = int(seed)
			// Mirrors: the default budget, none, and one so small that
			// they are evicted all the time.
			h.zmem = []int64{0, -1, 300}[seed-1]
			h.rdMin = []int64{0, 1, 5}[seed-1]
			h.reopen()
			defer h.close()
			if names != nil {
				h.names = names
			}
			h.dataOps = append(h.dataOps, keyOps()...)
			for _, o := range ops {
				h.dataOps = append(h.dataOps, o...)
			}
			h.ops = append(append(append(h.ops, engineOps()...), h.dataOps...), updateOp())
			h.run(n)
			h.checkNoGarbage()
		})
	}
}

// TestModelZSets runs random sorted-set operations against the model with
// rank-node fanouts of 1, 2 and 3, so that nodes split and empty at every
// level.
func TestModelZSets(t *testing.T) { runZModel(t, steps(2500), nil, zsetOps(), setOps()) }

// TestModelZSetsLong grows two sorted sets to hundreds of members.
func TestModelZSetsLong(t *testing.T) {
	grow := hop{"zadd many", 12, func(h *harness) {
		k := h.name()
		var zs []Z
		for i := 0; i < 5; i++ {
			zs = append(zs, Z{Score: float64(h.r.IntN(50)), Member: []byte(fmt.Sprint("m", h.r.IntN(400)))})
		}
		h.logf("ZADD many %q", k)
		got, err := h.c.ZAdd([]byte(k), ZAddArgs{}, zs...)
		v, wrong := h.m.mk(k, TypeZSet)
		if wrong {
			h.eq("ZADD many", got, err, 0, ErrWrongType)
			return
		}
		var n int64
		for _, z := range zs {
			if _, ok := v.zset[string(z.Member)]; !ok {
				n++
			}
			v.zset[string(z.Member)] = z.Score
		}
		h.eq("ZADD many", got, err, n, nil)
	}}
	runZModel(t, steps(1500), []string{"a", "b"}, zsetOps(), []hop{grow})
}

var _ = sort.Strings

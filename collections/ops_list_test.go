package collections

import (
	"fmt"
	"slices"
	"testing"
)

// mrange is the model's LRANGE clamping, written out from Redis's
// lrangeCommand.
func mrange(n, start, end int64) []int64 {
	if start < 0 {
		start = n + start
	}
	if end < 0 {
		end = n + end
	}
	if start < 0 {
		start = 0
	}
	if start > end || start >= n {
		return nil
	}
	if end >= n {
		end = n - 1
	}
	var out []int64
	for i := start; i <= end; i++ {
		out = append(out, i)
	}
	return out
}

func init() {
	checkKeyMoreHooks = append(checkKeyMoreHooks, func(h *harness, k string, v *mval) {
		if v.typ != TypeList {
			return
		}
		got, err := h.c.LRange([]byte(k), 0, -1)
		h.eq("LRANGE 0 -1 "+k, got, err, bs(v.list...), nil)
		it, err := h.c.LIter([]byte(k), 0, -1)
		if err != nil {
			h.fail("LIter", err, nil)
		}
		var streamed []string
		for it.Next() {
			streamed = append(streamed, string(it.Value()))
		}
		if err := it.Close(); err != nil {
			h.fail("LIter", err, nil)
		}
		if fmt.Sprint(streamed) != fmt.Sprint(v.list) {
			h.fail("LIter "+k, streamed, v.list)
		}
		n, err := h.c.LLen([]byte(k))
		h.eq("LLEN "+k, n, err, int64(len(v.list)), nil)
	})
}

func (h *harness) idx() int64 { return int64(h.r.IntN(14) - 7) }

func listOps() []hop {
	return []hop{
		{"push", 8, func(h *harness) {
			k := h.name()
			left, x := h.r.IntN(2) == 0, h.r.IntN(6) == 0
			es := []string{h.elem()}
			if h.r.IntN(2) == 0 {
				es = append(es, h.elem(), h.elem())
			}
			h.logf("PUSH left=%v x=%v %q %q", left, x, k, es)
			var got int64
			var err error
			switch {
			case left && x:
				got, err = h.c.LPushX([]byte(k), bs(es...)...)
			case left:
				got, err = h.c.LPush([]byte(k), bs(es...)...)
			case x:
				got, err = h.c.RPushX([]byte(k), bs(es...)...)
			default:
				got, err = h.c.RPush([]byte(k), bs(es...)...)
			}
			v, wrong := h.m.of(k, TypeList)
			if wrong {
				h.eq("PUSH", got, err, int64(0), ErrWrongType)
				return
			}
			if v == nil && x {
				h.eq("PUSHX", got, err, int64(0), nil)
				return
			}
			v, _ = h.m.mk(k, TypeList)
			for _, e := range es {
				if left {
					v.list = append([]string{e}, v.list...)
				} else {
					v.list = append(v.list, e)
				}
			}
			h.eq("PUSH", got, err, int64(len(v.list)), nil)
		}},
		{"pop", 5, func(h *harness) {
			k := h.name()
			left := h.r.IntN(2) == 0
			count := int64(-1)
			if h.r.IntN(3) == 0 {
				count = int64(h.r.IntN(4))
			}
			h.logf("POP left=%v %q %d", left, k, count)
			var got any
			var err error
			switch {
			case count < 0 && left:
				got, err = h.c.LPop([]byte(k))
			case count < 0:
				got, err = h.c.RPop([]byte(k))
			case left:
				got, err = h.c.LPopCount([]byte(k), count)
			default:
				got, err = h.c.RPopCount([]byte(k), count)
			}
			v, wrong := h.m.of(k, TypeList)
			switch {
			case wrong:
				h.eq("POP", got, err, nil, ErrWrongType)
				return
			case v == nil:
				h.eq("POP", got, err, nil, ErrNotFound)
				return
			}
			var out []string
			c := count
			if c < 0 {
				c = 1
			}
			for int64(len(out)) < c && len(v.list) > 0 {
				if left {
					out = append(out, v.list[0])
					v.list = v.list[1:]
				} else {
					out = append(out, v.list[len(v.list)-1])
					v.list = v.list[:len(v.list)-1]
				}
			}
			h.m.gc(k)
			if count < 0 {
				h.eq("POP", got, err, []byte(out[0]), nil)
			} else {
				if out == nil {
					out = []string{}
				}
				h.eq("POP count", got, err, bs(out...), nil)
			}
		}},
		{"lrange", 3, func(h *harness) {
			k := h.name()
			a, b := h.idx(), h.idx()
			got, err := h.c.LRange([]byte(k), a, b)
			v, wrong := h.m.of(k, TypeList)
			if wrong {
				h.eq("LRANGE", got, err, nil, ErrWrongType)
				return
			}
			want := []string{}
			if v != nil {
				for _, i := range mrange(int64(len(v.list)), a, b) {
					want = append(want, v.list[i])
				}
			}
			h.eq(fmt.Sprintf("LRANGE %q %d %d", k, a, b), got, err, bs(want...), nil)
		}},
		{"lindex", 3, func(h *harness) {
			k, i := h.name(), h.idx()
			got, err := h.c.LIndex([]byte(k), i)
			v, wrong := h.m.of(k, TypeList)
			if wrong {
				h.eq("LINDEX", got, err, nil, ErrWrongType)
				return
			}
			if v != nil {
				j := i
				if j < 0 {
					j += int64(len(v.list))
				}
				if j >= 0 && j < int64(len(v.list)) {
					h.eq("LINDEX", got, err, []byte(v.list[j]), nil)
					return
				}
			}
			h.eq("LINDEX", got, err, nil, ErrNotFound)
		}},
		{"lset", 2, func(h *harness) {
			k, i, e := h.name(), h.idx(), h.elem()
			h.logf("LSET %q %d %q", k, i, e)
			err := h.c.LSet([]byte(k), i, []byte(e))
			v, wrong := h.m.of(k, TypeList)
			switch {
			case wrong:
				h.eq("LSET", nil, err, nil, ErrWrongType)
			case v == nil:
				h.eq("LSET", nil, err, nil, ErrNoSuchKey)
			default:
				j := i
				if j < 0 {
					j += int64(len(v.list))
				}
				if j < 0 || j >= int64(len(v.list)) {
					h.eq("LSET", nil, err, nil, ErrIndexOutOfRange)
					return
				}
				v.list[j] = e
				h.eq("LSET", nil, err, nil, nil)
			}
		}},
		{"ltrim", 2, func(h *harness) {
			k, a, b := h.name(), h.idx(), h.idx()
			h.logf("LTRIM %q %d %d", k, a, b)
			err := h.c.LTrim([]byte(k), a, b)
			v, wrong := h.m.of(k, TypeList)
			if wrong {
				h.eq("LTRIM", nil, err, nil, ErrWrongType)
				return
			}
			if v != nil {
				var keep []string
				for _, i := range mrange(int64(len(v.list)), a, b) {
					keep = append(keep, v.list[i])
				}
				v.list = keep
				h.m.gc(k)
			}
			h.eq("LTRIM", nil, err, nil, nil)
		}},
		{"lrem", 2, func(h *harness) {
			k, e := h.name(), h.elem()
			count := int64(h.r.IntN(5) - 2)
			h.logf("LREM %q %d %q", k, count, e)
			got, err := h.c.LRem([]byte(k), count, []byte(e))
			v, wrong := h.m.of(k, TypeList)
			if wrong {
				h.eq("LREM", got, err, int64(0), ErrWrongType)
				return
			}
			var n int64
			if v != nil {
				rm := make([]bool, len(v.list))
				if count >= 0 {
					for i, x := range v.list {
						if x == e && (count == 0 || n < count) {
							rm[i] = true
							n++
						}
					}
				} else {
					for i := len(v.list) - 1; i >= 0; i-- {
						if v.list[i] == e && n < -count {
							rm[i] = true
							n++
						}
					}
				}
				var keep []string
				for i, x := range v.list {
					if !rm[i] {
						keep = append(keep, x)
					}
				}
				v.list = keep
				h.m.gc(k)
			}
			h.eq("LREM", got, err, n, nil)
		}},
		{"linsert", 2, func(h *harness) {
			k, p, e := h.name(), h.elem(), h.elem()
			before := h.r.IntN(2) == 0
			h.logf("LINSERT %q before=%v %q %q", k, before, p, e)
			got, err := h.c.LInsert([]byte(k), before, []byte(p), []byte(e))
			v, wrong := h.m.of(k, TypeList)
			switch {
			case wrong:
				h.eq("LINSERT", got, err, int64(0), ErrWrongType)
				return
			case v == nil:
				h.eq("LINSERT", got, err, int64(0), nil)
				return
			}
			i := slices.Index(v.list, p)
			if i < 0 {
				h.eq("LINSERT", got, err, int64(-1), nil)
				return
			}
			if !before {
				i++
			}
			v.list = slices.Insert(v.list, i, e)
			h.eq("LINSERT", got, err, int64(len(v.list)), nil)
		}},
		{"lpos", 1, func(h *harness) {
			k, e := h.name(), h.elem()
			a := LPosArgs{Rank: int64(h.r.IntN(5) - 2), Count: int64(h.r.IntN(3)), MaxLen: int64(h.r.IntN(4))}
			got, err := h.c.LPos([]byte(k), []byte(e), a)
			v, wrong := h.m.of(k, TypeList)
			if wrong {
				h.eq("LPOS", got, err, nil, ErrWrongType)
				return
			}
			want := []int64{}
			if v != nil {
				rank := a.Rank
				if rank == 0 {
					rank = 1
				}
				var order []int64
				for i := range v.list {
					order = append(order, int64(i))
				}
				if rank < 0 {
					slices.Reverse(order)
					rank = -rank
				}
				if a.MaxLen > 0 && int64(len(order)) > a.MaxLen {
					order = order[:a.MaxLen]
				}
				seen := int64(0)
				for _, i := range order {
					if v.list[i] == e {
						seen++
						if seen >= rank && (a.Count == 0 || int64(len(want)) < a.Count) {
							want = append(want, i)
						}
					}
				}
			}
			h.eq(fmt.Sprintf("LPOS %+v", a), got, err, want, nil)
		}},
		{"lmove", 3, func(h *harness) {
			src, dst := h.name(), h.name()
			sl, dl := h.r.IntN(2) == 0, h.r.IntN(2) == 0
			h.logf("LMOVE %q %q %v %v", src, dst, sl, dl)
			got, err := h.c.LMove([]byte(src), []byte(dst), sl, dl)
			sv, swrong := h.m.of(src, TypeList)
			switch {
			case swrong:
				h.eq("LMOVE", got, err, nil, ErrWrongType)
				return
			case sv == nil:
				h.eq("LMOVE", got, err, nil, ErrNotFound)
				return
			}
			if _, dwrong := h.m.of(dst, TypeList); dwrong {
				h.eq("LMOVE", got, err, nil, ErrWrongType)
				return
			}
			var e string
			if sl {
				e, sv.list = sv.list[0], sv.list[1:]
			} else {
				e, sv.list = sv.list[len(sv.list)-1], sv.list[:len(sv.list)-1]
			}
			h.m.gc(src)
			dv, _ := h.m.mk(dst, TypeList)
			if dl {
				dv.list = append([]string{e}, dv.list...)
			} else {
				dv.list = append(dv.list, e)
			}
			h.eq("LMOVE", got, err, []byte(e), nil)
		}},
	}
}

// TestModelLists runs random list operations against the model.
func TestModelLists(t *testing.T) { runModel(t, steps(2500), listOps(), setOps()) }

// TestModelListsLong keeps to two names and list operations only, so lists
// grow long enough for LINSERT and LREM to move either side.
func TestModelListsLong(t *testing.T) {
	for seed := uint64(10); seed < 13; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			h := newHarness(t, seed)
			// Trims and pops of runs from 2 elements, from 6, and from the
			// default write range deletes.
			h.rdMin = []int64{2, 6, 0}[seed-10]
			h.reopen()
			defer h.close()
			h.names = []string{"a", "b"}
			h.dataOps = append(listOps(), hop{"push more", 10, listOps()[0].fn})
			h.ops = append(append(append(h.ops, engineOps()...), h.dataOps...), updateOp())
			h.run(steps(2000))
			h.checkNoGarbage()
		})
	}
}

package collections

import (
	"fmt"
	"slices"
	"time"
)

// The random operations on keys, strings, hashes and sets, each applied to
// the Store and to the model, with the results compared.

func (h *harness) ttlArg() time.Duration {
	return time.Duration(1+h.r.IntN(5000)) * time.Millisecond
}

func keyOps() []hop {
	return []hop{
		{"del", 3, func(h *harness) {
			ks := []string{h.name()}
			if h.r.IntN(3) == 0 {
				ks = append(ks, h.name())
			}
			h.logf("DEL %q", ks)
			got, err := h.c.Delete(bs(ks...)...)
			n := 0
			for _, k := range ks {
				if h.m.get(k) != nil {
					delete(h.m.keys, k)
					n++
				}
			}
			h.eq("DEL", got, err, n, nil)
		}},
		{"exists", 2, func(h *harness) {
			ks := []string{h.name(), h.name()}
			got, err := h.c.Exists(bs(ks...)...)
			n := 0
			for _, k := range ks {
				if h.m.get(k) != nil {
					n++
				}
			}
			h.eq("EXISTS", got, err, n, nil)
		}},
		{"type", 2, func(h *harness) {
			k := h.name()
			got, err := h.c.Type([]byte(k))
			h.eq("TYPE "+k, got, err, h.m.typeOf(k), nil)
		}},
		{"expire", 4, func(h *harness) {
			k := h.name()
			flags := []ExpireFlags{0, 0, ExpireNX, ExpireXX, ExpireGT, ExpireLT, ExpireXX | ExpireGT}[h.r.IntN(7)]
			ttl := h.ttlArg()
			if h.r.IntN(10) == 0 {
				ttl = -ttl
			}
			h.logf("EXPIRE %q %v %d", k, ttl, flags)
			got, err := h.c.ExpireFlags([]byte(k), ttl, flags)
			v := h.m.get(k)
			want := false
			if v != nil {
				when := h.clock.Now().Add(ttl).UnixNano()
				cur := v.exp
				ok := true
				switch {
				case flags&ExpireNX != 0 && cur != 0,
					flags&ExpireXX != 0 && cur == 0,
					flags&ExpireGT != 0 && (cur == 0 || when/1e6 <= cur/1e6),
					flags&ExpireLT != 0 && cur != 0 && when/1e6 >= cur/1e6:
					ok = false
				}
				if ok {
					want = true
					if when <= h.clock.Now().UnixNano() {
						delete(h.m.keys, k)
					} else {
						v.exp = when
					}
				}
			}
			h.eq("EXPIRE", got, err, want, nil)
		}},
		{"persist", 2, func(h *harness) {
			k := h.name()
			h.logf("PERSIST %q", k)
			got, err := h.c.Persist([]byte(k))
			v := h.m.get(k)
			want := v != nil && v.exp != 0
			if want {
				v.exp = 0
			}
			h.eq("PERSIST", got, err, want, nil)
		}},
		{"ttl", 2, func(h *harness) { h.checkKey(h.name()) }},
		{"rename", 2, func(h *harness) {
			src, dst := h.name(), h.name()
			nx := h.r.IntN(3) == 0
			h.logf("RENAME nx=%v %q %q", nx, src, dst)
			var got bool
			var err error
			if nx {
				got, err = h.c.RenameNX([]byte(src), []byte(dst))
			} else {
				err = h.c.Rename([]byte(src), []byte(dst))
				got = err == nil
			}
			v := h.m.get(src)
			if v == nil {
				h.eq("RENAME", got, err, false, ErrNoSuchKey)
				return
			}
			want := true
			switch {
			case src == dst:
				want = !nx
			case nx && h.m.get(dst) != nil:
				want = false
			default:
				delete(h.m.keys, src)
				h.m.keys[dst] = v
			}
			h.eq("RENAME", got, err, want, nil)
		}},
	}
}

func stringOps() []hop {
	return []hop{
		{"get", 3, func(h *harness) {
			k := h.name()
			got, err := h.c.Get([]byte(k))
			v, wrong := h.m.of(k, TypeString)
			switch {
			case wrong:
				h.eq("GET", got, err, nil, ErrWrongType)
			case v == nil:
				h.eq("GET", got, err, nil, ErrNotFound)
			default:
				h.eq("GET", got, err, []byte(v.str), nil)
			}
		}},
		{"set", 4, func(h *harness) {
			k, val := h.name(), h.elem()
			var a SetArgs
			switch h.r.IntN(6) {
			case 0:
				a.NX = true
			case 1:
				a.XX = true
			}
			switch h.r.IntN(5) {
			case 0:
				a.TTL = h.ttlArg()
			case 1:
				a.KeepTTL = true
			case 2:
				a.ExpireAt = h.clock.Now().Add(h.ttlArg() - 500*time.Millisecond)
			}
			a.Get = h.r.IntN(3) == 0
			h.logf("SET %q %q %+v", k, val, a)
			got, err := h.c.SetArgs([]byte(k), []byte(val), a)
			v := h.m.get(k)
			var want SetResult
			if a.Get && v != nil && v.typ != TypeString {
				h.eq("SET", got, err, want, ErrWrongType)
				return
			}
			if a.Get && v != nil {
				want.Old, want.OldOK = []byte(v.str), true
			}
			if (a.NX && v != nil) || (a.XX && v == nil) {
				h.eq("SET", got, err, want, nil)
				return
			}
			nv := &mval{typ: TypeString, str: val}
			switch {
			case a.TTL > 0:
				nv.exp = h.clock.Now().Add(a.TTL).UnixNano()
			case !a.ExpireAt.IsZero():
				nv.exp = a.ExpireAt.UnixNano()
			case a.KeepTTL && v != nil:
				nv.exp = v.exp
			}
			h.m.keys[k] = nv
			want.Written = true
			h.eq("SET", fmt.Sprintf("%v %q %v", got.Written, got.Old, got.OldOK), err,
				fmt.Sprintf("%v %q %v", want.Written, want.Old, want.OldOK), nil)
		}},
		{"incrby", 3, func(h *harness) {
			k := h.name()
			d := int64(h.r.IntN(200) - 100)
			if h.r.IntN(20) == 0 {
				d = 1 << 62
			}
			h.logf("INCRBY %q %d", k, d)
			var got int64
			var err error
			if h.r.IntN(2) == 0 {
				got, err = h.c.IncrBy([]byte(k), d)
			} else {
				if h.inTx {
					got, err = h.c.IncrBy([]byte(k), d)
				} else {
					err = h.s.Update(func(tx *Tx) (err error) { got, err = tx.IncrBy([]byte(k), d); return })
				}
			}
			v, wrong := h.m.of(k, TypeString)
			if wrong {
				h.eq("INCRBY", got, err, 0, ErrWrongType)
				return
			}
			var cur int64
			if v != nil {
				var ok bool
				if cur, ok = ParseInt([]byte(v.str)); !ok {
					h.eq("INCRBY", got, err, 0, ErrNotInteger)
					return
				}
			}
			n, oerr := addInt(cur, d)
			if oerr != nil {
				h.eq("INCRBY", got, err, 0, oerr)
				return
			}
			if v == nil {
				v = &mval{typ: TypeString}
				h.m.keys[k] = v
			}
			v.str = fmt.Sprint(n)
			h.eq("INCRBY", got, err, n, nil)
		}},
		{"incrbyfloat", 1, func(h *harness) {
			k := h.name()
			incr := []string{"1.5", "-0.25", "0.1", "3", "1e3", "abc"}[h.r.IntN(6)]
			h.logf("INCRBYFLOAT %q %s", k, incr)
			got, err := h.c.IncrByFloatText([]byte(k), []byte(incr))
			v, wrong := h.m.of(k, TypeString)
			if wrong {
				h.eq("INCRBYFLOAT", got, err, nil, ErrWrongType)
				return
			}
			var cur []byte
			if v != nil {
				cur = []byte(v.str)
			}
			r, werr := incrFloatText(cur, v != nil, []byte(incr), ErrNotFloat)
			if werr == nil {
				if v == nil {
					v = &mval{typ: TypeString}
					h.m.keys[k] = v
				}
				v.str = string(r)
			}
			h.eq("INCRBYFLOAT", got, err, r, werr)
		}},
		{"append", 2, func(h *harness) {
			k, val := h.name(), h.elem()
			h.logf("APPEND %q %q", k, val)
			got, err := h.c.Append([]byte(k), []byte(val))
			v, wrong := h.m.of(k, TypeString)
			if wrong {
				h.eq("APPEND", got, err, 0, ErrWrongType)
				return
			}
			if v == nil {
				v = &mval{typ: TypeString}
				h.m.keys[k] = v
			}
			v.str += val
			h.eq("APPEND", got, err, len(v.str), nil)
		}},
		{"strlen", 1, func(h *harness) {
			k := h.name()
			got, err := h.c.StrLen([]byte(k))
			v, wrong := h.m.of(k, TypeString)
			switch {
			case wrong:
				h.eq("STRLEN", got, err, 0, ErrWrongType)
			case v == nil:
				h.eq("STRLEN", got, err, 0, nil)
			default:
				h.eq("STRLEN", got, err, len(v.str), nil)
			}
		}},
		{"getrange", 1, func(h *harness) {
			k := h.name()
			a, b := int64(h.r.IntN(30)-15), int64(h.r.IntN(30)-15)
			got, err := h.c.GetRange([]byte(k), a, b)
			v, wrong := h.m.of(k, TypeString)
			if wrong {
				h.eq("GETRANGE", got, err, nil, ErrWrongType)
				return
			}
			s := ""
			if v != nil {
				s = v.str
			}
			n := int64(len(s))
			want := ""
			if !(a < 0 && b < 0 && a > b) {
				if a < 0 {
					a += n
				}
				if b < 0 {
					b += n
				}
				a, b = max(a, 0), max(b, 0)
				if b >= n {
					b = n - 1
				}
				if a <= b && n > 0 {
					want = s[a : b+1]
				}
			}
			h.eq("GETRANGE", got, err, []byte(want), nil)
		}},
		{"setrange", 1, func(h *harness) {
			k, val := h.name(), h.elem()
			off := int64(h.r.IntN(12))
			h.logf("SETRANGE %q %d %q", k, off, val)
			got, err := h.c.SetRange([]byte(k), off, []byte(val))
			v, wrong := h.m.of(k, TypeString)
			switch {
			case wrong:
				h.eq("SETRANGE", got, err, 0, ErrWrongType)
				return
			case len(val) == 0 && v == nil:
				h.eq("SETRANGE", got, err, 0, nil)
				return
			case len(val) == 0:
				h.eq("SETRANGE", got, err, len(v.str), nil)
				return
			}
			if v == nil {
				v = &mval{typ: TypeString}
				h.m.keys[k] = v
			}
			b := []byte(v.str)
			if int(off)+len(val) > len(b) {
				b = append(b, make([]byte, int(off)+len(val)-len(b))...)
			}
			copy(b[off:], val)
			v.str = string(b)
			h.eq("SETRANGE", got, err, len(b), nil)
		}},
		{"mget", 1, func(h *harness) {
			ks := []string{h.name(), h.name(), h.name()}
			got, err := h.c.MGet(bs(ks...)...)
			want := make([][]byte, len(ks))
			for i, k := range ks {
				if v, _ := h.m.of(k, TypeString); v != nil {
					want[i] = []byte(v.str)
				}
			}
			h.eq("MGET", got, err, want, nil)
		}},
		{"mset", 1, func(h *harness) {
			kv := []string{h.name(), h.elem(), h.name(), h.elem()}
			h.logf("MSET %q", kv)
			err := h.c.MSet(bs(kv...)...)
			for i := 0; i < len(kv); i += 2 {
				h.m.keys[kv[i]] = &mval{typ: TypeString, str: kv[i+1]}
			}
			h.eq("MSET", nil, err, nil, nil)
		}},
		{"getdel", 1, func(h *harness) {
			k := h.name()
			h.logf("GETDEL %q", k)
			got, err := h.c.GetDel([]byte(k))
			v, wrong := h.m.of(k, TypeString)
			switch {
			case wrong:
				h.eq("GETDEL", got, err, nil, ErrWrongType)
			case v == nil:
				h.eq("GETDEL", got, err, nil, ErrNotFound)
			default:
				delete(h.m.keys, k)
				h.eq("GETDEL", got, err, []byte(v.str), nil)
			}
		}},
	}
}

func hashOps() []hop {
	return []hop{
		{"hset", 6, func(h *harness) {
			k := h.name()
			fv := []string{h.elem(), h.elem()}
			if h.r.IntN(3) == 0 {
				fv = append(fv, h.elem(), h.elem())
			}
			h.logf("HSET %q %q", k, fv)
			got, err := h.c.HSet([]byte(k), bs(fv...)...)
			v, wrong := h.m.mk(k, TypeHash)
			if wrong {
				h.eq("HSET", got, err, 0, ErrWrongType)
				return
			}
			n := 0
			for i := 0; i < len(fv); i += 2 {
				if _, ok := v.hash[fv[i]]; !ok {
					n++
				}
				v.hash[fv[i]] = fv[i+1]
			}
			h.eq("HSET", got, err, n, nil)
		}},
		{"hsetnx", 1, func(h *harness) {
			k, f, val := h.name(), h.elem(), h.elem()
			h.logf("HSETNX %q %q %q", k, f, val)
			got, err := h.c.HSetNX([]byte(k), []byte(f), []byte(val))
			v, wrong := h.m.mk(k, TypeHash)
			if wrong {
				h.eq("HSETNX", got, err, false, ErrWrongType)
				return
			}
			_, had := v.hash[f]
			if !had {
				v.hash[f] = val
			}
			h.eq("HSETNX", got, err, !had, nil)
		}},
		{"hget", 3, func(h *harness) {
			k, f := h.name(), h.elem()
			got, err := h.c.HGet([]byte(k), []byte(f))
			v, wrong := h.m.of(k, TypeHash)
			switch {
			case wrong:
				h.eq("HGET", got, err, nil, ErrWrongType)
			case v == nil:
				h.eq("HGET", got, err, nil, ErrNotFound)
			default:
				val, ok := v.hash[f]
				if !ok {
					h.eq("HGET", got, err, nil, ErrNotFound)
				} else {
					h.eq("HGET", got, err, []byte(val), nil)
				}
			}
		}},
		{"hmget", 1, func(h *harness) {
			k := h.name()
			fs := []string{h.elem(), h.elem()}
			got, err := h.c.HMGet([]byte(k), bs(fs...)...)
			v, wrong := h.m.of(k, TypeHash)
			want := make([][]byte, len(fs))
			if v != nil {
				for i, f := range fs {
					if val, ok := v.hash[f]; ok {
						want[i] = []byte(val)
					}
				}
			}
			if wrong {
				h.eq("HMGET", got, err, nil, ErrWrongType)
				return
			}
			h.eq("HMGET", got, err, want, nil)
		}},
		{"hdel", 3, func(h *harness) {
			k := h.name()
			fs := []string{h.elem()}
			if h.r.IntN(2) == 0 {
				fs = append(fs, h.elem(), h.elem())
			}
			h.logf("HDEL %q %q", k, fs)
			got, err := h.c.HDel([]byte(k), bs(fs...)...)
			v, wrong := h.m.of(k, TypeHash)
			if wrong {
				h.eq("HDEL", got, err, 0, ErrWrongType)
				return
			}
			n := 0
			if v != nil {
				for _, f := range fs {
					if _, ok := v.hash[f]; ok {
						delete(v.hash, f)
						n++
					}
				}
				h.m.gc(k)
			}
			h.eq("HDEL", got, err, n, nil)
		}},
		{"hexists+hlen+hstrlen", 2, func(h *harness) {
			k, f := h.name(), h.elem()
			e, err1 := h.c.HExists([]byte(k), []byte(f))
			n, err2 := h.c.HLen([]byte(k))
			sl, err3 := h.c.HStrLen([]byte(k), []byte(f))
			v, wrong := h.m.of(k, TypeHash)
			if wrong {
				h.eq("HEXISTS", e, err1, false, ErrWrongType)
				h.eq("HLEN", n, err2, int64(0), ErrWrongType)
				h.eq("HSTRLEN", sl, err3, 0, ErrWrongType)
				return
			}
			var we bool
			var wn int64
			var ws int
			if v != nil {
				var val string
				val, we = v.hash[f]
				wn, ws = int64(len(v.hash)), len(val)
			}
			h.eq("HEXISTS", e, err1, we, nil)
			h.eq("HLEN", n, err2, wn, nil)
			h.eq("HSTRLEN", sl, err3, ws, nil)
		}},
		{"hkeys+hvals", 1, func(h *harness) {
			k := h.name()
			ks, err1 := h.c.HKeys([]byte(k))
			vs, err2 := h.c.HVals([]byte(k))
			v, wrong := h.m.of(k, TypeHash)
			if wrong {
				h.eq("HKEYS", ks, err1, nil, ErrWrongType)
				h.eq("HVALS", vs, err2, nil, ErrWrongType)
				return
			}
			var wk, wv []string
			if v != nil {
				wk = sortedKeys(v.hash)
				for _, f := range wk {
					wv = append(wv, v.hash[f])
				}
			}
			h.eq("HKEYS", len(ks), err1, len(wk), nil)
			h.eq("HKEYS", ks, err1, bs(wk...), nil)
			h.eq("HVALS", vs, err2, bs(wv...), nil)
		}},
		{"hincrby", 2, func(h *harness) {
			k, f := h.name(), h.elem()
			d := int64(h.r.IntN(100) - 50)
			h.logf("HINCRBY %q %q %d", k, f, d)
			got, err := h.c.HIncrBy([]byte(k), []byte(f), d)
			v, wrong := h.m.of(k, TypeHash)
			if wrong {
				h.eq("HINCRBY", got, err, 0, ErrWrongType)
				return
			}
			var cur int64
			if v != nil {
				if s, ok := v.hash[f]; ok {
					if cur, ok = ParseInt([]byte(s)); !ok {
						h.eq("HINCRBY", got, err, 0, ErrHashNotInteger)
						return
					}
				}
			}
			v, _ = h.m.mk(k, TypeHash)
			v.hash[f] = fmt.Sprint(cur + d)
			h.eq("HINCRBY", got, err, cur+d, nil)
		}},
		{"hincrbyfloat", 1, func(h *harness) {
			k, f := h.name(), h.elem()
			incr := []string{"0.5", "-1.25", "1e2", "x"}[h.r.IntN(4)]
			h.logf("HINCRBYFLOAT %q %q %s", k, f, incr)
			got, err := h.c.HIncrByFloatText([]byte(k), []byte(f), []byte(incr))
			v, wrong := h.m.of(k, TypeHash)
			if wrong {
				h.eq("HINCRBYFLOAT", got, err, nil, ErrWrongType)
				return
			}
			var cur []byte
			present := false
			if v != nil {
				if s, ok := v.hash[f]; ok {
					cur, present = []byte(s), true
				}
			}
			r, werr := incrFloatText(cur, present, []byte(incr), ErrHashNotFloat)
			if werr == nil {
				v, _ = h.m.mk(k, TypeHash)
				v.hash[f] = string(r)
			}
			h.eq("HINCRBYFLOAT", got, err, r, werr)
		}},
		{"hrandfield", 1, func(h *harness) {
			k := h.name()
			count := int64(h.r.IntN(9) - 4)
			got, err := h.c.HRandField([]byte(k), count, true)
			v, wrong := h.m.of(k, TypeHash)
			if wrong {
				h.eq("HRANDFIELD", got, err, nil, ErrWrongType)
				return
			}
			h.checkRandom("HRANDFIELD", got, err, v, count, true)
		}},
		{"hscan", 1, func(h *harness) {
			k := h.name()
			v, wrong := h.m.of(k, TypeHash)
			var cursor []byte
			var all []string
			for i := 0; ; i++ {
				page, next, err := h.c.HScan([]byte(k), cursor, 1+h.r.IntN(3))
				if wrong {
					h.eq("HSCAN", page, err, nil, ErrWrongType)
					return
				}
				h.eq("HSCAN", nil, err, nil, nil)
				for _, b := range page {
					all = append(all, string(b))
				}
				if next == nil {
					break
				}
				cursor = next
			}
			var want []string
			if v != nil {
				for _, f := range sortedKeys(v.hash) {
					want = append(want, f, v.hash[f])
				}
			}
			h.eq("HSCAN all", all, nil, want, nil)
		}},
	}
}

// checkRandom checks HRANDFIELD/SRANDMEMBER's count rules: pairs (with
// values) or members drawn from v, distinct for count > 0.
func (h *harness) checkRandom(what string, got [][]byte, err error, v *mval, count int64, withValues bool) {
	h.t.Helper()
	if err != nil {
		h.fail(what, err, nil)
	}
	var universe map[string]string
	if v != nil {
		universe = map[string]string{}
		switch v.typ {
		case TypeHash:
			universe = v.hash
		case TypeSet:
			for m := range v.set {
				universe[m] = ""
			}
		case TypeZSet:
			for m, s := range v.zset {
				universe[m] = formatScore(s)
			}
		}
	}
	step := 1
	if withValues {
		step = 2
	}
	n := int64(len(got) / step)
	var want int64
	switch {
	case v == nil || count == 0:
		want = 0
	case count > 0:
		want = min(count, int64(len(universe)))
	default:
		want = -count
	}
	if n != want {
		h.fail(what+" count", n, want)
	}
	seen := map[string]bool{}
	for i := 0; i < len(got); i += step {
		e := string(got[i])
		val, ok := universe[e]
		if !ok {
			h.fail(what+" member not in the collection", e, universe)
		}
		if withValues && string(got[i+1]) != val {
			h.fail(what+" value", string(got[i+1]), val)
		}
		if count > 0 && seen[e] {
			h.fail(what+" repeated member", e, nil)
		}
		seen[e] = true
	}
}

// formatScore is how the tests print a score.
func formatScore(f float64) string { return fmt.Sprint(f) }

func setOps() []hop {
	return []hop{
		{"sadd", 6, func(h *harness) {
			k := h.name()
			ms := []string{h.elem()}
			if h.r.IntN(2) == 0 {
				ms = append(ms, h.elem(), h.elem())
			}
			h.logf("SADD %q %q", k, ms)
			got, err := h.c.SAdd([]byte(k), bs(ms...)...)
			v, wrong := h.m.mk(k, TypeSet)
			if wrong {
				h.eq("SADD", got, err, 0, ErrWrongType)
				return
			}
			n := 0
			for _, e := range ms {
				if !v.set[e] {
					v.set[e] = true
					n++
				}
			}
			h.eq("SADD", got, err, n, nil)
		}},
		{"srem", 3, func(h *harness) {
			k := h.name()
			ms := []string{h.elem(), h.elem()}
			h.logf("SREM %q %q", k, ms)
			got, err := h.c.SRem([]byte(k), bs(ms...)...)
			v, wrong := h.m.of(k, TypeSet)
			if wrong {
				h.eq("SREM", got, err, 0, ErrWrongType)
				return
			}
			n := 0
			if v != nil {
				for _, e := range ms {
					if v.set[e] {
						delete(v.set, e)
						n++
					}
				}
				h.m.gc(k)
			}
			h.eq("SREM", got, err, n, nil)
		}},
		{"sismember", 3, func(h *harness) {
			k, e := h.name(), h.elem()
			got, err := h.c.SIsMember([]byte(k), []byte(e))
			got2, err2 := h.c.SMIsMember([]byte(k), []byte(e), []byte(h.elems[0]))
			v, wrong := h.m.of(k, TypeSet)
			if wrong {
				h.eq("SISMEMBER", got, err, false, ErrWrongType)
				h.eq("SMISMEMBER", got2, err2, nil, ErrWrongType)
				return
			}
			want := v != nil && v.set[e]
			h.eq("SISMEMBER", got, err, want, nil)
			h.eq("SMISMEMBER", got2, err2, []bool{want, v != nil && v.set[h.elems[0]]}, nil)
		}},
		{"scard", 1, func(h *harness) {
			k := h.name()
			got, err := h.c.SCard([]byte(k))
			v, wrong := h.m.of(k, TypeSet)
			var want int64
			if v != nil {
				want = int64(len(v.set))
			}
			if wrong {
				h.eq("SCARD", got, err, want, ErrWrongType)
				return
			}
			h.eq("SCARD", got, err, want, nil)
		}},
		{"spop", 2, func(h *harness) {
			k := h.name()
			count := int64(h.r.IntN(4))
			h.logf("SPOP %q %d", k, count)
			got, err := h.c.SPop([]byte(k), count)
			v, wrong := h.m.of(k, TypeSet)
			if wrong {
				h.eq("SPOP", got, err, nil, ErrWrongType)
				return
			}
			h.checkRandom("SPOP", got, err, v, count, false)
			if v != nil {
				for _, e := range got {
					delete(v.set, string(e))
				}
				h.m.gc(k)
			}
		}},
		{"srandmember", 1, func(h *harness) {
			k := h.name()
			count := int64(h.r.IntN(9) - 4)
			got, err := h.c.SRandMember([]byte(k), count)
			v, wrong := h.m.of(k, TypeSet)
			if wrong {
				h.eq("SRANDMEMBER", got, err, nil, ErrWrongType)
				return
			}
			h.checkRandom("SRANDMEMBER", got, err, v, count, false)
		}},
		{"smove", 1, func(h *harness) {
			src, dst, e := h.name(), h.name(), h.elem()
			h.logf("SMOVE %q %q %q", src, dst, e)
			got, err := h.c.SMove([]byte(src), []byte(dst), []byte(e))
			sv, swrong := h.m.of(src, TypeSet)
			if sv == nil && !swrong {
				h.eq("SMOVE", got, err, false, nil)
				return
			}
			_, dwrong := h.m.of(dst, TypeSet)
			if swrong || dwrong {
				h.eq("SMOVE", got, err, false, ErrWrongType)
				return
			}
			if !sv.set[e] {
				h.eq("SMOVE", got, err, false, nil)
				return
			}
			if src != dst {
				delete(sv.set, e)
				h.m.gc(src)
				dv, _ := h.m.mk(dst, TypeSet)
				dv.set[e] = true
			}
			h.eq("SMOVE", got, err, true, nil)
		}},
		{"setalgebra", 2, func(h *harness) {
			ks := []string{h.name(), h.name()}
			if h.r.IntN(2) == 0 {
				ks = append(ks, h.name())
			}
			var sets []map[string]bool
			wrong := false
			for _, k := range ks {
				v, w := h.m.of(k, TypeSet)
				wrong = wrong || w
				if v != nil {
					sets = append(sets, v.set)
				} else {
					sets = append(sets, nil)
				}
			}
			inter, union, diff := map[string]bool{}, map[string]bool{}, map[string]bool{}
			for e := range sets[0] {
				in, out := true, true
				for _, s := range sets[1:] {
					in = in && s[e]
					out = out && !s[e]
				}
				if in {
					inter[e] = true
				}
				if out {
					diff[e] = true
				}
			}
			for _, s := range sets {
				for e := range s {
					union[e] = true
				}
			}
			for _, s := range sets {
				if s == nil {
					inter = map[string]bool{}
				}
			}
			gi, err1 := h.c.SInter(bs(ks...)...)
			gu, err2 := h.c.SUnion(bs(ks...)...)
			gd, err3 := h.c.SDiff(bs(ks...)...)
			gc, err4 := h.c.SInterCard(1, bs(ks...)...)
			if wrong {
				for _, err := range []error{err1, err2, err3, err4} {
					h.eq("set algebra", nil, err, nil, ErrWrongType)
				}
				return
			}
			h.eq("SINTER", gi, err1, bs(sortedKeys(inter)...), nil)
			h.eq("SUNION", gu, err2, bs(sortedKeys(union)...), nil)
			h.eq("SDIFF", gd, err3, bs(sortedKeys(diff)...), nil)
			h.eq("SINTERCARD 1", gc, err4, int64(min(1, len(inter))), nil)
			// One of the STORE forms, into a random key.
			dst := h.name()
			which := h.r.IntN(3)
			res := []map[string]bool{inter, union, diff}[which]
			h.logf("S%sSTORE %q %q", []string{"INTER", "UNION", "DIFF"}[which], dst, ks)
			var n int64
			var err error
			switch which {
			case 0:
				n, err = h.c.SInterStore([]byte(dst), bs(ks...)...)
			case 1:
				n, err = h.c.SUnionStore([]byte(dst), bs(ks...)...)
			default:
				n, err = h.c.SDiffStore([]byte(dst), bs(ks...)...)
			}
			delete(h.m.keys, dst)
			if len(res) > 0 {
				nv := &mval{typ: TypeSet, set: map[string]bool{}}
				for e := range res {
					nv.set[e] = true
				}
				h.m.keys[dst] = nv
			}
			h.eq("S*STORE", n, err, int64(len(res)), nil)
		}},
	}
}

var _ = slices.Sort[[]string]

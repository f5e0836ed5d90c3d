package server

import (
	"bytes"
	"errors"
	"math"
	"sort"
	"time"

	"github.com/stratadb/strata/lsm"
)

// txKeyspace is the Keyspace of EXEC and scripts: its writes go into one
// lsm.Batch, applied at commit, so the WAL gets them as one record and a
// crash keeps all or none. Its reads see its own earlier writes through an
// overlay (the latest state of each key it wrote) above the engine.
//
// It runs while the server's gate is held exclusively, so no other server
// client writes between its reads and its commit (see doc.go). It belongs
// to one goroutine.
type txKeyspace struct {
	s       *Server
	db      *lsm.DB
	b       *lsm.Batch
	ov      map[string]*ovEntry
	cleared bool // FLUSHALL ran: keys not in ov are absent
}

// ovEntry is a key's state after the transaction's writes so far.
type ovEntry struct {
	del bool
	val []byte
	exp time.Time // zero: never
}

func newTx(s *Server) *txKeyspace {
	return &txKeyspace{s: s, db: s.db, b: s.db.NewBatch(), ov: map[string]*ovEntry{}}
}

// commit applies the batch. Nothing reaches the engine before it, so an
// error here leaves the data as it was.
func (t *txKeyspace) commit() error {
	if t.b.Len() == 0 {
		return nil
	}
	var opts []lsm.WriteOption
	if t.s.syncAlways() {
		opts = append(opts, lsm.WithSync())
	}
	if err := t.db.Apply(t.b, opts...); err != nil {
		return err
	}
	for k := range t.ov {
		t.s.touch([]byte(k))
	}
	return nil
}

func (t *txKeyspace) live(e *ovEntry) bool {
	return !e.del && (e.exp.IsZero() || e.exp.After(t.s.now()))
}

// lookup returns key's value and, with wantExp, its expiry.
func (t *txKeyspace) lookup(key []byte, wantExp bool) ([]byte, time.Time, bool, error) {
	if e, ok := t.ov[string(key)]; ok {
		if !t.live(e) {
			return nil, time.Time{}, false, nil
		}
		return e.val, e.exp, true, nil
	}
	if t.cleared {
		return nil, time.Time{}, false, nil
	}
	v, err := t.db.Get(key)
	if errors.Is(err, lsm.ErrNotFound) {
		return nil, time.Time{}, false, nil
	}
	if err != nil {
		return nil, time.Time{}, false, err
	}
	var exp time.Time
	if wantExp {
		exp, err = t.db.Expiry(key)
		if errors.Is(err, lsm.ErrNotFound) { // expired between the two reads
			return nil, time.Time{}, false, nil
		}
		if err != nil {
			return nil, time.Time{}, false, err
		}
	}
	return v, exp, true, nil
}

func (t *txKeyspace) put(key, val []byte, exp time.Time) {
	if !exp.IsZero() {
		d := ttlUntil(exp, t.s.now())
		if d <= 0 {
			t.del(key)
			return
		}
		t.b.Put(key, val, lsm.WithTTL(d))
	} else {
		t.b.Put(key, val)
	}
	t.ov[string(key)] = &ovEntry{val: append([]byte(nil), val...), exp: exp}
}

func (t *txKeyspace) del(key []byte) {
	t.b.Delete(key)
	t.ov[string(key)] = &ovEntry{del: true}
}

func (t *txKeyspace) Type(key []byte) (Kind, error) {
	_, _, ok, err := t.lookup(key, false)
	if err != nil || !ok {
		return KindNone, err
	}
	return KindString, nil
}

func (t *txKeyspace) Get(key []byte) ([]byte, error) {
	v, _, ok, err := t.lookup(key, false)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, lsm.ErrNotFound
	}
	return v, nil
}

func (t *txKeyspace) Expiry(key []byte) (time.Time, bool, error) {
	_, exp, ok, err := t.lookup(key, true)
	return exp, ok, err
}

func (t *txKeyspace) Set(key, value []byte, o SetOpts) (bool, error) {
	_, cur, exists, err := t.lookup(key, o.KeepTTL)
	if err != nil {
		return false, err
	}
	if (o.Cond == CondAbsent && exists) || (o.Cond == CondPresent && !exists) {
		return false, nil
	}
	exp := o.Expire
	if o.KeepTTL && exp.IsZero() {
		exp = cur
	}
	t.put(key, value, exp)
	return true, nil
}

func (t *txKeyspace) MSet(kv [][]byte, nx bool) (bool, error) {
	if nx {
		for i := 0; i+1 < len(kv); i += 2 {
			_, _, ok, err := t.lookup(kv[i], false)
			if err != nil || ok {
				return false, err
			}
		}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		t.put(kv[i], kv[i+1], time.Time{})
	}
	return true, nil
}

func (t *txKeyspace) IncrBy(key []byte, delta int64) (int64, error) {
	v, exp, ok, err := t.lookup(key, true)
	if err != nil {
		return 0, err
	}
	var n int64
	if ok {
		var good bool
		if n, good = parseInt64(v); !good {
			return 0, errBadInteger
		}
	}
	if (delta > 0 && n > math.MaxInt64-delta) || (delta < 0 && n < math.MinInt64-delta) {
		return 0, errOverflow
	}
	n += delta
	var buf [20]byte
	t.put(key, appendInt(buf[:0], n), exp)
	return n, nil
}

func (t *txKeyspace) Delete(keys ...[]byte) (int, error) {
	n := 0
	for _, k := range keys {
		_, _, ok, err := t.lookup(k, false)
		if err != nil {
			return n, err
		}
		if ok {
			n++
			t.del(k)
		}
	}
	return n, nil
}

func (t *txKeyspace) SetExpiry(key []byte, at time.Time) (bool, error) {
	v, _, ok, err := t.lookup(key, false)
	if err != nil || !ok {
		return false, err
	}
	if !at.IsZero() && !at.After(t.s.now()) {
		t.del(key)
		return true, nil
	}
	t.put(key, v, at)
	return true, nil
}

func (t *txKeyspace) Rename(src, dst []byte, nx bool) (bool, error) {
	v, exp, ok, err := t.lookup(src, true)
	if err != nil {
		return false, err
	}
	if !ok {
		return false, ErrNoSuchKey
	}
	if bytes.Equal(src, dst) {
		return !nx, nil
	}
	if nx {
		if _, _, exists, err := t.lookup(dst, false); err != nil || exists {
			return false, err
		}
	}
	t.put(dst, v, exp)
	t.del(src)
	return true, nil
}

func (t *txKeyspace) Scan(lower, upper []byte, fn func([]byte, Kind, time.Time) bool) error {
	var mine []string
	for k := range t.ov {
		if (lower == nil || k >= string(lower)) && (upper == nil || k < string(upper)) {
			mine = append(mine, k)
		}
	}
	sort.Strings(mine)
	var it *lsm.Iterator
	valid := false
	if !t.cleared {
		var err error
		it, err = t.db.NewIter(&lsm.IterOptions{LowerBound: lower, UpperBound: upper})
		if err != nil {
			return err
		}
		defer it.Close()
		valid = it.First()
	}
	i := 0
	for valid || i < len(mine) {
		var c int
		switch {
		case !valid:
			c = 1
		case i >= len(mine):
			c = -1
		default:
			c = bytes.Compare(it.Key(), []byte(mine[i]))
		}
		if c < 0 {
			if !fn(it.Key(), KindString, it.Expiry()) {
				return nil
			}
			valid = it.Next()
			continue
		}
		if c == 0 {
			valid = it.Next()
		}
		e := t.ov[mine[i]]
		i++
		if t.live(e) && !fn([]byte(mine[i-1]), KindString, e.exp) {
			return nil
		}
	}
	if it != nil {
		return it.Error()
	}
	return nil
}

func (t *txKeyspace) Flush() error {
	t.b.Reset()
	t.ov = map[string]*ovEntry{}
	t.cleared = true
	return flushInto(t.db, t.b)
}

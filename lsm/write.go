package lsm

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/stratadb/strata/internal/batchrepr"
	"github.com/stratadb/strata/keys"
)

// writable returns the error a write must fail with before it starts, if any.
func (db *DB) writable() error {
	if db.closed.Load() {
		return ErrClosed
	}
	if db.opts.ReadOnly {
		return ErrReadOnly
	}
	return nil
}

// Put sets key to value. Options: WithTTL, WithSync, and one of IfAbsent,
// IfPresent, IfValue. A Put without WithTTL replaces the whole entry, expiry
// included: the key then never expires.
func (db *DB) Put(key, value []byte, opts ...WriteOption) error {
	return db.write(keys.KindSet, key, value, opts)
}

// Delete removes key. Deleting an absent key returns nil; with IfPresent it
// returns ErrConditionFailed instead.
func (db *DB) Delete(key []byte, opts ...WriteOption) error {
	return db.write(keys.KindDelete, key, nil, opts)
}

// PutItem sets the item (pk, sk) to value: a Put of ItemKey(pk, sk). An
// empty pk is ErrInvalidArgument, as an empty key is for Put; an empty sk is
// allowed.
func (db *DB) PutItem(pk, sk, value []byte, opts ...WriteOption) error {
	key, err := itemKey(pk, sk)
	if err != nil {
		return err
	}
	return db.write(keys.KindSet, key, value, opts)
}

// DeleteItem removes the item (pk, sk): a Delete of ItemKey(pk, sk). An
// empty pk is ErrInvalidArgument.
func (db *DB) DeleteItem(pk, sk []byte, opts ...WriteOption) error {
	key, err := itemKey(pk, sk)
	if err != nil {
		return err
	}
	return db.write(keys.KindDelete, key, nil, opts)
}

func (db *DB) write(kind keys.Kind, key, value []byte, opts []WriteOption) error {
	if err := db.writable(); err != nil {
		return err
	}
	if len(opts) > 0 {
		w, err := mergeOpts(opts)
		if err != nil {
			return err
		}
		if w.cond != condNone {
			// The conditional path goes through a batch of one, evaluated
			// by the commit leader; plain writes never pay for it.
			b := Batch{db: db}
			b.add(kind, key, value, opts)
			if w.sync {
				return db.Apply(&b, WithSync())
			}
			return db.Apply(&b)
		}
		if kind == keys.KindDelete && w.ttl != 0 {
			return fmt.Errorf("%w: WithTTL on a delete", ErrInvalidArgument)
		}
		return db.writePlain(kind, key, value, w)
	}
	return db.writePlain(kind, key, value, writeOpts{})
}

func (db *DB) writePlain(kind keys.Kind, key, value []byte, w writeOpts) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if len(value) > MaxValueSize {
		return fmt.Errorf("%w: value of %d bytes over %d", ErrInvalidArgument, len(value), MaxValueSize)
	}
	req := getReq()
	var expiry int64
	if w.ttl > 0 {
		kind = keys.KindSetExpiry
		expiry = keys.ExpiryAt(db.opts.Clock(), w.ttl)
	}
	req.repr = batchrepr.AppendEntry(req.repr, kind, key, value, expiry)
	req.count = 1
	req.sync = w.sync
	err := db.commitWrite(req)
	putReq(req)
	return err
}

// DeleteRange deletes every key in [start, end): it writes one range
// tombstone, whatever the number of keys it covers, and reads, iterators and
// snapshots taken after it never show a key it covers (a snapshot taken
// before it still does). Only WithSync is meaningful in opts; a TTL or a
// condition is ErrInvalidArgument, and so is start >= end. start may be
// empty (from the first key); end must be a valid key.
func (db *DB) DeleteRange(start, end []byte, opts ...WriteOption) error {
	if err := db.writable(); err != nil {
		return err
	}
	if err := checkRange(start, end); err != nil {
		return err
	}
	w, err := mergeOpts(opts)
	if err != nil {
		return err
	}
	if w.ttl != 0 || w.cond != condNone {
		return fmt.Errorf("%w: DeleteRange takes only WithSync", ErrInvalidArgument)
	}
	req := getReq()
	req.repr = batchrepr.AppendRangeDelete(req.repr, start, end)
	req.count = 1
	req.sync = w.sync
	err = db.commitWrite(req)
	putReq(req)
	return err
}

// Sync makes every WAL byte written before the call durable (fsync),
// whatever the SyncMode: after it returns nil, every write acknowledged
// before the call survives a power loss. It may run concurrently with
// writers. A failed fsync is returned and latched: the DB then refuses
// writes until it is reopened, and every later Sync returns that error.
func (db *DB) Sync() error {
	if db.closed.Load() {
		return ErrClosed
	}
	if db.opts.ReadOnly {
		return nil
	}
	if err := db.syncWALs(); err != nil {
		if db.closed.Load() {
			return ErrClosed
		}
		return err
	}
	return nil
}

// Apply commits every operation of b atomically. WithSync is the only option
// it takes; any other (a TTL or a condition belongs to an operation of the
// batch) is ErrInvalidArgument. If any operation's condition does not hold,
// nothing is written and Apply returns ErrConditionFailed. Applying a batch does not change it.
// A batch must fit one memtable: one whose keys and values, plus about 80
// bytes an operation, pass 3 GiB returns ErrInvalidArgument.
func (db *DB) Apply(b *Batch, opts ...WriteOption) error {
	if err := db.writable(); err != nil {
		return err
	}
	if b == nil {
		return fmt.Errorf("%w: nil batch", ErrInvalidArgument)
	}
	if b.db != nil && b.db != db {
		return fmt.Errorf("%w: batch of another DB", ErrInvalidArgument)
	}
	if b.err != nil {
		return b.err
	}
	w, err := mergeOpts(opts)
	if err != nil {
		return err
	}
	if w.ttl != 0 || w.cond != condNone {
		return fmt.Errorf("%w: Apply takes only WithSync; put TTLs and conditions on the batch's operations", ErrInvalidArgument)
	}
	if b.count == 0 {
		return nil
	}
	req := getReq()
	req.sync = w.sync
	b.results = b.results[:0]
	if len(b.conds) > 0 || len(b.incrs) > 0 {
		req.kind, req.batch = reqBatch, b
	} else {
		b.stamp(db.opts.Clock())
		req.useBatch(b)
	}
	err = db.commitWrite(req)
	putReq(req)
	if err != nil {
		b.results = b.results[:0]
	}
	return err
}

// Increment adds delta to the decimal int64 stored at key and returns the new
// value. An absent or expired key counts as 0 and is created, with WithTTL's
// expiry if given (clamped as WithTTL says); an existing key keeps its
// expiry. The value is stored as
// decimal ASCII. A value strconv.ParseInt does not accept returns
// ErrNotInteger; an overflow returns ErrInvalidArgument.
func (db *DB) Increment(key []byte, delta int64, opts ...WriteOption) (int64, error) {
	if err := db.writable(); err != nil {
		return 0, err
	}
	if err := checkKey(key); err != nil {
		return 0, err
	}
	w, err := mergeOpts(opts)
	if err != nil {
		return 0, err
	}
	req := getReq()
	defer putReq(req)
	req.kind, req.key, req.delta, req.opts, req.sync = reqIncr, key, delta, w, w.sync
	if err := db.commitWrite(req); err != nil {
		return 0, err
	}
	return req.result, nil
}

// Expire sets key's time to live: with ttl > 0 the key expires ttl from now;
// with ttl == 0 it never expires. A negative ttl is ErrInvalidArgument. As
// with WithTTL, an expiry past April 2262 (the largest int64 of Unix
// nanoseconds) is clamped to that instant, so a TTL of centuries keeps the
// key. It returns ErrNotFound if the key is absent, deleted or expired.
func (db *DB) Expire(key []byte, ttl time.Duration) error {
	if err := db.writable(); err != nil {
		return err
	}
	if err := checkKey(key); err != nil {
		return err
	}
	if ttl < 0 {
		return fmt.Errorf("%w: negative TTL %v", ErrInvalidArgument, ttl)
	}
	req := getReq()
	defer putReq(req)
	req.kind, req.key, req.ttl = reqExpire, key, ttl
	return db.commitWrite(req)
}

// prepare evaluates a conditional request against the latest state and
// encodes its repr. It runs on the commit leader, after every earlier write
// is in the memtable and visible or, if it belongs to the leader's group,
// in view, and before anything later: that is what makes conditions and
// counters atomic.
func (db *DB) prepare(r *commitReq, view *groupView) error {
	// The leader publishes every sequence number, so the newest data is
	// stable while it prepares.
	now := db.opts.Clock()
	switch r.kind {
	case reqBatch:
		b := r.batch
		for _, c := range b.conds {
			if err := db.checkCond(c.key.bytes(b.repr), c.cond, c.val.bytes(b.condData), view, now); err != nil {
				return err
			}
		}
		b.stamp(now)
		if len(b.incrs) > 0 {
			return db.spliceIncrs(r, b, view, now)
		}
		r.useBatch(b)
	case reqIncr:
		// One lookup serves the condition and the value.
		cur, found, err := db.current(r.key, view, now)
		if err != nil {
			return err
		}
		r.repr, r.result, err = db.appendIncr(r.repr, r.key, cur.value, cur.expiry, found, r.delta, &r.opts, r.opts.value, now)
		cur.done()
		if err != nil {
			return err
		}
		r.count = 1
	case reqExpire:
		cur, found, err := db.current(r.key, view, now)
		if err != nil {
			return err
		}
		if !found {
			return ErrNotFound
		}
		if r.ttl == 0 {
			r.repr = batchrepr.AppendEntry(r.repr, keys.KindSet, r.key, cur.value, 0)
		} else {
			r.repr = batchrepr.AppendEntry(r.repr, keys.KindSetExpiry, r.key, cur.value, keys.ExpiryAt(now, r.ttl))
		}
		cur.done()
		r.count = 1
	}
	return nil
}

// appendIncr appends to dst the entry an increment of key by delta writes,
// given key's current value and expiry (found is false for an absent,
// deleted or expired key), and returns the new count. o's condition is
// judged first (want: IfValue's value), then the value is read as an int64
// (ErrNotInteger), then the sum checked (ErrInvalidArgument on overflow).
// A new key gets o's TTL; an existing one keeps its expiry.
func (db *DB) appendIncr(dst, key, value []byte, expiry int64, found bool, delta int64, o *writeOpts, want []byte, now time.Time) ([]byte, int64, error) {
	if o.cond != condNone {
		if err := db.condResult(key, o.cond, want, value, found); err != nil {
			return dst, 0, err
		}
	}
	var n int64
	if found {
		var err error
		n, err = strconv.ParseInt(string(value), 10, 64)
		if err == nil && o.canonInt && !canonicalInt(value, n) {
			err = ErrNotInteger
		}
		if err != nil {
			return dst, 0, fmt.Errorf("%w: key %q holds %d bytes that are not a decimal int64", ErrNotInteger, key, len(value))
		}
	} else {
		expiry = 0
		if o.ttl > 0 {
			expiry = keys.ExpiryAt(now, o.ttl)
		}
	}
	if (delta > 0 && n > math.MaxInt64-delta) || (delta < 0 && n < math.MinInt64-delta) {
		return dst, 0, fmt.Errorf("%w: increment of %d by %d overflows int64", ErrInvalidArgument, n, delta)
	}
	n += delta
	var buf [20]byte
	v := strconv.AppendInt(buf[:0], n, 10)
	kind := keys.KindSet
	if expiry != 0 {
		kind = keys.KindSetExpiry
	}
	return batchrepr.AppendEntry(dst, kind, key, v, expiry), n, nil
}

// spliceIncrs computes a batch's increments in order, each against its
// key's last write earlier in the batch if there is one (b.seen), else the
// newest state (the group's earlier writes, then the DB), and makes r's
// repr the batch's record with each increment's entry at its place: r's
// own buffer, so the batch itself is left as it was. It runs on the commit
// leader, after the batch's conditions held and its TTLs were stamped.
func (db *DB) spliceIncrs(r *commitReq, b *Batch, view *groupView, now time.Time) error {
	out := r.repr[:batchrepr.HeaderLen]
	seen := &b.seen
	seen.reset()
	defer seen.reset()
	at := keys.NowAt(keys.UnixNano(now))
	prev := uint32(batchrepr.HeaderLen)
	for i := range b.incrs {
		in := &b.incrs[i]
		out = append(out, b.repr[prev:in.at]...)
		prev = in.at
		key := in.key.bytes(b.incrKeys)
		want := in.val.bytes(b.condData)
		var n int64
		var err error
		if e, ok := seen.find(out, key); ok {
			j := keys.Judge(e.Kind, e.Value, &at)
			if j.Err != nil {
				return fmt.Errorf("strata: batch %s: %w", keys.Quote(key), j.Err)
			}
			live := j.Verdict == keys.VerdictLive
			out, n, err = db.appendIncr(out, key, j.Value, j.Expiry, live, in.delta, &in.opts, want, now)
		} else {
			cur, found, cerr := db.current(key, view, now)
			if cerr != nil {
				return cerr
			}
			out, n, err = db.appendIncr(out, key, cur.value, cur.expiry, found, in.delta, &in.opts, want, now)
			cur.done()
		}
		if err != nil {
			b.results = b.results[:0]
			return err
		}
		b.results = append(b.results, n)
	}
	out = append(out, b.repr[prev:]...)
	r.repr, r.count, r.lent = out, b.count, false
	return nil
}

// canonicalInt reports whether b is n written as strconv.FormatInt writes
// it.
func canonicalInt(b []byte, n int64) bool {
	var buf [20]byte
	return string(strconv.AppendInt(buf[:0], n, 10)) == string(b)
}

// checkCond judges one condition against key's current state (see
// DB.current).
func (db *DB) checkCond(key []byte, cond condKind, want []byte, view *groupView, now time.Time) error {
	cur, found, err := db.current(key, view, now)
	if err != nil {
		return err
	}
	err = db.condResult(key, cond, want, cur.value, found)
	cur.done()
	return err
}

// condResult judges cond against a key's current value (found reports
// whether it has one): nil if it holds, else ErrConditionFailed.
func (db *DB) condResult(key []byte, cond condKind, want, value []byte, found bool) error {
	ok := true
	switch cond {
	case condAbsent:
		ok = !found
	case condPresent:
		ok = found
	case condValue:
		ok = found && bytes.Equal(value, want)
	}
	if !ok {
		db.metrics.conditionFailures.Add(1)
		return newCondFailed(key)
	}
	return nil
}

// condFailedError is ErrConditionFailed for one key. A condition that does
// not hold is an ordinary outcome on hot paths (a counter's first increment
// tries IfPresent before IfAbsent), so the error copies the key (into the
// error itself when it is short: one allocation) and formats it only when
// Error is called; the message is the one fmt.Errorf would have written.
type condFailedError struct {
	key    []byte
	inline [condKeyInline]byte
}

// condKeyInline is the longest key a condFailedError holds without a second
// allocation.
const condKeyInline = 48

func newCondFailed(key []byte) error {
	e := &condFailedError{}
	if len(key) <= len(e.inline) {
		e.key = e.inline[:copy(e.inline[:], key)]
	} else {
		e.key = append([]byte(nil), key...)
	}
	return e
}

func (e *condFailedError) Error() string {
	if pk, sk, isItem := keys.SplitItemKey(e.key); isItem {
		return fmt.Sprintf("%v: item (%q, %q)", ErrConditionFailed, pk, sk)
	}
	return ErrConditionFailed.Error() + ": key " + keys.Quote(e.key)
}

func (e *condFailedError) Unwrap() error { return ErrConditionFailed }

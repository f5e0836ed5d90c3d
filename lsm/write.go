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
	if len(b.conds) > 0 {
		req.kind, req.batch = reqBatch, b
	} else {
		b.stamp(db.opts.Clock())
		req.useBatch(b)
	}
	err = db.commitWrite(req)
	putReq(req)
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
		r.useBatch(b)
	case reqIncr:
		// One lookup serves the condition and the value.
		cur, found, err := db.current(r.key, view, now)
		if err != nil {
			return err
		}
		if r.opts.cond != condNone {
			if err := db.condResult(r.key, r.opts.cond, r.opts.value, cur.value, found); err != nil {
				cur.done()
				return err
			}
		}
		var n int64
		expiry := cur.expiry
		if found {
			n, err = strconv.ParseInt(string(cur.value), 10, 64)
			if err == nil && r.opts.canonInt && !canonicalInt(cur.value, n) {
				err = ErrNotInteger
			}
			cur.done()
			if err != nil {
				return fmt.Errorf("%w: key %q holds %d bytes that are not a decimal int64", ErrNotInteger, r.key, len(cur.value))
			}
		} else if r.opts.ttl > 0 {
			expiry = keys.ExpiryAt(now, r.opts.ttl)
		}
		if (r.delta > 0 && n > math.MaxInt64-r.delta) || (r.delta < 0 && n < math.MinInt64-r.delta) {
			return fmt.Errorf("%w: increment of %d by %d overflows int64", ErrInvalidArgument, n, r.delta)
		}
		n += r.delta
		var buf [20]byte
		v := strconv.AppendInt(buf[:0], n, 10)
		kind := keys.KindSet
		if expiry != 0 {
			kind = keys.KindSetExpiry
		}
		r.repr = batchrepr.AppendEntry(r.repr, kind, r.key, v, expiry)
		r.count = 1
		r.result = n
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

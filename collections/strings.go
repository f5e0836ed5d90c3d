package collections

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/lsm"
)

// getString returns the value and expiry of the string name, ok false if
// name does not exist, ErrWrongType if it holds a collection. withExp asks
// for the expiry (one more engine read).
func (tx *Tx) getString(name []byte, withExp bool) (v []byte, exp int64, ok bool, err error) {
	sk := tx.keep(stringKey(tx.scratch(), name))
	if withExp {
		v, exp, ok, err = tx.getRawExp(sk)
	} else {
		v, ok, err = tx.getRaw(sk)
	}
	if err != nil {
		return nil, 0, false, err
	}
	tx.noteString(sk, v, ok)
	if ok {
		return v, exp, true, nil
	}
	has, err := tx.hasRaw(tx.keep(metaKey(tx.scratch(), name)))
	if err != nil {
		return nil, 0, false, err
	}
	if has {
		return nil, 0, false, ErrWrongType
	}
	return nil, 0, false, nil
}

// putString makes name the string v expiring at exp (Unix ns, 0 = never),
// replacing a collection name held.
func (tx *Tx) putString(name, v []byte, exp int64) error {
	if len(v) > lsm.MaxValueSize {
		return ErrStringTooLong
	}
	// Whether a collection holds name is one bloom-filtered point check
	// of its metadata; only a collection there is read, to be deleted.
	mk := tx.keep(metaKey(tx.scratch(), name))
	has, err := tx.hasRaw(mk)
	if err != nil {
		return err
	}
	if has {
		mv, found, err := tx.getRaw(mk)
		if err != nil || !found {
			return err // gone between the two reads: nothing to drop
		}
		m, err := decodeMeta(name, mv)
		if err != nil {
			return err
		}
		if err := tx.dropWhole(name, m); err != nil {
			return err
		}
	}
	tx.putRaw(stringKey(tx.scratch(), name), v, exp)
	tx.touch(name)
	return nil
}

// Get returns the string value of key (GET): ErrNotFound if key does not
// exist, ErrWrongType if it holds a collection.
func (tx *Tx) Get(key []byte) ([]byte, error) {
	if err := tx.check(key, false); err != nil {
		return nil, err
	}
	v, _, ok, err := tx.getString(key, false)
	if err == nil && !ok {
		err = ErrNotFound
	}
	return v, err
}

// Set makes key the string value, replacing whatever it held, without a TTL
// (SET key value).
func (tx *Tx) Set(key, value []byte) error {
	if err := tx.check(key, true); err != nil {
		return err
	}
	return tx.putString(key, value, 0)
}

// SetArgs are SET's options.
type SetArgs struct {
	NX bool // only if key does not exist
	XX bool // only if key exists
	// TTL > 0 sets an expiry (EX, PX); ExpireAt a non-zero instant (EXAT,
	// PXAT); KeepTTL keeps the key's current expiry. At most one of them.
	TTL      time.Duration
	ExpireAt time.Time
	KeepTTL  bool
	// Get returns the old value (SET ... GET, GETSET): ErrWrongType if key
	// holds a collection, whether or not the write would happen.
	Get bool
}

// SetResult is what SetArgs did.
type SetResult struct {
	Written bool   // false when NX or XX did not hold
	Old     []byte // the old string value, with Get
	OldOK   bool   // the key held a string, with Get
}

// SetArgs is SET with options. A TTL or ExpireAt already past writes the
// key expired (it reads as absent at once).
func (tx *Tx) SetArgs(key, value []byte, a SetArgs) (SetResult, error) {
	var r SetResult
	n := 0
	if a.TTL != 0 {
		n++
	}
	if !a.ExpireAt.IsZero() {
		n++
	}
	if a.KeepTTL {
		n++
	}
	if (a.NX && a.XX) || n > 1 {
		return r, ErrSyntax
	}
	if a.TTL < 0 {
		return r, ErrInvalidExpire
	}
	if err := tx.check(key, true); err != nil {
		return r, err
	}
	if !a.NX && !a.XX && !a.Get && !a.KeepTTL {
		// A SET that needs nothing of the old key replaces a string blind
		// (its value and TTL go, as in Redis) and a collection after
		// deleting it: no read of the old value, so no condition on it
		// at commit either.
		if err := tx.putString(key, value, setExpiry(tx, a)); err != nil {
			return r, err
		}
		r.Written = true
		return r, nil
	}
	t, _, oldV, oldExp, err := tx.expiryOf(key)
	if err != nil {
		return r, err
	}
	if t == TypeString {
		tx.noteString(stringKey(nil, key), oldV, true)
	} else {
		tx.noteString(stringKey(nil, key), nil, false)
	}
	if a.Get {
		if t != TypeNone && t != TypeString {
			return r, ErrWrongType
		}
		r.Old, r.OldOK = oldV, t == TypeString
	}
	if (a.NX && t != TypeNone) || (a.XX && t == TypeNone) {
		return r, nil
	}
	exp := setExpiry(tx, a)
	if a.KeepTTL {
		exp = oldExp
	}
	if err := tx.putString(key, value, exp); err != nil {
		return r, err
	}
	r.Written = true
	return r, nil
}

// setExpiry is the expiry (Unix ns, 0 = never) a's TTL or ExpireAt gives.
func setExpiry(tx *Tx, a SetArgs) int64 {
	switch {
	case a.TTL > 0:
		return keys.UnixNano(tx.Now().Add(a.TTL)) // saturated past 2262, not wrapped
	case !a.ExpireAt.IsZero():
		return keys.UnixNano(a.ExpireAt)
	}
	return 0
}

// GetDel returns the string value of key and deletes it (GETDEL).
func (tx *Tx) GetDel(key []byte) ([]byte, error) {
	if err := tx.check(key, true); err != nil {
		return nil, err
	}
	v, _, ok, err := tx.getString(key, false)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNotFound
	}
	if _, err := tx.del(key); err != nil {
		return nil, err
	}
	return v, nil
}

// IncrBy adds delta to the integer string at key (INCR, INCRBY, DECR,
// DECRBY), creating it from 0, keeping its TTL, and returns the new value.
// ErrNotInteger if the value is not an integer as Redis reads one;
// ErrOverflow if the sum leaves int64.
func (tx *Tx) IncrBy(key []byte, delta int64) (int64, error) {
	if err := tx.check(key, true); err != nil {
		return 0, err
	}
	if n, done, err := tx.incrPending(key, delta); done {
		return n, err
	}
	v, exp, ok, err := tx.getString(key, true)
	if err != nil {
		return 0, err
	}
	var cur int64
	if ok {
		if cur, ok = ParseInt(v); !ok {
			return 0, ErrNotInteger
		}
	}
	n, err := addInt(cur, delta)
	if err != nil {
		return 0, err
	}
	var b [20]byte
	tx.putRaw(stringKey(nil, key), appendInt(b[:0], n), exp)
	tx.touch(key)
	return n, nil
}

// incrPending is IncrBy of a counter the Tx has not written yet: it reads
// the value alone, not its expiry, and leaves the write pending as an
// increment the commit hands to the engine (ovNode.incr), which keeps the
// key's expiry and checks that the value is still the one read. So an INCR
// inside EXEC or a script costs two engine lookups (this read and the
// commit's), where a read of the value, a read of its expiry and the
// commit's check cost three. A new counter costs what it did: the string's
// read, the probe of a collection of the name, the commit's check that the
// key is still absent. done is false when the key is not a counter the Tx
// may increment so (the Tx wrote it already, or it holds no integer):
// IncrBy then goes the general way.
func (tx *Tx) incrPending(key []byte, delta int64) (n int64, done bool, err error) {
	if !tx.ls.write {
		return 0, false, nil
	}
	sk := tx.keep(stringKey(tx.scratch(), key))
	if tx.ov.find(sk) != nil || len(tx.ranges) > 0 && tx.inRange(sk) {
		return 0, false, nil
	}
	v, ok, err := tx.getRawTmp(sk)
	if err != nil {
		return 0, true, err
	}
	if !ok {
		// A new counter: no string there, and no collection, which
		// makes it WRONGTYPE. The commit writes delta if the key is
		// still absent.
		tx.noteString(sk, nil, false)
		has, err := tx.hasRaw(tx.keep(metaKey(tx.scratch(), key)))
		if err != nil || has {
			if has {
				err = ErrWrongType
			}
			return 0, true, err
		}
		var b [20]byte
		tx.putRaw(stringKey(tx.scratch(), key), appendInt(b[:0], delta), 0)
		tx.touch(key)
		return delta, true, nil
	}
	cur, isInt := ParseInt(v)
	if !isInt {
		return 0, false, nil
	}
	tx.noteString(sk, v, true)
	if c := tx.condOf(sk); c == nil || !c.present || !bytes.Equal(c.val, v) {
		// An earlier read of the Tx saw another value: a raw write
		// changed the key since, and the commit's check will fail.
		return 0, false, nil
	}
	if n, err = addInt(cur, delta); err != nil {
		return 0, true, err
	}
	var b [20]byte
	tx.putRaw(sk, appendInt(b[:0], n), 0)
	nd := tx.ov.find(sk)
	nd.incr, nd.delta = true, delta
	tx.touch(key)
	return n, true, nil
}

func addInt(a, b int64) (int64, error) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, ErrOverflow
	}
	return s, nil
}

// IncrByFloat adds incr to the float string at key (INCRBYFLOAT) and returns
// the result. The sum is computed and stored as Redis does (long double,
// written with up to 17 decimals), taking incr as a Go client sends it.
func (tx *Tx) IncrByFloat(key []byte, incr float64) (float64, error) {
	b, err := tx.IncrByFloatText(key, floatText(incr))
	if err != nil {
		return 0, err
	}
	return parseFloatResult(b), nil
}

// IncrByFloatText is IncrByFloat with the increment as the client wrote it,
// returning the new value as stored, which is INCRBYFLOAT's reply.
func (tx *Tx) IncrByFloatText(key, incr []byte) ([]byte, error) {
	if err := tx.check(key, true); err != nil {
		return nil, err
	}
	v, exp, ok, err := tx.getString(key, true)
	if err != nil {
		return nil, err
	}
	r, err := incrFloatText(v, ok, incr, ErrNotFloat)
	if err != nil {
		return nil, err
	}
	tx.putRaw(stringKey(nil, key), r, exp)
	tx.touch(key)
	return r, nil
}

// Append appends value to the string at key, creating it, and returns the
// new length (APPEND). The TTL is kept.
func (tx *Tx) Append(key, value []byte) (int, error) {
	if err := tx.check(key, true); err != nil {
		return 0, err
	}
	v, exp, ok, err := tx.getString(key, true)
	if err != nil {
		return 0, err
	}
	if ok && len(v)+len(value) > lsm.MaxValueSize {
		return 0, ErrStringTooLong
	}
	nv := append(v, value...)
	if !ok {
		nv = append([]byte{}, value...)
	}
	tx.putRaw(stringKey(nil, key), nv, exp)
	tx.touch(key)
	return len(nv), nil
}

// StrLen returns the length of the string at key, 0 if it does not exist
// (STRLEN).
func (tx *Tx) StrLen(key []byte) (int, error) {
	if err := tx.check(key, false); err != nil {
		return 0, err
	}
	v, _, _, err := tx.getString(key, false)
	return len(v), err
}

// GetRange returns the bytes of the string at key from start to end, both
// inclusive, negative indexes counting from the end (GETRANGE).
func (tx *Tx) GetRange(key []byte, start, end int64) ([]byte, error) {
	if err := tx.check(key, false); err != nil {
		return nil, err
	}
	v, _, _, err := tx.getString(key, false)
	if err != nil {
		return nil, err
	}
	n := int64(len(v))
	if start < 0 && end < 0 && start > end {
		return []byte{}, nil
	}
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	start, end = max(start, 0), max(end, 0)
	if end >= n {
		end = n - 1
	}
	if start > end || n == 0 {
		return []byte{}, nil
	}
	return v[start : end+1], nil
}

// SetRange overwrites the string at key from offset with value, padding
// with zero bytes, and returns the new length (SETRANGE). An empty value
// creates nothing. A negative offset is the caller's error to report.
func (tx *Tx) SetRange(key []byte, offset int64, value []byte) (int, error) {
	if offset < 0 {
		return 0, ErrInvalidArgument
	}
	if err := tx.check(key, true); err != nil {
		return 0, err
	}
	v, exp, ok, err := tx.getString(key, true)
	if err != nil {
		return 0, err
	}
	if len(value) == 0 {
		return len(v), nil
	}
	if offset+int64(len(value)) > lsm.MaxValueSize {
		return 0, ErrStringTooLong
	}
	end := int(offset) + len(value)
	if end > len(v) {
		v = append(v, make([]byte, end-len(v))...)
	}
	copy(v[offset:], value)
	if !ok {
		exp = 0
	}
	tx.putRaw(stringKey(nil, key), v, exp)
	tx.touch(key)
	return len(v), nil
}

// MGet returns the string values of the keys, nil for a key that does not
// exist or holds a collection (MGET).
func (tx *Tx) MGet(keys ...[]byte) ([][]byte, error) {
	out := make([][]byte, len(keys))
	for i, k := range keys {
		if err := tx.check(k, false); err != nil {
			return nil, err
		}
		v, _, ok, err := tx.getString(k, false)
		if errors.Is(err, ErrWrongType) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if ok {
			out[i] = v
		}
	}
	return out, nil
}

// MSet sets each key to its value (key, value, key, value, ...), as SET does
// (MSET).
func (tx *Tx) MSet(kv ...[]byte) error {
	if len(kv)%2 != 0 {
		return ErrInvalidArgument
	}
	for i := 0; i < len(kv); i += 2 {
		if err := tx.Set(kv[i], kv[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// MSetNX is MSet only if none of the keys exists; it reports whether it set
// them (MSETNX).
func (tx *Tx) MSetNX(kv ...[]byte) (bool, error) {
	if len(kv)%2 != 0 {
		return false, ErrInvalidArgument
	}
	for i := 0; i < len(kv); i += 2 {
		n, err := tx.Exists(kv[i])
		if err != nil || n > 0 {
			return false, err
		}
	}
	return true, tx.MSet(kv...)
}

func appendInt(dst []byte, n int64) []byte {
	if n == 0 {
		return append(dst, '0')
	}
	var b [20]byte
	i := len(b)
	u := uint64(n)
	if n < 0 {
		u = uint64(-n)
	}
	for u > 0 {
		i--
		b[i] = byte('0' + u%10)
		u /= 10
	}
	if n < 0 {
		dst = append(dst, '-')
	}
	return append(dst, b[i:]...)
}

// ---- Store wrappers ----

// Get returns the string value of key (GET): ErrNotFound if it does not
// exist, ErrWrongType if it holds a collection.
func (s *Store) Get(key []byte) ([]byte, error) {
	var v []byte
	var err error
	for tx := s.begin1(false, key); ; {
		v, err = tx.Get(key)
		if tx.end(&err) {
			break
		}
	}
	return v, err
}

// GetAppend is Get appending the value to dst, and returning the extended
// slice, so that a caller that reuses dst reads a string without an
// allocation (a server's GET). It returns dst unchanged with ErrNotFound or
// ErrWrongType.
func (s *Store) GetAppend(dst, key []byte) ([]byte, error) {
	out := dst
	var err error
	for tx := s.begin1(false, key); ; {
		out, err = tx.getAppend(dst, key)
		if tx.end(&err) {
			break
		}
	}
	if err != nil {
		return dst, err
	}
	return out, nil
}

// GetAppend is Get appending the value to dst, with no copy of its own
// (inside EXEC or a script, a GET reads into the reply's scratch buffer).
// It returns dst unchanged with ErrNotFound or ErrWrongType.
func (tx *Tx) GetAppend(dst, key []byte) ([]byte, error) {
	out, err := tx.getAppend(dst, key)
	if err != nil {
		return dst, err
	}
	return out, nil
}

// getAppend is Get appending the value to dst. A writing Tx notes the
// string it read, as getString does (the note copies it into the pooled
// Tx's buffers); a read-only one notes nothing.
func (tx *Tx) getAppend(dst, key []byte) ([]byte, error) {
	if err := tx.check(key, false); err != nil {
		return dst, err
	}
	sk := tx.keep(stringKey(tx.scratch(), key))
	out, ok, err := tx.getRawAppend(dst, sk)
	if err != nil {
		return dst, err
	}
	if tx.ls.write {
		tx.noteString(sk, out[len(dst):], ok)
	}
	if ok {
		return out, nil
	}
	has, err := tx.hasRaw(tx.keep(metaKey(tx.scratch(), key)))
	if err != nil {
		return dst, err
	}
	if has {
		return dst, ErrWrongType
	}
	return dst, ErrNotFound
}

// Set makes key the string value without a TTL, replacing whatever it held
// (SET).
func (s *Store) Set(key, value []byte) error {
	var err error
	for tx := s.begin1(true, key); ; {
		err = tx.Set(key, value)
		if tx.end(&err) {
			return err
		}
	}
}

// SetArgs is SET with its options (NX, XX, EX/PX, EXAT/PXAT, KEEPTTL, GET).
func (s *Store) SetArgs(key, value []byte, a SetArgs) (SetResult, error) {
	var r SetResult
	var err error
	for tx := s.begin1(true, key); ; {
		r, err = tx.SetArgs(key, value, a)
		if tx.end(&err) {
			break
		}
	}
	return r, err
}

// GetDel returns the string at key and deletes it (GETDEL).
func (s *Store) GetDel(key []byte) ([]byte, error) {
	var v []byte
	var err error
	for tx := s.begin1(true, key); ; {
		v, err = tx.GetDel(key)
		if tx.end(&err) {
			break
		}
	}
	return v, err
}

// IncrBy adds delta to the integer at key (INCR, INCRBY, DECR, DECRBY) and
// returns the new value; the key's TTL is kept exactly (the engine's own
// Increment does the write).
//
// A counter that exists costs one engine call and one lookup: Increment
// with IfPresent and CanonicalInteger reads, checks Redis's integer syntax
// and writes at once. Only when it finds no string does the key's metadata
// get looked up (a collection there is WRONGTYPE) before the counter is
// created with IfAbsent.
func (s *Store) IncrBy(key []byte, delta int64) (int64, error) {
	var n int64
	err := s.run1(true, key, func(tx *Tx) error {
		if err := tx.check(key, true); err != nil {
			return err
		}
		sk := key
		if len(key) == 0 || key[0] == reservedByte {
			sk = stringKey(nil, key)
		}
		for {
			var err error
			n, err = s.db.Increment(sk, delta, lsm.IfPresent(), lsm.CanonicalInteger())
			if errors.Is(err, lsm.ErrConditionFailed) {
				// No string there: a collection makes it WRONGTYPE,
				// nothing makes it a counter from 0.
				if has, err := tx.hasRaw(tx.keep(metaKey(tx.scratch(), key))); err != nil || has {
					if has {
						err = ErrWrongType
					}
					return err
				}
				n, err = s.db.Increment(sk, delta, lsm.IfAbsent())
				if errors.Is(err, lsm.ErrConditionFailed) {
					continue // a raw write created it since
				}
			}
			switch {
			case err == nil:
				tx.touch(key)
			case errors.Is(err, lsm.ErrNotInteger):
				err = ErrNotInteger
			case errors.Is(err, lsm.ErrInvalidArgument):
				// The key is valid and the options are: the sum overflowed.
				err = ErrOverflow
			}
			return err
		}
	})
	return n, err
}

// IncrByEach adds deltas[i] to the integer string at keys[i] for every i,
// in order, as IncrBy would one after another, and writes the new values
// to out (which must be as long as keys): all of it in one engine commit
// (an lsm batch of increments, computed by the engine's commit leader), so
// a pipelined run of INCRs costs one commit instead of one each.
//
// It is all-or-nothing: if any key's increment fails, none is made, out
// is left undefined, and the error is the first failing key's, as IncrBy
// gives it (ErrWrongType, ErrNotInteger, ErrOverflow). A key may appear
// more than once; a later increment sees the earlier ones.
//
// Each key's collection metadata is probed before the one commit (a
// collection there is WRONGTYPE unless a raw string shadows it), where
// IncrBy probes it only when its counter is absent.
func (s *Store) IncrByEach(keys [][]byte, deltas, out []int64) error {
	if len(deltas) != len(keys) || len(out) != len(keys) {
		return fmt.Errorf("%w: IncrByEach of %d keys with %d deltas and %d results", ErrInvalidArgument, len(keys), len(deltas), len(out))
	}
	if len(keys) == 0 {
		return nil
	}
	return s.run(true, keys, func(tx *Tx) error {
		if tx.batch == nil {
			tx.batch = s.db.NewBatch()
		} else {
			tx.batch.Reset()
		}
		b := tx.batch
		for i, key := range keys {
			if err := tx.check(key, true); err != nil {
				return err
			}
			sk := key
			if len(key) == 0 || key[0] == reservedByte {
				sk = stringKey(nil, key)
			}
			has, err := tx.hasRaw(tx.keep(metaKey(tx.scratch(), key)))
			if err != nil {
				return err
			}
			if !has {
				b.Increment(sk, deltas[i], lsm.CanonicalInteger())
				continue
			}
			// A collection's metadata: WRONGTYPE, unless a raw write
			// left a string there, which wins (doc.go) and counts.
			if has, err = tx.hasRaw(sk); err != nil {
				return err
			}
			if !has {
				return firstIncrErr(tx, keys, deltas)
			}
			b.Increment(sk, deltas[i], lsm.CanonicalInteger(), lsm.IfPresent())
		}
		switch err := s.db.Apply(b); {
		case err == nil:
		case errors.Is(err, lsm.ErrConditionFailed):
			return errRetry // a raw delete took a shadowing string meanwhile
		case errors.Is(err, lsm.ErrNotInteger):
			return ErrNotInteger
		case errors.Is(err, lsm.ErrInvalidArgument):
			// The keys are valid and so are the options: a sum overflowed.
			return ErrOverflow
		default:
			return err
		}
		copy(out, b.Results())
		for _, key := range keys {
			tx.touch(key)
		}
		return nil
	})
}

// firstIncrErr returns the error IncrBy one key after another gives
// first in tx (whose writes are then dropped): a key of IncrByEach holds a
// collection, and an earlier key may fail first.
func firstIncrErr(tx *Tx, keys [][]byte, deltas []int64) error {
	for i, key := range keys {
		if _, err := tx.IncrBy(key, deltas[i]); err != nil {
			return err
		}
	}
	return ErrWrongType // not reached: the collection's key fails
}

// IncrByFloat adds incr to the float at key (INCRBYFLOAT) as Redis does and
// returns the result.
func (s *Store) IncrByFloat(key []byte, incr float64) (float64, error) {
	var f float64
	var err error
	for tx := s.begin1(true, key); ; {
		f, err = tx.IncrByFloat(key, incr)
		if tx.end(&err) {
			break
		}
	}
	return f, err
}

// IncrByFloatText is IncrByFloat with the increment as text, returning the
// stored text: INCRBYFLOAT's exact reply.
func (s *Store) IncrByFloatText(key, incr []byte) ([]byte, error) {
	var r []byte
	var err error
	for tx := s.begin1(true, key); ; {
		r, err = tx.IncrByFloatText(key, incr)
		if tx.end(&err) {
			break
		}
	}
	return r, err
}

// Append appends value to the string at key and returns its new length
// (APPEND).
func (s *Store) Append(key, value []byte) (int, error) {
	var n int
	var err error
	for tx := s.begin1(true, key); ; {
		n, err = tx.Append(key, value)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// StrLen returns the length of the string at key (STRLEN).
func (s *Store) StrLen(key []byte) (int, error) {
	var n int
	var err error
	for tx := s.begin1(false, key); ; {
		n, err = tx.StrLen(key)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// GetRange returns a substring of the string at key (GETRANGE).
func (s *Store) GetRange(key []byte, start, end int64) ([]byte, error) {
	var v []byte
	var err error
	for tx := s.begin1(false, key); ; {
		v, err = tx.GetRange(key, start, end)
		if tx.end(&err) {
			break
		}
	}
	return v, err
}

// SetRange overwrites part of the string at key (SETRANGE) and returns its
// new length.
func (s *Store) SetRange(key []byte, offset int64, value []byte) (int, error) {
	var n int
	var err error
	for tx := s.begin1(true, key); ; {
		n, err = tx.SetRange(key, offset, value)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// MGet returns the string values of keys, nil where a key is absent or not
// a string (MGET).
func (s *Store) MGet(keys ...[]byte) ([][]byte, error) {
	var vs [][]byte
	var err error
	for tx := s.beginN(false, keys); ; {
		vs, err = tx.MGet(keys...)
		if tx.end(&err) {
			break
		}
	}
	return vs, err
}

// MSet sets key, value, key, value, ... atomically (MSET).
func (s *Store) MSet(kv ...[]byte) error {
	var err error
	for tx := s.beginN(true, evenKeys(kv)); ; {
		err = tx.MSet(kv...)
		if tx.end(&err) {
			return err
		}
	}
}

// MSetNX is MSet only if none of the keys exists (MSETNX).
func (s *Store) MSetNX(kv ...[]byte) (bool, error) {
	var ok bool
	var err error
	for tx := s.beginN(true, evenKeys(kv)); ; {
		ok, err = tx.MSetNX(kv...)
		if tx.end(&err) {
			break
		}
	}
	return ok, err
}

func evenKeys(kv [][]byte) [][]byte {
	ks := make([][]byte, 0, (len(kv)+1)/2)
	for i := 0; i < len(kv); i += 2 {
		ks = append(ks, kv[i])
	}
	return ks
}

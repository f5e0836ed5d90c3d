package server

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/stratadb/strata/lsm"
)

// Kind is the Redis type of a key.
type Kind uint8

// The kinds, named as TYPE answers.
const (
	KindNone Kind = iota
	KindString
	KindHash
	KindList
	KindSet
	KindZSet
)

func (k Kind) String() string {
	switch k {
	case KindString:
		return "string"
	case KindHash:
		return "hash"
	case KindList:
		return "list"
	case KindSet:
		return "set"
	case KindZSet:
		return "zset"
	}
	return "none"
}

// Errors a Keyspace returns besides the engine's.
var (
	// ErrWrongType: the key holds another type than the operation works on.
	ErrWrongType = errors.New("server: wrong type")
	// ErrNoSuchKey: an operation that needs the key found none (RENAME).
	ErrNoSuchKey = errors.New("server: no such key")
	// errBadInteger: INCR on a value Redis would not read as an integer.
	errBadInteger = errors.New("server: value is not an integer")
	// errOverflow: INCR past the int64 range.
	errOverflow = errors.New("server: increment or decrement would overflow")
)

// SetCond is the condition of a string write.
type SetCond uint8

// The conditions of SET.
const (
	CondNone    SetCond = iota
	CondAbsent          // NX
	CondPresent         // XX
)

// SetOpts modifies a string write.
type SetOpts struct {
	Cond SetCond
	// Expire is when the key expires; the zero Time means never, unless
	// KeepTTL keeps the key's current expiry. An Expire in the past writes
	// nothing visible: the key is deleted (if the condition holds).
	Expire  time.Time
	KeepTTL bool
}

// Keyspace is the data a command handler reads and writes. Handlers see
// nothing else of the store, so the same handler runs alone (against the
// engine directly, each write atomic on its own) or inside EXEC or a script
// (against one transaction that reaches the WAL as one record).
//
// Keys are never empty nor longer than lsm.MaxKeySize: the dispatcher
// refuses such keys before a handler runs.
//
// When the collections package lands, a Keyspace over collections.Tx
// implements this interface (type checks then return ErrWrongType), and the
// hash, list, set and sorted set handlers reach its typed operations
// through it; see doc.go.
type Keyspace interface {
	// Type returns the kind of key, KindNone when it is absent.
	Type(key []byte) (Kind, error)
	// Get returns a string's value: lsm.ErrNotFound if absent, ErrWrongType
	// if the key is not a string.
	Get(key []byte) ([]byte, error)
	// Expiry returns when key expires (zero: never) and whether it exists.
	Expiry(key []byte) (at time.Time, exists bool, err error)
	// Set writes a string, replacing a key of any type. It reports false
	// (and writes nothing) when the condition does not hold.
	Set(key, value []byte, o SetOpts) (bool, error)
	// MSet writes pairs (key, value, key, value...) at once, none with an
	// expiry. With nx it writes nothing and reports false if any key exists.
	MSet(kv [][]byte, nx bool) (bool, error)
	// IncrBy adds delta to the integer string at key (an absent key is 0),
	// keeping its expiry, and returns the new value. A value that is not an
	// integer is errBadInteger; an overflow, errOverflow.
	IncrBy(key []byte, delta int64) (int64, error)
	// Delete removes keys of any type at once and returns how many existed.
	Delete(keys ...[]byte) (int, error)
	// SetExpiry sets key's expiry (at non-zero; in the past deletes the key)
	// or removes it (at zero), and reports whether the key exists.
	SetExpiry(key []byte, at time.Time) (bool, error)
	// Rename moves src, value and expiry, to dst, replacing dst. With nx it
	// does nothing and reports false when dst exists. ErrNoSuchKey when src
	// is absent.
	Rename(src, dst []byte, nx bool) (bool, error)
	// Scan calls fn for the keys in [lower, upper) (nil: unbounded) in key
	// order, with their kind and expiry, until fn returns false.
	Scan(lower, upper []byte, fn func(key []byte, kind Kind, expiry time.Time) bool) error
	// Flush deletes every key.
	Flush() error
}

// engineKeyspace is the Keyspace of lone commands: every call goes straight
// to the engine. Conditions use the engine's (SET NX is lsm.IfAbsent, INCR
// is lsm.Increment), so they hold against writers outside the server too;
// sequences of calls in one handler are atomic against other server clients
// because the dispatcher holds the written keys' stripe locks (see doc.go).
type engineKeyspace struct {
	s  *Server
	db *lsm.DB
}

func (e *engineKeyspace) wopts(extra ...lsm.WriteOption) []lsm.WriteOption {
	if e.s.syncAlways() {
		extra = append(extra, lsm.WithSync())
	}
	return extra
}

// afterWrite fsyncs writes that have no WithSync option (Expire) under
// appendfsync always.
func (e *engineKeyspace) afterWrite() error {
	if e.s.syncAlways() {
		return e.db.Sync()
	}
	return nil
}

func (e *engineKeyspace) Type(key []byte) (Kind, error) {
	ok, err := e.db.Has(key)
	if err != nil || !ok {
		return KindNone, err
	}
	return KindString, nil
}

func (e *engineKeyspace) Get(key []byte) ([]byte, error) { return e.db.Get(key) }

func (e *engineKeyspace) Expiry(key []byte) (time.Time, bool, error) {
	at, err := e.db.Expiry(key)
	if errors.Is(err, lsm.ErrNotFound) {
		return time.Time{}, false, nil
	}
	return at, err == nil, err
}

func (e *engineKeyspace) Set(key, value []byte, o SetOpts) (bool, error) {
	now := e.s.now()
	var opts []lsm.WriteOption
	switch o.Cond {
	case CondAbsent:
		opts = append(opts, lsm.IfAbsent())
	case CondPresent:
		opts = append(opts, lsm.IfPresent())
	}
	at := o.Expire
	if o.KeepTTL && at.IsZero() {
		cur, _, err := e.Expiry(key)
		if err != nil {
			return false, err
		}
		at = cur
	}
	if !at.IsZero() {
		d := ttlUntil(at, now)
		if d <= 0 {
			// Expired on arrival: the write leaves no key behind.
			exists, err := e.db.Has(key)
			if err != nil {
				return false, err
			}
			if (o.Cond == CondAbsent && exists) || (o.Cond == CondPresent && !exists) {
				return false, nil
			}
			if err := e.db.Delete(key, e.wopts()...); err != nil {
				return false, err
			}
			e.s.touch(key)
			return true, nil
		}
		opts = append(opts, lsm.WithTTL(d))
	}
	err := e.db.Put(key, value, e.wopts(opts...)...)
	if errors.Is(err, lsm.ErrConditionFailed) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	e.s.touch(key)
	return true, nil
}

func (e *engineKeyspace) MSet(kv [][]byte, nx bool) (bool, error) {
	b := e.db.NewBatch()
	for i := 0; i+1 < len(kv); i += 2 {
		if nx {
			b.Put(kv[i], kv[i+1], lsm.IfAbsent())
		} else {
			b.Put(kv[i], kv[i+1])
		}
	}
	err := e.db.Apply(b, e.wopts()...)
	if errors.Is(err, lsm.ErrConditionFailed) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for i := 0; i < len(kv); i += 2 {
		e.s.touch(kv[i])
	}
	return true, nil
}

func (e *engineKeyspace) IncrBy(key []byte, delta int64) (int64, error) {
	// The engine reads integers as strconv does; Redis refuses a few that
	// strconv takes ("+1", "007"), so the value is checked first.
	if v, err := e.db.Get(key); err == nil {
		if _, ok := parseInt64(v); !ok {
			return 0, errBadInteger
		}
	} else if !errors.Is(err, lsm.ErrNotFound) {
		return 0, err
	}
	n, err := e.db.Increment(key, delta, e.wopts()...)
	switch {
	case errors.Is(err, lsm.ErrNotInteger):
		return 0, errBadInteger
	case errors.Is(err, lsm.ErrInvalidArgument):
		return 0, errOverflow // the key was checked by the dispatcher
	}
	if err == nil {
		e.s.touch(key)
	}
	return n, err
}

func (e *engineKeyspace) Delete(keys ...[]byte) (int, error) {
	n := 0
	b := e.db.NewBatch()
	for _, k := range keys {
		ok, err := e.db.Has(k)
		if err != nil {
			return 0, err
		}
		if ok {
			n++
			b.Delete(k)
		}
	}
	if n == 0 {
		return 0, nil
	}
	if err := e.db.Apply(b, e.wopts()...); err != nil {
		return 0, err
	}
	for _, k := range keys {
		e.s.touch(k)
	}
	return n, nil
}

func (e *engineKeyspace) SetExpiry(key []byte, at time.Time) (bool, error) {
	var err error
	switch {
	case at.IsZero():
		err = e.db.Expire(key, 0)
	case !at.After(e.s.now()):
		var n int
		n, err = e.Delete(key)
		return n > 0, err
	default:
		err = e.db.Expire(key, ttlUntil(at, e.s.now()))
	}
	if errors.Is(err, lsm.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	e.s.touch(key)
	return true, e.afterWrite()
}

func (e *engineKeyspace) Rename(src, dst []byte, nx bool) (bool, error) {
	v, err := e.db.Get(src)
	if errors.Is(err, lsm.ErrNotFound) {
		return false, ErrNoSuchKey
	}
	if err != nil {
		return false, err
	}
	at, _, err := e.Expiry(src)
	if err != nil {
		return false, err
	}
	if bytes.Equal(src, dst) {
		return !nx, nil
	}
	if nx {
		if ok, err := e.db.Has(dst); err != nil || ok {
			return false, err
		}
	}
	b := e.db.NewBatch()
	if at.IsZero() {
		b.Put(dst, v)
	} else if d := ttlUntil(at, e.s.now()); d > 0 {
		b.Put(dst, v, lsm.WithTTL(d))
	} else {
		b.Delete(dst)
	}
	b.Delete(src)
	if err := e.db.Apply(b, e.wopts()...); err != nil {
		return false, err
	}
	e.s.touch(src)
	e.s.touch(dst)
	return true, nil
}

func (e *engineKeyspace) Scan(lower, upper []byte, fn func([]byte, Kind, time.Time) bool) error {
	it, err := e.db.NewIter(&lsm.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		if !fn(it.Key(), KindString, it.Expiry()) {
			break
		}
	}
	if err := it.Error(); err != nil {
		it.Close()
		return err
	}
	return it.Close()
}

func (e *engineKeyspace) Flush() error {
	b := e.db.NewBatch()
	if err := flushInto(e.db, b); err != nil {
		return err
	}
	if b.Len() == 0 {
		return nil
	}
	return e.db.Apply(b, e.wopts()...)
}

// flushInto adds to b the deletion of every key now in db: one range
// delete from the smallest possible key up to the largest present, and a
// delete of that one (the range end is exclusive and no key is larger).
func flushInto(db *lsm.DB, b *lsm.Batch) error {
	it, err := db.NewIter(nil)
	if err != nil {
		return err
	}
	var last []byte
	if it.Last() {
		last = append([]byte(nil), it.Key()...)
	}
	if err := it.Error(); err != nil {
		it.Close()
		return err
	}
	if err := it.Close(); err != nil {
		return err
	}
	if last == nil {
		return nil
	}
	if first := []byte{0}; bytes.Compare(first, last) < 0 {
		b.DeleteRange(first, last)
	}
	b.Delete(last)
	return nil
}

// maxExpiry is the latest expiry the engine can hold: it keeps expiries as
// Unix nanoseconds in an int64 (up to April 2262). Later ones are capped.
var maxExpiry = time.Unix(0, math.MaxInt64-int64(time.Hour))

// ttlUntil is the time to live that makes a key written now expire at at,
// capped at maxExpiry.
func ttlUntil(at, now time.Time) time.Duration {
	if at.After(maxExpiry) {
		at = maxExpiry
	}
	return at.Sub(now)
}

// keyError maps a Keyspace error to its reply.
func keyError(err error) string {
	switch {
	case errors.Is(err, ErrWrongType):
		return msgWrongType
	case errors.Is(err, errBadInteger):
		return msgNotInt
	case errors.Is(err, errOverflow):
		return msgOverflow
	case errors.Is(err, ErrNoSuchKey):
		return msgNoSuchKey
	case errors.Is(err, lsm.ErrReadOnly):
		return "READONLY You can't write against a read only replica."
	case errors.Is(err, lsm.ErrClosed):
		return "ERR the database is closed"
	case errors.Is(err, lsm.ErrInvalidArgument):
		return "ERR " + err.Error()
	}
	return fmt.Sprintf("ERR %v", err)
}

// snapKeyspace is the read-only Keyspace of a read command with several
// keys (MGET, EXISTS a b): it reads one snapshot, so it never sees half of
// a transaction or of an MSET. Its write methods are never called (the
// dispatcher gives it to read-only commands only) and fail.
type snapKeyspace struct {
	snap *lsm.Snapshot
}

var errReadOnlyView = errors.New("server: write through a read-only view")

func (v *snapKeyspace) Type(key []byte) (Kind, error) {
	_, err := v.snap.Get(key)
	if errors.Is(err, lsm.ErrNotFound) {
		return KindNone, nil
	}
	if err != nil {
		return KindNone, err
	}
	return KindString, nil
}

func (v *snapKeyspace) Get(key []byte) ([]byte, error) { return v.snap.Get(key) }

func (v *snapKeyspace) Expiry(key []byte) (time.Time, bool, error) {
	it, err := v.snap.NewIter(&lsm.IterOptions{LowerBound: key, UpperBound: append(append([]byte(nil), key...), 0)})
	if err != nil {
		return time.Time{}, false, err
	}
	defer it.Close()
	if !it.First() {
		return time.Time{}, false, it.Error()
	}
	return it.Expiry(), true, nil
}

func (v *snapKeyspace) Scan(lower, upper []byte, fn func([]byte, Kind, time.Time) bool) error {
	it, err := v.snap.NewIter(&lsm.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		if !fn(it.Key(), KindString, it.Expiry()) {
			break
		}
	}
	if err := it.Error(); err != nil {
		it.Close()
		return err
	}
	return it.Close()
}

func (v *snapKeyspace) Set([]byte, []byte, SetOpts) (bool, error) { return false, errReadOnlyView }
func (v *snapKeyspace) MSet([][]byte, bool) (bool, error)         { return false, errReadOnlyView }
func (v *snapKeyspace) IncrBy([]byte, int64) (int64, error)       { return 0, errReadOnlyView }
func (v *snapKeyspace) Delete(...[]byte) (int, error)             { return 0, errReadOnlyView }
func (v *snapKeyspace) SetExpiry([]byte, time.Time) (bool, error) { return false, errReadOnlyView }
func (v *snapKeyspace) Rename([]byte, []byte, bool) (bool, error) { return false, errReadOnlyView }
func (v *snapKeyspace) Flush() error                              { return errReadOnlyView }

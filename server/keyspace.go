package server

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/stratadb/strata/collections"
	"github.com/stratadb/strata/lsm"
)

// Kind is the Redis type of a key. Its values are collections.Type's.
type Kind uint8

// The kinds, named as TYPE answers.
const (
	KindNone   = Kind(collections.TypeNone)
	KindString = Kind(collections.TypeString)
	KindHash   = Kind(collections.TypeHash)
	KindList   = Kind(collections.TypeList)
	KindSet    = Kind(collections.TypeSet)
	KindZSet   = Kind(collections.TypeZSet)
)

func (k Kind) String() string { return collections.Type(k).String() }

// Errors a Keyspace returns besides the engine's. They are the collections
// package's, whose texts are Redis's replies.
var (
	// ErrWrongType: the key holds another type than the operation works on.
	ErrWrongType = collections.ErrWrongType
	// ErrNoSuchKey: an operation that needs the key found none (RENAME).
	ErrNoSuchKey = collections.ErrNoSuchKey
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
// nothing else of the store, so the same handler runs alone (each call one
// atomic operation of the collections Store) or inside EXEC or a script
// (every call part of one collections.Tx, which reaches the WAL as one
// record).
//
// Keys are never empty nor longer than lsm.MaxKeySize: the dispatcher
// refuses such keys before a handler runs.
type Keyspace interface {
	// Type returns the kind of key, KindNone when it is absent.
	Type(key []byte) (Kind, error)
	// Get returns a string's value: lsm.ErrNotFound if absent, ErrWrongType
	// if the key is not a string.
	Get(key []byte) ([]byte, error)
	// GetAppend is Get appending the value to dst: dst unchanged with
	// lsm.ErrNotFound or ErrWrongType.
	GetAppend(dst, key []byte) ([]byte, error)
	// Expiry returns when key expires (zero: never) and whether it exists.
	Expiry(key []byte) (at time.Time, exists bool, err error)
	// Set writes a string, replacing a key of any type. It reports false
	// (and writes nothing) when the condition does not hold.
	Set(key, value []byte, o SetOpts) (bool, error)
	// MSet writes pairs (key, value, key, value...) at once, none with an
	// expiry. With nx it writes nothing and reports false if any key exists.
	MSet(kv [][]byte, nx bool) (bool, error)
	// IncrBy adds delta to the integer string at key (an absent key is 0),
	// keeping its expiry, and returns the new value.
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
	// Keys calls fn for the keys o selects, of every type, in name order,
	// with their kind and expiry (zero: never), until fn returns false.
	Keys(o *collections.KeysOptions, fn func(key []byte, kind Kind, expiry time.Time) bool) error
	// Flush deletes every key.
	Flush() error
	// Data is every typed operation (hashes, lists, sets, sorted sets,
	// strings) of the same store, with the same atomicity.
	Data() collections.Cmdable
}

// dataKeyspace is the one Keyspace: over the Store for a command run
// alone (each call its own atomic operation; the dispatcher's key stripes
// make a handler's several calls atomic against other server clients), or
// over the Tx of an EXEC or a script.
type dataKeyspace struct {
	s  *Server
	c  collections.Cmdable
	tx *collections.Tx // nil for the Store
	// wrote lists the keys the commands of the Tx may have written (their
	// key specs), and cleared that one of them flushed everything: Keys
	// merges them into the Store's committed view, which a Tx's own writes
	// are not part of.
	// The keys are copies in wbuf (a slice of it stays valid when a later
	// append moves it), a key may be listed more than once: noting one
	// allocates nothing once wbuf has grown.
	wrote   [][]byte
	wbuf    []byte
	cleared bool
	// after holds what waits for the Tx to commit: messages PUBLISH sends
	// to other clients, which must leave once and only if the transaction
	// commits (the Store may run an EXEC's function again).
	after []func()
}

func newStoreKeyspace(s *Server) *dataKeyspace { return &dataKeyspace{s: s, c: s.store} }

func newTxKeyspace(s *Server, tx *collections.Tx) *dataKeyspace {
	return &dataKeyspace{s: s, c: tx, tx: tx}
}

func (k *dataKeyspace) Data() collections.Cmdable { return k.c }

// noteWrite records a key a command of the Tx may write.
func (k *dataKeyspace) noteWrite(key []byte) {
	if k.tx == nil {
		return
	}
	if k.wrote == nil {
		k.wrote, k.wbuf = make([][]byte, 0, 8), make([]byte, 0, 256)
	}
	off := len(k.wbuf)
	k.wbuf = append(k.wbuf, key...)
	k.wrote = append(k.wrote, k.wbuf[off:len(k.wbuf):len(k.wbuf)])
}

func (k *dataKeyspace) Type(key []byte) (Kind, error) {
	t, err := k.c.Type(key)
	return Kind(t), err
}

func (k *dataKeyspace) Get(key []byte) ([]byte, error) { return k.c.Get(key) }

func (k *dataKeyspace) GetAppend(dst, key []byte) ([]byte, error) {
	if k.tx == nil {
		return k.s.store.GetAppend(dst, key)
	}
	return k.tx.GetAppend(dst, key)
}

func (k *dataKeyspace) Expiry(key []byte) (time.Time, bool, error) {
	at, err := k.c.ExpireTime(key)
	if errors.Is(err, lsm.ErrNotFound) {
		return time.Time{}, false, nil
	}
	return at, err == nil, err
}

// capExpiry keeps an instant within what the engine holds (and what
// time.UnixNano can express).
func capExpiry(at time.Time) time.Time {
	if at.After(maxExpiry) {
		return maxExpiry
	}
	return at
}

func (k *dataKeyspace) Set(key, value []byte, o SetOpts) (bool, error) {
	a := collections.SetArgs{NX: o.Cond == CondAbsent, XX: o.Cond == CondPresent}
	if !o.Expire.IsZero() {
		a.ExpireAt = capExpiry(o.Expire)
	} else {
		a.KeepTTL = o.KeepTTL
	}
	r, err := k.c.SetArgs(key, value, a)
	return r.Written, err
}

func (k *dataKeyspace) MSet(kv [][]byte, nx bool) (bool, error) {
	if nx {
		return k.c.MSetNX(kv...)
	}
	return true, k.c.MSet(kv...)
}

func (k *dataKeyspace) IncrBy(key []byte, delta int64) (int64, error) { return k.c.IncrBy(key, delta) }

func (k *dataKeyspace) Delete(keys ...[]byte) (int, error) { return k.c.Delete(keys...) }

func (k *dataKeyspace) SetExpiry(key []byte, at time.Time) (bool, error) {
	if at.IsZero() {
		t, err := k.c.Type(key)
		if err != nil || t == collections.TypeNone {
			return false, err
		}
		_, err = k.c.Persist(key)
		return true, err
	}
	return k.c.ExpireAt(key, capExpiry(at), 0)
}

func (k *dataKeyspace) Rename(src, dst []byte, nx bool) (bool, error) {
	if nx {
		return k.c.RenameNX(src, dst)
	}
	return true, k.c.Rename(src, dst)
}

func (k *dataKeyspace) Flush() error {
	if k.tx != nil {
		k.cleared = true
		clear(k.wrote)
		k.wrote = k.wrote[:0]
		return k.tx.FlushAll()
	}
	return k.s.store.FlushAll()
}

func (k *dataKeyspace) Keys(o *collections.KeysOptions, fn func([]byte, Kind, time.Time) bool) error {
	var mine []string // keys the Tx wrote that o selects, in order
	if k.tx != nil {
		for _, b := range k.wrote {
			if bytes.HasPrefix(b, o.Prefix) && (o.After == nil || bytes.Compare(b, o.After) > 0) {
				mine = append(mine, string(b))
			}
		}
		slices.Sort(mine)
		mine = slices.Compact(mine)
	}
	// own reports a key of the Tx as the Tx sees it; false stops the walk.
	own := func(name string) (bool, error) {
		kind, err := k.Type([]byte(name))
		if err != nil {
			return false, err
		}
		if kind == KindNone || (o.Type != collections.TypeNone && kind != Kind(o.Type)) {
			return true, nil
		}
		at, _, err := k.Expiry([]byte(name))
		if err != nil {
			return false, err
		}
		return fn([]byte(name), kind, at), nil
	}
	if !k.cleared {
		ki, err := k.s.store.Keys(o)
		if err != nil {
			return err
		}
		for ki.Next() {
			name := ki.Name()
			for len(mine) > 0 && mine[0] < string(name) {
				more, err := own(mine[0])
				mine = mine[1:]
				if err != nil || !more {
					ki.Close()
					return err
				}
			}
			if len(mine) > 0 && mine[0] == string(name) {
				continue // the Tx's view of it comes with the next name or at the end
			}
			if !fn(name, Kind(ki.Type()), ki.ExpireTime()) {
				return ki.Close()
			}
		}
		if err := ki.Close(); err != nil {
			return err
		}
	}
	for _, name := range mine {
		more, err := own(name)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// maxExpiry is the latest expiry the engine can hold: it keeps expiries as
// Unix nanoseconds in an int64 (up to April 2262). Later ones are capped.
var maxExpiry = time.Unix(0, math.MaxInt64-int64(time.Hour))

// keyErrors are the errors whose text is their reply (the collections
// package words them as Redis does).
var keyErrors = []error{
	collections.ErrWrongType, collections.ErrNotInteger, collections.ErrNotFloat,
	collections.ErrHashNotInteger, collections.ErrHashNotFloat, collections.ErrOverflow,
	collections.ErrNaNOrInf, collections.ErrScoreNaN, collections.ErrNoSuchKey,
	collections.ErrIndexOutOfRange, collections.ErrStringTooLong, collections.ErrSyntax,
	collections.ErrExpireOptions, collections.ErrExpireGTLT, collections.ErrZAddOptions,
	collections.ErrZAddXXNX, collections.ErrZAddIncrPairs, collections.ErrInvalidExpire,
}

// keyError maps a Keyspace error to its reply.
func keyError(err error) string {
	for _, e := range keyErrors {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	switch {
	case errors.Is(err, lsm.ErrReadOnly):
		return "READONLY You can't write against a read only replica."
	case errors.Is(err, lsm.ErrClosed):
		return "ERR the database is closed"
	case errors.Is(err, lsm.ErrInvalidArgument):
		return "ERR " + err.Error()
	}
	return fmt.Sprintf("ERR %v", err)
}

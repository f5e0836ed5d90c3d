package collections

import (
	"time"

	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/lsm"
)

// ---- type resolution, shared by every operation ----

// lookup resolves name as the Tx sees it: a string (a string beats a stale
// collection metadata left under the same name by a raw db.Put, as SET
// replaces any type), a collection with its metadata, or nothing.
//
// With the name's metadata cached, the metadata is not read; nor is the
// string probed when no raw write can have made one (Options.SoleWriter,
// or a name whose string lives in the package's reserved keys).
func (tx *Tx) lookup(name []byte) (Type, meta, error) {
	if tx.s.mc.on && (tx.s.sole || len(name) == 0 || name[0] == reservedByte) {
		if m, ok := tx.cachedMeta(tx.keep(metaKey(tx.scratch(), name))); ok {
			sk := tx.keep(stringKey(tx.scratch(), name))
			if tx.ov.n == 0 || tx.ov.find(sk) == nil {
				tx.verifyNoString(sk)
				return m.typ, m, nil
			}
		}
	}
	ok, err := tx.hasRaw(tx.keep(stringKey(tx.scratch(), name)))
	if err != nil || ok {
		return TypeString, meta{}, err
	}
	v, found, err := tx.getRawTmp(tx.keep(metaKey(tx.scratch(), name)))
	if err != nil || !found {
		return TypeNone, meta{}, err
	}
	m, err := decodeMeta(name, v)
	return m.typ, m, err
}

// coll resolves name as a collection of type want: ok is false if name does
// not exist; ErrWrongType if it holds another type.
func (tx *Tx) coll(name []byte, want Type, write bool) (meta, bool, error) {
	if err := tx.check(name, write); err != nil {
		return meta{}, false, err
	}
	t, m, err := tx.lookup(name)
	switch {
	case err != nil:
		return meta{}, false, err
	case t == TypeNone:
		return meta{}, false, nil
	case t != want:
		return meta{}, false, ErrWrongType
	}
	return m, true, nil
}

// header reads the header of the collection m.
func (tx *Tx) header(name []byte, m meta) (header, error) {
	v, found, err := tx.getRawTmp(tx.headerKey(m.id))
	if err != nil {
		return header{}, err
	}
	if !found {
		return header{}, corrupt("missing header", name, nil)
	}
	return decodeHeader(name, m.typ, v)
}

func (tx *Tx) putHeader(m meta, h header) {
	var b [16]byte
	tx.putRaw(tx.headerKey(m.id), h.encode(b[:0], m.typ), 0)
}

// create makes an empty collection of type t under name, which must not
// exist, and returns its metadata. The caller writes the header.
func (tx *Tx) create(name []byte, t Type) (meta, error) {
	id, err := tx.s.newID()
	if err != nil {
		return meta{}, err
	}
	m := meta{typ: t, id: id}
	var b [18]byte
	tx.putRaw(metaKey(nil, name), m.encode(b[:0]), 0)
	tx.touch(name)
	return m, nil
}

// drop deletes the collection m under name that the operation has just
// emptied: its metadata, its expiry-index entry, and the data keys an empty
// collection still has (its header, and a sorted set's two top rank nodes),
// with point deletes: a queue that empties on every pop writes no range
// delete (see deleteData).
func (tx *Tx) drop(name []byte, m meta) {
	tx.delRaw(metaKey(nil, name))
	tx.delRaw(headerKey(nil, m.id))
	if m.typ == TypeZSet {
		for level := 1; level <= 2; level++ {
			tx.delRaw(append(append(dataPrefix(nil, m.id), byte(subNodeBase+level)), topSuffix...))
		}
	}
	tx.dropEnd(name, m)
}

// dropWhole deletes the collection m under name whatever it holds (DEL, SET
// or RENAME over it): its metadata, its expiry-index entry, and all its
// data (deleteData, sized by its header: one point read).
func (tx *Tx) dropWhole(name []byte, m meta) error {
	var elems int64
	v, found, err := tx.getRaw(headerKey(nil, m.id))
	if err != nil {
		return err
	}
	if found {
		elems = sizeOfHeader(v)
	}
	if err := tx.deleteData(m.id, elems); err != nil {
		return err
	}
	tx.delRaw(metaKey(nil, name))
	tx.dropEnd(name, m)
	return nil
}

// dropEnd finishes drop and dropWhole: the expiry-index entry, the mirror,
// the touch.
func (tx *Tx) dropEnd(name []byte, m meta) {
	if m.idxAt != 0 {
		tx.delRaw(expiryIndexKey(nil, m.idxAt, m.id))
	}
	if m.typ == TypeZSet {
		tx.zdead = append(tx.zdead, m.id)
	}
	tx.touch(name)
}

// del deletes whatever name holds (a string, a collection, or both when a
// raw db.Put left a string over a collection) and reports whether it held
// anything.
func (tx *Tx) del(name []byte) (bool, error) {
	sk := stringKey(nil, name)
	isStr, err := tx.hasRaw(sk)
	if err != nil {
		return false, err
	}
	if isStr {
		tx.delRaw(sk)
		tx.touch(name)
	}
	v, found, err := tx.getRaw(metaKey(nil, name))
	if err != nil || !found {
		return isStr, err
	}
	m, err := decodeMeta(name, v)
	if err != nil {
		return false, err
	}
	return true, tx.dropWhole(name, m)
}

// ---- key operations ----

// Type returns the type of key (TypeNone if it does not exist).
func (tx *Tx) Type(key []byte) (Type, error) {
	if err := tx.check(key, false); err != nil {
		return TypeNone, err
	}
	t, _, err := tx.lookup(key)
	return t, err
}

// Delete deletes the keys, whatever their types, and returns how many
// existed (DEL, UNLINK). A collection of any size costs one range delete.
func (tx *Tx) Delete(keys ...[]byte) (int, error) {
	n := 0
	for _, k := range keys {
		if err := tx.check(k, true); err != nil {
			return 0, err
		}
		ok, err := tx.del(k)
		if err != nil {
			return 0, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// Exists returns how many of the keys exist; a key named twice counts twice
// (EXISTS).
func (tx *Tx) Exists(keys ...[]byte) (int, error) {
	n := 0
	for _, k := range keys {
		t, err := tx.Type(k)
		if err != nil {
			return 0, err
		}
		if t != TypeNone {
			n++
		}
	}
	return n, nil
}

// expiryOf returns the type of key and its expiry (Unix ns, 0 = none).
func (tx *Tx) expiryOf(key []byte) (Type, meta, []byte, int64, error) {
	sk := stringKey(nil, key)
	v, exp, found, err := tx.getRawExp(sk)
	if err != nil || found {
		return TypeString, meta{}, v, exp, err
	}
	v, exp, found, err = tx.getRawExp(metaKey(nil, key))
	if err != nil || !found {
		return TypeNone, meta{}, nil, 0, err
	}
	m, err := decodeMeta(key, v)
	return m.typ, m, nil, exp, err
}

// NoTTL is the TTL of a key that exists and never expires (Redis's -1).
const NoTTL time.Duration = -1

// TTL returns the time key has left to live: NoTTL if it never expires, and
// ErrNotFound if it does not exist (Redis's -2). TTL and PTTL round it.
func (tx *Tx) TTL(key []byte) (time.Duration, error) {
	at, err := tx.ExpireTime(key)
	if err != nil {
		return 0, err
	}
	if at.IsZero() {
		return NoTTL, nil
	}
	return max(at.Sub(tx.Now()), 0), nil
}

// ExpireTime returns when key expires: the zero Time if it never does,
// ErrNotFound if it does not exist (EXPIRETIME, PEXPIRETIME).
func (tx *Tx) ExpireTime(key []byte) (time.Time, error) {
	if err := tx.check(key, false); err != nil {
		return time.Time{}, err
	}
	t, _, _, exp, err := tx.expiryOf(key)
	switch {
	case err != nil:
		return time.Time{}, err
	case t == TypeNone:
		return time.Time{}, ErrNotFound
	case exp == 0:
		return time.Time{}, nil
	}
	return time.Unix(0, exp), nil
}

// ExpireFlags are EXPIRE's NX, XX, GT and LT options.
type ExpireFlags uint8

// The flags; XX may go with GT or LT, every other pair is an error.
const (
	ExpireNX ExpireFlags = 1 << iota // only if the key has no expiry
	ExpireXX                         // only if the key has an expiry
	ExpireGT                         // only if the new expiry is later (no expiry counts as infinite)
	ExpireLT                         // only if the new expiry is earlier (no expiry counts as infinite)
)

// ErrExpireGTLT: EXPIRE with both GT and LT.
var ErrExpireGTLT = errorString("ERR GT and LT options at the same time are not compatible")

type errorString string

func (e errorString) Error() string { return string(e) }

func (f ExpireFlags) validate() error {
	if f&ExpireNX != 0 && f&(ExpireXX|ExpireGT|ExpireLT) != 0 {
		return ErrExpireOptions
	}
	if f&ExpireGT != 0 && f&ExpireLT != 0 {
		return ErrExpireGTLT
	}
	return nil
}

// Expire sets key to expire ttl from now and reports whether the key
// exists (EXPIRE, PEXPIRE). A ttl <= 0 deletes the key, as Redis's EXPIRE
// with a non-positive time does.
func (tx *Tx) Expire(key []byte, ttl time.Duration) (bool, error) {
	return tx.ExpireAt(key, tx.Now().Add(ttl), 0)
}

// ExpireFlags is Expire with the NX, XX, GT and LT options; it reports
// whether it set the expiry.
func (tx *Tx) ExpireFlags(key []byte, ttl time.Duration, flags ExpireFlags) (bool, error) {
	return tx.ExpireAt(key, tx.Now().Add(ttl), flags)
}

// ExpireAt sets key to expire at the instant at and reports whether it did
// (EXPIREAT, PEXPIREAT and, through Expire, EXPIRE and PEXPIRE). An instant
// not after the Tx's time deletes the key. GT and LT compare whole
// milliseconds, as Redis keeps expiries.
func (tx *Tx) ExpireAt(key []byte, at time.Time, flags ExpireFlags) (bool, error) {
	if err := flags.validate(); err != nil {
		return false, err
	}
	if err := tx.check(key, true); err != nil {
		return false, err
	}
	t, m, v, cur, err := tx.expiryOf(key)
	if err != nil || t == TypeNone {
		return false, err
	}
	when := keys.UnixNano(at) // past 2262: the latest expiry, not a wrap into the past
	curMS, whenMS := cur/1e6, floorMS(when)
	switch {
	case flags&ExpireNX != 0 && cur != 0,
		flags&ExpireXX != 0 && cur == 0,
		flags&ExpireGT != 0 && (cur == 0 || whenMS <= curMS),
		flags&ExpireLT != 0 && cur != 0 && whenMS >= curMS:
		return false, nil
	}
	if when <= tx.nowNs() {
		_, err := tx.del(key)
		return err == nil, err
	}
	tx.setExpiry(key, t, m, v, when)
	return true, nil
}

func floorMS(ns int64) int64 {
	if ns < 0 && ns%1e6 != 0 {
		return ns/1e6 - 1
	}
	return ns / 1e6
}

// setExpiry gives key (of type t; v is a string's value, m a collection's
// metadata) the expiry at (Unix ns; 0 = none).
func (tx *Tx) setExpiry(key []byte, t Type, m meta, v []byte, at int64) {
	tx.touch(key)
	if t == TypeString {
		tx.putRaw(stringKey(nil, key), v, at)
		return
	}
	if m.idxAt != 0 {
		tx.delRaw(expiryIndexKey(nil, m.idxAt, m.id))
	}
	m.idxAt = at
	if at != 0 {
		tx.putRaw(expiryIndexKey(nil, at, m.id), key, 0)
	}
	var b [18]byte
	tx.putRaw(metaKey(nil, key), m.encode(b[:0]), at)
}

// Persist removes key's expiry and reports whether it had one (PERSIST).
func (tx *Tx) Persist(key []byte) (bool, error) {
	if err := tx.check(key, true); err != nil {
		return false, err
	}
	t, m, v, cur, err := tx.expiryOf(key)
	if err != nil || t == TypeNone || cur == 0 {
		return false, err
	}
	tx.setExpiry(key, t, m, v, 0)
	return true, nil
}

// Rename renames src to dst, replacing whatever dst held, and keeps src's
// TTL (RENAME). ErrNoSuchKey if src does not exist. A collection of any size
// is renamed by moving its metadata: its elements do not move.
func (tx *Tx) Rename(src, dst []byte) error {
	_, err := tx.rename(src, dst, false)
	return err
}

// RenameNX is Rename that does nothing and returns false if dst exists
// (RENAMENX).
func (tx *Tx) RenameNX(src, dst []byte) (bool, error) {
	return tx.rename(src, dst, true)
}

func (tx *Tx) rename(src, dst []byte, nx bool) (bool, error) {
	if err := tx.check(src, true); err != nil {
		return false, err
	}
	if err := tx.check(dst, true); err != nil {
		return false, err
	}
	t, m, v, exp, err := tx.expiryOf(src)
	if err != nil {
		return false, err
	}
	if t == TypeNone {
		return false, ErrNoSuchKey
	}
	if string(src) == string(dst) {
		return !nx, nil
	}
	if nx {
		dt, _, err := tx.lookup(dst)
		if err != nil || dt != TypeNone {
			return false, err
		}
	}
	if t == TypeString {
		if _, err := tx.del(src); err != nil {
			return false, err
		}
		if _, err := tx.del(dst); err != nil {
			return false, err
		}
		tx.putRaw(stringKey(nil, dst), v, exp)
		tx.touch(dst)
		return true, nil
	}
	if _, err := tx.del(dst); err != nil {
		return false, err
	}
	tx.delRaw(metaKey(nil, src))
	var b [18]byte
	tx.putRaw(metaKey(nil, dst), m.encode(b[:0]), exp)
	if m.idxAt != 0 {
		tx.putRaw(expiryIndexKey(nil, m.idxAt, m.id), dst, 0)
	}
	tx.touch(src)
	tx.touch(dst)
	return true, nil
}

// ---- Store wrappers ----

// Type returns the type of key (TYPE); TypeNone if it does not exist.
func (s *Store) Type(key []byte) (Type, error) {
	var t Type
	var err error
	for tx := s.begin1(false, key); ; {
		t, err = tx.Type(key)
		if tx.end(&err) {
			break
		}
	}
	return t, err
}

// Delete deletes the keys, whatever their types, and returns how many
// existed (DEL, UNLINK). It costs one range delete per collection, whatever
// its size.
func (s *Store) Delete(keys ...[]byte) (int, error) {
	var n int
	var err error
	for tx := s.beginN(true, keys); ; {
		n, err = tx.Delete(keys...)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// Exists returns how many of the keys exist, counting repeats (EXISTS).
func (s *Store) Exists(keys ...[]byte) (int, error) {
	var n int
	var err error
	for tx := s.beginN(false, keys); ; {
		n, err = tx.Exists(keys...)
		if tx.end(&err) {
			break
		}
	}
	return n, err
}

// Expire makes key expire ttl from now (EXPIRE, PEXPIRE) and reports whether
// the key exists. A ttl <= 0 deletes it.
func (s *Store) Expire(key []byte, ttl time.Duration) (bool, error) {
	return s.ExpireFlags(key, ttl, 0)
}

// ExpireFlags is Expire with the NX, XX, GT and LT options.
func (s *Store) ExpireFlags(key []byte, ttl time.Duration, flags ExpireFlags) (bool, error) {
	var ok bool
	var err error
	for tx := s.begin1(true, key); ; {
		ok, err = tx.ExpireFlags(key, ttl, flags)
		if tx.end(&err) {
			break
		}
	}
	return ok, err
}

// ExpireAt makes key expire at the instant at (EXPIREAT, PEXPIREAT) with the
// options flags (0 for none) and reports whether it did.
func (s *Store) ExpireAt(key []byte, at time.Time, flags ExpireFlags) (bool, error) {
	var ok bool
	var err error
	for tx := s.begin1(true, key); ; {
		ok, err = tx.ExpireAt(key, at, flags)
		if tx.end(&err) {
			break
		}
	}
	return ok, err
}

// TTL returns the time key has left: NoTTL if it never expires, ErrNotFound
// if it does not exist (TTL, PTTL).
func (s *Store) TTL(key []byte) (time.Duration, error) {
	var d time.Duration
	var err error
	for tx := s.begin1(false, key); ; {
		d, err = tx.TTL(key)
		if tx.end(&err) {
			break
		}
	}
	return d, err
}

// ExpireTime returns when key expires: the zero Time if never, ErrNotFound
// if it does not exist (EXPIRETIME, PEXPIRETIME).
func (s *Store) ExpireTime(key []byte) (time.Time, error) {
	var at time.Time
	var err error
	for tx := s.begin1(false, key); ; {
		at, err = tx.ExpireTime(key)
		if tx.end(&err) {
			break
		}
	}
	return at, err
}

// Persist removes key's expiry and reports whether it had one (PERSIST).
func (s *Store) Persist(key []byte) (bool, error) {
	var ok bool
	var err error
	for tx := s.begin1(true, key); ; {
		ok, err = tx.Persist(key)
		if tx.end(&err) {
			break
		}
	}
	return ok, err
}

// Rename renames src to dst, replacing dst, keeping src's TTL (RENAME).
// ErrNoSuchKey if src does not exist. A collection is renamed in O(1).
func (s *Store) Rename(src, dst []byte) error {
	var err error
	for tx := s.beginN(true, [][]byte{src, dst}); ; {
		err = tx.Rename(src, dst)
		if tx.end(&err) {
			return err
		}
	}
}

// RenameNX renames src to dst only if dst does not exist (RENAMENX).
func (s *Store) RenameNX(src, dst []byte) (bool, error) {
	var ok bool
	var err error
	for tx := s.beginN(true, [][]byte{src, dst}); ; {
		ok, err = tx.RenameNX(src, dst)
		if tx.end(&err) {
			break
		}
	}
	return ok, err
}

var _ = lsm.ErrNotFound

package collections

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"

	"github.com/stratadb/strata/lsm"
)

// metaCache holds the metadata of collections without a TTL, by name, so
// that a read of a collection the cache holds skips the engine lookup of
// its metadata (doc.go, "Metadata cache").
//
// Exactness rests on the key locks: an entry is filled only by a Tx that
// holds its name's lock (shared or exclusive) and read the metadata from
// the engine, with nothing of its own pending over it; and it is changed
// only by the commit of a Tx that wrote the name's metadata key, which
// holds the name's lock exclusively (or every key, in Update) until the
// cache is up to date. So no Tx that could see an entry runs between a
// commit and the cache's update. A Tx's range delete over the metadata
// keys (FlushAll) clears the whole cache.
//
// Collections with a TTL are left out: their metadata is an engine entry
// that expires by the engine's clock, and a cached copy would outlive it.
type metaCache struct {
	on bool
	// sets is the number of sets of metaWays entries in each shard.
	sets   int
	shards [metaShards]metaShard
}

// metaShards splits the cache so that readers of different names seldom
// meet on one mutex; a power of two.
const metaShards = 64

// metaWays is the number of entries a name may sit in: the cache is
// set-associative, each shard an array of sets of metaWays entries, a
// name's set chosen by its hash. A fill takes an empty entry of the set
// or replaces one chosen by the hash; there is no growth, no rehash and
// no allocation after a shard's first fill.
const metaWays = 4

// metaNameMax is the longest name the cache holds: names are kept in the
// entries themselves, so that the cache holds no pointer (nothing for the
// garbage collector to scan, no allocation per entry). Longer names are
// read from the engine every time.
const metaNameMax = 38

// metaEntryBytes is the heap an entry takes (metaSlot; the cache has no
// other heap but its shards).
const metaEntryBytes = 56

type metaShard struct {
	// mu guards slots.
	mu sync.RWMutex
	// slots holds the shard's sets one after another (allocated by the
	// first fill); an entry of hash 0 is empty.
	slots []metaSlot
	_     [32]byte // keep neighbouring shards' mutexes off one cache line
}

// metaSlot is one entry: the hash of the name (the Store's maphash, as for
// its stripe; never 0) and the cached value. The name decides: two names
// of one hash are two entries.
type metaSlot struct {
	h uint64
	v metaVal
}

// metaVal is a cached metadata value: a collection's type and ID (idxAt is
// always 0: no TTL), and its name.
type metaVal struct {
	id    uint64
	name  [metaNameMax]byte
	nameN uint8
	typ   Type
}

func (e *metaSlot) is(h uint64, name []byte) bool {
	return e.h == h && int(e.v.nameN) == len(name) && string(e.v.name[:e.v.nameN]) == string(name)
}

func (c *metaCache) init(limit int64) {
	if limit <= 0 {
		return
	}
	c.on = true
	c.sets = int(max(limit/metaShards/metaEntryBytes/metaWays, 1))
}

// metaHash returns the shard of name and the hash that picks its set.
func (s *Store) metaHash(name []byte) (*metaShard, uint64) {
	h := maphash.Bytes(s.seed, name) | 1 // never 0, which marks an empty entry
	return &s.mc.shards[(h>>32)&(metaShards-1)], h
}

// set returns the entries of hash h's set (nil before the first fill).
func (c *metaCache) set(sh *metaShard, h uint64) []metaSlot {
	if sh.slots == nil {
		return nil
	}
	i := int((h>>38)%uint64(c.sets)) * metaWays
	return sh.slots[i : i+metaWays : i+metaWays]
}

// isMetaKey reports whether raw is a metadata key.
func isMetaKey(raw []byte) bool {
	return len(raw) >= 2 && raw[0] == reservedByte && raw[1] == tagMeta
}

// metaGet returns the cached metadata of name.
func (s *Store) metaGet(name []byte) (meta, bool) {
	if len(name) > metaNameMax {
		return meta{}, false
	}
	sh, h := s.metaHash(name)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	set := s.mc.set(sh, h)
	for i := range set {
		if e := &set[i]; e.is(h, name) {
			return meta{typ: e.v.typ, id: e.v.id}, true
		}
	}
	return meta{}, false
}

// metaFill caches v, the metadata value of name the engine holds now,
// when it is one the cache keeps: a collection's with no TTL (exp 0, and
// no expiry-index time in the value).
func (s *Store) metaFill(name, v []byte, exp int64) { s.metaSet(name, v, exp, true) }

// metaSet makes name's entry v, or removes it when v is not one the cache
// keeps. A read's fill checks, in race builds, that it agrees with an
// entry already there (check).
func (s *Store) metaSet(name, v []byte, exp int64, check bool) {
	if !s.mc.on || len(name) > metaNameMax {
		return
	}
	keep := exp == 0 && len(v) == 10 && v[0] == metaVersion && v[1] >= byte(TypeHash) && v[1] <= byte(TypeZSet)
	sh, h := s.metaHash(name)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.slots == nil {
		if !keep {
			return
		}
		sh.slots = make([]metaSlot, s.mc.sets*metaWays)
	}
	set := s.mc.set(sh, h)
	var e *metaSlot
	for i := range set {
		if set[i].is(h, name) {
			e = &set[i]
			break
		}
	}
	if !keep {
		if e != nil {
			*e = metaSlot{}
		}
		return
	}
	mv := metaVal{typ: Type(v[1]), id: binary.BigEndian.Uint64(v[2:]), nameN: uint8(len(name))}
	copy(mv.name[:], name)
	if e != nil {
		if check && (e.v.typ != mv.typ || e.v.id != mv.id) {
			// Two fills of one name disagree: the engine changed under a
			// cached entry, which the locks rule out.
			invariant("metadata cache: %q cached as %v %d, read as %v %d", name, e.v.typ, e.v.id, mv.typ, mv.id)
		}
	} else {
		for i := range set {
			if set[i].h == 0 {
				e = &set[i]
				break
			}
		}
		if e == nil {
			// A full set: replace an entry the hash picks (random, as
			// hashes go), so the hit path keeps no bookkeeping.
			e = &set[(h>>8)%metaWays]
		}
	}
	*e = metaSlot{h: h, v: mv}
}

// metaClear empties the cache.
func (s *Store) metaClear() {
	if !s.mc.on {
		return
	}
	for i := range s.mc.shards {
		sh := &s.mc.shards[i]
		sh.mu.Lock()
		clear(sh.slots)
		sh.mu.Unlock()
	}
}

// metaLen returns the number of cached entries (tests).
func (s *Store) metaLen() int {
	n := 0
	for i := range s.mc.shards {
		n += s.mc.shards[i].len()
	}
	return n
}

func (sh *metaShard) len() int {
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	n := 0
	for i := range sh.slots {
		if sh.slots[i].h != 0 {
			n++
		}
	}
	return n
}

// cachedMeta returns the metadata at raw, a metadata key, from the cache,
// when the Tx has nothing of its own pending over raw (its own writes win).
func (tx *Tx) cachedMeta(raw []byte) (meta, bool) {
	if !tx.s.mc.on || tx.ov.find(raw) != nil || (len(tx.ranges) > 0 && tx.inRange(raw)) {
		return meta{}, false
	}
	m, ok := tx.s.metaGet(raw[2:])
	if ok {
		tx.verifyMeta(raw, m)
	}
	return m, ok
}

// afterCommit brings the metadata cache up to date with the Tx's writes,
// committed (ok) or not: each metadata key it wrote gets its new value, or
// loses its entry when the value is not one the cache keeps, or when the
// commit failed (the engine may or may not hold the write). A range delete
// over metadata keys clears the cache. The Tx still holds the locks of
// every name it wrote.
func (tx *Tx) afterCommit(ok bool) {
	s := tx.s
	if !s.mc.on {
		return
	}
	for _, r := range tx.ranges {
		if string(r.lo) < string(metaHi) && string(r.hi) > string(metaLo) {
			s.metaClear()
			break
		}
	}
	if !tx.wroteMeta {
		return
	}
	for n := tx.ov.first(); n != nil; n = n.next[0] {
		if !isMetaKey(n.key) {
			continue
		}
		if ok && !n.del && !n.covered && !n.incr {
			s.metaSet(n.key[2:], n.val, n.expAt, false)
		} else {
			s.metaSet(n.key[2:], nil, 0, false)
		}
	}
}

// encodeMetaTmp encodes m into the Tx's value buffer (as getRawTmp
// returns values).
func (tx *Tx) encodeMetaTmp(m meta) []byte {
	tx.vbuf = m.encode(tx.vbuf[:0])
	return tx.vbuf
}

// invariant panics, in race builds only, with a broken invariant of the
// Store's in-memory state: a bug, never bad input.
func invariant(format string, args ...any) {
	if checkInvariants {
		panic(fmt.Sprintf("collections: invariant: "+format, args...))
	}
}

// verifyMeta checks, in race builds, a cache hit against the engine: the
// metadata it holds for name must be m, with no TTL.
func (tx *Tx) verifyMeta(raw []byte, m meta) {
	if !checkInvariants {
		return
	}
	v, err := tx.s.db.Get(raw)
	if err != nil {
		if errors.Is(err, lsm.ErrClosed) {
			return
		}
		invariant("metadata cache: %q cached as %v %d, engine: %v", raw[2:], m.typ, m.id, err)
		return
	}
	if got, err := decodeMeta(raw[2:], v); err != nil || got != m {
		invariant("metadata cache: %q cached as %v %d, engine holds %x", raw[2:], m.typ, m.id, v)
	}
}

// verifyNoString checks, in race builds, a skipped string probe: sk, the
// string key of a cached collection's name, must not exist.
func (tx *Tx) verifyNoString(sk []byte) {
	if !checkInvariants {
		return
	}
	if has, err := tx.s.db.Has(sk); err == nil && has {
		invariant("metadata cache: a string %q beside a cached collection", sk)
	}
}

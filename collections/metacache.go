package collections

import (
	"encoding/binary"
	"errors"
	"fmt"
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
	// perShard is the byte budget of each shard.
	perShard int64
	shards   [metaShards]metaShard
}

// metaShards splits the cache so that readers of different names seldom
// meet on one mutex; a power of two.
const metaShards = 64

// metaEntryOverhead is the memory an entry costs besides its name's bytes:
// the map's slot (the string header and the value), its share of the
// bucket, and the string's allocation rounding, estimated.
const metaEntryOverhead = 64

type metaShard struct {
	// mu guards m and bytes.
	mu    sync.RWMutex
	m     map[string]metaVal
	bytes int64
	_     [32]byte // keep neighbouring shards' mutexes off one cache line
}

// metaVal is a cached metadata value: a collection's type and ID (idxAt is
// always 0: no TTL).
type metaVal struct {
	id  uint64
	typ Type
}

func (c *metaCache) init(limit int64) {
	if limit <= 0 {
		return
	}
	c.on = true
	c.perShard = max(limit/metaShards, 1)
}

func (s *Store) metaShard(name []byte) *metaShard {
	return &s.mc.shards[s.stripeOf(name)&(metaShards-1)]
}

// isMetaKey reports whether raw is a metadata key.
func isMetaKey(raw []byte) bool {
	return len(raw) >= 2 && raw[0] == reservedByte && raw[1] == tagMeta
}

// get returns the cached metadata of name.
func (s *Store) metaGet(name []byte) (meta, bool) {
	sh := s.metaShard(name)
	sh.mu.RLock()
	v, ok := sh.m[string(name)]
	sh.mu.RUnlock()
	return meta{typ: v.typ, id: v.id}, ok
}

// metaFill caches v, the metadata value of name the engine holds now,
// when it is one the cache keeps: a collection's with no TTL (exp 0, and
// no expiry-index time in the value).
func (s *Store) metaFill(name, v []byte, exp int64) {
	if !s.mc.on || exp != 0 || len(v) != 10 || v[0] != metaVersion || v[1] < byte(TypeHash) || v[1] > byte(TypeZSet) {
		return
	}
	mv := metaVal{typ: Type(v[1]), id: binary.BigEndian.Uint64(v[2:])}
	sh := s.metaShard(name)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.m == nil {
		sh.m = make(map[string]metaVal)
	}
	if old, ok := sh.m[string(name)]; ok {
		if old != mv {
			// Two fills of one name disagree: the engine changed under a
			// cached entry, which the locks rule out.
			invariant("metadata cache: %q cached as %v %d, read as %v %d", name, old.typ, old.id, mv.typ, mv.id)
		}
		sh.m[string(name)] = mv
		return
	}
	size := int64(len(name)) + metaEntryOverhead
	// Random eviction (a map's iteration starts anywhere): no bookkeeping
	// on the hit path, which only reads.
	for k := range sh.m {
		if sh.bytes+size <= s.mc.perShard {
			break
		}
		delete(sh.m, k)
		sh.bytes -= int64(len(k)) + metaEntryOverhead
	}
	if sh.bytes+size > s.mc.perShard {
		return // larger than a whole shard
	}
	sh.m[string(name)] = mv
	sh.bytes += size
}

// metaDrop removes name's entry.
func (s *Store) metaDrop(name []byte) {
	if !s.mc.on {
		return
	}
	sh := s.metaShard(name)
	sh.mu.Lock()
	if _, ok := sh.m[string(name)]; ok {
		delete(sh.m, string(name))
		sh.bytes -= int64(len(name)) + metaEntryOverhead
	}
	sh.mu.Unlock()
}

// metaClear empties the cache.
func (s *Store) metaClear() {
	if !s.mc.on {
		return
	}
	for i := range s.mc.shards {
		sh := &s.mc.shards[i]
		sh.mu.Lock()
		clear(sh.m)
		sh.bytes = 0
		sh.mu.Unlock()
	}
}

// metaLen returns the number of cached entries (tests).
func (s *Store) metaLen() int {
	n := 0
	for i := range s.mc.shards {
		sh := &s.mc.shards[i]
		sh.mu.RLock()
		n += len(sh.m)
		sh.mu.RUnlock()
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
		name := n.key[2:]
		if ok && !n.del && !n.covered && n.expAt == 0 && !n.incr {
			s.metaDrop(name)
			s.metaFill(name, n.val, 0)
			continue
		}
		s.metaDrop(name)
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

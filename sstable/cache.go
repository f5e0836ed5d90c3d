package sstable

import (
	"sync"
	"sync/atomic"

	"github.com/stratadb/strata/internal/invariants"
	"github.com/stratadb/strata/internal/refcount"
	"github.com/stratadb/strata/internal/slab"
)

// cacheShards is the number of parts of a Cache, each with its own mutex
// (for inserts and evictions) and table.
const cacheShards = 16

// cacheEntryOverhead is charged per cached block on top of its capacity:
// about the size of a cacheEntry and its slot in the shard's table.
const cacheEntryOverhead = 96

type cacheKey struct {
	fileNum, offset uint64
}

// cacheEntry is one cached block or table part, on its shard's LRU list
// and in its shard's table (a chain of a bucket).
//
// Lookups read entries without the shard's lock (see cacheShard), so the
// fields they read are atomic or fixed while they read them: the key, refs,
// hnext, referenced and spared are atomic; a data block's block, buf and
// alloc are set before refs rises above zero and do not change until it
// falls to zero again (a lookup reads them only once it holds a
// reference); a part's part, and prio and meta, never change (an entry
// that held a part or a meta block is never reused, nor is an entry
// reused to hold one). The shard's mu guards every other field, and every
// write.
type cacheEntry struct {
	fileNum, offset atomic.Uint64 // the key
	hnext           atomic.Pointer[cacheEntry]
	block           []byte   // a data block: buf's bytes (nil for a part)
	buf             slab.Buf // the block's memory, outside the Go heap
	alloc           *slab.Allocator
	// refs counts the references to a data block's memory: one for the
	// cache while the entry is in its shard, one per BlockRef. Whoever
	// drops it to zero frees buf; the entry is reused only if the cache
	// did (see cacheShard.remove). It stays zero for a part.
	refs atomic.Int32
	part any // a table's decoded index (block is nil then)
	// meta marks a block that is a table's filter (see Cache.setMetaFrom):
	// held as a data block is, counted with the parts.
	meta   bool
	charge int64
	// referenced is set by a hit since the entry last moved to the front
	// of the list.
	referenced atomic.Bool
	// prio is the times eviction passes over the entry, unused, more than
	// over a data block (0); spared counts them. A table's filter has 1 and
	// its point index 2: every point read of the table goes through them
	// (a read cannot go without the point index; it can without the
	// filter), and a miss re-reads a whole index or filter block.
	prio       uint8
	spared     atomic.Uint32
	prev, next *cacheEntry
}

// is reports whether the entry holds k.
func (e *cacheEntry) is(k cacheKey) bool {
	return e.offset.Load() == k.offset && e.fileNum.Load() == k.fileNum
}

// tryRef takes a reference to a data block's memory unless it has none
// left (freed, or not yet published; a part has none).
func (e *cacheEntry) tryRef() bool {
	return refcount.TryAcquire(&e.refs)
}

// touch marks the entry used, writing only what changes (a hot entry's
// cache line then stays shared between the cores that read it).
func (e *cacheEntry) touch() {
	if !e.referenced.Load() {
		e.referenced.Store(true)
	}
	if e.prio > 0 && e.spared.Load() != 0 {
		e.spared.Store(0)
	}
}

// unref drops a reference to a data block's memory, freeing it with the
// last, and reports whether it was the last.
func (e *cacheEntry) unref() bool {
	switch n := e.refs.Add(-1); {
	case n == 0:
		e.alloc.Free(e.buf)
		return true
	case invariants.Enabled && n < 0:
		panic("sstable: cached block released more often than referenced")
	}
	return false
}

// BlockRef keeps a data block the block cache handed out alive: the
// block's memory lies outside the Go heap, and is freed once the cache has
// evicted the block and every BlockRef of it is released. A value or key
// that aliases the block must not be used after Release. The zero BlockRef
// holds nothing, as does one of a block read without the cache (on the Go
// heap): Release does nothing then. A BlockRef is released once; the
// invariants build panics at a second Release.
type BlockRef struct {
	e   *cacheEntry
	tok *refToken // the invariants build's record of this reference
}

// refToken is one reference in the invariants build.
type refToken struct {
	c        *Cache
	released atomic.Bool
}

// Release drops the reference.
func (b BlockRef) Release() {
	if b.e == nil {
		return
	}
	if invariants.Enabled {
		if b.tok.released.Swap(true) {
			panic("sstable: BlockRef released twice")
		}
		b.tok.c.held.Add(-1)
	}
	b.e.unref()
}

// cacheShard is a list of blocks bounded in bytes, evicted in LRU order
// with second chance (CLOCK): a hit only marks its entry referenced, and
// eviction moves a referenced entry back to the front instead of dropping
// it. Hits thus touch one entry instead of relinking three.
//
// A lookup takes no lock: it walks a chain of the shard's hash table with
// atomic loads, and a data block's hit takes its reference with a
// compare-and-swap that fails once the block's memory is freed (see
// cacheEntry). Writers change the table under mu and bump seq around each
// change (odd while it lasts), so that a lookup that found nothing knows
// whether a change overlapped its walk (a chain it followed may have been
// relinked): it then looks again under mu. A lookup that found its entry
// needs no such check: holding the reference, it checks the entry's key
// again.
//
// mu guards every field of the shard and of its entries (capacity
// included: SetCapacity changes it) except the atomic fields (written
// under mu but for hits, misses and the entries' refs, referenced and
// spared) and what cacheEntry says.
type cacheShard struct {
	mu       sync.Mutex
	capacity int64
	size     int64 // every entry's charge, parts included
	parts    int64 // of size, the charges of parts (indexes) and meta blocks (filters)
	reserved int64 // this shard's part of Reserve's charges
	count    int   // entries in the table
	closed   bool  // Close was called: nothing is cached
	seq      atomic.Uint64
	table    atomic.Pointer[cacheTable]
	lru      cacheEntry // sentinel: lru.next is the most recently used
	_        [64]byte   // keeps neighbouring shards' hot fields off one cache line
	// hits and misses are counted by lock-free lookups: on a line of
	// their own, away from the one mu and table share.
	hits, misses atomic.Int64
	_            [64]byte
}

// cacheTable is a shard's hash table: a power of two of chains, each
// linked by the entries' hnext. A table that grows is replaced whole.
type cacheTable struct {
	shift   uint8 // 64 - log2(len(buckets))
	buckets []atomic.Pointer[cacheEntry]
}

func newCacheTable(bits uint8) *cacheTable {
	return &cacheTable{shift: 64 - bits, buckets: make([]atomic.Pointer[cacheEntry], 1<<bits)}
}

// bucket returns the chain of k.
func (t *cacheTable) bucket(k cacheKey) *atomic.Pointer[cacheEntry] {
	h := (k.fileNum*0xff51afd7ed558ccd ^ k.offset) * 0x9e3779b97f4a7c15
	return &t.buckets[h>>t.shift]
}

// find walks k's chain of t.
func (t *cacheTable) find(k cacheKey) *cacheEntry {
	for e := t.bucket(k).Load(); e != nil; e = e.hnext.Load() {
		if e.is(k) {
			return e
		}
	}
	return nil
}

// Cache is a block cache: a sharded LRU (approximated with CLOCK), bounded in bytes, of uncompressed
// data blocks keyed by (file number, block offset), and of the tables'
// decoded index blocks (parts, see Reader) and filter blocks, the point
// indexes and filters at a higher priority than data blocks; the data
// blocks, the filters and the point indexes in the cache's own memory. Each of its
// 16 shards has its own mutex, which inserts and evictions take, and a
// sixteenth of the capacity; lookups take no lock (see cacheShard). Size
// never exceeds the capacity. Safe for concurrent use.
//
// Data blocks live outside the Go heap (package slab), so that the cache
// costs its capacity in memory rather than up to twice that under the
// collector's GOGC headroom; each is charged the size of its slot. A
// reader holds a block it uses with a BlockRef, and the block's memory is
// freed only once the cache has evicted it and every BlockRef is
// released. Close frees every block no reader holds; the memory of the
// others goes with their last Release. Filter blocks are held the same
// way (see setMetaFrom); parts (decoded indexes) stay on the Go heap.
type Cache struct {
	shards [cacheShards]cacheShard
	alloc  *slab.Allocator
	held   atomic.Int64 // the invariants build: BlockRefs not released
	// capacity is the sum of the shards' capacities, set with them (see
	// SetCapacity), for readers that take no shard's lock.
	capacity atomic.Int64
}

// NewCache returns a cache holding up to capacity bytes of blocks (each
// charged its slot's size, slab.Size, plus a small per-entry overhead). A
// capacity <= 0 caches nothing. The collector does not free the cache's
// data blocks: Close does, once its readers are done.
func NewCache(capacity int64) *Cache {
	capacity = max(capacity, 0)
	c := &Cache{alloc: slab.New(capacity)}
	for i := range c.shards {
		s := &c.shards[i]
		s.capacity = shardCapacity(capacity, i)
		s.table.Store(newCacheTable(minTableBits))
		s.lru.next, s.lru.prev = &s.lru, &s.lru
	}
	c.capacity.Store(capacity)
	return c
}

// shardCapacity is shard i's part of a cache capacity.
func shardCapacity(capacity int64, i int) int64 {
	n := capacity / cacheShards
	if int64(i) < capacity%cacheShards {
		n++
	}
	return n
}

// SetCapacity changes the cache's capacity (a capacity <= 0 caches
// nothing more). A smaller capacity evicts, least recently used first,
// until the cache fits in it; what readers hold of an evicted block is
// freed with their last Release, as with any eviction. The owner of a
// memory budget moves bytes between the cache and its other parts with
// it (the DB's memtables, see lsm.Options.MemoryLimit).
func (c *Cache) SetCapacity(capacity int64) {
	capacity = max(capacity, 0)
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		s.capacity = shardCapacity(capacity, i)
		for s.size+s.reserved > s.capacity && s.lru.prev != &s.lru {
			s.remove(s.lru.prev)
		}
		s.mu.Unlock()
	}
	c.capacity.Store(capacity)
}

// minTableBits is the log2 of a new shard table's chains; the table
// doubles whenever it holds more entries than chains.
const minTableBits = 4

func (c *Cache) shard(k cacheKey) *cacheShard {
	h := k.fileNum*0x9e3779b97f4a7c15 ^ k.offset*0xc2b2ae3d27d4eb4f
	h ^= h >> 29
	return &c.shards[h%cacheShards]
}

func (s *cacheShard) unlink(e *cacheEntry) {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next = nil, nil
}

func (s *cacheShard) pushFront(e *cacheEntry) {
	e.prev = &s.lru
	e.next = s.lru.next
	e.prev.next = e
	e.next.prev = e
}

// key returns the entry's key; under the shard's mu, or holding a
// reference to the entry's block.
func (e *cacheEntry) key() cacheKey {
	return cacheKey{e.fileNum.Load(), e.offset.Load()}
}

// link puts e, its key and contents set, at the head of its chain, first
// doubling the table if it holds as many entries as chains. s.mu is held.
func (s *cacheShard) link(e *cacheEntry) {
	s.seq.Add(1) // odd: lookups that overlap look again under mu
	t := s.table.Load()
	if s.count >= len(t.buckets) {
		t = s.grow(t)
	}
	b := t.bucket(e.key())
	e.hnext.Store(b.Load())
	b.Store(e)
	s.count++
	s.seq.Add(1)
}

// grow replaces t with a table of twice the chains, relinking every entry
// (all on the LRU list). Its caller made seq odd.
func (s *cacheShard) grow(t *cacheTable) *cacheTable {
	n := newCacheTable(64 - t.shift + 1)
	for e := s.lru.next; e != &s.lru; e = e.next {
		b := n.bucket(e.key())
		e.hnext.Store(b.Load())
		b.Store(e)
	}
	s.table.Store(n)
	return n
}

// unlinkTable takes e out of its chain. e keeps its hnext, so that a lookup
// standing on it goes on (seq tells it that its walk overlapped a change).
// s.mu is held.
func (s *cacheShard) unlinkTable(e *cacheEntry) {
	s.seq.Add(1)
	b := s.table.Load().bucket(e.key())
	if p := b.Load(); p == e {
		b.Store(e.hnext.Load())
	} else {
		for ; p != nil; p = p.hnext.Load() {
			if p.hnext.Load() == e {
				p.hnext.Store(e.hnext.Load())
				break
			}
		}
	}
	s.count--
	s.seq.Add(1)
}

// findBlock returns the data block entry of k with a reference taken, or
// nil if the shard holds none. It takes mu only if a change of the table
// overlapped its walk.
func (s *cacheShard) findBlock(k cacheKey) *cacheEntry {
	if g := s.seq.Load(); g&1 == 0 {
		switch e := s.table.Load().find(k); {
		case e != nil && e.tryRef():
			if e.is(k) {
				return e
			}
			e.unref() // freed and reused meanwhile
		case s.seq.Load() == g:
			return nil // absent, or a part
		}
	}
	s.mu.Lock()
	e := s.table.Load().find(k)
	if e != nil && !e.tryRef() { // a part: a data block in the table has the cache's reference
		e = nil
	}
	s.mu.Unlock()
	return e
}

// findPart returns the part entry of k, or nil, as findBlock. A part's
// entry is never reused, so its part is read without a reference.
func (s *cacheShard) findPart(k cacheKey) *cacheEntry {
	if g := s.seq.Load(); g&1 == 0 {
		e := s.table.Load().find(k)
		if e != nil && e.part != nil {
			return e
		}
		if s.seq.Load() == g {
			return nil
		}
	}
	s.mu.Lock()
	e := s.table.Load().find(k)
	s.mu.Unlock()
	if e != nil && e.part == nil {
		return nil
	}
	return e
}

// remove takes e out of the shard and drops the cache's reference to its
// block. It reports whether e may be reused for another data block: a
// block whose memory this freed (no BlockRef holds it; one that does
// frees it at its Release, and the entry is then garbage). A part's or a
// meta block's entry is never reused (see cacheEntry).
func (s *cacheShard) remove(e *cacheEntry) bool {
	s.unlink(e)
	s.unlinkTable(e)
	s.size -= e.charge
	if e.part != nil || e.meta {
		s.parts -= e.charge
	}
	if e.part != nil {
		return false
	}
	return e.unref() && !e.meta
}

// Get returns a copy, on the Go heap, of the block cached for (fileNum,
// offset), marking it most recently used, and counts a hit or a miss. It
// allocates the copy: readers take blocks without copying (Reader holds
// them with a BlockRef).
func (c *Cache) Get(fileNum, offset uint64) ([]byte, bool) {
	return c.copyOut(fileNum, offset, false)
}

// GetRef returns the block cached for (fileNum, offset) without copying
// it, with a reference that keeps it alive until released; it marks the
// block most recently used and counts a hit or a miss. For blocks a
// caller caches itself (SetRef), as lsm does with values it reads from
// WAL segments.
func (c *Cache) GetRef(fileNum, offset uint64) (BlockRef, []byte, bool) {
	return c.acquire(fileNum, offset, false)
}

// SetRef caches a copy of block as Set does and returns the copy with a
// reference to it; it reports false, caching nothing, where Set caches
// nothing.
func (c *Cache) SetRef(fileNum, offset uint64, block []byte) (BlockRef, []byte, bool) {
	return c.setBlock(fileNum, offset, block)
}

// SetRefFrom caches n bytes that fill writes into the cache's own memory
// (a positioned read from a file, say), as SetRef caches a copy of a
// block, without SetRef's copy. It reports false, caching nothing, where
// SetRef would for n bytes, and when fill fails (fill's error is
// returned); fill is not called when the cache cannot take n bytes, and a
// block fill filled is lost if the cache closes before it is inserted.
func (c *Cache) SetRefFrom(fileNum, offset uint64, n int, fill func([]byte) error) (BlockRef, []byte, bool, error) {
	return c.setFrom(fileNum, offset, n, fill, prioNone, false)
}

// setFrom is SetRefFrom for a block of priority prio, a table's filter if
// meta is set (see insertSlotAs).
func (c *Cache) setFrom(fileNum, offset uint64, n int, fill func([]byte) error, prio uint8, meta bool) (BlockRef, []byte, bool, error) {
	buf, ok := c.slot(fileNum, offset, n, meta)
	if !ok {
		return BlockRef{}, nil, false, nil
	}
	if err := fill(buf.Bytes()); err != nil {
		c.alloc.Free(buf)
		return BlockRef{}, nil, false, err
	}
	ref, ok := c.insertSlotAs(fileNum, offset, buf, prio, meta)
	if !ok {
		c.alloc.Free(buf)
		return BlockRef{}, nil, false, nil
	}
	return ref, buf.Bytes(), true, nil
}

// Peek is Get that counts neither a hit nor a miss and does not mark the
// block as used (see acquire).
func (c *Cache) Peek(fileNum, offset uint64) ([]byte, bool) {
	return c.copyOut(fileNum, offset, true)
}

// copyOut returns a heap copy of the cached block, for Get and Peek.
func (c *Cache) copyOut(fileNum, offset uint64, peek bool) ([]byte, bool) {
	ref, b, ok := c.acquire(fileNum, offset, peek)
	if !ok {
		return nil, false
	}
	b = append([]byte(nil), b...)
	ref.Release()
	return b, true
}

// acquire returns the block cached for (fileNum, offset) and a reference
// that keeps it alive until released. Unless peek is set it marks the
// block most recently used and counts a hit or a miss; with peek set it
// does neither: for a reader whose lookup says nothing of the block's
// future use (a compaction reading a table it is about to delete). A hit
// takes no lock (see cacheShard).
func (c *Cache) acquire(fileNum, offset uint64, peek bool) (BlockRef, []byte, bool) {
	k := cacheKey{fileNum, offset}
	s := c.shard(k)
	e := s.findBlock(k)
	if e == nil {
		if !peek {
			s.misses.Add(1)
		}
		return BlockRef{}, nil, false
	}
	if !peek {
		e.touch()
		s.hits.Add(1)
	}
	return c.ref(e), e.block, true
}

// ref returns a BlockRef for e, whose count the caller raised.
func (c *Cache) ref(e *cacheEntry) BlockRef {
	if !invariants.Enabled {
		return BlockRef{e: e}
	}
	c.held.Add(1)
	return BlockRef{e: e, tok: &refToken{c: c}}
}

// Set caches a copy of block for (fileNum, offset), replacing any block
// cached there, and evicts least recently used blocks of the same shard
// until the shard is within its capacity. A block larger than a shard's
// capacity is not cached.
func (c *Cache) Set(fileNum, offset uint64, block []byte) {
	if ref, _, ok := c.setBlock(fileNum, offset, block); ok {
		ref.Release()
	}
}

// setBlock caches a copy of block, as Set, and returns the copy with a
// reference to it. It reports false, and caches nothing, for an empty
// block, a block larger than a shard can hold, after Close, or if memory
// for it cannot be had.
func (c *Cache) setBlock(fileNum, offset uint64, block []byte) (BlockRef, []byte, bool) {
	buf, ok := c.slot(fileNum, offset, len(block), false)
	if !ok {
		return BlockRef{}, nil, false
	}
	copy(buf.Bytes(), block)
	return c.insertOrFree(fileNum, offset, buf)
}

// slot returns memory of the cache's allocator for a block of n bytes to
// be cached under (fileNum, offset), or false where no such block is
// cached: an empty one, one larger than a shard can hold (either drops
// the block cached there), or when memory for it cannot be had.
func (c *Cache) slot(fileNum, offset uint64, n int, meta bool) (slab.Buf, bool) {
	k := cacheKey{fileNum, offset}
	s := c.shard(k)
	if n <= 0 || int64(slotSize(n, meta))+cacheEntryOverhead > s.capacity {
		s.mu.Lock()
		if old := s.table.Load().find(k); old != nil {
			s.remove(old)
		}
		s.mu.Unlock()
		return slab.Buf{}, false
	}
	alloc := c.alloc.Alloc
	if meta {
		alloc = c.alloc.AllocLong
	}
	buf, err := alloc(n)
	return buf, err == nil
}

// slotSize is the memory an n-byte block takes in the cache's allocator: a
// table's filter or point index (meta) comes from AllocLong, a data block
// from Alloc.
func slotSize(n int, meta bool) int {
	if meta {
		return slab.SizeLong(n)
	}
	return slab.Size(n)
}

// insertOrFree caches the block buf holds, as insertSlot, and gives buf
// back to the allocator if the cache took nothing.
func (c *Cache) insertOrFree(fileNum, offset uint64, buf slab.Buf) (BlockRef, []byte, bool) {
	ref, ok := c.insertSlot(fileNum, offset, buf)
	if !ok {
		c.alloc.Free(buf)
		return BlockRef{}, nil, false
	}
	return ref, buf.Bytes(), true
}

// insertSlot caches the block buf holds (memory of the cache's allocator,
// which the cache then owns) and returns a reference to it; the block is
// buf.Bytes(). It reports false, caching nothing and leaving buf to the
// caller, as setBlock.
func (c *Cache) insertSlot(fileNum, offset uint64, buf slab.Buf) (BlockRef, bool) {
	return c.insertSlotAs(fileNum, offset, buf, prioNone, false)
}

// insertSlotAs is insertSlot for a block of priority prio, a table's
// filter if meta is set.
func (c *Cache) insertSlotAs(fileNum, offset uint64, buf slab.Buf, prio uint8, meta bool) (BlockRef, bool) {
	k := cacheKey{fileNum, offset}
	s := c.shard(k)
	b := buf.Bytes()
	charge := int64(slotSize(max(len(b), 1), meta)) + cacheEntryOverhead
	if len(b) == 0 || charge > s.capacity {
		return BlockRef{}, false
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return BlockRef{}, false
	}
	e, ok := s.insert(k, entryInit{block: b, buf: buf, alloc: c.alloc, charge: charge, prio: prio, meta: meta}, 2) // the cache's reference and the caller's
	s.mu.Unlock()
	if !ok {
		return BlockRef{}, false
	}
	return c.ref(e), true
}

// entryInit is what insert sets in a new or reused entry.
type entryInit struct {
	block  []byte
	buf    slab.Buf
	alloc  *slab.Allocator
	part   any
	charge int64
	prio   uint8
	meta   bool
}

// insert caches ent under k in s, in place of
// the entry of k, and evicts until s is within its capacity; a data
// block's entry starts with refs references. It returns the entry, or
// false, caching nothing, if the charge is above the shard's capacity less
// what Reserve holds. A data block's entry this call removes is reused for
// a data block when nothing else holds it: a full cache (the steady state)
// then allocates nothing per insert. s.mu is held.
func (s *cacheShard) insert(k cacheKey, ent entryInit, refs int32) (*cacheEntry, bool) {
	var reuse *cacheEntry
	if old := s.table.Load().find(k); old != nil {
		if s.remove(old) {
			reuse = old
		}
	}
	if ent.charge > s.capacity-s.reserved {
		return nil, false
	}
	reuse = s.makeRoom(ent.charge, reuse)
	e := reuse
	if e == nil || ent.part != nil || ent.meta {
		e = &cacheEntry{part: ent.part, prio: ent.prio, meta: ent.meta}
	} else {
		// A lookup standing on the reused entry sees its new key before
		// refs rises (see cacheShard.findBlock); part and prio stay nil and
		// 0, unwritten, for lookups that read them without a reference.
		e.referenced.Store(false)
		e.spared.Store(0)
	}
	e.block, e.buf, e.alloc, e.charge = ent.block, ent.buf, ent.alloc, ent.charge
	e.fileNum.Store(k.fileNum)
	e.offset.Store(k.offset)
	if ent.part == nil {
		e.refs.Store(refs)
	}
	s.link(e) // before pushFront: a growing table relinks the entries on the list
	s.pushFront(e)
	s.size += ent.charge
	if ent.part != nil || ent.meta {
		s.parts += ent.charge
	}
	return e, true
}

// makeRoom evicts from the tail of the list until charge more bytes fit,
// giving referenced entries a second chance and parts with a priority
// more (at most 3 per entry per call, so this ends). It returns reuse, or
// if that is nil, an evicted entry the caller may reuse.
func (s *cacheShard) makeRoom(charge int64, reuse *cacheEntry) *cacheEntry {
	for s.size+s.reserved+charge > s.capacity && s.lru.prev != &s.lru {
		tail := s.lru.prev
		switch {
		case tail.referenced.Load():
			tail.referenced.Store(false)
		case tail.spared.Load() < uint32(tail.prio):
			tail.spared.Add(1)
		default:
			if s.remove(tail) && reuse == nil {
				reuse = tail
			}
			continue
		}
		s.unlink(tail)
		s.pushFront(tail)
	}
	return reuse
}

// setMetaFrom caches a table's filter block as SetRefFrom caches a block:
// n bytes that fill writes into the cache's memory (outside the Go heap),
// held by a BlockRef while used, but with priority prio and counted with
// the parts (Parts, Usage). It reports false, caching nothing, where
// SetRefFrom would.
func (c *Cache) setMetaFrom(fileNum, offset uint64, n int, fill func([]byte) error, prio uint8) (BlockRef, []byte, bool, error) {
	return c.setFrom(fileNum, offset, n, fill, prio, true)
}

// getMeta returns the block setMetaFrom cached for (fileNum, offset) with a
// reference to it, marking it used; like getPart, it counts in neither
// Hits nor Misses.
func (c *Cache) getMeta(fileNum, offset uint64) (BlockRef, []byte, bool) {
	k := cacheKey{fileNum, offset}
	e := c.shard(k).findBlock(k)
	if e == nil {
		return BlockRef{}, nil, false
	}
	e.touch()
	return c.ref(e), e.block, true
}

// getPart returns the table part (a decoded index) cached for
// (fileNum, offset), marking it used, without a lock. Parts count in neither Hits nor
// Misses, which are about data blocks; the reader counts the parts it
// reads (Stats.IndexBlocksRead, FilterBlocksRead).
func (c *Cache) getPart(fileNum, offset uint64) (any, bool) {
	k := cacheKey{fileNum, offset}
	e := c.shard(k).findPart(k)
	if e == nil {
		return nil, false
	}
	e.touch()
	return e.part, true
}

// setPart caches a table part charged charge bytes, with priority prio
// (see cacheEntry.prio; 0 evicts it like a data block). It reports false
// if the part is too large for a shard (a charge above the shard's
// capacity less what Reserve holds), and then caches nothing. The cache keeps v: the caller must not modify it.
func (c *Cache) setPart(fileNum, offset uint64, v any, charge int64, prio uint8) bool {
	k := cacheKey{fileNum, offset}
	s := c.shard(k)
	charge += cacheEntryOverhead
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	_, ok := s.insert(k, entryInit{part: v, charge: charge, prio: prio}, 0)
	return ok
}

// partFits reports whether a part charged charge bytes fits in one shard,
// Reserve's charges aside.
func (c *Cache) partFits(charge int64) bool {
	return charge+cacheEntryOverhead <= c.capacity.Load()/cacheShards // the smallest shard's
}

// Reserve charges n bytes that live outside the cache against its
// capacity (a negative n returns a charge): the index and filter blocks of
// open tables, so that blocks and the tables' metadata together stay within
// one budget. Blocks are evicted, least recently used first, to make room;
// while the charges exceed the capacity nothing is cached. A charge must be
// returned with the same amount.
func (c *Cache) Reserve(n int64) {
	neg := n < 0
	if neg {
		n = -n
	}
	for i := range c.shards {
		part := n / cacheShards
		if int64(i) < n%cacheShards {
			part++
		}
		if neg {
			part = -part
		}
		s := &c.shards[i]
		s.mu.Lock()
		s.reserved += part
		for s.size+s.reserved > s.capacity && s.lru.prev != &s.lru {
			s.remove(s.lru.prev)
		}
		s.mu.Unlock()
	}
}

// Reserved returns the bytes charged with Reserve and not yet returned.
func (c *Cache) Reserved() int64 {
	return c.sum(func(s *cacheShard) int64 { return s.reserved })
}

// sum adds f of every shard, each read under its lock.
func (c *Cache) sum(f func(*cacheShard) int64) int64 {
	var n int64
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += f(s)
		s.mu.Unlock()
	}
	return n
}

// Usage returns the bytes of data blocks (Size) and of the tables' index
// and filter blocks (Parts plus Reserved), each shard's counts read under
// its lock, so that their sum stays within the capacity while the charges
// do.
func (c *Cache) Usage() (blocks, meta int64) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		blocks += s.size - s.parts
		meta += s.parts + s.reserved
		s.mu.Unlock()
	}
	return blocks, meta
}

// Parts returns the bytes charged to the tables' index and filter blocks
// held as cache entries (Reserve's charges not included).
func (c *Cache) Parts() int64 {
	return c.sum(func(s *cacheShard) int64 { return s.parts })
}

// EvictFile drops every cached block of fileNum.
func (c *Cache) EvictFile(fileNum uint64) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for e := s.lru.next; e != &s.lru; {
			next := e.next
			if e.fileNum.Load() == fileNum {
				s.remove(e)
			}
			e = next
		}
		s.mu.Unlock()
	}
}

// evict drops the entry of (fileNum, offset), if the cache holds one.
// Readers holding its memory keep it until they release it.
func (c *Cache) evict(fileNum, offset uint64) {
	k := cacheKey{fileNum, offset}
	s := c.shard(k)
	s.mu.Lock()
	if e := s.table.Load().find(k); e != nil {
		s.remove(e)
	}
	s.mu.Unlock()
}

// Size returns the bytes currently charged to cached data blocks (the
// tables' index and filter blocks, Parts, and Reserve's charges not
// included).
func (c *Cache) Size() int64 {
	blocks, _ := c.Usage()
	return blocks
}

// Capacity returns the cache's capacity: the one it was created with, or
// the last SetCapacity's.
func (c *Cache) Capacity() int64 { return c.capacity.Load() }

// Hits returns the number of Get calls that found their block.
func (c *Cache) Hits() int64 {
	hits, _ := c.counts()
	return hits
}

// Misses returns the number of Get calls that did not.
func (c *Cache) Misses() int64 {
	_, misses := c.counts()
	return misses
}

// counts sums the shards' hit and miss counters.
func (c *Cache) counts() (hits, misses int64) {
	for i := range c.shards {
		s := &c.shards[i]
		hits += s.hits.Load()
		misses += s.misses.Load()
	}
	return hits, misses
}

// Close empties the cache, freeing every data block no BlockRef holds
// (those held are freed at their last Release), and caches nothing from
// then on. Reserve's charges are kept, for the readers still open to
// return. The cache may still be used: lookups miss.
func (c *Cache) Close() {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		s.closed = true
		for s.lru.prev != &s.lru {
			s.remove(s.lru.prev)
		}
		s.mu.Unlock()
	}
	c.alloc.Close()
}

// OffHeap returns the bytes of memory outside the Go heap that the cache's
// data and filter blocks take, with what its allocator holds for reuse (see package
// slab). It is zero once the cache is closed and every BlockRef released.
func (c *Cache) OffHeap() int64 { return c.alloc.Mapped() }

// HeldRefs returns the BlockRefs handed out and not released: in the
// invariants build only (elsewhere 0), for tests that check every reader
// released its blocks.
func (c *Cache) HeldRefs() int64 { return c.held.Load() }

package sstable

import (
	"sync"
	"sync/atomic"

	"github.com/stratadb/strata/internal/invariants"
	"github.com/stratadb/strata/internal/slab"
)

// cacheShards is the number of independently locked parts of a Cache.
const cacheShards = 16

// cacheEntryOverhead is charged per cached block on top of its capacity:
// about the size of a cacheEntry and its map slot.
const cacheEntryOverhead = 96

type cacheKey struct {
	fileNum, offset uint64
}

// cacheEntry is one cached block or table part, on its shard's LRU list.
// Its shard's mu guards every field but refs (atomic) and buf, block and
// alloc, which are set before the entry is published in the shard's map
// and do not change while refs is above zero.
type cacheEntry struct {
	key   cacheKey
	block []byte   // a data block: buf's bytes (nil for a part)
	buf   slab.Buf // the block's memory, outside the Go heap
	alloc *slab.Allocator
	// refs counts the references to a data block's memory: one for the
	// cache while the entry is in its shard, one per BlockRef. Whoever
	// drops it to zero frees buf; the entry is reused only if the cache
	// did (see cacheShard.remove).
	refs       atomic.Int32
	part       any // a table's decoded index or filter (block is nil then)
	charge     int64
	referenced bool // hit since it last moved to the front of the list
	// prio is the times eviction passes over the entry, unused, more than
	// over a data block (0); spared counts them. A table's filter has 1 and
	// its point index 2: every point read of the table goes through them
	// (a read cannot go without the point index; it can without the
	// filter), and a miss re-reads a whole index or filter block.
	prio, spared uint8
	prev, next   *cacheEntry
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
// it. Hits thus touch one entry instead of relinking three. mu guards every
// field of the shard and of its entries except capacity, which never
// changes, and what cacheEntry says.
type cacheShard struct {
	mu           sync.Mutex
	capacity     int64
	size         int64 // every entry's charge, parts included
	parts        int64 // of size, the charges of parts (indexes and filters)
	reserved     int64 // this shard's part of Reserve's charges
	hits, misses int64 // counted under mu: no shared atomic per lookup
	closed       bool  // Close was called: nothing is cached
	m            map[cacheKey]*cacheEntry
	lru          cacheEntry // sentinel: lru.next is the most recently used
	_            [64]byte   // keeps neighbouring shards' locks off one cache line
}

// Cache is a block cache: a sharded LRU (approximated with CLOCK), bounded in bytes, of uncompressed
// data blocks keyed by (file number, block offset), and of the tables'
// decoded index and filter blocks (parts, see Reader), the point indexes
// and filters at a higher priority than data blocks. Each of its 16 shards
// has its own mutex and a sixteenth of the capacity; Size never exceeds the
// capacity. Safe for concurrent use.
//
// Data blocks live outside the Go heap (package slab), so that the cache
// costs its capacity in memory rather than up to twice that under the
// collector's GOGC headroom; each is charged the size of its slot. A
// reader holds a block it uses with a BlockRef, and the block's memory is
// freed only once the cache has evicted it and every BlockRef is
// released. Close frees every block no reader holds; the memory of the
// others goes with their last Release. Parts stay on the Go heap.
type Cache struct {
	shards [cacheShards]cacheShard
	alloc  *slab.Allocator
	held   atomic.Int64 // the invariants build: BlockRefs not released
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
		s.capacity = capacity / cacheShards
		if int64(i) < capacity%cacheShards {
			s.capacity++
		}
		s.m = make(map[cacheKey]*cacheEntry)
		s.lru.next, s.lru.prev = &s.lru, &s.lru
	}
	return c
}

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

// remove takes e out of the shard and drops the cache's reference to its
// block. It reports whether e may be reused: a part, or a block whose
// memory this freed (no BlockRef holds it; one that does frees it at its
// Release, and the entry is then garbage).
func (s *cacheShard) remove(e *cacheEntry) bool {
	s.unlink(e)
	delete(s.m, e.key)
	s.size -= e.charge
	if e.part != nil {
		s.parts -= e.charge
		return true
	}
	return e.unref()
}

// Get returns a copy, on the Go heap, of the block cached for (fileNum,
// offset), marking it most recently used, and counts a hit or a miss. It
// allocates the copy: readers take blocks without copying (Reader holds
// them with a BlockRef).
func (c *Cache) Get(fileNum, offset uint64) ([]byte, bool) {
	return c.copyOut(fileNum, offset, false)
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
// future use (a compaction reading a table it is about to delete).
func (c *Cache) acquire(fileNum, offset uint64, peek bool) (BlockRef, []byte, bool) {
	k := cacheKey{fileNum, offset}
	s := c.shard(k)
	s.mu.Lock()
	e, ok := s.m[k]
	if ok && e.part == nil {
		if !peek {
			e.referenced = true
			s.hits++
		}
		e.refs.Add(1)
		s.mu.Unlock()
		return c.ref(e), e.block, true
	}
	if !peek {
		s.misses++
	}
	s.mu.Unlock()
	return BlockRef{}, nil, false
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
	k := cacheKey{fileNum, offset}
	s := c.shard(k)
	charge := int64(slab.Size(max(len(block), 1))) + cacheEntryOverhead
	if len(block) == 0 || charge > s.capacity {
		s.mu.Lock()
		if old, ok := s.m[k]; ok {
			s.remove(old)
		}
		s.mu.Unlock()
		return BlockRef{}, nil, false
	}
	buf, err := c.alloc.Alloc(len(block))
	if err != nil {
		return BlockRef{}, nil, false
	}
	b := buf.Bytes()
	copy(b, block)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.alloc.Free(buf)
		return BlockRef{}, nil, false
	}
	e, ok := s.insert(&cacheEntry{key: k, block: b, buf: buf, alloc: c.alloc, charge: charge})
	if !ok {
		s.mu.Unlock()
		c.alloc.Free(buf)
		return BlockRef{}, nil, false
	}
	e.refs.Store(2) // the cache's and the caller's
	s.mu.Unlock()
	return c.ref(e), b, true
}

// insert caches ent (key, charge and contents set) in s, in place of the
// entry of its key, and evicts until s is within its capacity. It returns
// the entry, or false, caching nothing, if the charge is above the shard's
// capacity less what Reserve holds. An entry this call removes is reused
// when nothing else holds it: a full cache (the steady state) then
// allocates nothing per insert. s.mu is held; a data block's refs is the
// caller's to set.
func (s *cacheShard) insert(ent *cacheEntry) (*cacheEntry, bool) {
	var reuse *cacheEntry
	if old, ok := s.m[ent.key]; ok {
		if s.remove(old) {
			reuse = old
		}
	}
	if ent.charge > s.capacity-s.reserved {
		return nil, false
	}
	reuse = s.makeRoom(ent.charge, reuse)
	e := reuse
	if e == nil {
		e = new(cacheEntry)
	}
	e.key, e.block, e.buf, e.alloc, e.part, e.charge = ent.key, ent.block, ent.buf, ent.alloc, ent.part, ent.charge
	e.referenced, e.prio, e.spared = false, ent.prio, 0
	e.refs.Store(0)
	s.m[ent.key] = e
	s.pushFront(e)
	s.size += ent.charge
	if ent.part != nil {
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
		case tail.referenced:
			tail.referenced = false
		case tail.spared < tail.prio:
			tail.spared++
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

// getPart returns the table part (a decoded index or filter) cached for
// (fileNum, offset), marking it used. Parts count in neither Hits nor
// Misses, which are about data blocks; the reader counts the parts it
// reads (Stats.IndexBlocksRead, FilterBlocksRead).
func (c *Cache) getPart(fileNum, offset uint64) (any, bool) {
	k := cacheKey{fileNum, offset}
	s := c.shard(k)
	s.mu.Lock()
	e, ok := s.m[k]
	var v any
	if ok {
		e.referenced, e.spared = true, 0
		v = e.part
	}
	s.mu.Unlock()
	return v, ok && v != nil
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
	_, ok := s.insert(&cacheEntry{key: k, part: v, charge: charge, prio: prio})
	return ok
}

// partFits reports whether a part charged charge bytes fits in one shard,
// Reserve's charges aside.
func (c *Cache) partFits(charge int64) bool {
	return charge+cacheEntryOverhead <= c.shards[cacheShards-1].capacity // the smallest shard
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
		for k, e := range s.m {
			if k.fileNum == fileNum {
				s.remove(e)
			}
		}
		s.mu.Unlock()
	}
}

// Size returns the bytes currently charged to cached data blocks (the
// tables' index and filter blocks, Parts, and Reserve's charges not
// included).
func (c *Cache) Size() int64 {
	blocks, _ := c.Usage()
	return blocks
}

// Capacity returns the capacity the cache was created with.
func (c *Cache) Capacity() int64 {
	var n int64
	for i := range c.shards {
		n += c.shards[i].capacity
	}
	return n
}

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
		s.mu.Lock()
		hits += s.hits
		misses += s.misses
		s.mu.Unlock()
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
// data blocks take, with what its allocator holds for reuse (see package
// slab). It is zero once the cache is closed and every BlockRef released.
func (c *Cache) OffHeap() int64 { return c.alloc.Mapped() }

// HeldRefs returns the BlockRefs handed out and not released: in the
// invariants build only (elsewhere 0), for tests that check every reader
// released its blocks.
func (c *Cache) HeldRefs() int64 { return c.held.Load() }

package sstable

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/stratadb/strata/internal/refcount"
	"github.com/stratadb/strata/vfs"
)

// errTableCacheClosed is returned by Get after Close.
var errTableCacheClosed = errors.New("sstable: table cache is closed")

// tableEntry is one table in the cache. refs counts the cache's own
// reference (while the entry is in the map) plus one per Get not yet
// released; the reader closes when refs reaches zero, and once it has, it
// never rises again. prev and next are guarded by TableCache.mu; reader and
// err are written once before ready is closed and only read after.
type tableEntry struct {
	tc         *TableCache
	fileNum    uint64
	refs       atomic.Int32
	recent     atomic.Bool // used since the eviction scan last passed it
	ready      chan struct{}
	reader     *Reader
	err        error
	prev, next *tableEntry
	meta       int64 // tc.mu: the reader's MemoryUsage, counted in tc.meta
}

// tryRef takes a reference unless the count already reached zero (the
// reader is closed or closing).
func (e *tableEntry) tryRef() bool {
	return refcount.TryAcquire(&e.refs)
}

// TableCache keeps a bounded number of table readers open, evicting the
// least recently used. Readers are reference counted: an evicted reader
// closes only when its last user releases it. Safe for concurrent use.
//
// A Get of an open table takes no lock: it finds the entry in open (a
// sync.Map, read without locking) and takes a reference with a
// compare-and-swap; it marks the entry recent instead of moving it in the
// LRU list, and eviction gives recent entries a second chance (CLOCK). mu
// guards the map tables, the LRU list and closed; open holds the entries
// of tables whose reader opened without error, and changes under mu.
// Tables open outside the lock, so a slow open delays only the callers of
// that table.
//
// With a block cache, the index and filter of every open reader are
// entries of the block cache (see Reader), evicted part by part like data
// blocks: a reader stays open when its index or filter is evicted, and a
// read that needs it again re-reads that block alone, not the table's
// footer, properties and other blocks. What a reader keeps itself (an
// index or filter too large for a cache shard, the properties' keys) is
// charged to the cache (see Cache.Reserve), and the table cache closes the
// least recently used readers while those charges exceed metaShare of the
// cache's capacity, so that data blocks keep the rest: metadata memory is
// bounded by the block cache's size, not only by the number of open tables.
type TableCache struct {
	fs      vfs.FS
	name    func(fileNum uint64) string // immutable
	maxOpen int
	opts    ReaderOptions

	open sync.Map // fileNum -> *tableEntry with a usable reader

	mu     sync.Mutex
	tables map[uint64]*tableEntry
	lru    tableEntry // sentinel: lru.next is the most recently used
	meta   int64      // MemoryUsage of the open readers in tables
	closed bool

	opens atomic.Int64 // readers opened (each reads the table's metadata)
}

// metaShare is the share of the block cache's capacity (in quarters) that
// open readers' indexes and filters may take before readers are closed.
const metaShare = 3

// NewTableCache returns a cache of at most maxOpen (at least 1) open table
// readers, which open table fileNum through fs as the file name(fileNum),
// with opts. The caller names the files: the package knows tables, not the
// layout of a database's directory.
func NewTableCache(fs vfs.FS, name func(fileNum uint64) string, maxOpen int, opts ReaderOptions) *TableCache {
	tc := &TableCache{fs: fs, name: name, maxOpen: max(maxOpen, 1), opts: opts, tables: make(map[uint64]*tableEntry)}
	tc.lru.next, tc.lru.prev = &tc.lru, &tc.lru
	return tc
}

// maxMeta is the bytes of readers' metadata kept open, metaShare of the
// block cache's capacity of the moment (it may change, see
// Cache.SetCapacity); 0 means no bound (no cache).
func (tc *TableCache) maxMeta() int64 {
	if tc.opts.Cache == nil {
		return 0
	}
	return max(tc.opts.Cache.Capacity()*metaShare/4, 1)
}

func (tc *TableCache) unlink(e *tableEntry) {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next = nil, nil
}

func (tc *TableCache) pushFront(e *tableEntry) {
	e.prev = &tc.lru
	e.next = tc.lru.next
	e.prev.next = e
	e.next.prev = e
}

// removeLocked takes e out of the map and the list and drops the cache's
// reference; it returns the reader to close, if that was the last one.
func (tc *TableCache) removeLocked(e *tableEntry) *tableEntry {
	if tc.tables[e.fileNum] != e {
		return nil
	}
	delete(tc.tables, e.fileNum)
	tc.meta -= e.meta
	e.meta = 0
	tc.open.CompareAndDelete(e.fileNum, e)
	tc.unlink(e)
	return unref(e)
}

// unref drops one reference and returns e if it must now be closed.
func unref(e *tableEntry) *tableEntry {
	if e.refs.Add(-1) == 0 {
		return e
	}
	return nil
}

// evictLocked removes entries until at most maxOpen remain and their
// metadata is within maxMeta (keeping at least one), scanning from the
// least recently moved and sparing (once) those marked recent. It returns
// the readers to close.
func (tc *TableCache) evictLocked(evicted []*tableEntry) []*tableEntry {
	maxMeta := tc.maxMeta()
	for len(tc.tables) > tc.maxOpen || (maxMeta > 0 && tc.meta > maxMeta && len(tc.tables) > 1) {
		e := tc.lru.prev
		if e.recent.Swap(false) {
			tc.unlink(e)
			tc.pushFront(e)
			continue
		}
		if x := tc.removeLocked(e); x != nil {
			evicted = append(evicted, x)
		}
	}
	return evicted
}

// closeEntry closes the entry's reader once it is open.
func closeEntry(e *tableEntry) error {
	if e == nil {
		return nil
	}
	<-e.ready
	if e.reader != nil {
		return e.reader.Close()
	}
	return nil
}

// Get returns an open reader for the table and a handle the caller must
// Release exactly once when done. It allocates nothing when the reader is
// open already. size is the table's file size. The reader stays usable until released, even if
// the table is evicted meanwhile.
func (tc *TableCache) Get(fileNum uint64, size int64) (*Reader, *Handle, error) {
	if v, ok := tc.open.Load(fileNum); ok {
		if e := v.(*tableEntry); e.tryRef() {
			if !e.recent.Load() {
				e.recent.Store(true)
			}
			return e.reader, (*Handle)(e), nil
		}
	}
	tc.mu.Lock()
	if tc.closed {
		tc.mu.Unlock()
		return nil, nil, errTableCacheClosed
	}
	e, ok := tc.tables[fileNum]
	var evicted []*tableEntry
	if ok {
		e.refs.Add(1) // the cache's own reference keeps it above zero
		if tc.lru.next != e {
			tc.unlink(e)
			tc.pushFront(e)
		}
	} else {
		e = &tableEntry{tc: tc, fileNum: fileNum, ready: make(chan struct{})}
		e.refs.Store(2)
		tc.tables[fileNum] = e
		tc.pushFront(e)
		evicted = tc.evictLocked(nil)
	}
	tc.mu.Unlock()
	for _, x := range evicted {
		_ = closeEntry(x)
	}

	if !ok {
		e.reader, e.err = tc.openReader(fileNum, size)
		close(e.ready)
		tc.mu.Lock()
		var x *tableEntry
		if e.err != nil {
			// Do not cache the failure: the next Get retries.
			x = tc.removeLocked(e)
		} else if tc.tables[fileNum] == e {
			tc.open.Store(fileNum, e)
			e.meta = e.reader.MemoryUsage()
			tc.meta += e.meta
			evicted = tc.evictLocked(evicted[:0])
		}
		tc.mu.Unlock()
		_ = closeEntry(x)
		for _, x := range evicted {
			_ = closeEntry(x)
		}
	} else {
		<-e.ready
	}
	if e.err != nil {
		tc.release(e)
		return nil, nil, e.err
	}
	return e.reader, (*Handle)(e), nil
}

// Handle is a reference to an open table reader, from TableCache.Get. The
// holder must call Release exactly once when done with the reader.
type Handle tableEntry

// Release drops the reference; an evicted reader closes with its last one.
func (h *Handle) Release() {
	e := (*tableEntry)(h)
	e.tc.release(e)
}

func (tc *TableCache) release(e *tableEntry) {
	_ = closeEntry(unref(e))
}

func (tc *TableCache) openReader(fileNum uint64, size int64) (*Reader, error) {
	tc.opens.Add(1)
	name := tc.name(fileNum)
	f, err := tc.fs.Open(name)
	if err != nil {
		return nil, err
	}
	r, err := NewReader(f, size, fileNum, name, tc.opts)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return r, nil
}

// Evict drops the table from the cache (when its file is deleted) and its
// blocks from the block cache. Readers in use stay usable until released.
func (tc *TableCache) Evict(fileNum uint64) {
	tc.mu.Lock()
	var x *tableEntry
	if e, ok := tc.tables[fileNum]; ok {
		x = tc.removeLocked(e)
	}
	tc.mu.Unlock()
	_ = closeEntry(x)
	if tc.opts.Cache != nil {
		tc.opts.Cache.EvictFile(fileNum)
	}
}

// Opens returns the number of table readers the cache has opened (each
// reads the table's footer, properties, index and filter), failed opens
// included.
func (tc *TableCache) Opens() int64 { return tc.opens.Load() }

// Len returns the number of tables in the cache.
func (tc *TableCache) Len() int {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return len(tc.tables)
}

// Close drops every table; readers still in use close when released. Get
// fails afterwards. A second Close returns an error.
func (tc *TableCache) Close() error {
	tc.mu.Lock()
	if tc.closed {
		tc.mu.Unlock()
		return errTableCacheClosed
	}
	tc.closed = true
	var toClose []*tableEntry
	for tc.lru.next != &tc.lru {
		if x := tc.removeLocked(tc.lru.next); x != nil {
			toClose = append(toClose, x)
		}
	}
	tc.mu.Unlock()
	var first error
	for _, x := range toClose {
		if err := closeEntry(x); err != nil && first == nil {
			first = err
		}
	}
	return first
}

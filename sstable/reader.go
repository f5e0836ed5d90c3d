package sstable

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/stratadb/strata/internal/slab"
	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/rangedel"
)

// ReaderOptions configure a Reader. The zero value works.
type ReaderOptions struct {
	// Cache holds data blocks shared by every reader using it. The default
	// value is nil: no caching, every data block access reads the file.
	// A reader charges the memory of its index and filter to it (see
	// Cache.Reserve) from NewReader to Close.
	Cache *Cache
	// Prefix is the writer's WriterOptions.Prefix: MayContainPrefix expects
	// prefixes as it computes them. The reader itself does not call it
	// (Verify checks only user keys against the filter, since a table may
	// have been written with another function). The default value is nil.
	Prefix func(ukey []byte) int
	// Stats, if non-nil, receives the reader's counters (updated
	// atomically; several readers may share one Stats). The default value
	// is nil: the reader keeps private counters.
	Stats *Stats
	// CompactionStats, if non-nil, receives the counters of the reader's
	// compaction iterators (NewCompactionIter) instead of Stats, so that
	// Stats counts only the work of reads. Their block cache lookups are
	// counted here too, and neither count in the cache's Hits and Misses
	// nor mark the block as used (see Cache.Peek). The default value is
	// nil: compaction iterators count in Stats.
	CompactionStats *Stats
}

// Stats counts a reader's work. Every field is updated atomically.
type Stats struct {
	// Block reads from the file (cache misses and cacheless reads).
	DataBlocksRead, IndexBlocksRead, FilterBlocksRead atomic.Int64
	// Data block lookups in the block cache.
	BlockCacheHits, BlockCacheMisses atomic.Int64
	// Point and prefix filter probes that excluded / did not exclude the
	// table.
	FilterSkips, FilterPasses atomic.Int64
	// FilterBypasses counts the probes that went without the table's
	// filter: the cache had evicted it, and it was not read again yet (see
	// Reader).
	FilterBypasses atomic.Int64
	// Bytes read from the file: every block (data, index, filter,
	// properties, footer), and DataBytesRead of them for data blocks (with
	// their 5-byte trailers). Each cache miss reads its one block with one
	// positioned read.
	BytesRead, DataBytesRead atomic.Int64
	// Readaheads counts the positioned reads of several consecutive data
	// blocks at once, made by an iterator reading a table in order (see
	// Iterator); each block such a read brings is counted in DataBlocksRead
	// when it is used, its bytes in DataBytesRead when read.
	Readaheads atomic.Int64
}

// errReaderClosed is returned by calls on a closed Reader.
var errReaderClosed = errors.New("sstable: reader is closed")

// Reader reads one table. The footer, properties, index and filter are read
// and verified when it opens. The footer and properties stay in memory,
// immutable, for the reader's life. With a block cache, the decoded index,
// a point index made from it (pointIndex) and the filter (the table's
// parts) go into the cache as entries of their own, the point index and the
// filter at a higher priority than data blocks, and are evicted like
// blocks: a read that misses one re-reads that part alone (one positioned
// read of its block), never the whole table's metadata. Gets and iterators
// find their data block by the point index, and a Get goes without an
// evicted filter until reading it again is worth it (see bloomFilter).
// The point index and the filter live in the cache's memory, outside the
// Go heap (see cachePointIndex and bloomFilter); the whole index, asked
// for only by targets that tie and tables without a point index, on it.
// Without a cache, or when a part is too large for a cache shard, the
// reader keeps the part itself (charged to the cache with Cache.Reserve, if
// there is one). Data blocks go through the block cache. A Reader is safe
// for concurrent use by many goroutines: its fields do not change after
// NewReader (but for those guarded by loadMu or atomic), the counters are
// atomic and the cache has its own locks.
type Reader struct {
	r       io.ReaderAt
	size    int64
	fileNum uint64
	name    string
	cache   *Cache
	stats   *Stats
	cstats  *Stats // compaction iterators' counters (stats by default)

	meta tableMeta
	// ix and filter are the parts the reader keeps itself (nil: in the
	// cache). filter is nil too when the table has no filter
	// (meta.footer.filter is zero).
	ix      *indexPart
	pix     *pointIndex // kept with ix (nil if ix is nil or has none)
	noPoint atomic.Bool // the index has no point index (see newPointIndex)
	filter  filterBlock
	loadMu  sync.Mutex // serializes the re-reading of evicted parts
	charged int64      // bytes reserved in cache until Close
	closed  atomic.Bool
	// A filter the cache evicted is read again only once filterReload
	// reads of the table went without it (filterMisses counts them): see
	// bloomFilter.
	filterReload int64
	filterMisses atomic.Int64
}

// tableMeta is what NewReader reads and checks before any data block. It
// is immutable once built, so readers share it without locking. The index
// part and the filter are filled by readMeta and then moved to the cache or
// the Reader (see Reader).
type tableMeta struct {
	footer footer
	props  Properties
	*indexPart
	filter  filterBlock // nil: no filter (or held elsewhere)
	dataEnd uint64      // end of the last data block
	// rangeDels are the range tombstones of the range deletion block
	// (format version 2), decoded into heap memory; nil without one.
	rangeDels rangedel.List
}

// indexPart is a table's index block decoded for search: immutable once
// built, shared by every Get and iterator of the table, and cached as one
// block cache entry.
type indexPart struct {
	index   []byte // the index block, expanded (a restart point per entry)
	handles []blockHandle
	// prefixes holds, per index entry, the first 8 bytes of its user key
	// (zero-padded, big-endian), so that a seek finds its data block by a
	// binary search over one dense array instead of over the index
	// entries, where each probe touches another part of the index (see
	// indexSearch). nil when the index is not in the expanded form.
	prefixes []uint64
	common   []byte // the prefix every index entry's user key shares, skipped by prefixes
}

// pointIndex is the part of a table's index a point read needs when the
// index is expanded (indexPart.prefixes): per data block the 8-byte prefix
// of its index key and where the block ends. It takes 12 bytes a block
// where the indexPart takes about 50, so that the point indexes of far
// more tables fit in the cache. A target whose prefix equals an entry's
// needs the whole index keys (indexPart.indexSearch); other targets find
// their block by the prefixes alone.
type pointIndex struct {
	prefixes []uint64 // shared with the indexPart it was made from
	ends     []uint32 // end of data block i, its trailer included
	common   []byte
}

// newPointIndex returns the point index of ix, or nil if ix has no
// prefixes or its data blocks end beyond 4 GiB.
func newPointIndex(ix *indexPart) *pointIndex {
	if ix.prefixes == nil || (len(ix.handles) > 0 && ix.handles[len(ix.handles)-1].end() > math.MaxUint32) {
		return nil
	}
	p := &pointIndex{prefixes: ix.prefixes, common: ix.common, ends: make([]uint32, len(ix.handles))}
	for i, h := range ix.handles {
		p.ends[i] = uint32(h.end())
	}
	return p
}

// The cache priorities of a table's parts (see cacheEntry.prio): the
// whole index, needed by iterators only when a target ties (and by tables
// without a point index), goes like a data block.
const (
	prioNone       uint8 = 0
	prioFilter     uint8 = 1
	prioPointIndex uint8 = 2
)

// memoryUsage is the bytes the point index holds.
func (p *pointIndex) memoryUsage() int64 {
	return 8*int64(cap(p.prefixes)) + 4*int64(cap(p.ends)) + int64(cap(p.common))
}

// search returns the number of the first entry whose key is >= target
// (len(ends) if none), or tie set if an entry's prefix equals target's and
// only the whole keys can tell (see indexPart.indexSearch, which this
// follows up to that point).
func (p *pointIndex) search(target []byte) (i int, tie bool) {
	ut := keys.UserKey(target)
	if !bytes.HasPrefix(ut, p.common) && bytes.Compare(ut, p.common) < 0 {
		return 0, false
	}
	tp := prefixOf(p.common, ut)
	lo, hi := 0, len(p.prefixes)
	for lo < hi {
		h := int(uint(lo+hi) >> 1)
		if p.prefixes[h] < tp {
			lo = h + 1
		} else {
			hi = h
		}
	}
	return lo, lo < len(p.prefixes) && p.prefixes[lo] == tp
}

// handle returns the handle of data block i.
func (p *pointIndex) handle(i int) blockHandle {
	var off uint64
	if i > 0 {
		off = uint64(p.ends[i-1])
	}
	return blockHandle{off, uint64(p.ends[i]) - off - blockTrailerLen}
}

// memoryUsage is the bytes the part holds.
func (p *indexPart) memoryUsage() int64 {
	return int64(cap(p.index)) + int64(cap(p.handles))*int64(unsafe.Sizeof(blockHandle{})) + 8*int64(cap(p.prefixes)) + int64(cap(p.common))
}

// filterMemory is the bytes a filter holds.
func filterMemory(f filterBlock) int64 { return int64(len(f)) }

// NewReader opens a table from r (size bytes). fileNum identifies the table
// in the block cache; name appears in error messages. The footer, index
// and properties are read and verified here, and the filter too when the
// reader has no cache; with one, the index goes to the cache (see Reader;
// an index or filter the cache still holds from an earlier reader of the
// table is used without reading it again) and the filter is read on
// demand (see bloomFilter), when a damaged one is reported by the read
// that loads it and by Verify. Any damage returns an error wrapping
// keys.ErrCorruption that names name and the byte offset.
func NewReader(r io.ReaderAt, size int64, fileNum uint64, name string, opts ReaderOptions) (*Reader, error) {
	rd := &Reader{
		r: r, size: size, fileNum: fileNum, name: name,
		cache: opts.Cache, stats: opts.Stats, cstats: opts.CompactionStats,
	}
	if rd.stats == nil {
		rd.stats = new(Stats)
	}
	if rd.cstats == nil {
		rd.cstats = rd.stats
	}
	// With a cache, the filter is not read here: the reader starts as if
	// the cache had evicted it (see bloomFilter), and reads it once the
	// table has been probed without it as often as the filter is long in
	// data blocks. A short-lived process, or one that reads a table a few
	// times, then reads a data block or a few instead of the filter,
	// where a run of reads just after Open used to read the filter of
	// every table it touched.
	m, err := rd.readMeta(true, rd.cache != nil, rd.cache == nil)
	if err != nil {
		return nil, err
	}
	ix, f := m.indexPart, m.filter
	m.indexPart, m.filter = nil, nil
	rd.meta = *m
	rd.ix, rd.filter = ix, f
	if fl := m.footer.filter.length; fl > 0 {
		// The filter's bytes in data blocks of the table's average size.
		avg := max(m.dataEnd/max(m.props.NumDataBlocks, 1), 1)
		rd.filterReload = int64(max((fl+blockTrailerLen)/avg, 1))
	}
	if rd.cache != nil {
		// Only the point index is cached when there is one: reads and
		// iterators find their blocks by it, and need the whole index
		// (read again then, see index) only for a target that ties. Cached
		// at every open, the whole indexes (about 50 bytes a data block
		// against 12) were most of the Go heap just after a DB opened
		// (some 30 MB over 55 tables of 20M keys), garbage the collector's
		// headroom then doubled, and the cache evicted them soon after.
		if ix != nil && rd.cache.partFits(ix.memoryUsage()) {
			if p := newPointIndex(ix); p != nil {
				_, ref, err := rd.cachePointIndex(p)
				ref.Release()
				if err != nil {
					return nil, err
				}
			} else {
				rd.noPoint.Store(true)
				rd.cache.setPart(fileNum, m.footer.index.offset, ix, ix.memoryUsage(), prioNone)
			}
			rd.ix = nil
		}
		rd.charged = rd.MemoryUsage()
		rd.cache.Reserve(rd.charged)
	}
	if rd.ix != nil {
		rd.pix = newPointIndex(rd.ix)
	}
	return rd, nil
}

// readMeta reads and checks the footer, properties, index and filter. With
// cached set, an index or filter the cache holds for the table is taken
// from it instead of the file (the m it returns then has a nil indexPart
// or filter for it; NewReader leaves such a part in the cache). With filter
// unset the filter block is not read at all (m.filter is nil).
func (r *Reader) readMeta(count, cached, filter bool) (*tableMeta, error) {
	m := &tableMeta{}
	if r.size < footerLen {
		return nil, keys.CorruptionError(r.name, 0, "file of %d bytes is too short for a table (footer is %d bytes)", r.size, footerLen)
	}
	footOff := r.size - footerLen
	fb := make([]byte, footerLen)
	if err := r.readAt(fb, footOff); err != nil {
		return nil, err
	}
	f, err := decodeFooter(fb, r.name, footOff)
	if err != nil {
		return nil, err
	}
	m.footer = f

	// Properties first: they bound the sizes of data blocks.
	pb, err := r.readMetaBlock(f.props, "properties")
	if err != nil {
		return nil, err
	}
	if m.props, err = decodeProperties(pb, r.name, int64(f.props.offset)); err != nil {
		return nil, err
	}
	m.props.FileSize = uint64(r.size)

	m.dataEnd = f.index.offset
	if f.filter != (blockHandle{}) {
		m.dataEnd = f.filter.offset
		if _, ok := r.cachedPart(f.filter.offset, cached); !ok && filter {
			if m.filter, err = r.readFilter(f, count); err != nil {
				return nil, err
			}
		}
	}
	if m.props.DataSize != m.dataEnd {
		return nil, keys.CorruptionError(r.name, int64(f.props.offset), "properties say %d bytes of data blocks, the footer %d", m.props.DataSize, m.dataEnd)
	}
	if _, ok := r.cachedPart(f.index.offset, cached); !ok {
		if m.indexPart, err = r.readIndex(f, &m.props, m.dataEnd, count); err != nil {
			return nil, err
		}
	}
	if err := r.readRangeDels(m); err != nil {
		return nil, err
	}
	return m, nil
}

// cachedPart returns the part the cache holds at offset, if use is set.
func (r *Reader) cachedPart(offset uint64, use bool) (any, bool) {
	if !use || r.cache == nil {
		return nil, false
	}
	return r.cache.getPart(r.fileNum, offset)
}

// readFilter reads and checks the filter block f names, into fresh
// memory.
func (r *Reader) readFilter(f footer, count bool) (filterBlock, error) {
	fb, err := r.checkFilter(f.filter, nil)
	if err == nil && count {
		r.stats.FilterBlocksRead.Add(1)
	}
	return fb, err
}

// checkFilter reads the filter block at h into buf (see readStored) and
// checks it: its checksum, that it is stored uncompressed, and its
// length against its header (decodeFilter).
func (r *Reader) checkFilter(h blockHandle, buf []byte) (filterBlock, error) {
	data, c, _, err := r.readStored(h, buf)
	if err != nil {
		return nil, err
	}
	if c != CompressionNone {
		return nil, keys.CorruptionError(r.name, int64(h.offset), "filter block has compression %v; meta blocks are stored uncompressed", c)
	}
	return decodeFilter(data, r.name, int64(h.offset))
}

// readIndex reads the index block f names and decodes it for search,
// checking it against the properties: one entry per data block, the
// blocks tiling [0, dataEnd) in order.
func (r *Reader) readIndex(f footer, props *Properties, dataEnd uint64, count bool) (*indexPart, error) {
	ib, err := r.readMetaBlock(f.index, "index")
	if err != nil {
		return nil, err
	}
	if count {
		r.stats.IndexBlocksRead.Add(1)
	}
	m := &indexPart{}
	idxOff := int64(f.index.offset)
	var n int
	if m.index, _, n, err = expandBlock(ib, r.name, idxOff); err != nil {
		return nil, err
	}
	if uint64(n) != props.NumDataBlocks {
		return nil, keys.CorruptionError(r.name, idxOff, "index has %d entries, properties say %d data blocks", n, props.NumDataBlocks)
	}
	// The data blocks must tile [0, dataEnd) in index order.
	m.handles = make([]blockHandle, 0, n)
	var it blockIter
	if err := it.init(m.index, r.name, idxOff); err != nil {
		return nil, err
	}
	if it.dense && n > 0 {
		// Sorted keys between two that share a prefix share it too. The
		// last index key is left out: it may be a short key above the
		// table's last (see separator), sharing nothing with the others.
		it.First()
		first := bytes.Clone(keys.UserKey(it.key))
		if it.seekRestart(max(n-2, 0)) {
			m.common = first[:keys.SharedPrefixLen(first, keys.UserKey(it.key))]
		}
		m.prefixes = make([]uint64, 0, n)
	}
	next := uint64(0)
	for ok := it.First(); ok; ok = it.Next() {
		if m.prefixes != nil {
			m.prefixes = append(m.prefixes, m.prefixOf(keys.UserKey(it.key)))
		}
		h, ok := decodeHandle(it.val)
		if !ok {
			return nil, keys.CorruptionError(r.name, idxOff, "index entry %d: bad block handle", len(m.handles))
		}
		if h.offset != next || h.length > dataEnd || h.end() > dataEnd {
			return nil, keys.CorruptionError(r.name, idxOff, "index entry %d: block (%d, %d) does not follow the previous block (ending at %d) inside the data (ending at %d)",
				len(m.handles), h.offset, h.length, next, dataEnd)
		}
		next = h.end()
		m.handles = append(m.handles, h)
	}
	if it.err != nil {
		return nil, it.err
	}
	if next != dataEnd {
		return nil, keys.CorruptionError(r.name, idxOff, "data blocks end at %d, the footer says %d", next, dataEnd)
	}
	return m, nil
}

// index returns the table's decoded index: the reader's own, or the
// cache's, or (evicted from the cache) read again from the file, checked
// and put back in the cache.
func (r *Reader) index() (*indexPart, error) {
	if ix := r.heldIndex(); ix != nil {
		return ix, nil
	}
	r.loadMu.Lock()
	defer r.loadMu.Unlock()
	if ix := r.heldIndex(); ix != nil { // loaded meanwhile
		return ix, nil
	}
	ix, err := r.readIndex(r.meta.footer, &r.meta.props, r.meta.dataEnd, true)
	if err != nil {
		return nil, err
	}
	r.cache.setPart(r.fileNum, r.meta.footer.index.offset, ix, ix.memoryUsage(), prioNone)
	return ix, nil
}

// heldIndex returns the table's whole index if the reader or the cache
// holds it (a search of it then reads nothing), else nil. A reader without
// a cache always holds its own.
func (r *Reader) heldIndex() *indexPart {
	if r.ix != nil || r.cache == nil {
		return r.ix
	}
	if v, ok := r.cache.getPart(r.fileNum, r.meta.footer.index.offset); ok {
		return v.(*indexPart)
	}
	return nil
}

// pointIdx sets *p to the table's point index, from the reader or the
// cache, or made again from the index (read again if evicted too), and
// reports whether the index has one (see pointIndex). ix is the whole
// index when pointIdx had it in hand (the reader's own, or one it took
// from the cache or read), else nil: a Get whose key the point index
// cannot place uses it rather than reading the index again. A point index
// the cache holds in its own memory (see cachePointIndex) is held by ref
// until the caller releases it: *p must not be used after that.
func (r *Reader) pointIdx(p *pointIndex) (has bool, ix *indexPart, ref BlockRef, err error) {
	if r.ix != nil || r.noPoint.Load() {
		if r.pix == nil {
			return false, r.ix, BlockRef{}, nil
		}
		*p = *r.pix
		return true, r.ix, BlockRef{}, nil
	}
	if ref, ok := r.cachedPointIdx(p); ok {
		return true, nil, ref, nil
	}
	// The whole index, if the cache holds it, else read again but not
	// cached: Gets need only the point index.
	if v, ok := r.cache.getPart(r.fileNum, r.meta.footer.index.offset); ok {
		ix = v.(*indexPart)
	} else {
		r.loadMu.Lock()
		defer r.loadMu.Unlock()
		if ref, ok := r.cachedPointIdx(p); ok { // made meanwhile
			return true, nil, ref, nil
		}
		if ix, err = r.readIndex(r.meta.footer, &r.meta.props, r.meta.dataEnd, true); err != nil {
			return false, nil, BlockRef{}, err
		}
	}
	hp := newPointIndex(ix)
	if hp == nil { // Gets search the whole index: cache it
		r.noPoint.Store(true)
		r.cache.setPart(r.fileNum, r.meta.footer.index.offset, ix, ix.memoryUsage(), prioNone)
		return false, ix, BlockRef{}, nil
	}
	if *p, ref, err = r.cachePointIndex(hp); err != nil {
		return false, nil, BlockRef{}, err
	}
	return true, ix, ref, nil
}

// DropParts evicts the table's point index and whole index from the
// cache: for a table read once from end to end and then deleted, as a
// compaction reads its inputs (see Iterator.DropPartsOnClose). NewReader
// caches the point index of every table it opens, and a long compaction
// of many inputs would otherwise keep the parts of every input it has
// finished until it deletes them all. A read of the table afterwards makes
// them again (one read of the index block).
func (r *Reader) DropParts() {
	if r.cache == nil {
		return
	}
	r.cache.evict(r.fileNum, r.meta.footer.index.offset+1) // the point index (see cachedPointIdx)
	r.cache.evict(r.fileNum, r.meta.footer.index.offset)
}

// cachedPointIdx sets *p to the table's point index if the cache holds
// it: in its own memory, held by ref, or on the heap (see cachePointIndex).
func (r *Reader) cachedPointIdx(p *pointIndex) (ref BlockRef, ok bool) {
	off := r.meta.footer.index.offset + 1 // inside the index block: no other block starts there
	if ref, b, ok := r.cache.getMeta(r.fileNum, off); ok {
		*p = storedPointIndex(b)
		return ref, true
	}
	if v, ok := r.cache.getPart(r.fileNum, off); ok {
		*p = *v.(*pointIndex)
		return BlockRef{}, true
	}
	return BlockRef{}, false
}

// cachePointIndex caches p, the table's point index, and returns the form
// that the cache holds, with the reference that holds it. The cache keeps
// a point index in its own memory, outside the Go heap, as it keeps
// filters (setMetaFrom; the form is storedPointIndex's): on the heap the
// point indexes of every table a DB reads, some 12 bytes a data block,
// cost up to twice that with the collector's headroom. A point index the
// cache's memory cannot take (larger than a shard, or an empty one) is
// cached on the heap as a part.
func (r *Reader) cachePointIndex(p *pointIndex) (pointIndex, BlockRef, error) {
	off := r.meta.footer.index.offset + 1
	if len(p.ends) > 0 {
		ref, b, ok, err := r.cache.setMetaFrom(r.fileNum, off, p.storedLen(), p.store, prioPointIndex)
		if err != nil && !errors.Is(err, errUnaligned) {
			return pointIndex{}, BlockRef{}, err
		}
		if ok && err == nil {
			return storedPointIndex(b), ref, nil
		}
	}
	r.cache.setPart(r.fileNum, off, p, p.memoryUsage(), prioPointIndex)
	return *p, BlockRef{}, nil
}

// A point index in the cache's memory (see cachePointIndex), its words
// in the machine's byte order and read in place:
//
//	+----------+------------+----------------+-------------+-----------+
//	| n uint32 | len(common)| prefixes       | ends        | common    |
//	|          | uint32     | n x uint64     | n x uint32  |           |
//	+----------+------------+----------------+-------------+-----------+
//
// The cache's buffers start 8-byte aligned (its slab slots are multiples
// of 16 bytes in page-aligned slabs; a larger buffer is a mapping of its
// own); store refuses one that does not (errUnaligned).
func (p *pointIndex) storedLen() int { return 8 + 12*len(p.ends) + len(p.common) }

// errUnaligned is pointIndex.store's refusal of a buffer that does not
// start 8-byte aligned.
var errUnaligned = errors.New("sstable: cache buffer not 8-byte aligned")

// store writes p's cached form into b, of p.storedLen() bytes; p has at
// least one block.
func (p *pointIndex) store(b []byte) error {
	if uintptr(unsafe.Pointer(unsafe.SliceData(b)))%8 != 0 {
		return errUnaligned
	}
	n := len(p.ends)
	binary.NativeEndian.PutUint32(b, uint32(n))
	binary.NativeEndian.PutUint32(b[4:], uint32(len(p.common)))
	copy(unsafe.Slice((*uint64)(unsafe.Pointer(&b[8])), n), p.prefixes)
	copy(unsafe.Slice((*uint32)(unsafe.Pointer(&b[8+8*n])), n), p.ends)
	copy(b[8+12*n:], p.common)
	return nil
}

// storedPointIndex returns the point index whose cached form is b (as
// store wrote it), its slices aliasing b.
func storedPointIndex(b []byte) pointIndex {
	n := int(binary.NativeEndian.Uint32(b))
	c := int(binary.NativeEndian.Uint32(b[4:]))
	return pointIndex{
		prefixes: unsafe.Slice((*uint64)(unsafe.Pointer(&b[8])), n),
		ends:     unsafe.Slice((*uint32)(unsafe.Pointer(&b[8+8*n])), n),
		common:   b[8+12*n : 8+12*n+c : 8+12*n+c],
	}
}

// bloomFilter returns the table's filter (nil if it has none, or if it
// was evicted from the cache and is not read again yet), like index, and
// the reference that keeps it alive when it is the cache's (outside the Go
// heap, see Cache.setMetaFrom), to release once the filter is probed. A
// filter spares a read the data block of a key the table does not hold;
// read again, it costs filterReload data blocks' worth of bytes. So when
// the cache does not hold the filters of every table, an evicted filter is
// read again only after filterReload reads of the table went without it
// (reading the data blocks the index gives them): over those reads it costs
// about one data block a read, and when it is evicted again before it
// saved that much, the reads in between paid no more than that.
func (r *Reader) bloomFilter() (filterBlock, BlockRef, error) {
	if r.filter != nil || r.meta.footer.filter == (blockHandle{}) {
		return r.filter, BlockRef{}, nil
	}
	off := r.meta.footer.filter.offset
	if ref, b, ok := r.cache.getMeta(r.fileNum, off); ok {
		return storedFilter(b), ref, nil
	}
	if r.filterMisses.Add(1) < r.filterReload {
		r.stats.FilterBypasses.Add(1)
		return nil, BlockRef{}, nil
	}
	r.filterMisses.Store(0)
	r.loadMu.Lock()
	defer r.loadMu.Unlock()
	if ref, b, ok := r.cache.getMeta(r.fileNum, off); ok {
		return storedFilter(b), ref, nil
	}
	// Read straight into the cache's memory, with its trailer: the Go
	// heap never holds the block.
	h := r.meta.footer.filter
	ref, b, ok, err := r.cache.setMetaFrom(r.fileNum, off, int(h.length+blockTrailerLen), func(buf []byte) error {
		_, err := r.checkFilter(h, buf)
		return err
	}, prioFilter)
	if err != nil {
		return nil, BlockRef{}, err
	}
	if ok {
		r.stats.FilterBlocksRead.Add(1)
		return storedFilter(b), ref, nil
	}
	f, err := r.readFilter(r.meta.footer, true) // too large for the cache
	return f, BlockRef{}, err
}

// storedFilter is the filter block of its form in the cache: as stored,
// its trailer (checked when it was read) after it.
func storedFilter(b []byte) filterBlock { return filterBlock(b[:len(b)-blockTrailerLen]) }

// readRangeDels reads and checks the range deletion block of a format
// version 2 table: it lies between the index and the properties, and its
// tombstones are as many as the properties say. A version 1 table has none
// and must not name one.
func (r *Reader) readRangeDels(m *tableMeta) error {
	f, p := m.footer, m.props
	pOff := int64(f.props.offset)
	if f.version == formatVersion {
		if p.RangeDelSize != 0 || p.RangeDelOffset != 0 || p.NumRangeDeletions != 0 {
			return keys.CorruptionError(r.name, pOff, "format version %d table with range deletion properties", f.version)
		}
		return nil
	}
	if p.RangeDelSize < blockTrailerLen || p.RangeDelOffset != f.index.end() || p.RangeDelOffset+p.RangeDelSize != f.props.offset {
		return keys.CorruptionError(r.name, pOff, "range deletion block (%d, %d) does not lie between the index (ending at %d) and the properties (at %d)",
			p.RangeDelOffset, p.RangeDelSize, f.index.end(), f.props.offset)
	}
	h := blockHandle{p.RangeDelOffset, p.RangeDelSize - blockTrailerLen}
	b, err := r.readMetaBlock(h, "range deletion")
	if err != nil {
		return err
	}
	l, err := rangedel.Decode(b, r.name, int64(h.offset))
	if err != nil {
		return err
	}
	if uint64(l.Count()) != p.NumRangeDeletions || len(l) == 0 {
		return keys.CorruptionError(r.name, int64(h.offset), "range deletion block holds %d tombstones, properties say %d", l.Count(), p.NumRangeDeletions)
	}
	m.rangeDels = l
	return nil
}

// ApproxOffset returns about where in the file the entries of ukey start:
// the offset of the data block that would hold them, from the index in
// memory (the end of the data if every key is below ukey). It reads nothing.
func (r *Reader) ApproxOffset(ukey []byte) uint64 {
	ix, err := r.index()
	if err != nil {
		return 0
	}
	var it blockIter
	if err := it.init(ix.index, r.name, int64(r.meta.footer.index.offset)); err != nil {
		return 0
	}
	if !it.SeekGE(keys.SearchKey(nil, ukey, keys.MaxSeq)) {
		return r.meta.dataEnd
	}
	h, ok := decodeHandle(it.val)
	if !ok {
		return 0
	}
	return h.offset
}

// RangeDels returns the table's range tombstones, fragmented (nil if it has
// none). The list is immutable, in heap memory, and may be kept after the
// reader is closed.
func (r *Reader) RangeDels() rangedel.List { return r.meta.rangeDels }

// readAt reads exactly len(b) bytes at off; a short file is corruption.
func (r *Reader) readAt(b []byte, off int64) error { return r.readAtStats(b, off, r.stats) }

// readAtStats is readAt counting the bytes in st.
func (r *Reader) readAtStats(b []byte, off int64, st *Stats) error {
	n, err := r.r.ReadAt(b, off)
	st.BytesRead.Add(int64(n))
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return keys.CorruptionError(r.name, off+int64(n), "file ends %d bytes into a %d-byte read", n, len(b))
	}
	return fmt.Errorf("sstable: reading %s at offset %d: %w", r.name, off, err)
}

// readStored reads the block at h into buf (reused when large enough),
// verifies its checksum and returns the stored bytes and compression.
func (r *Reader) readStored(h blockHandle, buf []byte) ([]byte, Compression, []byte, error) {
	n := h.length + blockTrailerLen
	if h.length > uint64(r.size) || h.end() > uint64(r.size) {
		return nil, 0, buf, keys.CorruptionError(r.name, int64(h.offset), "block of %d bytes runs past the end of the file (%d)", h.length, r.size)
	}
	if uint64(cap(buf)) < n {
		buf = make([]byte, n)
	}
	b := buf[:n]
	if err := r.readAt(b, int64(h.offset)); err != nil {
		return nil, 0, buf, err
	}
	data, t := b[:h.length], b[h.length]
	stored := binary.LittleEndian.Uint32(b[h.length+1:])
	if got := blockChecksum(data, t); got != stored {
		return nil, 0, buf, keys.CorruptionError(r.name, int64(h.offset), "block checksum mismatch (stored %08x, computed %08x)", stored, got)
	}
	return data, Compression(t), buf, nil
}

// readMetaBlock reads an uncompressed meta block (index, filter,
// properties) into fresh memory.
func (r *Reader) readMetaBlock(h blockHandle, what string) ([]byte, error) {
	data, c, _, err := r.readStored(h, nil)
	if err != nil {
		return nil, err
	}
	if c != CompressionNone {
		return nil, keys.CorruptionError(r.name, int64(h.offset), "%s block has compression %v; meta blocks are stored uncompressed", what, c)
	}
	return data, nil
}

// bufPool recycles the read buffers of data blocks (their contents are
// decompressed or copied out, so nothing aliases them afterwards).
var bufPool = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledBuf is the largest buffer kept in bufPool.
const maxPooledBuf = 1 << 20

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte, s []byte) {
	if cap(s) > maxPooledBuf {
		return
	}
	*b = s[:0]
	bufPool.Put(b)
}

// readDataBlock reads, verifies and decompresses the data block at h,
// bypassing the cache, into memory of its own (the cache keeps it). maxLen
// bounds its uncompressed size. Data blocks stay in their on-disk form (the
// index, read once, is expanded): expanding one costs a pass over every
// entry on each cache miss and a larger block in the cache, and measured on
// the benchmark harness's random reads it cost more than the faster seeks
// in cached blocks gained (readrandom 251k -> 385k ops/s without it).
//
// The block is read with one positioned read (pread) of exactly its bytes,
// never through a mapping of the file: a page fault on a mapping brings
// the kernel's read-around (up to 128 KiB) into the page cache, and once
// the page cache is short that readahead is evicted before it is used, so a
// random read costs tens of blocks of disk traffic instead of one (see
// docs/DESIGN-memory.md). The read goes into a pooled buffer; the block the
// cache keeps is decompressed (or copied) from it.
//
// With dst set, the block is decoded into *dst (grown as needed) instead of
// memory of its own (the caller copies it into the cache, or a compaction
// iterator reuses *dst for its next block); with slot set, into a slot of
// the block cache's allocator if one can be had (see decodeStored).
func (r *Reader) readDataBlock(h blockHandle, maxLen uint64, st *Stats, dst *[]byte, slot *blockSlot) ([]byte, error) {
	if h.length > uint64(r.size) || h.end() > uint64(r.size) {
		return nil, keys.CorruptionError(r.name, int64(h.offset), "block of %d bytes runs past the end of the file (%d)", h.length, r.size)
	}
	rb := getBuf()
	n := h.length + blockTrailerLen
	buf := *rb
	if uint64(cap(buf)) < n {
		buf = make([]byte, n)
	}
	stored := buf[:n]
	err := r.readAtStats(stored, int64(h.offset), st)
	var block []byte
	if err == nil {
		st.DataBytesRead.Add(int64(n))
		block, err = r.decodeStored(h, stored, maxLen, dst, slot)
	}
	putBuf(rb, buf)
	return block, err
}

// decodeStored checks the stored bytes of the data block at h (its data
// and 5-byte trailer, as read from the file) and returns the block,
// decompressed or copied into memory of its own (the cache keeps it).
// maxLen bounds its uncompressed size. With dst set, the block goes into
// *dst (grown as needed) instead. With slot set, it goes into a slot of
// slot.alloc of its exact size if one can be had (slot.buf then holds it,
// and the caller owns it), else as without slot: a block missing from the
// cache is decoded once, straight into the memory the cache keeps.
func (r *Reader) decodeStored(h blockHandle, stored []byte, maxLen uint64, dst *[]byte, slot *blockSlot) ([]byte, error) {
	data, t := stored[:h.length], stored[h.length]
	if got, want := blockChecksum(data, t), binary.LittleEndian.Uint32(stored[h.length+1:]); got != want {
		return nil, keys.CorruptionError(r.name, int64(h.offset), "block checksum mismatch (stored %08x, computed %08x)", want, got)
	}
	c := Compression(t)
	var block, buf []byte
	if dst != nil {
		buf = (*dst)[:0]
	}
	var slotBytes []byte
	if slot != nil {
		if n, ok := decodedLen(data, c, maxLen); ok && n > 0 {
			if b, err := slot.alloc.Alloc(n); err == nil {
				slot.buf, slotBytes = b, b.Bytes()
				buf = slotBytes[:0:n]
			}
		}
	}
	if c == CompressionNone {
		block = append(buf, data...)
	} else {
		var err error
		if block, err = decompressBlock(buf, data, c, maxLen, r.name, int64(h.offset)); err != nil {
			slot.drop()
			return nil, err
		}
	}
	if slotBytes != nil && (len(block) != len(slotBytes) || len(block) == 0 || &block[0] != &slotBytes[0]) {
		slot.drop() // decoded elsewhere (not with a size its header told right)
	}
	if dst != nil && slot.empty() {
		*dst = block
	}
	// The flag of the in-memory expanded form is never set in a file. The
	// rest of the block's frame is checked by the init every reader of the
	// block calls.
	if n := len(block); n >= 4 && binary.LittleEndian.Uint32(block[n-4:])&denseFlag != 0 {
		err := keys.CorruptionError(r.name, int64(h.offset), "block entry at %d: restart count %08x has the in-memory flag set", n-4, binary.LittleEndian.Uint32(block[n-4:]))
		slot.drop() // after the message read the block
		return nil, err
	}
	return block, nil
}

// blockSlot is memory of the block cache's allocator that decodeStored
// decodes a block into (see there).
type blockSlot struct {
	alloc *slab.Allocator
	buf   slab.Buf // the slot holding the block; zero if it went elsewhere
}

// empty reports whether the slot holds no block (true for a nil slot).
func (s *blockSlot) empty() bool { return s == nil || s.buf.Bytes() == nil }

// drop frees the slot's memory, if it holds any.
func (s *blockSlot) drop() {
	if !s.empty() {
		s.alloc.Free(s.buf)
		s.buf = slab.Buf{}
	}
}

// loadDataBlock returns the data block at h, from the cache if it is there,
// and ref, which holds it until released (the zero BlockRef for a block on
// the Go heap). A block read from the file is added to the cache when fill
// is true (one too large for the cache stays on the heap). With ra non-nil
// (an iterator's), a block the readahead buffer holds is taken from it,
// and a miss may read the blocks after h with it (see readahead). A
// compaction iterator's work counts in the reader's CompactionStats, and
// its cache lookups neither count as the cache's hits and misses nor mark
// the block as used: the table is read once, to be deleted. When fill is
// false and into is not nil, a block read from the file is decoded into
// *into (grown as needed) and aliases it.
func (r *Reader) loadDataBlock(h blockHandle, fill bool, ra *readahead, into *[]byte) ([]byte, BlockRef, error) {
	st := r.stats
	compaction := ra != nil && ra.compaction
	if compaction {
		st = r.cstats
	}
	if r.cache != nil {
		if ref, b, ok := r.cache.acquire(r.fileNum, h.offset, compaction); ok {
			st.BlockCacheHits.Add(1)
			if ra != nil {
				ra.note(h)
			}
			return b, ref, nil
		}
		st.BlockCacheMisses.Add(1)
	}
	fill = fill && r.cache != nil
	var dst *[]byte
	var slot blockSlot
	var slotp *blockSlot
	if fill {
		dst = getBuf() // decoded here, then copied into the cache, if no slot could be had
		slot.alloc, slotp = r.cache.alloc, &slot
	} else if into != nil {
		dst = into
	}
	var b []byte
	var err error
	if ra != nil {
		b, err = r.readAhead(h, ra, st, dst, slotp)
	} else {
		b, err = r.readDataBlock(h, r.meta.props.MaxBlockSize, st, dst, slotp)
	}
	var ref BlockRef
	if err == nil {
		st.DataBlocksRead.Add(1)
		if fill {
			var ok bool
			if !slot.empty() {
				if ref, ok = r.cache.insertSlot(r.fileNum, h.offset, slot.buf); !ok {
					b = bytes.Clone(b)
					slot.drop()
				}
			} else {
				var cached []byte
				if ref, cached, ok = r.cache.setBlock(r.fileNum, h.offset, b); ok {
					b = cached
				} else {
					b = bytes.Clone(b)
				}
			}
		}
	}
	if fill {
		putBuf(dst, *dst)
	}
	if err != nil {
		return nil, BlockRef{}, err
	}
	return b, ref, nil
}

// loadDataBlockInto returns the data block at h from the cache if it is
// there (held by ref), and otherwise reads, verifies and decompresses it
// into *scratch (grown as needed, from the same pool as the read buffers)
// without adding it to the cache. The block then aliases *scratch until
// the caller reuses or returns it.
func (r *Reader) loadDataBlockInto(h blockHandle, scratch *[]byte) ([]byte, BlockRef, error) {
	if r.cache != nil {
		if ref, b, ok := r.cache.acquire(r.fileNum, h.offset, false); ok {
			r.stats.BlockCacheHits.Add(1)
			return b, ref, nil
		}
		r.stats.BlockCacheMisses.Add(1)
	}
	stored, c, buf, err := r.readStored(h, *scratch)
	*scratch = buf
	if err != nil {
		return nil, BlockRef{}, err
	}
	r.stats.DataBytesRead.Add(int64(h.length + blockTrailerLen))
	block := stored
	if c != CompressionNone {
		// Decompress into a second pooled buffer, which scratch then
		// holds; the stored bytes' buffer goes back to the pool.
		out := getBuf()
		block, err = decompressBlock((*out)[:0], stored, c, r.meta.props.MaxBlockSize, r.name, int64(h.offset))
		putBuf(out, buf)
		*scratch = block // nil on error: buf is the pool's now
		if err != nil {
			return nil, BlockRef{}, err
		}
	}
	// As in readDataBlock: the in-memory flag is never set in a file.
	if n := len(block); n >= 4 && binary.LittleEndian.Uint32(block[n-4:])&denseFlag != 0 {
		return nil, BlockRef{}, keys.CorruptionError(r.name, int64(h.offset), "block entry at %d: restart count %08x has the in-memory flag set", n-4, binary.LittleEndian.Uint32(block[n-4:]))
	}
	r.stats.DataBlocksRead.Add(1)
	return block, BlockRef{}, nil
}

// readerFixed is what an open reader holds whatever its table: the Reader
// with its footer and properties, the open file and the table cache's
// entry. Measured at about 1.3 KiB a reader on 64-bit Linux
// (TestReaderMemoryIsCharged); rounded up.
const readerFixed = 1536

// MemoryUsage returns the bytes the reader holds for its life: a fixed
// part (readerFixed), the properties' keys, and the index (expanded, with
// its block handles) and filter when the reader keeps them itself rather
// than the block cache (see Reader).
func (r *Reader) MemoryUsage() int64 {
	n := readerFixed + int64(len(r.meta.props.SmallestKey)+len(r.meta.props.LargestKey))
	if r.ix != nil {
		n += r.ix.memoryUsage()
	}
	if r.pix != nil {
		n += 4 * int64(cap(r.pix.ends)) // its prefixes are ix's
	}
	return n + filterMemory(r.filter)
}

// Properties returns the table's properties.
func (r *Reader) Properties() Properties { return r.meta.props }

// FileNum returns the file number the reader was opened with.
func (r *Reader) FileNum() uint64 { return r.fileNum }

// Name returns the name the reader uses in error messages.
func (r *Reader) Name() string { return r.name }

// probe tests the filter and counts the outcome. An error re-reading an
// evicted filter is returned with true.
func (r *Reader) probe(b []byte) (bool, error) {
	f, ref, err := r.bloomFilter()
	if f == nil {
		return true, err
	}
	pass := f.Test(b)
	ref.Release()
	if pass {
		r.stats.FilterPasses.Add(1)
		return true, nil
	}
	r.stats.FilterSkips.Add(1)
	return false, nil
}

// MayContain reports whether the filter admits ukey (true if no filter,
// or if an evicted filter could not be read again: the read of the table
// then reports the error). False means no version of ukey is in the table.
func (r *Reader) MayContain(ukey []byte) bool {
	ok, _ := r.probe(ukey)
	return ok
}

// MayContainPrefix reports whether the filter admits the prefix (true if no
// filter, or as MayContain). False means no user key of the table has a
// prefix, as computed by the writer's Prefix function, equal to prefix.
func (r *Reader) MayContainPrefix(prefix []byte) bool {
	ok, _ := r.probe(prefix)
	return ok
}

// Get probes the filter for ukey first (counting skip/pass in Stats) and,
// only if it passes, seeks to the first entry >= searchKey (an internal key,
// built with keys.SearchKey) and returns it if its USER key equals ukey.
// found=false if absent. ikey and value are copies in fresh memory (the
// cached block they come from may be freed once evicted), so a Get that
// finds its key allocates; LookupRef does not. An entry that cannot be
// judged (keys.ValidEntry) is corruption.
func (r *Reader) Get(ukey, searchKey []byte) (ikey, value []byte, found bool, err error) {
	if ok, err := r.admits(ukey); !ok {
		return nil, nil, false, err
	}
	var it blockIter
	found, ref, err := r.seek(&it, searchKey, ukey, nil)
	if found {
		kv := make([]byte, len(it.key)+len(it.val))
		ikey, value = kv[:len(it.key):len(it.key)], kv[len(it.key):]
		copy(ikey, it.key)
		copy(value, it.val)
	}
	ref.Release()
	return ikey, value, found, err
}

// Lookup is Get returning the entry's trailer (sequence number and kind, see
// keys.Trailer) instead of its key, which a data block may store only in
// part. value is a copy in fresh memory, as Get's.
func (r *Reader) Lookup(ukey, searchKey []byte) (trailer uint64, value []byte, found bool, err error) {
	trailer, value, ref, found, err := r.LookupRef(ukey, searchKey)
	if found {
		value = append(make([]byte, 0, len(value)), value...)
	}
	ref.Release()
	return trailer, value, found, err
}

// LookupRef is Lookup whose value aliases the data block, held by ref
// until the caller releases it (value must not be used afterwards; ref is
// the zero BlockRef when nothing is found). It rebuilds the key in a
// pooled buffer, so it never allocates when the block is in the cache.
func (r *Reader) LookupRef(ukey, searchKey []byte) (trailer uint64, value []byte, ref BlockRef, found bool, err error) {
	if ok, err := r.admits(ukey); !ok {
		return 0, nil, BlockRef{}, false, err // the usual answer for absent keys: no pool round trip
	}
	it := lookupIters.Get().(*blockIter)
	if found, ref, err = r.seek(it, searchKey, ukey, nil); found {
		trailer, value = binary.LittleEndian.Uint64(it.key[len(it.key)-keys.TrailerLen:]), it.val
	} else {
		ref.Release()
		ref = BlockRef{}
	}
	it.data, it.key, it.val, it.err = nil, nil, nil, nil // keep only keyBuf
	lookupIters.Put(it)
	return trailer, value, ref, found, err
}

// LookupAppend is Lookup that appends the entry's value to dst and returns
// the extended slice as value (dst unchanged when the key is not found), so
// that nothing it returns aliases block memory. With fill false, a data
// block missing from the cache is read (and decompressed) into pooled
// memory and not added to the cache: a read of a block that will not be
// read again then allocates nothing beyond dst's growth and evicts nothing.
// A block already in the cache is used either way.
func (r *Reader) LookupAppend(dst, ukey, searchKey []byte, fill bool) (trailer uint64, value []byte, found bool, err error) {
	if ok, err := r.admits(ukey); !ok {
		return 0, dst, false, err
	}
	var scratch *[]byte
	if !fill {
		scratch = getBuf()
	}
	it := lookupIters.Get().(*blockIter)
	value = dst
	found, ref, err := r.seek(it, searchKey, ukey, scratch)
	if found {
		trailer = binary.LittleEndian.Uint64(it.key[len(it.key)-keys.TrailerLen:])
		value = append(dst, it.val...)
	}
	ref.Release()
	it.data, it.key, it.val, it.err = nil, nil, nil, nil // keep only keyBuf
	lookupIters.Put(it)
	if scratch != nil {
		putBuf(scratch, *scratch)
	}
	return trailer, value, found, err
}

// lookupIters recycles Lookup's block iterators with their key buffers.
var lookupIters = sync.Pool{New: func() any { return new(blockIter) }}

// admits reports whether a Get or Lookup of ukey has to read the table: the
// reader is open and the filter admits the key.
func (r *Reader) admits(ukey []byte) (bool, error) {
	if r.closed.Load() {
		return false, errReaderClosed
	}
	return r.probe(ukey)
}

// seek positions it for Get and Lookup, after admits. With scratch nil the
// data block comes from the cache or is added to it (loadDataBlock); with
// scratch set, a block missing from the cache is read into *scratch
// (loadDataBlockInto), which it then aliases. it aliases the block, which
// ref holds until the caller releases it (found or not).
func (r *Reader) seek(it *blockIter, searchKey, ukey []byte, scratch *[]byte) (found bool, ref BlockRef, err error) {
	var h blockHandle
	var pv pointIndex
	has, ix, pref, err := r.pointIdx(&pv)
	if err != nil {
		return false, ref, err
	}
	defer pref.Release()
	if has {
		p := &pv
		i, tie := p.search(searchKey)
		if !tie {
			if i == len(p.ends) {
				return false, ref, nil
			}
			return r.seekBlock(it, p.handle(i), searchKey, ukey, scratch)
		}
		if ix == nil {
			if ix = r.heldIndex(); ix == nil && p.tied(i) <= maxTieWalk {
				return r.seekTie(it, p, i, searchKey, ukey, scratch)
			}
		}
	}
	if ix == nil {
		if ix, err = r.index(); err != nil {
			return false, ref, err
		}
	}
	if err := it.init(ix.index, r.name, int64(r.meta.footer.index.offset)); err != nil {
		return false, ref, err
	}
	if ix.prefixes != nil {
		i := ix.indexSearch(it, searchKey)
		if i < 0 || i == len(ix.handles) {
			return false, ref, it.err
		}
		h = ix.handles[i]
	} else {
		if !it.SeekGE(searchKey) {
			return false, ref, it.err
		}
		var ok bool
		if h, ok = decodeHandle(it.val); !ok {
			return false, ref, keys.CorruptionError(r.name, int64(r.meta.footer.index.offset), "bad block handle")
		}
	}
	return r.seekBlock(it, h, searchKey, ukey, scratch)
}

// maxTieWalk is the most data blocks whose index keys share a prefix that
// a seek tied among them walks (seekTie, Iterator.seekGETie) rather than
// search the whole index. Keys that differ within their first 8 bytes past
// the table's common prefix (fixed-width decimal ones, say) tie with one or
// two blocks; keys that share longer prefixes tie with runs of blocks, as
// many as the table holds, and a walk would read them all.
const maxTieWalk = 2

// tied returns how many index entries from i on share entry i's prefix.
func (p *pointIndex) tied(i int) int {
	n := len(p.prefixes)
	if i >= n {
		return 0
	}
	v := p.prefixes[i]
	return sort.Search(n-i, func(j int) bool { return p.prefixes[i+j] != v })
}

// seekTie is the end of seek for a target the point index ties at block
// i (see pointIndex.search), at most maxTieWalk blocks sharing its prefix,
// when the cache does not hold the whole index: rather than read the
// index block again (as large as tens of data blocks, for keys that often
// tie, such as fixed-width decimal ones), it seeks the data blocks from i
// on, until one holds a key >= searchKey. Block i is the first whose index
// key can be >= searchKey; the block after the first whose index key's
// prefix is above the target's starts above the target, so the walk ends
// there at the latest: two blocks past the last that ties.
func (r *Reader) seekTie(it *blockIter, p *pointIndex, i int, searchKey, ukey []byte, scratch *[]byte) (found bool, ref BlockRef, err error) {
	for ; i < len(p.ends); i++ {
		found, ref, err = r.seekBlock(it, p.handle(i), searchKey, ukey, scratch)
		if found || err != nil || it.valid {
			return found, ref, err
		}
		ref.Release()
	}
	return false, BlockRef{}, nil
}

// seekBlock is the end of seek, once the index gave the data block h.
func (r *Reader) seekBlock(it *blockIter, h blockHandle, searchKey, ukey []byte, scratch *[]byte) (found bool, ref BlockRef, err error) {
	var block []byte
	if scratch == nil {
		block, ref, err = r.loadDataBlock(h, true, nil, nil)
	} else {
		block, ref, err = r.loadDataBlockInto(h, scratch)
	}
	if err != nil {
		return false, ref, err
	}
	if err := it.init(block, r.name, int64(h.offset)); err != nil {
		return false, ref, err
	}
	// If every key of the block is < searchKey, the table holds no version
	// of ukey: the index key is then either the block's last key (which
	// would be >= searchKey) or a separator whose user key is below every
	// user key of the next block (see separator).
	if !it.SeekGE(searchKey) || !equalUserKey(it.key, ukey) {
		return false, ref, it.err
	}
	if !keys.ValidEntry(it.key, it.val) {
		return false, ref, keys.EntryError(r.name, int64(h.offset), it.key, it.val)
	}
	return true, ref, nil
}

// keyPrefix returns the first 8 bytes of ukey as a big-endian number,
// zero-padded: a ukey that sorts before another never has a larger prefix.
func keyPrefix(ukey []byte) uint64 {
	if len(ukey) >= 8 {
		return binary.BigEndian.Uint64(ukey)
	}
	var b [8]byte
	copy(b[:], ukey)
	return binary.BigEndian.Uint64(b[:])
}

// prefixOf returns the 8 bytes of ukey after m.common, as a number, or
// the largest number if ukey does not start with m.common and sorts above
// it (above every key that does): an order-keeping summary of the user
// keys of the index (see indexSearch).
func (m *indexPart) prefixOf(ukey []byte) uint64 { return prefixOf(m.common, ukey) }

// prefixOf is indexPart.prefixOf with the common prefix given.
func prefixOf(common, ukey []byte) uint64 {
	if !bytes.HasPrefix(ukey, common) {
		return math.MaxUint64
	}
	return keyPrefix(ukey[len(common):])
}

// indexSearch returns the number of the first index entry whose key is >=
// target (len(handles) if none), or -1 with it.err set if the index is
// damaged. it must be initialized over the expanded index (m.prefixes
// non-nil); it is left at no particular entry. Every index user key but
// perhaps the last starts with m.common, and prefixes holds what prefixOf
// makes of each: entries whose prefix is below target's hold smaller keys
// and those whose prefix is above hold larger ones, so only entries sharing
// target's prefix are compared whole (usually none or one).
func (m *indexPart) indexSearch(it *blockIter, target []byte) int {
	p := m.prefixes
	ut := keys.UserKey(target)
	if !bytes.HasPrefix(ut, m.common) && bytes.Compare(ut, m.common) < 0 {
		return 0
	}
	tp := m.prefixOf(ut)
	lo, hi := 0, len(p)
	for lo < hi { // first entry whose prefix is >= tp
		h := int(uint(lo+hi) >> 1)
		if p[h] < tp {
			lo = h + 1
		} else {
			hi = h
		}
	}
	end := lo
	if end < len(p) && p[end] == tp {
		for e := len(p); end < e; { // first entry whose prefix is > tp
			h := int(uint(end+e) >> 1)
			if p[h] <= tp {
				end = h + 1
			} else {
				e = h
			}
		}
	}
	for hi = end; lo < hi; { // first entry of the run sharing tp whose key is >= target
		h := int(uint(lo+hi) >> 1)
		if !it.seekRestart(h) {
			return -1
		}
		if keys.Compare(it.key, target) < 0 {
			lo = h + 1
		} else {
			hi = h
		}
	}
	return lo
}

// BlockKind names the kind of a block in Layout.
type BlockKind uint8

// The kinds of blocks in a table.
const (
	BlockData BlockKind = iota
	BlockFilter
	BlockIndex
	BlockProperties
	BlockFooter
	BlockRangeDel
)

// String returns "data", "filter", "index", "properties" or "footer".
func (k BlockKind) String() string {
	switch k {
	case BlockData:
		return "data"
	case BlockFilter:
		return "filter"
	case BlockIndex:
		return "index"
	case BlockProperties:
		return "properties"
	case BlockFooter:
		return "footer"
	case BlockRangeDel:
		return "range-del"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// BlockInfo describes one block of a table for dumping. Length excludes the
// 5-byte block trailer (the footer has none).
type BlockInfo struct {
	Kind        BlockKind
	Offset      uint64
	Length      uint64
	Compression Compression // read from the block trailer; 255 if unreadable
}

// compressionUnknown marks a block whose trailer could not be read.
const compressionUnknown Compression = 255

// Layout returns, for dumping, every block's kind, offset, length and
// compression, in file order.
func (r *Reader) Layout() []BlockInfo {
	var out []BlockInfo
	var handles []blockHandle
	if ix, err := r.index(); err == nil {
		handles = ix.handles
	}
	for _, h := range handles {
		c := compressionUnknown
		var t [1]byte
		if n, _ := r.r.ReadAt(t[:], int64(h.offset+h.length)); n == 1 {
			c = Compression(t[0])
		}
		out = append(out, BlockInfo{BlockData, h.offset, h.length, c})
	}
	f := r.meta.footer
	if f.filter != (blockHandle{}) {
		out = append(out, BlockInfo{BlockFilter, f.filter.offset, f.filter.length, CompressionNone})
	}
	out = append(out, BlockInfo{BlockIndex, f.index.offset, f.index.length, CompressionNone})
	if p := r.meta.props; p.RangeDelSize != 0 {
		out = append(out, BlockInfo{BlockRangeDel, p.RangeDelOffset, p.RangeDelSize - blockTrailerLen, CompressionNone})
	}
	out = append(out,
		BlockInfo{BlockProperties, f.props.offset, f.props.length, CompressionNone},
		BlockInfo{BlockFooter, uint64(r.size - footerLen), footerLen, CompressionNone})
	return out
}

// Close closes the underlying io.ReaderAt if it is an io.Closer. A second
// Close returns an error.
func (r *Reader) Close() error {
	if r.closed.Swap(true) {
		return errReaderClosed
	}
	if r.charged != 0 {
		r.cache.Reserve(-r.charged)
	}
	if c, ok := r.r.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Verify reads every block from the file (bypassing the cache), checks every
// checksum, decodes every entry and checks key order, the index separators,
// the filter and the properties. It returns a corruption error naming the
// file and offset at the first problem.
func (r *Reader) Verify() error {
	if r.closed.Load() {
		return errReaderClosed
	}
	m, err := r.readMeta(false, false, true)
	if err != nil {
		return err
	}
	// A reader trusts what it read at open; the file must still say that.
	ix, err := r.index()
	if err != nil {
		return err
	}
	if len(m.index) != len(ix.index) || string(m.index) != string(ix.index) {
		return keys.CorruptionError(r.name, int64(m.footer.index.offset), "index block changed since the table was opened")
	}
	var idx, blk blockIter
	if err := idx.init(m.index, r.name, int64(m.footer.index.offset)); err != nil {
		return err
	}
	var prevKey, prevSep []byte
	var entries uint64
	var first, last []byte
	i := 0
	for ok := idx.First(); ok; ok = idx.Next() {
		h := m.handles[i]
		i++
		sep := idx.key
		block, err := r.readDataBlock(h, m.props.MaxBlockSize, r.stats, nil, nil)
		if err != nil {
			return err
		}
		off := int64(h.offset)
		if err := blk.init(block, r.name, off); err != nil {
			return err
		}
		n := 0
		for ok := blk.First(); ok; ok = blk.Next() {
			k := blk.key
			if !keys.ValidEntry(k, blk.val) {
				return keys.CorruptionError(r.name, off, "entry %d: %s", n, keys.EntryProblem(k, blk.val))
			}
			p, _ := keys.Parse(k)
			if prevKey != nil && keys.Compare(prevKey, k) >= 0 {
				return keys.CorruptionError(r.name, off, "entry %d: key %s not after the previous block's last key %s", n, keys.Format(k), keys.Format(prevKey))
			}
			if prevSep != nil && keys.Compare(prevSep, k) >= 0 {
				return keys.CorruptionError(r.name, off, "entry %d: key %s not after the previous index key", n, keys.Format(k))
			}
			if keys.Compare(k, sep) > 0 {
				return keys.CorruptionError(r.name, off, "entry %d: key %s after its index key %s", n, keys.Format(k), keys.Format(sep))
			}
			// Prefixes are not checked: the reader's Prefix function may
			// differ from the one the table was written with.
			if m.filter != nil && !m.filter.Test(p.UserKey) {
				return keys.CorruptionError(r.name, int64(m.footer.filter.offset), "filter does not admit key %s", keys.Format(k))
			}
			if first == nil {
				first = append([]byte(nil), k...)
			}
			// k may live in the iterator's key buffer: keep a copy.
			prevKey = append(prevKey[:0], k...)
			n++
		}
		if blk.err != nil {
			return blk.err
		}
		if n == 0 {
			return keys.CorruptionError(r.name, off, "empty data block")
		}
		last = prevKey
		entries += uint64(n)
		prevSep = sep
	}
	if idx.err != nil {
		return idx.err
	}
	pOff := int64(m.footer.props.offset)
	switch {
	case entries != m.props.NumEntries:
		return keys.CorruptionError(r.name, pOff, "table has %d entries, properties say %d", entries, m.props.NumEntries)
	case string(first) != string(m.props.SmallestKey):
		return keys.CorruptionError(r.name, pOff, "smallest key %x, properties say %x", first, m.props.SmallestKey)
	case string(last) != string(m.props.LargestKey):
		return keys.CorruptionError(r.name, pOff, "largest key %x, properties say %x", last, m.props.LargestKey)
	}
	return nil
}

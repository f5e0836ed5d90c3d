package sstable

import (
	"sort"

	"github.com/stratadb/strata/internal/slab"
	"github.com/stratadb/strata/keys"
)

// Readahead sizes. An iterator that reads a table's data blocks in file
// order reads the blocks after the one it misses with the same positioned
// read, up to the current readahead size: one system call brings many
// blocks. A compaction reads every block of its inputs in order, so its
// iterators read ahead compactionReadahead from the first miss. Any other
// iterator starts reading ahead after readaheadAfter consecutive blocks
// read in order, with minReadahead, doubled at each readahead up to
// maxReadahead. The wait keeps short scans (a seek and up to a few hundred
// entries: four blocks of 4 KiB hold about 130 entries of 100 bytes) to
// exactly the blocks they use: when the data is larger than memory, bytes
// read ahead and not used are disk reads wasted and page cache taken.
//
// A compaction's span is smaller than other iterators' largest: its
// buffers are memory the DB holds (an L0 compaction of a dozen sublevels
// holds a dozen), while its reads are sequential, so the kernel's own
// readahead keeps the disk busy whatever the span. Measured in a 20M-key
// settle (an L0 compaction of 13 sublevels) under 1 GiB and 512 MiB
// memory limits: 64 KiB spans settled as fast as 256 KiB ones, with 2.4
// MiB less memory at the peak.
const (
	readaheadAfter      = 4
	minReadahead        = 32 << 10
	maxReadahead        = 256 << 10
	compactionReadahead = 64 << 10
)

// readahead is an iterator's record of its block reads and the file bytes
// its last readahead brought: buf holds the file's bytes [off,
// off+len(buf)). It belongs to the iterator's goroutine; the iterator drops
// it on Close, so that a closed, recycled iterator holds no buffer.
type readahead struct {
	buf        []byte
	off        uint64
	next       uint64 // offset just past the last block the iterator loaded
	sequential int    // blocks loaded in a row, each starting at the previous one's end
	size       int    // bytes the next readahead reads (0: not reading ahead yet)
	compaction bool
	// mem is buf's memory when it came from a block cache's allocator
	// (alloc): a compaction iterator's buffer (see grow).
	mem   slab.Buf
	alloc *slab.Allocator
}

// grow gives ra an empty buffer of n bytes in place of the one it has. A
// compaction iterator of a reader with a block cache takes it from the
// cache's allocator, outside the Go heap: every input of every running
// compaction holds one (a share of the compaction's readahead budget, 1
// to 4 MiB in all), which on the heap the collector's headroom doubled
// (in a 20M-key settle they were most of the live heap). It goes back
// with release; the cache charges it to nothing (it counts in OffHeap
// only). Other iterators' buffers stay on the heap, for the collector to
// reclaim whenever they are dropped.
func (ra *readahead) grow(c *Cache, n int) {
	ra.release()
	if ra.compaction && c != nil {
		if b, err := c.alloc.Alloc(n); err == nil {
			ra.mem, ra.alloc, ra.buf = b, c.alloc, b.Bytes()[:0]
			return
		}
	}
	ra.buf = make([]byte, 0, n)
}

// release drops ra's buffer, giving it back to the cache's allocator if
// it came from there. Nothing may use the buffer's bytes afterwards: the
// blocks decoded from it were copied out (decodeStored).
func (ra *readahead) release() {
	if ra.alloc != nil {
		ra.alloc.Free(ra.mem)
	}
	ra.buf, ra.mem, ra.alloc = nil, slab.Buf{}, nil
}

// SetReadahead sets the bytes a compaction iterator (NewCompactionIter,
// ResetIter with compaction true) reads with each positioned read, at most
// compactionReadahead; below minReadahead it reads one block at a time. A
// compaction with many inputs gives each a share of its readahead budget,
// so that what it holds stays bounded whatever the number of inputs.
// Other iterators ignore it.
func (it *Iterator) SetReadahead(n int) {
	if !it.ra.compaction {
		return
	}
	if n < minReadahead {
		n = 0
	}
	it.ra.size = min(n, compactionReadahead)
}

// CompactionReadahead is the most a compaction iterator reads with one
// positioned read (see SetReadahead).
const CompactionReadahead = compactionReadahead

func (ra *readahead) init(compaction bool) {
	*ra = readahead{compaction: compaction}
	if compaction {
		ra.size = compactionReadahead
	}
}

// note records that the iterator loaded the block at h (from the cache or
// the file).
func (ra *readahead) note(h blockHandle) {
	if h.offset == ra.next && ra.next != 0 {
		ra.sequential++
	} else {
		ra.sequential = 0
	}
	ra.next = h.end()
}

// holds returns the stored bytes of the block at h if buf holds them all.
func (ra *readahead) holds(h blockHandle) ([]byte, bool) {
	if h.offset < ra.off || h.end() > ra.off+uint64(len(ra.buf)) {
		return nil, false
	}
	return ra.buf[h.offset-ra.off : h.end()-ra.off], true
}

// readAhead returns the data block at h, which the cache does not hold,
// for an iterator: from its readahead buffer if that holds it, else from
// the file, reading the blocks after it too when the iterator reads in
// order (see the readahead sizes). The reads count in st. dst is as
// readDataBlock's.
func (r *Reader) readAhead(h blockHandle, ra *readahead, st *Stats, dst *[]byte, slot *blockSlot) ([]byte, error) {
	ra.note(h)
	if stored, ok := ra.holds(h); ok {
		return r.decodeStored(h, stored, r.meta.props.MaxBlockSize, dst, slot)
	}
	if ra.compaction && ra.size == 0 {
		return r.readDataBlock(h, r.meta.props.MaxBlockSize, st, dst, slot)
	}
	if !ra.compaction {
		if ra.sequential < readaheadAfter {
			return r.readDataBlock(h, r.meta.props.MaxBlockSize, st, dst, slot)
		}
		if ra.size == 0 {
			ra.size = minReadahead
		} else {
			ra.size = min(2*ra.size, maxReadahead)
		}
	}
	// The span: h's block and the blocks after it that fit in ra.size,
	// whole blocks only.
	// The block ends, from the point index if there is one (the whole
	// index may not be in the cache).
	var ends func(i int) uint64
	var n int
	var p pointIndex
	if has, _, ref, err := r.pointIdx(&p); err != nil {
		return nil, err
	} else if has {
		defer ref.Release()
		n, ends = len(p.ends), func(i int) uint64 { return uint64(p.ends[i]) }
	} else {
		ix, err := r.index()
		if err != nil {
			return nil, err
		}
		n, ends = len(ix.handles), func(i int) uint64 { return ix.handles[i].end() }
	}
	i := sort.Search(n, func(i int) bool { return ends(i) > h.offset })
	if i == n || ends(i) != h.end() || (i > 0 && ends(i-1) != h.offset) || (i == 0 && h.offset != 0) {
		return nil, keys.CorruptionError(r.name, int64(h.offset), "block (%d, %d) is not one the index lists", h.offset, h.length)
	}
	end := h.end()
	for j := i + 1; j < n && ends(j)-h.offset <= uint64(ra.size); j++ {
		end = ends(j)
	}
	size := int(end - h.offset)
	if end == h.end() {
		return r.readDataBlock(h, r.meta.props.MaxBlockSize, st, dst, slot) // one block: no buffer needed
	}
	if cap(ra.buf) < size {
		ra.grow(r.cache, max(size, ra.size))
	}
	ra.buf, ra.off = ra.buf[:size], h.offset
	if err := r.readAtStats(ra.buf, int64(h.offset), st); err != nil {
		ra.buf = ra.buf[:0]
		return nil, err
	}
	st.Readaheads.Add(1)
	st.DataBytesRead.Add(int64(size))
	stored, _ := ra.holds(h)
	return r.decodeStored(h, stored, r.meta.props.MaxBlockSize, dst, slot)
}

package lsm

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"

	"github.com/stratadb/strata/wal"
)

// Reading WAL values ahead.
//
// An iterator over a table or memtable whose values stay in the WAL
// (walRefIter) reads them in the order they were logged when its keys were
// logged in key order, as a Raft log's are: a scan, or a Raft leader
// sending a follower the entries it lacks. Read one by one, each value
// costs a positioned read of the segment; read through the block cache,
// a 32 KiB window a read, each window a cache slot filled and another
// evicted, for values a scan reads once. So once an iterator has read
// walReadaheadAfter values in a row, each starting at most walReadaheadGap
// bytes after the previous one's end, it reads the segment from the next
// value on into a buffer of its own, walReadaheadMin bytes first and twice
// as many each time after, up to walReadaheadMax, and takes the values
// that follow from there. A value read out of order resets it. Compaction
// iterators do not read ahead: their buffers would add to what a
// compaction holds beyond its readahead budget (compactionReadaheadBudget).
const (
	walReadaheadAfter = 4
	walReadaheadGap   = 4 << 10 // the keys and record headers between two values
	walReadaheadMin   = 32 << 10
	walReadaheadMax   = 256 << 10
)

// walReadaheadBufs recycles readahead buffers (of walReadaheadMax bytes)
// between iterators: a Raft store reopens its iterators every so many
// entries, and each would otherwise allocate its windows again.
var walReadaheadBufs = sync.Pool{New: func() any { return new([walReadaheadMax]byte) }}

// walReadahead is a walRefIter's record of the values it read and the
// window of segment bytes it read last: buf holds the bytes [off,
// off+len(buf)) of the segment named name, in mem (from walReadaheadBufs,
// given back by release). It belongs to the iterator's goroutine.
type walReadahead struct {
	mem     *[walReadaheadMax]byte
	buf     []byte
	off     int64
	name    string
	next    int64 // offset just past the last value's span (0: none yet)
	inOrder int   // values read in a row, each after the previous one
	size    int   // bytes the next read reads (0: not reading ahead yet)
}

// ReadAt reads the window's bytes at segment offset off (wal.ReadPayload
// reads a value out of them).
func (ra *walReadahead) ReadAt(p []byte, off int64) (int, error) {
	if off < ra.off || off > ra.off+int64(len(ra.buf)) {
		return 0, io.EOF
	}
	n := copy(p, ra.buf[off-ra.off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// readAhead returns the value r refers to, checked, from the iterator's
// window (read first if the iterator reads in log order and the window
// does not hold it). ok is false, and nothing read, when the iterator does
// not read ahead (yet): the caller reads the value itself.
func (w *walRefIter) readAhead(r walRef) (v []byte, ok bool, err error) {
	ra := &w.ra
	span := wal.PayloadSpan(r.off, r.n)
	if ra.next != 0 && r.off >= ra.next && r.off-ra.next <= walReadaheadGap {
		ra.inOrder++
	} else {
		ra.inOrder, ra.size = 0, 0
	}
	ra.next = r.off + span
	if w.seg == nil {
		return nil, false, nil
	}
	if r.off < ra.off || r.off+span > ra.off+int64(len(ra.buf)) {
		if ra.inOrder < walReadaheadAfter {
			return nil, false, nil
		}
		if ra.size == 0 {
			ra.size = walReadaheadMin
		} else {
			ra.size = min(2*ra.size, walReadaheadMax)
		}
		seg, err := w.seg()
		if err != nil {
			return nil, false, err
		}
		n := min(max(int64(ra.size), span), seg.size-r.off, walReadaheadMax)
		if n < span || span > walReadaheadMax {
			return nil, false, nil // past what may be read yet, or larger than a window: the value alone
		}
		if ra.mem == nil {
			ra.mem = walReadaheadBufs.Get().(*[walReadaheadMax]byte)
		}
		ra.buf, ra.off, ra.name = ra.mem[:n], r.off, seg.name
		m, err := seg.f.ReadAt(ra.buf, r.off)
		ra.buf = ra.buf[:m]
		if int64(m) < span {
			ra.buf = ra.buf[:0]
			if err == nil || errors.Is(err, io.EOF) {
				return nil, false, nil // the segment ends before its noted size (see errShortWindow)
			}
			return nil, false, fmt.Errorf("strata: %s: read %d bytes at offset %d: %w", seg.name, n, r.off, err)
		}
		w.db.metrics.walValueReads.Add(1)
	}
	out, err := wal.ReadPayload(ra, ra.name, r.off, r.n, w.buf[:0])
	if err != nil {
		return nil, false, err
	}
	if crc32.Checksum(out, walValCRC) != r.crc {
		return nil, false, badWALValueSum(ra.name, r, w.table)
	}
	return out, true, nil
}

// release gives ra's buffer back to walReadaheadBufs; nothing may use the
// window's bytes afterwards (values were copied out of it).
func (ra *walReadahead) release() {
	if ra.mem != nil {
		walReadaheadBufs.Put(ra.mem)
	}
	ra.mem, ra.buf = nil, nil
}

package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/stratadb/strata/vfs"
)

// ErrClosed is returned by every Writer method called after Close, and by a
// second Close.
var ErrClosed = errors.New("wal: writer closed")

// maxRetainedBuf is the largest buffer capacity a Writer keeps after a Flush.
// A buffer grown past it by a very large record or group commit is released,
// so one multi-megabyte record does not pin its memory for the life of the
// log. Ordinary group commits stay far below it and reuse their buffer.
const maxRetainedBuf = 4 << 20

// streamAt is the buffered size from which AddRecord hands the buffer to
// the file while it frames a record: a record of many megabytes then goes
// out in pieces through a buffer that stays under streamAt plus a block,
// instead of growing a buffer as large as itself (a fresh allocation per
// large record, whose first touch of every page is a page fault).
const streamAt = 1 << 20

// zeros is the source of block padding.
var zeros [headerSize]byte

// Writer appends records to a log file in the format described in the package
// documentation.
//
// Ownership and locking: buf and blockOff belong to the appending goroutine,
// the one that calls AddRecord, Flush and Close (one at a time). Sync may run
// concurrently from another goroutine; it only reads flushed. size, flushed
// and synced are atomics so that Size and SyncedSize may be called from any
// goroutine. mu guards err and closed; stopped mirrors "err or closed is
// set" for a lock-free fast path. syncMu serializes Sync with Sync and with
// Close, so the file is never synced while or after it is closed.
type Writer struct {
	f vfs.File

	// Owned by the appending goroutine.
	buf      []byte // framed bytes not yet handed to f
	blockOff int    // offset within its block of the log's logical end

	size    atomic.Int64 // flushed + len(buf); written by the appending goroutine
	flushed atomic.Int64 // bytes handed to f by successful Writes
	synced  atomic.Int64 // bytes covered by the last successful Sync
	syncs   atomic.Int64 // successful Syncs

	syncMu sync.Mutex // serializes Sync and Close

	mu     sync.Mutex // guards err and closed
	err    error      // latched failure of a Write or Sync
	closed bool

	// stopped is set (under mu) once err or closed is set, so that check
	// costs one atomic load while the writer is healthy.
	stopped atomic.Bool

	// Mapped mode (see NewMappedWriter), owned by the appending goroutine:
	// Flush copies buf into mapped, a shared mapping of the preallocated
	// file, instead of calling Write; a flush of pwriteMin bytes or more
	// goes through writeAt (the file's WriteAt) at the log's end instead.
	mapper  vfs.Mappable
	mapped  []byte
	writeAt io.WriterAt
	// released is the offset below which the mapping's pages were given
	// back (releasePages): the process keeps at most releaseEvery bytes
	// of the log mapped.
	released int64

	// Stepped mode (see NewMappedWriter), owned by the appending
	// goroutine: a file that is not mapped but can preallocate is
	// preallocated ahead of the log's end, in steps, and allocated is the
	// file's size so reserved.
	prealloc    vfs.Preallocator
	allocated   int64
	preallocOff bool // a Preallocate failed: no more reserving

	// Zeros written ahead (see ZeroAhead), owned by the appending
	// goroutine: zeroAt writes them; zeroed is the offset below which the
	// file's blocks have been written (with zeros or the log); zeroCount,
	// if set, adds up the bytes of zeros written.
	zeroAt      io.WriterAt
	zeroMaxSync int64
	zeroed      int64
	zeroCount   *atomic.Int64
	// expect is the size NewMappedWriter was told the file would grow to
	// (0: not told); zeros are not written past it.
	expect int64
}

// preallocStep is how far past the log's end a stepped writer reserves the
// file when a flush would pass the reserve: at least this, and at least
// eight times the flush. Small appends then extend the file once a MiB
// (one fsync in thousands pays for the new size), large ones once in
// eight flushes, and the file never holds more zeros than that, where a
// mapped segment holds its whole preallocation from the start.
const preallocStep = 1 << 20

// releaseEvery is how many bytes a mapped writer copies into its mapping
// before it drops the pages behind the log's end from the process
// (releasePages): the pages a store through a shared mapping faults in
// stay in the process's resident set until unmapped, so without it a
// segment's whole log (most of a memtable's size, for each memtable not
// yet flushed) would count as the process's memory, where a writer
// through write(2) leaves the same pages to the page cache alone. The
// bytes stay in the page cache, dirty until written back, whichever way
// they were written.
const releaseEvery = 1 << 20

// pwriteMin is the flush size from which a mapped writer hands its bytes to
// the file with a positioned write instead of a copy into the mapping. The
// first store to each page of a shared file mapping is a page fault (the
// filesystem allocates the page cache page and marks it for writeback), a
// cost a write system call does not pay page by page: on a 2-core VM,
// writing 64 MiB in 16 KiB flushes took 8.1 us of CPU per 4 KiB page
// through the mapping and 3.0 us through pwrite(2), in 120 KiB flushes
// (a batch of 1,000 entries) 9.7 and 4.1 us; in 1 KiB flushes the mapping
// won, 9.7 against 13.9 us, and in 120-byte ones (a single small write) by
// seven times, the system call's fixed cost being paid per flush. Pages
// written by pwrite are not mapped into the process either, so they do not
// count in its resident set. Both paths write the same page cache, so the
// mix reads back as one file.
const pwriteMin = 4 << 10

// NewWriter returns a Writer that appends to f, which must be empty. The file
// header is buffered at once, so Size starts at the header's size; like every
// other byte, it reaches f at the first Flush or Close.
func NewWriter(f vfs.File) *Writer {
	w := &Writer{f: f, buf: make([]byte, 0, 4096)}
	var h [fileHeaderSize]byte
	binary.LittleEndian.PutUint32(h[headerSize+len(fileMagic):], formatVersion)
	copy(h[headerSize:], fileMagic)
	putHeader(h[:], chunkFileHeader, h[headerSize:])
	w.buf = append(w.buf, h[:]...)
	w.blockOff = fileHeaderSize
	w.size.Store(int64(fileHeaderSize))
	return w
}

// NewMappedWriter is NewWriter for a WAL segment expected to grow to about
// prealloc bytes. Where the file supports it (vfs.Mappable: the OS
// filesystem on Linux), the file is preallocated and mapped, and Flush hands
// bytes to the OS with a memory copy into the mapping instead of a write
// system call; the bytes are in the page cache either way, so they survive a
// crash of the process, and Sync makes them durable. The mapping grows as
// needed; Close unmaps and truncates the file to the log's size. Where the
// file does not support it, or preallocation fails (a full disk), it is a
// plain Writer.
//
// A file that is not mappable but can preallocate (vfs.Preallocator) is
// written with write(2) and preallocated ahead of the log's end in steps
// (preallocStep), so that a Sync seldom has a new file size to make
// durable; Close truncates it to the log's size too.
func NewMappedWriter(f vfs.File, prealloc int64) *Writer {
	w := NewWriter(f)
	w.expect = max(prealloc, 0)
	m, ok := f.(vfs.Mappable)
	if !ok {
		if p, ok := f.(vfs.Preallocator); ok && prealloc > 0 {
			w.prealloc = p
		}
		return w
	}
	if prealloc <= 0 {
		return w
	}
	if err := w.remap(m, max(prealloc, 1<<20)); err != nil {
		return w // plain writes still work; the error will show there if real
	}
	w.mapper = m
	w.writeAt, _ = f.(io.WriterAt)
	return w
}

// remap preallocates and maps size bytes of the file, replacing any earlier
// mapping.
func (w *Writer) remap(m vfs.Mappable, size int64) error {
	if err := m.Preallocate(size); err != nil {
		return err
	}
	b, err := m.Map(size)
	if err != nil {
		return err
	}
	if w.mapped != nil {
		if err := m.Unmap(w.mapped); err != nil {
			_ = m.Unmap(b)
			return err
		}
	}
	w.mapped = b
	return nil
}

// check returns the latched error, ErrClosed after Close, or nil.
func (w *Writer) check() error {
	if !w.stopped.Load() {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return ErrClosed
	}
	return nil
}

// latch records err as the writer's permanent failure and returns the latched
// error (the first one, if another call latched before).
func (w *Writer) latch(err error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
		w.stopped.Store(true)
	}
	return w.err
}

// AddRecord frames p into chunks appended to an in-memory buffer. It does not
// write to the file, except while it frames a record that takes the buffer
// past 1 MiB (streamAt): that record goes to the file in pieces of about 1
// MiB as it is framed, and its tail at the next Flush. Not safe for
// concurrent use with AddRecord/Flush.
// It returns the latched error after a failed Flush or Sync, and ErrClosed
// after Close. p is copied; the caller may reuse it at once. Records of any
// size are accepted.
func (w *Writer) AddRecord(p []byte) error {
	if err := w.check(); err != nil {
		return err
	}
	// Worst case: a padding tail plus a header per block the record touches.
	chunks := len(p)/(blockSize-headerSize) + 2
	w.buf = slices.Grow(w.buf, min(len(p)+chunks*(2*headerSize), streamAt+blockSize))

	first := true
	for {
		left := blockSize - w.blockOff
		if left < headerSize {
			// Too small for a header: pad with zeros to the block end.
			w.buf = append(w.buf, zeros[:left]...)
			w.blockOff = 0
			left = blockSize
		}
		if len(w.buf) >= streamAt {
			if err := w.flush(); err != nil {
				return err
			}
		}
		n := min(len(p), left-headerSize)
		last := n == len(p)
		var t byte
		switch {
		case first && last:
			t = chunkFull
		case first:
			t = chunkFirst
		case last:
			t = chunkLast
		default:
			t = chunkMiddle
		}
		start := len(w.buf)
		w.buf = append(w.buf, zeros[:headerSize]...)
		w.buf = append(w.buf, p[:n]...)
		putHeader(w.buf[start:], t, p[:n])
		w.blockOff += headerSize + n
		p = p[n:]
		first = false
		if last {
			break
		}
	}
	w.size.Store(w.flushed.Load() + int64(len(w.buf)))
	return nil
}

// Flush hands every buffered byte to the file with a single Write call.
// After a failed Flush or Sync every later call returns the same error (the
// writer is latched failed: a WAL whose write failed is never trusted again).
// Flush with nothing buffered does not call Write.
func (w *Writer) Flush() error {
	if err := w.check(); err != nil {
		return err
	}
	return w.flush()
}

// flush writes buf to the file and latches any failure.
func (w *Writer) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	var n int
	var err error
	if w.zeroAt != nil {
		w.zeroAhead(w.flushed.Load() + int64(len(w.buf)))
	}
	switch {
	case w.mapper != nil && w.writeAt != nil && len(w.buf) >= pwriteMin:
		n, err = w.writeAt.WriteAt(w.buf, w.flushed.Load())
	case w.mapper != nil:
		n, err = w.copyToMapping()
	default:
		if w.prealloc != nil && !w.preallocOff {
			w.reserve(len(w.buf))
		}
		if err == nil {
			n, err = w.f.Write(w.buf)
		}
	}
	if err == nil && n != len(w.buf) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return w.latch(fmt.Errorf("wal: write: %w", err))
	}
	w.flushed.Add(int64(n))
	if cap(w.buf) > maxRetainedBuf {
		w.buf = make([]byte, 0, 4096)
	} else {
		w.buf = w.buf[:0]
	}
	return nil
}

// reserve preallocates the file past the log's end when a flush of n bytes
// would pass what is reserved. A failed preallocation (a full disk) turns
// the reserving off: the write that follows reports the disk's state, and
// Close still cuts what was reserved before.
func (w *Writer) reserve(n int) {
	end := w.flushed.Load() + int64(n)
	if end <= w.allocated {
		return
	}
	size := end + max(preallocStep, 8*int64(n))
	if err := w.prealloc.Preallocate(size); err != nil {
		w.preallocOff = true
		return
	}
	w.allocated = size
}

// Writing zeros ahead of the log (ZeroAhead). On ext4 (and other
// filesystems that mark preallocated extents unwritten) the first write
// to a block that was never written, preallocated or not, makes the
// block's extent written, a metadata change that the fsync covering it
// must commit to the filesystem's journal; an fsync of bytes that only
// overwrite written blocks flushes the data alone. Measured on a 2-core
// VM's ext4, 4,000 appends each followed by fdatasync: of 10,300 bytes,
// 214-245 us a call into a preallocated file, 155-171 us into one whose
// blocks were written with zeros first; of 1,100 bytes, 155-178 against
// 131-174 us; of 64 bytes no difference (a block takes 64 calls to fill).
// Writing the zeros costs the disk their bytes, paid by the fsync that
// follows: worth it where a log syncs often and little (appends of 66,000
// bytes ran 12-20% slower with 4 MiB of zeros written in the call once
// in 64), a loss where it syncs rarely.

// zeroAheadStep is how far past the log's end the written blocks reach
// after each write of zeros. The zeros are written when the log comes
// within half a step of their end, so about 2 MiB at a time, which the
// next fsync writes out (a few ms of a 2-core VM's disk): once in
// thousands of small syncs, once in about a hundred at the largest that
// qualify.
const zeroAheadStep = 4 << 20

// zeroAheadMinSyncs is how many syncs a writer must have had before its
// bytes per sync are judged.
const zeroAheadMinSyncs = 64

// zeroSource is the bytes zeros are written from (never written to, so
// its pages are the kernel's shared zero page and cost the process no
// memory).
var zeroSource [1 << 20]byte

// ZeroAhead makes the writer write zeros into its file ahead of the log,
// zeroAheadStep bytes at a time, once it has been synced at least 64
// times (zeroAheadMinSyncs) and has averaged under maxPerSync bytes a
// sync, and not past the size NewMappedWriter was told the file would
// reach: each fsync of the log then overwrites blocks already written, and
// has no extent to convert (see the measurements above). The first
// written bytes of the file are already written (a segment zero-filled
// before it was taken into use: nothing to do until the log passes
// them, nor to reserve). count, if not nil, adds up the bytes of zeros written. Zeros
// past the log's end read as its clean end (as a preallocated tail
// does); Close cuts them off where the file can be truncated. A file
// without positioned writes (io.WriterAt) is left as it is; a failed
// write of zeros turns the writing off (the log's own write reports the
// disk's state). Call it before the first AddRecord, from the appending
// goroutine.
func (w *Writer) ZeroAhead(maxPerSync, written int64, count *atomic.Int64) {
	// Blocks written already need no reserving (a stepped writer's):
	// a preallocation over them allocates nothing, but it marks the file
	// changed, and the next fsync then commits the filesystem's journal
	// (seen under strace: 21 ms, waiting for the zeros another segment
	// being written ahead had in flight, where the fsyncs around it took
	// 0.1-0.2 ms).
	w.allocated = max(w.allocated, written)
	wa, ok := w.f.(io.WriterAt)
	if !ok || maxPerSync <= 0 {
		return
	}
	w.zeroAt, w.zeroMaxSync, w.zeroed, w.zeroCount = wa, maxPerSync, written, count
}

// zeroAhead writes zeros past end, the log's end after the flush being
// made, up to a step past it (and not past the size the file was expected
// to reach), when end has come within half a step of the bytes written so
// far and the log syncs often enough for it to pay (see ZeroAhead).
func (w *Writer) zeroAhead(end int64) {
	to := end + zeroAheadStep
	if w.expect > 0 {
		to = min(to, w.expect)
	}
	from := max(w.zeroed, end)
	if from >= to || w.zeroed >= end+zeroAheadStep/2 {
		return
	}
	syncs := w.syncs.Load()
	if syncs < zeroAheadMinSyncs || end/syncs >= w.zeroMaxSync {
		return
	}
	for from < to {
		n := min(int64(len(zeroSource)), to-from)
		if _, err := w.zeroAt.WriteAt(zeroSource[:n], from); err != nil {
			w.zeroAt = nil
			return
		}
		from += n
		w.zeroed = from
		if w.zeroCount != nil {
			w.zeroCount.Add(n)
		}
	}
}

// copyToMapping copies buf into the mapping at the log's end, growing the
// mapping (and the preallocated file) when it is too small.
func (w *Writer) copyToMapping() (int, error) {
	off := w.flushed.Load()
	end := off + int64(len(w.buf))
	if end > int64(len(w.mapped)) {
		if err := w.remap(w.mapper, max(end, 2*int64(len(w.mapped)))); err != nil {
			return 0, err
		}
	}
	n := copyAscending(w.mapped[off:end], w.buf)
	if page := int64(os.Getpagesize()); end-w.released >= releaseEvery+page {
		// Keep the page holding the log's end: the next copy writes it.
		to := end &^ (page - 1)
		releasePages(w.mapped[w.released:to])
		w.released = to
	}
	return n, nil
}

// copyChunk is the size of the pieces copyAscending copies one after the
// other.
const copyChunk = 256

// copyAscending copies src into dst (a shared mapping of the log) so that,
// whenever the process dies, the bytes that reached the mapping are a
// prefix of src (to within one 16-byte store): a kill -9 in the middle of
// a flush must leave a torn tail, never a damaged record followed by
// intact ones, which recovery rightly takes for corruption. One copy of a
// larger buffer does not give that: on amd64 with AVX the runtime's
// memmove of more than 256 bytes keeps the first 32 and last 128 bytes in
// registers and stores them after the body. A piece of at most 256 bytes
// is loaded whole into registers and stored from its start, and each piece
// is stored before the next is loaded.
func copyAscending(dst, src []byte) int {
	n := 0
	for n < len(src) {
		m := copy(dst[n:], src[n:min(n+copyChunk, len(src))])
		if m == 0 {
			break
		}
		n += m
	}
	return n
}

// Sync fsyncs the file. It may be called from another goroutine concurrently
// with AddRecord and Flush (a background syncer does that once a second);
// it syncs what was flushed before it started. A failed Sync latches the
// writer failed, like a failed Flush.
func (w *Writer) Sync() error {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	if err := w.check(); err != nil {
		return err
	}
	target := w.flushed.Load()
	if err := w.f.Sync(); err != nil {
		return w.latch(fmt.Errorf("wal: sync: %w", err))
	}
	// Syncs are serialized by syncMu and flushed only grows, so target is
	// never below the previous value.
	w.synced.Store(target)
	w.syncs.Add(1)
	return nil
}

// Syncs returns how many times Sync succeeded. It may be called from any
// goroutine.
func (w *Writer) Syncs() int64 { return w.syncs.Load() }

// Size returns the logical size of the log: bytes flushed plus buffered.
// It may be called from any goroutine.
func (w *Writer) Size() int64 { return w.size.Load() }

// NextOffset returns the file offset where the first chunk of the next
// record AddRecord frames will start: Size, moved past the block's tail
// when that is too short for a chunk header (the writer pads it). With
// PayloadOffset it locates any byte of that record.
func (w *Writer) NextOffset() int64 {
	s := w.size.Load()
	if left := blockSize - s%blockSize; left < headerSize {
		s += left
	}
	return s
}

// FlushedSize returns the bytes of the log handed to the file (Flush), which
// the next Sync makes durable. It may be called from any goroutine.
func (w *Writer) FlushedSize() int64 { return w.flushed.Load() }

// SyncedSize returns the size of the log covered by the last successful Sync.
// It may be called from any goroutine.
func (w *Writer) SyncedSize() int64 { return w.synced.Load() }

// truncater is a file that can be cut to a size.
type truncater interface{ Truncate(size int64) error }

// Close flushes (no sync) and closes the file. Close twice returns an error
// (ErrClosed). The file is closed even when the writer is latched failed; Close
// then returns the latched error. Close waits for a Sync in progress.
func (w *Writer) Close() error {
	w.syncMu.Lock()
	defer w.syncMu.Unlock()
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	w.closed = true
	w.stopped.Store(true)
	err := w.err
	w.mu.Unlock()

	if err == nil {
		err = w.flush()
	}
	if w.mapped != nil {
		// Cut the preallocated zeros, so a closed segment ends where its
		// log does. (Trailing zeros would read as a clean end anyway.)
		if uerr := w.mapper.Unmap(w.mapped); uerr != nil && err == nil {
			err = fmt.Errorf("wal: unmap: %w", uerr)
		}
		w.mapped = nil
		if terr := w.mapper.Truncate(w.flushed.Load()); terr != nil && err == nil {
			err = fmt.Errorf("wal: truncate: %w", terr)
		}
	}
	if w.prealloc != nil && w.allocated > w.flushed.Load() {
		if terr := w.prealloc.Truncate(w.flushed.Load()); terr != nil && err == nil {
			err = fmt.Errorf("wal: truncate: %w", terr)
		}
	} else if t, ok := w.f.(truncater); ok && w.mapper == nil && w.zeroed > w.flushed.Load() {
		// Cut the zeros written ahead (ZeroAhead).
		if terr := t.Truncate(w.flushed.Load()); terr != nil && err == nil {
			err = fmt.Errorf("wal: truncate: %w", terr)
		}
	}
	if cerr := w.f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("wal: close: %w", cerr)
	}
	w.buf = nil
	return err
}

package sstable

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/rangedel"
	"github.com/stratadb/strata/vfs"
)

// WriterOptions configure a Writer. The zero value works.
type WriterOptions struct {
	// BlockSize is the target uncompressed size of a data block: a block is
	// cut as soon as it reaches this size, so a single large entry makes a
	// block of its own. The default value is 4096.
	BlockSize int
	// RestartInterval is the number of entries between restart points in a
	// block: a key at a restart point is stored whole, the others share the
	// prefix of their predecessor. The default value is 16.
	RestartInterval int
	// Compression is the compression of data blocks (as given: the zero
	// value is CompressionNone here). The default value is CompressionNone.
	Compression Compression
	// BloomBitsPerKey is the size of the bloom filter per key; negative means
	// no filter block. The default value (0) is 10, about 1% false
	// positives.
	BloomBitsPerKey int
	// Prefix, if non-nil, returns the length of a prefix of a user key to
	// add to the filter as well (or -1 for none). Used for item partitions.
	// The default value is nil.
	Prefix func(ukey []byte) int
	// Memory, if non-nil, receives the bytes the writer holds in memory
	// (its buffers, the index it builds and the keys kept for the filter,
	// at most 33 bytes each: at most about the table's uncompressed size),
	// added as they grow at each data block and taken out again by Finish or
	// Abort. Several writers may share one counter. The default value is nil.
	Memory *atomic.Int64
	// BytesPerSync is how many bytes the writer writes between two calls of
	// the file's WriteBack, when the file implements vfs.WriteBacker: the
	// table's pages go to storage as they are written instead of all at
	// the Sync of Finish, which still makes the table durable. Negative
	// means never. The default value is 512 KiB.
	BytesPerSync int
}

// Limits on options and entries, so that every block stays below
// maxBlockLimit: a block is cut once it reaches BlockSize, so it holds at
// most BlockSize bytes plus one entry.
const (
	// MaxBloomBitsPerKey is the largest BloomBitsPerKey a Writer accepts.
	MaxBloomBitsPerKey = 100
	// MaxBlockSize is the largest BlockSize a Writer accepts.
	MaxBlockSize = 64 << 20
	maxEntrySize = 320 << 20 // key + value; the DB allows 64 KiB + 256 MiB
)

func (o *WriterOptions) ensureDefaults() {
	if o.BlockSize == 0 {
		o.BlockSize = 4096
	}
	if o.RestartInterval == 0 {
		o.RestartInterval = 16
	}
	if o.BloomBitsPerKey == 0 {
		o.BloomBitsPerKey = defaultBloomBitsPerKey
	}
	if o.BytesPerSync == 0 {
		o.BytesPerSync = defaultBytesPerSync
	}
}

// defaultBytesPerSync is WriterOptions.BytesPerSync's default value: two
// output buffers.
const defaultBytesPerSync = 2 * writeBufferSize

func (o *WriterOptions) validate() error {
	switch {
	case o.BlockSize < 0 || o.BlockSize > MaxBlockSize:
		return fmt.Errorf("sstable: invalid BlockSize %d", o.BlockSize)
	case o.RestartInterval < 0:
		return fmt.Errorf("sstable: invalid RestartInterval %d", o.RestartInterval)
	case !o.Compression.valid():
		return fmt.Errorf("sstable: invalid Compression %d", o.Compression)
	case o.BloomBitsPerKey > MaxBloomBitsPerKey:
		return fmt.Errorf("sstable: invalid BloomBitsPerKey %d (max %d)", o.BloomBitsPerKey, MaxBloomBitsPerKey)
	}
	return nil
}

// writeBufferSize is how many bytes the writer gathers before one write to
// the file.
const writeBufferSize = 256 << 10

// outBuffers holds the output buffers of finished writers for the next
// ones. A fill finishes several tables a second (flush pieces, compaction
// outputs), and each grew its own 256 KiB buffer, by doubling, only for it
// to be garbage at Finish: with the filter's chunks (filterChunks), about
// half a MiB of garbage per table, which makes the collector run more
// often. The pool's buffers are dropped by the collector when unused.
var outBuffers = sync.Pool{New: func() any { return new([writeBufferSize]byte) }}

// errWriterDone is returned by calls after Finish or Abort.
var errWriterDone = errors.New("sstable: writer already finished or aborted")

// Writer writes one table, sequentially. It belongs to one goroutine.
type Writer struct {
	f      vfs.File
	wb     vfs.WriteBacker // f's, nil when it has none or BytesPerSync < 0
	opts   WriterOptions
	out    []byte // bytes not yet written to f
	offset uint64 // bytes written so far, out included
	synced uint64 // bytes of the file handed to wb.WriteBack
	inFile uint64 // bytes written to f: offset less len(out)

	data    blockWriter
	index   blockWriter
	filter  *filterWriter // nil: no filter block
	lastKey []byte        // the last key added

	pendingIndex  bool // a data block was flushed and awaits its index entry
	pendingHandle blockHandle

	compressBuf []byte
	sepBuf      []byte
	handleBuf   []byte

	rangeDels rangedel.List // written as the range deletion block

	props   Properties
	err     error // sticky: the first write error, or invalid options
	done    bool
	counted int64 // bytes last added to opts.Memory
}

// NewWriter returns a Writer that writes a table to f. Invalid options make
// every call fail.
func NewWriter(f vfs.File, opts WriterOptions) *Writer {
	opts.ensureDefaults()
	w := &Writer{f: f, opts: opts}
	w.out = outBuffers.Get().(*[writeBufferSize]byte)[:0]
	if wb, ok := f.(vfs.WriteBacker); ok && opts.BytesPerSync > 0 {
		w.wb = wb
	}
	w.err = opts.validate()
	w.data.restartInterval = opts.RestartInterval
	// The index is searched by binary search over restart points, and is
	// expanded when read, so its restart interval only trades file size.
	w.index.restartInterval = opts.RestartInterval
	if opts.BloomBitsPerKey > 0 {
		w.filter = &filterWriter{bitsPerKey: opts.BloomBitsPerKey}
	}
	w.props.Compression = opts.Compression
	return w
}

// Add appends an entry. Internal keys must be strictly increasing in
// keys.Compare order; a key out of order, a malformed internal key, or a
// KindSetExpiry value shorter than its expiry returns an error and adds
// nothing. A write error is returned by every later call.
func (w *Writer) Add(ikey, value []byte) error {
	if w.err != nil {
		return w.err
	}
	if w.done {
		return errWriterDone
	}
	if len(ikey)+len(value) > maxEntrySize {
		return fmt.Errorf("sstable: Add: entry of %d bytes exceeds the limit of %d", len(ikey)+len(value), maxEntrySize)
	}
	p, ok := keys.Parse(ikey)
	if !ok || !p.Kind.Valid() {
		return fmt.Errorf("sstable: Add: invalid internal key %q", ikey)
	}
	if w.props.NumEntries > 0 && keys.Compare(w.lastKey, ikey) >= 0 {
		return fmt.Errorf("sstable: Add: key %s is not after %s", keys.Format(ikey), keys.Format(w.lastKey))
	}
	var expiry int64
	if p.Kind == keys.KindSetExpiry {
		if expiry, _, ok = keys.SplitExpiryValue(value); !ok {
			return fmt.Errorf("sstable: Add: %s: value of %d bytes has no expiry", keys.Format(ikey), len(value))
		}
	}
	if w.pendingIndex {
		w.sepBuf = separator(w.sepBuf[:0], w.lastKey, ikey)
		w.addIndexEntry(w.sepBuf)
	}
	if w.filter != nil {
		w.filter.addUserKey(p.UserKey, w.opts.Prefix)
	}
	w.data.add(ikey, value)
	w.lastKey = append(w.lastKey[:0], ikey...)
	w.account(ikey, p, len(value), expiry)
	if w.data.estimatedSize() >= w.opts.BlockSize {
		return w.flushDataBlock()
	}
	return nil
}

// account updates the properties for one entry.
func (w *Writer) account(ikey []byte, p keys.Parsed, vlen int, expiry int64) {
	pr := &w.props
	if pr.NumEntries == 0 {
		pr.SmallestKey = append([]byte(nil), ikey...)
		pr.SmallestSeq, pr.LargestSeq = p.Seq, p.Seq
	}
	pr.NumEntries++
	pr.RawKeySize += uint64(len(ikey))
	pr.RawValueSize += uint64(vlen)
	pr.SmallestSeq = min(pr.SmallestSeq, p.Seq)
	pr.LargestSeq = max(pr.LargestSeq, p.Seq)
	switch p.Kind {
	case keys.KindDelete:
		pr.NumDeletions++
	case keys.KindSetExpiry:
		if pr.NumExpiring == 0 {
			pr.EarliestExpiry, pr.LatestExpiry = expiry, expiry
		}
		pr.NumExpiring++
		pr.EarliestExpiry = min(pr.EarliestExpiry, expiry)
		pr.LatestExpiry = max(pr.LatestExpiry, expiry)
	}
}

func (w *Writer) addIndexEntry(sep []byte) {
	w.handleBuf = appendHandle(w.handleBuf[:0], w.pendingHandle)
	w.index.add(sep, w.handleBuf)
	w.pendingIndex = false
}

func (w *Writer) flushDataBlock() error {
	raw := w.data.finish()
	if len(raw) > maxBlockLimit {
		w.err = fmt.Errorf("sstable: data block of %d bytes exceeds the limit of %d", len(raw), maxBlockLimit)
		return w.err
	}
	w.props.MaxBlockSize = max(w.props.MaxBlockSize, uint64(len(raw)))
	h, err := w.writeBlock(raw, w.opts.Compression)
	if err != nil {
		return err
	}
	w.data.reset()
	w.countMemory()
	w.props.NumDataBlocks++
	w.pendingHandle = h
	w.pendingIndex = true
	return nil
}

// writeBlock compresses and writes a block with its trailer.
func (w *Writer) writeBlock(raw []byte, c Compression) (blockHandle, error) {
	stored, used, err := compressBlock(w.compressBuf, raw, c)
	if err != nil {
		w.err = err
		return blockHandle{}, err
	}
	if used != CompressionNone {
		w.compressBuf = stored[:0]
	}
	h := blockHandle{offset: w.offset, length: uint64(len(stored))}
	w.write(stored)
	var trailer [blockTrailerLen]byte
	w.write(appendTrailer(trailer[:0], stored, used))
	return h, w.err
}

// write buffers b, writing to the file when the buffer fills.
func (w *Writer) write(b []byte) {
	if w.err != nil {
		return
	}
	w.offset += uint64(len(b))
	if len(w.out)+len(b) > writeBufferSize && len(w.out) > 0 {
		w.flushOut()
	}
	if len(b) >= writeBufferSize {
		w.writeFile(b)
		return
	}
	w.out = append(w.out, b...)
}

func (w *Writer) flushOut() {
	if len(w.out) > 0 {
		w.writeFile(w.out)
	}
	w.out = w.out[:0]
}

// writeFile writes b to the file, then has the file write back its bytes
// if BytesPerSync of them were written since the last time.
func (w *Writer) writeFile(b []byte) {
	if w.err != nil {
		return
	}
	if _, w.err = w.f.Write(b); w.err != nil {
		return
	}
	w.inFile += uint64(len(b))
	if w.wb != nil && w.inFile-w.synced >= uint64(w.opts.BytesPerSync) {
		w.synced = w.inFile
		w.err = w.wb.WriteBack(int64(w.inFile))
	}
}

// EstimatedSize returns about how many bytes the file would have if
// finished now.
func (w *Writer) EstimatedSize() uint64 {
	n := w.offset + uint64(w.data.estimatedSize()) + uint64(w.index.estimatedSize()) + footerLen + 3*blockTrailerLen
	if w.pendingIndex || w.data.entries > 0 {
		n += uint64(len(w.lastKey)) + maxBlockHandleLen
	}
	if w.filter != nil {
		n += uint64(w.filter.estimatedSize())
	}
	return n + 128 // properties
}

// NumEntries returns the number of entries added so far.
func (w *Writer) NumEntries() uint64 { return w.props.NumEntries }

// SetRangeDels sets the table's range tombstones, written by Finish as its
// range deletion block. l must satisfy rangedel.List's invariants (Check);
// the writer keeps it, unchanged, until Finish.
func (w *Writer) SetRangeDels(l rangedel.List) error {
	if w.err != nil {
		return w.err
	}
	if w.done {
		return errWriterDone
	}
	if msg := l.Check(); msg != "" {
		return fmt.Errorf("sstable: SetRangeDels: %s", msg)
	}
	w.rangeDels = l
	return nil
}

// Empty reports whether the table holds neither an entry nor a range
// tombstone.
func (w *Writer) Empty() bool { return w.props.NumEntries == 0 && len(w.rangeDels) == 0 }

// Finish writes the remaining blocks and the footer, fsyncs and closes the
// file, and returns the table's properties (FileSize included). On error
// the file is closed too; the caller removes it.
func (w *Writer) Finish() (Properties, error) {
	if w.done {
		return Properties{}, errWriterDone
	}
	props, err := w.finish()
	w.done = true
	w.uncountMemory()
	w.release()
	if err != nil {
		w.err = err
		_ = w.f.Close()
		return Properties{}, err
	}
	if err := w.f.Close(); err != nil {
		w.err = err
		return Properties{}, err
	}
	return props, nil
}

func (w *Writer) finish() (Properties, error) {
	if w.err != nil {
		return Properties{}, w.err
	}
	if w.data.entries > 0 {
		if err := w.flushDataBlock(); err != nil {
			return Properties{}, err
		}
	}
	if w.pendingIndex {
		w.sepBuf = successor(w.sepBuf[:0], w.lastKey)
		w.addIndexEntry(w.sepBuf)
	}
	w.props.DataSize = w.offset
	var f footer
	f.version = formatVersion
	if w.filter != nil {
		h, err := w.writeBlock(w.filter.finish(), CompressionNone)
		if err != nil {
			return Properties{}, err
		}
		f.filter = h
		w.props.FilterSize = h.length + blockTrailerLen
	}
	h, err := w.writeBlock(w.index.finish(), CompressionNone)
	if err != nil {
		return Properties{}, err
	}
	f.index = h
	w.props.IndexSize = h.length + blockTrailerLen
	if len(w.rangeDels) > 0 {
		h, err := w.writeBlock(w.rangeDels.Encode(nil), CompressionNone)
		if err != nil {
			return Properties{}, err
		}
		f.version = formatVersionRangeDel
		w.props.NumRangeDeletions = uint64(w.rangeDels.Count())
		w.props.RangeDelOffset = h.offset
		w.props.RangeDelSize = h.length + blockTrailerLen
	}
	if w.props.NumEntries > 0 {
		w.props.LargestKey = append([]byte(nil), w.lastKey...)
	}
	w.props.CreationTime = time.Now().UnixNano()
	if f.props, err = w.writeBlock(w.props.encode(), CompressionNone); err != nil {
		return Properties{}, err
	}
	w.write(f.encode())
	w.flushOut()
	if w.err != nil {
		return Properties{}, w.err
	}
	if err := w.f.Sync(); err != nil {
		return Properties{}, err
	}
	props := w.props
	props.FileSize = w.offset
	return props, nil
}

// Abort closes the file without finishing it; the caller removes it. It
// does nothing after Finish or a previous Abort.
func (w *Writer) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.uncountMemory()
	w.release()
	_ = w.f.Close()
}

// release gives the output buffer and the filter's chunks back to their
// pools, once the writer is done: nothing of the writer touches them
// afterwards (every call after Finish or Abort returns errWriterDone).
func (w *Writer) release() {
	if cap(w.out) == writeBufferSize {
		outBuffers.Put((*[writeBufferSize]byte)(w.out[:writeBufferSize]))
	}
	w.out = nil
	if w.filter != nil {
		w.filter.release()
	}
}

// countMemory publishes the growth of the writer's buffers to
// opts.Memory.
func (w *Writer) countMemory() {
	if w.opts.Memory == nil {
		return
	}
	n := int64(cap(w.out) + cap(w.data.buf) + 4*cap(w.data.restarts) + cap(w.index.buf) +
		4*cap(w.index.restarts) + cap(w.compressBuf) + cap(w.lastKey) + cap(w.sepBuf))
	if f := w.filter; f != nil {
		n += int64(f.chunkBytes + 8*cap(f.chunks))
	}
	if d := n - w.counted; d != 0 {
		w.opts.Memory.Add(d)
		w.counted = n
	}
}

// uncountMemory takes the writer's bytes out of opts.Memory.
func (w *Writer) uncountMemory() {
	if w.opts.Memory != nil && w.counted != 0 {
		w.opts.Memory.Add(-w.counted)
		w.counted = 0
	}
}

package lsm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/manifest"
	"github.com/stratadb/strata/sstable"
	"github.com/stratadb/strata/vfs"
	"github.com/stratadb/strata/wal"
)

// Values kept in the WAL (Options.WALValueThreshold).
//
// A value of the threshold or more is written once, by the WAL: the
// memtable stores a reference to it in its segment (see walRefMemtable
// below), and a flush writes tables that keep the references, so the
// value is on disk once, in the segment. Such a table's
// FileMeta names the segment (WALRef), and every KindSet value in it
// starts with a tag byte:
//
//	0x00 | value                              the value itself
//	0x01 | uvarint offset | uvarint length | CRC-32C (4 bytes LE)
//	                                          a reference: the value is the
//	                                          length bytes of the segment's
//	                                          record payload at that file
//	                                          offset (wal.ReadPayload), and
//	                                          the checksum is the value's
//
// Other kinds are as in any table (a KindSetExpiry value is never
// referred to). Reads resolve references (getFromTable, walRefIter), so
// nothing above a table sees them; a compaction reads through the same
// iterators, so the tables it writes hold every value. A read that may
// fill the block cache reads and caches the whole WAL block (32 KiB) that
// holds its value, so values read in the order they were logged by Gets
// (a Raft follower catching up by point reads) cost one read of the
// segment per block (readWALRef); an iterator reading them in that order
// reads the segment ahead into a buffer of its own instead, up to 256 KiB
// a read, and leaves the cache alone (walreadahead.go). A table moved to another level keeps its FileMeta and its
// references.
//
// The segment is kept while any live version names a table that refers to
// it (VersionSet.LiveWALRefs): deleteObsoleteWALsLocked runs when an edit
// removed such a table, and pickWALValueRewriteLocked rewrites the tables
// of a segment they refer to less than half of. The flush syncs the
// segment before the edit that adds its tables, so no durable table refers
// to bytes a power loss could take.

// walValue tags. Part of the on-disk format.
const (
	walValInline byte = 0
	walValRef    byte = 1
)

// walRef is where a value lies in a WAL segment.
type walRef struct {
	off int64  // file offset of the value's first byte
	n   int    // the value's length
	crc uint32 // CRC-32C of the value
}

// maxWALRefLen bounds the length a reference may claim, against damage.
const maxWALRefLen = 1 << 31

var walValCRC = crc32.MakeTable(crc32.Castagnoli)

func appendWALRef(dst []byte, r walRef) []byte {
	dst = append(dst, walValRef)
	dst = binary.AppendUvarint(dst, uint64(r.off))
	dst = binary.AppendUvarint(dst, uint64(r.n))
	return binary.LittleEndian.AppendUint32(dst, r.crc)
}

// decodeWALValue splits a tagged value: the value itself (aliasing v), or
// a reference. ok is false for a malformed one (see badWALValue).
func decodeWALValue(v []byte) (inline []byte, r walRef, isRef, ok bool) {
	if len(v) == 0 {
		return nil, r, false, false
	}
	switch v[0] {
	case walValInline:
		return v[1:], r, false, true
	case walValRef:
	default:
		return nil, r, false, false
	}
	p := v[1:]
	off, k := binary.Uvarint(p)
	if k <= 0 || off > 1<<62 {
		return nil, r, false, false
	}
	p = p[k:]
	n, k := binary.Uvarint(p)
	if k <= 0 || n > maxWALRefLen || len(p[k:]) != 4 {
		return nil, r, false, false
	}
	return nil, walRef{off: int64(off), n: int(n), crc: binary.LittleEndian.Uint32(p[k:])}, true, true
}

// badWALValue is the error for a tagged value of table f that
// decodeWALValue refused.
func (db *DB) badWALValue(f *manifest.FileMeta, v []byte) error {
	return keys.CorruptionError(manifest.MakeFilename(db.dir, manifest.FileTypeTable, f.FileNum), 0,
		"malformed value (%d bytes) in a table that refers to WAL segment %06d", len(v), f.WALRef)
}

// walValueSegs are the WAL segments opened to read values from.
type walValueSegs struct {
	mu    sync.Mutex // guards files; a leaf
	files map[uint64]walValueSeg
}

type walValueSeg struct {
	f    vfs.File
	name string
	size int64
}

// openWALValueSeg returns segment num opened for reading, opening it on
// first use.
func (db *DB) openWALValueSeg(num uint64) (walValueSeg, error) {
	s := &db.walSegs
	s.mu.Lock()
	defer s.mu.Unlock()
	if seg, ok := s.files[num]; ok {
		return seg, nil
	}
	name := manifest.MakeFilename(db.dir, manifest.FileTypeLog, num)
	f, err := db.fs.Open(name)
	if err != nil {
		return walValueSeg{}, fmt.Errorf("strata: WAL segment %s that tables refer to: %w", name, err)
	}
	size, err := f.Size()
	if err != nil {
		f.Close()
		return walValueSeg{}, fmt.Errorf("strata: %s: %w", name, err)
	}
	if s.files == nil {
		s.files = make(map[uint64]walValueSeg)
	}
	seg := walValueSeg{f: f, name: name, size: size}
	s.files[num] = seg
	return seg, nil
}

// closeWALValueSeg closes segment num if it is open.
func (db *DB) closeWALValueSeg(num uint64) {
	s := &db.walSegs
	s.mu.Lock()
	seg, ok := s.files[num]
	delete(s.files, num)
	s.mu.Unlock()
	if ok {
		seg.f.Close()
	}
}

// closeWALValueSegs closes every open segment (Close).
func (db *DB) closeWALValueSegs() {
	s := &db.walSegs
	s.mu.Lock()
	files := s.files
	s.files = nil
	s.mu.Unlock()
	for _, seg := range files {
		seg.f.Close()
	}
}

// readWALRef reads the value r of table f refers to into dst's memory
// (grown if needed) and checks it. The block cache holds values read
// from segments as it holds blocks, keyed by the segment's number (file
// numbers are one space for tables and segments): a value that lies
// within one block of the WAL's format (a window, walWindowSize) is
// cached with the rest of that block, keyed by the block's offset, so a
// read of the values logged after it, as in a scan or a Raft follower's
// catch-up, finds them there; a value across blocks is cached alone,
// keyed by its own offset (never a block's: a payload never starts at
// one). With ref set, a value found in the cache (or, with fill set,
// cached by this read) is returned without a copy and *ref holds it; with
// ref nil a cached value is copied into dst's memory.
func (db *DB) readWALRef(f *manifest.FileMeta, r walRef, dst []byte, fill bool, ref *sstable.BlockRef) ([]byte, error) {
	win, inWindow := walWindow(r)
	if inWindow {
		if v, ok, err := db.cachedWALValue(f.WALRef, f.FileNum, win, r, dst, ref); ok || err != nil {
			return v, err
		}
	} else if b, v, ok := db.blockCache.GetRef(f.WALRef, uint64(r.off)); ok {
		if len(v) == r.n {
			if ref != nil {
				*ref = b
				return v, nil
			}
			dst = append(dst[:0], v...)
			b.Release()
			return dst, nil
		}
		b.Release()
	}
	seg, err := db.openWALValueSeg(f.WALRef)
	if err != nil {
		return nil, err
	}
	if r.off+wal.PayloadSpan(r.off, r.n) > seg.size {
		return nil, keys.CorruptionError(manifest.MakeFilename(db.dir, manifest.FileTypeTable, f.FileNum), 0,
			"WAL reference to %d bytes at offset %d past the end of %s (%d bytes)", r.n, r.off, seg.name, seg.size)
	}
	if fill && inWindow {
		if v, ok, err := db.readWALWindow(f.WALRef, f.FileNum, seg, win, r, dst, ref); ok || err != nil {
			return v, err
		}
	}
	out, err := db.readSegValue(seg.f, seg.name, r, dst, f.FileNum)
	if err != nil {
		return nil, err
	}
	if fill {
		if ref == nil {
			db.blockCache.Set(f.WALRef, uint64(r.off), out)
		} else if b, v, ok := db.blockCache.SetRef(f.WALRef, uint64(r.off), out); ok {
			*ref = b
			return v, nil
		}
	}
	return out, nil
}

// walWindowSize is the span of a segment that a read of a value which
// fills the cache reads and caches (readWALRef): the WAL block holding
// the value, about 30 values of 1 KiB, so a read of values in the order
// they were logged pays a system call and a cache insertion once per
// block, where a read per value paid them for each (a Raft follower
// catching up over a log of 1M entries of 1 KiB: 3.7 us a GetLog read by
// value, under 2 by block). Larger windows would read more at once but
// are not the cache allocator's size classes (mapped one by one).
const walWindowSize = wal.BlockSize

// walWindow returns the offset of the window (the WAL block) that holds
// the value r refers to, and whether the value lies within it. Chunks
// never cross a block's end, so such a value's bytes are contiguous.
func walWindow(r walRef) (int64, bool) {
	win := r.off &^ (walWindowSize - 1)
	return win, r.off+int64(r.n) <= win+walWindowSize
}

// windowValue returns the value r refers to in w, the bytes of its
// window (win being its offset), if w holds all of it.
func windowValue(w []byte, win int64, r walRef) ([]byte, bool) {
	lo := r.off - win
	if lo+int64(r.n) > int64(len(w)) {
		return nil, false
	}
	return w[lo : lo+int64(r.n)], true
}

// cachedWALValue returns the value r refers to from the cached window at
// offset win of segment segNum, if the cache holds that window (ok), as
// checkedWALValue returns it. table is the number of the table holding r,
// 0 for a memtable.
func (db *DB) cachedWALValue(segNum, table uint64, win int64, r walRef, dst []byte, ref *sstable.BlockRef) ([]byte, bool, error) {
	b, w, ok := db.blockCache.GetRef(segNum, uint64(win))
	if !ok {
		return nil, false, nil
	}
	if v, ok := windowValue(w, win, r); ok {
		v, err := db.checkedWALValue(segNum, table, b, v, r, dst, ref)
		return v, true, err
	}
	b.Release()
	return nil, false, nil
}

// checkedWALValue returns v, the value r refers to in a cached window of
// segment segNum held by b, after checking it (windows are cached
// unchecked, their values each checked as they are read): without a copy
// and b moved to *ref if ref is set, else copied into dst's memory. table
// is the number of the table holding r, 0 for a memtable.
func (db *DB) checkedWALValue(segNum, table uint64, b sstable.BlockRef, v []byte, r walRef, dst []byte, ref *sstable.BlockRef) ([]byte, error) {
	if crc32.Checksum(v, walValCRC) != r.crc {
		b.Release()
		return nil, badWALValueSum(manifest.MakeFilename(db.dir, manifest.FileTypeLog, segNum), r, table)
	}
	if ref != nil {
		*ref = b
		return v, nil
	}
	dst = append(dst[:0], v...)
	b.Release()
	return dst, nil
}

// readWALWindow reads the window at offset win of segment segNum, seg
// (what the segment holds of it), which holds the value r refers to, into
// the block cache's memory and returns the value as readWALRef does; ok
// is false, and nothing cached, where the cache takes nothing or the
// segment ends inside the window (errShortWindow). table is the number of
// the table holding r, 0 for a memtable.
func (db *DB) readWALWindow(segNum, table uint64, seg walValueSeg, win int64, r walRef, dst []byte, ref *sstable.BlockRef) (v []byte, ok bool, err error) {
	n := min(walWindowSize, seg.size-win)
	b, w, ok, err := db.blockCache.SetRefFrom(segNum, uint64(win), int(n), func(w []byte) error {
		if m, err := seg.f.ReadAt(w, win); m < len(w) {
			if err == nil || errors.Is(err, io.EOF) {
				db.walSegEndsAt(segNum, win+int64(m))
				return errShortWindow
			}
			return fmt.Errorf("strata: %s: read %d bytes at offset %d: %w", seg.name, len(w), win, err)
		}
		db.metrics.walValueReads.Add(1)
		return nil
	})
	if errors.Is(err, errShortWindow) {
		return nil, false, nil
	}
	if !ok || err != nil {
		return nil, ok, err
	}
	v, _ = windowValue(w, win, r) // it holds it: the caller checked the segment's size
	v, err = db.checkedWALValue(segNum, table, b, v, r, dst, ref)
	return v, true, err
}

// errShortWindow is readWALWindow's read of a window that the segment
// ended inside: the size noted when the segment was opened for reading
// can be past its end, the writer of a segment tables already refer to
// cutting the zeros it wrote or reserved ahead of the log when it closes
// (after the flush). The value, inside the log, is then read alone, and
// the segment's size is corrected (walSegEndsAt).
var errShortWindow = errors.New("strata: WAL window past the segment's end")

// walSegEndsAt notes that open segment num ends at size, a read having
// found its end there (see errShortWindow), so later windows end there too.
func (db *DB) walSegEndsAt(num uint64, size int64) {
	s := &db.walSegs
	s.mu.Lock()
	if seg, ok := s.files[num]; ok && size < seg.size {
		seg.size = size
		s.files[num] = seg
	}
	s.mu.Unlock()
}

// badWALValueSum is the error for the value r refers to in segment name
// failing its checksum; table is the number of the table holding r, 0
// for a memtable.
func badWALValueSum(name string, r walRef, table uint64) error {
	who := "the memtable"
	if table != 0 {
		who = fmt.Sprintf("table %06d", table)
	}
	return keys.CorruptionError(name, r.off, "value of %d bytes that %s refers to fails its checksum", r.n, who)
}

// A memtable of a DB with Options.WALValueThreshold keeps its KindSet
// values tagged as such a table does, so the values of the threshold or
// more are never copied into its arena (walRefMemtable): the leader notes
// where each request's record starts in the segment (commitReq.walStart),
// and the insert stores the value itself or a reference to where the
// record put it in the memtable's own segment, with the value's checksum
// (computed then, while the value is in the CPU's cache, so the flush
// reads nothing back). Reads resolve the references (getFrom,
// walRefIter); the flush copies the tagged values into its tables as they
// are, or resolves them when the tables will not refer to the segment
// (walValueWriter). Such a memtable rotates when its segment reaches the
// memtable's capacity as well as when its arena does (makeRoomForWrite):
// its arena holds only keys and references.

// walRefMemtable reports whether m's KindSet values are tagged.
func (m *memTable) walRefMemtable() bool { return m.walThreshold > 0 }

// memInsertValue returns what memtable m stores for the KindSet value v
// that lies at position at of the record the WAL logged at walStart (see
// walRefMemtable), built in *buf. Concurrent inserts pass buffers of
// their own.
func (m *memTable) memInsertValue(walStart int64, at int, v []byte, buf *[]byte) []byte {
	if len(v) >= m.walThreshold {
		m.refBytes.Add(int64(len(v)))
		r := walRef{off: wal.PayloadOffset(walStart, int64(at)), n: len(v), crc: crc32.Checksum(v, walValCRC)}
		*buf = appendWALRef((*buf)[:0], r)
		return *buf
	}
	*buf = append(append((*buf)[:0], walValInline), v...)
	return *buf
}

// badValue is the error for a tagged value of m that decodeWALValue
// refused.
func (m *memTable) badValue(v []byte) error {
	return keys.CorruptionError(m.segName, 0, "malformed value (%d bytes) in the memtable it backs", len(v))
}

// readMemValue reads the value r of memtable m refers to in its segment
// and checks it, as readWALRef reads a table's: a value that lies within
// one WAL block is taken from that block in the block cache, keyed by the
// segment's number as a table's references are (so the windows a
// memtable's readers cached serve its tables' after the flush), and with
// fill set a block wholly logged (m.logged: the log is only appended to,
// so its bytes no longer change) is read and cached whole. With ref set, a
// value found in the cache or cached by this read is returned without a
// copy and *ref holds it; otherwise the value is copied or read into dst's
// memory (grown if needed).
func (db *DB) readMemValue(m *memTable, r walRef, dst []byte, fill bool, ref *sstable.BlockRef) ([]byte, error) {
	if win, inWindow := walWindow(r); inWindow {
		if v, ok, err := db.cachedWALValue(m.walNum, 0, win, r, dst, ref); ok || err != nil {
			return v, err
		}
		if fill && win+walWindowSize <= m.logged.Load() {
			seg := walValueSeg{f: m.seg, name: m.segName, size: win + walWindowSize}
			if v, ok, err := db.readWALWindow(m.walNum, 0, seg, win, r, dst, ref); ok || err != nil {
				return v, err
			}
		}
	}
	return db.readSegValue(m.seg, m.segName, r, dst, 0)
}

// readSegValue reads the value r refers to in segment f (named name) into
// dst's memory (grown if needed) and checks it against r's checksum; table
// is the number of the table holding r, 0 for a memtable.
func (db *DB) readSegValue(f vfs.File, name string, r walRef, dst []byte, table uint64) ([]byte, error) {
	out, err := wal.ReadPayload(f, name, r.off, r.n, dst)
	if err != nil {
		return nil, err
	}
	if crc32.Checksum(out, walValCRC) != r.crc {
		return nil, badWALValueSum(name, r, table)
	}
	db.metrics.walValueReads.Add(1)
	return out, nil
}

// openMemSegment makes m a memtable whose values of the threshold or more
// stay in its segment (walRefMemtable), when the DB keeps values in the
// WAL: it opens the segment, just created, for reading. The last
// reference to m closes it (memTable.unref), so a reader of a read state
// that still lists m reads its values even after the segment is deleted.
func (db *DB) openMemSegment(m *memTable) error {
	if db.opts.WALValueThreshold <= 0 {
		return nil
	}
	name := manifest.MakeFilename(db.dir, manifest.FileTypeLog, m.walNum)
	f, err := db.fs.Open(name)
	if err != nil {
		return fmt.Errorf("strata: open WAL segment %s to read values: %w", name, err)
	}
	m.seg, m.segName, m.walThreshold = f, name, db.opts.WALValueThreshold
	return nil
}

// walValueWriter turns the tagged values of a walRefMemtable into what
// the flush's tables store: with refer set, the tables refer to the
// segment and store the values as the memtable does; without, the tables
// hold every value (a segment mostly not values of the threshold or more
// is not worth keeping: see walValueRefer).
type walValueWriter struct {
	db    *DB
	m     *memTable
	refer bool
	buf   []byte // a value read from the segment
}

// walValueRefer reports whether the tables flushed from m should refer to
// its segment: when the values it leaves there are half of the segment or
// more.
func (db *DB) walValueRefer(m *memTable) bool {
	db.mu.Lock()
	w := m.wal
	db.mu.Unlock()
	if w == nil {
		return false
	}
	n := m.refBytes.Load()
	return n > 0 && n*2 >= w.Size()
}

// value returns what the table stores for the memtable's entry (ikey, v),
// and the bytes of the value it leaves in the segment (0 when it holds
// the value).
func (w *walValueWriter) value(ikey, v []byte) ([]byte, int, error) {
	if _, kind := keys.SplitTrailer(keys.TrailerOf(ikey)); kind != keys.KindSet {
		return v, 0, nil
	}
	inline, r, isRef, ok := decodeWALValue(v)
	switch {
	case !ok:
		return nil, 0, w.m.badValue(v)
	case w.refer && isRef:
		return v, r.n, nil
	case w.refer:
		return v, 0, nil
	case !isRef:
		return inline, 0, nil
	}
	val, err := w.db.readMemValue(w.m, r, w.buf[:0], false, nil)
	if err != nil {
		return nil, 0, err
	}
	w.buf = val
	return val, 0, nil
}

// deleteObsoleteWALsLocked deletes the segments kept for tables that no
// live version names any more. Called with obsolete.mu held, when an
// edit removed tables that referred to segments.
func (db *DB) deleteObsoleteWALsLocked() {
	o := &db.obsolete
	if !o.walDirty || len(o.wals) == 0 {
		o.walDirty = false
		return
	}
	live := db.vs.LiveWALRefs()
	v := db.vs.Current()
	cur := walRefBytes(v)
	v.Unref()
	o.walDirty = false
	for num := range o.wals {
		if _, ok := live[num]; ok {
			// A segment only an older version still names is looked at
			// again when a read state is released.
			if _, ok := cur[num]; !ok {
				o.walDirty = true
			}
			continue
		}
		delete(o.wals, num)
		db.closeWALValueSeg(num)
		db.blockCache.EvictFile(num)
		db.removeFile(manifest.MakeFilename(db.dir, manifest.FileTypeLog, num))
	}
}

// walRefBytes returns, for each WAL segment v's tables refer to, the
// bytes of values they refer to in it.
func walRefBytes(v *manifest.Version) map[uint64]uint64 {
	out := make(map[uint64]uint64)
	for _, files := range v.Levels {
		for _, f := range files {
			if f.WALRef != 0 {
				out[f.WALRef] += f.WALRefBytes
			}
		}
	}
	return out
}

// noteWALValuesLocked records, after an edit added tables that refer to
// segment num (a flush) or at Open (num 0: every segment v's tables refer
// to), the bytes they refer to, the measure pickWALValueRewriteLocked
// judges the segment against.
func (db *DB) noteWALValuesLocked(v *manifest.Version, num uint64) {
	db.checkMuHeld("noting WAL values")
	if db.mu.walValueBytes == nil {
		db.mu.walValueBytes = make(map[uint64]uint64)
	}
	for seg, n := range walRefBytes(v) {
		if num == 0 || seg == num {
			db.mu.walValueBytes[seg] += n
		}
	}
}

// pickWALValueRewriteLocked returns a compaction that rewrites a table
// referring to values in a segment its tables now refer to less than half
// of (the rest deleted: a Raft log truncated from its head), so the
// values still live are copied into tables and the segment can go; nil if
// there is none. L0 tables are left to go down with L0.
func (db *DB) pickWALValueRewriteLocked() *compaction.Compaction {
	if len(db.mu.walValueBytes) == 0 || db.opts.ReadOnly {
		return nil
	}
	v := db.mu.rs.v
	live := walRefBytes(v)
	for num := range db.mu.walValueBytes {
		if _, ok := live[num]; !ok {
			delete(db.mu.walValueBytes, num) // no table refers to it any more
		}
	}
	for level := 1; level < len(v.Levels); level++ {
		for _, f := range v.Levels[level] {
			if f.WALRef == 0 || f.Compacting || live[f.WALRef]*2 >= db.mu.walValueBytes[f.WALRef] {
				continue
			}
			if c := compaction.PickRewrite(v, db.compactionOptions(), compaction.ReasonWALValues, level, f); c != nil {
				return c
			}
		}
	}
	return nil
}

package lsm

import (
	"bytes"
	"fmt"
	"time"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/manifest"
	"github.com/stratadb/strata/rangedel"
)

// flushLoop writes immutable memtables to L0 tables, oldest first, one at a
// time. It runs until Close.
func (db *DB) flushLoop() {
	defer db.bgWG.Done()
	db.mu.Lock()
	defer db.mu.Unlock()
	for {
		for !db.mu.bgStop && (len(db.mu.imm) == 0 || db.mu.bgErr != nil) {
			db.mu.bgCond.Wait()
		}
		if db.mu.bgStop {
			return
		}
		m := db.mu.imm[0]
		db.mu.Unlock()
		err := db.flushMemtable(m)
		db.mu.Lock()
		if err == nil {
			db.mu.flushedWAL = m.walNum
		}
		db.mu.bgCond.Broadcast()
		if err != nil {
			db.mu.Unlock()
			db.setBackgroundError(fmt.Errorf("strata: flush: %w", err))
			db.mu.Lock()
		}
	}
}

// flushMemtable writes m to an L0 table, records it in the MANIFEST with the
// WAL number of the next memtable (so m's WAL is no longer needed), and only
// then deletes m's WAL segment.
func (db *DB) flushMemtable(m *memTable) error {
	start := time.Now()
	info := FlushInfo{}
	db.opts.EventListener.flushBegin(info)
	var metas []*manifest.FileMeta
	// Everything into the main list (see memtable.NewStaged); no writer
	// adds to an immutable memtable, so the flusher may finish it.
	if err := m.mt.Finish(); err != nil {
		info.Err = err
		db.opts.EventListener.flushEnd(info)
		return err
	}
	var vw *walValueWriter
	refer := false // the tables refer to m's segment
	if !m.mt.Empty() {
		if m.walRefMemtable() {
			refer = db.walValueRefer(m)
			vw = &walValueWriter{db: db, m: m, refer: refer}
		}
		var err error
		metas, err = db.writeFlushTables(m.mt.NewIter(), m.mt.RangeDels(), vw)
		if err != nil {
			info.Err = err
			db.opts.EventListener.flushEnd(info)
			return err
		}
		for _, meta := range metas {
			if info.TableNum == 0 {
				info.TableNum = meta.FileNum
			}
			info.Tables++
			info.Entries += meta.NumEntries
			info.Bytes += meta.Size
		}
	}
	if refer {
		// The tables refer to the segment: it must be durable before
		// they are (a power loss must not keep a table and lose what it
		// refers to), and it must outlive them.
		if err := db.syncFlushedWAL(m); err != nil {
			for _, meta := range metas {
				db.removeFile(manifest.MakeFilename(db.dir, manifest.FileTypeTable, meta.FileNum))
			}
			info.Err = err
			db.opts.EventListener.flushEnd(info)
			return err
		}
	}
	db.mu.Lock()
	next := db.mu.mem.walNum
	if len(db.mu.imm) > 1 {
		next = db.mu.imm[1].walNum
	}
	db.mu.Unlock()
	// Every piece in one edit: the flush is in the MANIFEST whole or not
	// at all, as with one table.
	edit := &manifest.VersionEdit{LogNum: next, LastSeq: m.maxSeq}
	for _, meta := range metas {
		edit.Added = append(edit.Added, manifest.NewFile{Level: 0, Meta: meta})
	}
	db.manifestMu.Lock()
	if err := db.vs.LogAndApply(edit); err != nil {
		db.manifestMu.Unlock()
		info.Err = err
		db.opts.EventListener.flushEnd(info)
		return err
	}
	if refer {
		// Only now that a version names the tables: a segment in the kept
		// set that no live version names is deleted.
		db.keepWAL(m.walNum)
	}
	db.mu.Lock()
	db.mu.imm = db.mu.imm[1:]
	db.mu.releasing++
	old := db.installReadStateLocked(db.vs.Current())
	if refer {
		db.noteWALValuesLocked(db.mu.rs.v, m.walNum)
	}
	db.maybeScheduleCompactionLocked()
	db.mu.bgCond.Broadcast()
	db.mu.Unlock()
	db.manifestMu.Unlock()
	releaseState(old)
	m.unref() // the DB's: readers of older read states may still hold it
	db.mu.Lock()
	db.mu.releasing--
	db.mu.bgCond.Broadcast()
	db.mu.Unlock()
	db.resizeCache(0) // the cache may take back what m held

	db.closeWAL(m)
	if !refer {
		if m.walRefMemtable() {
			// Blocks of the segment its readers cached (readMemValue),
			// which no table refers to.
			db.blockCache.EvictFile(m.walNum)
		}
		db.removeFile(manifest.MakeFilename(db.dir, manifest.FileTypeLog, m.walNum))
	}
	if len(metas) > 0 {
		db.metrics.flushes.Add(1)
		db.metrics.flushBytes.Add(int64(info.Bytes))
	}
	info.Duration = time.Since(start)
	db.opts.EventListener.flushEnd(info)
	db.opts.Logger.Info("flushed memtable", "table", info.TableNum, "tables", info.Tables, "entries", info.Entries, "bytes", info.Bytes, "duration", info.Duration)
	return nil
}

// flushPieceMin returns the smallest piece a flush is cut into: a quarter
// of the target file size. A piece is a table (a file, its index and
// filter, a table-cache slot, a MANIFEST record) whatever it holds, so
// pieces far below a base-level table cost more in overhead than they
// save; at a quarter, a flush makes at most four tables per target file of
// data, and a piece still spans few base-level tables, so an L0 compaction
// of a window of them takes little beyond it.
func (db *DB) flushPieceMin() uint64 {
	return uint64(max(db.opts.TargetFileSize/4, 1))
}

// flushBoundaries returns the user keys a flush may be cut at: the smallest
// key of each base-level table but the first (see compaction.Targets), so
// each piece lies over a group of adjacent base-level tables, and an L0
// compaction of a window of them takes whole pieces. None while the base
// level has fewer than two tables.
func flushBoundaries(v *manifest.Version, o compaction.Options) [][]byte {
	base, _ := compaction.Targets(v, o)
	files := v.Levels[base]
	if len(files) < 2 {
		return nil
	}
	out := make([][]byte, 0, len(files)-1)
	for _, f := range files[1:] {
		out = append(out, f.SmallestUserKey())
	}
	return out
}

// writeFlushTables writes every entry of it and the range tombstones rdels
// to new L0 tables, cut at the base level's table boundaries into pieces
// of at least flushPieceMin bytes (the last may be smaller); it closes it.
// With vw set, the entries are a walRefMemtable's, and vw says what the
// tables store for each value (they refer to its segment if vw.refer).
// A piece's range tombstones are clipped to the keys between its cuts, so
// the pieces do not overlap. An empty result writes no table. On failure
// the tables written are removed.
func (db *DB) writeFlushTables(it keys.Iterator, rdels rangedel.List, vw *walValueWriter) (metas []*manifest.FileMeta, err error) {
	defer it.Close()
	v := db.vs.Current()
	defer v.Unref()
	bounds := flushBoundaries(v, db.compactionOptions())
	minPiece := db.flushPieceMin()
	var out *tableOutput
	var lower []byte // the cut below the current piece; nil: none
	defer func() {
		if err != nil {
			if out != nil {
				out.Abort()
			}
			for _, m := range metas {
				db.removeFile(manifest.MakeFilename(db.dir, manifest.FileTypeTable, m.FileNum))
			}
			metas = nil
		}
	}()
	finish := func(cut []byte) error {
		if rd := rdels.Clip(lower, cut); len(rd) > 0 {
			if err := out.SetRangeDels(rd); err != nil {
				return err
			}
		}
		meta, err := out.Finish() // removes its file on failure
		out = nil
		if err != nil {
			return err
		}
		if meta != nil {
			metas = append(metas, meta)
		}
		lower = cut
		return nil
	}
	bi := 0 // the first boundary above the keys written
	for ok := it.First(); ok; ok = it.Next() {
		ukey := keys.UserKey(it.Key())
		if bi < len(bounds) && bytes.Compare(ukey, bounds[bi]) >= 0 {
			// The key passed one boundary or more: the last of them is
			// where the current piece may end. (Every version of a user
			// key lands in one piece: the cut is at the key's first.)
			for bi < len(bounds) && bytes.Compare(ukey, bounds[bi]) >= 0 {
				bi++
			}
			if out != nil && out.EstimatedSize() >= minPiece {
				if err := finish(bounds[bi-1]); err != nil {
					return nil, err
				}
			}
		}
		if out == nil {
			if out, err = db.newTableOutput(0, v); err != nil {
				return nil, err
			}
			if vw != nil && vw.refer {
				out.walRef = vw.m.walNum
			}
		}
		val := it.Value()
		if vw != nil {
			var n int
			if val, n, err = vw.value(it.Key(), val); err != nil {
				return nil, err
			}
			out.walRefBytes += uint64(n)
		}
		if err := out.Add(it.Key(), val); err != nil {
			return nil, err
		}
	}
	if err := it.Error(); err != nil {
		return nil, err
	}
	if out == nil && len(rdels.Clip(lower, nil)) > 0 {
		// Tombstones past the last key (or a memtable of tombstones only).
		if out, err = db.newTableOutput(0, v); err != nil {
			return nil, err
		}
		if vw != nil && vw.refer {
			out.walRef = vw.m.walNum // it holds no value, but says so alike
		}
	}
	if out != nil {
		if err := finish(nil); err != nil {
			return nil, err
		}
	}
	return metas, nil
}

// syncFlushedWAL makes the WAL segment of memtable m, about to be flushed,
// durable.
func (db *DB) syncFlushedWAL(m *memTable) error {
	db.walSyncMu.Lock()
	defer db.walSyncMu.Unlock()
	db.mu.Lock()
	w := m.wal
	db.mu.Unlock()
	if w == nil {
		return fmt.Errorf("strata: flush: WAL segment %d closed before its tables were written", m.walNum)
	}
	if w.SyncedSize() == w.FlushedSize() {
		return nil // every byte of it is durable already (SyncAlways, or the last write synced)
	}
	if err := w.Sync(); err != nil {
		return fmt.Errorf("strata: flush: sync WAL segment %d: %w", m.walNum, err)
	}
	return nil
}

// closeWAL closes the WAL writer of a flushed memtable.
func (db *DB) closeWAL(m *memTable) {
	db.walSyncMu.Lock()
	db.mu.Lock()
	w := m.wal
	m.wal = nil
	db.mu.Unlock()
	db.walSyncMu.Unlock()
	if w != nil {
		_ = w.Close() // its contents are in a durable table now
	}
}

// removeFile deletes a file the DB no longer needs; a failure is only logged
// (the file is garbage, collected again at the next Open).
func (db *DB) removeFile(name string) {
	if err := db.fs.Remove(name); err != nil {
		db.opts.Logger.Warn("could not remove obsolete file", "file", name, "err", err)
	}
}

func (l *EventListener) flushBegin(i FlushInfo) {
	if l.FlushBegin != nil {
		l.FlushBegin(i)
	}
}

func (l *EventListener) flushEnd(i FlushInfo) {
	if l.FlushEnd != nil {
		l.FlushEnd(i)
	}
}

// Flush writes the mutable memtable to an L0 table and waits until every
// memtable written before the call is in a table, its memory released
// (unless a reader still holds it) and its WAL segment deleted.
func (db *DB) Flush() error {
	if err := db.writable(); err != nil {
		return err
	}
	// Rotate through the commit pipeline, so no write is half-applied.
	req := getReq()
	req.kind = reqRotate
	err := db.commitWrite(req)
	putReq(req)
	if err != nil {
		return err
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	// Every memtable older than the mutable one must reach a table, and
	// its flush end: a memtable leaves imm before the flusher drops its
	// reference and deletes its WAL, and a caller may count on both once
	// Flush returns.
	want := db.mu.rotatedWAL
	for db.mu.flushedWAL < want {
		if db.mu.bgErr != nil {
			return db.mu.bgErr
		}
		if db.closed.Load() {
			return ErrClosed
		}
		db.mu.bgCond.Wait()
	}
	return nil
}

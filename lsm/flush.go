package lsm

import (
	"fmt"
	"time"

	"github.com/stratadb/strata/manifest"
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
	var meta *manifest.FileMeta
	// Everything into the main list (see memtable.NewStaged); no writer
	// adds to an immutable memtable, so the flusher may finish it.
	if err := m.mt.Finish(); err != nil {
		info.Err = err
		db.opts.EventListener.flushEnd(info)
		return err
	}
	if !m.mt.Empty() {
		var err error
		meta, err = db.writeTable(m.mt.NewIter(), m.mt.RangeDels())
		if err != nil {
			info.Err = err
			db.opts.EventListener.flushEnd(info)
			return err
		}
		info.TableNum, info.Entries, info.Bytes = meta.FileNum, meta.NumEntries, meta.Size
	}
	db.mu.Lock()
	next := db.mu.mem.walNum
	if len(db.mu.imm) > 1 {
		next = db.mu.imm[1].walNum
	}
	db.mu.Unlock()
	edit := &manifest.VersionEdit{LogNum: next, LastSeq: m.maxSeq}
	if meta != nil {
		edit.Added = []manifest.NewFile{{Level: 0, Meta: meta}}
	}
	db.manifestMu.Lock()
	if err := db.vs.LogAndApply(edit); err != nil {
		db.manifestMu.Unlock()
		info.Err = err
		db.opts.EventListener.flushEnd(info)
		return err
	}
	db.mu.Lock()
	db.mu.imm = db.mu.imm[1:]
	old := db.installReadStateLocked(db.vs.Current())
	db.maybeScheduleCompactionLocked()
	db.mu.bgCond.Broadcast()
	db.mu.Unlock()
	db.manifestMu.Unlock()
	releaseState(old)
	m.unref() // the DB's: readers of older read states may still hold it

	db.closeWAL(m)
	db.removeFile(manifest.MakeFilename(db.dir, manifest.FileTypeLog, m.walNum))
	if meta != nil {
		db.metrics.flushes.Add(1)
		db.metrics.flushBytes.Add(int64(meta.Size))
	}
	info.Duration = time.Since(start)
	db.opts.EventListener.flushEnd(info)
	db.opts.Logger.Info("flushed memtable", "table", info.TableNum, "entries", info.Entries, "bytes", info.Bytes, "duration", info.Duration)
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

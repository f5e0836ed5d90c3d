package lsm

import (
	"errors"
	"fmt"
)

// Close waits for background work, flushes and fsyncs the WAL, and releases
// the directory lock: a clean Close loses nothing, whatever the SyncMode.
// A compaction running when Close is called runs to its end (its result
// is kept); none starts after, and a Compact call in progress stops.
// While iterators or snapshots are open, Close returns an error and leaves
// the DB open rather than pull files from under them. After Close every
// method returns ErrClosed; a second Close returns ErrClosed.
func (db *DB) Close() error {
	db.mu.Lock()
	if db.closed.Load() {
		db.mu.Unlock()
		return ErrClosed
	}
	if db.mu.iters > 0 || len(db.mu.snaps.seqs) > 0 {
		n, s := db.mu.iters, len(db.mu.snaps.seqs)
		db.mu.Unlock()
		return fmt.Errorf("%w: %d iterators and %d snapshots are still open; close them first", ErrInvalidArgument, n, s)
	}
	db.closed.Store(true)
	db.mu.bgCond.Broadcast() // wake stalled writers: they fail with ErrClosed
	db.mu.Unlock()

	// Wait for the commit pipeline to drain: once the close request leads,
	// no write is in flight and every later one fails with ErrClosed.
	req := newReq()
	req.kind = reqClose
	db.commitWrite(req)

	// Let the running compactions finish (closed keeps new ones from
	// starting): one stopped halfway is work thrown away, started again
	// from nothing by the next Open. A DB opened for sessions shorter than
	// its largest compaction (a command-line tool, a batch job, a process
	// restarted often) would otherwise never pay a compaction debt down,
	// and every seek of every session would keep reading a block of each
	// L0 table.
	db.mu.Lock()
	db.mu.comp.closing = true
	for db.mu.comp.running > 0 && db.mu.bgErr == nil {
		db.mu.bgCond.Wait()
	}
	db.mu.bgStop = true
	db.mu.bgCond.Broadcast()
	db.mu.Unlock()
	close(db.stopc)
	if db.applyc != nil {
		close(db.applyc) // no leader can send any more
	}
	db.bgWG.Wait()
	db.dropPrewrittenWAL()

	var errs []error
	// Stop the memtables' background copies (see memtable.NewStaged): no
	// goroutine of the DB outlives Close.
	db.mu.Lock()
	mems := append(append([]*memTable(nil), db.mu.imm...), db.mu.mem)
	db.mu.Unlock()
	for _, m := range mems {
		if err := m.mt.Finish(); err != nil {
			errs = append(errs, fmt.Errorf("strata: memtable at close: %w", err))
		}
	}
	if !db.opts.ReadOnly {
		db.walSyncMu.Lock()
		db.mu.Lock()
		mems := append(append([]*memTable(nil), db.mu.imm...), db.mu.mem)
		bgErr := db.mu.bgErr
		db.mu.Unlock()
		for _, m := range mems {
			if m.wal == nil {
				continue
			}
			if bgErr == nil {
				if err := m.wal.Flush(); err != nil {
					errs = append(errs, fmt.Errorf("strata: WAL flush at close: %w", err))
				} else if err := m.wal.Sync(); err != nil {
					errs = append(errs, fmt.Errorf("strata: WAL fsync at close: %w", err))
				}
			}
			if err := m.wal.Close(); err != nil && bgErr == nil {
				errs = append(errs, err)
			}
			db.mu.Lock()
			m.wal = nil
			db.mu.Unlock()
		}
		db.walSyncMu.Unlock()
	}
	db.mu.Lock()
	old := db.mu.rs
	db.setReadStateLocked(nil)
	mems = append(append(mems[:0], db.mu.imm...), db.mu.mem)
	db.mu.Unlock()
	releaseState(old)
	// Drop the DB's references: each memtable's arena is freed now, or by
	// the last reader still holding a read state.
	for _, m := range mems {
		m.unref()
	}
	if err := db.vs.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := db.tableCache.Close(); err != nil {
		errs = append(errs, err)
	}
	db.closeWALValueSegs()
	// Free the cached data blocks (off the Go heap): a Get still running
	// frees the block it holds when it is done with it.
	db.blockCache.Close()
	if err := db.lock.Close(); err != nil {
		errs = append(errs, err)
	}
	db.opts.Logger.Info("closed", "dir", db.dir)
	return errors.Join(errs...)
}

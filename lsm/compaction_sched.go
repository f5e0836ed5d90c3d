package lsm

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/internal/iterator"
	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/manifest"
	"github.com/stratadb/strata/rangedel"
)

// compactionState is the scheduling state of flushes and compactions.
// Guarded by db.mu.
type compactionState struct {
	running int // automatic compactions in progress
	// inProgress are the running automatic compactions, for the picker:
	// two L0 compactions into the same level must not overlap in keys.
	inProgress []*compaction.Compaction
	manual     int // manual compactions waiting or running; automatic ones hold off
	// manualActive is set while one Compact call compacts: they take turns,
	// since two picking from the same version would both rewrite its
	// tables.
	manualActive bool
	// closing is set by Close while it waits for the running compactions
	// to end, before it stops the background goroutines.
	closing bool
}

// markCompactingLocked marks c's inputs as taken by a compaction. Every
// change of FileMeta.Compacting goes through it or clearCompactingLocked,
// under db.mu, as the pickers that read the flag run under db.mu too.
func (db *DB) markCompactingLocked(c *compaction.Compaction) {
	db.checkMuHeld("marking compaction inputs")
	manifest.MarkCompacting(c.AllInputs())
}

// clearCompactingLocked releases c's inputs.
func (db *DB) clearCompactingLocked(c *compaction.Compaction) {
	db.checkMuHeld("clearing compaction inputs")
	manifest.ClearCompacting(c.AllInputs())
}

func (db *DB) compactionOptions() compaction.Options {
	return compaction.Options{
		L0Trigger:       db.opts.L0CompactionTrigger,
		LevelMultiplier: db.opts.LevelMultiplier,
		BaseLevelSize:   db.opts.BaseLevelSize,
		TargetFileSize:  db.opts.TargetFileSize,
	}
}

// levelScores returns each level's compaction score.
func (db *DB) levelScores(v *manifest.Version) [manifest.NumLevels]float64 {
	return compaction.Scores(v, db.compactionOptions())
}

// startCompactions starts the goroutine that wakes the scheduler for TTL
// compactions.
func (db *DB) startCompactions() {
	if db.opts.TTLCompactionInterval > 0 {
		db.bgWG.Add(1)
		go db.ttlLoop()
	}
	db.mu.Lock()
	db.maybeScheduleCompactionLocked()
	db.mu.Unlock()
}

// ttlLoop looks for tables whose data has expired every
// TTLCompactionInterval, even when no writes arrive, and for range
// tombstones in the memtable over much table data (maybeFlushForRangeDels).
func (db *DB) ttlLoop() {
	defer db.bgWG.Done()
	t := time.NewTicker(db.opts.TTLCompactionInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			db.mu.Lock()
			db.scheduleTTLLocked()
			db.mu.Unlock()
			db.maybeFlushForRangeDels()
		case <-db.stopc:
			return
		}
	}
}

// maybeScheduleCompactionLocked starts compactions while one is due and
// the concurrency allows. Called with db.mu held.
func (db *DB) maybeScheduleCompactionLocked() {
	db.checkMuHeld("scheduling compactions")
	for db.canCompactLocked() && db.mu.comp.running < db.opts.CompactionConcurrency {
		c := compaction.PickConcurrent(db.mu.rs.v, db.compactionOptions(), db.mu.comp.inProgress)
		if c == nil {
			c = db.pickWALValueRewriteLocked()
		}
		if c == nil {
			return
		}
		db.startCompactionLocked(c)
	}
}

// readCharge records that reads touched extra overlapping L0 tables; when
// the charge passes the allowance (one per 16 KiB of L0, at least 1,000, as
// LevelDB allows seeks), L0 is compacted even though it is below its
// trigger (its deepest window: compaction.PickRead), so a read-heavy DB
// stops paying for the overlap.
func (db *DB) readCharge(n int64) {
	if db.readSeeks.Add(n) < db.readAllowance.Load() {
		return
	}
	db.readSeeks.Store(0)
	db.mu.Lock()
	defer db.mu.Unlock()
	if !db.canCompactLocked() || db.mu.comp.running >= db.opts.CompactionConcurrency {
		return
	}
	if c := compaction.PickReadConcurrent(db.mu.rs.v, db.compactionOptions(), db.mu.comp.inProgress); c != nil {
		db.startCompactionLocked(c)
	}
}

// setReadAllowanceLocked sizes the read allowance from L0's size.
func (db *DB) setReadAllowanceLocked() {
	if db.mu.rs == nil {
		return
	}
	db.readAllowance.Store(max(int64(db.mu.rs.v.LevelSize(0))/(16<<10), 1000))
}

// scheduleTTLLocked starts a TTL compaction if a table's data has expired.
func (db *DB) scheduleTTLLocked() {
	db.checkMuHeld("scheduling a TTL compaction")
	if !db.canCompactLocked() || db.mu.comp.running >= db.opts.CompactionConcurrency {
		return
	}
	now := db.now()
	if c := compaction.PickTTL(db.mu.rs.v, db.compactionOptions(), now.Nanos()); c != nil {
		db.startCompactionLocked(c)
	}
}

func (db *DB) canCompactLocked() bool {
	return !db.opts.ReadOnly && !db.mu.bgStop && !db.closed.Load() && db.mu.bgErr == nil && db.mu.comp.manual == 0 && db.mu.rs != nil
}

// startCompactionLocked marks c's inputs busy and runs it in the
// background. The version c was picked from is referenced until it ends.
func (db *DB) startCompactionLocked(c *compaction.Compaction) {
	db.markCompactingLocked(c)
	v := db.mu.rs.v
	v.Ref()
	db.mu.comp.running++
	db.mu.comp.inProgress = append(db.mu.comp.inProgress, c)
	db.bgWG.Add(1)
	go func() {
		defer db.bgWG.Done()
		err := db.runCompaction(c, v)
		v.Unref()
		db.maybeDeleteObsolete()
		db.mu.Lock()
		db.clearCompactingLocked(c)
		db.mu.comp.running--
		db.mu.comp.inProgress = slices.DeleteFunc(db.mu.comp.inProgress, func(r *compaction.Compaction) bool { return r == c })
		db.mu.bgCond.Broadcast()
		db.mu.Unlock()
		if err != nil && !errors.Is(err, compaction.ErrStopped) {
			db.setBackgroundError(fmt.Errorf("strata: compaction: %w", err))
		}
		db.mu.Lock()
		db.maybeScheduleCompactionLocked()
		db.mu.Unlock()
	}()
}

// runCompaction runs c against version v and installs its result.
func (db *DB) runCompaction(c *compaction.Compaction, v *manifest.Version) error {
	start := time.Now()
	info := CompactionInfo{Reason: c.Reason.String(), Move: c.Kind == compaction.KindMove, Level: c.Level, OutputLevel: c.OutputLevel,
		Inputs: len(c.Inputs[0]) + len(c.Inputs[1]), BytesRead: c.InputBytes()}
	db.opts.EventListener.compactionBegin(info)
	edit := &manifest.VersionEdit{}
	for i, in := range c.Inputs {
		level := c.Level
		if i == 1 {
			level = c.OutputLevel
		}
		for _, f := range in {
			edit.Deleted = append(edit.Deleted, manifest.DeletedFile{Level: level, FileNum: f.FileNum})
		}
	}
	var res compaction.Result
	read := c // the inputs read: a rewrite skips the tables DropCovered drops
	if c.Kind == compaction.KindMove {
		for _, f := range c.Inputs[0] {
			edit.Added = append(edit.Added, manifest.NewFile{Level: c.OutputLevel, Meta: f})
		}
		info.BytesRead = 0
	} else {
		db.mu.Lock()
		snaps := append([]keys.SeqNum(nil), db.mu.snaps.seqs...)
		db.mu.Unlock()
		rdels, err := db.inputRangeDels(c)
		if err != nil {
			info.Err = err
			db.opts.EventListener.compactionEnd(info)
			return err
		}
		now := db.now()
		// Tables a tombstone deletes whole go unread (the edit above
		// deletes them with the other inputs).
		var dropped []*manifest.FileMeta
		read, dropped = compaction.DropCovered(c, rdels, snaps)
		for _, f := range dropped {
			res.CoveredDropped += int64(f.NumEntries)
		}
		info.BytesRead = read.InputBytes()
		runRes, err := compaction.Run(read, db.compactionInput(read), compaction.Env{
			RangeDels: rdels,
			NewOutput: func() (compaction.Output, error) {
				o, err := db.newTableOutput(c.OutputLevel, v)
				if err != nil {
					return nil, err
				}
				return o, nil
			},
			Snapshots: snaps,
			Now:       now.Nanos(), // one instant for the whole compaction
			Version:   v,
			Stopped: func() bool {
				db.mu.Lock()
				defer db.mu.Unlock()
				return db.mu.bgStop
			},
		})
		if err != nil {
			info.Err = err
			db.opts.EventListener.compactionEnd(info)
			return err
		}
		runRes.CoveredDropped += res.CoveredDropped
		res = runRes
		for _, out := range res.Outputs {
			edit.Added = append(edit.Added, manifest.NewFile{Level: c.OutputLevel, Meta: out})
		}
	}
	db.manifestMu.Lock()
	if err := db.vs.LogAndApply(edit); err != nil {
		db.manifestMu.Unlock()
		// The edit may have reached the MANIFEST even though it failed, so
		// the outputs stay: the next Open deletes whatever no version names.
		info.Err = err
		db.opts.EventListener.compactionEnd(info)
		return err
	}
	db.mu.Lock()
	old := db.installReadStateLocked(db.vs.Current())
	db.mu.bgCond.Broadcast()
	db.mu.Unlock()
	db.manifestMu.Unlock()
	releaseState(old)

	written := res.BytesWritten()
	m := &db.metrics
	if c.Kind == compaction.KindMove {
		m.trivialMoves.Add(1)
	} else {
		var obsolete []uint64
		for _, f := range c.AllInputs() {
			obsolete = append(obsolete, f.FileNum)
		}
		db.addObsoleteWALRefs(c.AllInputs())
		db.addObsolete(obsolete...)
		m.compactions.Add(1)
		m.compactRead.Add(int64(read.InputBytes()))
		m.compactWritten.Add(int64(written))
		m.levelRead[c.Level].Add(int64(manifest.TotalSize(read.Inputs[0])))
		m.levelRead[c.OutputLevel].Add(int64(manifest.TotalSize(read.Inputs[1])))
		m.levelWritten[c.OutputLevel].Add(int64(written))
		m.expiredDropped.Add(res.ExpiredRewritten)
		m.tombstonesDropped.Add(res.TombstonesDropped)
		m.rangeDelsDropped.Add(res.RangeDelsDropped)
		m.coveredDropped.Add(res.CoveredDropped)
		if c.Reason == compaction.ReasonTTL {
			m.ttlCompacts.Add(1)
		}
	}
	info.Outputs = len(res.Outputs)
	info.BytesWritten = written
	info.Duration = time.Since(start)
	db.opts.EventListener.compactionEnd(info)
	db.opts.Logger.Info("compaction", "reason", c.Reason.String(), "kind", c.Kind.String(), "level", c.Level, "output_level", c.OutputLevel,
		"inputs", info.Inputs, "outputs", info.Outputs, "read", info.BytesRead, "written", written,
		"expired", res.ExpiredRewritten, "tombstones_dropped", res.TombstonesDropped, "duration", info.Duration)
	return nil
}

// inputRangeDels returns the range tombstones of every input table of c,
// fragmented together.
func (db *DB) inputRangeDels(c *compaction.Compaction) (rangedel.List, error) {
	var lists []rangedel.List
	for _, f := range c.AllInputs() {
		if f.NumRangeDels == 0 {
			continue
		}
		r, h, err := db.tableCache.Get(f.FileNum, int64(f.Size))
		if err != nil {
			return nil, err
		}
		lists = append(lists, r.RangeDels())
		h.Release()
	}
	return rangedel.Merge(lists...), nil
}

// compactionInput returns a merging iterator over every input table.
//
// The input iterators read ahead within compactionReadaheadBudget in all:
// each of the n that may be open at once (one table of each L0 sublevel
// of the inputs, one of the level input) reads at most budget/n per positioned read.
// Each drops its table's point index from the block cache when it closes
// (sstable.Iterator.DropPartsOnClose): an L0 compaction of a hundred
// tables otherwise held every finished input's, some 3 MiB in a 20M-key
// settle, until it ended.
func (db *DB) compactionInput(c *compaction.Compaction) keys.Iterator {
	// L0 inputs are read a sublevel at a time: each sublevel's tables do
	// not overlap, so one of them is open at once.
	var l0 [][]*manifest.FileMeta
	if c.Level == 0 {
		l0 = manifest.ComputeL0Sublevels(c.Inputs[0]).Levels
	}
	n := 1
	if c.Level == 0 {
		n = len(l0)
	}
	if len(c.Inputs[1]) > 0 {
		n++
	}
	share := int(compactionReadaheadBudget(&db.opts) / int64(max(n, 1)))
	open := func(f *manifest.FileMeta) (keys.Iterator, error) {
		it, err := db.openCompactionIter(f)
		if err == nil {
			t, ok := it.(*tableIter)
			if w, isRef := it.(*walRefIter); isRef {
				t, ok = w.Iterator.(*tableIter)
			}
			if ok {
				t.SetReadahead(share)
				t.DropPartsOnClose()
			}
		}
		return it, err
	}
	var srcs []keys.Iterator
	if c.Level == 0 {
		for l := len(l0) - 1; l >= 0; l-- {
			srcs = append(srcs, iterator.NewLevel(l0[l], open, nil, nil))
		}
	} else {
		srcs = append(srcs, iterator.NewLevel(c.Inputs[0], open, nil, nil))
	}
	if len(c.Inputs[1]) > 0 {
		srcs = append(srcs, iterator.NewLevel(c.Inputs[1], open, nil, nil))
	}
	return iterator.NewMerging(srcs...)
}

// Compact compacts the raw key range [lower, upper] (nil = unbounded) down
// to the bottom level, and waits. It first flushes the memtable, so every
// write made before the call is compacted.
//
// Concurrent calls take turns: each waits for the running compactions
// (automatic ones, or another Compact's) to end, and automatic compactions
// wait for every Compact call to return.
func (db *DB) Compact(lower, upper []byte) error {
	if err := db.Flush(); err != nil {
		return err
	}
	db.mu.Lock()
	db.mu.comp.manual++
	for (db.mu.comp.running > 0 || db.mu.comp.manualActive) && db.mu.bgErr == nil && !db.closed.Load() {
		db.mu.bgCond.Wait()
	}
	err := db.mu.bgErr
	if err == nil && db.closed.Load() {
		err = ErrClosed
	}
	if err == nil {
		db.mu.comp.manualActive = true
	}
	db.mu.Unlock()
	defer func(active bool) {
		db.mu.Lock()
		db.mu.comp.manual--
		if active {
			db.mu.comp.manualActive = false
			db.mu.bgCond.Broadcast()
		}
		db.maybeScheduleCompactionLocked()
		db.mu.Unlock()
	}(err == nil)
	if err != nil {
		return err
	}
	// Level by level, the inputs are picked and marked in one critical
	// section of db.mu, as the automatic pickers do.
	o := db.compactionOptions()
	for level := 0; level < manifest.NumLevels; level++ {
		db.mu.Lock()
		if err := db.mu.bgErr; err != nil {
			db.mu.Unlock()
			return err
		}
		if db.closed.Load() {
			db.mu.Unlock()
			return ErrClosed
		}
		v := db.mu.rs.v
		v.Ref()
		c := compaction.PickManual(v, o, level, lower, upper)
		if c != nil && level == compaction.Bottom && !bottomNeedsRewrite(c) {
			c = nil
		}
		if c != nil {
			db.markCompactingLocked(c)
		}
		db.mu.Unlock()
		if c != nil {
			err = db.runCompaction(c, v)
			db.mu.Lock()
			db.clearCompactingLocked(c)
			db.mu.Unlock()
		}
		v.Unref()
		db.maybeDeleteObsolete()
		if err != nil {
			db.setBackgroundError(fmt.Errorf("strata: compaction: %w", err))
			return err
		}
	}
	return nil
}

// bottomNeedsRewrite reports whether a manual compaction of bottom-level
// tables would remove anything: tombstones (kept for snapshots earlier) or
// expiring entries.
func bottomNeedsRewrite(c *compaction.Compaction) bool {
	for _, f := range c.Inputs[0] {
		if f.NumDeletions > 0 || f.LatestExpiry != 0 {
			return true
		}
	}
	return false
}

func (l *EventListener) compactionBegin(i CompactionInfo) {
	if l.CompactionBegin != nil {
		l.CompactionBegin(i)
	}
}

func (l *EventListener) compactionEnd(i CompactionInfo) {
	if l.CompactionEnd != nil {
		l.CompactionEnd(i)
	}
}

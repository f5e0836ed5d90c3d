package lsm

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/stratadb/strata/internal/batchrepr"
	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/manifest"
	"github.com/stratadb/strata/memtable"
	"github.com/stratadb/strata/sstable"
	"github.com/stratadb/strata/vfs"
	"github.com/stratadb/strata/wal"
)

// Open opens the DB in dir, creating dir and an empty DB if there is none.
// opts may be nil for all defaults. It takes an exclusive lock on the
// directory: a second Open, from this process or another, fails with an
// error wrapping ErrLocked. Open replays the WAL segments written since the
// last flush, in order, and flushes what they held to a table.
func Open(dir string, opts *Options) (*DB, error) {
	o := opts.ensureDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	fs := o.FS
	currentName := manifest.MakeFilename(dir, manifest.FileTypeCurrent, 0)
	_, statErr := fs.Stat(currentName)
	exists := statErr == nil
	if o.ReadOnly && !exists {
		return nil, fmt.Errorf("%w in %s (a read-only open cannot create one)", ErrNoDatabase, dir)
	}
	if !o.ReadOnly {
		if err := fs.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("strata: create %s: %w", dir, err)
		}
	}
	lock, err := fs.Lock(manifest.MakeFilename(dir, manifest.FileTypeLock, 0))
	if err != nil {
		if errors.Is(err, vfs.ErrLocked) {
			return nil, fmt.Errorf("%w: %s is open elsewhere: %v", ErrLocked, dir, err)
		}
		return nil, fmt.Errorf("strata: lock %s: %w", dir, err)
	}
	db := &DB{dir: dir, opts: o, fs: fs, lock: lock, stopc: make(chan struct{})}
	db.mu.bgCond.L = &db.mu
	db.heapFactor = heapFactor()
	db.blockCache = sstable.NewCache(o.BlockCacheSize)
	tableName := func(num uint64) string { return manifest.MakeFilename(dir, manifest.FileTypeTable, num) }
	db.tableCache = sstable.NewTableCache(fs, tableName, o.MaxOpenFiles, sstable.ReaderOptions{
		Cache:  db.blockCache,
		Prefix: keys.PartitionPrefixLen,
		Stats:  &db.sstStats,
		// Compactions count apart, so that the read counters say what
		// reads cost.
		CompactionStats: &db.compStats,
	})
	if err := db.recover(exists); err != nil {
		db.tableCache.Close()
		db.blockCache.Close()
		if db.vs != nil {
			db.vs.Close()
		}
		lock.Close()
		return nil, err
	}
	if !o.ReadOnly {
		db.applyc, db.applyDone = make(chan applyJob), make(chan error, 1)
		db.bgWG.Add(2)
		go db.applyLoop()
		go db.flushLoop()
		if o.Sync == SyncEverySec {
			db.bgWG.Add(1)
			go db.syncLoop()
		}
		db.startCompactions()
	}
	db.opts.Logger.Info("opened", "dir", dir, "seq", db.logSeq, "sync", o.Sync.String(), "read_only", o.ReadOnly)
	return db, nil
}

// recover loads the MANIFEST (or creates one), replays the WAL, and sets up
// the mutable memtable and read state.
func (db *DB) recover(exists bool) error {
	manOpts := manifest.Options{FS: db.fs, Dir: db.dir, ReadOnly: db.opts.ReadOnly, Logger: db.opts.Logger}
	names, err := db.fs.List(db.dir)
	if err != nil {
		return fmt.Errorf("strata: list %s: %w", db.dir, err)
	}
	var walNums, usedNums []uint64
	hasTables := false
	for _, n := range names {
		ft, num, ok := manifest.ParseFilename(n)
		if !ok {
			if num, aside := parseAsideName(n); aside {
				usedNums = append(usedNums, num) // moved aside by Repair: never reuse its number
			}
			continue
		}
		switch ft {
		case manifest.FileTypeLog:
			walNums = append(walNums, num)
		case manifest.FileTypeTable:
			hasTables = true
		}
	}
	slices.Sort(walNums)
	if exists {
		db.vs, err = manifest.Recover(manOpts)
	} else {
		if hasTables || len(walNums) > 0 {
			return fmt.Errorf("%w: %s holds tables or WAL segments but no CURRENT file", ErrCorruption, db.dir)
		}
		db.vs, err = manifest.Create(manOpts)
	}
	if err != nil {
		return err
	}
	for _, n := range append(walNums, usedNums...) {
		db.vs.MarkFileNumUsed(n)
	}
	if err := db.checkTablesExist(); err != nil {
		return err
	}

	// Replay the WAL segments the MANIFEST still needs, oldest first.
	logNum := db.vs.LogNum()
	var replay []uint64
	for _, n := range walNums {
		if n >= logNum {
			replay = append(replay, n)
		}
	}
	lastSeq := db.vs.LastSeq()
	var mems []*memtable.Memtable
	cur := memtable.New(db.opts.MemtableSize)
	// The replayed memtables' arenas are off the Go heap: free every one
	// not handed to the DB (a read-only DB serves them; a writable one
	// flushes them to tables below).
	handed := false
	defer func() {
		if !handed {
			for _, m := range mems {
				m.Release()
			}
		}
	}()
	for i, num := range replay {
		newest := i == len(replay)-1
		err := db.replayWAL(num, newest, &lastSeq, func(seq keys.SeqNum, e batchrepr.Entry) error {
			need := memtable.EntrySize(len(e.Key), len(e.Value))
			if e.Kind == keys.KindRangeDelete {
				need = memtable.RangeDelSize(e.Key, e.Value)
			}
			if cur.Size()+need > cur.Capacity() {
				if !cur.Empty() {
					mems = append(mems, cur)
				} else {
					cur.Release()
				}
				cur = memtable.New(max(db.opts.MemtableSize, 2*need))
			}
			if e.Kind == keys.KindRangeDelete {
				return cur.AddRangeDelete(e.Key, e.Value, seq)
			}
			return cur.Add(e.Key, seq, e.Kind, e.Value)
		})
		if err != nil {
			cur.Release()
			return err
		}
	}
	if !cur.Empty() {
		mems = append(mems, cur)
	} else {
		cur.Release()
	}
	db.logSeq = lastSeq
	db.visibleSeq.Store(uint64(lastSeq))

	if db.opts.ReadOnly {
		// Serve the replayed memtables from memory; write nothing.
		handed = true
		for _, m := range mems {
			im := db.newMemTable(m)
			im.maxSeq = lastSeq
			db.mu.imm = append(db.mu.imm, im)
		}
		db.replayedWALs = replay
		db.mu.mem = db.newMemTable(memtable.New(64 << 10))
		db.mu.Lock() // no other goroutine has the DB yet; the rule holds all the same
		db.setReadStateLocked(nil)
		db.installReadStateLocked(db.vs.Current())
		db.mu.Unlock()
		return nil
	}

	// Flush what the WAL held, start a new WAL, and record both in one edit;
	// only then are the old segments deleted.
	edit := &manifest.VersionEdit{LastSeq: lastSeq}
	for _, m := range mems {
		meta, err := db.writeTable(m.NewIter(), m.RangeDels())
		if err != nil {
			return fmt.Errorf("strata: flush recovered WAL: %w", err)
		}
		if meta != nil {
			edit.Added = append(edit.Added, manifest.NewFile{Level: 0, Meta: meta})
		}
	}
	// Memtables start small after Open and grow to MemtableSize (see
	// Options.InitialMemtableSize).
	db.memSize, db.memBorn = db.opts.InitialMemtableSize, time.Now()
	capacity := db.memSize
	db.resizeCache(capacity)
	walNum := db.vs.NewFileNum()
	w, err := db.createWAL(walNum, capacity)
	if err != nil {
		return fmt.Errorf("strata: create WAL: %w", err)
	}
	edit.LogNum = walNum
	if err := db.vs.LogAndApply(edit); err != nil {
		w.Close()
		return err
	}
	db.mu.mem = db.newMemTable(db.newMutableMemtable(capacity))
	db.mu.mem.walNum, db.mu.mem.wal, db.mu.mem.maxSeq = walNum, w, lastSeq
	if err := db.openMemSegment(db.mu.mem); err != nil {
		return err
	}
	db.mu.Lock()
	db.installReadStateLocked(db.vs.Current())
	db.noteWALValuesLocked(db.mu.rs.v, 0)
	db.mu.Unlock()
	db.deleteObsoleteAtOpen()
	return nil
}

// replayWAL applies every record of one WAL segment. A torn tail ends the
// newest segment quietly; anywhere else it is corruption, as is any damage in
// the middle of a log.
func (db *DB) replayWAL(num uint64, newest bool, lastSeq *keys.SeqNum, apply func(keys.SeqNum, batchrepr.Entry) error) error {
	name := manifest.MakeFilename(db.dir, manifest.FileTypeLog, num)
	f, err := db.fs.Open(name)
	if err != nil {
		return fmt.Errorf("strata: open WAL: %w", err)
	}
	defer f.Close()
	r := wal.NewReader(f, name)
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if errors.Is(err, wal.ErrTorn) {
			if newest {
				db.opts.Logger.Warn("WAL ends in a torn record; recovered the intact prefix", "file", name, "offset", r.Offset(), "err", err)
				return nil
			}
			return fmt.Errorf("%w: %s is torn but is not the newest WAL segment: %v", ErrCorruption, name, err)
		}
		if err != nil {
			return err
		}
		seq, count, err := batchrepr.Decode(rec, name, r.Offset(), func(seq keys.SeqNum, e batchrepr.Entry) error {
			return apply(seq, e)
		})
		if err != nil {
			return err
		}
		// Sequence numbers run on without a gap from the MANIFEST's last
		// one through every segment: a gap means records were lost (an
		// older segment cut short reads as a clean end of that file).
		if count > 0 && seq != *lastSeq+1 {
			return keys.CorruptionError(name, r.Offset(), "batch sequence number %d does not follow %d: WAL records are missing", seq, *lastSeq)
		}
		if count > 0 {
			*lastSeq = seq + keys.SeqNum(count) - 1
		}
	}
}

// deleteObsoleteAtOpen removes what a crash may have left behind: tables no
// version names, WAL segments already flushed that no table refers to, old
// MANIFESTs and temporary files. Failures are only logged.
func (db *DB) deleteObsoleteAtOpen() {
	names, err := db.fs.List(db.dir)
	if err != nil {
		return
	}
	live := db.vs.LiveFiles()
	refs := db.vs.LiveWALRefs() // flushed segments tables refer to
	for num := range refs {
		db.keepWAL(num)
	}
	logNum, manNum := db.vs.LogNum(), db.vs.ManifestFileNum()
	for _, n := range names {
		ft, num, ok := manifest.ParseFilename(n)
		if !ok {
			continue
		}
		var dead bool
		switch ft {
		case manifest.FileTypeTable:
			_, isLive := live[num]
			dead = !isLive
		case manifest.FileTypeLog:
			_, referred := refs[num]
			dead = num < logNum && !referred
		case manifest.FileTypeManifest:
			dead = num != manNum
		case manifest.FileTypeTemp:
			dead = true
		}
		if dead {
			db.removeFile(db.dir + string(os.PathSeparator) + n)
		}
	}
}

// syncLoop fsyncs the WAL once a second (SyncEverySec).
func (db *DB) syncLoop() {
	defer db.bgWG.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		db.mu.Lock()
		stop := db.mu.bgStop
		db.mu.Unlock()
		if stop {
			return
		}
		select {
		case <-t.C:
			_ = db.syncWALs() // a failure latches the background error
		case <-db.stopc:
			return
		}
	}
}

// checkTablesExist requires every table the recovered version names to exist
// with its recorded size. A MANIFEST cut at a record boundary reads as a
// clean end; if the records lost recorded a compaction, the version
// recovered names tables that were deleted, and reads would fail one by one
// later. Better to say so at once, as corruption.
func (db *DB) checkTablesExist() error {
	v := db.vs.Current()
	defer v.Unref()
	for level, files := range v.Levels {
		for _, f := range files {
			name := manifest.MakeFilename(db.dir, manifest.FileTypeTable, f.FileNum)
			size, err := db.fs.Stat(name)
			if err != nil && errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("%w: the MANIFEST names L%d table %s, which does not exist (MANIFEST records lost?)", ErrCorruption, level, name)
			}
			if err != nil {
				return fmt.Errorf("strata: stat %s: %w", name, err)
			}
			if uint64(size) != f.Size {
				return fmt.Errorf("%w: table %s has %d bytes, the MANIFEST recorded %d", ErrCorruption, name, size, f.Size)
			}
			if f.WALRef != 0 {
				seg := manifest.MakeFilename(db.dir, manifest.FileTypeLog, f.WALRef)
				if _, err := db.fs.Stat(seg); err != nil {
					return fmt.Errorf("%w: L%d table %s refers to values in WAL segment %s: %w", ErrCorruption, level, name, seg, err)
				}
			}
		}
	}
	return nil
}

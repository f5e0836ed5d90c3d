package raftstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stratadb/strata/lsm"
	"github.com/stratadb/strata/vfs"
)

// Compile-time checks: a *Store is both of Raft's stores.
var (
	_ raft.LogStore    = (*Store)(nil)
	_ raft.StableStore = (*Store)(nil)
)

// ErrKeyNotFound is returned by Get and GetUint64 for a key never set. Its
// message is exactly "not found": hashicorp/raft compares err.Error() with
// that string to tell an absent term or vote from a failure (api.go
// HasExistingState and NewRaft, raft.go requestVote), as raft-boltdb's error
// of the same name reads. It also matches lsm.ErrNotFound with errors.Is.
var ErrKeyNotFound error = notFoundError{}

type notFoundError struct{}

func (notFoundError) Error() string        { return "not found" }
func (notFoundError) Is(target error) bool { return target == lsm.ErrNotFound }

// keyPool holds log-key buffers for GetLog.
var keyPool = sync.Pool{New: func() any { return new([logKeyLen]byte) }}

// Store is a hashicorp/raft LogStore and StableStore on a Strata DB. Every
// method is safe for concurrent use.
//
// Concurrency: mu serializes the writers (StoreLogs, DeleteRange, Set,
// SetUint64, Close) and guards batch, buf, lo, hi, empty and deadBytes, the
// writers' view of the log. Each writer publishes the bounds it leaves to
// the atomics first, last and isEmpty before it unlocks, so FirstIndex,
// LastIndex and GetLog read them without a lock. closed is set once, by
// Close, under mu. The flusher goroutine (flushLoop) owns nothing but its
// channels: DeleteRange sends on flushc without blocking, Close closes stopc
// and waits on flusherDone.
type Store struct {
	db     *lsm.DB
	noSync bool
	// stablePrefix is the stable keys' prefix: prefixStable, or
	// prefixStableV1 in a format 1 store. Set by init.
	stablePrefix byte

	mu    sync.Mutex
	batch *lsm.Batch
	buf   []byte
	lo    uint64
	hi    uint64
	empty bool

	// deadBytes estimates the bytes of entries deleted since the last
	// truncation flush; at flushAt (negative: never) the flusher is woken.
	deadBytes   uint64
	flushAt     int64
	flushc      chan struct{} // capacity 1: a pending request
	stopc       chan struct{}
	flusherDone chan struct{}

	first, last atomic.Uint64
	isEmpty     atomic.Bool
	closed      atomic.Bool

	// recent is the cache of the entries appended last (nil when
	// Options.RecentEntries is negative); it has its own lock.
	recent *recentCache

	// reads is readAhead's memory of recent sequential reads.
	reads [8]atomic.Uint64
	// cursors are GetLog's iterators over sequential runs (cursor.go);
	// gen counts the rewrites of the log that make them stale: DeleteRange
	// and StoreLogs over existing entries add one once their write is
	// visible.
	cursors [4]cursor
	gen     atomic.Uint64
	// uncursored are the last indexes GetLog read without a cursor, the
	// slot after uncursoredAt's the next to take one (noteUncursored).
	uncursored   [8]atomic.Uint64
	uncursoredAt atomic.Uint32
	// cacheBytes is the engine's block cache capacity; cachedTail is the
	// number of last entries whose scattered reads fill it (setCachedTail).
	cacheBytes int64
	cachedTail atomic.Uint64

	c counters
}

// New opens (creating if needed) the store in dir. A directory that holds a
// Strata DB written by something else, or a newer store format, is refused
// with an error wrapping lsm.ErrInvalidArgument.
func New(dir string, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	var eng lsm.Options
	if o.Engine != nil {
		eng = *o.Engine
	}
	eng.Sync = lsm.SyncNo
	if eng.MemtableSize == 0 {
		eng.MemtableSize = DefaultMemtableSize
	}
	if eng.BloomBitsPerKey == 0 {
		eng.BloomBitsPerKey = -1
	}
	if eng.L0CompactionTrigger == 0 {
		eng.L0CompactionTrigger = 1
	}
	if eng.WALValueThreshold == 0 {
		eng.WALValueThreshold = DefaultWALValueThreshold
	}
	if !o.NoWALPrewrite {
		eng.WALPrewrite = true
	}
	if eng.FS == nil {
		eng.FS = writeFS{vfs.Default}
	}
	db, err := lsm.Open(dir, &eng)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, noSync: o.NoSync, flushAt: o.TruncationFlushBytes}
	switch n := o.RecentEntries; {
	case n == 0:
		s.recent = newRecentCache(DefaultRecentEntries)
	case n > 0:
		s.recent = newRecentCache(n)
	}
	if s.flushAt == 0 {
		s.flushAt = eng.MemtableSize
	}
	if err := s.init(); err != nil {
		db.Close()
		return nil, err
	}
	m := db.Metrics()
	s.cacheBytes = m.BlockCacheCapacity
	if n := s.entries(); n > 0 {
		// Values left in the WAL fill the cache as blocks do.
		s.setCachedTail(uint64(m.DiskBytes+m.WALValueBytes) / n)
	}
	s.flushc = make(chan struct{}, 1)
	s.stopc = make(chan struct{})
	s.flusherDone = make(chan struct{})
	go s.flushLoop()
	return s, nil
}

// flushLoop flushes the memtable each time DeleteRange asks, so that its
// range tombstone reaches a table, where the engine's compaction picker
// counts the bytes it covers and compacts them away. It runs until Close.
func (s *Store) flushLoop() {
	defer close(s.flusherDone)
	for {
		select {
		case <-s.stopc:
			return
		case <-s.flushc:
		}
		err := s.db.Flush()
		if err != nil && !errors.Is(err, lsm.ErrClosed) {
			// The engine latches a failed flush and refuses writes; the
			// next StoreLogs reports it.
			s.c.truncationFlushErrors.Add(1)
			continue
		}
		s.c.truncationFlushes.Add(1)
	}
}

// noteDeleted adds the estimated size of n deleted entries to deadBytes
// and wakes the flusher when it reaches flushAt. Called with mu held.
func (s *Store) noteDeleted(n uint64) {
	if s.flushAt < 0 || n == 0 {
		return
	}
	var per uint64
	if e := s.c.entriesAppended.Load(); e > 0 {
		per = s.c.bytesAppended.Load() / e
	} else if live := n + s.entries(); live > 0 {
		// Nothing appended since the open: the tables' bytes per entry,
		// with the values they refer to in the WAL.
		m := s.db.Metrics()
		per = uint64(m.DiskBytes+m.WALValueBytes) / live
	}
	s.deadBytes += n * per
	if s.deadBytes < uint64(s.flushAt) {
		return
	}
	s.deadBytes = 0
	select {
	case s.flushc <- struct{}{}:
	default: // a flush is already pending
	}
}

// entries is the number of entries between the bounds. Called with mu held.
func (s *Store) entries() uint64 {
	if s.empty {
		return 0
	}
	return s.hi - s.lo + 1
}

// init checks or writes the format key, which also tells where the stable
// keys are, and recovers the log bounds with a seek to the first and to the
// last entry. A new store is written in format 2; a format 1 store keeps its
// layout.
func (s *Store) init() error {
	s.stablePrefix = prefixStable
	v, err := s.db.Get(metaFormatKey)
	switch {
	case err == nil:
		if string(v) != formatMagic {
			return fmt.Errorf("raftstore: %w: format key is %q, want %q", lsm.ErrInvalidArgument, v, formatMagic)
		}
	case !errors.Is(err, lsm.ErrNotFound):
		return err
	default:
		v, err = s.db.Get(metaFormatKeyV1)
		switch {
		case err == nil:
			if string(v) != formatMagicV1 {
				return fmt.Errorf("raftstore: %w: format key is %q, want %q", lsm.ErrInvalidArgument, v, formatMagicV1)
			}
			s.stablePrefix = prefixStableV1
		case !errors.Is(err, lsm.ErrNotFound):
			return err
		default:
			empty, err := s.dbEmpty()
			if err != nil {
				return err
			}
			if !empty {
				return fmt.Errorf("raftstore: %w: the directory holds a Strata DB without the raftstore format key", lsm.ErrInvalidArgument)
			}
			if err := s.db.Put(metaFormatKey, []byte(formatMagic)); err != nil {
				return err
			}
			if err := s.sync(); err != nil {
				return err
			}
		}
	}

	it, err := s.db.NewIter(&lsm.IterOptions{LowerBound: logLower, UpperBound: logUpper})
	if err != nil {
		return err
	}
	defer it.Close()
	s.empty = true
	if it.First() {
		if s.lo, err = parseLogKey(it.Key()); err != nil {
			return err
		}
		if !it.Last() {
			return fmt.Errorf("raftstore: %w: log has a first entry but no last", lsm.ErrCorruption)
		}
		if s.hi, err = parseLogKey(it.Key()); err != nil {
			return err
		}
		s.empty = false
	}
	if err := it.Error(); err != nil {
		return err
	}
	s.publish()
	return nil
}

// dbEmpty reports whether the DB has no key at all.
func (s *Store) dbEmpty() (bool, error) {
	it, err := s.db.NewIter(nil)
	if err != nil {
		return false, err
	}
	found := it.First()
	if err := it.Error(); err != nil {
		it.Close()
		return false, err
	}
	return !found, it.Close()
}

// publish copies the writers' bounds to the atomics the readers use. The
// order keeps a reader from seeing stale bounds as non-empty: when the log
// empties, isEmpty is set first; when it fills, last.
func (s *Store) publish() {
	if s.empty {
		s.isEmpty.Store(true)
		s.first.Store(0)
		s.last.Store(0)
		return
	}
	s.first.Store(s.lo)
	s.last.Store(s.hi)
	s.isEmpty.Store(false)
}

// sync fsyncs the WAL (unless NoSync) and records it.
func (s *Store) sync() error {
	if s.noSync {
		return nil
	}
	start := time.Now()
	err := s.db.Sync()
	s.c.observeFsync(time.Since(start))
	return err
}

// FirstIndex returns the first index written, 0 for an empty log.
func (s *Store) FirstIndex() (uint64, error) {
	if s.closed.Load() {
		return 0, lsm.ErrClosed
	}
	if s.isEmpty.Load() {
		return 0, nil
	}
	return s.first.Load(), nil
}

// LastIndex returns the last index written, 0 for an empty log.
func (s *Store) LastIndex() (uint64, error) {
	if s.closed.Load() {
		return 0, lsm.ErrClosed
	}
	if s.isEmpty.Load() {
		return 0, nil
	}
	return s.last.Load(), nil
}

// GetLog fills log with the entry at index, or returns raft.ErrLogNotFound.
// Data and Extensions are the caller's: nothing else refers to them.
func (s *Store) GetLog(index uint64, log *raft.Log) error {
	if s.closed.Load() {
		return lsm.ErrClosed
	}
	if s.isEmpty.Load() || index < s.first.Load() || index > s.last.Load() {
		return raft.ErrLogNotFound
	}
	if s.recent != nil {
		if v, ok := s.recent.get(index); ok {
			s.c.recentHits.Add(1)
			return decodeLog(index, v, log)
		}
	}
	if v, ok := s.readByCursor(index); ok {
		s.c.cursorReads.Add(1)
		return decodeLog(index, v, log)
	}
	// The engine keeps the key slice past the call's stack frame, so a
	// local array would be a heap allocation per read: pool it.
	key := keyPool.Get().(*[logKeyLen]byte)
	putLogKey(key[:], index)
	var opts *lsm.GetOptions
	if !s.readAhead(index) && s.last.Load()-index >= s.cachedTail.Load() {
		opts = &noFillCache
	}
	v, err := s.db.GetAppend(nil, key[:], opts)
	keyPool.Put(key)
	if err != nil {
		if errors.Is(err, lsm.ErrNotFound) {
			return raft.ErrLogNotFound
		}
		return err
	}
	return decodeLog(index, v, log)
}

// noFillCache is the engine read option of GetLog's scattered reads.
var noFillCache = lsm.GetOptions{NoFillCache: true}

// setCachedTail sets how many of the log's last entries GetLog lets fill
// the engine's block cache at random: as many as half the cache holds at
// perEntry bytes each (the other half for runs). Reads of that tail keep
// it cached however they come; reads farther back than the cache could
// hold leave it alone.
func (s *Store) setCachedTail(perEntry uint64) {
	if perEntry == 0 {
		return
	}
	s.cachedTail.Store(uint64(s.cacheBytes) / 2 / perEntry)
}

// readAhead reports whether GetLog of index should leave the table block it
// reads in the engine's block cache: when index follows an index read
// lately, as when Raft replicates a run of entries to a follower (the next
// entries then sit in the same block). A read elsewhere, as in a scan of
// old entries at random, keeps the block out of the cache, where it would
// cost an allocation and evict a block a sequential reader still wants.
// It remembers the last index of up to len(s.reads) runs, a slot per run
// chosen by the index's block-sized neighbourhood; a lost race between two
// readers only costs a cache fill more or less.
func (s *Store) readAhead(index uint64) bool {
	slot := &s.reads[(index>>readRunShift)%uint64(len(s.reads))]
	prev := slot.Swap(index)
	if prev+1 == index || prev == index {
		return true
	}
	// A run that just crossed into the next neighbourhood.
	other := &s.reads[((index-1)>>readRunShift)%uint64(len(s.reads))]
	return other != slot && other.Load()+1 == index
}

// readRunShift groups indexes for readAhead's slots: 64 entries, at least
// one table block of small entries.
const readRunShift = 6

// StoreLog stores one entry.
func (s *Store) StoreLog(log *raft.Log) error {
	return s.StoreLogs([]*raft.Log{log})
}

// StoreLogs stores entries in one batch made durable by one fsync: after a
// crash either all of them are there or none.
func (s *Store) StoreLogs(logs []*raft.Log) error {
	if len(logs) == 0 {
		return nil
	}
	start := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return lsm.ErrClosed
	}
	if s.batch == nil {
		s.batch = s.db.NewBatch()
	}
	b := s.batch
	b.Reset()
	var key [logKeyLen]byte
	lo, hi := logs[0].Index, logs[0].Index
	var bytes uint64
	for _, l := range logs {
		if l == nil {
			return fmt.Errorf("raftstore: %w: nil log entry", lsm.ErrInvalidArgument)
		}
	}
	// The cache takes each entry as it is encoded, under its lock for that
	// entry's copy alone (a reader never waits for a whole batch of large
	// entries). Should Apply fail, the call's slots are cleared again: the
	// cache never answers for an entry the engine does not hold.
	for _, l := range logs {
		putLogKey(key[:], l.Index)
		if need := encodedLen(l); cap(s.buf) < need {
			s.buf = make([]byte, 0, need)
		}
		s.buf = appendLog(s.buf[:0], l)
		b.Put(key[:], s.buf)
		if s.recent != nil {
			s.recent.set(l.Index, s.buf)
		}
		bytes += uint64(logKeyLen + len(s.buf))
		lo, hi = min(lo, l.Index), max(hi, l.Index)
	}
	// Keep a huge entry's buffer from staying pinned.
	if cap(s.buf) > 1<<20 {
		s.buf = nil
	}
	rewrites := !s.empty && lo <= s.hi
	err := s.db.Apply(b)
	if rewrites {
		s.gen.Add(1) // entries rewritten: GetLog's cursors must not answer for them (cursor.go)
	}
	if err != nil {
		if s.recent != nil {
			s.recent.drop(lo, hi)
		}
		return err
	}
	// The entries are visible from here on, so the bounds follow them even
	// if the fsync fails (the engine then refuses further writes).
	if s.empty {
		s.lo, s.hi, s.empty = lo, hi, false
	} else {
		s.lo, s.hi = min(s.lo, lo), max(s.hi, hi)
	}
	s.publish()
	if err := s.sync(); err != nil {
		return err
	}
	s.c.appends.Add(1)
	s.c.entriesAppended.Add(uint64(len(logs)))
	s.c.bytesAppended.Add(bytes)
	s.setCachedTail(s.c.bytesAppended.Load() / s.c.entriesAppended.Load())
	s.c.appendNanos.Add(uint64(time.Since(start)))
	s.sweepCursors(false, time.Now())
	return nil
}

// DeleteRange deletes the entries from min to max, both inclusive, with one
// range tombstone: its cost does not depend on the number of entries, and
// compaction gives their space back. min > max deletes nothing.
func (s *Store) DeleteRange(min, max uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return lsm.ErrClosed
	}
	if min > max || s.empty || max < s.lo || min > s.hi {
		return nil
	}
	var start, end [logKeyLen]byte
	putLogKey(start[:], min)
	endKey := logUpper
	if max < ^uint64(0) {
		putLogKey(end[:], max+1)
		endKey = end[:]
	}
	// Narrow the published bounds before the entries go, so a reader never
	// finds a hole inside [FirstIndex, LastIndex]: from here on the doomed
	// entries are outside them.
	oldLo, oldHi := s.lo, s.hi
	switch {
	case min <= s.lo && max >= s.hi:
		s.empty, s.lo, s.hi = true, 0, 0
	case min <= s.lo:
		s.lo = max + 1
	case max >= s.hi:
		s.hi = min - 1
	}
	s.publish()
	if s.recent != nil {
		s.recent.drop(min, max)
	}
	err := s.db.DeleteRange(start[:], endKey)
	// GetLog's cursors must not answer for the entries gone, and hold
	// their tables and segments: let them go, so that compaction gives
	// the space back (cursor.go).
	s.gen.Add(1)
	s.sweepCursors(true, time.Time{})
	if err != nil {
		s.empty, s.lo, s.hi = false, oldLo, oldHi
		s.publish()
		return err
	}
	s.c.truncations.Add(1)
	// The entries it deleted, as far as the bounds tell (Raft leaves no
	// holes): [min, max] clipped to [oldLo, oldHi].
	from, to := min, max
	if from < oldLo {
		from = oldLo
	}
	if to > oldHi {
		to = oldHi
	}
	deleted := to - from + 1
	// With a gap next to the deleted range (Raft makes none, its bench
	// suite does), the new bound is the next entry: one seek finds it.
	switch {
	case s.empty:
	case min <= oldLo:
		lo, err := s.seek(end[:], true)
		if err != nil {
			return err
		}
		s.lo = lo
	case max >= oldHi:
		hi, err := s.seek(start[:], false)
		if err != nil {
			return err
		}
		s.hi = hi
	}
	s.publish()
	if err := s.sync(); err != nil {
		return err
	}
	s.noteDeleted(deleted)
	return nil
}

// seek returns the index of the first entry at or after key (ge) or the
// last entry before it. The caller knows such an entry exists.
func (s *Store) seek(key []byte, ge bool) (uint64, error) {
	it, err := s.db.NewIter(&lsm.IterOptions{LowerBound: logLower, UpperBound: logUpper})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	var ok bool
	if ge {
		ok = it.SeekGE(key)
	} else {
		ok = it.SeekLT(key)
	}
	if !ok {
		if err := it.Error(); err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("raftstore: %w: log bound not found after a truncation", lsm.ErrCorruption)
	}
	return parseLogKey(it.Key())
}

// Set stores a stable-store key durably.
func (s *Store) Set(key, val []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return lsm.ErrClosed
	}
	k := make([]byte, 0, 1+len(key))
	k = append(append(k, s.stablePrefix), key...)
	if err := s.db.Put(k, val); err != nil {
		return err
	}
	if err := s.sync(); err != nil {
		return err
	}
	s.c.stableWrites.Add(1)
	return nil
}

// Get returns the value of a stable-store key, or ErrKeyNotFound (whose
// message is "not found", which Raft treats as absent).
func (s *Store) Get(key []byte) ([]byte, error) {
	if s.closed.Load() {
		return nil, lsm.ErrClosed
	}
	k := make([]byte, 0, 1+len(key))
	k = append(append(k, s.stablePrefix), key...)
	v, err := s.db.Get(k)
	if errors.Is(err, lsm.ErrNotFound) {
		return nil, ErrKeyNotFound
	}
	return v, err
}

// SetUint64 stores val under key as 8 big-endian bytes.
func (s *Store) SetUint64(key []byte, val uint64) error {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], val)
	return s.Set(key, b[:])
}

// GetUint64 returns the uint64 stored under key by SetUint64, or
// ErrKeyNotFound. A value that is not 8 bytes wraps lsm.ErrCorruption.
func (s *Store) GetUint64(key []byte) (uint64, error) {
	v, err := s.Get(key)
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("raftstore: stable key %q: %w: %d-byte value, want 8 for a uint64", key, lsm.ErrCorruption, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// Metrics returns a snapshot of the store's counters.
func (s *Store) Metrics() Metrics {
	m := Metrics{
		Appends:               s.c.appends.Load(),
		EntriesAppended:       s.c.entriesAppended.Load(),
		BytesAppended:         s.c.bytesAppended.Load(),
		Truncations:           s.c.truncations.Load(),
		TruncationFlushes:     s.c.truncationFlushes.Load(),
		TruncationFlushErrors: s.c.truncationFlushErrors.Load(),
		StableWrites:          s.c.stableWrites.Load(),
		Fsyncs:                s.c.fsyncs.Load(),
		FsyncTime:             time.Duration(s.c.fsyncNanos.Load()),
		FsyncMax:              time.Duration(s.c.fsyncMaxNanos.Load()),
		AppendTime:            time.Duration(s.c.appendNanos.Load()),
		RecentHits:            s.c.recentHits.Load(),
		CursorReads:           s.c.cursorReads.Load(),
	}
	if !s.isEmpty.Load() {
		m.FirstIndex, m.LastIndex = s.first.Load(), s.last.Load()
		m.Entries = m.LastIndex - m.FirstIndex + 1
	}
	return m
}

// DB returns the Strata DB under the store, for its metrics, Compact or
// Checkpoint. Closing it is the Store's job. A log entry written to it
// directly is not seen by GetLog while the entry of that index is in the
// store's cache of recent entries (Options.RecentEntries).
func (s *Store) DB() *lsm.DB { return s.db }

// Close stops the flusher (waiting for a flush in progress, if any, which
// writes at most one memtable) and closes the DB (which fsyncs the WAL).
// Every later call returns lsm.ErrClosed, a second Close included.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return lsm.ErrClosed
	}
	s.closed.Store(true)
	s.sweepCursors(true, time.Time{})
	close(s.stopc)
	<-s.flusherDone
	return s.db.Close()
}

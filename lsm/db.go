package lsm

import (
	"io"
	"math"
	"sync"
	"sync/atomic"

	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/internal/manifest"
	"github.com/stratadb/strata/internal/vfs"
	"github.com/stratadb/strata/memtable"
	"github.com/stratadb/strata/sstable"
	"github.com/stratadb/strata/wal"
)

// DB is an open Strata database, returned by Open. Every method is safe for
// concurrent use; Close it when done, after closing its iterators and
// snapshots.
type DB struct {
	// Concurrency, in one place:
	//   - commit.mu guards the commit queue; the request at the head of the
	//     queue is the leader and alone owns the fields marked "leader" (the
	//     WAL writer of the mutable memtable, logSeq, inserts into the
	//     mutable memtable).
	//   - mu guards the fields marked "mu": the memtable list, the read
	//     state, the background error, snapshots, open-iterator counts,
	//     compaction state. bgCond (on mu) signals flushes, compactions and
	//     their waiters.
	//   - manifestMu serialises version edits (LogAndApply) and the file
	//     deletions that follow them.
	//   - walSyncMu serialises syncing and closing WAL writers, so a
	//     background sync never touches a closed WAL.
	//   - visibleSeq is read lock-free by readers; it is published by the
	//     leader after a group is in the memtable.

	dir  string
	opts Options
	fs   vfs.FS
	lock io.Closer

	vs         *manifest.VersionSet
	blockCache *sstable.Cache
	tableCache *sstable.TableCache
	sstStats   sstable.Stats
	metrics    counters

	closed     atomic.Bool
	visibleSeq atomic.Uint64

	commit struct {
		mu    sync.Mutex
		queue []*commitReq
		// returning is how many writers of the last synced group have not
		// written again since; stored and decremented under mu, read by a
		// leader without it (see awaitReturning).
		returning atomic.Int32
	}
	lastSyncNanos atomic.Int64 // how long the last WAL fsync took
	logSeq        keys.SeqNum  // leader: the last sequence number assigned

	mu     sync.Mutex
	bgCond sync.Cond
	mem    *memTable   // mu (swap) + leader (inserts)
	imm    []*memTable // mu: oldest first, waiting to be flushed
	rs     *readState  // mu: what readers read
	bgErr  error       // mu: the first background or WAL error; writes fail until reopen
	snaps  snapshotList
	iters  int  // mu: open iterators
	bgStop bool // mu: background goroutines must exit
	bgWG   sync.WaitGroup
	comp   compactionState // mu

	// replayedWALs are, in a read-only DB, the WAL segments Open replayed
	// into memory; they stay on disk, unchanged, and Checkpoint copies them.
	replayedWALs []uint64

	manifestMu sync.Mutex
	walSyncMu  sync.Mutex
	stopc      chan struct{} // closed by Close to stop background goroutines
	obsolete   obsoleteTables

	// applyc and applyDone hand the apply helper its share of a large
	// group (see applyGroup); nil in a read-only DB.
	applyc    chan applyJob
	applyDone chan error

	// memHeld is the capacity of every memtable whose arena is not yet
	// released (mutable, immutable, and flushed ones a reader still holds).
	memHeld atomic.Int64
	// arenas keeps the last released memtable arena for the next memtable.
	arenas memtable.ArenaPool
	// writerMem is the memory of the table writers of flushes and
	// compactions (sstable.WriterOptions.Memory).
	writerMem  atomic.Int64
	heapFactor float64 // heapFactor() at Open

	// readSeeks counts L0 tables reads touched beyond the first; at
	// readAllowance (set from L0's size whenever the version changes) L0 is
	// compacted (see readCharge).
	readSeeks, readAllowance atomic.Int64
}

// memTable is a memtable with the WAL segment that backs it.
//
// Its arena lives off the Go heap and is freed with the last reference
// (see memtable.Release): the DB holds one while the memtable is db.mem or
// in db.imm, and every read state listing it holds one, so a reader that
// loaded an old read state can still read a memtable flushed since.
type memTable struct {
	mt     *memtable.Memtable
	walNum uint64
	wal    *wal.Writer // nil once closed, or in a read-only DB
	maxSeq keys.SeqNum // leader while mutable; read after rotation under mu
	refs   atomic.Int32
	held   *atomic.Int64 // the DB's count of memtable bytes not yet released
}

// newMemTable wraps mt with the DB's reference and counts its capacity as
// held until the last reference goes.
func (db *DB) newMemTable(mt *memtable.Memtable) *memTable {
	m := &memTable{mt: mt, held: &db.memHeld}
	m.refs.Store(1)
	db.memHeld.Add(mt.Capacity())
	return m
}

func (m *memTable) ref() { m.refs.Add(1) }

// unref drops a reference; the last one frees the memtable's arena.
func (m *memTable) unref() {
	switch n := m.refs.Add(-1); {
	case n == 0:
		m.mt.Release()
		m.held.Add(-m.mt.Capacity())
	case n < 0:
		panic("strata: memtable reference count below zero")
	}
}

// readState is a consistent set of sources for readers: the memtables and
// the version of the moment. Readers take a reference; the last release
// drops the version's reference.
type readState struct {
	refs atomic.Int32
	db   *DB
	mem  *memTable
	imm  []*memTable // oldest first
	v    *manifest.Version

	rdels tableRangeDels // loaded by the first iterator that needs them
}

// seqLatest asks a read for the newest data: the sequence number is taken
// together with the read state, atomically. It is no sequence number a
// snapshot can hold (a snapshot of an empty DB holds 0).
const seqLatest keys.SeqNum = math.MaxUint64

// loadReadState returns the current read state with a reference taken, and
// the sequence number that goes with it. The two must be taken together: a
// compaction installed after a reader took an older sequence number may have
// dropped versions only that reader could see.
func (db *DB) loadReadState() (*readState, keys.SeqNum) {
	db.mu.Lock()
	rs := db.rs
	rs.refs.Add(1)
	seq := keys.SeqNum(db.visibleSeq.Load())
	db.mu.Unlock()
	return rs, seq
}

func (rs *readState) release() {
	if rs.refs.Add(-1) == 0 {
		rs.mem.unref()
		for _, m := range rs.imm {
			m.unref()
		}
		rs.v.Unref()
		rs.db.maybeDeleteObsolete()
	}
}

// installReadStateLocked replaces the read state after a change of memtables
// or version. v carries a reference that passes to the read state. Callers
// hold db.mu, and must release the returned old state after unlocking (its
// release may delete files).
func (db *DB) installReadStateLocked(v *manifest.Version) (old *readState) {
	rs := &readState{db: db, mem: db.mem, imm: append([]*memTable(nil), db.imm...), v: v}
	rs.refs.Store(1)
	rs.mem.ref()
	for _, m := range rs.imm {
		m.ref()
	}
	old = db.rs
	db.rs = rs
	db.setReadAllowanceLocked()
	return old
}

// currentVersionRefLocked returns the version of the current read state with
// a new reference, for a read state that changes only its memtables.
func (db *DB) currentVersionRefLocked() *manifest.Version {
	v := db.rs.v
	v.Ref()
	return v
}

// releaseState releases a read state returned by installReadStateLocked.
func releaseState(rs *readState) {
	if rs != nil {
		rs.release()
	}
}

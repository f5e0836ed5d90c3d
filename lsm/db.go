package lsm

import (
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stratadb/strata/internal/invariants"
	"github.com/stratadb/strata/internal/refcount"
	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/manifest"
	"github.com/stratadb/strata/memtable"
	"github.com/stratadb/strata/sstable"
	"github.com/stratadb/strata/vfs"
	"github.com/stratadb/strata/wal"
)

// DB is an open Strata database, returned by Open. Every method is safe for
// concurrent use; Close it when done, after closing its iterators and
// snapshots.
type DB struct {
	// Concurrency. Each field says who may touch it: "immutable" (set by
	// Open, read freely), "atomic", "leader" (the commit leader alone, see
	// commit.go), or the lock that guards it. Every field a mutex guards is
	// inside that mutex's struct (commit, mu, obsolete), so a use reads
	// db.mu.imm, never a bare db.imm.
	//
	// Lock order: a goroutine holding a lock takes only locks later in this
	// list, never earlier ones.
	//
	//   1. manifestMu serialises version edits (VersionSet.LogAndApply) and
	//      the file deletions that follow them, and holds them off while
	//      Checkpoint copies.
	//   2. walSyncMu serialises syncing and closing WAL writers, so a
	//      background sync never touches a closed WAL.
	//   3. mu guards the memtable list, the read state, the background
	//      error, snapshots, open iterators and compaction state (the
	//      fields of db.mu, and memTable.wal's close).
	//   4. The locks of the engine's other objects, each a leaf taken last:
	//      the VersionSet's (Current, LiveFiles, a version's last Unref), a
	//      memtable's staging lock (Prepare, Retire, Finish), a WAL
	//      writer's (Sync, Close), the table and block caches'.
	//
	// commit.mu guards the commit queue and is a leaf: nothing else is
	// taken while it is held, and it is never taken under another lock.
	// obsolete.mu guards the tables waiting for deletion; it is taken from
	// read-state releases, which callers make after unlocking mu (but
	// possibly under manifestMu, as Checkpoint does), so it is never taken
	// under mu, and under it come only the leaves of 4.
	//
	// The commit leader is a role, not a lock: the request at the head of
	// commit.queue. It holds no lock while it writes, and may take
	// walSyncMu then mu (syncWALs, setBackgroundError) or mu alone
	// (makeRoomForWrite, rotateMemtable), never manifestMu. A flush or
	// compaction takes manifestMu then mu to install its version.
	//
	// Under mu the DB also calls the EventListener's StallBegin and
	// StallEnd and the Logger, which therefore must not call the DB.
	//
	// visibleSeq is read lock-free by readers; the leader publishes it after
	// a group is in the memtable. A point read takes the read state
	// without mu, then visibleSeq (loadReadState); an iterator takes both
	// under mu.

	dir  string  // immutable
	opts Options // immutable
	fs   vfs.FS  // immutable
	lock io.Closer

	vs         *manifest.VersionSet // immutable pointer; has its own lock
	blockCache *sstable.Cache       // immutable pointer; safe for concurrent use
	tableCache *sstable.TableCache  // immutable pointer; safe for concurrent use
	sstStats   sstable.Stats        // atomic; reads' table work
	compStats  sstable.Stats        // atomic; compactions' table reads
	metrics    counters             // atomic

	closed     atomic.Bool
	visibleSeq atomic.Uint64
	// curRS is mu.rs for readers that take it without mu (loadReadState);
	// stored under mu together with it.
	curRS atomic.Pointer[readState]

	commit struct {
		mu    sync.Mutex
		queue []*commitReq // mu: the head is the leader
		// returning is how many writers of the last synced group have not
		// written again since; stored and decremented under mu, read by a
		// leader without it (see awaitReturning).
		returning atomic.Int32
	}
	lastSyncNanos atomic.Int64 // how long the last WAL fsync took
	logSeq        keys.SeqNum  // leader: the last sequence number assigned
	// leader holds the leader's token under the invariants build: the
	// commit leader sets it while it writes a group, and the WAL append,
	// the memtable inserts and the memtable swap check it (see
	// leaderToken).
	leader leaderToken
	// groupView and groupLive are the commit leader's scratch (see
	// writeGroup); only the leader touches them.
	groupView groupView
	groupLive []*commitReq
	// memSize is the size of the mutable memtable (a batch larger than
	// that gets a larger one, see rotateMemtable) and memBorn when it was
	// made: the next one doubles the size, up to MemtableSize, or halves
	// it, down to InitialMemtableSize, when this one took
	// memtableShrinkAge or longer to fill (see Options.InitialMemtableSize).
	// Open, then the leader alone (rotateMemtable).
	memSize int64
	memBorn time.Time

	// cacheMu serializes resizeCache: each sets the block cache's capacity
	// from the memtables of its moment, and the last must see the newest.
	// memNewest, guarded by it, is the size of the newest memtable, made
	// or being made.
	cacheMu   sync.Mutex
	memNewest int64

	mu struct {
		sync.Mutex
		// bgCond (on mu) signals flushes, compactions and their waiters:
		// a change of imm, comp, bgErr, bgStop, snaps or iters.
		bgCond sync.Cond
		// mem is the mutable memtable: swapped under mu by the leader
		// (rotateMemtable), which alone inserts into it and may read the
		// field without mu.
		mem *memTable
		// imm are the immutable memtables, oldest first, waiting to be
		// flushed.
		imm []*memTable
		// releasing counts the memtables that left imm with their flush
		// whose flusher has not yet dropped its references to them (the
		// old read state's and the DB's). They still hold their arenas,
		// so a rotation waits for them as for imm: memtables stay within
		// MaxImmutableMemtables+1 (readers in flight aside).
		releasing int
		// rotatedWAL is the WAL number of the last memtable made
		// immutable, and flushedWAL that of the last whose flush has
		// ended (its reference dropped, its WAL deleted). Memtables flush
		// in WAL order, so every immutable memtable's flush has ended
		// when they are equal; Flush waits for that.
		rotatedWAL, flushedWAL uint64
		// rs is what readers read; nil after Close. Changed under mu with
		// setReadStateLocked, which publishes it in curRS too.
		rs *readState
		// bgErr is the first background or WAL error; writes fail until
		// reopen.
		bgErr error
		// snaps are the open snapshots' sequence numbers.
		snaps snapshotList
		// iters counts open iterators.
		iters int
		// bgStop tells background goroutines to exit.
		bgStop bool
		// comp is the scheduling state of compactions.
		comp compactionState
		// walValueBytes is, for each flushed WAL segment tables refer to,
		// the bytes they referred to when the segment was flushed (or at
		// Open): a segment whose tables now refer to less than half of it
		// is let go by rewriting them (pickWALValueRewriteLocked).
		walValueBytes map[uint64]uint64
	}
	bgWG sync.WaitGroup

	// replayedWALs are, in a read-only DB, the WAL segments Open replayed
	// into memory; they stay on disk, unchanged, and Checkpoint copies them.
	// Immutable after Open.
	replayedWALs []uint64

	manifestMu sync.Mutex // see the lock order above
	walSyncMu  sync.Mutex // see the lock order above
	// fsyncs lets callers of syncWALsFor that arrive while an fsync runs
	// wait for it together instead of queueing on walSyncMu one after
	// another (a convoy: each would wake the next only after taking and
	// releasing the lock). A leaf lock, taken under none.
	fsyncs   fsyncGroup
	stopc    chan struct{} // closed by Close to stop background goroutines
	obsolete obsoleteTables
	walSegs  walValueSegs // WAL segments read for values tables refer to
	walPrep  walPrep      // a WAL segment written ahead (Options.WALPrewrite)

	// applyc and applyDone hand the apply helper its share of a large
	// group (see applyGroup); nil in a read-only DB. Sent to by the leader
	// only.
	applyc    chan applyJob
	applyDone chan error

	// memHeld is the capacity of every memtable whose arena is not yet
	// released (mutable, immutable, and flushed ones a reader still holds).
	memHeld atomic.Int64
	// writerMem is the memory of the table writers of flushes and
	// compactions (sstable.WriterOptions.Memory).
	writerMem  atomic.Int64
	heapFactor float64 // immutable: heapFactor() at Open

	// readSeeks counts L0 tables reads touched beyond the first; at
	// readAllowance (set from L0's size whenever the version changes) L0 is
	// compacted (see readCharge).
	readSeeks, readAllowance atomic.Int64
}

// memTable is a memtable with the WAL segment that backs it.
//
// Its arena lives off the Go heap and is freed with the last reference
// (see memtable.Release): the DB holds one while the memtable is db.mu.mem or
// in db.mu.imm, and every read state listing it holds one, so a reader that
// loaded an old read state can still read a memtable flushed since.
type memTable struct {
	mt     *memtable.Memtable // inserts: the leader, while it is db.mu.mem
	walNum uint64             // immutable
	// wal is appended to by the leader while the memtable is mutable,
	// synced under walSyncMu, and closed and set to nil under walSyncMu and
	// mu (nil from the start in a read-only DB): a reader holding either
	// lock sees it open or nil.
	wal    *wal.Writer
	maxSeq keys.SeqNum // leader while mutable; read after rotation under mu
	// walThreshold, seg and segName are set before the memtable is
	// published and never change: with walThreshold positive its KindSet
	// values are tagged and those of walThreshold bytes or more stay in
	// its segment, which seg reads (walRefMemtable). refBytes counts the
	// bytes of those values (the inserts).
	walThreshold int
	seg          vfs.File
	segName      string
	refBytes     atomic.Int64
	// logged is the bytes of a walRefMemtable's segment handed to the
	// file, stored by the leader after each group's write, before the
	// group's entries are inserted: the log is only appended to, so a
	// reader may cache a WAL block that ends within it (readMemValue).
	logged atomic.Int64
	refs   atomic.Int32  // see ref and unref
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
		if m.seg != nil {
			m.seg.Close()
		}
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
// the sequence number that goes with it, or nil once the DB is closed. It
// takes no lock: it loads the state and takes its reference with a
// compare-and-swap that fails once the last reference went (the state was
// replaced and released meanwhile: it loads the new one).
//
// The sequence number is read after the state, never before: a compaction
// in the state's version dropped only versions older than what was visible
// when it ran, no newer than a sequence number read afterwards, while one
// read first may predate a compaction the state already holds and ask for
// versions it dropped. A sequence number read after the state may cover
// writes of a memtable newer than the state's; those writes began after the
// state was current, so the read is as of that moment, as with any write
// that races a read.
func (db *DB) loadReadState() (*readState, keys.SeqNum) {
	for {
		rs := db.curRS.Load()
		if rs == nil {
			return nil, 0
		}
		if rs.tryRef() {
			return rs, keys.SeqNum(db.visibleSeq.Load())
		}
	}
}

// tryRef takes a reference unless the last one went already.
func (rs *readState) tryRef() bool {
	return refcount.TryAcquire(&rs.refs)
}

// setReadStateLocked makes rs (nil at Close) the read state readers take.
// db.mu is held.
func (db *DB) setReadStateLocked(rs *readState) {
	db.mu.rs = rs
	db.curRS.Store(rs)
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
	db.checkMuHeld("installing a read state")
	rs := &readState{db: db, mem: db.mu.mem, imm: append([]*memTable(nil), db.mu.imm...), v: v}
	rs.refs.Store(1)
	rs.mem.ref()
	for _, m := range rs.imm {
		m.ref()
	}
	old = db.mu.rs
	db.setReadStateLocked(rs)
	db.setReadAllowanceLocked()
	return old
}

// currentVersionRefLocked returns the version of the current read state with
// a new reference, for a read state that changes only its memtables.
func (db *DB) currentVersionRefLocked() *manifest.Version {
	db.checkMuHeld("reading the current version")
	v := db.mu.rs.v
	v.Ref()
	return v
}

// checkMuHeld panics, under the invariants build, if db.mu is not locked:
// the functions named ...Locked call it. It sees whether anyone holds the
// lock, not who (sync.Mutex keeps no owner), so it catches a caller that
// forgot the lock whenever no other goroutine happens to hold it.
func (db *DB) checkMuHeld(what string) {
	if invariants.Enabled && db.mu.TryLock() {
		db.mu.Unlock()
		panic("strata: " + what + " without db.mu")
	}
}

// releaseState releases a read state returned by installReadStateLocked.
func releaseState(rs *readState) {
	if rs != nil {
		rs.release()
	}
}

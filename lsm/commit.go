package lsm

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stratadb/strata/internal/batchrepr"
	"github.com/stratadb/strata/internal/invariants"
	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/manifest"
	"github.com/stratadb/strata/memtable"
	"github.com/stratadb/strata/wal"
)

// The commit pipeline. A writer enqueues a request; the request at the head
// of the queue is the leader. The leader takes every waiting request it can
// (up to a size limit), evaluates the conditions of the conditional ones in
// queue order, each against the DB and the writes of the group before it
// (groupView), assigns sequence numbers, hands the whole group to the WAL in
// one write and, if any request needs it, one fsync (group commit), inserts
// the group into the memtable, publishes the new visible sequence number,
// and wakes the group. Only the leader touches the WAL writer and inserts
// into the memtable (the apply helper inserts half of a large group for it,
// while it waits), so both are single-writer; under the invariants build
// the leader token (leaderToken) checks it.
//
// So conditional writes (Increment, IfAbsent, IfValue, ...) share a WAL
// write and an fsync as plain ones do: 50 clients incrementing counters
// under SyncAlways pay one fsync per group, not one per increment. The one
// exception is a conditional request behind a range deletion of its group:
// the view holds point writes only, so the group ends before it.

type reqKind uint8

const (
	reqPlain  reqKind = iota // repr is ready
	reqBatch                 // a batch with conditions: evaluate, then encode
	reqIncr                  // Increment
	reqExpire                // Expire
	reqClose                 // Close draining the pipeline
	reqRotate                // Flush: rotate the memtable if it holds anything
)

type commitReq struct {
	kind  reqKind
	repr  []byte // the encoded batch, header first: buf, or a Batch's record
	buf   []byte // the request's own buffer, kept with it in reqPool
	lent  bool   // repr is a Batch's record, not buf: never pooled
	count int
	sync  bool
	batch *Batch
	key   []byte
	delta int64
	ttl   time.Duration
	opts  writeOpts
	now   time.Time
	// walStart is where the WAL logged repr (the first chunk's file
	// offset), noted by the leader for a walRefMemtable's inserts.
	walStart int64

	result int64
	err    error
	done   bool
	// wake receives exactly one signal per commit: the request is done, or
	// it leads now. Buffered, so the sender never blocks.
	wake chan struct{}
}

var reqPool = sync.Pool{New: func() any { return newReq() }}

// newReq returns a request with its wake-up channel.
func newReq() *commitReq {
	return &commitReq{buf: make([]byte, 0, 256), wake: make(chan struct{}, 1)}
}

// getReq returns a pooled request whose repr is its own buffer, holding
// an empty header.
func getReq() *commitReq {
	r := reqPool.Get().(*commitReq)
	r.repr = append(r.buf[:0], make([]byte, batchrepr.HeaderLen)...)
	return r
}

// useBatch makes b's record, stamped, the request's repr: the pipeline
// writes and applies it in place (its header is set by the leader) and lets
// go of it when the request is done.
func (r *commitReq) useBatch(b *Batch) {
	r.repr, r.count, r.lent = b.repr, b.count, true
}

func putReq(r *commitReq) {
	buf := r.buf
	if !r.lent && cap(r.repr) > cap(buf) {
		buf = r.repr // the request's own buffer, grown
	}
	if cap(buf) > 64<<10 {
		return // don't pool large buffers
	}
	wake := r.wake
	*r = commitReq{buf: buf[:0], wake: wake}
	reqPool.Put(r)
}

// maxRequestNeed bounds the memtable space one write may need: a memtable
// holds at most 4 GiB (memtable.New), and the rest of a group, at most
// maxGroupBytes of records, must fit beside it.
const maxRequestNeed int64 = 3 << 30

// requestNeed returns the memtable space a prepared request may need at
// most: its record, and a node per entry.
func requestNeed(r *commitReq) int64 {
	return memtable.EntrySize(len(r.repr), 0) + int64(r.count)*64
}

// maxGroupBytes bounds the bytes one leader commits for others, so a small
// write does not wait behind megabytes.
const maxGroupBytes = 1 << 20

func (r *commitReq) conditional() bool { return r.kind != reqPlain }

// alone reports whether a request travels in a group of its own (a close
// or a memtable rotation).
func (r *commitReq) alone() bool { return r.kind == reqClose || r.kind == reqRotate }

// sizeHint is a request's bytes for the group size limit: its record, or
// for a conditional request not prepared yet, what its record will about
// hold.
func (r *commitReq) sizeHint() int {
	switch r.kind {
	case reqBatch:
		return len(r.repr) + len(r.batch.repr) + len(r.batch.incrKeys) + 32*len(r.batch.incrs)
	case reqIncr, reqExpire:
		return len(r.repr) + len(r.key) + 32
	}
	return len(r.repr)
}

// commitWrite runs req through the pipeline and returns its error.
//
// A request that finds the queue empty leads at once; any other waits on
// its own wake channel, signalled either when a leader has committed it or
// when it reaches the head of the queue. Waking only the goroutines whose
// state changed keeps 16 writers from stampeding on every commit.
func (db *DB) commitWrite(req *commitReq) error {
	c := &db.commit
	c.mu.Lock()
	c.queue = append(c.queue, req)
	if c.returning.Load() > 0 {
		c.returning.Add(-1)
	}
	lead := len(c.queue) == 1
	c.mu.Unlock()
	if !lead {
		<-req.wake
		if req.done {
			return req.err
		}
	}
	db.leader.acquire()
	if req.sync || db.opts.Sync == SyncAlways {
		db.awaitReturning()
	}
	// Leader: take a group. A rotation or a close travels alone.
	c.mu.Lock()
	n, bytes := 1, req.sizeHint()
	for n < len(c.queue) && !req.alone() {
		r := c.queue[n]
		if r.alone() || bytes+r.sizeHint() > maxGroupBytes {
			break
		}
		bytes += r.sizeHint()
		n++
	}
	group := c.queue[:n:n]
	c.mu.Unlock()

	// writeGroup may end the group early (a conditional request behind a
	// range deletion): the rest stay queued, and the first of them leads
	// next.
	n, synced := db.writeGroup(group)
	db.leader.release()
	group = group[:n]

	c.mu.Lock()
	c.returning.Store(0)
	if synced {
		c.returning.Store(int32(len(group)))
	}
	for i, r := range group {
		r.done = true
		if i > 0 {
			r.signal()
		}
	}
	c.queue = append(c.queue[:0], c.queue[n:]...)
	if len(c.queue) > 0 {
		c.queue[0].signal() // the next leader
	}
	c.mu.Unlock()
	return req.err
}

// signal tells a waiting request that it is done or leads now.
func (r *commitReq) signal() { r.wake <- struct{}{} }

// leaderToken says, under the invariants build, which goroutine leads the
// commit pipeline: a leader takes it for as long as it commits its group,
// and what only the leader may do (append to the WAL, insert into the
// mutable memtable, swap it) checks it. Without the invariants build the
// methods do nothing and the compiler drops their calls.
type leaderToken struct {
	gid atomic.Uint64 // the leading goroutine's id; 0 between groups
}

// acquire makes the calling goroutine the leader; a second leader at once
// panics.
func (t *leaderToken) acquire() {
	if invariants.Enabled && !t.gid.CompareAndSwap(0, invariants.GoroutineID()) {
		panic(fmt.Sprintf("strata: two commit leaders at once (goroutine %d leads)", t.gid.Load()))
	}
}

// release ends the leader's turn.
func (t *leaderToken) release() {
	if invariants.Enabled {
		t.gid.Store(0)
	}
}

// check panics unless the calling goroutine is the leader.
func (t *leaderToken) check(what string) {
	if !invariants.Enabled {
		return
	}
	if id, leader := invariants.GoroutineID(), t.gid.Load(); id != leader {
		panic(fmt.Sprintf("strata: %s by goroutine %d, not the commit leader (%d)", what, id, leader))
	}
}

// checkDelegated panics unless some goroutine leads: the apply helper
// inserts only the share of a group its leader hands it.
func (t *leaderToken) checkDelegated(what string) {
	if invariants.Enabled && t.gid.Load() == 0 {
		panic(fmt.Sprintf("strata: %s while no commit leader runs", what))
	}
}

// awaitReturning gives the writers of the last synced group a moment to
// write again before a leader takes its group, so that one fsync carries
// them too. Writers that fsync every write mostly write again at once, but
// the leader after a synced group is already queued when that group's
// writers are woken: without the wait, 16 such writers settle into two
// groups of 8 that take turns, each fsync carrying half of them. The wait
// ends when every one of them has queued again or after a quarter of the
// last fsync's duration, whichever comes first; the leader yields its CPU
// meanwhile, to the writers it waits for.
func (db *DB) awaitReturning() {
	c := &db.commit
	if c.returning.Load() == 0 {
		return
	}
	deadline := time.Now().Add(time.Duration(db.lastSyncNanos.Load() / 4))
	for c.returning.Load() > 0 && time.Now().Before(deadline) {
		runtime.Gosched()
	}
}

// writeGroup commits the first n requests of group and returns n; every
// one of them has its err set. It ends the group early only before a
// conditional request that follows a range deletion of the group. It
// reports whether it fsynced the WAL.
func (db *DB) writeGroup(group []*commitReq) (n int, synced bool) {
	setAll := func(group []*commitReq, err error) {
		for _, r := range group {
			if r.err == nil {
				r.err = err
			}
		}
	}
	if group[0].kind == reqClose {
		return 1, false // the leader now holds the pipeline; Close proceeds
	}
	if db.closed.Load() {
		setAll(group, ErrClosed)
		return len(group), false
	}
	if err := db.backgroundError(); err != nil {
		setAll(group, err)
		return len(group), false
	}
	if group[0].kind == reqRotate {
		if !db.mu.mem.mt.Empty() {
			group[0].err = db.rotateMemtable(0)
		}
		return 1, false
	}
	// Prepare the requests in queue order: evaluate each conditional one
	// against the DB and the group's earlier writes (the view, kept only
	// while a conditional request is still to come), number the entries,
	// and keep the requests that write.
	lastCond := -1
	for i, r := range group {
		if r.conditional() {
			lastCond = i
		}
	}
	view := &db.groupView
	view.reset()
	defer view.reset()
	live := db.groupLive[:0]
	defer func() { clear(live); db.groupLive = live[:0] }()
	seq := db.logSeq + 1
	var need int64
	needSync := db.opts.Sync == SyncAlways
	n = len(group)
	for i, r := range group {
		if r.conditional() {
			if view.ranges {
				n = i
				break
			}
			if err := db.prepare(r, view); err != nil {
				r.err = err
				continue
			}
		}
		// A request too large for any memtable fails alone:
		// makeRoomForWrite would otherwise rotate memtables forever.
		if requestNeed(r) > maxRequestNeed {
			r.err = fmt.Errorf("%w: a write of %d entries and %d bytes needs %d bytes of memtable, over %d",
				ErrInvalidArgument, r.count, len(r.repr), requestNeed(r), maxRequestNeed)
			continue
		}
		if r.count == 0 {
			continue
		}
		batchrepr.SetHeader(r.repr, seq, r.count)
		seq += keys.SeqNum(r.count)
		need += requestNeed(r)
		needSync = needSync || r.sync
		live = append(live, r)
		if i < lastCond {
			if err := view.add(r.repr); err != nil {
				// Cannot happen for reprs we encoded; refuse further writes.
				db.setBackgroundError(err)
				setAll(group[:n], err)
				return n, false
			}
		}
	}
	group = group[:n]
	if len(live) == 0 {
		return n, false
	}
	if err := db.makeRoomForWrite(need); err != nil {
		setAll(group, err)
		return n, false
	}
	mem := db.mu.mem // stable: only the leader swaps it
	entries := int(seq - 1 - db.logSeq)
	order := groupUnordered
	var first []byte
	if applyInOrder && (entries >= parallelApplyMin || need >= largeGroupBytes) {
		var err error
		if order, first, err = groupOrderOf(live); err != nil {
			// Cannot happen for reprs we encoded; refuse further writes.
			db.setBackgroundError(err)
			setAll(group, err)
			return n, false
		}
	}
	var waited time.Duration
	var err error
	if order == groupAscending {
		waited, err = mem.mt.PrepareRun(need, first)
	} else {
		waited, err = mem.mt.Prepare(need)
	}
	if waited > 0 {
		db.metrics.copyWaits.Add(1)
		db.metrics.copyWaitNanos.Add(int64(waited))
	}
	if err != nil {
		// The memtable's background copy failed: nothing is written.
		db.setBackgroundError(fmt.Errorf("strata: memtable: %w", err))
		setAll(group, err)
		return n, false
	}
	db.leader.check("WAL append")
	for _, r := range live {
		if mem.walRefMemtable() {
			r.walStart = mem.wal.NextOffset()
		}
		if err := mem.wal.AddRecord(r.repr); err != nil {
			db.setBackgroundError(fmt.Errorf("strata: WAL append: %w", err))
			setAll(group, err)
			return n, false
		}
	}
	if err := mem.wal.Flush(); err != nil {
		err = fmt.Errorf("strata: WAL write: %w", err)
		db.setBackgroundError(err)
		setAll(group, err)
		return n, false
	}
	if mem.walRefMemtable() {
		mem.logged.Store(mem.wal.FlushedSize())
	}
	if needSync {
		if err := db.syncWALs(); err != nil {
			setAll(group, err)
			return n, false
		}
		synced = true
	}
	if err := db.applyGroup(mem, live, entries, order); err != nil {
		// Cannot happen for reprs we encoded; refuse further writes.
		db.setBackgroundError(err)
		setAll(group, err)
		return n, false
	}
	db.logSeq = seq - 1
	mem.maxSeq = db.logSeq
	db.visibleSeq.Store(uint64(db.logSeq))
	var userBytes int64
	for _, r := range live {
		userBytes += int64(len(r.repr))
	}
	db.metrics.userBytes.Add(userBytes)
	db.metrics.walBytes.Add(userBytes)
	db.metrics.commitGroups.Add(1)
	db.metrics.commitWrites.Add(int64(len(group)))
	return n, synced
}

// groupView is what a commit leader knows of its group's writes that are
// not in the memtable yet: the last entry of each key written by the
// requests prepared so far. A conditional request reads through it, so it
// sees the writes queued before it as if they had committed. A range
// deletion is not tracked: it sets ranges, and the group ends before the
// next conditional request. Leader only.
type groupView struct {
	m      map[string]batchrepr.Entry // values alias the requests' reprs
	ranges bool
}

func (v *groupView) reset() {
	if len(v.m) > 4096 {
		v.m = nil // a large batch's keys: let the map go
	} else {
		clear(v.m)
	}
	v.ranges = false
}

// add records the entries of a prepared request's repr.
func (v *groupView) add(repr []byte) error {
	if v.m == nil {
		v.m = make(map[string]batchrepr.Entry)
	}
	_, _, err := batchrepr.Decode(repr, "commit group", 0, func(_ keys.SeqNum, e batchrepr.Entry) error {
		if e.Kind == keys.KindRangeDelete {
			v.ranges = true
			return nil
		}
		v.m[string(e.Key)] = e
		return nil
	})
	return err
}

// current is key's newest state for a request being prepared: its last
// write in the group before the request (view), else the DB's newest
// visible version. found is false for an absent, deleted or expired key;
// the caller calls done on a found lookup.
func (db *DB) current(key []byte, view *groupView, now time.Time) (l lookup, found bool, err error) {
	if view != nil {
		if e, ok := view.m[string(key)]; ok {
			// Judged as a read judges it (keys.Judge), at the request's now.
			at := keys.NowAt(keys.UnixNano(now))
			switch j := keys.Judge(e.Kind, e.Value, &at); {
			case j.Err != nil:
				return l, false, fmt.Errorf("strata: commit group %s: %w", keys.Quote(key), j.Err)
			case j.Verdict == keys.VerdictLive:
				return lookup{value: j.Value, expiry: j.Expiry}, true, nil
			}
			return l, false, nil // deleted or expired
		}
	}
	return db.get(key, seqLatest)
}

// parallelApplyMin is the number of entries from which a group's memtable
// inserts are shared with the apply helper: below it, waking the helper
// costs more than it saves.
const parallelApplyMin = 8

// largeGroupBytes is the memtable space from which a group of fewer than
// parallelApplyMin entries is checked for ascending order too: a large
// entry appended after the memtable's last key (a Raft log's, a sequential
// load's) then goes into the main list directly, not through a staged
// front that would copy its bytes a second time and allocate a front for a
// few entries. The check decodes one record header and key; the copy it
// spares is the entry's bytes.
const largeGroupBytes = 16 << 10

// applyJob is a share of a group's entries for the apply helper.
type applyJob struct {
	mem      *memTable
	group    []*commitReq
	from, to int // entry indexes across the group, [from, to)
}

// applyGroup inserts a committed group into the memtable. A group of
// point writes in ascending key order (groupOrderOf) is inserted by the
// leader alone, in that order (applyEntriesSorted); any other group of
// many entries is split with the apply helper goroutine: each inserts
// half, concurrently (the memtable's compare-and-swap insert), so both
// cores work on a group of many writers' puts or one large unsorted batch.
func (db *DB) applyGroup(mem *memTable, group []*commitReq, entries int, order groupOrder) error {
	db.leader.check("memtable insert")
	if order == groupAscending {
		return applyEntriesSorted(mem, group)
	}
	if entries < parallelApplyMin || db.applyc == nil {
		return applyEntries(applyJob{mem: mem, group: group, from: 0, to: entries}, false)
	}
	half := entries / 2
	db.metrics.parallelApplies.Add(1)
	db.applyc <- applyJob{mem: mem, group: group, from: half, to: entries}
	err := applyEntries(applyJob{mem: mem, group: group, from: 0, to: half}, true)
	if herr := <-db.applyDone; err == nil {
		err = herr
	}
	return err
}

// applyInOrder turns on the in-order insert of ascending groups (a
// variable for benchmarks that compare it with the shared, concurrent
// inserts).
var applyInOrder = true

// groupOrder is what groupOrderOf finds of a group's entries.
type groupOrder uint8

const (
	groupUnordered groupOrder = iota // not known to be in order, or holds a range deletion
	groupAscending                   // point writes in strictly ascending user-key order
)

// groupOrderOf reports whether a group's entries, in commit order, are
// point writes in strictly ascending user-key order (a sorted batch: each
// batch of a bulk load or of an import of sorted data), and its first user
// key. Such a group is inserted in order by the leader alone: each insert
// starts from the last one's neighbours in the skiplist (memtable
// AddSorted, a finger search) and walks a few nodes the last insert left
// in the CPU cache, where the apply helper's inserts descend from the head
// and miss the cache at most levels; and a group that sorts after
// everything in the memtable goes straight into its main list
// (memtable PrepareRun), not through a staged front that would copy every
// entry a second time. The pass decodes the records' headers and keys
// only, about 1% of the inserts' cost.
func groupOrderOf(group []*commitReq) (order groupOrder, first []byte, err error) {
	var prev []byte
	for _, r := range group {
		if r.count == 0 {
			continue
		}
		rd, err := batchrepr.NewReader(r.repr, "memtable", 0)
		if err != nil {
			return groupUnordered, nil, err
		}
		for {
			_, e, ok, err := rd.Next()
			if err != nil {
				return groupUnordered, nil, err
			}
			if !ok {
				break
			}
			if e.Kind == keys.KindRangeDelete || prev != nil && bytes.Compare(prev, e.Key) >= 0 {
				return groupUnordered, nil, nil
			}
			if prev == nil {
				first = e.Key
			}
			prev = e.Key
		}
	}
	if prev == nil {
		return groupUnordered, nil, nil
	}
	return groupAscending, first, nil
}

// applyEntriesSorted inserts every entry of an ascending group (see
// groupOrderOf), in order, with memtable AddSorted; the caller prepared the
// memtable for the whole group.
func applyEntriesSorted(mem *memTable, group []*commitReq) error {
	var buf []byte // a walRefMemtable's tagged value
	for _, r := range group {
		if r.count == 0 {
			continue
		}
		rd, err := batchrepr.NewReader(r.repr, "memtable", 0)
		if err != nil {
			return err
		}
		for {
			seq, e, ok, err := rd.Next()
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			v := e.Value
			if e.Kind == keys.KindSet && mem.walRefMemtable() {
				v = mem.memInsertValue(r.walStart, rd.Pos()-len(v), v, &buf)
			}
			if err := mem.mt.AddSorted(e.Key, seq, e.Kind, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// applyLoop is the apply helper: it inserts the shares applyGroup sends it
// until the channel closes (at Close, once no leader can send).
func (db *DB) applyLoop() {
	defer db.bgWG.Done()
	for job := range db.applyc {
		db.leader.checkDelegated("memtable insert by the apply helper")
		db.applyDone <- applyEntries(job, true)
	}
}

// applyEntries inserts entries [from, to) of a group, numbering entries in
// commit order across its requests. It reads them from each request's
// record, the bytes the WAL got: nothing is decoded into a second form.
func applyEntries(job applyJob, concurrent bool) error {
	i := 0
	var buf []byte // a walRefMemtable's tagged value
	for _, r := range job.group {
		if r.count == 0 {
			continue
		}
		if i+r.count <= job.from {
			i += r.count
			continue
		}
		if i >= job.to {
			break
		}
		rd, err := batchrepr.NewReader(r.repr, "memtable", 0)
		if err != nil {
			return err
		}
		for end := i + r.count; i < end; i++ {
			seq, e, ok, err := rd.Next()
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("strata: batch of %d entries ended after %d", r.count, r.count-(end-i))
			}
			if i < job.from {
				continue
			}
			if i >= job.to {
				return nil
			}
			v := e.Value
			if e.Kind == keys.KindSet && job.mem.walRefMemtable() {
				v = job.mem.memInsertValue(r.walStart, rd.Pos()-len(v), v, &buf)
			}
			switch {
			case e.Kind == keys.KindRangeDelete:
				err = job.mem.mt.AddRangeDelete(e.Key, e.Value, seq)
			case concurrent:
				err = job.mem.mt.AddConcurrent(e.Key, seq, e.Kind, v)
			default:
				err = job.mem.mt.Add(e.Key, seq, e.Kind, v)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// makeRoomForWrite makes sure the mutable memtable can take need more bytes,
// rotating it (and its WAL) when full. It waits, never fails, while flushes
// or compactions fall behind; it fails only on a background error or Close.
// Leader only.
func (db *DB) makeRoomForWrite(need int64) error {
	db.leader.check("makeRoomForWrite")
	slowed := false
	for {
		mem := db.mu.mem
		// A walRefMemtable's arena holds references to most of what its
		// segment holds: the segment is bounded by the capacity too.
		if mem.mt.Size()+need <= mem.mt.Capacity() &&
			(!mem.walRefMemtable() || mem.wal.Size()+need <= mem.mt.Capacity()) {
			return nil
		}
		db.mu.Lock()
		if db.mu.bgErr != nil {
			err := db.mu.bgErr
			db.mu.Unlock()
			return err
		}
		if db.closed.Load() {
			db.mu.Unlock()
			return ErrClosed
		}
		if len(db.mu.imm)+db.mu.releasing >= db.opts.MaxImmutableMemtables {
			db.stallLocked("memtables", func() bool { return len(db.mu.imm)+db.mu.releasing >= db.opts.MaxImmutableMemtables })
			db.mu.Unlock()
			continue
		}
		// L0's depth (its sublevels), not its table count, is what reads
		// pay for and what a flush split into pieces does not inflate.
		l0 := db.mu.rs.v.L0Depth()
		if l0 >= db.opts.L0StopWrites {
			db.stallLocked("l0-stop", func() bool { return db.mu.rs.v.L0Depth() >= db.opts.L0StopWrites })
			db.mu.Unlock()
			continue
		}
		db.mu.Unlock()
		if l0 >= db.opts.L0SlowdownWrites && !slowed {
			// Give compaction a millisecond, once per rotation.
			slowed = true
			start := time.Now()
			db.opts.EventListener.stallBegin(StallInfo{Reason: "l0-slowdown"})
			time.Sleep(time.Millisecond)
			d := time.Since(start)
			db.metrics.stallSlowdowns.Add(1)
			db.metrics.stallNanos.Add(int64(d))
			db.opts.EventListener.stallEnd(StallInfo{Reason: "l0-slowdown", Duration: d})
			continue
		}
		if err := db.rotateMemtable(need); err != nil {
			return err
		}
	}
}

// stallLocked waits on bgCond while cond holds and writes may proceed; it
// counts and times the stall. Called with db.mu held.
func (db *DB) stallLocked(reason string, cond func() bool) {
	db.checkMuHeld("a write stall")
	start := time.Now()
	db.metrics.stalls.Add(1)
	db.opts.EventListener.stallBegin(StallInfo{Reason: reason})
	db.opts.Logger.Info("write stall", "reason", reason)
	db.maybeScheduleCompactionLocked()
	for cond() && db.mu.bgErr == nil && !db.closed.Load() {
		db.mu.bgCond.Wait()
	}
	d := time.Since(start)
	db.metrics.stallNanos.Add(int64(d))
	db.opts.EventListener.stallEnd(StallInfo{Reason: reason, Duration: d})
	db.opts.Logger.Info("write stall end", "reason", reason, "duration", d)
}

// rotateMemtable makes the mutable memtable immutable, starts a new WAL
// segment and memtable, and wakes the flusher. Leader only.
func (db *DB) rotateMemtable(need int64) error {
	db.leader.check("memtable rotation")
	size := db.nextMemtableSize()
	db.resizeCache(size) // before the new arena: the bound holds throughout
	capacity := max(size, 2*need)
	walNum := db.vs.NewFileNum()
	w, err := db.createWAL(walNum, capacity)
	if err != nil {
		err = fmt.Errorf("strata: new WAL: %w", err)
		db.setBackgroundError(err)
		return err
	}
	// The old memtable takes no more inserts: let its fronts go as soon as
	// they are copied (an error here is the copy's, which the flush's
	// Finish reports).
	_ = db.mu.mem.mt.Retire()
	// The segment after the next one logs at most what a memtable of the
	// next size holds, and about twice what this one logged if memtables
	// grow.
	if w := db.mu.mem.wal; w != nil {
		db.maybePrewriteWAL(w, min(2*w.Size(), min(2*capacity, max(capacity, db.opts.MemtableSize)))*9/8)
	}
	next := db.newMemTable(db.newMutableMemtable(capacity))
	next.walNum, next.wal = walNum, w
	if err := db.openMemSegment(next); err != nil {
		next.unref()
		w.Close()
		db.setBackgroundError(err)
		return err
	}
	db.mu.Lock()
	db.mu.imm = append(db.mu.imm, db.mu.mem)
	db.mu.rotatedWAL = db.mu.mem.walNum
	db.mu.mem = next
	old := db.installReadStateLocked(db.currentVersionRefLocked())
	db.mu.bgCond.Broadcast()
	db.mu.Unlock()
	releaseState(old)
	return nil
}

// nextMemtableSize returns the size of the memtable that rotation
// starts: twice the size of the one it retires, at most MemtableSize, or
// half, at least InitialMemtableSize, if that one took memtableShrinkAge
// or longer to fill. The leader only.
func (db *DB) nextMemtableSize() int64 {
	size := db.memSize
	if time.Since(db.memBorn) < memtableShrinkAge {
		size = satMul(size, 2)
	} else {
		size /= 2
	}
	size = min(max(size, db.opts.InitialMemtableSize), db.opts.MemtableSize)
	db.memSize, db.memBorn = size, time.Now()
	return size
}

// memtableShrinkAge is how long a memtable may take to fill before the
// next one is made half its size. Large memtables pay off under heavy
// writes (fewer, larger L0 tables to compact); a memtable that takes a
// minute to fill is written at under a MiB a second, which small tables
// serve as well, and its memory serves reads better in the block cache
// (see resizeCache). A variable for tests.
var memtableShrinkAge = time.Minute

// resizeCache gives the block cache what the memory bound leaves beside
// the largest memtable the DB holds, when MemoryLimit sized both (see
// Options.elasticCache): memtables grow under heavy writes and take that
// memory from the cache, and give it back once they shrink and the larger
// ones are flushed. newest is the size of a memtable about to be made (0:
// none), which a caller sets before making it, so the cache is never
// larger than the bound allows beside it. Memtables that readers still
// pin after their flush are outside the bound, as for every size.
// Not under db.mu.
func (db *DB) resizeCache(newest int64) {
	if !db.opts.elasticCache {
		return
	}
	db.cacheMu.Lock()
	defer db.cacheMu.Unlock()
	if newest > 0 {
		db.memNewest = newest
	}
	m := db.memNewest
	db.mu.Lock()
	if db.mu.mem != nil {
		m = max(m, db.mu.mem.mt.Capacity())
	}
	for _, x := range db.mu.imm {
		m = max(m, x.mt.Capacity())
	}
	db.mu.Unlock()
	if c := elasticCacheSize(&db.opts, m); c != db.blockCache.Capacity() {
		db.blockCache.SetCapacity(c)
	}
}

// stagedFrontSize is the front of a staged memtable (memtable.NewStaged):
// small enough to stay in the CPU cache, where inserts into a 64 MiB list
// mostly miss it. Fronts live on the Go heap, up to four per memtable (see
// maxFrontSizes), and every front of a fill is garbage once copied, so
// the collector lets the heap grow to twice the live fronts: at 4 MiB
// they were most of the live heap of a fill (12-16 MiB of 13-21), and
// took 25-35 MiB of resident memory with their headroom. At 1 MiB they
// fit in one core's L2 cache; a writer's insert costs about a tenth more
// CPU than into a 4 MiB front (BenchmarkAddStaged), still well under
// half of an insert into the main list.
const stagedFrontSize = 1 << 20

// newMutableMemtable returns the memtable writes go to: a staged one, whose
// writer inserts into a small front that another core copies into the main
// list, when there is another core and the memtable is at least 16 times
// the front (smaller ones get a front of a 16th); a plain one otherwise.
// Its arena is a new anonymous mapping, given back to the OS when the
// memtable is released after its flush (no arena is kept for reuse: a
// kept one would stay resident, full size, beside the next memtable,
// which fills its own pages only as it grows).
func (db *DB) newMutableMemtable(capacity int64) *memtable.Memtable {
	front := min(capacity/16, stagedFrontSize)
	if runtime.GOMAXPROCS(0) < 2 || front < 4<<10 {
		return memtable.New(capacity)
	}
	return memtable.NewStaged(capacity, front)
}

// createWAL creates a WAL segment for a memtable of capacity bytes and
// makes its directory entry durable, so it exists whenever something
// refers to it.
func (db *DB) createWAL(num uint64, capacity int64) (*wal.Writer, error) {
	name := manifest.MakeFilename(db.dir, manifest.FileTypeLog, num)
	f, written := db.takePrewrittenWAL(name) // Options.WALPrewrite
	if f == nil {
		var err error
		if f, err = db.fs.Create(name); err != nil {
			return nil, err
		}
	}
	if err := db.fs.SyncDir(db.dir); err != nil {
		f.Close()
		return nil, err
	}
	return db.newWALWriter(f, capacity, written), nil
}

// walTarget is a WAL segment and its size when a sync was asked for.
type walTarget struct {
	w    *wal.Writer
	size int64
}

// walTargets appends the open WAL segments with their sizes now.
func (db *DB) walTargets(dst []walTarget) []walTarget {
	db.mu.Lock()
	defer db.mu.Unlock()
	for _, m := range db.mu.imm {
		if m.wal != nil {
			dst = append(dst, walTarget{m.wal, m.wal.Size()})
		}
	}
	if db.mu.mem.wal != nil {
		dst = append(dst, walTarget{db.mu.mem.wal, db.mu.mem.wal.Size()})
	}
	return dst
}

// syncWALs makes every WAL byte written before the call durable.
func (db *DB) syncWALs() error {
	var buf [4]walTarget
	return db.syncWALsFor(db.walTargets(buf[:0]))
}

// syncWALsFor makes the WAL bytes of targets durable. Callers that arrive
// while an fsync runs wait for it; if it covered their bytes, they issue
// none, though more may have been written since: so many goroutines asking
// at once (a server's connections acknowledging their writes) share each
// fsync, as writers share a group's. The waiters of one fsync wake
// together when it ends (a closed channel), and the first of those it did
// not cover runs the next one. An fsync syncs every open WAL segment with
// unsynced bytes, oldest first, so that what survives a power loss is
// always a prefix of the log. A failed fsync is never retried: it latches
// the background error and the DB refuses writes until it is reopened.
func (db *DB) syncWALsFor(targets []walTarget) error {
	// Bytes an fsync covered already need no wait for the one running now
	// (under appendfsync always, a server's readers ask after every
	// reply): only the latched error is left to report.
	if coveredAll(targets) {
		return db.backgroundError()
	}
	g := &db.fsyncs
	for {
		g.mu.Lock()
		if done := g.done; done != nil {
			// An fsync runs: wait for it, then see whether it covered us.
			g.mu.Unlock()
			<-done
			if coveredAll(targets) {
				return db.backgroundError()
			}
			continue
		}
		done := make(chan struct{})
		g.done = done
		g.mu.Unlock()
		err := db.fsyncWALs(targets)
		g.mu.Lock()
		g.done = nil
		g.mu.Unlock()
		close(done)
		return err
	}
}

// fsyncGroup is the state of the fsync syncWALsFor runs, if any.
type fsyncGroup struct {
	mu   sync.Mutex
	done chan struct{} // guarded by mu; closed when the running fsync ends, nil if none runs
}

// fsyncWALs fsyncs every open WAL segment with unsynced bytes, oldest
// first, unless an earlier fsync covered targets already.
func (db *DB) fsyncWALs(targets []walTarget) error {
	db.walSyncMu.Lock()
	defer db.walSyncMu.Unlock()
	db.mu.Lock()
	if db.mu.bgErr != nil {
		err := db.mu.bgErr
		db.mu.Unlock()
		return err
	}
	if coveredAll(targets) {
		db.mu.Unlock()
		return nil
	}
	ws := make([]*wal.Writer, 0, len(db.mu.imm)+1)
	for _, m := range db.mu.imm {
		if m.wal != nil {
			ws = append(ws, m.wal)
		}
	}
	if db.mu.mem.wal != nil {
		ws = append(ws, db.mu.mem.wal)
	}
	db.mu.Unlock()
	for _, w := range ws {
		if w.SyncedSize() == w.Size() {
			continue
		}
		start := time.Now()
		if err := w.Sync(); err != nil {
			err = fmt.Errorf("strata: WAL fsync: %w", err)
			db.setBackgroundError(err)
			return err
		}
		db.lastSyncNanos.Store(int64(time.Since(start)))
		db.metrics.walSyncs.Add(1)
	}
	return nil
}

// coveredAll reports whether an fsync covered every target's bytes.
func coveredAll(targets []walTarget) bool {
	for _, t := range targets {
		if t.w.SyncedSize() < t.size {
			return false
		}
	}
	return true
}

// backgroundError returns the latched error, if any.
func (db *DB) backgroundError() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.mu.bgErr
}

// setBackgroundError latches err: every later write returns it until the DB
// is reopened.
func (db *DB) setBackgroundError(err error) {
	db.mu.Lock()
	first := db.mu.bgErr == nil
	if first {
		db.mu.bgErr = err
		db.mu.bgCond.Broadcast()
	}
	db.mu.Unlock()
	if first && !errors.Is(err, ErrClosed) {
		db.metrics.backgroundErrors.Add(1)
		db.opts.Logger.Error("background error; writes refused until reopen", "err", err)
		db.opts.EventListener.backgroundError(err)
	}
}

func (l *EventListener) stallBegin(i StallInfo) {
	if l.StallBegin != nil {
		l.StallBegin(i)
	}
}

func (l *EventListener) stallEnd(i StallInfo) {
	if l.StallEnd != nil {
		l.StallEnd(i)
	}
}

func (l *EventListener) backgroundError(err error) {
	if l.BackgroundError != nil {
		l.BackgroundError(err)
	}
}

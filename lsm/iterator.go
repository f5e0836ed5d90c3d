package lsm

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/stratadb/strata/internal/iterator"
	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/manifest"
	"github.com/stratadb/strata/rangedel"
	"github.com/stratadb/strata/sstable"
)

// IterOptions bounds an iterator.
type IterOptions struct {
	// LowerBound is the inclusive lower bound; nil = unbounded.
	LowerBound []byte
	// UpperBound is the exclusive upper bound; nil = unbounded.
	UpperBound []byte
}

// PrefixBounds returns the bounds of every key starting with prefix: lower is
// prefix and upper the smallest key above all of them (nil if there is none,
// as for a prefix of only 0xFF bytes).
func PrefixBounds(prefix []byte) (lower, upper []byte) {
	lower = append([]byte{}, prefix...)
	for i := len(prefix) - 1; i >= 0; i-- {
		if prefix[i] != 0xFF {
			upper = append([]byte{}, prefix[:i+1]...)
			upper[i]++
			return lower, upper
		}
	}
	return lower, nil
}

// Iterator walks the live keys of the DB, or of a snapshot, in order. It sees
// the data as of its creation, shows each live key once with its newest
// value, and never shows a deleted or expired key (expiry is judged against
// Options.Clock at every First, Last, SeekGE and SeekLT). Key and Value stay
// valid until the next positioning call. An Iterator belongs to one
// goroutine and must be closed.
type Iterator struct {
	db           *DB
	rs           *readState
	snap         *Snapshot // nil for a DB iterator
	seq          keys.SeqNum
	iter         *iterator.Merging // concrete, so Valid and Key inline
	lower, upper []byte
	now          keys.Now // expiry is judged at; read again at every absolute positioning call

	key []byte // the current user key (owned buffer)
	// value aliases memtable memory or the data block the internal
	// iterator is at, or is the copy in valBuf (see findPrev).
	value  []byte
	valBuf []byte
	expiry int64
	valid  bool
	fwd    bool // the internal iterator sits at the current entry (forward) or before it (backward)
	err    error
	closed bool
	search []byte // scratch for seek keys
	skip   []byte // scratch for range tombstone skips
	// keyArr and searchArr back key and search while keys are short, so
	// that a seek does not grow them from nothing.
	keyArr, searchArr [48]byte

	// rdel is nil when no source holds a range tombstone.
	rdel *rangeDelView
	// maxSeqs bounds the sequence numbers of each merged child; levelChild
	// is the child index of each level L1+ (-1: none). Set by buildMerged.
	maxSeqs    []keys.SeqNum
	levelChild [manifest.NumLevels]int
	seqBuf     [16]keys.SeqNum // maxSeqs' memory for up to 16 children

	// alloc is the merged iterator's memory, from mergedAllocs and back
	// there at Close; prefix is what the level iterators' tables are
	// opened with (the Iterator is their Opener).
	alloc  *mergedAlloc
	prefix []byte
}

// mergedAlloc holds an Iterator's merged iterator: the merging iterator
// and its heap, its children's slice while they are up to 16, and the level
// iterators. Recycled through mergedAllocs, it spares a seek the
// allocation (and the zeroing) of each: a closed Iterator gives it back
// once every child is closed, and never touches it again.
type mergedAlloc struct {
	merging  iterator.Merging
	srcArr   [16]keys.Iterator
	levelArr [manifest.NumLevels]iterator.Level
	l0Arr    [8]iterator.Level // the first L0 sublevels'
}

var mergedAllocs = sync.Pool{New: func() any { return new(mergedAlloc) }}

// tableOpener is an Iterator seen as the iterator.Opener of its levels'
// tables: the conversion costs no allocation, and Iterator's public
// methods stay its own.
type tableOpener Iterator

// Open opens an iterator over a table of a level for the merged iterator.
func (o *tableOpener) Open(f *manifest.FileMeta) (keys.Iterator, error) {
	return o.db.openTableIter(f, o.prefix)
}

// NewIter returns an iterator over the DB as of now.
func (db *DB) NewIter(opts *IterOptions) (*Iterator, error) {
	return db.newIter(opts, seqLatest, nil, nil)
}

// newIter builds an iterator at seq (seqLatest: the newest data). If prefix is non-nil, tables whose
// filter excludes it are skipped (Query's partition prefix).
func (db *DB) newIter(opts *IterOptions, seq keys.SeqNum, snap *Snapshot, prefix []byte) (*Iterator, error) {
	if db.closed.Load() {
		return nil, ErrClosed
	}
	it := &Iterator{db: db, seq: seq, snap: snap, now: db.now()}
	it.key, it.search = it.keyArr[:0], it.searchArr[:0]
	if opts != nil {
		if opts.LowerBound != nil {
			it.lower = append([]byte{}, opts.LowerBound...)
		}
		if opts.UpperBound != nil {
			it.upper = append([]byte{}, opts.UpperBound...)
		}
	}
	db.mu.Lock()
	if db.closed.Load() {
		db.mu.Unlock()
		return nil, ErrClosed
	}
	it.rs = db.mu.rs
	it.rs.refs.Add(1)
	if it.seq == seqLatest {
		it.seq = keys.SeqNum(db.visibleSeq.Load()) // with the read state, under db.mu
	}
	db.mu.iters++
	db.mu.Unlock()
	it.prefix = prefix
	it.iter = db.buildMerged(it.rs, it.lower, it.upper, prefix, it)
	if err := it.setupRangeDels(); err != nil {
		// A table that cannot be read: the iterator reports it, as it
		// would on reaching the table.
		it.iter.Close()
		it.iter = iterator.NewMerging(&errIter{err: err})
	}
	return it, nil
}

// setupRangeDels gathers the range tombstones of the iterator's sources and
// the newest sequence number of each merged child, for skipping covered
// spans with one seek (Merging.SkipForward).
func (it *Iterator) setupRangeDels() error {
	rs := it.rs
	// One allocation holds the view, its first lists and the skip buffer:
	// an iterator over range tombstones costs one more than one without.
	var st *iterRangeDels
	add := func(l rangedel.List) {
		if len(l) == 0 {
			return
		}
		if st == nil {
			st = &iterRangeDels{}
			st.view.lists = st.lists[:0]
		}
		st.view.lists = append(st.view.lists, l)
	}
	if rs.mem.mt.HasRangeDels() {
		add(rs.mem.mt.RangeDels())
	}
	for i := len(rs.imm) - 1; i >= 0; i-- {
		if rs.imm[i].mt.HasRangeDels() {
			add(rs.imm[i].mt.RangeDels())
		}
	}
	var td *tableRangeDels
	if rs.levelMaxSeqs(); rs.rdels.anyTable {
		td = rs.tableRangeDels()
		if td.err != nil {
			return td.err
		}
		for _, l := range td.lists {
			add(l)
		}
	}
	if st == nil {
		return nil
	}
	st.view.seq = it.seq
	it.rdel, it.skip = &st.view, st.skip[:0]
	if it.maxSeqs != nil {
		lm := rs.levelMaxSeqs()
		for level, i := range it.levelChild {
			if i >= 0 {
				it.maxSeqs[i] = lm[level]
			}
		}
		it.iter.SetMaxSeqs(it.maxSeqs)
	}
	return nil
}

// buildMerged returns a merging iterator over every source of rs that may
// hold keys in [lower, upper). If it is non-nil, buildMerged records there
// the newest sequence number of each child (keys.MaxSeq for a level L1+,
// whose child index it notes), and builds the merged iterator in its
// memory (it.prefix must be prefix).
func (db *DB) buildMerged(rs *readState, lower, upper, prefix []byte, it *Iterator) *iterator.Merging {
	var srcs []keys.Iterator
	if it != nil {
		it.alloc = mergedAllocs.Get().(*mergedAlloc)
	}
	sub := rs.v.L0Sublevels()
	if n := 4 + len(rs.imm) + sub.Depth() + manifest.NumLevels; it != nil && n <= len(it.alloc.srcArr) {
		srcs = it.alloc.srcArr[:0]
	} else {
		srcs = make([]keys.Iterator, 0, n)
	}
	var seqs []keys.SeqNum
	track := it != nil
	if track {
		seqs = it.seqBuf[:0]
	}
	note := func(s keys.SeqNum) {
		if track {
			for len(seqs) < len(srcs) {
				seqs = append(seqs, s)
			}
		}
	}
	srcs = db.appendMemIters(srcs, rs.mem)
	note(keys.MaxSeq) // still written to
	for i := len(rs.imm) - 1; i >= 0; i-- {
		srcs = db.appendMemIters(srcs, rs.imm[i])
		note(rs.imm[i].maxSeq)
	}
	var opener iterator.Opener
	if it != nil {
		opener = (*tableOpener)(it)
	} else {
		opener = iterator.OpenFunc(func(f *manifest.FileMeta) (keys.Iterator, error) { return db.openTableIter(f, prefix) })
	}
	// One level iterator per L0 sublevel, newest first: a sublevel's
	// tables do not overlap, so it is read as a level is.
	overlapping := int64(0)
	for l := sub.Depth() - 1; l >= 0; l-- {
		files := sub.Levels[l]
		if !anyOverlapsBounds(files, lower, upper) {
			continue
		}
		overlapping++
		var li *iterator.Level
		if it != nil && l < len(it.alloc.l0Arr) {
			li = &it.alloc.l0Arr[l]
		} else {
			li = &iterator.Level{}
		}
		li.Init(files, opener, lower, upper)
		srcs = append(srcs, li)
		note(sub.MaxSeq[l])
	}
	for level := 1; level < manifest.NumLevels; level++ {
		if it != nil {
			it.levelChild[level] = -1
		}
		if files := rs.v.Levels[level]; len(files) > 0 {
			if it != nil {
				it.levelChild[level] = len(srcs)
			}
			if it != nil {
				l := &it.alloc.levelArr[level]
				l.Init(files, opener, lower, upper)
				srcs = append(srcs, l)
			} else {
				l := &iterator.Level{}
				l.Init(files, opener, lower, upper)
				srcs = append(srcs, l)
			}
			note(keys.MaxSeq)
		}
	}
	if it != nil {
		it.levelChild[0] = -1
		it.maxSeqs = seqs
	}
	if overlapping > 1 && !db.opts.ReadOnly {
		db.readCharge(overlapping - 1)
	}
	if it != nil {
		it.alloc.merging.Init(srcs...)
		return &it.alloc.merging
	}
	return iterator.NewMerging(srcs...)
}

// anyOverlapsBounds reports whether a table of files, sorted and disjoint,
// may hold keys in [lower, upper).
func anyOverlapsBounds(files []*manifest.FileMeta, lower, upper []byte) bool {
	i := 0
	if lower != nil {
		i = manifest.FindInSublevel(files, lower)
	}
	return i < len(files) && overlapsBounds(files[i], lower, upper)
}

// overlapsBounds reports whether the table may hold keys in [lower, upper).
func overlapsBounds(f *manifest.FileMeta, lower, upper []byte) bool {
	if upper != nil && bytes.Compare(f.SmallestUserKey(), upper) >= 0 {
		return false
	}
	return lower == nil || !f.EndsBefore(lower)
}

// openTableIter opens an iterator over a table through the table cache; with
// a prefix, a table whose filter excludes the prefix yields an empty
// iterator without reading any data block.
func (db *DB) openTableIter(f *manifest.FileMeta, prefix []byte) (keys.Iterator, error) {
	r, release, err := db.tableCache.Get(f.FileNum, int64(f.Size))
	if err != nil {
		return nil, err
	}
	if prefix != nil && !r.MayContainPrefix(prefix) {
		release.Release()
		db.metrics.tablesSkippedByFilter.Add(1)
		return &errIter{}, nil
	}
	return db.wrapWALRefs(f, newTableIter(r, release, false), true), nil
}

// openCompactionIter opens an iterator over a compaction's input table: it
// reads through the block cache without filling it (see
// sstable.Reader.NewCompactionIter).
func (db *DB) openCompactionIter(f *manifest.FileMeta) (keys.Iterator, error) {
	r, release, err := db.tableCache.Get(f.FileNum, int64(f.Size))
	if err != nil {
		return nil, err
	}
	return db.wrapWALRefs(f, newTableIter(r, release, true), false), nil
}

// First moves to the first live key. It returns whether the iterator is
// valid.
func (it *Iterator) First() bool {
	if !it.begin() {
		return false
	}
	if it.lower != nil {
		return it.seekGE(it.lower)
	}
	it.iter.First()
	return it.findNext()
}

// Last moves to the last live key.
func (it *Iterator) Last() bool {
	if !it.begin() {
		return false
	}
	if it.upper != nil {
		return it.seekLT(it.upper)
	}
	it.iter.Last()
	return it.findPrev()
}

// SeekGE moves to the first live key >= key (and >= LowerBound).
func (it *Iterator) SeekGE(key []byte) bool {
	if !it.begin() {
		return false
	}
	if it.lower != nil && bytes.Compare(key, it.lower) < 0 {
		key = it.lower
	}
	return it.seekGE(key)
}

// SeekLT moves to the last live key < key (and < UpperBound).
func (it *Iterator) SeekLT(key []byte) bool {
	if !it.begin() {
		return false
	}
	if it.upper != nil && bytes.Compare(key, it.upper) > 0 {
		key = it.upper
	}
	return it.seekLT(key)
}

func (it *Iterator) seekGE(key []byte) bool {
	if it.upper != nil && bytes.Compare(key, it.upper) >= 0 {
		it.valid = false
		return false
	}
	it.search = keys.SearchKey(it.search[:0], key, keys.MaxSeq)
	it.iter.SeekGE(it.search)
	return it.findNext()
}

func (it *Iterator) seekLT(key []byte) bool {
	it.search = keys.SearchKey(it.search[:0], key, keys.MaxSeq)
	it.iter.SeekLT(it.search)
	return it.findPrev()
}

// Next moves to the next live key.
func (it *Iterator) Next() bool {
	if !it.usable() || !it.valid {
		return false
	}
	if !it.fwd {
		// The internal iterator sits before the current key: step past
		// every version of it.
		it.search = keys.MakeKey(it.search[:0], it.key, 0, keys.KindDelete)
		it.iter.SeekGE(it.search)
	} else {
		for it.iter.Next() && bytes.Equal(keys.UserKey(it.iter.Key()), it.key) {
		}
	}
	return it.findNext()
}

// Prev moves to the previous live key.
func (it *Iterator) Prev() bool {
	if !it.usable() || !it.valid {
		return false
	}
	if it.fwd {
		it.search = keys.SearchKey(it.search[:0], it.key, keys.MaxSeq)
		it.iter.SeekLT(it.search)
	}
	return it.findPrev()
}

// findNext moves forward from the internal iterator's position to the first
// user key whose newest visible version is live, and stops on that version.
func (it *Iterator) findNext() bool {
	it.fwd = true
	for it.iter.Valid() {
		p, ok := keys.Parse(it.iter.Key())
		if !ok {
			return it.badKey()
		}
		if it.upper != nil && bytes.Compare(p.UserKey, it.upper) >= 0 {
			break
		}
		if p.Seq > it.seq {
			it.iter.Next()
			continue
		}
		if it.rdel != nil {
			if ts, _, hi := it.rdel.covering(p.UserKey); ts > p.Seq {
				// Deleted by a range tombstone, and so is every older
				// entry up to hi: children holding only such entries
				// seek past the span at once.
				it.key = append(it.key[:0], p.UserKey...)
				var moved bool
				if moved, it.skip = it.iter.SkipForward(hi, ts, it.skip); moved {
					it.db.metrics.rangeDelSkips.Add(1)
				}
				for it.iter.Valid() && bytes.Equal(keys.UserKey(it.iter.Key()), it.key) {
					it.iter.Next()
				}
				continue
			}
		}
		it.key = append(it.key[:0], p.UserKey...)
		if it.accept(p.Kind, it.iter.Value()) {
			it.valid = true
			return true
		}
		if it.err != nil {
			return it.stop()
		}
		// Dead: skip the older versions of this key.
		for it.iter.Next() && bytes.Equal(keys.UserKey(it.iter.Key()), it.key) {
		}
	}
	return it.stop()
}

// findPrev moves backward from the internal iterator's position to the
// previous user key whose newest visible version is live. It leaves the
// internal iterator before that key.
func (it *Iterator) findPrev() bool {
	it.fwd = false
	for it.iter.Valid() {
		ukey := keys.UserKey(it.iter.Key())
		if ukey == nil {
			return it.badKey()
		}
		if it.lower != nil && bytes.Compare(ukey, it.lower) < 0 {
			break
		}
		it.key = append(it.key[:0], ukey...)
		var kind keys.Kind
		var value []byte
		var vseq keys.SeqNum
		found := false
		// Versions come oldest first going backward; the last visible one
		// seen is the newest visible.
		for {
			p, ok := keys.Parse(it.iter.Key())
			if !ok {
				return it.badKey()
			}
			if p.Seq <= it.seq {
				// A copy: the internal iterator moves on, and the table
				// iterator releases a data block it leaves, which the
				// cache may then free.
				it.valBuf = append(it.valBuf[:0], it.iter.Value()...)
				kind, value, vseq, found = p.Kind, it.valBuf, p.Seq, true
			}
			if !it.iter.Prev() || !bytes.Equal(keys.UserKey(it.iter.Key()), it.key) {
				break
			}
		}
		if found && it.rdel != nil {
			if ts, lo, _ := it.rdel.covering(it.key); ts > vseq {
				var moved bool
				if moved, it.skip = it.iter.SkipBackward(lo, ts, it.skip); moved {
					it.db.metrics.rangeDelSkips.Add(1)
				}
				continue
			}
		}
		if found && it.accept(kind, value) {
			it.valid = true
			return true
		}
		if it.err != nil {
			return it.stop()
		}
	}
	return it.stop()
}

// badKey stops the iterator at an internal key too short for its trailer.
// Table readers reject such keys, naming the table and offset, before one
// gets here; this is the second line of defence, never a silent skip.
func (it *Iterator) badKey() bool {
	if it.err == nil {
		it.err = fmt.Errorf("%w: iterator met an internal key of %d bytes, shorter than its trailer", ErrCorruption, len(it.iter.Key()))
	}
	return it.stop()
}

// accept judges the newest visible version of the key it.key, setting
// value and expiry if it is live. A version that cannot be judged stops
// the iterator with a corruption error.
func (it *Iterator) accept(kind keys.Kind, v []byte) bool {
	if kind == keys.KindSet {
		// The common case, without building a Judgement: copying that
		// struct was a tenth of a cached scan's CPU.
		it.value, it.expiry = v, 0
		return true
	}
	switch j := keys.Judge(kind, v, &it.now); {
	case j.Err != nil:
		it.err = fmt.Errorf("strata: iterator at key %s: %w", keys.Quote(it.key), j.Err)
	case j.Verdict == keys.VerdictLive:
		it.value, it.expiry = j.Value, j.Expiry
		return true
	case j.Verdict == keys.VerdictExpired:
		it.db.metrics.expiredHidden.Add(1)
	}
	return false
}

func (it *Iterator) stop() bool {
	it.valid = false
	if err := it.iter.Error(); err != nil && it.err == nil {
		it.err = err
	}
	return false
}

// begin prepares an absolute positioning call.
func (it *Iterator) begin() bool {
	if !it.usable() {
		return false
	}
	it.err = nil
	it.now.Reset() // the clock is read again, when an expiring entry needs it
	return true
}

// usable reports whether the iterator may move; it records ErrClosed.
func (it *Iterator) usable() bool {
	if it.closed {
		it.valid = false
		return false
	}
	if it.db.closed.Load() {
		it.err, it.valid = ErrClosed, false
		return false
	}
	if it.snap != nil && it.snap.closed.Load() {
		it.err, it.valid = fmt.Errorf("%w: snapshot closed", ErrClosed), false
		return false
	}
	return it.err == nil || !errors.Is(it.err, ErrClosed)
}

// Valid reports whether the iterator is at a key.
func (it *Iterator) Valid() bool { return it.valid && it.err == nil }

// Key returns the current key, valid until the next positioning call.
func (it *Iterator) Key() []byte {
	if !it.Valid() {
		return nil
	}
	return it.key
}

// Value returns the current value, valid until the next positioning call.
func (it *Iterator) Value() []byte {
	if !it.Valid() {
		return nil
	}
	return it.value
}

// Expiry returns when the current entry expires: the zero Time if it never
// does.
func (it *Iterator) Expiry() time.Time {
	if !it.Valid() {
		return time.Time{}
	}
	return it.expiryTime()
}

// expiryTime returns the current entry's expiry (zero if none).
func (it *Iterator) expiryTime() time.Time {
	if it.expiry == 0 {
		return time.Time{}
	}
	return time.Unix(0, it.expiry)
}

// Error returns the error that stopped the iterator, if any.
func (it *Iterator) Error() error { return it.err }

// Close releases the iterator and returns the error that stopped the
// iteration, the one Error reports (nil if it ran cleanly), or else an error
// releasing it. Check it, as a loop's end may be an error's. A second Close
// returns ErrClosed.
func (it *Iterator) Close() error {
	if it.closed {
		return fmt.Errorf("%w: iterator already closed", ErrClosed)
	}
	it.closed, it.valid = true, false
	err := it.iter.Close()
	it.iter = nil
	if a := it.alloc; a != nil {
		it.alloc = nil
		a.srcArr = [len(a.srcArr)]keys.Iterator{} // closed children, recycled elsewhere
		a.levelArr = [len(a.levelArr)]iterator.Level{}
		mergedAllocs.Put(a)
	}
	it.rs.release()
	it.db.mu.Lock()
	it.db.mu.iters--
	it.db.mu.bgCond.Broadcast()
	it.db.mu.Unlock()
	if it.err != nil {
		return it.err
	}
	return err
}

// tableIter is a table iterator that releases its table-cache handle on
// Close. Closed tableIters return to tableIters with their key buffers, so
// that an iterator seek does not allocate one per table it opens: once
// closed, a tableIter must not be used, nor any key it returned (the
// merging and level iterators drop their children as they close them, and
// every consumer copies the keys it keeps).
type tableIter struct {
	sstable.Iterator
	handle *sstable.Handle
}

// tableIters recycles closed tableIters.
var tableIters = sync.Pool{New: func() any { return new(tableIter) }}

// newTableIter returns a tableIter over r holding handle (an iterator for
// a compaction's input when compaction is true).
func newTableIter(r *sstable.Reader, handle *sstable.Handle, compaction bool) *tableIter {
	t := tableIters.Get().(*tableIter)
	r.ResetIter(&t.Iterator, compaction)
	t.handle = handle
	return t
}

func (t *tableIter) Close() error {
	err := t.Iterator.Close()
	if t.handle != nil {
		t.handle.Release()
		t.handle = nil
		tableIters.Put(t)
	}
	return err
}

// wrapWALRefs returns t, or for a table that refers to values in a WAL
// segment, an iterator that resolves them (caching the values it reads
// when fill is set).
func (db *DB) wrapWALRefs(f *manifest.FileMeta, t *tableIter, fill bool) keys.Iterator {
	if f.WALRef == 0 {
		return t
	}
	w := &walRefIter{
		Iterator: t,
		read:     func(r walRef, dst []byte) ([]byte, error) { return db.readWALRef(f, r, dst, fill, nil) },
		bad:      func(v []byte) error { return db.badWALValue(f, v) },
		table:    f.FileNum,
	}
	if fill {
		w.db, w.seg = db, func() (walValueSeg, error) { return db.openWALValueSeg(f.WALRef) }
	}
	return w
}

// appendMemIters appends m's iterators to dst (memtable AppendIters),
// each wrapped to resolve its values when m is a walRefMemtable.
func (db *DB) appendMemIters(dst []keys.Iterator, m *memTable) []keys.Iterator {
	n := len(dst)
	dst = m.mt.AppendIters(dst)
	if m.walRefMemtable() {
		for i := n; i < len(dst); i++ {
			dst[i] = &walRefIter{
				Iterator: dst[i],
				read:     func(r walRef, dst []byte) ([]byte, error) { return db.readMemValue(m, r, dst, true, nil) },
				bad:      m.badValue,
				db:       db,
				// Only what the leader handed to the file is final.
				seg: func() (walValueSeg, error) {
					return walValueSeg{f: m.seg, name: m.segName, size: m.logged.Load()}, nil
				},
			}
		}
	}
	return dst
}

// walRefIter is an iterator over a table or memtable whose KindSet values
// are tagged, some of them references to values in a WAL segment (see
// walvalues.go): at each position it resolves the value, so its users see
// every value as in any table. A value it cannot read makes it invalid
// with the error, as a damaged block does.
type walRefIter struct {
	keys.Iterator
	read func(r walRef, dst []byte) ([]byte, error) // reads and checks a referred value
	bad  func(v []byte) error                       // the error for a malformed tagged value
	val  []byte                                     // the current entry's value
	buf  []byte                                     // memory for values read from the segment
	err  error
	// Reading ahead (see walReadahead): seg gives the segment and how
	// much of it may be read (nil: the iterator never reads ahead, as a
	// compaction's); ra is the window read last.
	db    *DB
	seg   func() (walValueSeg, error)
	table uint64 // the table's number, 0 for a memtable (for errors)
	ra    walReadahead
}

func (w *walRefIter) settle(ok bool) bool {
	if !ok || w.err != nil {
		w.val = nil
		return false
	}
	v := w.Iterator.Value()
	if _, kind := keys.SplitTrailer(keys.TrailerOf(w.Iterator.Key())); kind != keys.KindSet {
		w.val = v
		return true
	}
	inline, r, isRef, ok := decodeWALValue(v)
	if !ok {
		w.err, w.val = w.bad(v), nil
		return false
	}
	if !isRef {
		w.val = inline
		return true
	}
	out, ok, err := w.readAhead(r)
	if !ok && err == nil {
		out, err = w.read(r, w.buf[:0])
	}
	if err != nil {
		w.err, w.val = err, nil
		return false
	}
	w.buf, w.val = out, out // memory of its own, reused at the next read
	return true
}

func (w *walRefIter) SeekGE(k []byte) bool { return w.settle(w.Iterator.SeekGE(k)) }
func (w *walRefIter) SeekLT(k []byte) bool { return w.settle(w.Iterator.SeekLT(k)) }
func (w *walRefIter) First() bool          { return w.settle(w.Iterator.First()) }
func (w *walRefIter) Last() bool           { return w.settle(w.Iterator.Last()) }
func (w *walRefIter) Next() bool           { return w.settle(w.Iterator.Next()) }
func (w *walRefIter) Prev() bool           { return w.settle(w.Iterator.Prev()) }
func (w *walRefIter) Valid() bool          { return w.err == nil && w.Iterator.Valid() }
func (w *walRefIter) Value() []byte        { return w.val }

func (w *walRefIter) Error() error {
	if w.err != nil {
		return w.err
	}
	return w.Iterator.Error()
}

func (w *walRefIter) Close() error {
	w.ra.release()
	err := w.Iterator.Close()
	if w.err != nil {
		return w.err
	}
	return err
}

// errIter is an empty iterator carrying an error (or none).
type errIter struct{ err error }

func (e *errIter) SeekGE([]byte) bool { return false }
func (e *errIter) SeekLT([]byte) bool { return false }
func (e *errIter) First() bool        { return false }
func (e *errIter) Last() bool         { return false }
func (e *errIter) Next() bool         { return false }
func (e *errIter) Prev() bool         { return false }
func (e *errIter) Valid() bool        { return false }
func (e *errIter) Key() []byte        { return nil }
func (e *errIter) Value() []byte      { return nil }
func (e *errIter) Error() error       { return e.err }
func (e *errIter) Close() error       { return e.err }

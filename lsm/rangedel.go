package lsm

import (
	"bytes"
	"sync"

	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/manifest"
	"github.com/stratadb/strata/rangedel"
)

// rangeDelCoverage estimates the bytes of tables that the range tombstones
// l, held by a table of level, cover, from the tables' indexes (no data
// block is read): those of the levels below; for a table of L0 (a flush's)
// also the older L0 tables of v and its own entries (self, when not nil: a
// memtable flushed with data and the tombstones over it). The compaction
// picker adds it to the size of the table holding l, so that a level whose
// data below is mostly deleted is compacted and the space comes back.
// level -1 counts every table of v (tombstones still in a memtable).
func (db *DB) rangeDelCoverage(v *manifest.Version, level int, l rangedel.List, self *manifest.FileMeta) uint64 {
	if len(l) == 0 || v == nil {
		return 0
	}
	var n uint64
	from := level + 1
	if level == 0 {
		from = 0 // every table already in L0 is older than a flush's
		if self != nil {
			n += db.coveredBytes(self, l)
		}
	}
	for lv := max(from, 0); lv < manifest.NumLevels; lv++ {
		for _, f := range v.Levels[lv] {
			if self == nil || f.FileNum != self.FileNum {
				n += db.coveredBytes(f, l)
			}
		}
	}
	return n
}

// coveredBytes estimates the bytes of f's data blocks inside l's fragments.
func (db *DB) coveredBytes(f *manifest.FileMeta, l rangedel.List) uint64 {
	if !l.Overlaps(f.SmallestUserKey(), f.LargestUserKey()) {
		return 0
	}
	r, h, err := db.tableCache.Get(f.FileNum, int64(f.Size))
	if err != nil {
		return f.Size / 2 // an estimate only
	}
	defer h.Release()
	var n uint64
	for _, fr := range l.Clip(f.SmallestUserKey(), nil) {
		if bytes.Compare(fr.Start, f.LargestUserKey()) > 0 {
			break
		}
		lo, hi := r.ApproxOffset(fr.Start), r.ApproxOffset(fr.End)
		if hi > lo {
			n += hi - lo
		}
	}
	if f.WALRef != 0 && f.Size > 0 {
		// The values it refers to in a WAL segment go with it (in
		// proportion: a reference stands for its value).
		n += uint64(float64(n) * float64(f.WALRefBytes) / float64(f.Size))
	}
	return n
}

// rangeDelFlushMin is how many bytes of tables the mutable memtable's range
// tombstones must cover (or a quarter of all) for maybeFlushForRangeDels to
// flush it early.
const rangeDelFlushMin = 1 << 20

// maybeFlushForRangeDels flushes the mutable memtable when its range
// tombstones cover 1 MiB of tables or a quarter of their bytes. Until the
// tombstones reach a table, compaction cannot drop what they delete, and a
// DB that receives no more writes would never fill the memtable: ttlLoop
// calls it every TTLCompactionInterval, so the space comes back within one
// interval plus a flush and the compactions the picker then starts. A
// memtable is flushed early at most once (the next one starts without
// tombstones).
func (db *DB) maybeFlushForRangeDels() {
	if db.opts.ReadOnly || db.closed.Load() {
		return
	}
	rs, _ := db.loadReadState()
	if rs == nil { // closed meanwhile
		return
	}
	mt := rs.mem.mt
	var covered, total uint64
	if mt.HasRangeDels() {
		covered = db.rangeDelCoverage(rs.v, -1, mt.RangeDels(), nil)
		for lv := range manifest.NumLevels {
			total += rs.v.LevelSize(lv)
		}
	}
	rs.release()
	if covered == 0 || (covered < rangeDelFlushMin && covered*4 < total) {
		return
	}
	db.metrics.rangeDelFlushes.Add(1)
	_ = db.Flush() // a failure latches as the background error
}

// tableRangeDels are the range tombstones of a read state's tables, loaded
// once per read state when an iterator first needs them: one list per L0
// sublevel and one per level L1+ that has any (the tables of either do not
// overlap, so their lists laid end to end are one List). levelMaxSeq[l] is the newest
// sequence number in level l (for L0, unused), computed on its own once.
type tableRangeDels struct {
	once        sync.Once
	lists       []rangedel.List
	err         error
	seqOnce     sync.Once
	levelMaxSeq [manifest.NumLevels]keys.SeqNum
	anyTable    bool // some table holds range tombstones (set with levelMaxSeq)
}

// levelMaxSeqs returns the newest sequence number of each level L1+ of rs,
// and notes whether any table of rs holds range tombstones.
func (rs *readState) levelMaxSeqs() *[manifest.NumLevels]keys.SeqNum {
	t := &rs.rdels
	t.seqOnce.Do(func() {
		for level := 0; level < manifest.NumLevels; level++ {
			for _, f := range rs.v.Levels[level] {
				if level > 0 {
					t.levelMaxSeq[level] = max(t.levelMaxSeq[level], f.LargestSeq)
				}
				t.anyTable = t.anyTable || f.NumRangeDels != 0
			}
		}
	})
	return &t.levelMaxSeq
}

// tableRangeDels returns rs's table tombstones, loading them on first use.
func (rs *readState) tableRangeDels() *tableRangeDels {
	t := &rs.rdels
	t.once.Do(func() {
		db := rs.db
		load := func(f *manifest.FileMeta) (rangedel.List, error) {
			if f.NumRangeDels == 0 {
				return nil, nil
			}
			r, h, err := db.tableCache.Get(f.FileNum, int64(f.Size))
			if err != nil {
				return nil, err
			}
			l := r.RangeDels()
			h.Release()
			return l, nil
		}
		// One list per L0 sublevel and per level L1+: their tables do not
		// overlap, so their lists laid end to end in key order are one.
		levels := append([][]*manifest.FileMeta(nil), rs.v.L0Sublevels().Levels...)
		for level := 1; level < manifest.NumLevels; level++ {
			levels = append(levels, rs.v.Levels[level])
		}
		for _, files := range levels {
			var all rangedel.List
			for _, f := range files {
				l, err := load(f)
				if err != nil {
					t.err = err
					return
				}
				all = append(all, l...)
			}
			if len(all) > 0 {
				t.lists = append(t.lists, all)
			}
		}
	})
	return t
}

// iterRangeDels is what an iterator over range tombstones allocates, once:
// its view, room for the view's first lists, and its skip buffer.
type iterRangeDels struct {
	view  rangeDelView
	lists [4]rangedel.List
	skip  [48]byte
}

// rangeDelView answers, for an iterator, which range tombstone visible at
// its sequence number covers a key. It caches the last answer with the
// range over which it holds, so that a scan pays a binary search only when
// it crosses a fragment boundary.
type rangeDelView struct {
	lists []rangedel.List
	seq   keys.SeqNum

	cached bool
	ts     keys.SeqNum
	lo, hi []byte // the cached answer holds on [lo, hi); nil = unbounded
}

// covering returns the newest visible tombstone covering ukey (0 if none)
// and the range [lo, hi) around ukey where that answer holds.
func (v *rangeDelView) covering(ukey []byte) (keys.SeqNum, []byte, []byte) {
	if v.cached && (v.lo == nil || bytes.Compare(ukey, v.lo) >= 0) && (v.hi == nil || bytes.Compare(ukey, v.hi) < 0) {
		return v.ts, v.lo, v.hi
	}
	var ts keys.SeqNum
	var lo, hi []byte
	for i, l := range v.lists {
		s, llo, lhi := l.Covering(ukey, v.seq)
		ts = max(ts, s)
		if i == 0 || (llo != nil && (lo == nil || bytes.Compare(llo, lo) > 0)) {
			lo = llo
		}
		if i == 0 || (lhi != nil && (hi == nil || bytes.Compare(lhi, hi) < 0)) {
			hi = lhi
		}
	}
	v.cached, v.ts, v.lo, v.hi = true, ts, lo, hi
	return ts, lo, hi
}

package lsm

import (
	"bytes"
	"sync"

	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/manifest"
	"github.com/stratadb/strata/rangedel"
)

// rangeDelCoverage estimates the bytes of tables below level that the
// range tombstones l cover, from the tables' indexes (no data block is
// read). The compaction picker adds it to the size of the table holding l,
// so that a level whose data below is mostly deleted is compacted and the
// space comes back.
func (db *DB) rangeDelCoverage(v *manifest.Version, level int, l rangedel.List) uint64 {
	if len(l) == 0 || v == nil {
		return 0
	}
	var n uint64
	for lv := level + 1; lv < manifest.NumLevels; lv++ {
		for _, f := range v.Levels[lv] {
			if !l.Overlaps(f.SmallestUserKey(), f.LargestUserKey()) {
				continue
			}
			r, h, err := db.tableCache.Get(f.FileNum, int64(f.Size))
			if err != nil {
				n += f.Size / 2 // an estimate only
				continue
			}
			for _, fr := range l.Clip(f.SmallestUserKey(), nil) {
				if bytes.Compare(fr.Start, f.LargestUserKey()) > 0 {
					break
				}
				lo, hi := r.ApproxOffset(fr.Start), r.ApproxOffset(fr.End)
				if hi > lo {
					n += hi - lo
				}
			}
			h.Release()
		}
	}
	return n
}

// tableRangeDels are the range tombstones of a read state's tables, loaded
// once per read state when an iterator first needs them: one list per L0
// table that has any, and one per level L1+ (its tables do not overlap, so
// their lists laid end to end are one List). levelMaxSeq[l] is the newest
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
		for _, f := range rs.v.Levels[0] {
			l, err := load(f)
			if err != nil {
				t.err = err
				return
			}
			if len(l) > 0 {
				t.lists = append(t.lists, l)
			}
		}
		for level := 1; level < manifest.NumLevels; level++ {
			var all rangedel.List
			for _, f := range rs.v.Levels[level] {
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

package lsm

import (
	"fmt"
	"sync"
	"time"

	"github.com/stratadb/strata/manifest"
	"github.com/stratadb/strata/sstable"

	"github.com/stratadb/strata/keys"
)

// lookup is the result of a point read.
type lookup struct {
	value  []byte // aliases memtable or block memory; copy before done
	expiry int64  // Unix nanos; 0 = none
	// rs keeps the memtable value may alias alive (its arena is off the
	// Go heap and freed with the last reference); nil when not found.
	rs *readState
	// block holds the cached data block value may alias (off the Go heap,
	// freed once evicted and released).
	block sstable.BlockRef
}

// done releases what the lookup holds; value must not be used afterwards.
func (l *lookup) done() {
	l.block.Release()
	l.block = sstable.BlockRef{}
	if l.rs != nil {
		l.rs.release()
		l.rs = nil
	}
}

// get finds the newest version of key visible at seq and judges it: found is
// false for an absent, deleted or expired key. A found lookup holds the read
// state until its done is called.
func (db *DB) get(key []byte, seq keys.SeqNum) (l lookup, found bool, err error) {
	return db.getWith(key, seq, nil)
}

// getWith is get reading tables as getFrom does with scratch: when it is
// set, a found value may alias *scratch.
func (db *DB) getWith(key []byte, seq keys.SeqNum, scratch *[]byte) (l lookup, found bool, err error) {
	if db.closed.Load() {
		return l, false, ErrClosed
	}
	if err := checkKey(key); err != nil {
		return l, false, err
	}
	rs, latest := db.loadReadState()
	if rs == nil {
		return l, false, ErrClosed
	}
	if seq == seqLatest {
		seq = latest
	}
	l, found, err = db.judge(rs, key, seq, scratch)
	if found {
		l.rs = rs
	} else {
		rs.release()
	}
	return l, found, err
}

// judge is get's reading and judging, under the caller's read state.
func (db *DB) judge(rs *readState, key []byte, seq keys.SeqNum, scratch *[]byte) (l lookup, found bool, err error) {
	kind, value, ref, ok, err := db.getFrom(rs, key, seq, scratch)
	if err != nil || !ok || kind == keys.KindDelete {
		ref.Release() // value is not used
		ref = sstable.BlockRef{}
	}
	if err != nil || !ok {
		if err != nil && db.closed.Load() {
			err = ErrClosed
		}
		return l, false, err
	}
	now := db.now()
	switch j := keys.Judge(kind, value, &now); {
	case j.Err != nil:
		ref.Release()
		return l, false, fmt.Errorf("strata: get %s: %w", keys.Quote(key), j.Err)
	case j.Verdict == keys.VerdictExpired:
		db.metrics.expiredHidden.Add(1)
	case j.Verdict == keys.VerdictLive:
		return lookup{value: j.Value, expiry: j.Expiry, block: ref}, true, nil
	}
	ref.Release()
	return l, false, nil
}

// now returns the instant reads and compactions judge expiry at: the
// DB's clock (Options.Clock), read when an expiring entry first needs it.
func (db *DB) now() keys.Now { return keys.NowFrom(db.opts.Clock) }

// getFrom returns the newest entry of key visible at seq in rs: memtables
// newest first, then L0 newest first, then one table per level. A version
// covered by a newer range tombstone visible at seq reads as KindDelete.
//
// Range tombstones are consulted newest source first: tomb is the newest
// visible tombstone covering key among the sources read so far. A table
// whose newest entry is older than tomb holds nothing visible of key, so it
// is skipped without reading any of its blocks.
//
// With scratch nil, a value found in a table aliases a cached block (a block
// read from a file is added to the cache), which ref holds until the caller
// releases it. With scratch set, a table's value is copied into *scratch
// (reused), and a block read from a file goes through pooled memory and
// stays out of the cache (sstable LookupAppend), except in a table that
// refers to values in the WAL (see getFromTable): there the value may
// alias a cached block ref holds, or be read into *scratch.
func (db *DB) getFrom(rs *readState, key []byte, seq keys.SeqNum, scratch *[]byte) (kind keys.Kind, value []byte, ref sstable.BlockRef, found bool, err error) {
	var tomb keys.SeqNum
	judge := func(vseq keys.SeqNum, kind keys.Kind, v []byte) (keys.Kind, []byte, sstable.BlockRef, bool, error) {
		if vseq < tomb {
			return keys.KindDelete, nil, ref, true, nil
		}
		return kind, v, ref, true, nil
	}
	if rs.mem.mt.HasRangeDels() {
		tomb = max(tomb, rs.mem.mt.RangeDels().MaxSeq(key, seq))
	}
	// A walRefMemtable's value is resolved: the value itself (aliasing
	// the arena, as any memtable value), or one read from its segment into
	// memory of its own (*scratch if set).
	memValue := func(m *memTable, vseq keys.SeqNum, kind keys.Kind, v []byte) (keys.Kind, []byte, sstable.BlockRef, bool, error) {
		if kind == keys.KindSet && m.walRefMemtable() && vseq >= tomb {
			inline, r, isRef, ok := decodeWALValue(v)
			if !ok {
				return 0, nil, ref, false, m.badValue(v)
			}
			if isRef {
				var dst []byte
				vref := &ref // a value in a cached block aliases it
				if scratch != nil {
					dst, vref = (*scratch)[:0], nil
				}
				var err error
				if inline, err = db.readMemValue(m, r, dst, scratch == nil, vref); err != nil {
					return 0, nil, ref, false, err
				}
				if scratch != nil {
					*scratch = inline
				}
			}
			v = inline
		}
		return judge(vseq, kind, v)
	}
	if vseq, kind, v, ok := rs.mem.mt.Lookup(key, seq); ok {
		return memValue(rs.mem, vseq, kind, v)
	}
	for i := len(rs.imm) - 1; i >= 0; i-- {
		m := rs.imm[i]
		if m.mt.HasRangeDels() {
			tomb = max(tomb, m.mt.RangeDels().MaxSeq(key, seq))
		}
		if vseq, kind, v, ok := m.mt.Lookup(key, seq); ok {
			return memValue(m, vseq, kind, v)
		}
	}
	var buf [128]byte
	search := keys.SearchKey(buf[:0], key, seq)
	v := rs.v
	// L0 sublevel by sublevel, newest first: of the L0 tables holding key,
	// the one in the higher sublevel is the newer, and each sublevel has at
	// most one (a binary search finds it).
	sub := v.L0Sublevels()
	probed := int64(0)
	for l := len(sub.Levels) - 1; l >= 0; l-- {
		files := sub.Levels[l]
		i := manifest.FindInSublevel(files, key)
		if i >= len(files) || !containsUserKey(files[i], key) {
			continue
		}
		f := files[i]
		if f.LargestSeq < tomb {
			db.metrics.tablesSkippedByRangeDel.Add(1)
			continue
		}
		probed++
		vseq, kind, val, ok, err := db.getFromTable(f, key, search, seq, &tomb, scratch, &ref)
		if err != nil || ok {
			db.metrics.l0Probes.Add(probed)
			if probed > 1 && !db.opts.ReadOnly {
				db.readCharge(1) // newer L0 tables were probed in vain
			}
			if err != nil {
				return 0, nil, ref, false, err
			}
			return judge(vseq, kind, val)
		}
	}
	if probed > 0 {
		db.metrics.l0Probes.Add(probed)
	}
	for level := 1; level < len(v.Levels); level++ {
		files := v.Levels[level]
		if len(files) == 0 {
			continue
		}
		i := v.FindFile(level, key)
		if i >= len(files) || !containsUserKey(files[i], key) {
			continue
		}
		f := files[i]
		if f.LargestSeq < tomb {
			db.metrics.tablesSkippedByRangeDel.Add(1)
			continue
		}
		vseq, kind, val, ok, err := db.getFromTable(f, key, search, seq, &tomb, scratch, &ref)
		if err != nil {
			return 0, nil, ref, false, err
		}
		if ok {
			return judge(vseq, kind, val)
		}
	}
	return 0, nil, ref, false, nil
}

// getFromTable looks key up in one table, first raising *tomb to the
// newest tombstone of the table visible at seq that covers key. With
// scratch set, the value is copied into *scratch (see getFrom); without, a
// found value aliases a data block *ref then holds.
func (db *DB) getFromTable(f *manifest.FileMeta, key, search []byte, seq keys.SeqNum, tomb *keys.SeqNum, scratch *[]byte, ref *sstable.BlockRef) (keys.SeqNum, keys.Kind, []byte, bool, error) {
	r, release, err := db.tableCache.Get(f.FileNum, int64(f.Size))
	if err != nil {
		return 0, 0, nil, false, err
	}
	defer release.Release()
	if rd := r.RangeDels(); len(rd) > 0 {
		*tomb = max(*tomb, rd.MaxSeq(key, seq))
	}
	var trailer uint64
	var val []byte
	var ok bool
	// A table that refers to values in the WAL holds only keys and
	// references: its blocks are cached even for a read that leaves the
	// blocks of other tables out (scratch set), since they are dense
	// (about 25 bytes an entry) and the values, the part a scattered read
	// would evict others with, stay out.
	if scratch == nil || f.WALRef != 0 {
		trailer, val, *ref, ok, err = r.LookupRef(key, search)
	} else {
		trailer, val, ok, err = r.LookupAppend((*scratch)[:0], key, search, false)
		*scratch = val
	}
	if err != nil || !ok {
		return 0, 0, nil, false, err
	}
	vseq, kind := keys.SplitTrailer(trailer)
	if f.WALRef != 0 && kind == keys.KindSet {
		// The value is tagged: the value itself (aliasing the block ref
		// holds), or a reference to it in a WAL segment, read into memory
		// of its own (*scratch if set) and cached unless scratch is set.
		inline, r, isRef, ok := decodeWALValue(val)
		if !ok {
			return 0, 0, nil, false, db.badWALValue(f, val)
		}
		if isRef {
			// The value does not alias the table's block: let it go, and
			// hold the cached value's instead when there is one.
			ref.Release()
			*ref = sstable.BlockRef{}
			var dst []byte
			vref := ref
			if scratch != nil {
				dst, vref = (*scratch)[:0], nil
			}
			if inline, err = db.readWALRef(f, r, dst, scratch == nil, vref); err != nil {
				return 0, 0, nil, false, err
			}
			if scratch != nil {
				*scratch = inline
			}
		}
		val = inline
	}
	return vseq, kind, val, true, nil
}

// Get returns a copy of the value of key, or ErrNotFound if it is absent,
// deleted or expired.
func (db *DB) Get(key []byte) ([]byte, error) {
	return db.getAt(key, seqLatest)
}

func (db *DB) getAt(key []byte, seq keys.SeqNum) ([]byte, error) {
	l, ok, err := db.get(key, seq)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNotFound
	}
	db.metrics.gets.Add(1)
	v := append(make([]byte, 0, len(l.value)), l.value...)
	l.done()
	return v, nil
}

// GetOptions are the options of one read by GetAppend. The zero value (and
// a nil *GetOptions) reads as Get does.
type GetOptions struct {
	// NoFillCache leaves a data block the read takes from a table file out
	// of the block cache, and reads it into reused memory instead of
	// memory of its own. For reads scattered over more data than the cache
	// holds, where a block is seldom read twice, it spares the allocation
	// of a block per read and the eviction of blocks other reads would
	// hit. A block already in the cache is used either way. In a table
	// that refers to values in the WAL (Options.WALValueThreshold) it
	// leaves the values read out of the cache, and caches the table's
	// blocks, which hold keys and references only. The default value is
	// false: blocks read are cached.
	NoFillCache bool
}

// GetAppend appends the value of key to dst and returns the extended slice,
// or dst and ErrNotFound if the key is absent, deleted or expired. It is
// Get with the caller's memory and opts; Get(key) is GetAppend(nil, key,
// nil) but for the capacity of the slice returned.
func (db *DB) GetAppend(dst, key []byte, opts *GetOptions) ([]byte, error) {
	var scratch *[]byte
	if opts != nil && opts.NoFillCache {
		scratch = valueBufs.Get().(*[]byte)
	}
	l, ok, err := db.getWith(key, seqLatest, scratch)
	if err == nil && !ok {
		err = ErrNotFound
	}
	if err == nil {
		db.metrics.gets.Add(1)
		dst = append(dst, l.value...)
	}
	l.done()
	if scratch != nil {
		if cap(*scratch) <= maxPooledValue {
			*scratch = (*scratch)[:0]
			valueBufs.Put(scratch)
		}
	}
	return dst, err
}

// valueBufs holds GetAppend's scratch buffers for values read from tables
// without filling the cache; buffers above maxPooledValue are dropped.
var valueBufs = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledValue = 1 << 20

// Has reports whether key is present (not deleted, not expired).
func (db *DB) Has(key []byte) (bool, error) {
	l, ok, err := db.get(key, seqLatest)
	l.done()
	return ok, err
}

// Expiry returns when key expires: the zero Time if it never does, or
// ErrNotFound if it is absent, deleted or expired.
func (db *DB) Expiry(key []byte) (time.Time, error) {
	l, ok, err := db.get(key, seqLatest)
	l.done()
	if err != nil {
		return time.Time{}, err
	}
	if !ok {
		return time.Time{}, ErrNotFound
	}
	if l.expiry == 0 {
		return time.Time{}, nil
	}
	return time.Unix(0, l.expiry), nil
}

// containsUserKey reports whether key lies within the table's key range
// (whose largest key may be an exclusive range tombstone end).
func containsUserKey(f *manifest.FileMeta, key []byte) bool {
	return f.ContainsUserKey(key)
}

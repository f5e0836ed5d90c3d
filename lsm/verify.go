package lsm

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/stratadb/strata/internal/batchrepr"
	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/manifest"
	"github.com/stratadb/strata/sstable"
	"github.com/stratadb/strata/wal"
)

// Verify reads every live table and every WAL record the DB still needs and
// checks every checksum. It returns an error wrapping ErrCorruption that
// names the file and offset of the first damage found.
func (db *DB) Verify() error {
	if db.closed.Load() {
		return ErrClosed
	}
	rs, _ := db.loadReadState()
	if rs == nil {
		return ErrClosed
	}
	defer rs.release()
	for _, files := range rs.v.Levels {
		for _, f := range files {
			r, release, err := db.tableCache.Get(f.FileNum, int64(f.Size))
			if err != nil {
				return err
			}
			err = r.Verify()
			if err == nil {
				err = verifyRangeDels(f, r)
			}
			release.Release()
			if err == nil && f.WALRef != 0 {
				err = db.verifyWALRefs(f)
			}
			if err != nil {
				return err
			}
		}
	}
	mems := append(append([]*memTable(nil), rs.imm...), rs.mem)
	for i, m := range mems {
		if m.walNum == 0 {
			continue // read-only DB: replayed into memory at Open
		}
		if err := db.verifyWAL(m.walNum, i == len(mems)-1); err != nil {
			if errors.Is(err, os.ErrNotExist) && !db.stillUnflushed(m) {
				continue // flushed meanwhile: its WAL is gone and its table checked next time
			}
			return err
		}
	}
	return nil
}

// verifyWALRefs reads every value table f refers to in a WAL segment and
// checks its checksum.
func (db *DB) verifyWALRefs(f *manifest.FileMeta) error {
	it, err := db.openCompactionIter(f)
	if err != nil {
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
	}
	return it.Close()
}

func (db *DB) verifyWAL(num uint64, newest bool) error {
	name := manifest.MakeFilename(db.dir, manifest.FileTypeLog, num)
	f, err := db.fs.Open(name)
	if err != nil {
		return fmt.Errorf("strata: verify: %w", err)
	}
	defer f.Close()
	r := wal.NewReader(f, name)
	for {
		rec, err := r.Next()
		switch {
		case err == io.EOF:
			return nil
		case errors.Is(err, wal.ErrTorn):
			if newest {
				return nil // a write in progress, or a torn tail recovery already cut
			}
			return fmt.Errorf("%w: %s: %v", ErrCorruption, name, err)
		case err != nil:
			return err
		}
		if _, _, err := batchrepr.Decode(rec, name, r.Offset(), func(keys.SeqNum, batchrepr.Entry) error { return nil }); err != nil {
			return err
		}
	}
}

// verifyRangeDels checks a table's range tombstones against its MANIFEST
// record: the count matches, and every tombstone lies within the table's
// bounds, so a reader that skips the table by its bounds misses none. An
// error names the table file and its range deletion block's offset.
func verifyRangeDels(f *manifest.FileMeta, r *sstable.Reader) error {
	l := r.RangeDels()
	name, off := r.Name(), int64(r.Properties().RangeDelOffset)
	if uint64(l.Count()) != f.NumRangeDels {
		return keys.CorruptionError(name, off, "%d range tombstones, the MANIFEST says %d", l.Count(), f.NumRangeDels)
	}
	if len(l) == 0 {
		return nil
	}
	if keys.Compare(l.Smallest(nil), f.Smallest) < 0 || keys.Compare(l.Largest(nil), f.Largest) > 0 {
		return keys.CorruptionError(name, off, "range tombstones [%s, %s) outside the table's bounds %s..%s",
			keys.Quote(l[0].Start), keys.Quote(l[len(l)-1].End), keys.Format(f.Smallest), keys.Format(f.Largest))
	}
	for _, fr := range l {
		if fr.Seqs[0] > f.LargestSeq || fr.Seqs[len(fr.Seqs)-1] < f.SmallestSeq {
			return keys.CorruptionError(name, off, "range tombstone sequence numbers %v outside the table's [%d, %d]", fr.Seqs, f.SmallestSeq, f.LargestSeq)
		}
	}
	return nil
}

// stillUnflushed reports whether m is still a memtable of the DB, not yet
// written to a table.
func (db *DB) stillUnflushed(m *memTable) bool {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.mu.mem == m {
		return true
	}
	for _, im := range db.mu.imm {
		if im == m {
			return true
		}
	}
	return false
}

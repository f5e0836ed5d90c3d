package lsm

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/vfs"
)

var (
	rdSpaceKeys = flag.Int("rangedel.keys", 50000, "keys in TestDeleteRangeReclaimsSpace and TestDeleteRangeReclaimsDiskUnattended (1000000 for the figures quoted in the docs)")
	rdSpaceWait = flag.Duration("rangedel.wait", time.Minute, "how long TestDeleteRangeReclaimsDiskUnattended waits for background work")
	rdInterval  = flag.Duration("rangedel.interval", 100*time.Millisecond, "TTLCompactionInterval of TestDeleteRangeReclaimsDiskUnattended (0: the default, one minute)")
)

// tableBytes sums the sizes of the DB's tables.
func tableBytes(t testing.TB, db *DB) int64 {
	var n int64
	for _, l := range db.Metrics().Levels {
		n += l.Bytes
	}
	return n
}

func fillForSpace(t testing.TB, db *DB, from, to int) {
	b := db.NewBatch()
	for i := from; i < to; i++ {
		b.Put([]byte(fmt.Sprintf("key%09d", i)), []byte(fmt.Sprintf("value-%09d-padding-padding", i)))
		if b.Len() == 1000 {
			require.NoError(t, db.Apply(b))
			b.Reset()
		}
	}
	require.NoError(t, db.Apply(b))
}

// TestDeleteRangeReclaimsSpace deletes 90% of the keys with one
// DeleteRange: after a Compact the tables hold about what a DB of the live
// 10% holds, and without one, background compaction gets there too (the
// picker counts the bytes the tombstones cover).
func TestDeleteRangeReclaimsSpace(t *testing.T) {
	n := *rdSpaceKeys
	if testing.Short() {
		n = 20000
	}
	live := n / 10
	ref := openMem(t, vfs.NewMem(), nil)
	fillForSpace(t, ref, n-live, n)
	require.NoError(t, ref.Compact(nil, nil))
	want := tableBytes(t, ref)
	require.NoError(t, ref.Close())

	for _, manual := range []bool{true, false} {
		t.Run(fmt.Sprintf("manual=%v", manual), func(t *testing.T) {
			fs := vfs.NewMem()
			opts := &Options{MemtableSize: 1 << 20, TargetFileSize: 256 << 10, BaseLevelSize: 1 << 20}
			db := openMem(t, fs, opts)
			defer db.Close()
			fillForSpace(t, db, 0, n)
			require.NoError(t, db.Compact(nil, nil))
			full := tableBytes(t, db)
			require.NoError(t, db.DeleteRange([]byte("key"), []byte(fmt.Sprintf("key%09d", n-live))))
			start := time.Now()
			if manual {
				require.NoError(t, db.Compact(nil, nil))
			} else {
				require.NoError(t, db.Flush())
				deadline := time.Now().Add(30 * time.Second)
				for tableBytes(t, db) > want*12/10 && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
			}
			got := tableBytes(t, db)
			t.Logf("%d keys: full %d bytes, live 10%% alone %d, after DeleteRange %d (%.2fx) in %v",
				n, full, want, got, float64(got)/float64(want), time.Since(start))
			require.LessOrEqual(t, got, want*12/10)
			it, err := db.NewIter(nil)
			require.NoError(t, err)
			count := 0
			for ok := it.First(); ok; ok = it.Next() {
				count++
			}
			require.NoError(t, it.Close())
			require.Equal(t, live, count)
			require.NoError(t, db.Verify())
		})
	}
}

// TestDeleteRangeDropsCoveredTablesUnread: the compaction after a
// DeleteRange of 90% of the keys reads the tables the tombstone cuts
// through and the live ones, not the tables it deletes whole, which go by
// the MANIFEST edit alone. Under a snapshot taken before the deletion
// nothing is dropped unread, and the snapshot still reads every key.
func TestDeleteRangeDropsCoveredTablesUnread(t *testing.T) {
	n := 20000
	live := n / 10
	for _, snap := range []bool{false, true} {
		t.Run(fmt.Sprintf("snapshot=%v", snap), func(t *testing.T) {
			db := openMem(t, vfs.NewMem(), &Options{MemtableSize: 1 << 20, TargetFileSize: 64 << 10, BaseLevelSize: 1 << 20})
			defer db.Close()
			fillForSpace(t, db, 0, n)
			require.NoError(t, db.Compact(nil, nil))
			full := tableBytes(t, db)
			var s *Snapshot
			if snap {
				s = db.NewSnapshot()
				defer s.Close()
			}
			before := db.Metrics()
			require.NoError(t, db.DeleteRange([]byte("key"), []byte(fmt.Sprintf("key%09d", n-live))))
			require.NoError(t, db.Compact(nil, nil))
			after := db.Metrics()
			read := after.CompactionBytesRead - before.CompactionBytesRead
			t.Logf("tables %d bytes; the compactions after the DeleteRange read %d; %d entries dropped as covered",
				full, read, after.CoveredDropped-before.CoveredDropped)
			if snap {
				require.Greater(t, read, full*8/10, "nothing may be dropped unread under the snapshot")
				for _, i := range []int{0, n / 2, n - live - 1} {
					v, err := s.Get([]byte(fmt.Sprintf("key%09d", i)))
					require.NoError(t, err, "key %d through the snapshot", i)
					require.Equal(t, fmt.Sprintf("value-%09d-padding-padding", i), string(v))
				}
			} else {
				require.Less(t, read, full*3/10, "the covered tables went unread")
				require.GreaterOrEqual(t, after.CoveredDropped-before.CoveredDropped, int64(n-live))
			}
			for _, i := range []int{0, n / 2, n - live - 1} {
				_, err := db.Get([]byte(fmt.Sprintf("key%09d", i)))
				require.ErrorIs(t, err, ErrNotFound, "key %d", i)
			}
			for _, i := range []int{n - live, n - 1} {
				_, err := db.Get([]byte(fmt.Sprintf("key%09d", i)))
				require.NoError(t, err, "key %d", i)
			}
			require.NoError(t, db.Verify())
		})
	}
}

// dirBytes sums the sizes of the files in dir but the WAL segments: the
// tables, obsolete ones not yet deleted included, the MANIFEST and the
// rest. (A WAL segment is preallocated to about MemtableSize in any open
// DB, whatever it holds; walBytes counts those.)
func dirBytes(t testing.TB, dir string) int64 {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var n int64
	for _, e := range ents {
		if filepath.Ext(e.Name()) == ".log" {
			continue
		}
		if fi, err := e.Info(); err == nil && !fi.IsDir() {
			n += fi.Size()
		}
	}
	return n
}

// walBytes sums the sizes of the WAL segments in dir.
func walBytes(t testing.TB, dir string) int64 {
	t.Helper()
	ms, err := filepath.Glob(filepath.Join(dir, "*.log"))
	require.NoError(t, err)
	var n int64
	for _, m := range ms {
		fi, err := os.Stat(m)
		require.NoError(t, err)
		n += fi.Size()
	}
	return n
}

// TestDeleteRangeReclaimsDiskUnattended: on the OS file system with the
// default Options (but TTLCompactionInterval, -rangedel.interval), after a
// DeleteRange of 90% of the keys and no Compact, the directory
// (tables, MANIFEST, but the preallocated WAL) shrinks to within 1.2x of
// what a DB of the live 10% alone takes, by background work alone: the
// memtable holding the tombstone is flushed on the next TTL tick
// (maybeFlushForRangeDels) and the L0 table holding it counts the bytes it
// covers in L0 and in itself, so the picker compacts them. The DeleteRange
// is one WAL record whatever the number of keys.
func TestDeleteRangeReclaimsDiskUnattended(t *testing.T) {
	n := *rdSpaceKeys
	if testing.Short() {
		n = 20000
	}
	live := n / 10
	refDir := t.TempDir()
	ref, err := Open(refDir, &Options{FS: vfs.Default})
	require.NoError(t, err)
	fillForSpace(t, ref, n-live, n)
	require.NoError(t, ref.Compact(nil, nil))
	want := dirBytes(t, refDir)
	require.NoError(t, ref.Close())

	// data-in-tables: the keys flushed, the tombstone left in the memtable
	// (the tick flushes it); one-memtable: keys and tombstone flushed
	// together (the table's tombstone counts its own entries).
	for _, together := range []bool{false, true} {
		name := map[bool]string{false: "data-in-tables", true: "one-memtable"}[together]
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			db, err := Open(dir, &Options{FS: vfs.Default, TTLCompactionInterval: *rdInterval})
			require.NoError(t, err)
			defer db.Close()
			fillForSpace(t, db, 0, n)
			if !together {
				require.NoError(t, db.Flush()) // the data in L0 tables, as a full memtable leaves it
			}
			full := dirBytes(t, dir)
			wal0, m0 := walBytes(t, dir), db.Metrics().WALBytesWritten
			require.NoError(t, db.DeleteRange([]byte("key"), []byte(fmt.Sprintf("key%09d", n-live))))
			wal1, m1 := walBytes(t, dir), db.Metrics().WALBytesWritten
			t.Logf("%d keys: the DeleteRange wrote %d WAL bytes; the WAL files' sizes (preallocated) went from %d to %d; tables %d bytes",
				n, m1-m0, wal0, wal1, tableBytes(t, db))
			require.Less(t, m1-m0, int64(64), "one record of tens of bytes")
			start := time.Now()
			if together {
				require.NoError(t, db.Flush())
				full = max(full, dirBytes(t, dir))
			}
			deadline := start.Add(*rdSpaceWait)
			got := dirBytes(t, dir)
			for got > want*12/10 && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
				got = dirBytes(t, dir)
			}
			t.Logf("%d keys on disk: full %d bytes, live 10%% alone %d, after DeleteRange %d (%.2fx) after %v without Compact",
				n, full, want, got, float64(got)/float64(want), time.Since(start).Round(time.Millisecond))
			require.LessOrEqual(t, got, want*12/10)
			t.Logf("early flushes %d", db.Metrics().RangeDelFlushes)
			_, err = db.Get([]byte(fmt.Sprintf("key%09d", 0)))
			require.ErrorIs(t, err, ErrNotFound)
			v, err := db.Get([]byte(fmt.Sprintf("key%09d", n-1)))
			require.NoError(t, err)
			require.Equal(t, fmt.Sprintf("value-%09d-padding-padding", n-1), string(v))
		})
	}
}

// TestDeleteRangeEarlyFlushOnlyWhenItPays: the TTL tick's check flushes
// the memtable only when its range tombstones cover much table data, and
// a memtable once: a tombstone over a few keys, or over keys no table
// holds, leaves the memtable alone.
func TestDeleteRangeEarlyFlushOnlyWhenItPays(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, &Options{TTLCompactionInterval: -1}) // the check is called by hand
	defer db.Close()
	fillForSpace(t, db, 0, 20000)
	require.NoError(t, db.Flush())
	flushes := func() int64 { return db.Metrics().RangeDelFlushes }
	db.maybeFlushForRangeDels()
	require.Zero(t, flushes(), "no tombstone")
	require.NoError(t, db.DeleteRange([]byte(fmt.Sprintf("key%09d", 100)), []byte(fmt.Sprintf("key%09d", 110))))
	require.NoError(t, db.DeleteRange([]byte("zzz"), []byte("zzzz")))
	db.maybeFlushForRangeDels()
	require.Zero(t, flushes(), "tombstones over 10 keys and over nothing")
	require.NoError(t, db.DeleteRange([]byte("key"), []byte(fmt.Sprintf("key%09d", 18000))))
	db.maybeFlushForRangeDels()
	require.Equal(t, int64(1), flushes(), "a tombstone over 90% of the tables")
	db.maybeFlushForRangeDels()
	require.Equal(t, int64(1), flushes(), "the new memtable holds no tombstone")
	_, err := db.Get([]byte(fmt.Sprintf("key%09d", 5)))
	require.ErrorIs(t, err, ErrNotFound)
}

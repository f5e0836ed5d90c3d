package lsm

import (
	"fmt"
	"testing"

	"github.com/stratadb/strata/vfs"
)

// rangeDelBenchDB returns an in-memory DB holding deleted keys in tables
// (all of them under one DeleteRange, in the memtable) followed by 10 live
// keys. deleted may be 0.
func rangeDelBenchDB(b *testing.B, deleted int) *DB {
	b.Helper()
	db, err := Open("/db", &Options{FS: vfs.NewMem(), Sync: SyncNo})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	putKeysCompacted(b, db, 0, deleted+10)
	if deleted > 0 {
		if err := db.DeleteRange([]byte("key"), []byte(fmt.Sprintf("key%09d", deleted))); err != nil {
			b.Fatal(err)
		}
	}
	return db
}

// BenchmarkIterFirstOverDeletedRange: an iterator's First over 1M keys
// deleted by one DeleteRange, then the 10 live keys after them, against
// the same 10 keys alone: the covered span costs one seek.
func BenchmarkIterFirstOverDeletedRange(b *testing.B) {
	for _, deleted := range []int{0, 1000000} {
		b.Run(fmt.Sprintf("deleted=%d", deleted), func(b *testing.B) {
			db := rangeDelBenchDB(b, deleted)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				it, err := db.NewIter(nil)
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for ok := it.First(); ok; ok = it.Next() {
					n++
				}
				if err := it.Close(); err != nil {
					b.Fatal(err)
				}
				if n != 10 {
					b.Fatalf("%d live keys, want 10", n)
				}
			}
		})
	}
}

// BenchmarkGetCoveredKey: a point read of a key deleted by a range
// tombstone, against a read of an absent key (the bloom filter's case).
func BenchmarkGetCoveredKey(b *testing.B) {
	db := rangeDelBenchDB(b, 100000)
	for _, k := range []string{"key000050000", "nokey"} {
		b.Run(k, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := db.Get([]byte(k)); err != ErrNotFound {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkScanBesideDeletedRange: a seek to a random key and 100 entries
// over 1M keys, with and without one DeleteRange of the middle 10% (the
// bench/ deleterange-scan workload in-process): what a tombstone costs the
// scans that meet it and those that do not.
func BenchmarkScanBesideDeletedRange(b *testing.B) {
	const n = 1000000
	for _, del := range []bool{false, true} {
		b.Run(fmt.Sprintf("deleterange=%v", del), func(b *testing.B) {
			db := rangeDelBenchDB(b, 0)
			putKeysCompacted(b, db, 10, n) // keys 0-9 are rangeDelBenchDB's
			if del {
				if err := db.DeleteRange([]byte(fmt.Sprintf("key%09d", n*45/100)), []byte(fmt.Sprintf("key%09d", n*55/100))); err != nil {
					b.Fatal(err)
				}
			}
			rng := uint64(1)
			var key [12]byte
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				rng = rng*6364136223846793005 + 1442695040888963407
				k := fmt.Appendf(key[:0], "key%09d", (rng>>33)%n)
				it, err := db.NewIter(nil)
				if err != nil {
					b.Fatal(err)
				}
				m := 0
				for ok := it.SeekGE(k); ok && m < 100; ok = it.Next() {
					m++
				}
				if err := it.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// putKeysCompacted writes the keys key%09d for i in [from, to) with
// benchValue, in batches of 10,000, then compacts the DB.
func putKeysCompacted(b *testing.B, db *DB, from, to int) {
	b.Helper()
	batch := db.NewBatch()
	for i := from; i < to; i++ {
		batch.Put([]byte(fmt.Sprintf("key%09d", i)), benchValue)
		if batch.Len() == 10000 {
			if err := db.Apply(batch); err != nil {
				b.Fatal(err)
			}
			batch.Reset()
		}
	}
	if err := db.Apply(batch); err != nil {
		b.Fatal(err)
	}
	if err := db.Compact(nil, nil); err != nil {
		b.Fatal(err)
	}
}

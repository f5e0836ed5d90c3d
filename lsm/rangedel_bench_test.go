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
	batch := db.NewBatch()
	for i := 0; i < deleted+10; i++ {
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

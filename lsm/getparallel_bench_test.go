package lsm

import (
	"math/rand/v2"
	"sync/atomic"
	"testing"
)

// BenchmarkGetParallel reads random keys of a DB of largeN keys (written,
// flushed, compacted as the DB chose, and reopened read-only, so that they
// lie in tables and no compaction runs beside the reads) from 2 x GOMAXPROCS
// goroutines, the way a server's connections share one DB:
//
//   - cached: the block cache holds every data block (a warm-up read of
//     every key first), so a Get is the read state, the filters, the point
//     index, a block cache hit and the search in the block;
//   - cached-append: the same with GetAppend into a reused buffer (no
//     allocation per read);
//   - cached-has: Has;
//   - miss: a 16 MiB block cache, which holds the tables' filters and
//     point indexes but few of the data blocks (about 130 MB): most Gets
//     read their block from the OS page cache and decompress it into the
//     cache.
//
// It reports the process's CPU time per read (cpu-ns/op), which the
// machine's other load moves less than ns/op.
func BenchmarkGetParallel(b *testing.B) {
	dir := b.TempDir()
	db, err := Open(dir, &Options{Sync: SyncNo})
	if err != nil {
		b.Fatal(err)
	}
	fillBench(b, db, largeN)
	if err := db.Flush(); err != nil {
		b.Fatal(err)
	}
	waitCompactions(db)
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	open := func(b *testing.B, cache int64) *DB {
		db, err := Open(dir, &Options{Sync: SyncNo, BlockCacheSize: cache, ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		return db
	}
	warm := func(b *testing.B, db *DB) {
		var k [16]byte
		for i := range largeN {
			if _, err := db.Get(benchKey(k[:], uint64(i))); err != nil {
				b.Fatal(err)
			}
		}
	}
	type op func(db *DB, key, dst []byte) ([]byte, error)
	get := func(db *DB, key, _ []byte) ([]byte, error) { return db.Get(key) }
	appendOp := func(db *DB, key, dst []byte) ([]byte, error) { return db.GetAppend(dst[:0], key, nil) }
	has := func(db *DB, key, dst []byte) ([]byte, error) {
		ok, err := db.Has(key)
		if err == nil && !ok {
			err = ErrNotFound
		}
		return dst, err
	}
	for _, c := range []struct {
		name  string
		cache int64
		op    op
	}{
		{"cached", 512 << 20, get},
		{"cached-append", 512 << 20, appendOp},
		{"cached-has", 512 << 20, has},
		{"miss", 16 << 20, get},
	} {
		b.Run(c.name, func(b *testing.B) {
			db := open(b, c.cache)
			if c.cache > 64<<20 {
				warm(b, db)
			}
			var seed atomic.Uint64
			b.SetParallelism(2)
			b.ReportAllocs()
			b.ResetTimer()
			start := processCPU()
			b.RunParallel(func(pb *testing.PB) {
				r := rand.New(rand.NewPCG(seed.Add(1), 7))
				var k [16]byte
				var dst []byte
				for pb.Next() {
					var err error
					if dst, err = c.op(db, benchKey(k[:], uint64(r.IntN(largeN))), dst); err != nil {
						b.Error(err)
						return
					}
				}
			})
			reportCPU(b, start)
		})
	}
}

// BenchmarkGetMemtableParallel is BenchmarkGetParallel's cached case for
// keys in the memtable (100,000 of them, none in tables).
func BenchmarkGetMemtableParallel(b *testing.B) {
	db := benchDB(b, &Options{Sync: SyncNo})
	const n = 100000
	fillBench(b, db, n)
	var seed atomic.Uint64
	b.SetParallelism(2)
	b.ReportAllocs()
	b.ResetTimer()
	start := processCPU()
	b.RunParallel(func(pb *testing.PB) {
		r := rand.New(rand.NewPCG(seed.Add(1), 7))
		var k [16]byte
		var dst []byte
		for pb.Next() {
			var err error
			if dst, err = db.GetAppend(dst[:0], benchKey(k[:], uint64(r.IntN(n))), nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportCPU(b, start)
}

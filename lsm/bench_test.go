package lsm

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

func benchDB(b *testing.B, o *Options) *DB {
	b.Helper()
	if o == nil {
		o = &Options{}
	}
	db, err := Open(b.TempDir(), o)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// benchKey writes a 16-byte key for i into buf.
func benchKey(buf []byte, i uint64) []byte {
	binary.BigEndian.PutUint64(buf[:8], i*0x9E3779B97F4A7C15)
	binary.BigEndian.PutUint64(buf[8:16], i)
	return buf[:16]
}

var benchValue = func() []byte {
	v := make([]byte, 100)
	for i := range v {
		v[i] = byte(i % 7)
	}
	return v
}()

// BenchmarkPut: a 16-byte key and a 100-byte value, SyncNo.
func BenchmarkPut(b *testing.B) {
	db := benchDB(b, &Options{Sync: SyncNo})
	var k [16]byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := db.Put(benchKey(k[:], uint64(i)), benchValue); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPutIfAbsent: the conditional path, for comparison with Put.
func BenchmarkPutIfAbsent(b *testing.B) {
	db := benchDB(b, &Options{Sync: SyncNo})
	var k [16]byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := db.Put(benchKey(k[:], uint64(i)), benchValue, IfAbsent()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIncrement(b *testing.B) {
	db := benchDB(b, &Options{Sync: SyncNo})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := db.Increment([]byte("counter"), 1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPutSyncAlways measures group commit: with 16 writers every fsync
// is shared, so the writes per second should be many times one writer's.
func BenchmarkPutSyncAlways(b *testing.B) {
	for _, writers := range []int{1, 16} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			db := benchDB(b, &Options{Sync: SyncAlways})
			putParallel(b, db, writers, nil) // x GOMAXPROCS goroutines
			m := db.Metrics()
			b.ReportMetric(float64(b.N)/float64(max(m.WALSyncs, 1)), "writes/fsync")
		})
	}
}

func fillBench(b *testing.B, db *DB, n int) {
	var k [16]byte
	batch := db.NewBatch()
	for i := 0; i < n; i++ {
		batch.Put(benchKey(k[:], uint64(i)), benchValue)
		if batch.Len() == 1000 {
			if err := db.Apply(batch); err != nil {
				b.Fatal(err)
			}
			batch.Reset()
		}
	}
	if err := db.Apply(batch); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkGetMemtable reads keys that are in the memtable.
func BenchmarkGetMemtable(b *testing.B) {
	db := benchDB(b, &Options{Sync: SyncNo})
	const n = 100000
	fillBench(b, db, n)
	r := rand.New(rand.NewPCG(1, 2))
	var k [16]byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := db.Get(benchKey(k[:], uint64(r.IntN(n)))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetDisk reads keys from tables with a warm block cache.
func BenchmarkGetDisk(b *testing.B) {
	db := benchDB(b, &Options{Sync: SyncNo})
	const n = 100000
	fillBench(b, db, n)
	if err := db.Compact(nil, nil); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	var k [16]byte
	for i := 0; i < n; i++ { // warm the cache
		db.Get(benchKey(k[:], uint64(i)))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := db.Get(benchKey(k[:], uint64(r.IntN(n)))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkQuery reads 100 items from a partition of 10,000.
func BenchmarkQuery(b *testing.B) {
	db := benchDB(b, &Options{Sync: SyncNo})
	batch := db.NewBatch()
	for p := 0; p < 10; p++ {
		for s := 0; s < 10000; s++ {
			batch.PutItem([]byte(fmt.Sprintf("part%02d", p)), []byte(fmt.Sprintf("sk%06d", s)), benchValue)
		}
		if err := db.Apply(batch); err != nil {
			b.Fatal(err)
		}
		batch.Reset()
	}
	if err := db.Compact(nil, nil); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	b.ResetTimer()
	before := db.Metrics()
	for i := 0; i < b.N; i++ {
		items := db.Query([]byte(fmt.Sprintf("part%02d", r.IntN(10))), &Query{From: []byte(fmt.Sprintf("sk%06d", r.IntN(9900))), Limit: 100})
		n := 0
		for items.Next() {
			n++
		}
		if err := items.Close(); err != nil || n != 100 {
			b.Fatal(err, n)
		}
	}
	b.StopTimer()
	after := db.Metrics()
	b.ReportMetric(float64(after.DataBlocksRead-before.DataBlocksRead)/float64(b.N), "blocks-read/op")
}

// BenchmarkScan iterates every key.
func BenchmarkScan(b *testing.B) {
	db := benchDB(b, &Options{Sync: SyncNo})
	const n = 100000
	fillBench(b, db, n)
	if err := db.Compact(nil, nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	keysSeen := 0
	for i := 0; i < b.N; i++ {
		it, err := db.NewIter(nil)
		if err != nil {
			b.Fatal(err)
		}
		for ok := it.First(); ok; ok = it.Next() {
			keysSeen++
		}
		it.Close()
	}
	b.ReportMetric(float64(keysSeen)/b.Elapsed().Seconds(), "keys/s")
}

// BenchmarkPutSequential: keys in ascending order (fillseq), SyncNo.
func BenchmarkPutSequential(b *testing.B) {
	db := benchDB(b, &Options{Sync: SyncNo})
	var k [16]byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		binary.BigEndian.PutUint64(k[:8], 0)
		binary.BigEndian.PutUint64(k[8:], uint64(i))
		if err := db.Put(k[:], benchValue); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetLarge reads random keys of a 1M-key DB (116 MB of data, more
// than the 64 MiB block cache) after a reopen, as the harness's readrandom.
func BenchmarkGetLarge(b *testing.B) {
	db := reopenedLargeDB(b)
	r := rand.New(rand.NewPCG(1, 2))
	var k [16]byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := db.Get(benchKey(k[:], uint64(r.IntN(largeN)))); err != nil {
			b.Fatal(err)
		}
	}
}

// largeN is the key count of reopenedLargeDB.
const largeN = 1000000

// reopenedLargeDB fills a DB with largeN keys, closes it and opens it again,
// so reads come from the files as in the harness; Cleanup closes it.
func reopenedLargeDB(b *testing.B) *DB {
	b.Helper()
	dir := b.TempDir()
	db, err := Open(dir, &Options{Sync: SyncNo})
	if err != nil {
		b.Fatal(err)
	}
	fillBench(b, db, largeN)
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	db, err = Open(dir, &Options{Sync: SyncNo})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// BenchmarkFill1M fills 1M random 16-byte keys with 100-byte values (run it
// with -benchtime=1x) and reports write amplification, the most L0 tables
// seen during the fill, and read amplification once compactions settle.
func BenchmarkFill1M(b *testing.B) {
	for _, mt := range []int64{64 << 20, 4 << 20} {
		b.Run(fmt.Sprintf("memtable=%dMiB", mt>>20), func(b *testing.B) { fill1M(b, mt) })
	}
}

func fill1M(b *testing.B, memtable int64) {
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		var maxL0 atomic.Int64
		var db *DB
		o := &Options{Sync: SyncNo, MemtableSize: memtable, EventListener: &EventListener{FlushEnd: func(FlushInfo) {
			if l0 := int64(db.Metrics().Levels[0].Tables); l0 > maxL0.Load() {
				maxL0.Store(l0)
			}
		}}}
		var err error
		db, err = Open(dir, o)
		if err != nil {
			b.Fatal(err)
		}
		var k [16]byte
		r := rand.New(rand.NewPCG(7, 7))
		for j := 0; j < 1000000; j++ {
			if err := db.Put(benchKey(k[:], r.Uint64()), benchValue); err != nil {
				b.Fatal(err)
			}
		}
		if err := db.Flush(); err != nil {
			b.Fatal(err)
		}
		waitCompactions(db)
		m := db.Metrics()
		b.ReportMetric(m.WriteAmp, "write-amp")
		b.ReportMetric(float64(maxL0.Load()), "max-L0")
		b.ReportMetric(float64(m.ReadAmp), "read-amp")
		b.ReportMetric(float64(m.Levels[0].Tables), "L0-after")
		b.ReportMetric(float64(m.WriteStalls), "stalls")
		db.Close()
	}
}

// waitCompactions waits until no compaction runs or is due.
func waitCompactions(db *DB) {
	for {
		db.mu.Lock()
		busy := db.mu.comp.running > 0 || len(db.mu.imm) > 0
		db.mu.Unlock()
		if !busy {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// BenchmarkTTLReclaim writes 1M entries with a TTL, lets them expire, and
// waits for the TTL compaction (no writes arrive) to bring the disk space
// back; it reports the final size over the peak (-benchtime=1x).
func BenchmarkTTLReclaim(b *testing.B) {
	for i := 0; i < b.N; i++ {
		clock := newFakeClock()
		db, err := Open(b.TempDir(), &Options{Sync: SyncNo, Clock: clock.Now, TTLCompactionInterval: 50 * time.Millisecond})
		if err != nil {
			b.Fatal(err)
		}
		batch := db.NewBatch()
		var k [16]byte
		for j := 0; j < 1000000; j++ {
			batch.Put(benchKey(k[:], uint64(j)), benchValue, WithTTL(time.Hour))
			if batch.Len() == 1000 {
				if err := db.Apply(batch); err != nil {
					b.Fatal(err)
				}
				batch.Reset()
			}
		}
		if err := db.Flush(); err != nil {
			b.Fatal(err)
		}
		waitCompactions(db)
		peak := db.Metrics().DiskBytes
		clock.Advance(2 * time.Hour)
		start := time.Now()
		for db.Metrics().DiskBytes > peak/20 && time.Since(start) < 2*time.Minute {
			time.Sleep(20 * time.Millisecond)
		}
		m := db.Metrics()
		b.ReportMetric(float64(peak), "peak-bytes")
		b.ReportMetric(float64(m.DiskBytes), "final-bytes")
		b.ReportMetric(100*float64(m.DiskBytes)/float64(peak), "final-%-of-peak")
		b.ReportMetric(time.Since(start).Seconds(), "reclaim-s")
		db.Close()
	}
}

// BenchmarkSeekRandom opens an iterator, seeks to a random key of a 1M-key
// DB and reads 10 entries, as the harness's seekrandom.
func BenchmarkSeekRandom(b *testing.B) {
	db := reopenedLargeDB(b)
	r := rand.New(rand.NewPCG(1, 2))
	var k [16]byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		it, err := db.NewIter(nil)
		if err != nil {
			b.Fatal(err)
		}
		ok := it.SeekGE(benchKey(k[:], uint64(r.IntN(largeN))))
		for j := 0; ok && j < 10; j++ {
			ok = it.Next()
		}
		it.Close()
	}
}

// BenchmarkPutConcurrent: 16 writers, SyncNo.
func BenchmarkPutConcurrent(b *testing.B) {
	db := benchDB(b, &Options{Sync: SyncNo})
	putParallel(b, db, 8, nil) // x GOMAXPROCS(2) = 16 writers
	m := db.Metrics()
	b.ReportMetric(float64(m.CommitWrites)/float64(max(m.CommitGroups, 1)), "writes/group")
	b.ReportMetric(float64(m.ParallelApplies)/float64(max(m.CommitGroups, 1)), "parallel-share")
}

// BenchmarkApplyBatch commits batches of 1,000 puts (per-entry cost); large
// groups share their memtable inserts with the apply helper.
func BenchmarkApplyBatch(b *testing.B) {
	db := benchDB(b, &Options{Sync: SyncNo})
	batch := db.NewBatch()
	var k [16]byte
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b, processCPU())
	for i := 0; i < b.N; i++ {
		batch.Put(benchKey(k[:], uint64(i)), benchValue)
		if batch.Len() == 1000 {
			if err := db.Apply(batch); err != nil {
				b.Fatal(err)
			}
			batch.Reset()
		}
	}
}

// putParallel times b.N Puts of distinct keys from parallelism x GOMAXPROCS
// goroutines, each put followed by then (if not nil), and stops the timer.
func putParallel(b *testing.B, db *DB, parallelism int, then func() error) {
	var n atomic.Uint64
	b.SetParallelism(parallelism)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var k [16]byte
		for pb.Next() {
			if err := db.Put(benchKey(k[:], n.Add(1)), benchValue); err != nil {
				b.Error(err)
				return
			}
			if then != nil {
				if err := then(); err != nil {
					b.Error(err)
					return
				}
			}
		}
	})
	b.StopTimer()
}

// BenchmarkFillBatch loads 1M 16-byte keys with 100-byte values in batches
// of 1,000, each a new Batch, with the default options (SyncEverySec, 64 MiB
// memtables): the bench harness's fillseq-batch and fillrandom-batch, for
// profiling. Run it with -benchtime=1x; it reports keys/s, the process's
// CPU time per key (background flushes and compactions included; less moved
// by other load on the machine than keys/s) and the batch latencies' median
// and maximum.
func BenchmarkFillBatch(b *testing.B) {
	for _, order := range []string{"seq", "random"} {
		b.Run(order, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				fillBatch(b, order == "random")
			}
		})
	}
}

func fillBatch(b *testing.B, random bool) {
	const n, per = 1000000, 1000
	db, err := Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var k [16]byte
	lat := make([]time.Duration, 0, n/per)
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu := time.Now(), processCPU()
	for lo := 0; lo < n; lo += per {
		t := time.Now()
		batch := db.NewBatch()
		for j := lo; j < lo+per; j++ {
			i := uint64(j)
			if random {
				i = i * 982451653 % n // a permutation: the prime multiplier is coprime to n
			}
			binary.BigEndian.PutUint64(k[:8], 0)
			binary.BigEndian.PutUint64(k[8:], i)
			batch.Put(k[:], benchValue)
		}
		if err := db.Apply(batch); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t))
	}
	el, cpu := time.Since(start), processCPU()-cpu
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(n)/el.Seconds(), "keys/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/key")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs/batch")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "max-µs/batch")
}

// BenchmarkApplyNewBatch builds a new batch of 1,000 puts and applies it,
// as a bulk load does: per key, the cost of Batch.Put and Apply, and with
// -benchmem the allocations of both (per key: divide by 1,000 the per-op
// figures of a run's ns/op, B/op and allocs/op, which are per batch).
func BenchmarkApplyNewBatch(b *testing.B) {
	db := benchDB(b, &Options{Sync: SyncNo})
	var k [16]byte
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b, processCPU())
	for i := 0; i < b.N; i++ {
		batch := db.NewBatch()
		for j := 0; j < 1000; j++ {
			binary.BigEndian.PutUint64(k[:8], 0)
			binary.BigEndian.PutUint64(k[8:], uint64(i*1000+j))
			batch.Put(k[:], benchValue)
		}
		if err := db.Apply(batch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBatchPut is Batch.Put alone, into a new batch of 1,000 puts
// each time (ns/op and allocs/op per batch).
func BenchmarkBatchPut(b *testing.B) {
	db := benchDB(b, nil)
	var k [16]byte
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b, processCPU())
	for i := 0; i < b.N; i++ {
		batch := db.NewBatch()
		for j := 0; j < 1000; j++ {
			binary.BigEndian.PutUint64(k[:8], 0)
			binary.BigEndian.PutUint64(k[8:], uint64(j))
			batch.Put(k[:], benchValue)
		}
	}
}

// BenchmarkPutThenSync is a server's connection under appendfsync always:
// each of 50 writers puts without a sync and then calls Sync, so waiting
// callers share each fsync. It reports the process's CPU per write beside
// the writes per fsync.
func BenchmarkPutThenSync(b *testing.B) {
	db := benchDB(b, &Options{Sync: SyncNo})
	cpu0 := processCPU()
	putParallel(b, db, max(50/runtime.GOMAXPROCS(0), 1), db.Sync)
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
	m := db.Metrics()
	b.ReportMetric(float64(b.N)/float64(max(m.WALSyncs, 1)), "writes/fsync")
}

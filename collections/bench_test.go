package collections

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stratadb/strata/lsm"
)

// cpuNanos returns the CPU time (user and system) the process has used.
func cpuNanos() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// cpuPerOp starts counting the process's CPU time; the function it returns
// reports it per operation as cpu-ns/op. On a shared machine ns/op grows
// with the time spent waiting for a CPU; cpu-ns/op does not (it counts
// every goroutine of the process, background compactions included).
//
//	defer cpuPerOp(b)()
func cpuPerOp(b *testing.B) func() {
	start := cpuNanos()
	return func() { b.ReportMetric(float64(cpuNanos()-start)/float64(b.N), "cpu-ns/op") }
}

// The benchmarks run on a DB on disk (in -collections.benchdir, or a fresh
// temporary directory) holding one collection of each type with
// -collections.benchsize elements, built once per process.
var (
	benchSize = flag.Int("collections.benchsize", 100_000, "elements of each collection the benchmarks read")
	benchDir  = flag.String("collections.benchdir", "", "directory of the benchmark DB (kept between runs when set)")
)

type benchEnv struct {
	db *lsm.DB
	s  *Store
	n  int
}

var (
	benchOnce sync.Once
	benchE    *benchEnv
	benchErr  error
)

func benchMember(i int) []byte { return []byte(fmt.Sprintf("member:%010d", i)) }

// benchScore spreads scores so that ranks differ from member order.
func benchScore(i int) float64 { return float64((uint64(i) * 2654435761) % 1_000_000_007) }

func getBenchEnv(b *testing.B) *benchEnv {
	benchOnce.Do(func() {
		dir := *benchDir
		if dir == "" {
			d, err := os.MkdirTemp("", "collections-bench")
			if err != nil {
				benchErr = err
				return
			}
			dir = d
		}
		dir = filepath.Join(dir, fmt.Sprint("n", *benchSize))
		db, err := lsm.Open(dir, nil)
		if err != nil {
			benchErr = err
			return
		}
		s := New(db)
		n := *benchSize
		if c, _ := s.ZCard([]byte("bench:z")); c != int64(n) {
			_, _ = s.Delete([]byte("bench:h"), []byte("bench:s"), []byte("bench:l"), []byte("bench:z"))
			for i := 0; i < n; i += 1000 {
				err := s.Update(func(tx *Tx) error {
					var fv, ms, es [][]byte
					var zs []Z
					for j := i; j < min(i+1000, n); j++ {
						m := benchMember(j)
						fv = append(fv, m, m)
						ms = append(ms, m)
						es = append(es, m)
						zs = append(zs, Z{Score: benchScore(j), Member: m})
					}
					if _, err := tx.HSet([]byte("bench:h"), fv...); err != nil {
						return err
					}
					if _, err := tx.SAdd([]byte("bench:s"), ms...); err != nil {
						return err
					}
					if _, err := tx.RPush([]byte("bench:l"), es...); err != nil {
						return err
					}
					_, err := tx.ZAdd([]byte("bench:z"), ZAddArgs{}, zs...)
					return err
				})
				if err != nil {
					benchErr = err
					return
				}
			}
			if err := db.Compact(nil, nil); err != nil {
				benchErr = err
				return
			}
		}
		benchE = &benchEnv{db: db, s: s, n: n}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchE
}

// benchStore opens a Store on a fresh DB on disk for write benchmarks.
func benchStore(b *testing.B) *Store {
	db, err := lsm.Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	s := New(db)
	b.Cleanup(func() {
		s.Close()
		db.Close()
	})
	return s
}

func BenchmarkHSet(b *testing.B) {
	s := benchStore(b)
	var k [8]byte
	b.ReportAllocs()
	defer cpuPerOp(b)()
	for i := 0; i < b.N; i++ {
		binary.BigEndian.PutUint64(k[:], uint64(i))
		if _, err := s.HSet([]byte("h"), k[:], k[:]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHGet(b *testing.B) {
	e := getBenchEnv(b)
	r := rand.New(rand.NewPCG(1, 1))
	b.ReportAllocs()
	b.ResetTimer()
	defer cpuPerOp(b)()
	for i := 0; i < b.N; i++ {
		if _, err := e.s.HGet([]byte("bench:h"), benchMember(r.IntN(e.n))); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLPush(b *testing.B) {
	s := benchStore(b)
	v := []byte("a job description of some size..")
	b.ReportAllocs()
	defer cpuPerOp(b)()
	for i := 0; i < b.N; i++ {
		if _, err := s.LPush([]byte("q"), v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRPop(b *testing.B) {
	s := benchStore(b)
	v := []byte("a job description of some size..")
	for i := 0; i < b.N; i += 1000 {
		err := s.Update(func(tx *Tx) error {
			for j := 0; j < 1000; j++ {
				if _, err := tx.LPush([]byte("q"), v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	defer cpuPerOp(b)()
	for i := 0; i < b.N; i++ {
		if _, err := s.RPop([]byte("q")); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLIndex(b *testing.B) {
	e := getBenchEnv(b)
	r := rand.New(rand.NewPCG(1, 1))
	b.ReportAllocs()
	b.ResetTimer()
	defer cpuPerOp(b)()
	for i := 0; i < b.N; i++ {
		if _, err := e.s.LIndex([]byte("bench:l"), int64(r.IntN(e.n))); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLRange100(b *testing.B) {
	e := getBenchEnv(b)
	r := rand.New(rand.NewPCG(1, 1))
	b.ReportAllocs()
	b.ResetTimer()
	defer cpuPerOp(b)()
	for i := 0; i < b.N; i++ {
		start := int64(r.IntN(e.n - 100))
		if _, err := e.s.LRange([]byte("bench:l"), start, start+99); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSAdd(b *testing.B) {
	s := benchStore(b)
	var k [8]byte
	b.ReportAllocs()
	defer cpuPerOp(b)()
	for i := 0; i < b.N; i++ {
		binary.BigEndian.PutUint64(k[:], uint64(i))
		if _, err := s.SAdd([]byte("s"), k[:]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSIsMember(b *testing.B) {
	e := getBenchEnv(b)
	r := rand.New(rand.NewPCG(1, 1))
	b.ReportAllocs()
	b.ResetTimer()
	defer cpuPerOp(b)()
	for i := 0; i < b.N; i++ {
		if _, err := e.s.SIsMember([]byte("bench:s"), benchMember(r.IntN(e.n))); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkZAdd(b *testing.B) {
	s := benchStore(b)
	r := rand.New(rand.NewPCG(1, 1))
	var k [8]byte
	b.ReportAllocs()
	defer cpuPerOp(b)()
	for i := 0; i < b.N; i++ {
		binary.BigEndian.PutUint64(k[:], uint64(i))
		if _, err := s.ZAdd([]byte("z"), ZAddArgs{}, Z{Score: float64(r.IntN(1 << 20)), Member: k[:]}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkZIncrBy(b *testing.B) {
	e := getBenchEnv(b)
	r := rand.New(rand.NewPCG(1, 1))
	b.ReportAllocs()
	b.ResetTimer()
	defer cpuPerOp(b)()
	for i := 0; i < b.N; i++ {
		if _, err := e.s.ZIncrBy([]byte("bench:z"), 0, benchMember(r.IntN(e.n))); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkZScore(b *testing.B) {
	e := getBenchEnv(b)
	r := rand.New(rand.NewPCG(1, 1))
	b.ReportAllocs()
	b.ResetTimer()
	defer cpuPerOp(b)()
	for i := 0; i < b.N; i++ {
		if _, err := e.s.ZScore([]byte("bench:z"), benchMember(r.IntN(e.n))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkZRevRange0_9 is a leaderboard's top 10.
func BenchmarkZRevRange0_9(b *testing.B) {
	e := getBenchEnv(b)
	b.ReportAllocs()
	b.ResetTimer()
	defer cpuPerOp(b)()
	for i := 0; i < b.N; i++ {
		if zs, err := e.s.ZRevRange([]byte("bench:z"), 0, 9); err != nil || len(zs) != 10 {
			b.Fatal(err, len(zs))
		}
	}
}

// BenchmarkZRangeAtRank is ZRANGE r r+9 at a random rank r.
func BenchmarkZRangeAtRank(b *testing.B) {
	e := getBenchEnv(b)
	r := rand.New(rand.NewPCG(1, 1))
	b.ReportAllocs()
	b.ResetTimer()
	defer cpuPerOp(b)()
	for i := 0; i < b.N; i++ {
		at := int64(r.IntN(e.n - 10))
		if zs, err := e.s.ZRange([]byte("bench:z"), at, at+9); err != nil || len(zs) != 10 {
			b.Fatal(err, len(zs))
		}
	}
}

// BenchmarkZRangeByScore is ZRANGEBYSCORE over a random interval, LIMIT 0 10.
func BenchmarkZRangeByScore(b *testing.B) {
	e := getBenchEnv(b)
	r := rand.New(rand.NewPCG(1, 1))
	b.ReportAllocs()
	b.ResetTimer()
	defer cpuPerOp(b)()
	for i := 0; i < b.N; i++ {
		lo := float64(r.IntN(1_000_000_000))
		if _, err := e.s.ZRangeByScore([]byte("bench:z"), ScoreRange{Min: lo, Max: lo + 1e7}, 0, 10); err != nil {
			b.Fatal(err)
		}
	}
}

func benchZRank(b *testing.B, mirrors bool) {
	e := getBenchEnv(b)
	s := e.s
	if !mirrors {
		s = NewWithOptions(e.db, &Options{RankCacheSize: -1, ReclaimInterval: -1})
	}
	r := rand.New(rand.NewPCG(1, 1))
	if _, err := s.ZRank([]byte("bench:z"), benchMember(0)); err != nil { // load the mirror
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	defer cpuPerOp(b)()
	for i := 0; i < b.N; i++ {
		if _, err := s.ZRank([]byte("bench:z"), benchMember(r.IntN(e.n))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkZRank is the rank of a random member, with the rank-node mirror.
func BenchmarkZRank(b *testing.B) { benchZRank(b, true) }

// BenchmarkZRankLatency is BenchmarkZRank timing each call: it reports the
// median, the 99th and 99.9th percentiles and the maximum, in µs.
func BenchmarkZRankLatency(b *testing.B) {
	e := getBenchEnv(b)
	r := rand.New(rand.NewPCG(1, 1))
	if _, err := e.s.ZRank([]byte("bench:z"), benchMember(0)); err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m := benchMember(r.IntN(e.n))
		t := time.Now()
		if _, err := e.s.ZRank([]byte("bench:z"), m); err != nil {
			b.Fatal(err)
		}
		lat[i] = time.Since(t)
	}
	b.StopTimer()
	slices.Sort(lat)
	q := func(f float64) float64 { return float64(lat[min(len(lat)-1, int(f*float64(len(lat))))]) / 1e3 }
	b.ReportMetric(q(0.5), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
	b.ReportMetric(q(0.999), "p99.9-µs")
	b.ReportMetric(float64(lat[len(lat)-1])/1e3, "max-µs")
}

// BenchmarkZRankNoMirror is the same walking the engine's nodes.
func BenchmarkZRankNoMirror(b *testing.B) { benchZRank(b, false) }

// BenchmarkHGetAllIter streams the whole hash.
func BenchmarkHGetAllIter(b *testing.B) {
	e := getBenchEnv(b)
	b.ReportAllocs()
	b.ResetTimer()
	defer cpuPerOp(b)()
	for i := 0; i < b.N; i++ {
		it, err := e.s.HIter([]byte("bench:h"))
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for it.Next() {
			n++
		}
		if err := it.Close(); err != nil || n != e.n {
			b.Fatal(err, n)
		}
	}
}

// The cost of the Store's locking under contention: each parallel
// benchmark runs its operation from 1 goroutine and from 16 (sub-benchmarks
// g=1 and g=16), sharing b.N between them, so ns/op is the time per
// operation of the whole group and the two read side by side. HINCRBY on
// distinct keys and on one key (every goroutine waits for the same stripe
// lock), ZINCRBY on one sorted set, LPUSH+RPOP on one list, and the
// engine's own Increment and Put as baselines for the Store's IncrBy and Set.
func benchParallel(b *testing.B, f func(s *Store, i uint64) error) {
	for _, g := range []int{1, 16} {
		b.Run(fmt.Sprint("g=", g), func(b *testing.B) {
			s := benchStore(b)
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ReportAllocs()
			b.ResetTimer()
			defer cpuPerOp(b)()
			for w := 0; w < g; w++ {
				wg.Add(1)
				go func(id uint64) {
					defer wg.Done()
					for i := uint64(0); next.Add(1) <= int64(b.N); i++ {
						if err := f(s, id<<32|i); err != nil {
							b.Error(err)
							return
						}
					}
				}(uint64(w))
			}
			wg.Wait()
		})
	}
}

func BenchmarkParallelHIncrByDistinctKeys(b *testing.B) {
	benchParallel(b, func(s *Store, i uint64) error {
		_, err := s.HIncrBy([]byte(fmt.Sprint("h", i>>32)), []byte("f"), 1)
		return err
	})
}

func BenchmarkParallelHIncrByOneKey(b *testing.B) {
	benchParallel(b, func(s *Store, i uint64) error {
		_, err := s.HIncrBy([]byte("h"), []byte("f"), 1)
		return err
	})
}

func BenchmarkParallelZIncrByOneKey(b *testing.B) {
	benchParallel(b, func(s *Store, i uint64) error {
		var m [1]byte
		m[0] = byte(i % 100)
		_, err := s.ZIncrBy([]byte("z"), 1, m[:])
		return err
	})
}

// BenchmarkParallelQueue is a producer's LPUSH and a consumer's RPOP on one
// list (one op is both).
func BenchmarkParallelQueue(b *testing.B) {
	v := []byte("a job description of some size..")
	benchParallel(b, func(s *Store, i uint64) error {
		if _, err := s.LPush([]byte("q"), v); err != nil {
			return err
		}
		_, err := s.RPop([]byte("q"))
		if err == ErrNotFound {
			err = nil // another consumer took it
		}
		return err
	})
}

func BenchmarkParallelIncrByStore(b *testing.B) {
	benchParallel(b, func(s *Store, i uint64) error {
		_, err := s.IncrBy([]byte(fmt.Sprint("c", i>>32)), 1)
		return err
	})
}

func BenchmarkParallelIncrementEngine(b *testing.B) {
	benchParallel(b, func(s *Store, i uint64) error {
		_, err := s.DB().Increment([]byte(fmt.Sprint("c", i>>32)), 1)
		return err
	})
}

func BenchmarkParallelSetStore(b *testing.B) {
	benchParallel(b, func(s *Store, i uint64) error {
		return s.Set([]byte(fmt.Sprint("k", i%100000)), []byte("value"))
	})
}

func BenchmarkParallelPutEngine(b *testing.B) {
	benchParallel(b, func(s *Store, i uint64) error {
		return s.DB().Put([]byte(fmt.Sprint("k", i%100000)), []byte("value"))
	})
}

// BenchmarkParallelUpdate is an Update of two operations (Update holds
// every key: it serializes with everything).
func BenchmarkParallelUpdate(b *testing.B) {
	benchParallel(b, func(s *Store, i uint64) error {
		return s.Update(func(tx *Tx) error {
			if _, err := tx.HIncrBy([]byte("a"), []byte("n"), -1); err != nil {
				return err
			}
			_, err := tx.HIncrBy([]byte("b"), []byte("n"), 1)
			return err
		})
	})
}

var (
	setOnce  sync.Once
	setStore *Store
	setDir   string
	setErr   error
)

// removeSetBench closes and deletes BenchmarkSetArgs's DB, if it was
// built (TestMain calls it).
func removeSetBench() {
	if setStore != nil {
		setStore.Close()
		setStore.DB().Close()
	}
	if setDir != "" {
		os.RemoveAll(setDir)
	}
}

// setKeys is how many strings BenchmarkSetArgs overwrites.
const setKeys = 100_000

func setKey(i int) []byte { return fmt.Appendf(nil, "key:%012d", i) }

// BenchmarkSetArgs is the server's SET (SetArgs with no option, and with
// EX) over 100,000 strings of 100 bytes compacted into tables, each SET
// overwriting one of them: what a SET costs when the old value is not in
// the memtable. The DB is built once per process in a temporary directory,
// deleted when the tests end.
func BenchmarkSetArgs(b *testing.B) {
	setOnce.Do(func() {
		dir, err := os.MkdirTemp("", "collections-set")
		if err != nil {
			setErr = err
			return
		}
		setDir = dir
		db, err := lsm.Open(dir, nil)
		if err != nil {
			setErr = err
			return
		}
		s := New(db)
		setStore = s
		val := make([]byte, 100)
		for i := 0; i < setKeys && setErr == nil; i += 1000 {
			var kv [][]byte
			for j := i; j < i+1000; j++ {
				kv = append(kv, setKey(j), val)
			}
			setErr = s.MSet(kv...)
		}
		if setErr == nil {
			setErr = db.Compact(nil, nil)
		}
	})
	if setErr != nil {
		b.Fatal(setErr)
	}
	val := make([]byte, 100)
	for _, c := range []struct {
		name string
		args SetArgs
	}{{"plain", SetArgs{}}, {"EX", SetArgs{TTL: time.Hour}}} {
		b.Run(c.name, func(b *testing.B) {
			// Every key once per round, in an order of its own, so most
			// old values are in tables rather than the memtable.
			keys := make([][]byte, setKeys)
			for i, j := range rand.New(rand.NewPCG(1, 2)).Perm(setKeys) {
				keys[i] = setKey(j)
			}
			b.ReportAllocs()
			defer cpuPerOp(b)()
			b.ResetTimer()
			for i := range b.N {
				if _, err := setStore.SetArgs(keys[i%len(keys)], val, c.args); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The server's sorted-set workload: many small sets (a leaderboard per
// user, a few members each) rather than one large one. benchSmallZ builds,
// once per process, smallZSets sets of smallZMembers members each, member
// "m<j>" with score j+0.5, so that a member's rank is j.
const (
	smallZSets    = 20_000
	smallZMembers = 8
)

var (
	smallZOnce sync.Once
	smallZS    *Store
	smallZErr  error
)

func smallZKey(i int) []byte { return fmt.Appendf(nil, "zset:%d", i) }

func benchSmallZ(b *testing.B) *Store {
	smallZOnce.Do(func() {
		d, err := os.MkdirTemp("", "collections-bench-smallz")
		if err != nil {
			smallZErr = err
			return
		}
		db, err := lsm.Open(d, nil)
		if err != nil {
			smallZErr = err
			return
		}
		s := New(db)
		for i := 0; i < smallZSets; i += 500 {
			err := s.Update(func(tx *Tx) error {
				for k := i; k < min(i+500, smallZSets); k++ {
					for j := 0; j < smallZMembers; j++ {
						if _, err := tx.ZAdd(smallZKey(k), ZAddArgs{}, Z{Score: float64(j) + 0.5, Member: fmt.Appendf(nil, "m%d", j)}); err != nil {
							return err
						}
					}
				}
				return nil
			})
			if err != nil {
				smallZErr = err
				return
			}
		}
		if err := db.Compact(nil, nil); err != nil {
			smallZErr = err
			return
		}
		smallZS = s
	})
	if smallZErr != nil {
		b.Fatal(smallZErr)
	}
	return smallZS
}

// BenchmarkZAddNewSmall is ZADD creating a new set each time, as the
// server's ZADD line does while it fills its keyspace.
func BenchmarkZAddNewSmall(b *testing.B) {
	s := benchStore(b)
	b.ReportAllocs()
	defer cpuPerOp(b)()
	for i := 0; i < b.N; i++ {
		if _, err := s.ZAdd(smallZKey(i), ZAddArgs{}, Z{Score: 0.5, Member: []byte("m0")}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkZAddGrowSmall is ZADD adding one member to a small set, round
// robin over 4,096 sets of up to 8 members: the server's ZADD line once
// every key exists.
func BenchmarkZAddGrowSmall(b *testing.B) {
	s := benchStore(b)
	b.ReportAllocs()
	defer cpuPerOp(b)()
	for i := 0; i < b.N; i++ {
		k, j := i%4096, (i/4096)%smallZMembers
		if _, err := s.ZAdd(smallZKey(k), ZAddArgs{}, Z{Score: float64(j) + 0.5, Member: fmt.Appendf(nil, "m%d", j)}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkZAddSameScoreSmall is ZADD of a member that has that score
// already: nothing changes.
func BenchmarkZAddSameScoreSmall(b *testing.B) {
	s := benchSmallZ(b)
	r := rand.New(rand.NewPCG(1, 1))
	b.ReportAllocs()
	b.ResetTimer()
	defer cpuPerOp(b)()
	for i := 0; i < b.N; i++ {
		j := r.IntN(smallZMembers)
		if n, err := s.ZAdd(smallZKey(r.IntN(smallZSets)), ZAddArgs{}, Z{Score: float64(j) + 0.5, Member: fmt.Appendf(nil, "m%d", j)}); err != nil || n != 0 {
			b.Fatal(n, err)
		}
	}
}

// BenchmarkZScoreSmall is ZSCORE in a random small set.
func BenchmarkZScoreSmall(b *testing.B) {
	s := benchSmallZ(b)
	r := rand.New(rand.NewPCG(1, 1))
	b.ReportAllocs()
	b.ResetTimer()
	defer cpuPerOp(b)()
	for i := 0; i < b.N; i++ {
		j := r.IntN(smallZMembers)
		if f, err := s.ZScore(smallZKey(r.IntN(smallZSets)), fmt.Appendf(nil, "m%d", j)); err != nil || f != float64(j)+0.5 {
			b.Fatal(f, err)
		}
	}
}

// BenchmarkZRankSmall is ZRANK in a random small set.
func BenchmarkZRankSmall(b *testing.B) {
	s := benchSmallZ(b)
	r := rand.New(rand.NewPCG(1, 1))
	b.ReportAllocs()
	b.ResetTimer()
	defer cpuPerOp(b)()
	for i := 0; i < b.N; i++ {
		j := r.IntN(smallZMembers)
		if n, err := s.ZRank(smallZKey(r.IntN(smallZSets)), fmt.Appendf(nil, "m%d", j)); err != nil || n != int64(j) {
			b.Fatal(n, err)
		}
	}
}

// BenchmarkZRange0_9Small is ZRANGE 0 9 of a random small set.
func BenchmarkZRange0_9Small(b *testing.B) {
	s := benchSmallZ(b)
	r := rand.New(rand.NewPCG(1, 1))
	b.ReportAllocs()
	b.ResetTimer()
	defer cpuPerOp(b)()
	for i := 0; i < b.N; i++ {
		if zs, err := s.ZRange(smallZKey(r.IntN(smallZSets)), 0, 9); err != nil || len(zs) != smallZMembers {
			b.Fatal(len(zs), err)
		}
	}
}

// BenchmarkIncrByNew is INCR creating a counter each time (a failed
// IfPresent increment, the metadata probe, then IfAbsent).
func BenchmarkIncrByNew(b *testing.B) {
	s := benchStore(b)
	buf := append(make([]byte, 0, 32), "counter:"...)
	b.ReportAllocs()
	defer cpuPerOp(b)()
	for i := 0; i < b.N; i++ {
		k := strconv.AppendInt(buf[:8], int64(i), 10)
		if _, err := s.IncrBy(k, 1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIncrByExisting is INCR on one of 1000 counters that exist.
func BenchmarkIncrByExisting(b *testing.B) {
	s := benchStore(b)
	buf := append(make([]byte, 0, 32), "counter:"...)
	for i := range 1000 {
		if _, err := s.IncrBy(strconv.AppendInt(buf[:8], int64(i), 10), 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	defer cpuPerOp(b)()
	for i := 0; i < b.N; i++ {
		if _, err := s.IncrBy(strconv.AppendInt(buf[:8], int64(i%1000), 10), 1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSet is SET of a 100-byte string over 100,000 keys, in memory.
func BenchmarkSet(b *testing.B) {
	s := benchStore(b)
	buf := append(make([]byte, 0, 32), "key:"...)
	v := bytes.Repeat([]byte("v"), 100)
	b.ReportAllocs()
	defer cpuPerOp(b)()
	for i := 0; i < b.N; i++ {
		if err := s.Set(strconv.AppendInt(buf[:4], int64(i%100_000), 10), v); err != nil {
			b.Fatal(err)
		}
	}
}

// setName writes "set:" and i in 12 digits to dst, as the server
// comparison names its keys.
func setName(dst []byte, i int) []byte {
	dst = append(dst[:0], "set:000000000000"...)
	for j := len(dst) - 1; i > 0; j-- {
		dst[j] = byte('0' + i%10)
		i /= 10
	}
	return dst
}

// metaCacheCases are the metadata cache's settings benchmarks compare.
var metaCacheCases = []struct {
	name string
	size int64
	sole bool
}{{"off", -1, false}, {"on", 0, false}, {"sole", 0, true}}

// BenchmarkSAddNewSets is SADD making a new set each time (the server
// comparison's SADD line): with the cache on, each commit also adds the
// set's metadata to it, which is the cache's worst case.
func BenchmarkSAddNewSets(b *testing.B) {
	for _, c := range metaCacheCases {
		b.Run(c.name, func(b *testing.B) {
			db, err := lsm.Open(b.TempDir(), nil)
			if err != nil {
				b.Fatal(err)
			}
			s := NewWithOptions(db, &Options{MetaCacheSize: c.size, SoleWriter: c.sole})
			defer db.Close()
			defer s.Close()
			var k []byte
			m := []byte("m")
			b.ReportAllocs()
			report := cpuPerOp(b)
			for i := range b.N {
				k = setName(k, i)
				if _, err := s.SAdd(k, m); err != nil {
					b.Fatal(err)
				}
			}
			report()
			b.StopTimer()
		})
	}
}

// BenchmarkSIsMemberManySets is SISMEMBER of random sets among 300,000 of
// one member each (names as the server comparison's, "set:" and 12
// digits), with the metadata cache off, on, and on with the sole-writer
// promise: the cache's hits against a keyspace larger than the engine's
// memtable, and what its memory costs the collector. cpu-ns/op is the
// process's CPU per read.
func BenchmarkSIsMemberManySets(b *testing.B) {
	const n = 300_000
	for _, c := range metaCacheCases {
		b.Run(c.name, func(b *testing.B) {
			db, err := lsm.Open(b.TempDir(), nil)
			if err != nil {
				b.Fatal(err)
			}
			s := NewWithOptions(db, &Options{MetaCacheSize: c.size, SoleWriter: c.sole})
			defer db.Close()
			defer s.Close()
			name := setName
			var k []byte
			for i := range n {
				k = name(k, i)
				if _, err := s.SAdd(k, []byte("m")); err != nil {
					b.Fatal(err)
				}
			}
			if err := db.Flush(); err != nil {
				b.Fatal(err)
			}
			r := rand.New(rand.NewPCG(1, 2))
			m := []byte("m")
			b.ReportAllocs()
			b.ResetTimer()
			report := cpuPerOp(b)
			for range b.N {
				k = name(k, r.IntN(n))
				if ok, err := s.SIsMember(k, m); err != nil || !ok {
					b.Fatal(ok, err)
				}
			}
			report()
			b.StopTimer()
		})
	}
}

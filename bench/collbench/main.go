// Command collbench measures Strata's Redis data types (package collections)
// at a given size, optionally inside a cgroup v1 memory limit far below the
// data's size, and checks every answer against a model.
//
// It builds a sorted set "z" and a hash "h" of -n elements each (and, for
// the workloads, a set "s" and a list "l"). Member i is "member:%010d" with
// the score perm(i) = i*A mod n, a permutation of 0..n-1, so the model is
// arithmetic and needs no memory: ZSCORE and ZRANK of member i are perm(i),
// ZRANGE r r+9 holds the members with scores r..r+9, ZCOUNT a b is b-a+1.
// After a verification pass it removes some members and fields (the model
// keeps those in a sorted slice) and verifies again. Then it runs each
// workload (HSET, HGET, LPUSH, RPOP, SADD, SISMEMBER, ZADD, ZSCORE,
// ZRANGE 0 9, ZRANK) for -ops operations and prints ops/s, p50 and p99,
// with the memory used.
//
//	go run ./collbench -n 10000000 -cgroup-mem 512MiB -dir /data/collbench
package main

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stratadb/strata/collections"
	"github.com/stratadb/strata/lsm"
)

var (
	flagN        = flag.Int64("n", 1_000_000, "elements of each collection")
	flagDir      = flag.String("dir", "", "DB directory (default: a new temporary one); an existing build of the same -n is reused")
	flagCgroup   = flag.String("cgroup-mem", "", "run inside a new cgroup v1 memory limit of this size (e.g. 512MiB); needs root")
	flagMemtable = flag.Int64("memtable", 0, "lsm MemtableSize in bytes (0: from -db-mem, or 16 MiB without it)")
	flagCache    = flag.Int64("cache", 0, "lsm BlockCacheSize in bytes (0: from -db-mem, or 32 MiB without it)")
	flagDBMem    = flag.String("db-mem", "", "lsm MemoryLimit (e.g. 96MiB); default: 3/8 of -cgroup-mem when that is set")
	flagGoMem    = flag.String("go-mem", "", "Go runtime memory limit (GOMEMLIMIT); default: 3/4 of -cgroup-mem when that is set")
	flagRank     = flag.Int64("rankcache", 16<<20, "collections RankCacheSize in bytes")
	flagChecks   = flag.Int("checks", 20000, "random checks per kind in each verification pass")
	flagRemove   = flag.Int("remove", 10000, "members and fields removed between the two verification passes")
	flagOps      = flag.Int("ops", 100000, "operations per workload (0 skips the workloads)")
	flagSkip     = flag.Bool("skip-build", false, "use the DB in -dir as it is")
	flagProfile  = flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flagBuildNow = flag.Bool("build-only", false, "stop after the build")
	flagBatch    = flag.Int("batch", 1000, "elements per build transaction")
	flagColls    = flag.String("collections", "zhsl", "collections to build and measure: z (sorted set), h (hash), s (set), l (list); a collection already of -n elements in -dir is reused")
)

// perm is the model's score of member i: i*A mod n, A prime to n.
type model struct {
	n, a, inv int64
	removed   []int64 // scores removed, sorted
	gone      map[int64]bool
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func newModel(n int64) *model {
	a := int64(2654435761) % n
	for a < 2 || gcd(a, n) != 1 {
		a++
	}
	// The inverse of a mod n, by the extended Euclid algorithm.
	t, newT, r, newR := int64(0), int64(1), n, a
	for newR != 0 {
		q := r / newR
		t, newT = newT, t-q*newT
		r, newR = newR, r-q*newR
	}
	if t < 0 {
		t += n
	}
	return &model{n: n, a: a, inv: t, gone: map[int64]bool{}}
}

func mulmod(x, y, n int64) int64 {
	hi, lo := mul64(uint64(x), uint64(y))
	return int64(mod128(hi, lo, uint64(n)))
}

func (m *model) score(i int64) int64  { return mulmod(i, m.a, m.n) }
func (m *model) member(s int64) int64 { return mulmod(s, m.inv, m.n) } // the member with score s

// rank is the model's ZRANK of a member with score s still present.
func (m *model) rank(s int64) int64 {
	below, _ := slices.BinarySearch(m.removed, s)
	return s - int64(below)
}

func memberName(i int64) []byte { return []byte(fmt.Sprintf("member:%010d", i)) }
func fieldValue(i int64) []byte { return []byte(fmt.Sprintf("value-%d", i*7+3)) }

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "collbench:", err)
		os.Exit(1)
	}
}

func run() error {
	if *flagProfile != "" {
		f, err := os.Create(*flagProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var dbMem, goMem int64
	if *flagCgroup != "" {
		limit, err := parseSize(*flagCgroup)
		if err != nil {
			return err
		}
		if err := joinCgroup(limit); err != nil {
			return err
		}
		defer leaveCgroup()
		fmt.Printf("running in a cgroup v1 memory limit of %s\n", human(limit))
		// The cgroup counts the page cache too, and the engine's bound
		// leaves out the Go runtime and this program's own heap: give the
		// DB 3/8 and the collector a target at 3/4.
		dbMem, goMem = limit*3/8, limit*3/4
	}
	for _, f := range []struct {
		flag string
		dst  *int64
	}{{*flagDBMem, &dbMem}, {*flagGoMem, &goMem}} {
		if f.flag != "" {
			v, err := parseSize(f.flag)
			if err != nil {
				return err
			}
			*f.dst = v
		}
	}
	if goMem > 0 {
		debug.SetMemoryLimit(goMem)
	}
	opts := &lsm.Options{MemoryLimit: dbMem, MemtableSize: *flagMemtable, BlockCacheSize: *flagCache}
	if dbMem == 0 {
		if opts.MemtableSize == 0 {
			opts.MemtableSize = 16 << 20
		}
		if opts.BlockCacheSize == 0 {
			opts.BlockCacheSize = 32 << 20
		}
	}
	dir := *flagDir
	if dir == "" {
		d, err := os.MkdirTemp("", "collbench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	n := *flagN
	fmt.Printf("machine: %d CPUs, %s, %s; load average %s\n", runtime.NumCPU(), runtime.Version(), runtime.GOARCH, loadavg())
	db, err := lsm.Open(filepath.Join(dir, fmt.Sprint("n", n)), opts)
	if err != nil {
		return err
	}
	defer db.Close()
	s := collections.NewWithOptions(db, &collections.Options{RankCacheSize: *flagRank})
	defer s.Close()
	m := newModel(n)

	fmt.Printf("n = %d, A = %d; lsm MemoryLimit %s (bound %s), GOMEMLIMIT %s; RankCacheSize %s\n",
		n, m.a, human(dbMem), human(db.Metrics().MemoryBound), human(goMem), human(*flagRank))
	for _, c := range *flagColls {
		if !strings.ContainsRune("zhsl", c) || strings.Count(*flagColls, string(c)) > 1 {
			return fmt.Errorf("-collections %q: each of z, h, s and l at most once", *flagColls)
		}
	}
	if strings.Contains(*flagColls, "z") != strings.Contains(*flagColls, "h") {
		return fmt.Errorf("-collections %q: the checks and removals pair z with h: both or neither", *flagColls)
	}
	if !*flagSkip {
		if err := build(db, s, m); err != nil {
			return err
		}
	}
	mem("after build", db)
	if *flagBuildNow {
		return nil
	}
	if err := verify(s, m, "first pass"); err != nil {
		return err
	}
	if strings.Contains(*flagColls, "z") {
		if err := removeSome(s, m); err != nil {
			return err
		}
	}
	if err := verify(s, m, "after removals"); err != nil {
		return err
	}
	mem("after verification", db)
	if *flagOps > 0 {
		if err := workloads(s, m); err != nil {
			return err
		}
		mem("after workloads", db)
	}
	return nil
}

// build writes the collections with batched transactions, one goroutine
// per collection: each batch is one UpdateKeys of -batch elements on that
// collection's key alone, so the four builds run side by side (Update would
// lock the whole Store) and each commit is one engine batch. What is built
// is the same as one element at a time: the same members, scores, fields
// and values, in the same order within each collection.
func build(db *lsm.DB, s *collections.Store, m *model) error {
	n := m.n
	batch := int64(*flagBatch)
	if batch < 1 {
		return fmt.Errorf("-batch %d: must be at least 1", batch)
	}
	type part struct {
		key  string
		fill func(tx *collections.Tx, lo, hi int64) error
	}
	names := func(lo, hi int64) [][]byte {
		ms := make([][]byte, 0, hi-lo)
		for j := lo; j < hi; j++ {
			ms = append(ms, memberName(j))
		}
		return ms
	}
	all := []part{
		{"z", func(tx *collections.Tx, lo, hi int64) error {
			zs := make([]collections.Z, 0, hi-lo)
			for j := lo; j < hi; j++ {
				zs = append(zs, collections.Z{Score: float64(m.score(j)), Member: memberName(j)})
			}
			_, err := tx.ZAdd([]byte("z"), collections.ZAddArgs{}, zs...)
			return err
		}},
		{"h", func(tx *collections.Tx, lo, hi int64) error {
			fv := make([][]byte, 0, 2*(hi-lo))
			for j := lo; j < hi; j++ {
				fv = append(fv, memberName(j), fieldValue(j))
			}
			_, err := tx.HSet([]byte("h"), fv...)
			return err
		}},
		{"s", func(tx *collections.Tx, lo, hi int64) error {
			_, err := tx.SAdd([]byte("s"), names(lo, hi)...)
			return err
		}},
		{"l", func(tx *collections.Tx, lo, hi int64) error {
			_, err := tx.RPush([]byte("l"), names(lo, hi)...)
			return err
		}},
	}
	// A collection already of n elements (an earlier -build-only run) is
	// reused; any other is deleted and built afresh.
	var parts []part
	for _, pt := range all {
		if !strings.Contains(*flagColls, pt.key) {
			continue
		}
		if c, err := card(s, pt.key); err != nil {
			return err
		} else if c == n {
			fmt.Printf("reusing %q: %d elements\n", pt.key, c)
			continue
		}
		if _, err := s.Delete([]byte(pt.key)); err != nil {
			return err
		}
		parts = append(parts, pt)
	}
	if len(parts) == 0 {
		return nil
	}
	start := time.Now()
	done := make([]atomic.Int64, len(parts))
	took := make([]time.Duration, len(parts))
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for p, pt := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys := [][]byte{[]byte(pt.key)}
			for i := int64(0); i < n; i += batch {
				hi := min(i+batch, n)
				if err := s.UpdateKeys(keys, func(tx *collections.Tx) error { return pt.fill(tx, i, hi) }); err != nil {
					errs[p] = fmt.Errorf("building %q at %d: %w", pt.key, i, err)
					return
				}
				done[p].Store(hi)
			}
			took[p] = time.Since(start)
		}()
	}
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			var sum int64
			line := ""
			for p := range parts {
				sum += done[p].Load()
				line += fmt.Sprintf(" %s %d", parts[p].key, done[p].Load())
			}
			fmt.Printf("  built%s of %d (%.0f elements/s); RSS %s, Go heap in use %s, tables %s; load average %s\n", line, n,
				float64(sum)/time.Since(start).Seconds(), human(procKB("VmRSS:")*1024), human(int64(ms.HeapInuse)), human(db.Metrics().DiskBytes), loadavg())
		}
	}()
	wg.Wait()
	close(stop)
	if err := errors.Join(errs...); err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Printf("built %d collections of %d in %v (batches of %d, one goroutine each): %.0f elements/s;", len(parts), n,
		el.Round(time.Second), batch, float64(n*int64(len(parts)))/el.Seconds())
	for p := range parts {
		fmt.Printf(" %s done at %v", parts[p].key, took[p].Round(time.Second))
	}
	fmt.Println()
	start = time.Now()
	if err := db.Compact(nil, nil); err != nil {
		return err
	}
	fmt.Printf("compacted in %v; tables %s\n", time.Since(start).Round(time.Second), human(db.Metrics().DiskBytes))
	return nil
}

// card returns the number of elements of collection key.
func card(s *collections.Store, key string) (int64, error) {
	k := []byte(key)
	switch key {
	case "z":
		return s.ZCard(k)
	case "h":
		return s.HLen(k)
	case "s":
		return s.SCard(k)
	default:
		return s.LLen(k)
	}
}

// lat collects latencies.
type lat struct {
	name string
	d    []time.Duration
}

func (l *lat) add(d time.Duration) { l.d = append(l.d, d) }

func (l *lat) quantile(q float64) time.Duration {
	if len(l.d) == 0 {
		return 0
	}
	sort.Slice(l.d, func(i, j int) bool { return l.d[i] < l.d[j] })
	return l.d[min(len(l.d)-1, int(q*float64(len(l.d))))]
}

func (l *lat) total() time.Duration {
	var t time.Duration
	for _, d := range l.d {
		t += d
	}
	return t
}

func report(title string, ls []*lat) {
	fmt.Printf("\n%s\n\n| operation | ops | ops/s | p50 | p99 |\n| --- | ---: | ---: | ---: | ---: |\n", title)
	for _, l := range ls {
		t := l.total()
		fmt.Printf("| %s | %d | %.0f | %v | %v |\n", l.name, len(l.d), float64(len(l.d))/t.Seconds(),
			l.quantile(0.5).Round(time.Microsecond/10), l.quantile(0.99).Round(time.Microsecond/10))
	}
}

// pick returns a random member index still present.
func (m *model) pick(r *rand.Rand) int64 {
	for {
		i := r.Int64N(m.n)
		if !m.gone[i] {
			return i
		}
	}
}

func verify(s *collections.Store, m *model, pass string) error {
	r := rand.New(rand.NewPCG(uint64(len(m.removed)), 1))
	size := m.n - int64(len(m.removed))
	kinds := []*lat{{name: "ZSCORE"}, {name: "ZRANK"}, {name: "ZREVRANK"}, {name: "ZRANGE r r+9 WITHSCORES"},
		{name: "ZCOUNT a b"}, {name: "ZRANGEBYSCORE a +inf LIMIT 0 10"}, {name: "HGET"}, {name: "HMGET (3 fields)"}}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%s: model disagrees: %s", pass, fmt.Sprintf(format, args...))
	}
	zh := strings.Contains(*flagColls, "z") // and h: run checks both or neither
	if zh {
		if c, err := s.ZCard([]byte("z")); err != nil || c != size {
			return fail("ZCARD %d, %v; want %d", c, err, size)
		}
		if c, err := s.HLen([]byte("h")); err != nil || c != size {
			return fail("HLEN %d, %v; want %d", c, err, size)
		}
	}
	// The set and the list keep all n members (the removals touch only z
	// and h): their sizes, and members at random.
	if strings.Contains(*flagColls, "s") {
		if c, err := s.SCard([]byte("s")); err != nil || c != m.n {
			return fail("SCARD %d, %v; want %d", c, err, m.n)
		}
		for c := 0; c < *flagChecks; c++ {
			i := r.Int64N(m.n)
			if ok, err := s.SIsMember([]byte("s"), memberName(i)); err != nil || !ok {
				return fail("SISMEMBER member %d = %v, %v", i, ok, err)
			}
		}
	}
	if strings.Contains(*flagColls, "l") {
		if c, err := s.LLen([]byte("l")); err != nil || c != m.n {
			return fail("LLEN %d, %v; want %d", c, err, m.n)
		}
		for c := 0; c < *flagChecks/100; c++ {
			i := r.Int64N(m.n)
			if v, err := s.LIndex([]byte("l"), i); err != nil || string(v) != string(memberName(i)) {
				return fail("LINDEX %d = %q, %v", i, v, err)
			}
		}
	}
	for c := 0; zh && c < *flagChecks; c++ {
		i := m.pick(r)
		sc := m.score(i)
		t := time.Now()
		f, err := s.ZScore([]byte("z"), memberName(i))
		kinds[0].add(time.Since(t))
		if err != nil || f != float64(sc) {
			return fail("ZSCORE member %d = %v, %v; want %d", i, f, err, sc)
		}
		t = time.Now()
		rk, err := s.ZRank([]byte("z"), memberName(i))
		kinds[1].add(time.Since(t))
		if want := m.rank(sc); err != nil || rk != want {
			return fail("ZRANK member %d = %d, %v; want %d", i, rk, err, want)
		}
		t = time.Now()
		rr, err := s.ZRevRank([]byte("z"), memberName(i))
		kinds[2].add(time.Since(t))
		if want := size - 1 - m.rank(sc); err != nil || rr != want {
			return fail("ZREVRANK member %d = %d, %v; want %d", i, rr, err, want)
		}
		// ZRANGE at a random rank: the ten present members from there.
		at := r.Int64N(max(size-10, 1))
		t = time.Now()
		zs, err := s.ZRange([]byte("z"), at, at+9)
		kinds[3].add(time.Since(t))
		if err != nil || len(zs) != int(min(10, size-at)) {
			return fail("ZRANGE %d %d: %d members, %v", at, at+9, len(zs), err)
		}
		for j, z := range zs {
			want := m.rank(int64(z.Score))
			if want != at+int64(j) || string(z.Member) != string(memberName(m.member(int64(z.Score)))) || m.gone[m.member(int64(z.Score))] {
				return fail("ZRANGE %d: element %d is %s %v", at, j, z.Member, z.Score)
			}
		}
		a := r.Int64N(m.n)
		b := min(a+r.Int64N(1000), m.n-1)
		t = time.Now()
		cnt, err := s.ZCount([]byte("z"), collections.ScoreRange{Min: float64(a), Max: float64(b)})
		kinds[4].add(time.Since(t))
		lo, _ := slices.BinarySearch(m.removed, a)
		hi, _ := slices.BinarySearch(m.removed, b+1)
		if want := b - a + 1 - int64(hi-lo); err != nil || cnt != want {
			return fail("ZCOUNT %d %d = %d, %v; want %d", a, b, cnt, err, want)
		}
		t = time.Now()
		zs, err = s.ZRangeByScore([]byte("z"), collections.ScoreRange{Min: float64(a), Max: 1e300}, 0, 10)
		kinds[5].add(time.Since(t))
		if err != nil {
			return fail("ZRANGEBYSCORE: %v", err)
		}
		next := a
		for _, z := range zs {
			for m.gone[m.member(next)] {
				next++
			}
			if int64(z.Score) != next {
				return fail("ZRANGEBYSCORE %d: got score %v, want %d", a, z.Score, next)
			}
			next++
		}
		t = time.Now()
		v, err := s.HGet([]byte("h"), memberName(i))
		kinds[6].add(time.Since(t))
		if err != nil || string(v) != string(fieldValue(i)) {
			return fail("HGET %d = %q, %v", i, v, err)
		}
		j, k := m.pick(r), r.Int64N(m.n)
		t = time.Now()
		vs, err := s.HMGet([]byte("h"), memberName(i), memberName(j), memberName(k))
		kinds[7].add(time.Since(t))
		if err != nil || string(vs[1]) != string(fieldValue(j)) || (m.gone[k] != (vs[2] == nil)) {
			return fail("HMGET: %q, %v", vs, err)
		}
	}
	if zh {
		report(fmt.Sprintf("verification, %s: %d random checks of each kind against the model, all equal", pass, *flagChecks), kinds)
	} else {
		fmt.Printf("\nverification, %s: sizes and random members of the set and the list equal to the model\n", pass)
	}
	return nil
}

func removeSome(s *collections.Store, m *model) error {
	r := rand.New(rand.NewPCG(9, 9))
	start := time.Now()
	for c := 0; c < *flagRemove; c++ {
		i := m.pick(r)
		n, err := s.ZRem([]byte("z"), memberName(i))
		if err != nil || n != 1 {
			return fmt.Errorf("ZREM %d: %d, %v", i, n, err)
		}
		if n, err := s.HDel([]byte("h"), memberName(i)); err != nil || n != 1 {
			return fmt.Errorf("HDEL %d: %d, %v", i, n, err)
		}
		m.gone[i] = true
		sc := m.score(i)
		at, _ := slices.BinarySearch(m.removed, sc)
		m.removed = slices.Insert(m.removed, at, sc)
	}
	fmt.Printf("\nremoved %d members and fields in %v\n", *flagRemove, time.Since(start).Round(time.Millisecond))
	for k := 0; k < 100; k++ {
		i := r.Int64N(m.n)
		_, err := s.ZScore([]byte("z"), memberName(i))
		if m.gone[i] != errors.Is(err, collections.ErrNotFound) {
			return fmt.Errorf("ZSCORE of member %d after removals: %v (removed: %v)", i, err, m.gone[i])
		}
	}
	return nil
}

func workloads(s *collections.Store, m *model) error {
	ops := *flagOps
	r := rand.New(rand.NewPCG(3, 3))
	var ls []*lat
	runW := func(name string, f func(i int) error) error {
		l := &lat{name: name, d: make([]time.Duration, 0, ops)}
		for i := 0; i < ops; i++ {
			t := time.Now()
			if err := f(i); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			l.add(time.Since(t))
		}
		ls = append(ls, l)
		return nil
	}
	extra := func(i int) []byte { return []byte(fmt.Sprintf("extra:%010d", i)) }
	steps := []struct {
		name string
		f    func(i int) error
	}{
		{"HSET (new field)", func(i int) error { _, err := s.HSet([]byte("h"), extra(i), extra(i)); return err }},
		{"HGET", func(i int) error { _, err := s.HGet([]byte("h"), memberName(m.pick(r))); return err }},
		{"LPUSH", func(i int) error { _, err := s.LPush([]byte("l"), extra(i)); return err }},
		{"RPOP", func(i int) error { _, err := s.RPop([]byte("l")); return err }},
		{"SADD (new member)", func(i int) error { _, err := s.SAdd([]byte("s"), extra(i)); return err }},
		{"SISMEMBER", func(i int) error { _, err := s.SIsMember([]byte("s"), memberName(r.Int64N(m.n))); return err }},
		{"ZADD (new member)", func(i int) error {
			_, err := s.ZAdd([]byte("z"), collections.ZAddArgs{}, collections.Z{Score: float64(r.Int64N(m.n)) + 0.5, Member: extra(i)})
			return err
		}},
		{"ZSCORE", func(i int) error { _, err := s.ZScore([]byte("z"), memberName(m.pick(r))); return err }},
		{"ZRANGE 0 9", func(i int) error { _, err := s.ZRange([]byte("z"), 0, 9); return err }},
		{"ZREVRANGE 0 9", func(i int) error { _, err := s.ZRevRange([]byte("z"), 0, 9); return err }},
		{"ZRANK", func(i int) error { _, err := s.ZRank([]byte("z"), memberName(m.pick(r))); return err }},
	}
	for _, st := range steps {
		if (strings.HasPrefix(st.name, "S") && !strings.Contains(*flagColls, "s")) ||
			(strings.HasPrefix(st.name, "L") || strings.HasPrefix(st.name, "R")) && !strings.Contains(*flagColls, "l") ||
			(strings.HasPrefix(st.name, "Z") || strings.HasPrefix(st.name, "H")) && !strings.Contains(*flagColls, "z") {
			continue // that collection was not built at this size
		}
		if err := runW(st.name, st.f); err != nil {
			return err
		}
	}
	report(fmt.Sprintf("workloads on collections of %d, one goroutine", m.n), ls)
	return nil
}

// mem prints the memory the process and its cgroup used, and the DB's
// size on disk.
func mem(when string, db *lsm.DB) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	line := fmt.Sprintf("\nmemory %s: peak RSS %s, Go heap in use %s, tables on disk %s; load average %s",
		when, human(procKB("VmHWM:")*1024), human(int64(ms.HeapInuse)), human(db.Metrics().DiskBytes), loadavg())
	if cgroupDir != "" {
		line += fmt.Sprintf(", cgroup max usage %s (limit %s)", human(readInt(filepath.Join(cgroupDir, "memory.max_usage_in_bytes"))),
			human(readInt(filepath.Join(cgroupDir, "memory.limit_in_bytes"))))
	}
	fmt.Println(line)
}

var cgroupDir string

// joinCgroup creates a cgroup v1 memory group with the limit and moves
// this process into it.
func joinCgroup(limit int64) error {
	dir := fmt.Sprintf("/sys/fs/cgroup/memory/collbench-%d", os.Getpid())
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("cgroup: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "memory.limit_in_bytes"), []byte(fmt.Sprint(limit)), 0o644); err != nil {
		return fmt.Errorf("cgroup limit: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(fmt.Sprint(os.Getpid())), 0o644); err != nil {
		return fmt.Errorf("cgroup join: %w", err)
	}
	cgroupDir = dir
	return nil
}

// leaveCgroup moves the process back to the root memory cgroup and removes
// the one joinCgroup made (a cgroup with a process in it cannot go).
func leaveCgroup() {
	if cgroupDir == "" {
		return
	}
	if err := os.WriteFile("/sys/fs/cgroup/memory/cgroup.procs", []byte(fmt.Sprint(os.Getpid())), 0o644); err == nil {
		os.Remove(cgroupDir)
	}
}

// loadavg returns the 1, 5 and 15-minute load averages.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func readInt(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n
}

func procKB(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field) {
			f := strings.Fields(l)
			if len(f) >= 2 {
				n, _ := strconv.ParseInt(f[1], 10, 64)
				return n
			}
		}
	}
	return 0
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}

func human(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}

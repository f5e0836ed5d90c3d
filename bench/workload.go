package main

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// A workload is one thing the harness measures, run in its own child
// process per engine. Workloads marked data run on the engine's shared data
// set (loaded by fillrandom, or by the unreported "load" step when
// fillrandom is not selected); the others start from an empty directory.
type workload struct {
	name, group string
	data        bool       // runs on the shared data set
	writes      bool       // changes the data set: flush before closing
	durability  Durability // "" = DurEverySec (Strata's default; peers' no-sync)
	explicit    bool       // only when named (not in "all" or its group)
	run         func(c *child) ([]Result, error)
	about       string
}

// workloads in run order. The order matters: reads come after the load and
// overwrite, and before the YCSB runs, deletes and the final compaction
// that change the data set.
var workloads = []*workload{
	{name: "fillseq", group: "fill", run: (*child).fillSeq,
		about: "-keys Puts in key order into an empty DB, 1 writer"},
	{name: "fillrandom", group: "fill", data: true, writes: true, run: (*child).fillRandom,
		about: "-keys Puts in random order into an empty DB (this is the data set later workloads use), 1 writer"},
	{name: "overwrite", group: "fill", data: true, writes: true, run: (*child).overwrite,
		about: "Puts of uniformly random existing keys, 1 writer, up to -keys ops or -duration"},
	{name: "readrandom", group: "read", data: true, run: (*child).readRandom,
		about: "Gets of uniformly random present keys after a reopen, -threads readers, -duration"},
	{name: "readmissing", group: "read", data: true, run: (*child).readMissing,
		about: "Gets of absent keys that sort between present ones, -threads readers, -duration"},
	{name: "readhot", group: "read", data: true, run: (*child).readHot,
		about: "Gets of present keys, scrambled zipfian (theta 0.99), -threads readers, -duration"},
	{name: "seekrandom", group: "read", data: true, run: (*child).seekRandom,
		about: "a seek to a random present key and 10 Next steps, -threads readers, -duration"},
	{name: "scan", group: "read", data: true, run: (*child).scan,
		about: "a seek to a random present key and 100 entries read, -threads readers, -duration"},
	{name: "ycsb-a", group: "ycsb", data: true, writes: true, run: ycsb('a'),
		about: "50% read, 50% update, zipfian keys, -threads clients, -duration"},
	{name: "ycsb-b", group: "ycsb", data: true, writes: true, run: ycsb('b'),
		about: "95% read, 5% update, zipfian keys"},
	{name: "ycsb-c", group: "ycsb", data: true, run: ycsb('c'),
		about: "100% read, zipfian keys"},
	{name: "ycsb-d", group: "ycsb", data: true, writes: true, run: ycsb('d'),
		about: "95% read of recent inserts (latest distribution), 5% insert of new keys"},
	{name: "ycsb-e", group: "ycsb", data: true, writes: true, run: ycsb('e'),
		about: "95% scan of 1-100 entries from a zipfian key, 5% insert"},
	{name: "ycsb-f", group: "ycsb", data: true, writes: true, run: ycsb('f'),
		about: "50% read, 50% read-modify-write, zipfian keys"},
	{name: "deleterandom", group: "fill", data: true, writes: true, run: (*child).deleteRandom,
		about: "Deletes of uniformly random present keys, 1 writer, up to -keys/2 ops or -duration"},
	{name: "deleterange", group: "fill", data: true, writes: true, run: (*child).deleteRange,
		about: "deletes a contiguous 10% of the keys (one DeleteRange in Strata and Pebble, a Delete per key in the peers without range deletes; ops = keys deleted), then deleterange-readrandom (Gets of uniformly random keys, a tenth deleted) and deleterange-scan (a seek to a random key and 100 entries), -threads readers, -duration"},
	{name: "space", group: "space", data: true, run: (*child).space,
		about: "not timed: full compaction where the engine has one, then du of the directory over the live bytes (a full scan sums len(key)+len(value))"},
	{name: "ttl", group: "ttl", run: (*child).ttl,
		about: "-keys/10 Puts with a TTL of -ttl (ttl-put), Gets while they live (ttl-get), Gets after they expired (ttl-expired: must all miss)"},
	{name: "write1-always", group: "sync-always", durability: DurAlways, run: syncWrites(1),
		about: "random Puts into an empty DB, 1 writer, for -syncduration; Strata SyncAlways, peers fsync per write"},
	{name: "write16-always", group: "sync-always", durability: DurAlways, run: syncWrites(16),
		about: "the same with 16 concurrent writers (group commit where the engine has it)"},
	{name: "write1-everysec", group: "sync-buffered", durability: DurEverySec, run: syncWrites(1),
		about: "1 writer; Strata SyncEverySec; peers have no such mode and run no-sync (the same run as write1-no)"},
	{name: "write16-everysec", group: "sync-buffered", durability: DurEverySec, run: syncWrites(16),
		about: "16 writers; Strata SyncEverySec; peers no-sync"},
	{name: "write1-no", group: "sync-buffered", durability: DurNo, run: syncWrites(1),
		about: "1 writer; Strata SyncNo; peers no-sync"},
	{name: "write16-no", group: "sync-buffered", durability: DurNo, run: syncWrites(16),
		about: "16 writers; Strata SyncNo; peers no-sync"},
}

// loadWorkload builds the data set without being reported, when a data
// workload is selected without fillrandom.
var loadWorkload = &workload{name: "load", group: "fill", data: true, writes: true, run: (*child).load}

func findWorkload(name string) *workload {
	if name == loadWorkload.name {
		return loadWorkload
	}
	for _, w := range workloads {
		if w.name == name {
			return w
		}
	}
	return nil
}

// child is one engine running one workload, in a child process.
type child struct {
	p    Params
	e    Engine
	w    *workload
	vals *valueSource
	// inserted counts keys YCSB D and E added in this run; their indexes
	// start at p.Keys + p.InsertBase.
	inserted atomic.Int64
}

// worker is one goroutine's state in a measured phase.
type worker struct {
	id    int
	rng   *rand.Rand
	key   []byte
	buf   []byte
	kvs   []KV
	hist  Hist
	ops   int64
	bytes int64
	found int64
}

// measure runs op on threads goroutines until maxOps calls were made
// (maxOps <= 0: no limit) or dur passed (dur <= 0: no limit), timing each
// call. op returns how many logical operations the call did (a batch of
// Puts counts each Put).
func (c *child) measure(name string, threads int, maxOps int64, dur time.Duration,
	op func(w *worker, i int64) (int, error)) (Result, error) {
	if maxOps <= 0 && dur <= 0 {
		return Result{}, errors.New("measure: neither an op count nor a duration")
	}
	threads = max(threads, 1)
	ws := make([]*worker, threads)
	for i := range ws {
		ws[i] = &worker{id: i, rng: rand.New(rand.NewPCG(uint64(i)+1, uint64(time.Now().UnixNano()))),
			key: make([]byte, keyLen)}
	}
	var next atomic.Int64
	var stop atomic.Bool
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(dur)
	for _, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				i := next.Add(1) - 1
				if maxOps > 0 && i >= maxOps {
					return
				}
				t0 := time.Now()
				n, err := op(w, i)
				t1 := time.Now()
				w.hist.Record(t1.Sub(t0))
				w.ops += int64(n)
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("%s: %w", name, err) })
					stop.Store(true)
					return
				}
				if dur > 0 && t1.After(deadline) {
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	r := Result{Workload: name, Threads: threads, Seconds: elapsed.Seconds()}
	var h Hist
	for _, w := range ws {
		h.Merge(&w.hist)
		r.Ops += w.ops
		r.Bytes += w.bytes
		r.Found += w.found
	}
	r.OpsPerSec = float64(r.Ops) / elapsed.Seconds()
	r.MBPerSec = float64(r.Bytes) / elapsed.Seconds() / 1e6
	r.P50us = us(h.Quantile(0.50))
	r.P99us = us(h.Quantile(0.99))
	r.P999us = us(h.Quantile(0.999))
	return r, firstErr
}

func us(d time.Duration) float64 { return float64(d) / 1e3 }

// put writes key index idx with a fresh value.
func (c *child) put(w *worker, idx uint64) error {
	k := presentKey(w.key, idx)
	v := c.vals.next(w.rng)
	w.bytes += int64(len(k) + len(v))
	return c.e.Put(k, v)
}

// fill writes the keys order(i*batch ...) for every i, one Put per key, or
// one Batch per -batch keys.
func (c *child) fill(name string, order func(i uint64) uint64) (Result, error) {
	n, b := uint64(c.p.Keys), uint64(max(c.p.Batch, 1))
	calls := int64((n + b - 1) / b)
	return c.measure(name, 1, calls, 0, func(w *worker, i int64) (int, error) {
		if b == 1 {
			return 1, c.put(w, order(uint64(i)))
		}
		lo, hi := uint64(i)*b, min(uint64(i+1)*b, n)
		for len(w.kvs) < int(b) {
			w.kvs = append(w.kvs, KV{Key: make([]byte, keyLen)})
		}
		kvs := w.kvs[:hi-lo]
		for j := range kvs {
			kvs[j].Key = presentKey(kvs[j].Key, order(lo+uint64(j)))
			kvs[j].Value = c.vals.next(w.rng)
			w.bytes += int64(len(kvs[j].Key) + len(kvs[j].Value))
		}
		return len(kvs), c.e.Batch(kvs)
	})
}

func (c *child) fillSeq() ([]Result, error) {
	r, err := c.fill("fillseq", func(i uint64) uint64 { return i })
	return []Result{r}, err
}

func (c *child) fillRandom() ([]Result, error) {
	r, err := c.fill("fillrandom", newKeyOrder(uint64(c.p.Keys)).at)
	return []Result{r}, err
}

// load is fillrandom in batches of 1000, for when the data set is needed
// but fillrandom is not being measured.
func (c *child) load() ([]Result, error) {
	c.p.Batch = 1000
	r, err := c.fill("load", newKeyOrder(uint64(c.p.Keys)).at)
	return []Result{r}, err
}

func (c *child) overwrite() ([]Result, error) {
	n := uint64(c.p.Keys)
	r, err := c.measure("overwrite", 1, c.p.Keys, c.p.Duration, func(w *worker, _ int64) (int, error) {
		return 1, c.put(w, w.rng.Uint64N(n))
	})
	return []Result{r}, err
}

func (c *child) deleteRandom() ([]Result, error) {
	n := uint64(c.p.Keys)
	// -keys/2: a tenth took 0.1 s on fast engines, a window in which
	// start-up work (a fresh memtable, compactions the reopen scheduled)
	// moved ops/s by up to a third between runs of one build.
	r, err := c.measure("deleterandom", 1, max(c.p.Keys/2, 1), c.p.Duration, func(w *worker, _ int64) (int, error) {
		k := presentKey(w.key, w.rng.Uint64N(n))
		w.bytes += int64(len(k))
		return 1, c.e.Delete(k)
	})
	return []Result{r}, err
}

// deleteRange deletes the keys of indexes [45%, 55%) of the data set, then
// reads the whole key space at random and scans it.
func (c *child) deleteRange() ([]Result, error) {
	n := uint64(c.p.Keys)
	lo, hi := n*45/100, n*55/100
	// Every engine's first write after the reopen sets up its log and
	// memtable (Strata: about 4 ms): pay it before the clock starts, with
	// a key outside the data set, so a single DeleteRange times itself.
	warm := []byte("~warm-up")
	if err := c.e.Put(warm, warm); err != nil {
		return nil, err
	}
	if err := c.e.Delete(warm); err != nil {
		return nil, err
	}
	var r Result
	var err error
	if rd, ok := c.e.(RangeDeleter); ok {
		r, err = c.measure("deleterange", 1, 1, 0, func(w *worker, _ int64) (int, error) {
			start := presentKey(make([]byte, keyLen), lo)
			end := presentKey(make([]byte, keyLen), hi)
			w.bytes += int64(len(start) + len(end))
			return int(hi - lo), rd.DeleteRange(start, end)
		})
	} else {
		r, err = c.measure("deleterange", 1, int64(hi-lo), 0, func(w *worker, i int64) (int, error) {
			k := presentKey(w.key, lo+uint64(i))
			w.bytes += int64(len(k))
			return 1, c.e.Delete(k)
		})
	}
	if err != nil {
		return []Result{r}, err
	}
	out := []Result{r}
	rr, err := c.reads("deleterange-readrandom", func(w *worker) []byte { return presentKey(w.key, w.rng.Uint64N(n)) })
	out = append(out, rr...)
	if err != nil {
		return out, err
	}
	sr, err := c.seeks("deleterange-scan", 100)
	return append(out, sr...), err
}

// get reads k and accounts for it.
func (c *child) get(w *worker, k []byte) error {
	v, ok, err := c.e.Get(k)
	w.bytes += int64(len(k) + len(v))
	if ok {
		w.found++
	}
	return err
}

func (c *child) reads(name string, pick func(w *worker) []byte) ([]Result, error) {
	r, err := c.measure(name, c.p.Threads, 0, c.p.Duration, func(w *worker, _ int64) (int, error) {
		return 1, c.get(w, pick(w))
	})
	return []Result{r}, err
}

func (c *child) readRandom() ([]Result, error) {
	n := uint64(c.p.Keys)
	return c.reads("readrandom", func(w *worker) []byte { return presentKey(w.key, w.rng.Uint64N(n)) })
}

func (c *child) readMissing() ([]Result, error) {
	n := uint64(c.p.Keys)
	return c.reads("readmissing", func(w *worker) []byte { return missingKey(w.key, w.rng.Uint64N(n)) })
}

func (c *child) readHot() ([]Result, error) {
	z := newZipf(uint64(c.p.Keys))
	return c.reads("readhot", func(w *worker) []byte { return presentKey(w.key, z.scrambled(w.rng)) })
}

// scanFrom reads up to n entries from k and accounts for them.
func (c *child) scanFrom(w *worker, k []byte, n int) error {
	return c.e.Scan(k, n, func(k, v []byte) {
		w.bytes += int64(len(k) + len(v))
		w.found++
	})
}

func (c *child) seeks(name string, entries int) ([]Result, error) {
	n := uint64(c.p.Keys)
	r, err := c.measure(name, c.p.Threads, 0, c.p.Duration, func(w *worker, _ int64) (int, error) {
		return 1, c.scanFrom(w, presentKey(w.key, w.rng.Uint64N(n)), entries)
	})
	return []Result{r}, err
}

func (c *child) seekRandom() ([]Result, error) { return c.seeks("seekrandom", 11) }
func (c *child) scan() ([]Result, error)       { return c.seeks("scan", 100) }

// ycsb returns the runner of YCSB core workload A..F: 16-byte keys, one
// value per record, zipfian request distribution (D: latest).
func ycsb(kind byte) func(c *child) ([]Result, error) {
	return func(c *child) ([]Result, error) {
		n := uint64(c.p.Keys)
		z := newZipf(n)
		base := uint64(c.p.Keys + c.p.InsertBase) // first index YCSB may insert
		insert := func(w *worker) error {
			return c.put(w, base+uint64(c.inserted.Add(1)-1))
		}
		hot := func(w *worker) []byte { return presentKey(w.key, z.scrambled(w.rng)) }
		op := func(w *worker, _ int64) (int, error) {
			p := w.rng.IntN(100)
			switch kind {
			case 'a', 'b':
				if (kind == 'a' && p < 50) || (kind == 'b' && p < 95) {
					return 1, c.get(w, hot(w))
				}
				k := hot(w)
				v := c.vals.next(w.rng)
				w.bytes += int64(len(k) + len(v))
				return 1, c.e.Put(k, v)
			case 'c':
				return 1, c.get(w, hot(w))
			case 'd':
				if p < 95 {
					latest := base + uint64(c.inserted.Load()) // one past the newest
					back := z.next(w.rng) + 1
					idx := uint64(0)
					if back <= latest {
						idx = latest - back
					}
					return 1, c.get(w, presentKey(w.key, idx))
				}
				return 1, insert(w)
			case 'e':
				if p < 95 {
					return 1, c.scanFrom(w, hot(w), 1+w.rng.IntN(100))
				}
				return 1, insert(w)
			default: // 'f'
				k := hot(w)
				if err := c.get(w, k); err != nil || p < 50 {
					return 1, err
				}
				v := c.vals.next(w.rng)
				w.bytes += int64(len(k) + len(v))
				return 1, c.e.Put(k, v)
			}
		}
		r, err := c.measure("ycsb-"+string(kind), c.p.Threads, c.p.YCSBOps, c.p.Duration, op)
		r.Inserted = c.inserted.Load()
		return []Result{r}, err
	}
}

func syncWrites(writers int) func(c *child) ([]Result, error) {
	return func(c *child) ([]Result, error) {
		n := uint64(c.p.Keys)
		r, err := c.measure(c.w.name, writers, 0, c.p.SyncDuration, func(w *worker, _ int64) (int, error) {
			return 1, c.put(w, w.rng.Uint64N(n))
		})
		return []Result{r}, err
	}
}

// ttl writes -keys/10 entries with a TTL of -ttl, reads them while they
// live, waits until every one has expired and reads them again.
func (c *child) ttl() ([]Result, error) {
	n := uint64(max(c.p.Keys/10, 1))
	ttl := c.p.TTL
	method := ttlMethod(c.e)
	first := time.Now()
	// The write phase stops at ttl/2 so that reads find live entries.
	put, err := c.measure("ttl-put", 1, int64(n), ttl/2, func(w *worker, i int64) (int, error) {
		k := presentKey(w.key, uint64(i))
		v := c.vals.next(w.rng)
		w.bytes += int64(len(k) + len(v))
		var err error
		w.buf, err = ttlPut(c.e, k, v, ttl, w.buf)
		return 1, err
	})
	put.Note = "TTL " + method
	if err != nil {
		return []Result{put}, err
	}
	written := uint64(put.Ops)
	last := first.Add(time.Duration(put.Seconds * float64(time.Second)))
	readTTL := func(name string, dur time.Duration) (Result, error) {
		return c.measure(name, c.p.Threads, 0, dur, func(w *worker, _ int64) (int, error) {
			k := presentKey(w.key, w.rng.Uint64N(written))
			v, ok, err := ttlGet(c.e, k)
			w.bytes += int64(len(k) + len(v))
			if ok {
				w.found++
			}
			return 1, err
		})
	}
	// Live reads stop a little before the first entry expires.
	liveFor := min(c.p.Duration, time.Until(first.Add(ttl))-ttl/10)
	get, err := readTTL("ttl-get", max(liveFor, 100*time.Millisecond))
	get.Note = fmt.Sprintf("%.1f%% found (entries still live)", pct(get.Found, get.Ops))
	if err != nil {
		return []Result{put, get}, err
	}
	time.Sleep(time.Until(last.Add(ttl + 50*time.Millisecond)))
	gone, err := readTTL("ttl-expired", min(c.p.Duration, 3*time.Second))
	gone.Note = fmt.Sprintf("%d found after expiry (must be 0)", gone.Found)
	if err == nil && gone.Found > 0 {
		err = fmt.Errorf("ttl-expired: %d expired entries were returned", gone.Found)
	}
	return []Result{put, get, gone}, err
}

func pct(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

// space compacts everything the engine lets us, then counts the live
// bytes with a full scan; the caller measures du after Close.
func (c *child) space() ([]Result, error) {
	r := Result{Workload: "space", Threads: 1}
	start := time.Now()
	if cp, ok := c.e.(Compacter); ok {
		if err := cp.CompactAll(); err != nil {
			return []Result{r}, fmt.Errorf("compact: %w", err)
		}
		r.Note = "after a full compaction"
	} else {
		r.Note = "no compaction offered: as left by the workloads"
	}
	r.Seconds = time.Since(start).Seconds()
	err := c.e.Scan([]byte{}, math.MaxInt, func(k, v []byte) {
		r.LiveBytes += int64(len(k) + len(v))
		r.Found++
	})
	return []Result{r}, err
}

package main

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/stratadb/strata/raftstore"
)

// Config sizes a run. Quick shrinks every workload for a smoke test.
type Config struct {
	Dir        string        // every store's directory is made under it: same disk for all
	StoreDur   time.Duration // time per StoreLogs (size, batch) cell and store
	Entries    int           // the truncation scenario's log: 1M x 1 KiB
	Keep       int           // entries the head truncation keeps: 10k
	RateHz     int           // fixed-rate appends after the truncation, per second
	RateDur    time.Duration // how long
	Reads      int           // GetLog calls per measurement
	ClusterDur time.Duration // measured time of each cluster run
	Clients    int           // concurrent clients of the cluster
	Sizes      []int         // StoreLogs entry sizes in bytes; nil: 10 B, 1 KiB, 100 KiB
	Batches    []int         // StoreLogs batch sizes; nil: 1, 10, 64
	Out        io.Writer
}

func (c *Config) printf(format string, a ...any) { fmt.Fprintf(c.Out, format, a...) }

// fresh opens kind in a new directory under c.Dir.
func (c *Config) fresh(k Kind, name string) (Store, string, error) {
	dir := filepath.Join(c.Dir, k.Name+"-"+name)
	if err := os.RemoveAll(dir); err != nil {
		return nil, "", err
	}
	s, err := k.Open(dir)
	return s, dir, err
}

// appendN writes entries first..first+n-1 of size bytes in batches.
func appendN(s Store, first uint64, n, size, batch int, term uint64) error {
	logs := make([]*raft.Log, batch)
	for i := range logs {
		logs[i] = &raft.Log{Term: term, AppendedAt: time.Now()}
	}
	for done := 0; done < n; {
		k := min(batch, n-done)
		for i := 0; i < k; i++ {
			logs[i].Index = first + uint64(done+i)
			logs[i].Data = payload(logs[i].Index, size)
		}
		if err := s.StoreLogs(logs[:k]); err != nil {
			return err
		}
		done += k
	}
	return nil
}

// pool is random bytes that payloads are cut from.
var pool = func() []byte {
	b := make([]byte, 4<<20)
	rand.NewChaCha8([32]byte{9}).Read(b)
	return b
}()

// payload is the Data of entry i: size incompressible bytes, different from
// its neighbours', so no store gains from compressing repeats.
func payload(i uint64, size int) []byte {
	if size > len(pool)/2 {
		panic("payload too large")
	}
	off := int(i*4099) % (len(pool) - size)
	return pool[off : off+size]
}

// StoreLogs: time per StoreLogs call for each entry size and batch size,
// the stores interleaved cell by cell so they share the machine's noise:
// each store runs the cell twice for half the time, on a fresh store, the
// stores in report order and then in reverse, so a load that rises or
// falls during the cell weighs on every store alike.
func (c *Config) StoreLogs() error {
	c.printf("\n### StoreLogs, fsync on (time per call)\n\n")
	c.printf("Each store runs each cell twice for %s, on a fresh store, in the order of the table and then in reverse.\n\n", c.StoreDur/2)
	c.printf("| entry | batch | store | calls | mean | p50 | p99 | MB/s | raftstore / boltdb | raftstore / wal |\n")
	c.printf("|---|---|---|---|---|---|---|---|---|---|\n")
	sizes, batches := c.Sizes, c.Batches
	if len(sizes) == 0 {
		sizes = defaultSizes
	}
	if len(batches) == 0 {
		batches = defaultBatches
	}
	for _, size := range sizes {
		for _, batch := range batches {
			means := map[string]time.Duration{}
			lats := map[string]Lat{}
			for half := range 2 {
				for i := range Kinds {
					k := Kinds[i]
					if half == 1 {
						k = Kinds[len(Kinds)-1-i]
					}
					lat, err := c.storeLogsCell(k, size, batch, c.StoreDur/2)
					if err != nil {
						return fmt.Errorf("%s StoreLogs %d x %d: %w", k.Name, size, batch, err)
					}
					lats[k.Name] = append(lats[k.Name], lat...)
				}
			}
			for _, k := range Kinds {
				lat := lats[k.Name]
				means[k.Name] = lat.mean()
				mbs := float64(size*batch) / lat.mean().Seconds() / 1e6
				c.printf("| %s | %d | %s | %d | %s | %s | %s | %.1f | | |\n",
					sizeName(size), batch, k.Name, len(lat), dur(lat.mean()), dur(lat.pct(50)), dur(lat.pct(99)), mbs)
			}
			for _, k := range Kinds {
				if strings.HasPrefix(k.Name, "raftstore") {
					c.printf("| %s | %d | **%s / peer** | | | | | | **%s** | **%s** |\n", sizeName(size), batch, k.Name,
						ratio(means[k.Name], means["raft-boltdb"]), ratio(means[k.Name], means["raft-wal"]))
				}
			}
		}
	}
	return nil
}

// defaultSizes and defaultBatches are the StoreLogs cells of a full run:
// entries of 10 B, 1 KiB and 100 KiB, in batches of 1, 10 and 64.
var (
	defaultSizes   = []int{10, 1 << 10, 100 << 10}
	defaultBatches = []int{1, 10, 64}
)

func sizeName(n int) string {
	switch {
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

func (c *Config) storeLogsCell(k Kind, size, batch int, d time.Duration) (Lat, error) {
	s, dir, err := c.fresh(k, "storelogs")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	defer s.Close()
	logs := make([]*raft.Log, batch)
	for i := range logs {
		logs[i] = &raft.Log{Term: 1, AppendedAt: time.Now()}
	}
	// A few calls first, to take the first file creations out of the figure.
	next := uint64(1)
	var lat Lat
	const maxBytes = 1 << 30
	start := time.Now()
	for call := 0; ; call++ {
		for i := range logs {
			logs[i].Index = next
			logs[i].Data = payload(next, size)
			next++
		}
		t := time.Now()
		if err := s.StoreLogs(logs); err != nil {
			return nil, err
		}
		if call >= 3 {
			lat = append(lat, time.Since(t))
		}
		if (time.Since(start) >= d && len(lat) >= 5) || int(next)*size > maxBytes {
			break
		}
	}
	return lat, nil
}

// Reads: GetLog on a small log, hot (every entry read before) and cold
// (the first read of each entry after a reopen), and First/LastIndex. Each
// figure is the wall time per call and the CPU time the calling thread
// spent per call: on a loaded machine the wall time includes waiting for a
// CPU, the thread's CPU time does not.
func (c *Config) Reads1k() error {
	c.printf("\n### GetLog on 1k entries of 1 KiB, FirstIndex, LastIndex (per call: wall time / CPU time of the calling thread)\n\n")
	c.printf("| store | GetLog (1k), hot | GetLog (1k), first read after reopen | FirstIndex | LastIndex |\n|---|---|---|---|---|\n")
	for _, k := range Kinds {
		s, dir, err := c.fresh(k, "reads")
		if err != nil {
			return err
		}
		if err := appendN(s, 1, 1000, 1<<10, 64, 1); err != nil {
			return err
		}
		c.getLogMean(s, 1, 1000, c.Reads) // warm
		hot := c.getLogMean(s, 1, 1000, c.Reads)
		calls := 25 * c.Reads
		first := measure(calls, func(int) { s.FirstIndex() })
		last := measure(calls, func(int) { s.LastIndex() })
		if err := s.Close(); err != nil {
			return err
		}
		if s, err = k.Open(dir); err != nil {
			return err
		}
		perm := rand.New(rand.NewPCG(1, 2)).Perm(1000)
		var l raft.Log
		var rerr error
		cold := measure(len(perm), func(i int) {
			if err := s.GetLog(uint64(perm[i]+1), &l); err != nil && rerr == nil {
				rerr = err
			}
		})
		if rerr != nil {
			return rerr
		}
		c.printf("| %s | %s | %s | %s | %s |\n", k.Name, hot, cold, first, last)
		s.Close()
		os.RemoveAll(dir)
	}
	return nil
}

// perCall is the wall and CPU time of a measured loop, per call.
type perCall struct{ wall, cpu time.Duration }

func (p perCall) String() string { return dur(p.wall) + " / " + dur(p.cpu) }

// measure runs f(0..n-1) on one locked OS thread and returns the time per
// call.
func measure(n int, f func(i int)) perCall {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c0 := threadCPU()
	t := time.Now()
	for i := range n {
		f(i)
	}
	return perCall{time.Since(t) / time.Duration(n), (threadCPU() - c0) / time.Duration(n)}
}

// getLogInOrder is the time per call of GetLog of entries 1 to n in order.
func getLogInOrder(s Store, n uint64) perCall {
	var l raft.Log
	return measure(int(n), func(i int) {
		if err := s.GetLog(uint64(i)+1, &l); err != nil {
			panic(err)
		}
	})
}

// getLogMean is the time per call of n random GetLog calls in [lo, hi].
func (c *Config) getLogMean(s Store, lo, hi uint64, n int) perCall {
	rng := rand.New(rand.NewPCG(7, 8))
	var l raft.Log
	return measure(n, func(int) {
		if err := s.GetLog(lo+rng.Uint64N(hi-lo+1), &l); err != nil {
			panic(err)
		}
	})
}

// Truncation: the scenario that hurts raft-boltdb in Consul. Append
// Entries x 1 KiB, read at random, drop the head down to the last Keep,
// then append at a fixed rate for RateDur while the disk usage is sampled
// every 250 ms: nothing forces a compaction, so the figures show what the
// store gives back on its own, and when. Last, the open time.
func (c *Config) Truncation() error {
	c.printf("\n### Head truncation: %d x 1 KiB appended (batches of 64), head dropped to the last %d, then %d appends/s for %s\n\n",
		c.Entries, c.Keep, c.RateHz, c.RateDur)
	c.printf("Retained: the payload of the entries the log holds (1 KiB each). \"Under 2x\" is the time from the end of DeleteRange\n")
	c.printf("until the disk usage first sampled at or under twice the retained payload, with no forced compaction.\n\n")
	c.printf("GetLog is per call, wall time / CPU time of the calling thread: at random over the whole log right after the load\n")
	c.printf("(most reads miss every cache but the OS's), in order from the first entry on (as Raft reads the entries a follower\n")
	c.printf("that fell behind lacks), at random over the last %d entries (a working set that fits the\n", c.Keep)
	c.printf("caches, read once before), and cold: at random over the whole log after a close, the store's files dropped from\n")
	c.printf("the OS page cache (fadvise DONTNEED) and a reopen, %d calls.\n\n", max(c.Reads/10, 1))
	c.printf("| store | load | GetLog (%d) | GetLog in order | GetLog (last %d) | GetLog cold | disk after load | DeleteRange | disk after truncation | under 2x after | append p50 | append p99 | disk after appends | retained | reopen |\n", c.Entries, c.Keep)
	c.printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	var timelines []string
	for _, k := range Kinds {
		s, dir, err := c.fresh(k, "truncation")
		if err != nil {
			return err
		}
		t := time.Now()
		if err := appendN(s, 1, c.Entries, 1<<10, 64, 1); err != nil {
			return err
		}
		load := time.Since(t)
		get := c.getLogMean(s, 1, uint64(c.Entries), c.Reads)
		getInOrder := getLogInOrder(s, uint64(min(c.Reads, c.Entries)))
		c.getLogMean(s, uint64(c.Entries-c.Keep+1), uint64(c.Entries), c.Reads) // warm
		getRecent := c.getLogMean(s, uint64(c.Entries-c.Keep+1), uint64(c.Entries), c.Reads)
		// Cold: closed, its files dropped from the OS page cache, reopened,
		// then read at random (fewer calls: each may read the disk).
		if err := s.Close(); err != nil {
			return err
		}
		if err := evict(dir); err != nil {
			return err
		}
		if s, err = k.Open(dir); err != nil {
			return err
		}
		getCold := c.getLogMean(s, 1, uint64(c.Entries), max(c.Reads/10, 1))
		peak := diskBytes(dir)
		last := uint64(c.Entries)
		t = time.Now()
		if err := s.DeleteRange(1, last-uint64(c.Keep)); err != nil {
			return err
		}
		del := time.Since(t)
		truncated := time.Now()
		afterDel := diskBytes(dir)

		// Sample the disk usage while the appends run.
		var appended atomic.Int64
		type sample struct {
			at       time.Duration
			disk     int64
			retained int64
		}
		var samples []sample
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			tk := time.NewTicker(250 * time.Millisecond)
			defer tk.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tk.C:
					samples = append(samples, sample{time.Since(truncated), diskBytes(dir), (int64(c.Keep) + appended.Load()) << 10})
				}
			}
		}()

		// Fixed-rate single-entry appends, as a steady Raft leader does.
		var lat Lat
		tick := time.NewTicker(time.Second / time.Duration(c.RateHz))
		end := time.Now().Add(c.RateDur)
		for time.Now().Before(end) {
			<-tick.C
			last++
			t := time.Now()
			if err := s.StoreLogs([]*raft.Log{{Index: last, Term: 2, Data: payload(last, 1<<10), AppendedAt: t}}); err != nil {
				return err
			}
			lat = append(lat, time.Since(t))
			appended.Add(1)
		}
		tick.Stop()
		close(stop)
		<-sampled
		samples = append(samples, sample{time.Since(truncated), diskBytes(dir), (int64(c.Keep) + appended.Load()) << 10})
		afterRate := diskBytes(dir)
		retained := int64(c.Keep+len(lat)) << 10
		under := "not within the run"
		for _, sm := range samples {
			if sm.disk <= 2*sm.retained {
				under = dur(sm.at)
				break
			}
		}
		timelines = append(timelines, k.Name+": "+timeline(len(samples), func(i int) (time.Duration, int64) { return samples[i].at, samples[i].disk }))
		if rs, ok := s.(*raftstore.Store); ok {
			m := rs.DB().Metrics()
			timelines = append(timelines, fmt.Sprintf("%s at the end: by file kind %s; since the reopen before the truncation: %d flushes, %d compactions (%.0f MiB read, %.0f MiB written), %d entries dropped as deleted",
				k.Name, byExt(dir), m.Flushes, m.Compactions, float64(m.CompactionBytesRead)/(1<<20), float64(m.CompactionBytesWritten)/(1<<20), m.CoveredDropped))
		}
		if err := s.Close(); err != nil {
			return err
		}
		t = time.Now()
		s, err = k.Open(dir)
		if err != nil {
			return err
		}
		if f, _ := s.FirstIndex(); f != uint64(c.Entries-c.Keep+1) {
			return fmt.Errorf("%s: first index %d after reopen", k.Name, f)
		}
		var l raft.Log
		if err := s.GetLog(last, &l); err != nil {
			return fmt.Errorf("%s: last entry after reopen: %w", k.Name, err)
		}
		reopen := time.Since(t)
		s.Close()
		c.printf("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", k.Name, dur(load), get, getInOrder, getRecent, getCold, mib(peak), dur(del),
			mib(afterDel), under, dur(lat.pct(50)), dur(lat.pct(99)), mib(afterRate), mib(retained), dur(reopen))
		os.RemoveAll(dir)
	}
	c.printf("\nDisk usage after the truncation (seconds since DeleteRange returned: MiB):\n\n")
	for _, tl := range timelines {
		c.printf("- %s\n", tl)
	}
	return nil
}

// timeline formats n (time, bytes) samples as "t: MiB" pairs, at most about
// a dozen of them: every sample while the usage changes, thinned evenly.
func timeline(n int, at func(int) (time.Duration, int64)) string {
	if n == 0 {
		return "no samples"
	}
	step := max(1, n/12)
	var parts []string
	for i := 0; i < n; i += step {
		d, b := at(i)
		parts = append(parts, fmt.Sprintf("%.1fs: %.1f", d.Seconds(), float64(b)/(1<<20)))
	}
	if (n-1)%step != 0 {
		d, b := at(n - 1)
		parts = append(parts, fmt.Sprintf("%.1fs: %.1f", d.Seconds(), float64(b)/(1<<20)))
	}
	return strings.Join(parts, ", ")
}

// countFSM counts what it applies; the cluster measures the log store.
type countFSM struct{ n atomic.Uint64 }

func (f *countFSM) Apply(*raft.Log) any                 { f.n.Add(1); return nil }
func (f *countFSM) Snapshot() (raft.FSMSnapshot, error) { return countSnap{}, nil }
func (f *countFSM) Restore(rc io.ReadCloser) error      { return rc.Close() }

type countSnap struct{}

func (countSnap) Persist(sink raft.SnapshotSink) error { return sink.Close() }
func (countSnap) Release()                             {}

// Cluster: three nodes on loopback TCP, each on a store of the kind, and
// Clients goroutines applying 16-byte commands through the leader.
func (c *Config) Cluster() error {
	c.printf("\n### 3-node cluster on loopback TCP, %d clients, %s per store\n\n", c.Clients, c.ClusterDur)
	c.printf("| store | commits/s | p50 | p99 |\n|---|---|---|---|\n")
	for _, k := range Kinds {
		n, p50, p99, err := c.clusterRun(k)
		if err != nil {
			return fmt.Errorf("%s cluster: %w", k.Name, err)
		}
		c.printf("| %s | %.0f | %s | %s |\n", k.Name, n, dur(p50), dur(p99))
	}
	return nil
}

func (c *Config) clusterRun(k Kind) (float64, time.Duration, time.Duration, error) {
	type member struct {
		store Store
		trans *raft.NetworkTransport
		raft  *raft.Raft
	}
	var ms []*member
	var servers []raft.Server
	defer func() {
		for _, m := range ms {
			if m.raft != nil {
				m.raft.Shutdown().Error()
			}
			m.store.Close()
		}
		os.RemoveAll(filepath.Join(c.Dir, k.Name+"-cluster"))
	}()
	for i := 0; i < 3; i++ {
		dir := filepath.Join(c.Dir, k.Name+"-cluster", fmt.Sprint(i))
		os.RemoveAll(dir)
		s, err := k.Open(dir)
		if err != nil {
			return 0, 0, 0, err
		}
		trans, err := raft.NewTCPTransport("127.0.0.1:0", nil, 8, 10*time.Second, io.Discard)
		if err != nil {
			s.Close()
			return 0, 0, 0, err
		}
		ms = append(ms, &member{store: s, trans: trans})
		servers = append(servers, raft.Server{ID: raft.ServerID(fmt.Sprint(i)), Address: trans.LocalAddr()})
	}
	for i, m := range ms {
		conf := raft.DefaultConfig()
		conf.LocalID = raft.ServerID(fmt.Sprint(i))
		conf.Logger = hclog.New(&hclog.LoggerOptions{Level: hclog.Error, Output: io.Discard})
		r, err := raft.NewRaft(conf, &countFSM{}, m.store, m.store, raft.NewInmemSnapshotStore(), m.trans)
		if err != nil {
			return 0, 0, 0, err
		}
		m.raft = r
	}
	if err := ms[0].raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil {
		return 0, 0, 0, err
	}
	var leader *raft.Raft
	for deadline := time.Now().Add(30 * time.Second); leader == nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			return 0, 0, 0, fmt.Errorf("no leader")
		}
		for _, m := range ms {
			if m.raft.State() == raft.Leader {
				leader = m.raft
			}
		}
	}
	var (
		mu    sync.Mutex
		lat   Lat
		wg    sync.WaitGroup
		count atomic.Int64
		errs  atomic.Int64
	)
	warm := time.Now().Add(time.Second)
	stop := warm.Add(c.ClusterDur)
	for w := 0; w < c.Clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var local Lat
			cmd := make([]byte, 16)
			for i := uint64(0); ; i++ {
				now := time.Now()
				if now.After(stop) {
					break
				}
				binary.BigEndian.PutUint64(cmd, uint64(w))
				binary.BigEndian.PutUint64(cmd[8:], i)
				if err := leader.Apply(cmd, 10*time.Second).Error(); err != nil {
					errs.Add(1)
					continue
				}
				if now.After(warm) {
					local = append(local, time.Since(now))
					count.Add(1)
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	if e := errs.Load(); e > 0 {
		return 0, 0, 0, fmt.Errorf("%d applies failed", e)
	}
	return float64(count.Load()) / c.ClusterDur.Seconds(), lat.pct(50), lat.pct(99), nil
}

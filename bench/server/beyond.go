package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// beyondConfig is the beyond-memory run: each server in a memory cgroup,
// filled with SETs of sequential keys until Keys or MaxTime.
type beyondConfig struct {
	Keys      int64
	Value     int
	Limit     int64 // the cgroup's memory.limit_in_bytes
	MaxMemory int64 // --maxmemory of both servers
	// GoMemLimit is strata-server's GOMEMLIMIT (0: unset).
	GoMemLimit int64
	Clients    int
	Pipeline   int
	Fsync      string
	MaxTime    time.Duration
	// ReadTime is how long random GETs over the written keys are measured
	// after the fill (Strata, and Redis if it survived).
	ReadTime time.Duration
	// Unlimited also runs Redis without maxmemory, to show the OOM kill.
	Unlimited bool
}

// BeyondSample is one second of a beyond-memory fill.
type BeyondSample struct {
	Run       string  // "strata", "redis maxmemory", "redis unlimited"
	T         float64 // seconds since the fill started
	Keys      int64   // SETs acknowledged so far
	OpsPerSec float64 // acknowledged SETs in the last interval
	RSS       int64   // VmRSS
	Cgroup    int64   // memory.usage_in_bytes of the cgroup (page cache included)
	Errors    int64   // refused SETs so far
}

// BeyondSummary is how a beyond-memory run ended.
type BeyondSummary struct {
	Run           string
	Limit         int64
	MaxMemory     int64
	GoMemLimit    int64 `json:",omitempty"`
	TargetKeys    int64
	KeysWritten   int64
	Seconds       float64
	MeanRate      float64 // keys written / seconds writing
	LastMinRate   float64 // SETs/s over the last minute of writing
	FirstRefusal  int64   // keys written when the first SET was refused (0: none)
	FirstError    string  `json:",omitempty"`
	PeakRSS       int64
	PeakCgroup    int64
	Killed        string `json:",omitempty"` // how the process died, if it did
	ReadRate      float64
	ReadP99       float64
	ReadChecked   int64
	ReadBad       int64
	Disk          int64
	EngineOptions string `json:",omitempty"`
}

const cgroupRoot = "/sys/fs/cgroup/memory"

// cgroupUsable says why memory cgroups cannot be used, or "".
func cgroupUsable() string {
	if os.Geteuid() != 0 {
		return "not root: memory cgroups need root"
	}
	if _, err := os.Stat(filepath.Join(cgroupRoot, "memory.limit_in_bytes")); err != nil {
		return "no cgroup v1 memory controller at " + cgroupRoot
	}
	return ""
}

// makeCgroup creates a memory cgroup with the limit and returns its path.
func makeCgroup(name string, limit int64) (string, error) {
	dir := filepath.Join(cgroupRoot, name)
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "memory.limit_in_bytes"), []byte(strconv.FormatInt(limit, 10)), 0); err != nil {
		os.Remove(dir)
		return "", err
	}
	return dir, nil
}

func cgroupUsage(dir string) int64 {
	b, err := os.ReadFile(filepath.Join(dir, "memory.usage_in_bytes"))
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// removeCgroup removes a cgroup once its processes are gone.
func removeCgroup(dir string) {
	for range 50 {
		if err := os.Remove(dir); err == nil || errors.Is(err, os.ErrNotExist) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func runBeyond(ctx context.Context, cfg beyondConfig, bins binaries, scratch string, rep *Report, logf func(string, ...any)) error {
	if why := cgroupUsable(); why != "" {
		rep.Notes = append(rep.Notes, "beyond-memory run skipped: "+why)
		logf("beyond-memory run skipped: %s", why)
		return nil
	}
	type run struct {
		name string
		spec serverSpec
	}
	runs := []run{
		{"strata", serverSpec{Kind: "strata", Fsync: cfg.Fsync, MaxMemory: cfg.MaxMemory}},
		{"redis maxmemory", serverSpec{Kind: "redis", Fsync: cfg.Fsync, MaxMemory: cfg.MaxMemory}},
	}
	if cfg.GoMemLimit > 0 {
		runs[0].spec.Env = []string{"GOMEMLIMIT=" + strconv.FormatInt(cfg.GoMemLimit, 10)}
	}
	if cfg.Unlimited {
		runs = append(runs, run{"redis unlimited", serverSpec{Kind: "redis", Fsync: cfg.Fsync}})
	}
	for _, r := range runs {
		cg, err := makeCgroup(fmt.Sprintf("serverbench-%d-%s", os.Getpid(), strings.ReplaceAll(r.name, " ", "-")), cfg.Limit)
		if err != nil {
			return fmt.Errorf("creating a memory cgroup: %w", err)
		}
		r.spec.Cgroup = cg
		srv, err := startServer(bins, r.spec, scratch, 0)
		if err != nil {
			removeCgroup(cg)
			return err
		}
		sum := beyondOne(ctx, cfg, srv, r.name, rep, logf)
		sum.Run, sum.Limit, sum.MaxMemory, sum.TargetKeys = r.name, cfg.Limit, cfg.MaxMemory, cfg.Keys
		if r.spec.Kind == "strata" {
			sum.GoMemLimit = cfg.GoMemLimit
		}
		sum.Disk = diskUsage(srv.dir)
		rep.BeyondSummary = append(rep.BeyondSummary, sum)
		logf("beyond %s: %+v", r.name, sum)
		srv.stop()
		srv.remove()
		removeCgroup(cg)
	}
	return nil
}

func beyondOne(ctx context.Context, cfg beyondConfig, srv *server, name string, rep *Report, logf func(string, ...any)) BeyondSummary {
	var sum BeyondSummary
	t := newTarget(srv, cfg.Keys, cfg.Value)
	var (
		next, acked, errs atomic.Int64
		firstRefusal      atomic.Int64
		firstErr          atomic.Pointer[string]
		stop              atomic.Bool
	)
	start := time.Now()
	var wg sync.WaitGroup
	for range cfg.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := srv.client(1)
			defer c.Close()
			p := c.Pipeline()
			cmds := make([]*redis.StatusCmd, cfg.Pipeline)
			for !stop.Load() {
				base := next.Add(int64(cfg.Pipeline)) - int64(cfg.Pipeline)
				if base >= cfg.Keys {
					return
				}
				n := 0
				for k := base; k < min(base+int64(cfg.Pipeline), cfg.Keys); k++ {
					cmds[n] = p.Set(ctx, ks("key:", k), t.value(k), 0)
					n++
				}
				p.Exec(ctx)
				for _, cmd := range cmds[:n] {
					if err := cmd.Err(); err != nil {
						if errs.Add(1) == 1 {
							s := err.Error()
							firstErr.Store(&s)
							firstRefusal.Store(acked.Load())
						}
						if isConnError(err.Error()) {
							return
						}
						continue
					}
					acked.Add(1)
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var lastKeys int64
	last := start
	var rates []float64
	refusingSince := time.Time{}
loop:
	for {
		select {
		case <-done:
			break loop
		case <-tick.C:
		}
		now := time.Now()
		k, e := acked.Load(), errs.Load()
		s := BeyondSample{Run: name, T: now.Sub(start).Seconds(), Keys: k, Errors: e,
			OpsPerSec: float64(k-lastKeys) / now.Sub(last).Seconds(),
			RSS:       procStatus(srv.pid, "VmRSS"), Cgroup: cgroupUsage(srv.spec.Cgroup)}
		rep.Beyond = append(rep.Beyond, s)
		rates = append(rates, s.OpsPerSec)
		sum.PeakRSS = max(sum.PeakRSS, s.RSS)
		sum.PeakCgroup = max(sum.PeakCgroup, s.Cgroup)
		if int(s.T)%10 == 0 {
			logf("beyond %s t=%.0fs keys=%d rate=%.0f/s rss=%s cgroup=%s errors=%d", name, s.T, k, s.OpsPerSec, human(s.RSS), human(s.Cgroup), e)
		}
		// Refusing everything: Redis at maxmemory. Ten seconds of it shows
		// the behaviour; more would only repeat it.
		if s.OpsPerSec == 0 && e > 0 {
			if refusingSince.IsZero() {
				refusingSince = now
			} else if now.Sub(refusingSince) > 10*time.Second {
				stop.Store(true)
			}
		} else {
			refusingSince = time.Time{}
		}
		if now.Sub(start) > cfg.MaxTime || !srv.alive() {
			stop.Store(true)
		}
		lastKeys, last = k, now
	}
	writing := time.Since(start)
	if !refusingSince.IsZero() {
		writing = refusingSince.Sub(start)
	}
	sum.KeysWritten = acked.Load()
	sum.Seconds = writing.Seconds()
	sum.MeanRate = float64(sum.KeysWritten) / sum.Seconds
	if n := min(len(rates), 60); n > 0 {
		end := len(rates)
		for end > 0 && rates[end-1] == 0 && errs.Load() > 0 {
			end--
		}
		var tot float64
		from := max(end-60, 0)
		for _, r := range rates[from:end] {
			tot += r
		}
		if end > from {
			sum.LastMinRate = tot / float64(end-from)
		}
	}
	if errs.Load() > 0 {
		sum.FirstRefusal = firstRefusal.Load()
		sum.FirstError = *firstErr.Load()
	}
	if !srv.alive() {
		sum.Killed = exitDescription(srv)
		return sum
	}
	if cfg.ReadTime > 0 && sum.KeysWritten > 0 {
		sum.ReadRate, sum.ReadP99, sum.ReadChecked, sum.ReadBad = beyondReads(ctx, cfg, t, min(next.Load(), cfg.Keys))
		logf("beyond %s reads: %.0f GET/s, p99 %.2f ms, %d checked, %d bad", name, sum.ReadRate, sum.ReadP99, sum.ReadChecked, sum.ReadBad)
	}
	return sum
}

// beyondReads measures random GETs over the first n keys; a key that was
// refused (Redis) reads as nil and is not counted bad.
func beyondReads(ctx context.Context, cfg beyondConfig, t *target, n int64) (rate, p99 float64, checked, bad int64) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var h hist
	var total, nbad, nchk atomic.Int64
	deadline := time.Now().Add(cfg.ReadTime)
	for i := range cfg.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := t.srv.client(1)
			defer c.Close()
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			var lh hist
			for time.Now().Before(deadline) {
				k := rng.Int64N(n)
				s := time.Now()
				v, err := c.Get(ctx, ks("key:", k)).Result()
				lh.recordN(time.Since(s), 1)
				total.Add(1)
				switch {
				case errors.Is(err, redis.Nil):
				case err != nil || v != t.value(k):
					nbad.Add(1)
				default:
					nchk.Add(1)
				}
			}
			mu.Lock()
			h.merge(&lh)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return float64(total.Load()) / cfg.ReadTime.Seconds(), ms(h.quantile(0.99)), nchk.Load(), nbad.Load()
}

func exitDescription(s *server) string {
	<-s.exited
	var ee interface{ Sys() any }
	if errors.As(s.exitErr, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			if ws.Signal() == syscall.SIGKILL {
				return "killed by SIGKILL (the cgroup's OOM killer)"
			}
			return "killed by " + ws.Signal().String()
		}
	}
	return fmt.Sprintf("exited: %v", s.exitErr)
}

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// compareConfig is the side-by-side run: every fsync mode, value size,
// pipeline depth and workload, against both servers.
type compareConfig struct {
	Fsyncs    []string
	Values    []int
	Pipelines []int
	Clients   int
	Keys      int64
	Warmup    time.Duration
	Duration  time.Duration
	Workloads []*workload
	RB        bool   // also run redis-benchmark
	RBBin     string // redis-benchmark
	// Profile, when set, is a directory where the CPU, allocation, mutex
	// and block profiles of strata-server are written for each line.
	Profile string
	// StrataMaxMemory is strata-server's --maxmemory (0: none).
	StrataMaxMemory int64
}

// MemLine is the memory a server holds for its keys after the preload.
type MemLine struct {
	Fsync      string
	Value      int
	Server     string
	Keys       int64 // DBSIZE
	UsedMemory int64 // INFO used_memory (Strata: the Go heap only)
	RSS        int64 // VmRSS
	Disk       int64 // the server's directory, allocated bytes
	PreloadSec float64
	BlockCache int64 `json:",omitempty"` // Strata: INFO strata block_cache_capacity
}

var serverKinds = []string{"redis", "strata"}

func runCompare(ctx context.Context, cfg compareConfig, bins binaries, scratch string, rep *Report, logf func(string, ...any)) error {
	for _, fsync := range cfg.Fsyncs {
		for _, vs := range cfg.Values {
			var ts []*target
			for _, kind := range serverKinds {
				spec := serverSpec{Kind: kind, Fsync: fsync}
				if kind == "strata" {
					spec.MaxMemory = cfg.StrataMaxMemory
				}
				if kind == "strata" && cfg.Profile != "" {
					port, err := freePort()
					if err != nil {
						return err
					}
					spec.Pprof = fmt.Sprintf("127.0.0.1:%d", port)
				}
				srv, err := startServer(bins, spec, scratch, 0)
				if err != nil {
					stopAll(ts)
					return err
				}
				ts = append(ts, newTarget(srv, cfg.Keys, vs))
			}
			if err := compareOne(ctx, cfg, ts, rep, logf); err != nil {
				stopAll(ts)
				return err
			}
			stopAll(ts)
		}
	}
	return nil
}

func stopAll(ts []*target) {
	for _, t := range ts {
		t.srv.stop()
		t.srv.remove()
	}
}

func compareOne(ctx context.Context, cfg compareConfig, ts []*target, rep *Report, logf func(string, ...any)) error {
	fsync, vs := ts[0].srv.spec.Fsync, ts[0].valSize
	for _, t := range ts {
		start := time.Now()
		if err := preloadStrings(ctx, t, cfg.Clients); err != nil {
			return fmt.Errorf("preloading %s: %w", t.srv.label(), err)
		}
		ml := MemLine{Fsync: fsync, Value: vs, Server: t.srv.label(), PreloadSec: time.Since(start).Seconds()}
		c := t.srv.client(1)
		ml.Keys, _ = c.DBSize(ctx).Result()
		c.Close()
		ml.UsedMemory = t.srv.infoInt("memory", "used_memory")
		if t.srv.label() == "strata" {
			ml.BlockCache = t.srv.infoInt("strata", "block_cache_capacity")
		}
		ml.RSS = procStatus(t.srv.pid, "VmRSS")
		ml.Disk = diskUsage(t.srv.dir)
		rep.Memory = append(rep.Memory, ml)
		logf("%s %s %dB: preloaded %d keys in %.1fs, used_memory %d, RSS %d, disk %d",
			fsync, t.srv.label(), vs, ml.Keys, ml.PreloadSec, ml.UsedMemory, ml.RSS, ml.Disk)
	}
	for _, t := range ts {
		waited := t.srv.settle(2 * time.Minute)
		logf("%s %s: background work after the preload settled in %.1fs", fsync, t.srv.label(), waited.Seconds())
	}
	for _, p := range cfg.Pipelines {
		lc := lineConfig{Clients: cfg.Clients, Pipeline: p, Warmup: cfg.Warmup, Duration: cfg.Duration}
		for _, wl := range cfg.Workloads {
			rates := map[string]float64{}
			gen := map[string]*Line{}
			for _, t := range ts {
				// The writes of the lines before leave background work
				// (Strata's compactions, Redis's AOF rewrite): let it
				// finish, so a line pays for its own work, not theirs.
				t.srv.settle(30 * time.Second)
				lc := lc
				if t.srv.label() == "strata" && cfg.Profile != "" {
					prefix := filepath.Join(cfg.Profile, fmt.Sprintf("%s-%d-p%d-%s", fsync, vs, p, wl.Name))
					lc.OnMeasure = func() func() { return startProfiles(t.srv, prefix, cfg.Duration) }
				}
				ln := runLine(ctx, t, wl, lc)
				rep.add(ln)
				rates[t.srv.label()] = ln.OpsPerSec
				gen[t.srv.label()] = &ln
				logf("%s", ln.summary())
				if !t.srv.alive() {
					return fmt.Errorf("%s exited during %s: %s", t.srv.label(), wl.Name, tail(t.srv.logPath))
				}
			}
			if !cfg.RB || cfg.RBBin == "" {
				continue
			}
			for _, t := range ts {
				rate := rates[t.srv.label()]
				if rate == 0 {
					rate = 10000
				}
				n := max(int64(rate*cfg.Duration.Seconds()), int64(cfg.Clients*p*20))
				ln := runRB(ctx, cfg.RBBin, t, ts, wl, cfg.Clients, p, n, gen[t.srv.label()])
				rep.add(ln)
				logf("%s", ln.summary())
			}
		}
	}
	return nil
}

func (ln Line) summary() string {
	head := fmt.Sprintf("%-8s %5dB P%-2d %-9s %-6s %-15s", ln.Fsync, ln.Value, ln.Pipeline, ln.Workload, ln.Server, ln.Tool)
	if ln.Skipped != "" {
		return head + " skipped: " + ln.Skipped
	}
	s := fmt.Sprintf("%s %9.0f ops/s  p50 %.3f p99 %.3f p99.9 %.3f ms  cpu %.2fs/Mop  hwm %dMiB  load %.1f",
		head, ln.OpsPerSec, ln.P50, ln.P99, ln.P999, ln.CPUPerMillion, ln.PeakRSS>>20, ln.Load1)
	if ln.Forks > 0 {
		s += fmt.Sprintf("  forks %d", ln.Forks)
	}
	if ln.Errors > 0 {
		s += fmt.Sprintf("  ERRORS %d (%s)", ln.Errors, ln.FirstError)
	}
	return s
}

// mkdirAll is os.MkdirAll for directories the harness writes into.
func mkdirAll(dir string) error { return os.MkdirAll(dir, 0o755) }

package main

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Line is one measured figure: a workload against one server in one
// setting, by one load generator.
type Line struct {
	Fsync    string
	Value    int
	Pipeline int
	Workload string
	Server   string // redis, strata
	Tool     string // go-redis, redis-benchmark

	Skipped string `json:",omitempty"` // why there is no figure

	Ops            int64
	Seconds        float64
	OpsPerSec      float64
	P50, P99, P999 float64 // milliseconds; P999 is 0 when the tool gives none
	CPUSeconds     float64 // server CPU (user+system) during the measured window
	CPUPerMillion  float64 // server CPU seconds per million operations
	PeakRSS        int64   // server VmHWM over the line, bytes
	Load1          float64 // machine's 1-minute load average at the end
	Errors         int64
	FirstError     string `json:",omitempty"`
	// Forks is how many times Redis forked during the line (an AOF
	// rewrite): the copy-on-write faults of a fork show in its CPU and
	// latency.
	Forks int64 `json:",omitempty"`
}

// lineConfig is how a line is run.
type lineConfig struct {
	Clients  int
	Pipeline int
	Warmup   time.Duration
	Duration time.Duration
	// OnMeasure, if set, is called when the measured window opens; the
	// function it returns when it closes (profiles).
	OnMeasure func() (done func())
}

// unsupportedPrefix starts the Skipped reason of a line whose command the
// server refuses: the report prints "unsupported" there, not a figure.
const unsupportedPrefix = "unsupported: "

// probe reports "" if the server knows every command of the workload (its
// COMMAND INFO describes each), or why the line is unsupported.
func probe(ctx context.Context, t *target, wl *workload) string {
	c := t.srv.client(1)
	defer c.Close()
	args := []any{"command", "info"}
	for _, n := range wl.cmds {
		args = append(args, n)
	}
	v, err := c.Do(ctx, args...).Slice()
	if err != nil {
		// No COMMAND INFO to ask: the line's own replies will tell
		// (see unknownCommand).
		return ""
	}
	var missing []string
	for i, e := range v {
		if e == nil && i < len(wl.cmds) {
			missing = append(missing, strings.ToUpper(wl.cmds[i]))
		}
	}
	if len(missing) > 0 {
		return unsupportedPrefix + t.srv.label() + " does not know " + strings.Join(missing, ", ")
	}
	return ""
}

// unknownCommand reports whether a reply error says the server does not
// have a command (directly, or as the abort of a transaction that queued
// one).
func unknownCommand(msg string) bool {
	return strings.Contains(msg, "unknown command") || strings.HasPrefix(msg, "EXECABORT")
}

// runLine drives t with wl from cfg.Clients go-redis connections, each
// sending cfg.Pipeline operations per round trip, and measures the window
// after the warmup. A pipelined operation's latency is its round trip.
func runLine(ctx context.Context, t *target, wl *workload, cfg lineConfig) Line {
	ln := Line{Workload: wl.Name, Server: t.srv.label(), Tool: "go-redis", Pipeline: cfg.Pipeline, Value: t.valSize, Fsync: t.srv.spec.Fsync}
	if why := probe(ctx, t, wl); why != "" {
		ln.Skipped = why
		return ln
	}
	if wl.setup != nil {
		if err := wl.setup(ctx, t, cfg.Clients); err != nil {
			ln.Skipped = "setup failed: " + err.Error()
			if unknownCommand(err.Error()) {
				ln.Skipped = unsupportedPrefix + t.srv.label() + " answers -" + err.Error()
			}
			return ln
		}
	}
	const (
		warming = iota
		measuring
		stopped
	)
	var phase atomic.Int32
	type result struct {
		h       hist
		ops     int64
		errs    int64
		unknown int64 // errors saying the command is unknown
		first   string
		firstUC string // the first of those
	}
	results := make([]*result, cfg.Clients)
	var wg sync.WaitGroup
	ready := make(chan struct{})
	for i := range cfg.Clients {
		r := &result{}
		results[i] = r
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := t.srv.client(1)
			defer c.Close()
			w := &worker{t: t, rng: rand.New(rand.NewPCG(uint64(i)+1, uint64(time.Now().UnixNano()))), ctx: ctx}
			p := c.Pipeline()
			ops := make([]op, cfg.Pipeline)
			<-ready
			for {
				ph := phase.Load()
				if ph == stopped {
					return
				}
				for i := range ops {
					ops[i] = wl.queue(w, p)
				}
				start := time.Now()
				p.Exec(ctx) // each command's own error is checked below
				d := time.Since(start)
				good := cfg.Pipeline
				for i := range ops {
					if err := wl.check(w, &ops[i]); err != nil {
						good--
						r.errs++
						if unknownCommand(err.Error()) {
							if r.unknown++; r.unknown == 1 {
								r.firstUC = err.Error()
							}
						}
						if r.first == "" {
							r.first = err.Error()
						}
					}
				}
				if ph == measuring && good > 0 {
					// Only checked replies count: an error reply is no
					// operation served.
					r.h.recordN(d, good)
					r.ops += int64(good)
				}
				if r.errs > 0 && isConnError(r.first) || r.unknown > 0 {
					return // the server is gone, or refuses the command
				}
			}
		}()
	}
	close(ready)
	time.Sleep(cfg.Warmup)
	forks0 := t.srv.forks()
	var measured func()
	if cfg.OnMeasure != nil {
		measured = cfg.OnMeasure()
	}
	cpu0 := t.srv.cpu()
	resetPeakRSS(t.srv.pid)
	start := time.Now()
	phase.Store(measuring)
	time.Sleep(cfg.Duration)
	phase.Store(stopped)
	elapsed := time.Since(start)
	cpu1 := t.srv.cpu()
	if measured != nil {
		measured()
	}
	ln.PeakRSS = procStatus(t.srv.pid, "VmHWM")
	ln.Forks = t.srv.forks() - forks0
	wg.Wait()
	var h hist
	var unknown int64
	var unknownMsg string
	for _, r := range results {
		h.merge(&r.h)
		ln.Ops += r.ops
		ln.Errors += r.errs
		unknown += r.unknown
		if ln.FirstError == "" {
			ln.FirstError = r.first
		}
		if r.unknown > 0 && unknownMsg == "" {
			unknownMsg = r.firstUC
		}
	}
	if unknown > 0 {
		// The probe passed but the server refused the command: the
		// figures would time error replies.
		ln.Skipped = unsupportedPrefix + t.srv.label() + " answers -" + unknownMsg
		return ln
	}
	fillFigures(&ln, &h, elapsed, cpu1-cpu0)
	ln.Load1 = loadAvg()
	return ln
}

func fillFigures(ln *Line, h *hist, elapsed, cpu time.Duration) {
	ln.Seconds = elapsed.Seconds()
	ln.OpsPerSec = float64(ln.Ops) / ln.Seconds
	ln.P50 = ms(h.quantile(0.50))
	ln.P99 = ms(h.quantile(0.99))
	ln.P999 = ms(h.quantile(0.999))
	ln.CPUSeconds = cpu.Seconds()
	if ln.Ops > 0 {
		ln.CPUPerMillion = ln.CPUSeconds / float64(ln.Ops) * 1e6
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func isConnError(s string) bool {
	return strings.Contains(s, "connection refused") || strings.Contains(s, "EOF") ||
		strings.Contains(s, "connection reset") || strings.Contains(s, "broken pipe")
}

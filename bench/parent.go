package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// groups are the names -workloads accepts for several workloads at once.
func expandWorkloads(spec string) ([]*workload, error) {
	want := map[string]bool{}
	for _, s := range strings.Split(spec, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		found := false
		for _, w := range workloads {
			if s == w.name || (!w.explicit && (s == "all" || s == w.group || (s == "sync" && strings.HasPrefix(w.group, "sync")))) {
				want[w.name], found = true, true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown workload or group %q (see -h)", s)
		}
	}
	var out []*workload
	for _, w := range workloads {
		if want[w.name] {
			out = append(out, w)
		}
	}
	// A data workload without fillrandom needs the unreported load first.
	if !want["fillrandom"] {
		for i, w := range out {
			if w.data {
				out = append(out[:i:i], append([]*workload{loadWorkload}, out[i:]...)...)
				break
			}
		}
	}
	return out, nil
}

func expandEngines(spec string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, s := range strings.Split(spec, ",") {
		s = strings.TrimSpace(s)
		if s == "" || seen[s] {
			continue
		}
		if _, err := newEngine(s); err != nil {
			return nil, err
		}
		seen[s] = true
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no engines selected")
	}
	return out, nil
}

func runParent(f *flags, args []string, stdout, stderr io.Writer) error {
	if f.render != "" {
		rep, err := loadReport(f.render)
		if err != nil {
			return err
		}
		return writeOutputs(rep, f, stdout, stderr)
	}
	engs, err := expandEngines(f.engines)
	if err != nil {
		return err
	}
	wls, err := expandWorkloads(f.workloads)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return err
	}
	prevPath := f.prev
	if prevPath == "" {
		prevPath = filepath.Join(f.out, "results.json")
	}
	prev, _ := loadReport(prevPath) // a missing previous run is no error

	if err := os.MkdirAll(f.Scratch, 0o755); err != nil {
		return err
	}
	scratch, err := os.MkdirTemp(f.Scratch, "strata-bench-")
	if err != nil {
		return err
	}
	if !f.keep {
		defer os.RemoveAll(scratch)
	}

	rep := &Report{
		Time:    time.Now().UTC().Format(time.RFC3339),
		Command: "cd bench && go run . " + strings.Join(args, " "),
		Machine: describeMachine(scratch),
		Params:  f.Params,
		Engines: engs,
		Options: map[string]string{},
		TTL:     map[string]string{},
	}
	for _, w := range wls {
		if w != loadWorkload {
			rep.Workloads = append(rep.Workloads, w.name)
		}
	}
	var cgs *memCgroups
	if len(f.limits) > 0 {
		if cgs, err = findMemCgroups(); err != nil {
			return fmt.Errorf("-memlimit: %w; run as root on a machine with a memory cgroup controller, or without -memlimit", err)
		}
	}
	for _, name := range engs {
		e, _ := newEngine(name)
		rep.Options[name] = e.Options(Config{CacheBytes: f.CacheMiB << 20, MemtableBytes: f.MemtableMiB << 20, Durability: DurEverySec, MLMemory: f.MLMemory})
		rep.TTL[name] = ttlMethod(e)
	}
	rep.Passes = planPasses(f)
	started := time.Now()
	for _, pass := range rep.Passes {
		if len(rep.Passes) > 1 || pass.MemLimit > 0 {
			fmt.Fprintf(stderr, "== %s\n", pass)
		}
		pf := *f
		pf.Keys = pass.Keys
		for _, name := range engs {
			runEngine(self, &pf, scratch, name, wls, pass, cgs, rep, stderr)
			os.RemoveAll(filepath.Join(scratch, name))
		}
	}
	rep.Elapsed = time.Since(started).Round(time.Second).String()
	rep.summarize()
	rep.Changes = compareReports(prev, rep)

	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(f.out, "results.json"), js, 0o644); err != nil {
		return err
	}
	if err := writeOutputs(rep, f, stdout, stderr); err != nil {
		return err
	}
	failed := 0
	for _, r := range rep.Results {
		if r.Error != "" {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d results have errors (see the tables)", failed)
	}
	return nil
}

// Pass is one size and memory limit at which every engine runs the
// selected workloads.
type Pass struct {
	Keys     int64 `json:"keys"`
	MemLimit int64 `json:"mem_limit,omitempty"`
}

func (p Pass) String() string {
	if p.MemLimit == 0 {
		return fmt.Sprintf("%s keys", fmtCount(p.Keys))
	}
	return fmt.Sprintf("%s keys, memory limit %s", fmtCount(p.Keys), fmtLimit(p.MemLimit))
}

// planPasses is every (size, limit) pair: sizes outer, limits inner.
func planPasses(f *flags) []Pass {
	sizes := f.keyCounts
	if len(sizes) == 0 {
		sizes = []int64{f.Keys}
	}
	limits := f.limits
	if len(limits) == 0 {
		limits = []int64{0}
	}
	var out []Pass
	for _, k := range sizes {
		for _, l := range limits {
			out = append(out, Pass{Keys: k, MemLimit: l})
		}
	}
	return out
}

// runEngine runs every workload of one pass against one engine, each in
// its own child, and adds the results to rep.
func runEngine(self string, f *flags, scratch, name string, wls []*workload, pass Pass, cgs *memCgroups, rep *Report, stderr io.Writer) {
	e, _ := newEngine(name)
	insertBase := int64(0)
	// Peers have no everysec mode: a write workload whose real mode and
	// writer count match an earlier one reuses that run.
	done := map[string]*workload{}
	byName := map[string][]Result{}
	dataLost, dataNote := "", ""
	for _, w := range wls {
		if w.durability != "" {
			writers, _, _ := strings.Cut(w.name, "-")
			key := e.Durability(w.durability) + "/" + writers
			if first, ok := done[key]; ok {
				for _, r := range byName[first.name] {
					r.Workload = w.name
					r.Note = fmt.Sprintf("same %s run as %s", r.Mode, first.name)
					rep.Results = append(rep.Results, r)
				}
				continue
			}
			done[key] = w
		}
		var rs []Result
		if w.data && dataLost != "" && w.name != "fillrandom" && f.loadUnlimited && pass.MemLimit > 0 {
			// Build the data set outside the cgroup, so that the reads
			// still show how the engine serves it under the limit.
			dropFileCache(filepath.Join(scratch, name))
			lr := runChildProcess(self, f, scratch, name, loadWorkload, 0, 0, nil, stderr)
			if len(lr) > 0 && lr[0].Error == "" {
				dataNote = fmt.Sprintf("data set loaded without the limit (%s under it; the load's peak RSS %s, anon %s)",
					dataLost, fmtBytes(lr[0].PeakRSS), fmtBytes(lr[0].PeakAnon))
				dataLost = ""
			} else {
				dataLost += "; the unlimited load failed too"
			}
		}
		if w.data && dataLost != "" && w.name != "fillrandom" {
			// The data set was never built: say so rather than run
			// every read on an empty or half-built store.
			rs = []Result{{Engine: name, Workload: w.name, Outcome: "skipped", Error: "skipped: " + dataLost}}
			fmt.Fprintf(stderr, "%-9s %-16s %s\n", name, w.name, rs[0].Error)
		} else {
			if pass.MemLimit > 0 {
				// A fresh container starts with a cold page cache.
				dropFileCache(filepath.Join(scratch, name))
			}
			rs = runChildProcess(self, f, scratch, name, w, insertBase, pass.MemLimit, cgs, stderr)
		}
		byName[w.name] = rs
		for i := range rs {
			rs[i].Keys, rs[i].MemLimit = pass.Keys, pass.MemLimit
			if dataNote != "" && w.data && w.name != "fillrandom" {
				rs[i].Note = strings.TrimSpace(dataNote + "; " + rs[i].Note)
				rs[i].Note = strings.TrimSuffix(rs[i].Note, ";")
			}
			insertBase += rs[i].Inserted
			if w != loadWorkload {
				rep.Results = append(rep.Results, rs[i])
			}
		}
		if (w.name == "fillrandom" || w == loadWorkload) && len(rs) > 0 && rs[0].Error != "" {
			dataLost = w.name + " did not finish"
		}
	}
}

// writeOutputs writes the charts and results.md into -out, prints the
// markdown, and publishes when asked.
func writeOutputs(rep *Report, f *flags, stdout, stderr io.Writer) error {
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return err
	}
	charts, err := writeCharts(rep, f.out)
	if err != nil {
		fmt.Fprintln(stderr, "bench: charts:", err)
	}
	md := rep.markdown(charts, "")
	if err := os.WriteFile(filepath.Join(f.out, "results.md"), []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Fprint(stdout, md)
	if f.publish != "" {
		if err := publish(rep, charts, f.out, f.publish); err != nil {
			return err
		}
	}
	return nil
}

// runChildProcess re-executes the harness as one (engine, workload) child
// and returns its results; a failure becomes a result with Error set.
func runChildProcess(self string, f *flags, scratch, engine string, w *workload, insertBase, limit int64, cgs *memCgroups, stderr io.Writer) []Result {
	out := filepath.Join(scratch, fmt.Sprintf("%s-%s.json", engine, w.name))
	// A child killed before it writes must not leave an earlier pass's
	// results to be read as its own.
	os.Remove(out)
	args := childArgs(f, engine, w.name, out, scratch, insertBase)
	var cg *memCgroup
	if limit > 0 {
		var err error
		if cg, err = cgs.create(limit); err != nil {
			return []Result{{Engine: engine, Workload: w.name, Outcome: "error", Error: err.Error()}}
		}
		args = append(args, "-cgroup", cg.dir)
	}
	if f.CPUProfile != "" {
		args = append(args, "-cpuprofile", f.CPUProfile)
	}
	if f.MemProfile != "" {
		args = append(args, "-memprofile", f.MemProfile)
	}
	if f.keep {
		args = append(args, "-keep")
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.childTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, self, args...)
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	cmd.Stdout = io.Discard
	start := time.Now()
	runErr := cmd.Run()
	elapsed := time.Since(start)
	var cst cgroupStats
	if cg != nil {
		cst = cg.stats()
		if err := cg.remove(); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
		}
	}
	var rs []Result
	if b, err := os.ReadFile(out); err == nil {
		if err := json.Unmarshal(b, &rs); err != nil {
			rs = nil
		}
	}
	killed := false
	if ps := cmd.ProcessState; ps != nil {
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			killed = true
		}
	}
	outcome, msg := "", ""
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		outcome, msg = "timeout", fmt.Sprintf("timed out after %s (-childtimeout)", f.childTimeout)
	case cst.OOMKills > 0 || (killed && cg != nil):
		outcome, msg = "oom", fmt.Sprintf("OOM-killed at %s after %.1f s", fmtLimit(limit), elapsed.Seconds())
	case len(rs) == 0:
		m := strings.TrimSpace(errBuf.String())
		if runErr != nil {
			m = strings.TrimSpace(runErr.Error() + ": " + lastLines(m, 5))
		}
		outcome, msg = "error", "child failed: "+m
	}
	if outcome != "" {
		// A child killed after it wrote its results (during Close, say)
		// still failed: its figures are kept, the outcome says why.
		if len(rs) == 0 {
			rs = []Result{{Engine: engine, Workload: w.name}}
		}
		for i := range rs {
			rs[i].Outcome, rs[i].Error = outcome, msg
			rs[i].Seconds = max(rs[i].Seconds, elapsed.Seconds())
		}
	}
	for i := range rs {
		if rs[i].Error != "" && rs[i].Outcome == "" {
			rs[i].Outcome = "error"
		}
		rs[i].CgroupPeak, rs[i].CgroupFailcnt = cst.Peak, cst.Failcnt
	}
	for _, r := range rs {
		status := fmt.Sprintf("%12.0f ops/s  p99 %s", r.OpsPerSec, fmtLatency(r.P99us))
		if r.Workload == "space" {
			status = fmt.Sprintf("disk %s live %s", fmtBytes(r.DiskBytes), fmtBytes(r.LiveBytes))
		}
		if r.Workload == "settle" {
			status = r.Note
		}
		if r.CgroupPeak > 0 {
			status += fmt.Sprintf("  RSS %s cgroup %s", fmtBytes(r.PeakRSS), fmtBytes(r.CgroupPeak))
		}
		if r.Error != "" {
			status = "ERROR " + r.Error
		}
		fmt.Fprintf(stderr, "%-9s %-16s %s  (%s)\n", engine, r.Workload, status, time.Since(start).Round(100*time.Millisecond))
	}
	return rs
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

func loadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// publish writes dir/RESULTS.md and dir/charts/*.png from this run.
func publish(rep *Report, charts []string, out, dir string) error {
	cdir := filepath.Join(dir, "charts")
	if err := os.MkdirAll(cdir, 0o755); err != nil {
		return err
	}
	for _, c := range charts {
		b, err := os.ReadFile(filepath.Join(out, c))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(cdir, c), b, 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "RESULTS.md"), []byte(rep.markdown(charts, "charts/")), 0o644)
}

// childArgs is the command line of the child that runs workload on engine:
// every flag that shapes a run is passed on.
func childArgs(f *flags, engine, workload, out, scratch string, insertBase int64) []string {
	args := []string{
		"-child", engine + "," + workload,
		"-childout", out,
		"-tmp", scratch,
		"-keys", strconv.FormatInt(f.Keys, 10),
		"-value", strconv.Itoa(f.Value),
		"-duration", f.Duration.String(),
		"-syncduration", f.SyncDuration.String(),
		"-ttl", f.TTL.String(),
		"-threads", strconv.Itoa(f.Threads),
		"-cache", strconv.FormatInt(f.CacheMiB, 10),
		"-batch", strconv.Itoa(f.Batch),
		"-insertbase", strconv.FormatInt(insertBase, 10),
		"-settletimeout", f.SettleTimeout.String(),
	}
	if f.MemtableMiB > 0 {
		args = append(args, "-memtable", strconv.FormatInt(f.MemtableMiB, 10))
	}
	if f.MLMemory > 0 {
		args = append(args, "-mlmemory", strconv.FormatInt(f.MLMemory, 10))
	}
	if f.YCSBOps > 0 {
		args = append(args, "-ycsbops", strconv.FormatInt(f.YCSBOps, 10))
	}
	return args
}

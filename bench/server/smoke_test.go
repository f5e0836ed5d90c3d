package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"gonum.org/v1/plot/plotter"
)

// TestSmoke runs the side-by-side comparison at a tiny scale: both servers
// start, every string workload runs against both with its replies checked,
// a family strata-server may not have yet is measured or skipped with the
// reason, and the report and charts are written.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two servers")
	}
	redisBin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed")
	}
	root, err := findRepo()
	if err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	strataBin, err := buildStrata(root, dir)
	if err != nil {
		t.Fatal(err)
	}
	var wls []*workload
	for _, n := range []string{"SET", "GET", "INCR", "MSET", "HSET", "EVALSHA", "MULTI"} {
		wls = append(wls, findWorkload(n))
	}
	cfg := compareConfig{Fsyncs: []string{"everysec"}, Values: []int{100}, Pipelines: []int{1, 4}, Clients: 4,
		Keys: 500, Warmup: 10 * time.Millisecond, Duration: 100 * time.Millisecond, Workloads: wls}
	if p, err := exec.LookPath("redis-benchmark"); err == nil {
		cfg.RB, cfg.RBBin = true, p
	}
	rep := &Report{Started: time.Now(), Machine: describeMachine(dir)}
	if err := runCompare(context.Background(), cfg, binaries{Redis: redisBin, Strata: strataBin}, dir, rep, t.Logf); err != nil {
		t.Fatal(err)
	}
	for _, ln := range rep.Lines {
		if ln.Skipped != "" {
			// Only a command the server lacks (unsupported), or one
			// redis-benchmark cannot send, may be skipped.
			if !unsupported(&ln) && !strings.Contains(ln.Skipped, "cannot send") {
				t.Errorf("%s: skipped: %s", ln.summary(), ln.Skipped)
			}
			continue
		}
		if ln.Ops == 0 || ln.OpsPerSec <= 0 {
			t.Errorf("%s: no operations measured", ln.summary())
		}
		if ln.Errors > 0 {
			t.Errorf("%s: %d errors, first: %s", ln.summary(), ln.Errors, ln.FirstError)
		}
	}
	for _, srv := range serverKinds {
		if l := rep.find("go-redis", "everysec", 100, 4, "GET", srv); l == nil || l.Skipped != "" || l.CPUSeconds < 0 {
			t.Errorf("no GET line for %s", srv)
		}
	}
	if len(rep.Memory) != 2 || rep.Memory[0].Keys != cfg.Keys || rep.Memory[1].Keys != cfg.Keys {
		t.Errorf("memory lines %+v, want both servers with %d keys", rep.Memory, cfg.Keys)
	}
	out := filepath.Join(dir, "out")
	if err := writeOutputs(rep, out, ""); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(out, "results.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "| GET |") {
		t.Errorf("results.md has no GET row:\n%s", md)
	}
	if _, err := os.Stat(filepath.Join(out, "charts", "ratio-everysec.png")); err != nil {
		t.Error(err)
	}
}

func TestParseSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"512MiB", 512 << 20, true}, {"1gib", 1 << 30, true}, {"300mb", 300 << 20, true}, {"65536", 65536, true},
		{"", 0, false}, {"-1", 0, false}, {"12XB", 0, false},
	} {
		got, err := parseSize(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, ok %v", c.in, got, err, c.want, c.ok)
		}
	}
}

func TestHistQuantiles(t *testing.T) {
	var h hist
	for i := 1; i <= 1000; i++ {
		h.recordN(time.Duration(i)*time.Microsecond, 1)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}, {1, 1000 * time.Microsecond}} {
		got := h.quantile(c.q)
		if d := got - c.want; d < -c.want/30 || d > c.want/30 {
			t.Errorf("quantile(%v) = %v, want %v within 3%%", c.q, got, c.want)
		}
	}
}

func TestProcCPU(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	// Burn a little CPU and see the counter move.
	before, err := procCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for start := time.Now(); time.Since(start) < 60*time.Millisecond; {
		x++
	}
	after, err := procCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after < before || x == 0 {
		t.Errorf("CPU went from %v to %v", before, after)
	}
	if procStatus(os.Getpid(), "VmHWM") <= 0 {
		t.Error("no VmHWM")
	}
}

// TestUnsupported: a workload whose command the server does not know is
// reported as unsupported, found either by the probe (COMMAND INFO) or by
// the server's replies during the line, and the tables say so instead of
// failing.
func TestUnsupported(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	redisBin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed")
	}
	dir := t.TempDir()
	srv, err := startServer(binaries{Redis: redisBin}, serverSpec{Kind: "redis", Fsync: "no"}, dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.remove()
	defer srv.stop()
	tg := newTarget(srv, 100, 16)
	bogus := func(name string, cmds ...string) *workload {
		return &workload{Name: name, Group: "test", cmds: cmds,
			queue: func(w *worker, p redis.Pipeliner) op { return op{cmd: p.Do(w.ctx, "nosuchcommand", "k")} },
			check: func(w *worker, o *op) error { return o.cmd.Err() },
		}
	}
	lc := lineConfig{Clients: 2, Pipeline: 2, Warmup: 10 * time.Millisecond, Duration: 50 * time.Millisecond}
	rep := &Report{}
	for _, c := range []struct {
		wl   *workload
		want string
	}{
		{bogus("PROBED", "nosuchcommand"), "does not know NOSUCHCOMMAND"},
		{bogus("REPLIED", "get"), "unknown command"},
	} {
		ln := runLine(context.Background(), tg, c.wl, lc)
		ln.Fsync, ln.Value = "no", 16
		if !unsupported(&ln) || !strings.Contains(ln.Skipped, c.want) {
			t.Errorf("%s: skipped %q, want unsupported with %q", c.wl.Name, ln.Skipped, c.want)
		}
		rep.add(ln)
		st := ln
		st.Server = "strata"
		rep.add(st)
	}
	if !srv.alive() {
		t.Fatal("the server died")
	}
	// A known command still runs.
	if ln := runLine(context.Background(), tg, findWorkload("SET"), lc); ln.Skipped != "" || ln.Ops == 0 || ln.Errors > 0 {
		t.Errorf("SET: %s", ln.summary())
	}
	var b strings.Builder
	rep.ratioTables(&b)
	if !strings.Contains(b.String(), "| PROBED | unsupported¹ |") {
		t.Errorf("ratio table does not say unsupported:\n%s", b.String())
	}
}

func TestMovingAverage(t *testing.T) {
	got := movingAverage(plotter.XYs{{X: 0, Y: 2}, {X: 1, Y: 4}, {X: 2, Y: 6}, {X: 3, Y: 8}}, 2)
	want := []float64{2, 3, 5, 7}
	for i, q := range got {
		if q.Y != want[i] || q.X != float64(i) {
			t.Errorf("point %d: %+v, want (%d, %v)", i, q, i, want[i])
		}
	}
}

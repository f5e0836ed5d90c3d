package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Two engines that exist only in the test binary (which is also the
// harness's child): hog touches far more memory than the limit the test
// gives it, sleepy never finishes a Put.
func init() {
	engines["hog"] = func() Engine { return &testEngine{name: "hog", hog: 512 << 20} }
	engines["sleepy"] = func() Engine { return &testEngine{name: "sleepy", sleep: time.Hour} }
}

type testEngine struct {
	name  string
	hog   int
	sleep time.Duration
	mem   []byte
}

func (e *testEngine) Name() string                 { return e.name }
func (e *testEngine) Durability(Durability) string { return "nosync" }
func (e *testEngine) Options(Config) string        { return "test engine" }
func (e *testEngine) Open(string, Config) error {
	e.mem = make([]byte, e.hog)
	for i := 0; i < len(e.mem); i += 4096 {
		e.mem[i] = 1
	}
	runtime.KeepAlive(e.mem)
	return nil
}
func (e *testEngine) Put(k, v []byte) error                     { time.Sleep(e.sleep); return nil }
func (e *testEngine) Get([]byte) ([]byte, bool, error)          { return nil, false, nil }
func (e *testEngine) Delete([]byte) error                       { return nil }
func (e *testEngine) Batch([]KV) error                          { time.Sleep(e.sleep); return nil }
func (e *testEngine) Scan([]byte, int, func(k, v []byte)) error { return nil }
func (e *testEngine) Close() error                              { return nil }

// runHarness runs the harness in-process (children are this test binary)
// and returns its report; a non-zero exit is returned as wantCode allows.
func runHarness(t *testing.T, wantCode int, args ...string) (*Report, string) {
	t.Helper()
	out := t.TempDir()
	args = append(args, "-out", out, "-tmp", t.TempDir())
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr); code != wantCode {
		t.Fatalf("run %v exited %d, want %d:\n%s", args, code, wantCode, stderr.String())
	}
	rep, err := loadReport(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	return rep, stdout.String()
}

func TestParseSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		err  bool
	}{
		{"1GiB", 1 << 30, false}, {"512MiB", 512 << 20, false}, {"512M", 512 << 20, false},
		{"1.5g", 3 << 29, false}, {"4096", 4096, false}, {" 64 MiB ", 64 << 20, false},
		{"", 0, true}, {"GiB", 0, true}, {"1 parsec", 0, true}, {"0MiB", 0, true}, {"-1GiB", 0, true},
	} {
		got, err := parseSize(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, error %v", c.in, got, err, c.want, c.err)
		}
	}
}

func TestParseCount(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		err  bool
	}{
		{"1M", 1_000_000, false}, {"50M", 50_000_000, false}, {"1.5M", 1_500_000, false},
		{"500k", 500_000, false}, {"2000", 2000, false}, {"x", 0, true}, {"0", 0, true}, {"", 0, true},
	} {
		got, err := parseCount(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("parseCount(%q) = %d, %v; want %d, error %v", c.in, got, err, c.want, c.err)
		}
	}
	for _, c := range []struct {
		n    int64
		want string
	}{{20_000_000, "20M"}, {1_500_000, "1.5M"}, {2000, "2k"}, {1234, "1234"}} {
		if got := fmtCount(c.n); got != c.want {
			t.Errorf("fmtCount(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}

// TestKeyOrderIsPermutation checks that the computed random order visits
// every index of [0, n) exactly once, and is not the identity.
func TestKeyOrderIsPermutation(t *testing.T) {
	for _, n := range []uint64{1, 2, 3, 10, 1000, 4097, 100_003} {
		o := newKeyOrder(n)
		seen := make([]bool, n)
		inPlace := 0
		for i := uint64(0); i < n; i++ {
			x := o.at(i)
			if x >= n {
				t.Fatalf("n=%d: at(%d) = %d, out of range", n, i, x)
			}
			if seen[x] {
				t.Fatalf("n=%d: %d visited twice", n, x)
			}
			seen[x] = true
			if x == i {
				inPlace++
			}
		}
		if n >= 1000 && inPlace > int(n/100) {
			t.Errorf("n=%d: %d indexes map to themselves: not shuffled", n, inPlace)
		}
	}
}

func TestParseMemCgroups(t *testing.T) {
	files := map[string]string{
		"/sys/fs/cgroup/unified/cgroup.controllers": "",
		"/sys/fs/cgroup/cgroup.controllers":         "cpuset cpu io memory pids",
	}
	read := func(p string) ([]byte, error) {
		if s, ok := files[p]; ok {
			return []byte(s), nil
		}
		return nil, os.ErrNotExist
	}
	for _, c := range []struct {
		name, mounts, self string
		version            cgroupVersion
		parent             string
	}{
		{"v1", "cgroup /sys/fs/cgroup/memory cgroup rw,nosuid,memory 0 0\ncgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n",
			"4:memory:/outer/inner\n0::/\n", 1, "/sys/fs/cgroup/memory/outer/inner"},
		{"v1 among others", "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,cpu,cpuacct 0 0\ncgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\n",
			"2:cpu,cpuacct:/x\n4:memory:/\n", 1, "/sys/fs/cgroup/memory"},
		{"v2", "cgroup2 /sys/fs/cgroup cgroup2 rw,nsdelegate 0 0\n", "0::/user.slice/me\n", 2, "/sys/fs/cgroup/user.slice/me"},
		{"v2 without memory", "cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n", "0::/\n", 0, ""},
		{"none", "proc /proc proc rw 0 0\n", "0::/\n", 0, ""},
	} {
		got, err := parseMemCgroups(c.mounts, c.self, read)
		if c.version == 0 {
			if !errors.Is(err, errNoCgroup) {
				t.Errorf("%s: got %+v, %v; want errNoCgroup", c.name, got, err)
			}
			continue
		}
		if err != nil || got.version != c.version || got.parent != c.parent {
			t.Errorf("%s: got %+v, %v; want v%d at %s", c.name, got, err, c.version, c.parent)
		}
	}
}

// TestMemLimit runs children under memory cgroups: an engine that fits
// finishes with its cgroup's peak recorded, one that does not is reported
// as OOM-killed (not as a generic error), and no group is left behind.
func TestMemLimit(t *testing.T) {
	cgs, err := findMemCgroups()
	if err != nil {
		t.Skip(err)
	}
	before, _ := filepath.Glob(filepath.Join(cgs.parent, "strata-bench-*"))
	rep, md := runHarness(t, 1, "-keys", "3000", "-duration", "100ms", "-engines", "strata,hog",
		"-workloads", "fillrandom,readrandom", "-memlimit", "256MiB,160MiB")
	for _, lim := range []int64{256 << 20, 160 << 20} {
		p := Pass{Keys: 3000, MemLimit: lim}
		for _, w := range []string{"fillrandom", "readrandom"} {
			x, ok := rep.resultAt("strata", w, p)
			if !ok || x.Error != "" || x.Ops == 0 {
				t.Errorf("strata %s at %s: %+v", w, fmtLimit(lim), x)
			}
			if x.CgroupPeak <= 0 || x.CgroupPeak > lim {
				t.Errorf("strata %s at %s: cgroup peak %d", w, fmtLimit(lim), x.CgroupPeak)
			}
			// The zero Options took half the cgroup's limit (noted on the
			// writing workload).
			if want := fmt.Sprintf("MemoryLimit %d MiB derived from the cgroup's %d MiB", lim>>21, lim>>20); w == "fillrandom" && !strings.Contains(x.Note, want) {
				t.Errorf("strata %s at %s: note %q lacks %q", w, fmtLimit(lim), x.Note, want)
			}
		}
		x, _ := rep.resultAt("hog", "fillrandom", p)
		if x.Outcome != "oom" || !strings.Contains(x.Error, "OOM-killed at "+fmtLimit(lim)) {
			t.Errorf("hog at %s: outcome %q error %q, want an OOM kill", fmtLimit(lim), x.Outcome, x.Error)
		}
		if y, _ := rep.resultAt("hog", "readrandom", p); y.Outcome != "skipped" {
			t.Errorf("hog readrandom at %s after the OOM: outcome %q, want skipped", fmtLimit(lim), y.Outcome)
		}
	}
	for _, want := range []string{"## Completion under each memory limit", "| hog | 3k keys, memory limit 160MiB | **OOM**",
		"## 3k keys, memory limit 256MiB", "cgroup peak"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	after, _ := filepath.Glob(filepath.Join(cgs.parent, "strata-bench-*"))
	if len(after) > len(before) {
		t.Errorf("cgroups left behind: %v", after)
	}
}

// TestChildTimeout: a child that runs past -childtimeout is killed and
// reported as a timeout.
func TestChildTimeout(t *testing.T) {
	rep, md := runHarness(t, 1, "-keys", "10", "-engines", "sleepy", "-workloads", "fillseq", "-childtimeout", "1s")
	x, ok := rep.result("sleepy", "fillseq")
	if !ok || x.Outcome != "timeout" || !strings.Contains(x.Error, "timed out after 1s") {
		t.Fatalf("got %+v, want a timeout", x)
	}
	if !strings.Contains(md, "**timeout**") {
		t.Errorf("markdown does not show the timeout")
	}
}

// TestBigAndCurveTiny runs the big-data preset and the cost curve on tiny
// data, without memory limits: settle reports the engine state, fills
// report their L0 state, every workload its read bytes, and the curve its
// tables and charts.
func TestBigAndCurveTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes for about 20 s")
	}
	rep, md := runHarness(t, 0, "-big", "-keys", "3000", "-memlimit", "none", "-duration", "100ms",
		"-engines", "strata,pebble,goleveldb")
	if got := strings.Join(rep.Workloads, ","); got != bigWorkloads {
		t.Errorf("-big ran %s, want %s", got, bigWorkloads)
	}
	for _, e := range []string{"strata", "pebble", "goleveldb"} {
		s, ok := rep.result(e, "settle")
		if !ok || s.Error != "" || !s.HasState || s.MaxScore >= 1 || !strings.Contains(s.Note, "to settle") {
			t.Errorf("%s settle: %+v", e, s)
		}
		if f, _ := rep.result(e, "fillrandom"); !f.HasState {
			t.Errorf("%s fillrandom: no engine state recorded", e)
		}
	}
	for _, want := range []string{"L0 at end", "read/op", "#### settle"} {
		if !strings.Contains(md, want) && !(want == "#### settle" && strings.Contains(md, "### settle")) {
			t.Errorf("big markdown lacks %q", want)
		}
	}

	rep, md = runHarness(t, 0, "-sizes", "2000,4000", "-workloads", "fillrandom,readrandom", "-duration", "100ms",
		"-engines", "strata,goleveldb")
	if len(rep.Passes) != 2 {
		t.Fatalf("passes %+v, want 2 sizes", rep.Passes)
	}
	for _, k := range []int64{2000, 4000} {
		x, ok := rep.resultAt("strata", "readrandom", Pass{Keys: k})
		if !ok || x.Error != "" || x.Found != x.Ops {
			t.Errorf("strata readrandom at %d keys: %+v", k, x)
		}
	}
	for _, want := range []string{"## Cost curve", "| strata |", "2k ops/s", "4k ops/s", "curve-throughput.png", "curve-rss.png"} {
		if !strings.Contains(md, want) {
			t.Errorf("curve markdown lacks %q", want)
		}
	}
}

// TestReportRendersOldResults: a results.json from before passes existed
// still renders as one pass.
func TestReportRendersOldResults(t *testing.T) {
	old := `{"params":{"keys":1000},"engines":["strata","pebble"],"workloads":["fillrandom"],
		"results":[{"engine":"strata","workload":"fillrandom","ops":1000,"ops_per_sec":2000,"seconds":0.5},
		{"engine":"pebble","workload":"fillrandom","ops":1000,"ops_per_sec":1000,"seconds":1}]}`
	var rep Report
	if err := json.Unmarshal([]byte(old), &rep); err != nil {
		t.Fatal(err)
	}
	rep.summarize()
	md := rep.markdown(nil, "")
	if !strings.Contains(md, "| fillrandom | 2.00× |") || strings.Contains(md, "## Completion") {
		t.Errorf("old report rendered wrongly:\n%s", md)
	}
}

// TestLoadUnlimited: with -loadunlimited, a data set whose fill was
// OOM-killed is built outside the cgroup and the reads still run under
// the limit (hog's reads are OOM-killed too, not skipped).
func TestLoadUnlimited(t *testing.T) {
	if _, err := findMemCgroups(); err != nil {
		t.Skip(err)
	}
	rep, _ := runHarness(t, 1, "-keys", "100", "-duration", "100ms", "-engines", "hog",
		"-workloads", "fillrandom,readrandom", "-memlimit", "160MiB", "-loadunlimited")
	if x, _ := rep.result("hog", "fillrandom"); x.Outcome != "oom" {
		t.Errorf("fillrandom outcome %q, want oom", x.Outcome)
	}
	if x, _ := rep.result("hog", "readrandom"); x.Outcome != "oom" {
		t.Errorf("readrandom outcome %q (%s), want oom: it should have run on the unlimited load", x.Outcome, x.Error)
	}
}

// TestGoleveldbState: levels are read by number from the stats property,
// empty levels left out.
func TestGoleveldbState(t *testing.T) {
	stats := "Compactions\n" +
		" Level |   Tables   |    Size(MB)   |    Time(sec)  |    Read(MB)   |   Write(MB)\n" +
		"-------+------------+---------------+---------------+---------------+---------------\n" +
		"   0   |          6 |      12.00000 |       1.00000 |       0.00000 |      12.00000\n" +
		"   1   |         50 |     150.00000 |       9.00000 |      90.00000 |      95.00000\n" +
		"   3   |        300 |    9000.00000 |       9.00000 |      90.00000 |      95.00000\n"
	s := goleveldbState(stats)
	if s.L0Tables != 6 {
		t.Errorf("L0 tables %d, want 6", s.L0Tables)
	}
	// L0: 6/4 = 1.5; L1: 150 MiB over 100 MiB = 1.5; L2 empty (left out);
	// L3: 9000 MiB over 10000 = 0.9.
	if s.MaxScore != 1.5 {
		t.Errorf("max score %.2f, want 1.5", s.MaxScore)
	}
	if want := int64(12<<20) + int64(50<<20); s.DebtBytes != want {
		t.Errorf("debt %d, want %d", s.DebtBytes, want)
	}
	if s := goleveldbState("Compactions\n Level | Tables\n"); s.MaxScore != 0 || s.L0Tables != 0 {
		t.Errorf("empty stats: %+v", s)
	}
}

// TestStrataOptions: strata opens the zero Options (so that lsm sizes
// itself from the memory cgroup) unless -cache differs from lsm's default;
// strata-ml's MemoryLimit is -mlmemory, else half the cgroup's limit;
// strata-cache always sets BlockCacheSize, so no size follows the cgroup.
func TestStrataOptions(t *testing.T) {
	f, err := parseFlags([]string{"-mlmemory", "256MiB"}, io.Discard)
	if err != nil || f.MLMemory != 256<<20 {
		t.Fatalf("-mlmemory 256MiB: %d, %v", f.MLMemory, err)
	}
	if _, err := parseFlags([]string{"-mlmemory", "lots"}, io.Discard); err == nil {
		t.Fatal("-mlmemory lots: no error")
	}
	for _, tc := range []struct {
		name             string
		limited, fixed   bool
		cfg              Config
		memLimit, bcSize int64
		memtable         int64
	}{
		{"strata: -memtable", false, false, Config{CacheBytes: 64 << 20, MemtableBytes: 4 << 20}, 0, 0, 4 << 20},
		{"strata-cache: -memtable", false, true, Config{CacheBytes: 64 << 20, MemtableBytes: 4 << 20}, 0, 64 << 20, 4 << 20},
		{"strata: zero Options", false, false, Config{CacheBytes: 64 << 20, MemLimit: 512 << 20}, 0, 0, 0},
		{"strata: -cache given", false, false, Config{CacheBytes: 32 << 20}, 0, 32 << 20, 0},
		{"strata-ml: half the cgroup", true, false, Config{CacheBytes: 64 << 20, MemLimit: 384 << 20}, 192 << 20, 0, 0},
		{"strata-ml: -mlmemory", true, false, Config{CacheBytes: 64 << 20, MemLimit: 384 << 20, MLMemory: 256 << 20}, 256 << 20, 0, 0},
		{"strata-ml: no cgroup", true, false, Config{CacheBytes: 64 << 20}, strataMLDefault, 0, 0},
		{"strata-cache: the peers' cache in a cgroup", false, true, Config{CacheBytes: 64 << 20, MemLimit: 512 << 20}, 0, 64 << 20, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Durability = DurEverySec
			o, err := (&strataEngine{limited: tc.limited, fixedCache: tc.fixed}).options(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if o.MemoryLimit != tc.memLimit || o.BlockCacheSize != tc.bcSize || o.MemtableSize != tc.memtable {
				t.Fatalf("MemoryLimit %d BlockCacheSize %d MemtableSize %d, want %d, %d and %d",
					o.MemoryLimit, o.BlockCacheSize, o.MemtableSize, tc.memLimit, tc.bcSize, tc.memtable)
			}
		})
	}
}

// TestChildArgsCarryParams: a child parses from its command line the same
// parameters the parent was given, -memtable, -mlmemory and -ycsbops
// included.
func TestChildArgsCarryParams(t *testing.T) {
	parent, err := parseFlags([]string{"-keys", "5000", "-value", "200", "-cache", "32", "-memtable", "4",
		"-mlmemory", "128MiB", "-batch", "10", "-threads", "3", "-ycsbops", "1234"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if parent.MemtableMiB != 4 {
		t.Fatalf("-memtable 4: MemtableMiB %d", parent.MemtableMiB)
	}
	child, err := parseFlags(childArgs(parent, "strata", "fillrandom", "out.json", "scratch", 0), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := parent.Params
	want.Scratch = "scratch" // the child's own scratch directory
	if child.Params != want {
		t.Fatalf("child params %+v, want %+v", child.Params, want)
	}
	if _, err := parseFlags([]string{"-memtable", "-1"}, io.Discard); err == nil {
		t.Fatal("-memtable -1: no error")
	}
}

// Command bench runs the same workloads against Strata and its peers
// (Pebble v2, goleveldb, Badger v4, bbolt) and prints, per workload, a
// markdown table of throughput, latency and Strata's ratio to each peer,
// and per engine the write amplification, space amplification and peak
// memory. Each (engine, workload) runs in a child process (the binary
// re-executed with -child) so that peak memory is per engine and no
// engine's caches or goroutines leak into another's measurement.
//
//	cd bench && go run . -out results
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"time"
)

// Params are the knobs shared by the parent and its children.
type Params struct {
	Keys         int64         `json:"keys"`
	Value        int           `json:"value"`
	Duration     time.Duration `json:"duration"`
	SyncDuration time.Duration `json:"sync_duration"`
	TTL          time.Duration `json:"ttl"`
	Threads      int           `json:"threads"`
	CacheMiB     int64         `json:"cache_mib"`
	// MemtableMiB is the memtable size given to every engine that has
	// one; 0 leaves each engine its default.
	MemtableMiB int64 `json:"memtable_mib,omitempty"`
	Batch       int   `json:"batch"`
	// YCSBOps, when positive, ends each YCSB workload after that many
	// operations (all clients together), Duration then only capping it:
	// engines of different speeds do the same work, so that their peak
	// memory compares at equal writes (a faster engine fills more of its
	// memtables in a fixed time).
	YCSBOps int64 `json:"ycsb_ops,omitempty"`
	// SettleTimeout caps the settle workload's wait for the engine to
	// finish its compaction debt.
	SettleTimeout time.Duration `json:"settle_timeout,omitempty"`
	// MLMemory is strata-ml's MemoryLimit in bytes; 0 for half the memory
	// cgroup's limit.
	MLMemory   int64  `json:"ml_memory,omitempty"`
	Scratch    string `json:"-"`
	InsertBase int64  `json:"-"`
	CPUProfile string `json:"-"`
	MemProfile string `json:"-"`
}

// Result is one measured phase of one engine.
type Result struct {
	Engine   string `json:"engine"`
	Workload string `json:"workload"`
	// Mode is the durability the engine ran: Strata's always/everysec/no,
	// a peer's sync/nosync.
	Mode      string  `json:"mode"`
	Threads   int     `json:"threads"`
	Ops       int64   `json:"ops"`
	Bytes     int64   `json:"bytes"` // key+value bytes written or read
	Seconds   float64 `json:"seconds"`
	OpsPerSec float64 `json:"ops_per_sec"`
	MBPerSec  float64 `json:"mb_per_sec"`
	P50us     float64 `json:"p50_us"`
	P99us     float64 `json:"p99_us"`
	P999us    float64 `json:"p999_us"`
	Found     int64   `json:"found,omitempty"` // reads that found a value; entries scanned
	Inserted  int64   `json:"inserted,omitempty"`
	// Keys is the data-set size this result ran with (a -sizes pass; 0 in
	// runs from before passes existed: Params.Keys).
	Keys int64 `json:"keys,omitempty"`
	// MemLimit is the memory cgroup limit the child ran under, 0 for none.
	MemLimit int64 `json:"mem_limit,omitempty"`
	// Outcome is "" when the child finished, else "oom" (killed by the OOM
	// killer of its memory cgroup), "timeout" (killed after -childtimeout)
	// or "error"; Error then says more.
	Outcome string `json:"outcome,omitempty"`
	// CgroupPeak is the memory cgroup's peak usage (process and page
	// cache), CgroupFailcnt how often usage hit the limit (v1 only).
	CgroupPeak    int64 `json:"cgroup_peak,omitempty"`
	CgroupFailcnt int64 `json:"cgroup_failcnt,omitempty"`
	// IOReadBytes is the child's /proc/self/io read_bytes over the
	// measured phase: bytes really read from storage (page-cache misses).
	IOReadBytes int64 `json:"io_read_bytes"`
	// L0Tables, DebtBytes and MaxScore are the engine's state when the
	// workload ended, before the flush and Close (see EngineState).
	HasState  bool    `json:"has_state,omitempty"`
	L0Tables  int     `json:"l0_tables,omitempty"`
	DebtBytes int64   `json:"debt_bytes,omitempty"`
	MaxScore  float64 `json:"max_score,omitempty"`
	// IOWriteBytes is the child's /proc/self/io write_bytes from before
	// Open to after Close.
	IOWriteBytes int64 `json:"io_write_bytes"`
	// EngineWriteAmp is the engine's own figure since Open (Strata, Pebble).
	EngineWriteAmp float64 `json:"engine_write_amp,omitempty"`
	DiskBytes      int64   `json:"disk_bytes"` // du of the directory after Close
	LiveBytes      int64   `json:"live_bytes,omitempty"`
	PeakRSS        int64   `json:"peak_rss"`  // VmHWM of the child
	PeakAnon       int64   `json:"peak_anon"` // largest RssAnon sampled in the child
	// CPUSeconds is the child's user+system CPU time during the measured
	// phase(s), background work of the engine included.
	CPUSeconds float64 `json:"cpu_seconds"`
	// LoadAvg is the machine's 1-minute load average when the child ended.
	LoadAvg float64 `json:"load_avg"`
	Note    string  `json:"note,omitempty"`
	Error   string  `json:"error,omitempty"`
}

type flags struct {
	Params
	out, engines, workloads, child, childOut, prev string
	render                                         string
	publish                                        string
	keep                                           bool
	childTimeout                                   time.Duration
	memLimit, sizes, cgroup, mlMemory              string
	big, loadUnlimited                             bool
	limits                                         []int64 // parsed -memlimit
	keyCounts                                      []int64 // parsed -sizes
}

// bigWorkloads is what -big runs at each size and memory limit.
const bigWorkloads = "fillrandom,settle,readrandom,readmissing,seekrandom,scan,ycsb-a,ycsb-b"

// curveWorkloads is what -sizes runs by default at each size.
const curveWorkloads = "fillrandom,readrandom,seekrandom,scan,ycsb-a,ycsb-b"

func parseFlags(args []string, stderr io.Writer) (*flags, error) {
	f := &flags{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Int64Var(&f.Keys, "keys", 1_000_000, "keys in the data set (fillseq/fillrandom write all of them; 16-byte keys)")
	fs.IntVar(&f.Value, "value", 100, "value size in bytes (about half compressible)")
	fs.DurationVar(&f.Duration, "duration", 5*time.Second, "time per read, YCSB and TTL-read workload per engine; cap on overwrite and deleterandom")
	fs.DurationVar(&f.SyncDuration, "syncduration", 3*time.Second, "time per write1-*/write16-* workload per engine")
	fs.DurationVar(&f.TTL, "ttl", 8*time.Second, "TTL of the ttl workload's entries")
	fs.IntVar(&f.Threads, "threads", 2, "concurrent clients in read and YCSB workloads (fills, overwrite and deletes use 1; write16-* use 16)")
	fs.Int64Var(&f.CacheMiB, "cache", 64, "block cache MiB for engines that have one")
	fs.Int64Var(&f.MemtableMiB, "memtable", 0, "memtable MiB for every engine that has one (Strata MemtableSize, Pebble MemTableSize, goleveldb WriteBuffer, Badger MemTableSize); 0 = each engine's default")
	fs.Int64Var(&f.YCSBOps, "ycsbops", 0, "end each YCSB workload after this many operations, -duration only capping it (0: -duration alone); engines then do equal work")
	fs.IntVar(&f.Batch, "batch", 1, "keys per write batch in fillseq/fillrandom (1 = one Put per key)")
	fs.StringVar(&f.engines, "engines", strings.Join(engineOrder, ","), "engines to run, comma-separated")
	fs.StringVar(&f.workloads, "workloads", "all", "workloads or groups (fill, read, ycsb, space, ttl, sync-always, sync-buffered), comma-separated")
	fs.StringVar(&f.out, "out", "results", "directory for results.md, results.json and the PNG charts")
	fs.StringVar(&f.Scratch, "tmp", os.TempDir(), "directory under which the databases are created")
	fs.StringVar(&f.CPUProfile, "cpuprofile", "", "directory: write a CPU profile per engine and workload (ENGINE-WORKLOAD.prof)")
	fs.StringVar(&f.MemProfile, "memprofile", "", "directory: write an allocation profile per engine and workload (ENGINE-WORKLOAD.alloc.prof)")
	fs.StringVar(&f.prev, "prev", "", "previous results.json to compare with (default: OUT/results.json if it exists)")
	fs.StringVar(&f.publish, "publish", "", "also write DIR/RESULTS.md and DIR/charts/*.png (use -publish . for bench/)")
	fs.StringVar(&f.render, "render", "", "render OUT/results.md, the charts (and -publish) again from this results.json, without running anything")
	fs.BoolVar(&f.keep, "keep", false, "keep the databases after the run")
	fs.DurationVar(&f.childTimeout, "childtimeout", 15*time.Minute, "kill a child (one engine, one workload) that runs longer")
	fs.StringVar(&f.memLimit, "memlimit", "", "run every child in a memory cgroup with this limit, once per limit: e.g. 1GiB,512MiB (root only; \"none\" for no limit)")
	fs.StringVar(&f.mlMemory, "mlmemory", "", "strata-ml's MemoryLimit, e.g. 256MiB (default: half the memory cgroup's limit, 256MiB outside one)")
	fs.BoolVar(&f.big, "big", false, "big-data preset: -keys 20M, -memlimit 1GiB,512MiB, -workloads "+bigWorkloads+
		", -duration 15s, -childtimeout 20m, -out results-bigdata (each unless given)")
	fs.BoolVar(&f.loadUnlimited, "loadunlimited", false, "under -memlimit, when fillrandom does not finish, build the data set outside the cgroup "+
		"(unreported batched load) so that the read workloads still run under the limit")
	fs.StringVar(&f.sizes, "sizes", "", "cost curve: run the workloads at each of these key counts, e.g. 1M,10M,50M (default workloads "+curveWorkloads+")")
	fs.DurationVar(&f.SettleTimeout, "settletimeout", 10*time.Minute, "longest the settle workload waits for the engine's compaction debt to clear")
	fs.StringVar(&f.cgroup, "cgroup", "", "internal: the memory cgroup the child joins first")
	fs.StringVar(&f.child, "child", "", "internal: run ENGINE,WORKLOAD in this process")
	fs.StringVar(&f.childOut, "childout", "", "internal: where the child writes its JSON")
	fs.Int64Var(&f.InsertBase, "insertbase", 0, "internal: keys YCSB inserted before this child")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: go run . [flags]

Runs every selected workload against every selected engine, one child
process per engine and workload, and writes OUT/results.md, results.json and
charts. Defaults (1M keys, 5 s per timed workload, 3 s per sync workload)
take about 10 minutes on 2 cores.

Workloads:
`)
		for _, w := range workloads {
			fmt.Fprintf(fs.Output(), "  %-17s %s\n", w.name, w.about)
		}
		fmt.Fprintf(fs.Output(), "\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if f.big {
		if !set["keys"] {
			f.Keys = 20_000_000
		}
		if !set["memlimit"] {
			f.memLimit = "1GiB,512MiB"
		}
		if !set["workloads"] {
			f.workloads = bigWorkloads
		}
		if !set["duration"] {
			f.Duration = 15 * time.Second
		}
		if !set["childtimeout"] {
			f.childTimeout = 20 * time.Minute
		}
		if !set["out"] {
			f.out = "results-bigdata"
		}
	}
	if f.sizes != "" && !set["workloads"] && !f.big {
		f.workloads = curveWorkloads
	}
	if f.memLimit != "" && f.memLimit != "none" {
		for _, s := range strings.Split(f.memLimit, ",") {
			n, err := parseSize(s)
			if err != nil {
				return nil, fmt.Errorf("-memlimit: %w", err)
			}
			f.limits = append(f.limits, n)
		}
	}
	if f.mlMemory != "" {
		n, err := parseSize(f.mlMemory)
		if err != nil {
			return nil, fmt.Errorf("-mlmemory: %w", err)
		}
		f.MLMemory = n
	}
	if f.sizes != "" {
		for _, s := range strings.Split(f.sizes, ",") {
			n, err := parseCount(s)
			if err != nil {
				return nil, fmt.Errorf("-sizes: %w", err)
			}
			f.keyCounts = append(f.keyCounts, n)
		}
	}
	if f.Keys < 10 || f.Value < 1 || f.Threads < 1 || f.CacheMiB < 1 || f.Batch < 1 || f.MemtableMiB < 0 {
		return nil, errors.New("-keys must be >= 10 and -value, -threads, -cache, -batch >= 1")
	}
	return f, nil
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the exit, so that the test can call it.
func run(args []string, stdout, stderr io.Writer) int {
	f, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	if f.child != "" {
		if f.cgroup != "" {
			// First thing: everything the child allocates or reads from
			// here on counts against its limit.
			if err := joinCgroup(f.cgroup); err != nil {
				fmt.Fprintln(stderr, "bench child:", err)
				return 1
			}
		}
		if err := runChild(f); err != nil {
			fmt.Fprintln(stderr, "bench child:", err)
			return 1
		}
		return 0
	}
	if err := runParent(f, args, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	return 0
}

// runChild runs one workload against one engine and writes its results
// to -childout. Errors are recorded in the results as well as returned.
func runChild(f *flags) error {
	engName, wlName, ok := strings.Cut(f.child, ",")
	if !ok {
		return fmt.Errorf("-child wants ENGINE,WORKLOAD, not %q", f.child)
	}
	e, err := newEngine(engName)
	if err != nil {
		return err
	}
	w := findWorkload(wlName)
	if w == nil {
		return fmt.Errorf("unknown workload %q", wlName)
	}
	results, err := childRun(f, e, w)
	if err != nil {
		if len(results) == 0 {
			results = []Result{{Workload: w.name}}
		}
		for i := range results {
			if results[i].Error == "" {
				results[i].Error = err.Error()
			}
		}
	}
	for i := range results {
		results[i].Engine = e.Name()
	}
	b, jerr := json.MarshalIndent(results, "", "  ")
	if jerr != nil {
		return jerr
	}
	if f.childOut == "" {
		os.Stdout.Write(append(b, '\n'))
	} else if werr := os.WriteFile(f.childOut, b, 0o644); werr != nil {
		return werr
	}
	return err
}

func childRun(f *flags, e Engine, w *workload) ([]Result, error) {
	dir := engineDir(f.Scratch, e.Name(), w)
	if !w.data || w.name == "fillrandom" || w.name == "load" {
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
	}
	cfg := Config{CacheBytes: f.CacheMiB << 20, MemtableBytes: f.MemtableMiB << 20, Durability: w.durability, MemLimit: cgroupLimit(f.cgroup), MLMemory: f.MLMemory}
	if cfg.Durability == "" {
		cfg.Durability = DurEverySec
	}
	c := &child{p: f.Params, e: e, w: w, vals: newValueSource(f.Value, uint64(time.Now().UnixNano()))}

	io0 := procIOWriteBytes()
	stopAnon := sampleAnonRSS()
	if err := e.Open(dir, cfg); err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	if f.CPUProfile != "" {
		if err := os.MkdirAll(f.CPUProfile, 0o755); err != nil {
			return nil, err
		}
		pf, err := os.Create(fmt.Sprintf("%s/%s-%s.prof", f.CPUProfile, e.Name(), w.name))
		if err != nil {
			return nil, err
		}
		pprof.StartCPUProfile(pf)
		defer pf.Close()
	}
	rc, counts := e.(ReadCounter)
	var rc0 ReadCounters
	if counts {
		rc0 = rc.ReadCounters()
	}
	cpu0 := cpuSeconds()
	read0 := procIOReadBytes()
	results, err := w.run(c)
	cpu := cpuSeconds() - cpu0
	readBytes := procIOReadBytes() - read0
	var state EngineState
	if st, ok := e.(Stater); ok {
		state = st.State()
	}
	if counts && !w.writes && len(results) == 1 {
		if note := readNote(rc0, rc.ReadCounters(), results[0].Ops); note != "" {
			results[0].Note = strings.TrimPrefix(results[0].Note+"; "+note, "; ")
		}
	}
	if n, ok := e.(Noter); ok && w.writes && len(results) == 1 {
		if note := n.RunNote(); note != "" {
			results[0].Note = strings.TrimPrefix(results[0].Note+"; "+note, "; ")
		}
	}
	if f.CPUProfile != "" {
		pprof.StopCPUProfile()
	}
	if f.MemProfile != "" {
		if perr := writeAllocProfile(f.MemProfile, e.Name(), w.name); perr != nil && err == nil {
			err = perr
		}
	}
	wa := 0.0
	if w.writes && err == nil {
		if fl, ok := e.(Flusher); ok {
			if ferr := fl.Flush(); ferr != nil {
				err = fmt.Errorf("flush: %w", ferr)
			}
		}
	}
	if m, ok := e.(WriteAmper); ok {
		if v, ok := m.WriteAmp(); ok {
			wa = v
		}
	}
	if cerr := e.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close: %w", cerr)
	}
	ioBytes := procIOWriteBytes() - io0
	disk := diskUsage(dir)
	rss := peakRSS()
	anon := stopAnon()
	load := loadAvg1()
	for i := range results {
		r := &results[i]
		r.Mode = e.Durability(cfg.Durability)
		r.IOWriteBytes = ioBytes
		r.EngineWriteAmp = wa
		r.DiskBytes = disk
		r.PeakRSS = rss
		r.PeakAnon = anon
		r.LoadAvg = load
		if len(results) == 1 {
			r.CPUSeconds = cpu
			r.IOReadBytes = readBytes
		}
		if state.Known && w.name != "settle" {
			r.HasState, r.L0Tables, r.DebtBytes, r.MaxScore = true, state.L0Tables, state.DebtBytes, state.MaxScore
		}
	}
	if !w.data && !f.keep {
		os.RemoveAll(dir)
	}
	return results, err
}

func writeAllocProfile(dir, engine, workload string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	pf, err := os.Create(fmt.Sprintf("%s/%s-%s.alloc.prof", dir, engine, workload))
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(pf, 0); err != nil {
		pf.Close()
		return err
	}
	return pf.Close()
}

// engineDir is where engine runs workload w: the shared data set, or a
// directory of the workload's own.
func engineDir(scratch, engine string, w *workload) string {
	if w.data {
		return fmt.Sprintf("%s/%s/data", scratch, engine)
	}
	return fmt.Sprintf("%s/%s/%s", scratch, engine, w.name)
}

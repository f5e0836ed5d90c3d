package main

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Report is one full run: what results.json holds.
type Report struct {
	Time      string            `json:"time"`
	Command   string            `json:"command"`
	Elapsed   string            `json:"elapsed"`
	Machine   Machine           `json:"machine"`
	Params    Params            `json:"params"`
	Engines   []string          `json:"engines"`
	Workloads []string          `json:"workloads"`
	Options   map[string]string `json:"options"` // engine -> the options it ran with
	TTL       map[string]string `json:"ttl"`     // engine -> native or emulated
	// Passes are the (size, memory limit) pairs of the run, in order;
	// empty in runs from before passes existed (one pass: Params.Keys).
	Passes  []Pass          `json:"passes,omitempty"`
	Results []Result        `json:"results"`
	Summary []EngineSummary `json:"summary"`
	Changes *Changes        `json:"changes,omitempty"`
}

// EngineSummary is the per-engine table.
type EngineSummary struct {
	Engine string `json:"engine"`
	// WriteAmpEngine is the engine's own figure over fillrandom and
	// overwrite (weighted by bytes written); 0 when it has none.
	WriteAmpEngine float64 `json:"write_amp_engine"`
	// WriteAmpIO is /proc/self/io write_bytes over the key+value bytes
	// written, over the same workloads.
	WriteAmpIO float64 `json:"write_amp_io"`
	// SpaceAmp is du of the data set after the space step over its live
	// key+value bytes.
	SpaceAmp  float64 `json:"space_amp"`
	DiskBytes int64   `json:"disk_bytes"`
	LiveBytes int64   `json:"live_bytes"`
	SpaceNote string  `json:"space_note,omitempty"`
	// PeakRSS is the largest VmHWM of the engine's children, and where.
	PeakRSS         int64  `json:"peak_rss"`
	PeakRSSWorkload string `json:"peak_rss_workload"`
	// PeakAnon is the largest sampled RssAnon of the engine's children.
	PeakAnon int64 `json:"peak_anon"`
	// CgroupPeak is the largest memory-cgroup peak of its children.
	CgroupPeak int64 `json:"cgroup_peak,omitempty"`
}

// Changes compares Strata's throughput with the previous run's.
type Changes struct {
	PrevTime string   `json:"prev_time"`
	PrevCmd  string   `json:"prev_command"`
	Same     bool     `json:"same_params"`
	Rows     []Change `json:"rows"`
}

// Change is one (engine, workload) present in both runs.
type Change struct {
	Engine   string  `json:"engine"`
	Workload string  `json:"workload"`
	Pass     Pass    `json:"pass"`
	Prev     float64 `json:"prev_ops_per_sec"`
	Now      float64 `json:"ops_per_sec"`
}

func (r *Report) result(engine, workload string) (Result, bool) {
	for _, x := range r.Results {
		if x.Engine == engine && x.Workload == workload {
			return x, true
		}
	}
	return Result{}, false
}

// resultWorkloads is the order of the per-workload tables: the run order,
// with ttl expanded into its three phases and space left out.
func (r *Report) resultWorkloads() []string {
	var out []string
	for _, w := range r.Workloads {
		switch w {
		case "space":
		case "ttl":
			out = append(out, "ttl-put", "ttl-get", "ttl-expired")
		case "deleterange":
			out = append(out, "deleterange", "deleterange-readrandom", "deleterange-scan")
		default:
			out = append(out, w)
		}
	}
	return out
}

func (r *Report) summarize() {
	r.Summary = nil
	for _, e := range r.Engines {
		s := EngineSummary{Engine: e}
		var user, io, weighted, weightedBytes float64
		for _, x := range r.Results {
			if x.Engine != e {
				continue
			}
			if x.PeakRSS > s.PeakRSS {
				s.PeakRSS, s.PeakRSSWorkload = x.PeakRSS, x.Workload
			}
			s.PeakAnon = max(s.PeakAnon, x.PeakAnon)
			s.CgroupPeak = max(s.CgroupPeak, x.CgroupPeak)
			if x.Error != "" {
				continue
			}
			switch x.Workload {
			case "fillrandom", "overwrite":
				user += float64(x.Bytes)
				io += float64(x.IOWriteBytes)
				if x.EngineWriteAmp > 0 {
					weighted += x.EngineWriteAmp * float64(x.Bytes)
					weightedBytes += float64(x.Bytes)
				}
			case "space":
				s.DiskBytes, s.LiveBytes, s.SpaceNote = x.DiskBytes, x.LiveBytes, x.Note
				if x.LiveBytes > 0 {
					s.SpaceAmp = float64(x.DiskBytes) / float64(x.LiveBytes)
				}
			}
		}
		if user > 0 {
			s.WriteAmpIO = io / user
		}
		if weightedBytes > 0 {
			s.WriteAmpEngine = weighted / weightedBytes
		}
		r.Summary = append(r.Summary, s)
	}
}

func compareReports(prev, now *Report) *Changes {
	if prev == nil {
		return nil
	}
	c := &Changes{PrevTime: prev.Time, PrevCmd: prev.Command, Same: comparable(prev.Params) == comparable(now.Params)}
	for _, x := range now.Results {
		if x.Error != "" || x.OpsPerSec == 0 {
			continue
		}
		if p, ok := prev.resultAt(x.Engine, x.Workload, now.passOf(x)); ok && p.Error == "" && p.OpsPerSec > 0 {
			c.Rows = append(c.Rows, Change{Engine: x.Engine, Workload: x.Workload, Pass: now.passOf(x), Prev: p.OpsPerSec, Now: x.OpsPerSec})
		}
	}
	return c
}

// ratio is Strata's ops/s over the peer's for one workload, or "" when
// either is missing.
func (r *Report) ratio(peer, workload string) (float64, bool) {
	s, ok1 := r.result("strata", workload)
	p, ok2 := r.result(peer, workload)
	if !ok1 || !ok2 || s.Error != "" || p.Error != "" || s.OpsPerSec == 0 || p.OpsPerSec == 0 {
		return 0, false
	}
	return s.OpsPerSec / p.OpsPerSec, true
}

// cpuPerOp is an engine's CPU seconds per operation on a workload.
func (r *Report) cpuPerOp(engine, workload string) (float64, bool) {
	x, ok := r.result(engine, workload)
	if !ok || x.Error != "" || x.CPUSeconds <= 0 || x.Ops == 0 {
		return 0, false
	}
	return x.CPUSeconds / float64(x.Ops), true
}

// isStrata reports whether e is Strata or one of its configurations
// (strata-ml), which are never counted as peers.
func isStrata(e string) bool { return e == "strata" || strings.HasPrefix(e, "strata-") }

// strataEngines are the Strata configurations of the run.
func (r *Report) strataEngines() []string {
	var out []string
	for _, e := range r.Engines {
		if isStrata(e) {
			out = append(out, e)
		}
	}
	return out
}

func (r *Report) peers() []string {
	var out []string
	for _, e := range r.Engines {
		if !isStrata(e) {
			out = append(out, e)
		}
	}
	return out
}

func (r *Report) hasStrata() bool {
	for _, e := range r.Engines {
		if e == "strata" {
			return true
		}
	}
	return false
}

// markdown renders the report; chartDir prefixes the chart paths.
func (r *Report) markdown(charts []string, chartDir string) string {
	var b strings.Builder
	p := r.Params
	fmt.Fprintf(&b, "# Strata benchmark results\n\n")
	fmt.Fprintf(&b, "Run %s, %s in all.\n\n", r.Time, r.Elapsed)
	fmt.Fprintf(&b, "    %s\n\n", r.Command)
	fmt.Fprintf(&b, "(`go run . -h` lists the flags and workloads; `-publish .` also rewrites bench/RESULTS.md and bench/charts/; "+
		"`-render results/results.json` redraws the tables and charts of a finished run. Other modes: `-memlimit 1GiB,512MiB` "+
		"runs every child in a memory cgroup of each limit (root); `-big` is the big-data preset (20M keys at 1 GiB and 512 MiB: "+
		"fillrandom, settle, reads, scans, YCSB A and B); `-sizes 1M,10M,50M` draws the cost curve; "+
		"`-workloads fillseq-batch,fillrandom-batch` compares bulk loads.)\n\n")
	m := r.Machine
	fmt.Fprintf(&b, "**Machine**: %d CPUs, %s, %d MiB RAM, %s, %s; databases on %s.\n\n",
		m.CPUs, m.CPUModel, m.MemoryMiB, m.Kernel, m.GoVersion, m.Filesystem)
	maxLoad := 0.0
	for _, x := range r.Results {
		maxLoad = math.Max(maxLoad, x.LoadAvg)
	}
	fmt.Fprintf(&b, "**Load**: 1-minute load average %.2f at the start, %.2f at most after a workload "+
		"(the harness itself keeps one or two CPUs busy", r.Machine.LoadAvg, maxLoad)
	if maxLoad > float64(m.CPUs)+0.5 {
		fmt.Fprintf(&b, "; above %d, other processes were competing for the CPUs and the figures are noisy", m.CPUs)
	}
	fmt.Fprintf(&b, ").\n\n")
	keys := fmt.Sprintf("%d keys", p.Keys)
	if ps := r.passes(); len(ps) > 1 || ps[0].MemLimit > 0 {
		names := make([]string, len(ps))
		for i, x := range ps {
			names[i] = x.String()
		}
		keys = fmt.Sprintf("%d passes (%s), keys", len(ps), strings.Join(names, "; "))
	}
	fmt.Fprintf(&b, "**Parameters**: %s of %d bytes, values of %d bytes (about half compressible); "+
		"%d client threads for reads and YCSB; %s per timed workload, %s per sync workload; TTL %s; "+
		"%d MiB block cache%s; fill batch %d%s.\n\n",
		keys, keyLen, p.Value, p.Threads, p.Duration, p.SyncDuration, p.TTL, p.CacheMiB, memtableParam(p.MemtableMiB), p.Batch, ycsbOpsParam(p.YCSBOps))

	passes := r.passes()
	if len(passes) == 1 && passes[0].MemLimit == 0 {
		r.view(passes[0]).body(&b, "", true)
	} else {
		r.passOverview(&b)
		for i, ps := range passes {
			fmt.Fprintf(&b, "## %s\n\n", ps)
			r.view(ps).body(&b, "#", i == 0)
		}
	}

	if len(charts) > 0 {
		fmt.Fprintf(&b, "## Charts\n\n")
		for _, c := range charts {
			fmt.Fprintf(&b, "![%s](%s%s)\n\n", strings.TrimSuffix(c, ".png"), chartDir, c)
		}
	}

	fmt.Fprintf(&b, "## Options\n\n")
	fmt.Fprintf(&b, "Each engine runs its documented defaults, with a %d MiB block cache where it has one. "+
		"Workloads other than write*-always ask for no fsync per write: Strata runs its default SyncEverySec "+
		"(an fsync a second in the background), the peers write without sync (bbolt: `NoSync`, where its default is an "+
		"fsync per commit). write*-always: Strata SyncAlways, the peers their per-write sync.\n\n", p.CacheMiB)
	for _, e := range r.Engines {
		fmt.Fprintf(&b, "- **%s**: %s. TTL: %s.\n", e, r.Options[e], r.TTL[e])
	}
	b.WriteString("\n")

	fmt.Fprintf(&b, "## Changes since the previous run\n\n")
	if r.Changes == nil || len(r.Changes.Rows) == 0 {
		fmt.Fprintf(&b, "No previous run to compare with.\n")
	} else {
		c := r.Changes
		fmt.Fprintf(&b, "Previous run %s (`%s`)", c.PrevTime, c.PrevCmd)
		if !c.Same {
			fmt.Fprintf(&b, "; **its parameters differ**, so changes are not like for like")
		}
		fmt.Fprintf(&b, ". Strata's ops/s, and the changes of 10%% or more of any engine:\n\n")
		multi := len(r.passes()) > 1
		if multi {
			fmt.Fprintf(&b, "| engine | pass | workload | before | now | change |\n|---|---|---|---:|---:|---:|\n")
		} else {
			fmt.Fprintf(&b, "| engine | workload | before | now | change |\n|---|---|---:|---:|---:|\n")
		}
		rows := append([]Change(nil), c.Rows...)
		sort.SliceStable(rows, func(i, j int) bool { return rows[i].Engine == "strata" && rows[j].Engine != "strata" })
		for _, x := range rows {
			d := x.Now/x.Prev - 1
			if x.Engine != "strata" && math.Abs(d) < 0.10 {
				continue
			}
			if multi {
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %+.0f%% |\n", x.Engine, x.Pass, x.Workload, fmtOps(x.Prev), fmtOps(x.Now), 100*d)
			} else {
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %+.0f%% |\n", x.Engine, x.Workload, fmtOps(x.Prev), fmtOps(x.Now), 100*d)
			}
		}
	}
	return b.String()
}

// body renders one pass: the ratio tables, the engine summary and a table
// per workload; h deepens the headings.
func (r *Report) body(b *strings.Builder, h string, explain bool) {
	peers := r.peers()
	if r.hasStrata() && len(peers) > 0 {
		fmt.Fprintf(b, "%s## Strata's throughput over each peer's\n\n", h)
		fmt.Fprintf(b, "Strata ops/s ÷ peer ops/s, per workload: above 1 Strata is faster; **bold** where Strata trails.\n\n")
		fmt.Fprintf(b, "| workload |")
		for _, e := range peers {
			fmt.Fprintf(b, " %s |", e)
		}
		fmt.Fprintf(b, "\n|---|%s\n", strings.Repeat("---:|", len(peers)))
		for _, w := range r.resultWorkloads() {
			fmt.Fprintf(b, "| %s |", w)
			for _, e := range peers {
				if x, ok := r.ratio(e, w); ok {
					fmt.Fprintf(b, " %s |", fmtRatio(x))
				} else {
					fmt.Fprintf(b, " – |")
				}
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")

		fmt.Fprintf(b, "Same comparison by CPU time per operation (peer CPU/op ÷ Strata CPU/op, background work included): "+
			"above 1 Strata spends less CPU. It moves less than ops/s when other processes load the machine.\n\n")
		fmt.Fprintf(b, "| workload |")
		for _, e := range peers {
			fmt.Fprintf(b, " %s |", e)
		}
		fmt.Fprintf(b, "\n|---|%s\n", strings.Repeat("---:|", len(peers)))
		for _, w := range r.resultWorkloads() {
			if _, ok := r.cpuPerOp("strata", w); !ok {
				continue
			}
			fmt.Fprintf(b, "| %s |", w)
			for _, e := range peers {
				s, _ := r.cpuPerOp("strata", w)
				if pc, ok := r.cpuPerOp(e, w); ok {
					fmt.Fprintf(b, " %s |", fmtRatio(pc/s))
				} else {
					fmt.Fprintf(b, " – |")
				}
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}

	fmt.Fprintf(b, "%s## Engines\n\n", h)
	fmt.Fprintf(b, "| engine | write amp (engine) | write amp (disk I/O) | space amp | disk | live data | peak RSS | peak in | peak anon RSS | cgroup peak |\n")
	fmt.Fprintf(b, "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|\n")
	for _, s := range r.Summary {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", s.Engine,
			fmtAmp(s.WriteAmpEngine), fmtAmp(s.WriteAmpIO), fmtAmp(s.SpaceAmp),
			fmtBytes(s.DiskBytes), fmtBytes(s.LiveBytes), fmtBytes(s.PeakRSS), s.PeakRSSWorkload, fmtBytes(s.PeakAnon),
			fmtBytes(s.CgroupPeak))
	}
	b.WriteString("\n")
	if !explain {
		fmt.Fprintf(b, "(Columns as explained in the first section.)\n\n")
	} else {
		fmt.Fprintf(b, "- **write amp (engine)**: the engine's own metric over fillrandom + overwrite, weighted by bytes written: "+
			"Strata `Metrics().WriteAmp` ((WAL + flush + compaction bytes) / user bytes), Pebble `Metrics().Total().WriteAmp()` "+
			"((WAL + flushed + compacted) / WAL bytes); the others have none (–).\n")
		fmt.Fprintf(b, "- **write amp (disk I/O)**: `write_bytes` of `/proc/self/io` of the child process, from before Open to after Close "+
			"(so including the flush before Close and the work Close waits for), over the key+value bytes written, "+
			"over fillrandom + overwrite. It counts every page the process dirtied, WAL, tables, value log, MANIFEST and mmap writes alike.\n")
		fmt.Fprintf(b, "- **space amp**: `du` of the data set after the last workload (YCSB inserts and deleterandom included) and a full compaction "+
			"where the engine offers one (Strata `Compact(nil, nil)`, Pebble `Compact`, goleveldb `CompactRange`, Badger `Flatten` + value-log GC; "+
			"bbolt has none), over the live key+value bytes counted by a full scan.\n")
		fmt.Fprintf(b, "- **peak RSS**: `VmHWM` of the child process that ran the engine, the largest over its workloads; each child is a "+
			"fresh process, so it is the engine's (plus the harness's few MiB: a 1 MiB value buffer; the random key order is computed, not stored). "+
			"It includes the pages of files the engine maps (Strata's tables and WAL segments, bbolt's data file, any file a peer maps), "+
			"which the kernel can drop and reread.\n")
		fmt.Fprintf(b, "- **peak anon RSS**: the largest `RssAnon` (private resident memory: Go heap, stacks, anonymous mappings; "+
			"no file pages) sampled every 20 ms in any of the engine's children.\n")
		fmt.Fprintf(b, "- **cgroup peak** (under -memlimit): the peak usage of the child's memory cgroup (`memory.max_usage_in_bytes`, "+
			"v2 `memory.peak`): the process's memory and the page cache it brought in, which the limit bounds.\n\n")
	}

	fmt.Fprintf(b, "%s## Workloads\n\n", h)
	if explain {
		fmt.Fprintf(b, "Latency is per operation (per batch with -batch > 1), from a log-bucketed histogram (±3%%). "+
			"\"Strata ÷\" is Strata's ops/s over that engine's. Reads run in a new process after the load, "+
			"which flushed its memtable, so they read the files (through the OS page cache); compaction work the load left "+
			"behind runs during them, as it would in service. Every engine gets the same harness cost per operation "+
			"(two clock reads, a histogram increment, and for reads a copy of the value). "+
			"CPU/op is the child process's user+system CPU time over the workload (the engine's background "+
			"flushes and compactions included) per operation: less sensitive than ops/s to other load on the machine. "+
			"read/op is `read_bytes` of `/proc/self/io` over the measured phase per operation: bytes really fetched from "+
			"storage (page-cache misses), so it shows when the working set no longer fits in the memory the engine has. "+
			"peak RSS is the child's `VmHWM`; W-amp the engine's own write amplification and I/O W-amp the child's "+
			"`write_bytes` over the bytes written; L0 and debt are the engine's state when the workload ended, before "+
			"the flush and Close (see the settle workload).\n\n")
	}
	for _, w := range r.resultWorkloads() {
		about := ""
		if wl := findWorkload(w); wl != nil {
			about = " — " + wl.about
		} else if w == "ttl-put" {
			about = " — " + findWorkload("ttl").about
		}
		fmt.Fprintf(b, "%s### %s%s\n\n", h, w, about)
		r.workloadTable(b, w)
	}
}

func mdEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", "\\|"), "\n", " ")
}

func fmtRatio(x float64) string {
	s := fmt.Sprintf("%.2f×", x)
	if x < 0.995 {
		return "**" + s + "**"
	}
	return s
}

func fmtAmp(x float64) string {
	if x == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f", x)
}

func fmtOps(x float64) string {
	switch {
	case x >= 1e6:
		return fmt.Sprintf("%.2fM", x/1e6)
	case x >= 1e4:
		return fmt.Sprintf("%.0fk", x/1e3)
	case x >= 1e3:
		return fmt.Sprintf("%.1fk", x/1e3)
	default:
		return fmt.Sprintf("%.0f", x)
	}
}

func fmtLatency(us float64) string {
	switch {
	case us >= 1e6:
		return fmt.Sprintf("%.2f s", us/1e6)
	case us >= 1e3:
		return fmt.Sprintf("%.2f ms", us/1e3)
	case us >= 10:
		return fmt.Sprintf("%.0f µs", us)
	default:
		return fmt.Sprintf("%.1f µs", us)
	}
}

func fmtBytes(n int64) string {
	switch {
	case n == 0:
		return "–"
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
}

// comparable keeps the parameters that change what is measured.
func comparable(p Params) Params {
	p.Scratch, p.InsertBase, p.CPUProfile, p.MemProfile, p.SettleTimeout = "", 0, "", "", 0
	return p
}

// memtableParam names -memtable in the parameters line when it was given.
func memtableParam(mib int64) string {
	if mib == 0 {
		return ""
	}
	return fmt.Sprintf("; %d MiB memtables for every engine (-memtable)", mib)
}

// ycsbOpsParam describes -ycsbops for the parameters line.
func ycsbOpsParam(n int64) string {
	if n <= 0 {
		return ""
	}
	return fmt.Sprintf("; YCSB workloads end after %d operations (the time per workload caps them)", n)
}

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// Report is everything a run measured; it is saved as JSON so the tables
// and charts can be drawn again (-render).
type Report struct {
	Started       time.Time
	Elapsed       string
	Command       string
	Machine       Machine
	Params        Params
	Load          LoadSummary
	Lines         []Line
	Memory        []MemLine
	Beyond        []BeyondSample
	BeyondSummary []BeyondSummary
	Restart       []RestartLine
	Notes         []string
}

// Params are the settings of a run.
type Params struct {
	Keys      int64
	Clients   int
	Warmup    string
	Duration  string
	Fsyncs    []string
	Values    []int
	Pipelines []int
	// StrataMaxMemory is strata-server's --maxmemory (0: the defaults).
	StrataMaxMemory int64 `json:",omitempty"`
}

func (r *Report) add(ln Line) { r.Lines = append(r.Lines, ln) }

func (r *Report) save(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func loadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	return &r, json.Unmarshal(b, &r)
}

// find returns the line of a setting, or nil.
func (r *Report) find(tool, fsync string, value, pipeline int, wl, srv string) *Line {
	for i := range r.Lines {
		l := &r.Lines[i]
		if l.Tool == tool && l.Fsync == fsync && l.Value == value && l.Pipeline == pipeline && l.Workload == wl && l.Server == srv {
			return l
		}
	}
	return nil
}

// uniq lists the distinct values of a field in first-seen order.
func uniq[T comparable](lines []Line, f func(Line) T) []T {
	var out []T
	for _, l := range lines {
		if v := f(l); !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// ratio is Strata's ops/s over Redis's for a setting; ok is false when
// either is missing.
func (r *Report) ratio(tool, fsync string, value, pipeline int, wl string) (float64, *Line, *Line, bool) {
	rd := r.find(tool, fsync, value, pipeline, wl, "redis")
	st := r.find(tool, fsync, value, pipeline, wl, "strata")
	if rd == nil || st == nil || rd.Skipped != "" || st.Skipped != "" || rd.OpsPerSec == 0 {
		return 0, rd, st, false
	}
	return st.OpsPerSec / rd.OpsPerSec, rd, st, true
}

// target is the ratio a line must reach: 2x Redis for writes under
// appendfsync always, 1x otherwise.
func targetRatio(fsync, wl string) float64 {
	if w := findWorkload(wl); w != nil && w.Write && fsync == "always" {
		return 2
	}
	return 1
}

func valueLabel(v int) string {
	if v%1024 == 0 {
		return fmt.Sprintf("%d KiB", v/1024)
	}
	return fmt.Sprintf("%d B", v)
}

func human(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}

func fmtRate(v float64) string {
	if v >= 1e6 {
		return fmt.Sprintf("%.2fM", v/1e6)
	}
	if v >= 1e3 {
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func fmtMs(v float64) string {
	switch {
	case v == 0:
		return "–"
	case v < 1:
		return fmt.Sprintf("%.2f", v)
	case v < 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// markdown renders the tables of the report.
func (r *Report) markdown(chartDir string, charts []string) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	m := r.Machine
	p("Run %s, %s in all.\n\n", r.Started.UTC().Format(time.RFC3339), r.Elapsed)
	p("    %s\n\n", r.Command)
	p("**Machine**: %d CPUs (%s), %d MiB RAM, %s, %s; servers' directories on %s. %s; %s.\n\n",
		m.CPUs, m.CPUModel, m.MemoryMiB, m.Kernel, m.GoVersion, m.Filesystem, m.Redis, m.Benchmark)
	p("**The load generators and both servers share the %d cores**: every figure is the server's "+
		"throughput while the client takes its own share of the same CPUs. "+
		"1-minute load average during the run: %.1f at least, %.1f on average, %.1f at most (%d samples; "+
		"other work on the machine included).\n\n", m.CPUs, r.Load.Min, r.Load.Mean, r.Load.Max, r.Load.Samples)
	if len(r.Lines) > 0 {
		pr := r.Params
		p("**Parameters**: %d clients; keyspace %d keys (preloaded with `SET key:<k>` values); values %v bytes (incompressible, redis-benchmark's excepted); "+
			"pipelines %v; %s warmup, then %s measured per line; appendfsync %v. Each server fresh in its own "+
			"directory per (appendfsync, value size); Redis and Strata lines run one after the other.\n\n",
			pr.Clients, pr.Keys, pr.Values, pr.Pipelines, pr.Warmup, pr.Duration, pr.Fsyncs)
		if pr.StrataMaxMemory > 0 {
			p("strata-server runs with `--maxmemory %d` (%s: a quarter of it is the block cache, an eighth each memtable).\n\n",
				pr.StrataMaxMemory, human(pr.StrataMaxMemory))
		} else if bc := r.strataBlockCache(); bc > 0 {
			p("strata-server runs without `--maxmemory`: a %s block cache (INFO strata block_cache_capacity) and 64 MiB memtables.\n\n", human(bc))
		} else {
			p("strata-server runs without `--maxmemory`, with its default memory: 64 MiB memtables and a block cache of " +
				"64 MiB up to commit 78185bf, 256 MiB from it (this run's results do not record which).\n\n")
		}
		r.summaryTable(&b)
		r.ratioTables(&b)
		r.cpuTables(&b)
		r.detailTables(&b)
		r.rbTables(&b)
		r.memoryTable(&b)
		r.problems(&b)
	}
	if len(r.BeyondSummary) > 0 {
		r.beyondTable(&b)
	}
	if len(r.Restart) > 0 {
		r.restartTable(&b)
	}
	if len(charts) > 0 {
		p("### Charts\n\n")
		for _, c := range charts {
			p("![%s](%s/%s)\n\n", strings.TrimSuffix(c, ".png"), chartDir, c)
		}
	}
	return b.String()
}

// settings are the (pipeline, value) columns of the ratio tables.
func (r *Report) settings(tool string) (pipes, values []int) {
	var ls []Line
	for _, l := range r.Lines {
		if l.Tool == tool {
			ls = append(ls, l)
		}
	}
	return uniq(ls, func(l Line) int { return l.Pipeline }), uniq(ls, func(l Line) int { return l.Value })
}

func (r *Report) ratioTables(b *strings.Builder) {
	pipes, values := r.settings("go-redis")
	wls := uniq(r.Lines, func(l Line) string { return l.Workload })
	fsyncs := uniq(r.Lines, func(l Line) string { return l.Fsync })
	fmt.Fprintf(b, "### Strata over Redis (go-redis load generator)\n\n")
	fmt.Fprintf(b, "Strata's ops/s ÷ Redis's, and in brackets Strata's p99 ÷ Redis's p99. **Bold**: a target missed "+
		"(appendfsync always: 2x on writes; otherwise 1x on ops/s and p99 at most 2x Redis's).\n\n")
	for _, fs := range fsyncs {
		fmt.Fprintf(b, "appendfsync **%s**\n\n| workload |", fs)
		for _, pp := range pipes {
			for _, v := range values {
				fmt.Fprintf(b, " P%d, %s |", pp, valueLabel(v))
			}
		}
		b.WriteString("\n|---|")
		for range len(pipes) * len(values) {
			b.WriteString("---:|")
		}
		b.WriteString("\n")
		for _, wl := range wls {
			fmt.Fprintf(b, "| %s |", wl)
			for _, pp := range pipes {
				for _, v := range values {
					q, rd, st, ok := r.ratio("go-redis", fs, v, pp, wl)
					if !ok {
						b.WriteString(" " + skipShort(rd, st) + " |")
						continue
					}
					cell := fmt.Sprintf("%.2fx", q)
					if q < targetRatio(fs, wl) {
						cell = "**" + cell + "**"
					}
					lat := ""
					if rd.P99 > 0 {
						lr := st.P99 / rd.P99
						lat = fmt.Sprintf("%.1f", lr)
						if fs != "always" && lr > 2 {
							lat = "**" + lat + "**"
						}
					}
					fmt.Fprintf(b, " %s (%s) |", cell, lat)
				}
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
}

func skipShort(rd, st *Line) string {
	switch {
	case unsupported(st) || unsupported(rd):
		return "unsupported¹"
	case rd == nil || st == nil:
		return "–"
	}
	return "n/a"
}

// summaryTable gives, per appendfsync mode and load generator, the median
// of Strata's ops/s over Redis's across the measured lines of write
// commands and of reads, and the median of Redis's CPU per operation over
// Strata's (above 1: Strata spends less CPU on an operation). The medians
// say where Strata stands on this noisy machine better than any one line.
func (r *Report) summaryTable(b *strings.Builder) {
	fsyncs := uniq(r.Lines, func(l Line) string { return l.Fsync })
	tools := uniq(r.Lines, func(l Line) string { return l.Tool })
	fmt.Fprintf(b, "### Summary: medians over the measured lines\n\n")
	fmt.Fprintf(b, "Strata's ops/s ÷ Redis's, median over every (workload, pipeline, value size) both servers ran; "+
		"in brackets how many lines. CPU: Redis's CPU seconds per operation ÷ Strata's (above 1: Strata spends less).\n\n")
	b.WriteString("| appendfsync | load generator | writes: ops/s ratio | reads: ops/s ratio | writes: CPU ratio | reads: CPU ratio |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|\n")
	for _, fs := range fsyncs {
		for _, tool := range tools {
			var wr, rd, wc, rc []float64
			for _, l := range r.Lines {
				if l.Tool != tool || l.Fsync != fs || l.Server != "redis" {
					continue
				}
				q, rl, sl, ok := r.ratio(tool, fs, l.Value, l.Pipeline, l.Workload)
				if !ok {
					continue
				}
				w := findWorkload(l.Workload)
				c := 0.0
				if sl.CPUPerMillion > 0 {
					c = rl.CPUPerMillion / sl.CPUPerMillion
				}
				if w != nil && w.Write {
					wr, wc = append(wr, q), append(wc, c)
				} else {
					rd, rc = append(rd, q), append(rc, c)
				}
			}
			if len(wr)+len(rd) == 0 {
				continue
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |\n", fs, tool, medianCell(wr), medianCell(rd), medianCell(wc), medianCell(rc))
		}
	}
	b.WriteString("\n")
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func medianCell(v []float64) string {
	if len(v) == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2fx (%d)", median(v), len(v))
}

// cpuTables: Redis's CPU seconds per operation over Strata's, per line of
// the go-redis generator (above 1: Strata spends less CPU on an operation).
// CPU per operation moves less with the machine's load than ops/s does.
func (r *Report) cpuTables(b *strings.Builder) {
	pipes, values := r.settings("go-redis")
	wls := uniq(r.Lines, func(l Line) string { return l.Workload })
	fsyncs := uniq(r.Lines, func(l Line) string { return l.Fsync })
	fmt.Fprintf(b, "### CPU per operation: Redis's ÷ Strata's (go-redis load generator)\n\n")
	fmt.Fprintf(b, "Server CPU seconds (user+system) per million operations, Redis's over Strata's: above 1, Strata "+
		"spends less CPU on an operation. Strata's includes its background work (flushes, compactions), Redis's its AOF rewrites.\n\n")
	for _, fs := range fsyncs {
		fmt.Fprintf(b, "appendfsync **%s**\n\n| workload |", fs)
		for _, pp := range pipes {
			for _, v := range values {
				fmt.Fprintf(b, " P%d, %s |", pp, valueLabel(v))
			}
		}
		b.WriteString("\n|---|")
		for range len(pipes) * len(values) {
			b.WriteString("---:|")
		}
		b.WriteString("\n")
		for _, wl := range wls {
			row := fmt.Sprintf("| %s |", wl)
			any := false
			for _, pp := range pipes {
				for _, v := range values {
					_, rd, st, ok := r.ratio("go-redis", fs, v, pp, wl)
					if !ok || st.CPUPerMillion == 0 {
						row += " " + skipShort(rd, st) + " |"
						continue
					}
					any = true
					row += fmt.Sprintf(" %.2f |", rd.CPUPerMillion/st.CPUPerMillion)
				}
			}
			if any {
				b.WriteString(row + "\n")
			}
		}
		b.WriteString("\n")
	}
}

// unsupported reports whether a line was not measured because the server
// refuses its command.
func unsupported(l *Line) bool { return l != nil && strings.HasPrefix(l.Skipped, unsupportedPrefix) }

func (r *Report) detailTables(b *strings.Builder) {
	fsyncs := uniq(r.Lines, func(l Line) string { return l.Fsync })
	fmt.Fprintf(b, "### Every line (go-redis load generator)\n\n")
	fmt.Fprintf(b, "Latency in ms (a pipelined request's latency is its pipeline's round trip); CPU: server CPU seconds "+
		"(user+system, /proc/PID/stat) per million operations; peak RSS: the server's VmHWM over the line; "+
		"load: the machine's 1-minute load average at the end of the line. MSET (10 keys) and MULTI/EXEC (5 commands) count one operation each.\n\n")
	for _, fs := range fsyncs {
		fmt.Fprintf(b, "<details><summary>appendfsync %s</summary>\n\n", fs)
		b.WriteString("| workload | P | value | Redis ops/s | Strata ops/s | ratio | Redis p50/p99/p99.9 | Strata p50/p99/p99.9 | CPU s/M Redis | CPU s/M Strata | peak RSS Redis | peak RSS Strata | load |\n")
		b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, l := range r.Lines {
			if l.Tool != "go-redis" || l.Fsync != fs || l.Server != "redis" {
				continue
			}
			st := r.find("go-redis", fs, l.Value, l.Pipeline, l.Workload, "strata")
			fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %.1f |\n",
				l.Workload, l.Pipeline, valueLabel(l.Value), rateCell(&l), rateCell(st), ratioCell(&l, st),
				latCell(&l), latCell(st), cpuCell(&l), cpuCell(st), rssCell(&l), rssCell(st), l.Load1)
		}
		b.WriteString("\n</details>\n\n")
	}
}

func rateCell(l *Line) string {
	if unsupported(l) {
		return "unsupported"
	}
	if l == nil || l.Skipped != "" {
		return "–"
	}
	s := fmtRate(l.OpsPerSec)
	if l.Forks > 0 {
		s += "²"
	}
	if l.Errors > 0 {
		s += fmt.Sprintf(" (%d errors)", l.Errors)
	}
	return s
}

func ratioCell(rd, st *Line) string {
	if rd == nil || st == nil || rd.Skipped != "" || st.Skipped != "" || rd.OpsPerSec == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2fx", st.OpsPerSec/rd.OpsPerSec)
}

func latCell(l *Line) string {
	if l == nil || l.Skipped != "" {
		return "–"
	}
	if l.P999 == 0 {
		return fmtMs(l.P50) + " / " + fmtMs(l.P99)
	}
	return fmtMs(l.P50) + " / " + fmtMs(l.P99) + " / " + fmtMs(l.P999)
}

func cpuCell(l *Line) string {
	if l == nil || l.Skipped != "" {
		return "–"
	}
	return fmt.Sprintf("%.1f", l.CPUPerMillion)
}

func rssCell(l *Line) string {
	if l == nil || l.Skipped != "" || l.PeakRSS == 0 {
		return "–"
	}
	return human(l.PeakRSS)
}

func (r *Report) rbTables(b *strings.Builder) {
	has := false
	for _, l := range r.Lines {
		has = has || (l.Tool == "redis-benchmark" && l.Skipped == "")
	}
	if !has {
		return
	}
	fsyncs := uniq(r.Lines, func(l Line) string { return l.Fsync })
	fmt.Fprintf(b, "### redis-benchmark\n\n")
	fmt.Fprintf(b, "The same settings driven by Debian's redis-benchmark (C, lighter on the shared CPUs than the Go "+
		"generator; writes go to `rb:` keys, reads to the keys the generator wrote; its CSV gives p50 and p99, no p99.9; "+
		"it cannot send MULTI/EXEC).\n\n")
	for _, fs := range fsyncs {
		fmt.Fprintf(b, "<details><summary>appendfsync %s</summary>\n\n", fs)
		b.WriteString("| workload | P | value | Redis ops/s | Strata ops/s | ratio | Redis p50/p99 | Strata p50/p99 | CPU s/M Redis | CPU s/M Strata |\n")
		b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, l := range r.Lines {
			if l.Tool != "redis-benchmark" || l.Fsync != fs || l.Server != "redis" || l.Skipped != "" {
				continue
			}
			st := r.find("redis-benchmark", fs, l.Value, l.Pipeline, l.Workload, "strata")
			fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				l.Workload, l.Pipeline, valueLabel(l.Value), rateCell(&l), rateCell(st), ratioCell(&l, st),
				latCell(&l), latCell(st), cpuCell(&l), cpuCell(st))
		}
		b.WriteString("\n</details>\n\n")
	}
}

func (r *Report) memoryTable(b *strings.Builder) {
	if len(r.Memory) == 0 {
		return
	}
	fmt.Fprintf(b, "### Memory per key after the preload\n\n")
	fmt.Fprintf(b, "Redis's `used_memory` (INFO) is its dataset and buffers; Strata's data lives on disk, so its "+
		"figure is the process's RSS (memtables, block cache, Go heap and runtime). Disk: the server's directory.\n\n")
	b.WriteString("| appendfsync | value | server | keys | used_memory | RSS | bytes/key (used_memory) | bytes/key (RSS) | disk | disk bytes/key | preload |\n")
	b.WriteString("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, m := range r.Memory {
		per := func(v int64) string {
			if m.Keys == 0 {
				return "–"
			}
			return fmt.Sprintf("%.0f", float64(v)/float64(m.Keys))
		}
		fmt.Fprintf(b, "| %s | %s | %s | %d | %s | %s | %s | %s | %s | %s | %.1fs |\n",
			m.Fsync, valueLabel(m.Value), m.Server, m.Keys, human(m.UsedMemory), human(m.RSS),
			per(m.UsedMemory), per(m.RSS), human(m.Disk), per(m.Disk), m.PreloadSec)
	}
	b.WriteString("\n")
}

func (r *Report) problems(b *strings.Builder) {
	var skipped, errs []string
	for _, l := range r.Lines {
		id := fmt.Sprintf("%s %s P%d %s %s (%s)", l.Fsync, valueLabel(l.Value), l.Pipeline, l.Workload, l.Server, l.Tool)
		switch {
		case l.Skipped != "":
			skipped = append(skipped, l.Workload+" on "+l.Server+" ("+l.Tool+"): "+l.Skipped)
		case l.Errors > 0:
			errs = append(errs, fmt.Sprintf("%s: %d errors, first: %s", id, l.Errors, l.FirstError))
		}
	}
	if len(skipped) > 0 {
		slices.Sort(skipped)
		skipped = slices.Compact(skipped)
		b.WriteString("¹ Unsupported or not measured:\n\n")
		for _, s := range skipped {
			b.WriteString("- " + s + "\n")
		}
		b.WriteString("\n")
	}
	forked := false
	for _, l := range r.Lines {
		forked = forked || l.Forks > 0
	}
	if forked {
		b.WriteString("² Redis forked during the line (an AOF rewrite, `auto-aof-rewrite-percentage 100`): the fork and its copy-on-write faults count in its CPU and latency, as they do in production.\n\n")
	}
	if len(errs) > 0 {
		b.WriteString("Lines with failed checks or errors:\n\n")
		for _, s := range errs {
			b.WriteString("- " + s + "\n")
		}
		b.WriteString("\n")
	}
}

func (r *Report) beyondTable(b *strings.Builder) {
	fmt.Fprintf(b, "### Beyond memory\n\n")
	b.WriteString("| run | cgroup limit | maxmemory | GOMEMLIMIT | keys written (of target) | time writing | mean SETs/s | SETs/s, last minute | first refusal at | peak RSS | peak cgroup usage | disk | random GETs/s after | GET p99 (ms) | end |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, s := range r.BeyondSummary {
		refusal := "never"
		if s.FirstRefusal > 0 || s.FirstError != "" {
			refusal = fmt.Sprintf("%.2fM keys: `%s`", float64(s.FirstRefusal)/1e6, abbrev(s.FirstError))
		}
		end := "serving"
		if s.Killed != "" {
			end = s.Killed
		}
		gml := "–"
		if s.GoMemLimit > 0 {
			gml = human(s.GoMemLimit)
		}
		mm := "none"
		if s.MaxMemory > 0 && s.Run != "redis unlimited" {
			mm = human(s.MaxMemory)
		}
		reads := "–"
		if s.ReadRate > 0 {
			reads = fmt.Sprintf("%s (%d checked, %d wrong)", fmtRate(s.ReadRate), s.ReadChecked, s.ReadBad)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %.2fM (%.0fM) | %.0fs | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			s.Run, human(s.Limit), mm, gml, float64(s.KeysWritten)/1e6, float64(s.TargetKeys)/1e6, s.Seconds,
			fmtRate(s.MeanRate), fmtRate(s.LastMinRate), refusal, human(s.PeakRSS), human(s.PeakCgroup), human(s.Disk),
			reads, fmtMs(s.ReadP99), end)
	}
	b.WriteString("\n")
}

func (r *Report) restartTable(b *strings.Builder) {
	fmt.Fprintf(b, "### Restart after kill -9\n\n")
	b.WriteString("| server | keys | value | appendfsync | on disk at the kill | first connection accepted | first +PONG | DBSIZE after | keys read back |\n")
	b.WriteString("|---|---:|---:|---|---|---:|---:|---:|---:|\n")
	for _, l := range r.Restart {
		fmt.Fprintf(b, "| %s | %d | %s | %s | %s: %s | %.0f ms | %.0f ms | %d | %d/%d |\n",
			l.Server, l.Keys, valueLabel(l.Value), l.Fsync, human(l.Disk), l.Files, l.AcceptMs, l.PongMs, l.DBSize, l.Checked-l.Bad, l.Checked)
	}
	b.WriteString("\n")
}

// strataBlockCache is the largest block cache strata-server reported after
// a preload (0: the results predate the field).
func (r *Report) strataBlockCache() int64 {
	var bc int64
	for _, m := range r.Memory {
		bc = max(bc, m.BlockCache)
	}
	return bc
}

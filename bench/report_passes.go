package main

import (
	"fmt"
	"sort"
	"strings"
)

// passes is the run's passes; one at Params.Keys for runs from before
// passes existed.
func (r *Report) passes() []Pass {
	if len(r.Passes) == 0 {
		return []Pass{{Keys: r.Params.Keys}}
	}
	return r.Passes
}

func (r *Report) passOf(x Result) Pass {
	k := x.Keys
	if k == 0 {
		k = r.Params.Keys
	}
	return Pass{Keys: k, MemLimit: x.MemLimit}
}

// view is the report restricted to one pass, with its own summary.
func (r *Report) view(p Pass) *Report {
	v := *r
	v.Results = nil
	for _, x := range r.Results {
		if r.passOf(x) == p {
			v.Results = append(v.Results, x)
		}
	}
	v.Passes = []Pass{p}
	v.Params.Keys = p.Keys
	v.summarize()
	return &v
}

// resultAt finds one engine's result for a workload in a pass.
func (r *Report) resultAt(engine, workload string, p Pass) (Result, bool) {
	for _, x := range r.Results {
		if x.Engine == engine && x.Workload == workload && r.passOf(x) == p {
			return x, true
		}
	}
	return Result{}, false
}

// outcomeWord is the short form of a failed result's outcome.
func outcomeWord(x Result) string {
	switch x.Outcome {
	case "oom":
		return "**OOM**"
	case "timeout":
		return "**timeout**"
	case "skipped":
		return "skipped"
	}
	return "error"
}

// workloadTable is one workload's table: a row per engine.
func (r *Report) workloadTable(b *strings.Builder, w string) {
	limited := false
	for _, x := range r.Results {
		if x.MemLimit > 0 {
			limited = true
		}
	}
	fills := false
	if wl := findWorkload(w); wl != nil && wl.writes && !strings.HasPrefix(w, "ycsb") {
		fills = true
	}
	cols := []string{"engine", "mode", "ops/s", "MB/s", "p50", "p99", "p99.9", "CPU/op", "read/op", "peak RSS"}
	if limited {
		cols = append(cols, "cgroup peak")
	}
	if fills {
		cols = append(cols, "W-amp", "I/O W-amp", "L0 at end", "debt at end")
	}
	cols = append(cols, "Strata ÷", "note")
	fmt.Fprintf(b, "| %s |\n|", strings.Join(cols, " | "))
	for i := range cols {
		if i < 2 || i == len(cols)-1 {
			b.WriteString("---|")
		} else {
			b.WriteString("---:|")
		}
	}
	b.WriteString("\n")
	for _, e := range r.Engines {
		x, ok := r.result(e, w)
		if !ok {
			continue
		}
		row := []string{e, x.Mode}
		if x.Error != "" {
			row = append(row, outcomeWord(x))
			for len(row) < len(cols)-1 {
				row = append(row, "")
			}
			if limited {
				row[10] = fmtBytes(x.CgroupPeak)
			}
			row = append(row, mdEscape(x.Error))
			fmt.Fprintf(b, "| %s |\n", strings.Join(row, " | "))
			continue
		}
		ratio := ""
		if e != "strata" {
			if v, ok := r.ratio(e, w); ok {
				ratio = fmtRatio(v)
			}
		}
		note := x.Note
		if w == "readrandom" && x.Found < x.Ops {
			note = strings.TrimSpace(note + fmt.Sprintf(" %.2f%% found", pct(x.Found, x.Ops)))
		}
		cpu, readOp := "–", "–"
		if x.CPUSeconds > 0 && x.Ops > 0 {
			cpu = fmtLatency(x.CPUSeconds * 1e6 / float64(x.Ops))
		}
		if x.Ops > 0 {
			readOp = fmtPerOp(float64(x.IOReadBytes) / float64(x.Ops))
		}
		if x.Ops == 0 {
			row = append(row, "–", "–", "–", "–", "–", "–", readOp)
		} else {
			row = append(row, fmtOps(x.OpsPerSec), fmt.Sprintf("%.1f", x.MBPerSec), fmtLatency(x.P50us),
				fmtLatency(x.P99us), fmtLatency(x.P999us), cpu, readOp)
		}
		row = append(row, fmtBytes(x.PeakRSS))
		if limited {
			row = append(row, fmtBytes(x.CgroupPeak))
		}
		if fills {
			ioAmp := 0.0
			if x.Bytes > 0 {
				ioAmp = float64(x.IOWriteBytes) / float64(x.Bytes)
			}
			l0, debt := "–", "–"
			if x.HasState {
				l0 = fmt.Sprintf("%d", x.L0Tables)
				debt = fmtBytesOrZero(x.DebtBytes)
			}
			row = append(row, fmtAmp(x.EngineWriteAmp), fmtAmp(ioAmp), l0, debt)
		}
		row = append(row, ratio, mdEscape(note))
		fmt.Fprintf(b, "| %s |\n", strings.Join(row, " | "))
	}
	b.WriteString("\n")
}

// fmtPerOp prints bytes per operation.
func fmtPerOp(x float64) string {
	switch {
	case x == 0:
		return "0"
	case x >= 1<<20:
		return fmt.Sprintf("%.1f MiB", x/(1<<20))
	case x >= 10<<10:
		return fmt.Sprintf("%.0f KiB", x/(1<<10))
	case x >= 1<<10:
		return fmt.Sprintf("%.1f KiB", x/(1<<10))
	default:
		return fmt.Sprintf("%.0f B", x)
	}
}

// lsmPeers are the peers that are LSM trees, for "the fastest LSM peer".
var lsmPeers = map[string]bool{"pebble": true, "goleveldb": true, "badger": true}

// passOverview renders what spans passes: which children finished under
// each limit, Strata against the fastest LSM peer in every pass, and the
// cost curve when there are several sizes.
func (r *Report) passOverview(b *strings.Builder) {
	passes := r.passes()
	wls := r.resultWorkloads()
	limited := false
	for _, p := range passes {
		limited = limited || p.MemLimit > 0
	}
	if limited {
		fmt.Fprintf(b, "## Completion under each memory limit\n\n")
		fmt.Fprintf(b, "Each child (one engine, one workload) ran in a memory cgroup of that limit, its page cache included. "+
			"ok: it finished; **OOM**: the cgroup's OOM killer ended it (after how long); **timeout**: killed after -childtimeout; "+
			"skipped: its data set was never built. No GOMEMLIMIT is set: each engine runs as it would by default in a container.\n\n")
		fmt.Fprintf(b, "| engine | pass | %s |\n|---|---|%s\n", strings.Join(wls, " | "), strings.Repeat("---|", len(wls)))
		for _, e := range r.Engines {
			for _, p := range passes {
				cells := make([]string, len(wls))
				any := false
				for i, w := range wls {
					x, ok := r.resultAt(e, w, p)
					switch {
					case !ok:
						cells[i] = "–"
					case x.Error == "":
						cells[i], any = "ok", true
					case x.Outcome == "oom":
						cells[i], any = fmt.Sprintf("**OOM** %.1f s", x.Seconds), true
					default:
						cells[i], any = outcomeWord(x), true
					}
				}
				if any {
					fmt.Fprintf(b, "| %s | %s | %s |\n", e, p, strings.Join(cells, " | "))
				}
			}
		}
		b.WriteString("\n")
	}

	for _, se := range r.strataEngines() {
		fmt.Fprintf(b, "## %s against the fastest LSM peer\n\n", se)
		fmt.Fprintf(b, "Per pass and workload: %s's ops/s, the fastest of Pebble, goleveldb and Badger that finished, "+
			"and %s ÷ that peer (**bold** where it trails or did not finish).\n\n", se, se)
		fmt.Fprintf(b, "| workload |")
		for _, p := range passes {
			fmt.Fprintf(b, " %s |", p)
		}
		fmt.Fprintf(b, "\n|---|%s\n", strings.Repeat("---|", len(passes)))
		for _, w := range wls {
			fmt.Fprintf(b, "| %s |", w)
			for _, p := range passes {
				fmt.Fprintf(b, " %s |", r.vsFastestPeer(se, w, p))
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}

	if sizes, limits := r.curveAxes(); len(sizes) > 1 {
		for _, lim := range limits {
			title := "## Cost curve"
			if lim > 0 {
				title += ", memory limit " + fmtLimit(lim)
			}
			fmt.Fprintf(b, "%s\n\n", title)
			fmt.Fprintf(b, "Throughput, p99 latency and peak RSS (`VmHWM` of that workload's child) per data-set size.\n\n")
			for _, w := range wls {
				if w == "settle" {
					continue
				}
				fmt.Fprintf(b, "**%s**\n\n| engine |", w)
				for _, k := range sizes {
					fmt.Fprintf(b, " %s ops/s | p99 | peak RSS |", fmtCount(k))
				}
				fmt.Fprintf(b, "\n|---|%s\n", strings.Repeat("---:|", 3*len(sizes)))
				for _, e := range r.Engines {
					fmt.Fprintf(b, "| %s |", e)
					for _, k := range sizes {
						x, ok := r.resultAt(e, w, Pass{Keys: k, MemLimit: lim})
						switch {
						case !ok:
							fmt.Fprintf(b, " – | – | – |")
						case x.Error != "":
							fmt.Fprintf(b, " %s | | %s |", outcomeWord(x), fmtBytes(x.PeakRSS))
						default:
							fmt.Fprintf(b, " %s | %s | %s |", fmtOps(x.OpsPerSec), fmtLatency(x.P99us), fmtBytes(x.PeakRSS))
						}
					}
					b.WriteString("\n")
				}
				b.WriteString("\n")
			}
		}
	}
}

// vsFastestPeer is one cell of the Strata-against-the-fastest-peer table.
func (r *Report) vsFastestPeer(engine, w string, p Pass) string {
	s, ok := r.resultAt(engine, w, p)
	if !ok {
		return "–"
	}
	best, bestOps := "", 0.0
	for _, e := range r.Engines {
		if !lsmPeers[e] {
			continue
		}
		if x, ok := r.resultAt(e, w, p); ok && x.Error == "" && x.OpsPerSec > bestOps {
			best, bestOps = e, x.OpsPerSec
		}
	}
	if s.Error != "" {
		if best == "" {
			return outcomeWord(s)
		}
		return fmt.Sprintf("Strata %s; %s %s", outcomeWord(s), best, fmtOps(bestOps))
	}
	if s.Ops == 0 { // settle: compare the time
		return fmt.Sprintf("%.1f s", s.Seconds)
	}
	if best == "" {
		return fmt.Sprintf("%s (no LSM peer finished)", fmtOps(s.OpsPerSec))
	}
	return fmt.Sprintf("%s vs %s %s = %s", fmtOps(s.OpsPerSec), best, fmtOps(bestOps), fmtRatio(s.OpsPerSec/bestOps))
}

// curveAxes is the distinct sizes (ascending) and limits of the passes.
func (r *Report) curveAxes() (sizes, limits []int64) {
	seenK, seenL := map[int64]bool{}, map[int64]bool{}
	for _, p := range r.passes() {
		if !seenK[p.Keys] {
			seenK[p.Keys] = true
			sizes = append(sizes, p.Keys)
		}
		if !seenL[p.MemLimit] {
			seenL[p.MemLimit] = true
			limits = append(limits, p.MemLimit)
		}
	}
	sort.Slice(sizes, func(i, j int) bool { return sizes[i] < sizes[j] })
	return sizes, limits
}

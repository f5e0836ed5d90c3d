package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// runRB runs redis-benchmark against t for wl: clients connections,
// pipeline requests per round trip, n requests in all, keys drawn from the
// keyspace wl.rb names. Its CSV gives ops/s, p50 and p99 (no p99.9).
//
// redis-benchmark counts an error reply as a request served, so a line runs
// only if the server knows the commands (probe) and the go-redis line of
// the same setting was not refused (gen, nil if none).
func runRB(ctx context.Context, bin string, t *target, peers []*target, wl *workload, clients, pipeline int, n int64, gen *Line) Line {
	ln := Line{Workload: wl.Name, Server: t.srv.label(), Tool: "redis-benchmark", Pipeline: pipeline, Value: t.valSize, Fsync: t.srv.spec.Fsync}
	if wl.rb == nil {
		ln.Skipped = "redis-benchmark cannot send it"
		return ln
	}
	if why := probe(ctx, t, wl); why != "" {
		ln.Skipped = why
		return ln
	}
	if gen != nil && strings.HasPrefix(gen.Skipped, unsupportedPrefix) {
		ln.Skipped = gen.Skipped
		return ln
	}
	if wl.Name == "EVALSHA" && t.sha == "" {
		c := t.srv.client(1)
		sha, err := c.ScriptLoad(ctx, releaseScript).Result()
		c.Close()
		if err != nil {
			ln.Skipped = "SCRIPT LOAD: " + err.Error()
			return ln
		}
		t.sha = sha
	}
	cmdArgs, keyspace := wl.rb(t, peers)
	args := []string{"-h", "127.0.0.1", "-p", strconv.Itoa(t.srv.port), "-c", strconv.Itoa(clients),
		"-n", strconv.FormatInt(n, 10), "-P", strconv.Itoa(pipeline), "-r", strconv.FormatInt(keyspace, 10), "--csv"}
	args = append(args, cmdArgs...)
	forks0 := t.srv.forks()
	cpu0 := t.srv.cpu()
	resetPeakRSS(t.srv.pid)
	start := time.Now()
	out, err := exec.CommandContext(ctx, bin, args...).Output()
	elapsed := time.Since(start)
	cpu1 := t.srv.cpu()
	ln.PeakRSS = procStatus(t.srv.pid, "VmHWM")
	ln.Forks = t.srv.forks() - forks0
	ln.Load1 = loadAvg()
	if err != nil {
		ln.Skipped = fmt.Sprintf("redis-benchmark failed: %v", err)
		return ln
	}
	recs, err := csv.NewReader(strings.NewReader(string(out))).ReadAll()
	if err != nil || len(recs) < 2 || len(recs[1]) < 7 {
		ln.Skipped = fmt.Sprintf("cannot read redis-benchmark's output %q", abbrev(string(out)))
		return ln
	}
	f := func(i int) float64 { v, _ := strconv.ParseFloat(recs[1][i], 64); return v }
	ln.Ops = n
	ln.OpsPerSec = f(1)
	ln.Seconds = elapsed.Seconds()
	ln.P50, ln.P99 = f(4), f(6)
	ln.CPUSeconds = (cpu1 - cpu0).Seconds()
	ln.CPUPerMillion = ln.CPUSeconds / float64(n) * 1e6
	return ln
}

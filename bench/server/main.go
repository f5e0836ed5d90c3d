// Command server runs redis-server and strata-server side by side: the same
// workloads, from the same load generators (a go-redis one of its own, with
// latency percentiles and checks of every reply, and Debian's
// redis-benchmark), each server fresh in its own directory, appendfsync
// always, everysec and no in turn. It also fills both past a memory
// cgroup's limit (beyond) and times their restart after kill -9 (restart).
//
//	cd bench && go run ./server -out results-server
//	cd bench && go run ./server -run beyond,restart -out results-beyond
//	cd bench && go run ./server -render results-server/results.json,results-beyond/results.json -publish server
//
// See README.md beside this file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "server bench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fl := flag.NewFlagSet("server", flag.ContinueOnError)
	var (
		runs      = fl.String("run", "compare", "what to run: compare, beyond, restart (comma-separated)")
		fsyncs    = fl.String("fsync", "always,everysec,no", "appendfsync modes, in order")
		values    = fl.String("values", "100,1024", "value sizes in bytes")
		pipes     = fl.String("pipelines", "1,16", "pipeline depths")
		clients   = fl.Int("clients", 50, "client connections")
		keys      = fl.Int64("keys", 1_000_000, "keyspace (preloaded)")
		warmup    = fl.Duration("warmup", time.Second, "unmeasured start of each line")
		duration  = fl.Duration("duration", 4*time.Second, "measured time of each line")
		wlNames   = fl.String("workloads", "all", "workloads (comma-separated): "+workloadNames())
		useRB     = fl.Bool("rb", true, "also drive each line with redis-benchmark")
		rbBin     = fl.String("rb-bin", "redis-benchmark", "redis-benchmark binary")
		redisBin  = fl.String("redis-bin", "/usr/bin/redis-server", "redis-server binary")
		strataBin = fl.String("strata-bin", "", "strata-server binary (default: built from -repo)")
		repo      = fl.String("repo", "", "root of the Strata checkout to build strata-server from (default: found above the working directory)")
		scratch   = fl.String("scratch", "", "where the servers' directories go (default: a temporary directory)")
		out       = fl.String("out", "results-server", "directory for results.json, results.md and charts")
		publish   = fl.String("publish", "", "also write the charts to DIR/charts and the tables to DIR/TABLES.md")
		render    = fl.String("render", "", "redraw tables and charts from results.json files (comma-separated, merged) instead of running")
		profile   = fl.String("profile", "", "write strata-server's CPU, allocs, mutex and block profiles per line into DIR")
		stMaxMem  = fl.String("strata-maxmemory", "0", "compare: strata-server's --maxmemory (a quarter is its block cache; 0: the server's defaults, a 256 MiB cache)")

		bKeys   = fl.Int64("beyond-keys", 20_000_000, "beyond: keys to write")
		bValue  = fl.Int("beyond-value", 100, "beyond: value size")
		bLimit  = fl.String("beyond-limit", "512MiB", "beyond: memory cgroup limit")
		bMaxMem = fl.String("beyond-maxmemory", "384MiB", "beyond: --maxmemory of both servers")
		bGoMem  = fl.String("beyond-gomemlimit", "448MiB", "beyond: strata-server's GOMEMLIMIT (0: unset)")
		bTime   = fl.Duration("beyond-time", 30*time.Minute, "beyond: longest fill per server")
		bRead   = fl.Duration("beyond-read", 15*time.Second, "beyond: random GETs measured after the fill")
		bPipe   = fl.Int("beyond-pipeline", 16, "beyond: pipeline depth of the fill")
		bUnlim  = fl.Bool("beyond-unlimited", true, "beyond: also run Redis without maxmemory (OOM kill)")
		bFsync  = fl.String("beyond-fsync", "everysec", "beyond: appendfsync")
		rKeys   = fl.String("restart-keys", "1000000,10000000", "restart: keyspaces")
		rFsync  = fl.String("restart-fsync", "everysec", "restart: appendfsync")
		rValue  = fl.Int("restart-value", 100, "restart: value size")
	)
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	logf := func(format string, a ...any) { log.Printf(format, a...) }

	if *render != "" {
		var rep *Report
		for _, p := range strings.Split(*render, ",") {
			r, err := loadReport(p)
			if err != nil {
				return err
			}
			if rep == nil {
				rep = r
			} else {
				rep.merge(r)
			}
		}
		return writeOutputs(rep, *out, *publish)
	}

	wls, err := pickWorkloads(*wlNames)
	if err != nil {
		return err
	}
	cfg := compareConfig{Clients: *clients, Keys: *keys, Warmup: *warmup, Duration: *duration, Workloads: wls, RB: *useRB, Profile: *profile}
	if cfg.StrataMaxMemory, err = parseSize(*stMaxMem); err != nil {
		return err
	}
	if cfg.Fsyncs, err = parseModes(*fsyncs); err != nil {
		return err
	}
	if cfg.Values, err = parseInts(*values); err != nil {
		return err
	}
	if cfg.Pipelines, err = parseInts(*pipes); err != nil {
		return err
	}
	if cfg.RB {
		if p, err := exec.LookPath(*rbBin); err == nil {
			cfg.RBBin = p
		} else {
			logf("redis-benchmark not found (%v): its lines are left out", err)
		}
	}
	if _, err := os.Stat(*redisBin); err != nil {
		return fmt.Errorf("redis-server: %w (apt-get install redis-server)", err)
	}
	if err := mkdirAll(*out); err != nil {
		return err
	}
	if cfg.Profile != "" {
		if err := mkdirAll(cfg.Profile); err != nil {
			return err
		}
	}
	if *scratch == "" {
		d, err := os.MkdirTemp("", "serverbench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		*scratch = d
	} else if err := mkdirAll(*scratch); err != nil {
		return err
	}
	bins := binaries{Redis: *redisBin, Strata: *strataBin}
	if bins.Strata == "" {
		root := *repo
		if root == "" {
			if root, err = findRepo(); err != nil {
				return err
			}
		}
		logf("building strata-server from %s", root)
		if bins.Strata, err = buildStrata(root, *scratch); err != nil {
			return err
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		killAll()
	}()
	defer killAll()

	rep := &Report{Started: time.Now(), Command: "cd bench && go run ./server " + strings.Join(args, " "),
		Machine: describeMachine(*scratch)}
	rep.Machine.Redis = versionOf(bins.Redis)
	if cfg.RBBin != "" {
		rep.Machine.Benchmark = versionOf(cfg.RBBin)
	}
	rep.Params = Params{Keys: cfg.Keys, Clients: cfg.Clients, Warmup: cfg.Warmup.String(), Duration: cfg.Duration.String(),
		Fsyncs: cfg.Fsyncs, Values: cfg.Values, Pipelines: cfg.Pipelines, StrataMaxMemory: cfg.StrataMaxMemory}
	load := startLoadSampler(5 * time.Second)
	var runErr error
	for _, what := range strings.Split(*runs, ",") {
		switch strings.TrimSpace(what) {
		case "compare":
			runErr = runCompare(ctx, cfg, bins, *scratch, rep, logf)
		case "beyond":
			bc := beyondConfig{Keys: *bKeys, Value: *bValue, Clients: *clients, Pipeline: *bPipe, Fsync: *bFsync,
				MaxTime: *bTime, ReadTime: *bRead, Unlimited: *bUnlim}
			if bc.Limit, err = parseSize(*bLimit); err != nil {
				return err
			}
			if bc.MaxMemory, err = parseSize(*bMaxMem); err != nil {
				return err
			}
			if bc.GoMemLimit, err = parseSize(*bGoMem); err != nil {
				return err
			}
			runErr = runBeyond(ctx, bc, bins, *scratch, rep, logf)
		case "restart":
			rc := restartConfig{Value: *rValue, Fsync: *rFsync, Clients: *clients}
			ns, err := parseInts(*rKeys)
			if err != nil {
				return err
			}
			for _, n := range ns {
				rc.Keys = append(rc.Keys, int64(n))
			}
			runErr = runRestart(ctx, rc, bins, *scratch, rep, logf)
		default:
			return fmt.Errorf("unknown -run %q (compare, beyond, restart)", what)
		}
		if runErr != nil {
			break
		}
	}
	rep.Load = load.summary()
	rep.Elapsed = time.Since(rep.Started).Round(time.Second).String()
	if err := writeOutputs(rep, *out, *publish); err != nil {
		return err
	}
	if runErr == nil && ctx.Err() != nil {
		runErr = ctx.Err()
	}
	return runErr
}

// writeOutputs saves results.json, results.md and the charts under out,
// and with publish, the charts and TABLES.md there too.
func writeOutputs(rep *Report, out, publish string) error {
	if err := mkdirAll(filepath.Join(out, "charts")); err != nil {
		return err
	}
	if err := rep.save(filepath.Join(out, "results.json")); err != nil {
		return err
	}
	charts, err := writeCharts(rep, filepath.Join(out, "charts"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "results.md"), []byte(rep.markdown("charts", charts)), 0o644); err != nil {
		return err
	}
	if publish == "" {
		return nil
	}
	if err := mkdirAll(filepath.Join(publish, "charts")); err != nil {
		return err
	}
	if _, err := writeCharts(rep, filepath.Join(publish, "charts")); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(publish, "TABLES.md"), []byte("# strata-server and redis-server: the tables\n\n"+
		"Written by the harness (see README.md); RESULTS.md reads them.\n\n"+rep.markdown("charts", charts)), 0o644)
}

// merge adds o's measurements to r.
func (r *Report) merge(o *Report) {
	r.Lines = append(r.Lines, o.Lines...)
	r.Memory = append(r.Memory, o.Memory...)
	r.Beyond = append(r.Beyond, o.Beyond...)
	r.BeyondSummary = append(r.BeyondSummary, o.BeyondSummary...)
	r.Restart = append(r.Restart, o.Restart...)
	r.Notes = append(r.Notes, o.Notes...)
	r.Command += "\n    " + o.Command
	if len(r.Lines) == len(o.Lines) {
		r.Params = o.Params
	}
	r.Load.Min = min(r.Load.Min, o.Load.Min)
	r.Load.Max = max(r.Load.Max, o.Load.Max)
	if n := r.Load.Samples + o.Load.Samples; n > 0 {
		r.Load.Mean = (r.Load.Mean*float64(r.Load.Samples) + o.Load.Mean*float64(o.Load.Samples)) / float64(n)
		r.Load.Samples = n
	}
}

func workloadNames() string {
	var n []string
	for _, w := range workloads {
		n = append(n, w.Name)
	}
	return strings.Join(n, ",")
}

func pickWorkloads(s string) ([]*workload, error) {
	if s == "all" {
		return workloads, nil
	}
	var out []*workload
	for _, n := range strings.Split(s, ",") {
		w := findWorkload(strings.TrimSpace(n))
		if w == nil {
			return nil, fmt.Errorf("unknown workload %q (have %s)", n, workloadNames())
		}
		out = append(out, w)
	}
	return out, nil
}

func parseModes(s string) ([]string, error) {
	var out []string
	for _, m := range strings.Split(s, ",") {
		m = strings.TrimSpace(m)
		if !slices.Contains([]string{"always", "everysec", "no"}, m) {
			return nil, fmt.Errorf("appendfsync %q: want always, everysec or no", m)
		}
		out = append(out, m)
	}
	return out, nil
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q: want positive integers", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// parseSize reads 512MiB, 1GiB, 300mb, 65536.
func parseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suf string
		m   int64
	}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}} {
		if strings.HasSuffix(t, u.suf) {
			t, mult = strings.TrimSuffix(t, u.suf), u.m
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("size %q: want a number with an optional KiB, MiB or GiB", s)
	}
	return n * mult, nil
}

// findRepo walks up from the working directory to the Strata checkout.
func findRepo() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(b), "module github.com/stratadb/strata\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no Strata checkout above the working directory: use -repo or -strata-bin")
		}
		dir = parent
	}
}

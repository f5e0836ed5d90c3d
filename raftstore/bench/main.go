// Command bench compares raftstore with raft-boltdb and raft-wal in one run,
// fsync on for all, every store in a directory under the same -dir. It prints
// Markdown tables; RESULTS.md holds a run.
//
//	go run . -dir /path/on/the/disk/to/measure
//	go run . -only truncation -entries 1000000   # the head-truncation scenario alone
//	go run . -only truncation -stores raftstore  # one store
//	go run . -only storelogs -sizes 102400 -batches 1,10  # chosen StoreLogs cells
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"
)

func main() {
	c := Config{Out: os.Stdout}
	flag.StringVar(&c.Dir, "dir", os.TempDir(), "directory for the stores (all on the same disk)")
	flag.DurationVar(&c.StoreDur, "storedur", 2*time.Second, "time per StoreLogs cell and store")
	flag.IntVar(&c.Entries, "entries", 1_000_000, "entries of the head-truncation scenario")
	flag.IntVar(&c.Keep, "keep", 10_000, "entries the head truncation keeps")
	flag.IntVar(&c.RateHz, "rate", 200, "fixed-rate appends per second after the truncation")
	flag.DurationVar(&c.RateDur, "ratedur", 30*time.Second, "duration of the fixed-rate appends")
	flag.IntVar(&c.Reads, "reads", 200_000, "GetLog calls per measurement")
	flag.DurationVar(&c.ClusterDur, "clusterdur", 5*time.Second, "measured time of each cluster run")
	flag.IntVar(&c.Clients, "clients", 64, "clients of the cluster")
	sizes := flag.String("sizes", joinInts(defaultSizes), "StoreLogs entry sizes in bytes, comma-separated")
	batches := flag.String("batches", joinInts(defaultBatches), "StoreLogs batch sizes, comma-separated")
	only := flag.String("only", "storelogs,reads,truncation,cluster", "workloads to run, comma-separated")
	stores := flag.String("stores", "raftstore,raft-boltdb,raft-wal", "stores to compare, comma-separated; raftstore's variants under other options (stores.go) may be named too")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	flag.Parse()
	var err error
	if c.Sizes, err = ints(*sizes); err == nil {
		c.Batches, err = ints(*batches)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var kinds []Kind
	for _, name := range strings.Split(*stores, ",") {
		found := false
		for _, k := range append(Kinds, Variants...) {
			if k.Name == name {
				kinds, found = append(kinds, k), true
			}
		}
		if !found {
			fmt.Fprintf(os.Stderr, "unknown store %q\n", name)
			os.Exit(2)
		}
	}
	Kinds = kinds
	dir, err := os.MkdirTemp(c.Dir, "raftstore-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer os.RemoveAll(dir)
	c.Dir = dir
	c.printf("go %s, %s/%s, %d CPUs, stores under %s, load average %s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), dir, loadavg())
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(&c, strings.Split(*only, ",")); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	c.printf("\nload average at the end: %s\n", loadavg())
}

// loadavg is the first three fields of /proc/loadavg, or "?".
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func run(c *Config, only []string) error {
	for _, w := range only {
		var err error
		switch w {
		case "storelogs":
			err = c.StoreLogs()
		case "reads":
			err = c.Reads1k()
		case "truncation":
			err = c.Truncation()
		case "cluster":
			err = c.Cluster()
		default:
			err = fmt.Errorf("unknown workload %q", w)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// ints parses a comma-separated list of positive integers.
func ints(list string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q: want a comma-separated list of positive integers", list)
		}
		out = append(out, n)
	}
	return out, nil
}

// joinInts is the comma-separated list ints parses.
func joinInts(ns []int) string {
	f := make([]string, len(ns))
	for i, n := range ns {
		f[i] = strconv.Itoa(n)
	}
	return strings.Join(f, ",")
}

package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// RestartLine is one kill -9 and restart.
type RestartLine struct {
	Server     string
	Keys       int64
	Value      int
	Fsync      string
	FillSec    float64
	Disk       int64  // the server's directory at the kill
	Files      string // what is in it (Redis's AOF parts, Strata's WAL)
	AcceptMs   float64
	PongMs     float64 // from exec to the first +PONG
	DBSize     int64
	Checked    int // random keys read back after the restart
	Bad        int
	FirstError string `json:",omitempty"`
}

type restartConfig struct {
	Keys    []int64
	Value   int
	Fsync   string
	Clients int
}

func runRestart(ctx context.Context, cfg restartConfig, bins binaries, scratch string, rep *Report, logf func(string, ...any)) error {
	for _, n := range cfg.Keys {
		for _, kind := range serverKinds {
			ln, err := restartOne(ctx, cfg, bins, scratch, kind, n, logf)
			if err != nil {
				return err
			}
			rep.Restart = append(rep.Restart, ln)
			logf("restart %s %d keys: accept %.0f ms, PONG %.0f ms, dbsize %d, %d/%d keys read back",
				kind, n, ln.AcceptMs, ln.PongMs, ln.DBSize, ln.Checked-ln.Bad, ln.Checked)
		}
	}
	return nil
}

func restartOne(ctx context.Context, cfg restartConfig, bins binaries, scratch, kind string, n int64, logf func(string, ...any)) (RestartLine, error) {
	ln := RestartLine{Server: kind, Keys: n, Value: cfg.Value, Fsync: cfg.Fsync}
	spec := serverSpec{Kind: kind, Fsync: cfg.Fsync}
	srv, err := startServer(bins, spec, scratch, 0)
	if err != nil {
		return ln, err
	}
	defer srv.remove()
	t := newTarget(srv, n, cfg.Value)
	start := time.Now()
	if err := preloadStrings(ctx, t, cfg.Clients); err != nil {
		srv.kill()
		return ln, fmt.Errorf("filling %s: %w", kind, err)
	}
	ln.FillSec = time.Since(start).Seconds()
	logf("restart %s: %d keys written in %.1fs", kind, n, ln.FillSec)
	// Every write was acknowledged; under everysec Redis may lose the last
	// second, so give both a moment to have it on disk as a real crash
	// would not wait: the question here is replay time, not loss.
	time.Sleep(2 * time.Second)
	srv.kill()
	ln.Disk = diskUsage(srv.dir)
	ln.Files = describeFiles(srv.dir)
	spec.Dir = srv.dir
	// Start it again on the same directory and port, timing from exec.
	t0 := time.Now()
	srv2, err := startServerNoWait(bins, spec, srv.port)
	if err != nil {
		return ln, err
	}
	defer func() { srv2.stop() }()
	offset := time.Since(t0)
	pt, err := srv2.waitPong(10 * time.Minute)
	if err != nil {
		return ln, fmt.Errorf("%s did not come back: %w (%s)", kind, err, tail(srv2.logPath))
	}
	ln.AcceptMs = ms(offset + pt.Accept)
	ln.PongMs = ms(offset + pt.Pong)
	c := srv2.client(1)
	defer c.Close()
	ln.DBSize, _ = c.DBSize(ctx).Result()
	rng := rand.New(rand.NewPCG(uint64(n), 3))
	for range 1000 {
		k := rng.Int64N(n)
		v, err := c.Get(ctx, ks("key:", k)).Result()
		ln.Checked++
		if err != nil || v != t.value(k) {
			ln.Bad++
			if ln.FirstError == "" {
				if errors.Is(err, redis.Nil) {
					ln.FirstError = "key " + ks("key:", k) + " missing"
				} else {
					ln.FirstError = fmt.Sprint(err)
				}
			}
		}
	}
	return ln, nil
}

// startServerNoWait starts a server on an existing directory without
// waiting for it, so the caller times its recovery.
func startServerNoWait(bins binaries, spec serverSpec, port int) (*server, error) {
	return startServerOpts(bins, spec, "", port, false)
}

// describeFiles lists the largest files of a directory with their sizes.
func describeFiles(dir string) string {
	type f struct {
		name string
		size int64
	}
	var fs []f
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			fs = append(fs, f{rel, info.Size()})
		}
		return nil
	})
	sort.Slice(fs, func(i, j int) bool { return fs[i].size > fs[j].size })
	var parts []string
	var rest int64
	for i, x := range fs {
		if i < 4 {
			parts = append(parts, fmt.Sprintf("%s %s", x.name, human(x.size)))
		} else {
			rest += x.size
		}
	}
	if len(fs) > 4 {
		parts = append(parts, fmt.Sprintf("%d more files %s", len(fs)-4, human(rest)))
	}
	return strings.Join(parts, ", ")
}

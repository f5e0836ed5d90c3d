// Command strata-server serves a Strata database over the Redis protocol.
//
//	strata-server [FILE] [--config FILE] [--dir DIR] [--bind ADDR...] [--port N]
//	              [--appendfsync always|everysec|no] [--requirepass PASS]
//	              [--tls-port N --tls-cert-file F --tls-key-file F [--tls-ca-cert-file F]]
//	              [--maxclients N] [--timeout SECONDS] [--lua-time-limit MS]
//	              [--maxmemory BYTES] [--loglevel debug|info|warn]
//
// As redis-server does, it takes a config file in redis.conf syntax (as the
// first argument or with --config) and any directive as a flag: "--name
// value..." with the values up to the next "--". Flags override the file.
// An unknown directive is an error naming its line or flag.
//
// SIGTERM and SIGINT (and the SHUTDOWN command) stop accepting connections,
// let the commands in flight finish, close the database cleanly and exit 0.
// A second signal exits at once with status 1; every acknowledged write is
// in the WAL already, so nothing acknowledged is lost either way.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	_ "net/http/pprof" // served only when STRATA_PPROF is set
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/stratadb/strata/internal/memlimit"
	"github.com/stratadb/strata/lsm"
	"github.com/stratadb/strata/server"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

const usage = `usage: strata-server [FILE] [--config FILE] [--dir DIR] [--bind ADDR...] [--port N]
       [--appendfsync always|everysec|no] [--requirepass PASS]
       [--tls-port N --tls-cert-file F --tls-key-file F [--tls-ca-cert-file F]]
       [--maxclients N] [--timeout SECONDS] [--lua-time-limit MS]
       [--maxmemory BYTES] [--loglevel debug|info|warn] [--<directive> VALUE...]
`

// settings are the parsed command line and config file.
type settings struct {
	opts       server.Options
	dir        string
	configFile string
	level      *slog.LevelVar
}

func run(args []string, stderr io.Writer) int {
	st, err := parseArgs(args)
	if errors.Is(err, errHelp) {
		fmt.Fprint(stderr, usage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "strata-server: %v\n%s", err, usage)
		return 2
	}
	if st.opts.MaxMemory > 0 && st.opts.MaxMemory < minMaxMemory {
		fmt.Fprintf(stderr, "strata-server: maxmemory %d is below the engine's smallest memory limit, 32mb (or 0: no limit)\n", st.opts.MaxMemory)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: st.level}))
	st.opts.Logger = log
	servePprof(os.Getenv("STRATA_PPROF"), log)

	if err := os.MkdirAll(st.dir, 0o755); err != nil {
		log.Error("cannot create the data directory", "dir", st.dir, "err", err)
		return 1
	}
	// The server carries appendfsync out itself (WithSync per write under
	// always, an fsync a second under everysec), so the engine never fsyncs
	// on its own and CONFIG SET appendfsync takes effect at once.
	// The database lives in dir/data, so that SAVE's backup (dir/backup)
	// lies beside it, not inside it.
	dataDir := filepath.Join(st.dir, "data")
	engOpts, metaCache := engineOptions(st.opts.MaxMemory, memlimit.Self(), log)
	st.opts.MetaCacheSize = metaCache
	db, err := lsm.Open(dataDir, engOpts)
	if err != nil {
		log.Error("cannot open the database", "dir", dataDir, "err", err)
		return 1
	}
	// Nothing but the server writes the DB it opened.
	st.opts.SoleWriter = true
	srv, err := server.New(db, &st.opts)
	if err != nil {
		log.Error("bad configuration", "err", err)
		db.Close()
		return 2
	}
	lns, err := srv.Listen()
	if err != nil {
		log.Error("cannot listen", "err", err)
		db.Close()
		return 1
	}
	addrs := make([]string, len(lns))
	for i, l := range lns {
		addrs[i] = l.Addr().String()
	}
	// The ready line is written whatever the log level.
	ready := slog.NewRecord(time.Now(), slog.LevelInfo, "ready to accept connections", 0)
	ready.Add("addr", strings.Join(addrs, ","), "dir", st.dir, "appendfsync", srv.Config().AppendFsync,
		"config", st.configFile, "pid", os.Getpid())
	log.Handler().Handle(context.Background(), ready)

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go onSignals(sigs, log, func() { srv.Shutdown(context.Background()) }, os.Exit)

	serveErr := srv.ServeListeners(lns...)
	status := 0
	if serveErr != nil && !errors.Is(serveErr, server.ErrServerClosed) {
		log.Error("serving failed", "err", serveErr)
		srv.Shutdown(context.Background())
		status = 1
	}
	if err := db.Close(); err != nil {
		log.Error("closing the database failed", "err", err)
		return 1
	}
	log.Info("database closed, exiting", "dir", st.dir)
	return status
}

// engineOptions are the DB's options and the size of the Store's cache of
// collection metadata (server.Options.MetaCacheSize; negative: none).
// maxmemory is the memory of both: the metadata cache takes a sixteenth
// of it (at most serverMetaCache), counted twice for the collector's
// headroom, and the rest is the engine's MemoryLimit, from which its
// memtable, table and block cache sizes follow (lsm.Options.MemoryLimit
// has the formula); it never evicts. Without maxmemory, a server in a
// container whose memory is limited (its cgroup's memory.max) takes half
// that limit the same way, leaving the rest to the Go runtime, the
// clients' buffers and the page cache. With neither, the engine's defaults
// hold but for the block cache, serverBlockCache less the metadata cache's
// share, so that the two take what the block cache alone took before.
func engineOptions(maxmemory, container int64, log *slog.Logger) (*lsm.Options, int64) {
	o := &lsm.Options{Sync: lsm.SyncNo, Logger: log}
	budget := int64(0)
	switch {
	case maxmemory > 0:
		budget = maxmemory
	case container > 0:
		budget = max(container/2, minMaxMemory)
		log.Info("memory limited by the container: the engine takes half",
			"container_limit", container, "engine_memory_limit", budget)
	default:
		o.BlockCacheSize = serverBlockCache - 2*serverMetaCache
		return o, serverMetaCache
	}
	meta := min(budget/16, serverMetaCache)
	if budget-2*meta < minMaxMemory {
		meta = max(budget-minMaxMemory, 0) / 2
	}
	if meta < 1<<20 {
		o.MemoryLimit = budget
		return o, -1 // too small to be worth a cache: the engine keeps it all
	}
	o.MemoryLimit = budget - 2*meta
	return o, meta
}

// minMaxMemory is the smallest lsm.Options.MemoryLimit the engine accepts.
const minMaxMemory = 32 << 20

// serverMetaCache is the largest metadata cache the server gives its Store:
// some 600,000 collections, whose reads and writes then make one engine
// lookup fewer (collections.Options.MetaCacheSize).
const serverMetaCache = 32 << 20

// serverBlockCache is the memory of the block cache (and of the metadata
// cache, which takes 2 x serverMetaCache of it) of a server given no
// memory limit.
// A server usually has its machine to itself, where an embedding program
// shares it: with the library's 64 MiB, a million 100-byte values (about
// 170 MiB of tables) missed the cache on most reads, each miss a read and
// a decompression of a block, where Redis holds the same data in about
// 200 MiB of RAM. The cache fills only with blocks read.
const serverBlockCache = 256 << 20

// servePprof is a hidden hook for profiling: with STRATA_PPROF=ADDR in the
// environment, net/http/pprof is served on ADDR (keep it on loopback: it is
// unauthenticated) and mutex and block events are sampled.
func servePprof(addr string, log *slog.Logger) {
	if addr == "" {
		return
	}
	runtime.SetMutexProfileFraction(100)
	runtime.SetBlockProfileRate(10000) // one event per 10µs spent blocked
	go func() {
		log.Warn("pprof server stopped", "addr", addr, "err", http.ListenAndServe(addr, nil))
	}()
}

// onSignals shuts down at the first signal and exits at once, with status
// 1, at the second: every acknowledged write is in the WAL already.
func onSignals(sigs <-chan os.Signal, log *slog.Logger, shutdown func(), exit func(int)) {
	sig := <-sigs
	log.Info("signal received: shutting down", "signal", sig.String())
	go shutdown()
	sig = <-sigs
	log.Warn("second signal: exiting at once", "signal", sig.String())
	exit(1)
}

var errHelp = errors.New("help")

// parseArgs reads [FILE] [--config FILE] and "--directive value..." groups.
func parseArgs(args []string) (*settings, error) {
	st := &settings{dir: "strata-data", level: new(slog.LevelVar)}
	var flags []server.Directive
	i := 0
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		st.configFile = args[0]
		i = 1
	}
	for i < len(args) {
		a := args[i]
		if a == "-h" || a == "--help" || a == "-help" {
			return nil, errHelp
		}
		if !strings.HasPrefix(a, "--") || len(a) == 2 {
			return nil, fmt.Errorf("unexpected argument %q", a)
		}
		name := strings.ToLower(a[2:])
		var vals []string
		if eq := strings.IndexByte(name, '='); eq >= 0 {
			vals = append(vals, a[2+eq+1:])
			name = name[:eq]
		}
		i++
		for i < len(args) && !strings.HasPrefix(args[i], "--") {
			vals = append(vals, args[i])
			i++
		}
		if name == "config" {
			if len(vals) != 1 {
				return nil, fmt.Errorf("--config takes one file")
			}
			st.configFile = vals[0]
			continue
		}
		flags = append(flags, server.Directive{Name: name, Args: vals})
	}
	var directives []server.Directive
	if st.configFile != "" {
		f, err := os.Open(st.configFile)
		if err != nil {
			return nil, err
		}
		directives, err = server.ParseConfig(f, st.configFile)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	apply := func(d server.Directive, where string) error {
		if d.Name == "dir" {
			if len(d.Args) != 1 {
				return fmt.Errorf("%s: dir takes one directory", where)
			}
			st.dir = d.Args[0]
		}
		if err := st.opts.ApplyDirective(d.Name, d.Args); err != nil {
			return fmt.Errorf("%s: %v", where, err)
		}
		return nil
	}
	for _, d := range directives {
		if err := apply(d, fmt.Sprintf("%s line %d", st.configFile, d.Line)); err != nil {
			return nil, err
		}
	}
	for _, d := range flags {
		if err := apply(d, "flag --"+d.Name); err != nil {
			return nil, err
		}
	}
	abs, err := filepath.Abs(st.dir)
	if err != nil {
		return nil, err
	}
	st.dir = abs
	st.opts.Dir = abs
	lvl, err := server.ParseLogLevel(st.opts.LogLevel)
	if err != nil {
		return nil, err
	}
	st.level.Set(lvl)
	return st, nil
}

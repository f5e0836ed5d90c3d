package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stratadb/strata/collections"
	"github.com/stratadb/strata/lsm"
)

// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown.
var ErrServerClosed = errors.New("server: closed")

// Server serves the Redis protocol over an *lsm.DB. It does not own the DB:
// the caller opens it before New and closes it after Shutdown returns.
//
// Concurrency: see doc.go. Fields are grouped by the lock that guards them.
type Server struct {
	db    *lsm.DB
	clock func() time.Time
	table commandTable
	// store holds every key (strings and collections); ks is the Keyspace
	// of lone commands over it.
	store *collections.Store
	ks    *dataKeyspace
	log   *slog.Logger
	start time.Time
	runID string

	// cfgMu guards cfg, the current configuration; the hot paths read the
	// atomics below, which setConfig keeps in step.
	cfgMu        sync.Mutex
	cfg          Options
	appendfsync  atomic.Int32 // an lsm.SyncMode
	acl          aclStore
	maxClients   atomic.Int64
	idleTimeout  atomic.Int64 // ns; 0: none
	luaLimit     atomic.Int64 // ns
	protected    atomic.Bool
	slowerThan   atomic.Int64 // ns; negative: off
	slowlogMax   atomic.Int64
	maxBulk      atomic.Int64
	maxQuery     atomic.Int64
	maxMultibulk atomic.Int64

	// gate orders lone writes against EXEC, scripts and FLUSHALL; stripes
	// serialize the lone writes of one key (see doc.go). A writer holds its
	// stripes until its write is in the WAL (fsynced under appendfsync
	// always), so with few stripes, writers of different keys queue behind
	// each other's fsync: 16384 keep 50 clients' MSETs of 10 keys mostly
	// apart (with 256, 10,000 such MSETs took 4,100 fsyncs; with 16384,
	// 435).
	gate    gate
	stripes [16384]sync.Mutex
	// noGroup turns off the sharing of a commit by pipelined writes
	// (pipeline.go): tests and benchmarks compare with it.
	noGroup bool

	// mu guards the connection set and the listeners.
	mu        sync.Mutex
	clients   map[int64]*client
	listeners []net.Listener
	draining  atomic.Bool
	closed    chan struct{} // closed when Shutdown starts
	conns     sync.WaitGroup
	nextID    atomic.Int64
	shutdownC chan struct{} // closed by SHUTDOWN; see ShutdownRequested
	shutOnce  sync.Once
	stopOnce  sync.Once // the background work stops once, however many Shutdowns

	// blocking holds the clients blocked in BLPOP and the like.
	blocking blockState

	// watchMu guards watched: key -> clients watching it.
	watchMu  sync.Mutex
	watched  map[string]map[*client]struct{}
	nWatched atomic.Int64

	pubsub  pubsubState
	stats   serverStats
	slowlog slowlog
	cursors cursorTable
	lua     *scripting
	backup  backupState
	syncer  syncLoop
}

// New returns a server for db. It listens nowhere until Serve or
// ListenAndServe.
func New(db *lsm.DB, opts *Options) (*Server, error) {
	if db == nil {
		return nil, errors.New("server: nil DB")
	}
	o := opts.normalized()
	if o.Dir == "" {
		o.Dir = db.Metrics().Dir
	}
	if abs, err := filepath.Abs(o.Dir); err == nil {
		o.Dir = abs
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	s := &Server{
		db:        db,
		table:     buildTable(),
		start:     o.now(),
		clients:   map[int64]*client{},
		closed:    make(chan struct{}),
		shutdownC: make(chan struct{}),
		watched:   map[string]map[*client]struct{}{},
		runID:     newRunID(),
		clock:     o.now,
	}
	s.store = collections.NewWithOptions(db, &collections.Options{Clock: o.now, OnTouch: s.onTouch, SoleWriter: o.SoleWriter, MetaCacheSize: o.MetaCacheSize})
	s.ks = newStoreKeyspace(s)
	s.blocking.init(s)
	s.pubsub.init()
	s.gate.init()
	s.cursors.init()
	s.log = o.Logger
	if s.log == nil {
		if o.LevelVar == nil {
			o.LevelVar = new(slog.LevelVar)
		}
		s.log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: o.LevelVar}))
	}
	s.initACL()
	s.setConfig(o)
	s.lua = newScripting(s)
	s.backup.lastSave.Store(s.start.Unix())
	s.syncer.start(s)
	s.stats.startSampler(s)
	return s, nil
}

// setConfig installs o as the current configuration.
func (s *Server) setConfig(o Options) {
	s.cfgMu.Lock()
	oldPass := s.cfg.RequirePass
	s.cfg = o
	s.cfgMu.Unlock()
	if o.RequirePass != oldPass {
		// requirepass is the default user's password, as in Redis.
		s.setDefaultPassword(o.RequirePass)
	}
	mode, _ := lsm.ParseSyncMode(o.AppendFsync)
	s.appendfsync.Store(int32(mode))
	s.maxClients.Store(int64(o.MaxClients))
	s.idleTimeout.Store(int64(o.Timeout))
	s.luaLimit.Store(int64(o.LuaTimeLimit))
	s.protected.Store(!o.ProtectedModeOff)
	s.slowerThan.Store(int64(o.SlowlogLogSlowerThan))
	s.slowlogMax.Store(int64(o.SlowlogMaxLen))
	s.maxBulk.Store(o.ProtoMaxBulkLen)
	s.maxQuery.Store(o.ClientQueryBufferLimit)
	s.maxMultibulk.Store(o.MaxMultibulkLen)
	if o.LevelVar != nil {
		lvl, _ := parseLogLevel(o.LogLevel)
		o.LevelVar.Set(lvl)
	}
}

// Config returns the current configuration, defaults filled in.
func (s *Server) Config() Options { return s.config() }

// config returns a copy of the current configuration.
func (s *Server) config() Options {
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	return s.cfg
}

// now is the clock of expirations and INFO, fixed at New (cfg changes
// under cfgMu; the clock never does).
func (s *Server) now() time.Time { return s.clock() }

func (s *Server) syncAlways() bool { return lsm.SyncMode(s.appendfsync.Load()) == lsm.SyncAlways }

// DB returns the database the server serves.
func (s *Server) DB() *lsm.DB { return s.db }

// Store returns the collections Store the server keeps its keys in. Go code
// that shares the DB with the server should write collections through it
// (one Store per DB): its writes are then atomic with the server's, mark
// WATCHed keys and wake clients blocked on a list.
func (s *Server) Store() *collections.Store { return s.store }

// onTouch is the Store's OnTouch: keys were written and committed.
func (s *Server) onTouch(keys [][]byte) {
	for _, k := range keys {
		s.touch(k)
	}
	s.blocking.touched(keys)
}

// ListenAndServe listens on every Bind address at Port (and TLSPort with
// TLS) and serves until Shutdown. It returns once the listeners are up and
// serving in the background fails, or when serving ends: see Serve.
func (s *Server) ListenAndServe() error {
	lns, err := s.Listen()
	if err != nil {
		return err
	}
	return s.ServeListeners(lns...)
}

// Listen opens the configured listeners without serving them yet, so a
// caller can log the addresses (a port of 0 in tests picks a free one).
func (s *Server) Listen() ([]net.Listener, error) {
	o := s.config()
	var lns []net.Listener
	fail := func(err error) ([]net.Listener, error) {
		for _, l := range lns {
			l.Close()
		}
		return nil, err
	}
	var tlsConf *tls.Config
	if o.TLSPort > 0 {
		var err error
		if tlsConf, err = s.tlsConfig(o); err != nil {
			return fail(err)
		}
	}
	for _, host := range o.Bind {
		optional := false
		if len(host) > 0 && host[0] == '-' { // Redis: "-::1" may fail
			host, optional = host[1:], true
		}
		if host == "*" {
			host = ""
		}
		if o.Port > 0 {
			ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(o.Port)))
			if err != nil {
				if optional {
					continue
				}
				return fail(err)
			}
			lns = append(lns, ln)
		}
		if tlsConf != nil {
			ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(o.TLSPort)))
			if err != nil {
				if optional {
					continue
				}
				return fail(err)
			}
			lns = append(lns, tls.NewListener(ln, tlsConf))
		}
	}
	if len(lns) == 0 {
		return nil, errors.New("server: no address to listen on")
	}
	return lns, nil
}

func (s *Server) tlsConfig(o Options) (*tls.Config, error) {
	if o.TLSConfig != nil {
		return o.TLSConfig, nil
	}
	cert, err := tls.LoadX509KeyPair(o.TLSCertFile, o.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("server: TLS certificate: %w", err)
	}
	c := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if o.TLSCACertFile != "" {
		pem, err := os.ReadFile(o.TLSCACertFile)
		if err != nil {
			return nil, fmt.Errorf("server: TLS CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("server: TLS CA file %s holds no certificate", o.TLSCACertFile)
		}
		c.ClientCAs = pool
	}
	switch o.TLSAuthClients {
	case "yes":
		c.ClientAuth = tls.RequireAndVerifyClientCert
	case "optional":
		c.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return c, nil
}

// ServeListeners serves every listener until Shutdown and returns
// ErrServerClosed then, or the first accept error that is not temporary.
//
// A SHUTDOWN command makes it shut the server down (as Shutdown does) and
// return; the caller then closes the DB.
func (s *Server) ServeListeners(lns ...net.Listener) error {
	errc := make(chan error, len(lns))
	for _, ln := range lns {
		go func(ln net.Listener) { errc <- s.Serve(ln) }(ln)
	}
	go func() {
		select {
		case <-s.shutdownC:
			s.Shutdown(context.Background())
		case <-s.closed:
		}
	}()
	var first error
	for range lns {
		if err := <-errc; err != nil && !errors.Is(err, ErrServerClosed) && first == nil {
			first = err
			s.closeListeners()
		}
	}
	if first != nil {
		return first
	}
	return ErrServerClosed
}

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.draining.Load() {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners = append(s.listeners, ln)
	s.mu.Unlock()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.draining.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				// Out of file descriptors and the like: back off.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.log.Warn("accept failed", "err", err, "retry_in", delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		s.accept(nc)
	}
}

// accept admits a connection or refuses it (protected mode, maxclients).
func (s *Server) accept(nc net.Conn) {
	s.stats.connsReceived.Add(1)
	if s.protected.Load() && !s.authRequired() && !isLoopback(nc.RemoteAddr()) {
		s.stats.rejectedConns.Add(1)
		refuse(nc, msgDenied)
		return
	}
	s.mu.Lock()
	if s.draining.Load() {
		s.mu.Unlock()
		nc.Close()
		return
	}
	if int64(len(s.clients)) >= s.maxClients.Load() {
		s.mu.Unlock()
		s.stats.rejectedConns.Add(1)
		refuse(nc, "-ERR max number of clients reached\r\n")
		return
	}
	c := newClient(s, nc)
	s.clients[c.id] = c
	s.conns.Add(1)
	s.mu.Unlock()
	go c.serve()
}

// refuse writes msg and closes, without letting a slow peer hold us.
func refuse(nc net.Conn, msg string) {
	go func() {
		nc.SetWriteDeadline(time.Now().Add(time.Second))
		nc.Write([]byte(msg))
		nc.Close()
	}()
}

func (s *Server) removeClient(c *client) {
	c.dropSubs() // serve did already, unless the client never served
	if c.pq != nil {
		c.pq.close()
	}
	s.mu.Lock()
	delete(s.clients, c.id)
	s.mu.Unlock()
	s.unwatchAll(c)
	s.conns.Done()
}

// isLoopback reports whether addr is a loopback address (or not an IP at
// all, as a Unix socket or an in-memory pipe).
func isLoopback(addr net.Addr) bool {
	var ip net.IP
	switch a := addr.(type) {
	case *net.TCPAddr:
		ip = a.IP
	default:
		host, _, err := net.SplitHostPort(addr.String())
		if err != nil {
			return true
		}
		ip = net.ParseIP(host)
		if ip == nil {
			return true
		}
	}
	return ip.IsLoopback()
}

// Addrs returns the addresses the server listens on.
func (s *Server) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]net.Addr, len(s.listeners))
	for i, l := range s.listeners {
		out[i] = l.Addr()
	}
	return out
}

// ShutdownRequested is closed when a client sends SHUTDOWN; the program
// that runs the server then calls Shutdown and closes the DB.
func (s *Server) ShutdownRequested() <-chan struct{} { return s.shutdownC }

func (s *Server) requestShutdown() { s.shutOnce.Do(func() { close(s.shutdownC) }) }

func (s *Server) closeListeners() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.listeners {
		l.Close()
	}
}

// Shutdown stops accepting connections, lets every command in flight finish
// and send its reply, then closes the connections. Commands a client had
// pipelined behind them are not run. When ctx ends first (or after
// ShutdownTimeout), the remaining connections are closed at once. Shutdown
// does not close the DB.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	first := !s.draining.Load()
	s.draining.Store(true)
	if first {
		close(s.closed)
	}
	for _, l := range s.listeners {
		l.Close()
	}
	for _, c := range s.clients {
		c.interrupt()
	}
	s.mu.Unlock()
	if first {
		s.lua.killForShutdown()
	}
	done := make(chan struct{})
	go func() { s.conns.Wait(); close(done) }()
	timer := time.NewTimer(s.config().ShutdownTimeout)
	defer timer.Stop()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
	case <-timer.C:
		err = errors.New("server: shutdown timed out waiting for clients")
	}
	if err != nil {
		s.mu.Lock()
		for _, c := range s.clients {
			c.nc.Close()
		}
		s.mu.Unlock()
		<-done
	}
	s.stopOnce.Do(func() {
		s.blocking.stop()
		s.syncer.stop()
		s.stats.stopSampler()
		s.backup.wait()
		s.store.Close()
	})
	return err
}

// clientList returns the connected clients ordered by id.
func (s *Server) clientList() []*client {
	s.mu.Lock()
	out := make([]*client, 0, len(s.clients))
	for _, c := range s.clients {
		out = append(out, c)
	}
	s.mu.Unlock()
	sortClients(out)
	return out
}

const msgDenied = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n"

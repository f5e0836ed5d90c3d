package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// serverSpec says how to start one server.
type serverSpec struct {
	Kind  string // "redis" or "strata"
	Fsync string // always, everysec, no
	// MaxMemory is passed as --maxmemory when positive; Redis gets
	// maxmemory-policy noeviction with it.
	MaxMemory int64
	// Cgroup is a memory cgroup directory the process starts in ("": none).
	Cgroup string
	// Env is added to the process's environment.
	Env []string
	// Pprof, for strata-server, is where it serves net/http/pprof
	// (STRATA_PPROF); "": nowhere.
	Pprof string
	// Dir is the server's directory; "" makes a fresh one under the
	// harness's scratch directory.
	Dir string
}

// server is a running redis-server or strata-server.
type server struct {
	spec    serverSpec
	bin     string
	dir     string
	port    int
	cmd     *exec.Cmd
	pid     int
	logPath string
	exited  chan struct{}
	exitErr error
}

// registry holds the servers still running, so an interrupted run kills
// them on its way out.
var registry sync.Map

// killAll kills every server this harness started that still runs.
func killAll() {
	registry.Range(func(k, _ any) bool {
		k.(*server).kill()
		return true
	})
}

// binaries are the two servers' executables.
type binaries struct {
	Redis  string
	Strata string
}

func (s *server) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

func (s *server) label() string { return s.spec.Kind }

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startServer starts a server fresh (or on spec.Dir) and waits until it
// answers PING.
func startServer(bins binaries, spec serverSpec, scratch string, port int) (*server, error) {
	return startServerOpts(bins, spec, scratch, port, true)
}

func startServerOpts(bins binaries, spec serverSpec, scratch string, port int, wait bool) (*server, error) {
	s := &server{spec: spec, dir: spec.Dir, port: port}
	if s.dir == "" {
		d, err := os.MkdirTemp(scratch, spec.Kind+"-")
		if err != nil {
			return nil, err
		}
		s.dir = d
	}
	if s.port == 0 {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		s.port = p
	}
	var args []string
	switch spec.Kind {
	case "redis":
		s.bin = bins.Redis
		args = []string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.dir,
			"--appendonly", "yes", "--appendfsync", spec.Fsync, "--save", "",
			"--protected-mode", "no", "--daemonize", "no", "--loglevel", "notice"}
		if spec.MaxMemory > 0 {
			args = append(args, "--maxmemory", strconv.FormatInt(spec.MaxMemory, 10), "--maxmemory-policy", "noeviction")
		}
	case "strata":
		s.bin = bins.Strata
		args = []string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.dir,
			"--appendfsync", spec.Fsync}
		if spec.MaxMemory > 0 {
			args = append(args, "--maxmemory", strconv.FormatInt(spec.MaxMemory, 10))
		}
	default:
		return nil, fmt.Errorf("unknown server kind %q", spec.Kind)
	}
	argv := append([]string{s.bin}, args...)
	if spec.Cgroup != "" {
		// The shell joins the cgroup, then becomes the server, so every
		// byte the server ever allocates is charged to the group.
		argv = append([]string{"/bin/sh", "-c", `echo $$ > "$0/cgroup.procs" && exec "$@"`, spec.Cgroup}, argv...)
	}
	s.logPath = s.dir + ".log"
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	s.cmd = exec.Command(argv[0], argv[1:]...)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.Env = append(os.Environ(), spec.Env...)
	if spec.Pprof != "" {
		s.cmd.Env = append(s.cmd.Env, "STRATA_PPROF="+spec.Pprof)
	}
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	s.pid = s.cmd.Process.Pid
	s.exited = make(chan struct{})
	registry.Store(s, struct{}{})
	go func() {
		s.exitErr = s.cmd.Wait()
		logf.Close()
		registry.Delete(s)
		close(s.exited)
	}()
	if !wait {
		return s, nil
	}
	if _, err := s.waitPong(60 * time.Second); err != nil {
		s.kill()
		return nil, fmt.Errorf("%s did not answer PING: %w (log %s: %s)", spec.Kind, err, s.logPath, tail(s.logPath))
	}
	return s, nil
}

// tail is the last lines of a log, for error messages.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, " | ")
}

// pingOnce dials, sends PING and returns the reply line ("+PONG",
// "-LOADING ...").
func pingOnce(addr string, timeout time.Duration) (string, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimRight(line, "\r\n"), err
}

// pongTimes are the moments a restarted server first accepted a connection
// and first answered +PONG, from the start of the wait.
type pongTimes struct {
	Accept, Pong time.Duration
}

// waitPong polls PING every 5 ms until +PONG, the process exits or the
// timeout passes.
func (s *server) waitPong(timeout time.Duration) (pongTimes, error) {
	var pt pongTimes
	start := time.Now()
	for time.Since(start) < timeout {
		select {
		case <-s.exited:
			return pt, fmt.Errorf("exited: %v", s.exitErr)
		default:
		}
		reply, err := pingOnce(s.addr(), time.Second)
		if err == nil || reply != "" {
			if pt.Accept == 0 {
				pt.Accept = time.Since(start)
			}
			if reply == "+PONG" {
				pt.Pong = time.Since(start)
				return pt, nil
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return pt, errors.New("timed out")
}

func (s *server) alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// stop shuts the server down cleanly (SIGTERM), killing it after a minute.
func (s *server) stop() {
	if !s.alive() {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(time.Minute):
		s.kill()
	}
}

// kill is kill -9, and waits for the process to be gone.
func (s *server) kill() {
	if !s.alive() {
		return
	}
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
}

// remove deletes the server's directory and log.
func (s *server) remove() {
	os.RemoveAll(s.dir)
	os.Remove(s.logPath)
}

func (s *server) client(poolSize int) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr:            s.addr(),
		PoolSize:        poolSize,
		MaxRetries:      -1,
		DialTimeout:     10 * time.Second,
		ReadTimeout:     60 * time.Second,
		WriteTimeout:    60 * time.Second,
		DisableIdentity: true,
	})
}

// info returns the fields of an INFO section.
func (s *server) info(section string) (map[string]string, error) {
	c := s.client(1)
	defer c.Close()
	txt, err := c.Info(context.Background(), section).Result()
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, line := range strings.Split(txt, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			m[k] = v
		}
	}
	return m, nil
}

func (s *server) infoInt(section, field string) int64 {
	m, err := s.info(section)
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(m[field], 10, 64)
	return n
}

// settle waits, at most max, until the server's background work after a
// load is done, so the lines measure a steady state: for Redis, no AOF
// rewrite running or scheduled; for Strata, no compaction progress for two
// seconds. It returns how long it waited.
func (s *server) settle(max time.Duration) time.Duration {
	start := time.Now()
	var last string
	quiet := 0
	for time.Since(start) < max {
		m, err := s.info("persistence")
		if err != nil {
			break
		}
		if s.spec.Kind == "redis" {
			if m["aof_rewrite_in_progress"] == "0" && m["aof_rewrite_scheduled"] == "0" {
				break
			}
		} else {
			cur := m["compaction_bytes_written"] + "/" + m["flush_bytes"]
			if cur == last {
				if quiet++; quiet >= 4 {
					break
				}
			} else {
				quiet = 0
			}
			last = cur
		}
		time.Sleep(500 * time.Millisecond)
	}
	return time.Since(start)
}

// forks is Redis's total_forks (AOF rewrites); 0 for strata-server.
func (s *server) forks() int64 {
	if s.spec.Kind != "redis" {
		return 0
	}
	return s.infoInt("stats", "total_forks")
}

// cpu is the server's CPU time so far (0 once it has exited).
func (s *server) cpu() time.Duration {
	d, _ := procCPU(s.pid)
	return d
}

// buildStrata builds cmd/strata-server of the checkout at repo into dir.
func buildStrata(repo, dir string) (string, error) {
	out := filepath.Join(dir, "strata-server")
	cmd := exec.Command("go", "build", "-o", out, "./cmd/strata-server")
	cmd.Dir = repo
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building strata-server in %s: %v: %s", repo, err, b)
	}
	return out, nil
}

// versionOf runs "bin --version" and returns its first line.
func versionOf(bin string) string {
	b, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0])
}

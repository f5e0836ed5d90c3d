package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestParseArgs(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "strata.conf")
	os.WriteFile(conf, []byte("# a config\nport 7001\nappendfsync always\nrequirepass \"from file\"\ntimeout 10\n"), 0o644)
	st, err := parseArgs([]string{conf, "--port", "7002", "--bind", "127.0.0.1", "-::1", "--dir", filepath.Join(dir, "data"), "--maxmemory=64mb"})
	if err != nil {
		t.Fatal(err)
	}
	o := st.opts
	if o.Port != 7002 || o.AppendFsync != "always" || o.RequirePass != "from file" || len(o.Bind) != 2 ||
		o.MaxMemory != 64<<20 || o.Timeout != 10*time.Second || st.dir != filepath.Join(dir, "data") || st.configFile != conf {
		t.Fatalf("parsed %+v, dir %s", o, st.dir)
	}
	st, err = parseArgs([]string{"--config", conf})
	if err != nil || st.opts.Port != 7001 || !strings.HasSuffix(st.dir, "strata-data") {
		t.Fatalf("--config: %+v %v", st, err)
	}
	bad := filepath.Join(dir, "bad.conf")
	os.WriteFile(bad, []byte("port 7001\n\n# fine so far\nnosuchdirective yes\n"), 0o644)
	if _, err := parseArgs([]string{bad}); err == nil || !strings.Contains(err.Error(), bad+" line 4") || !strings.Contains(err.Error(), "nosuchdirective") {
		t.Fatalf("unknown directive: %v", err)
	}
	for _, args := range [][]string{{"--nosuch", "1"}, {"--port", "x"}, {"stray", "args"}, {"--appendfsync", "sometimes"}, {"--"}} {
		if _, err := parseArgs(args); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
	if _, err := parseArgs([]string{"--help"}); err != errHelp {
		t.Errorf("--help: %v", err)
	}
}

func TestSecondSignalExitsAtOnce(t *testing.T) {
	sigs := make(chan os.Signal, 2)
	shutdown := make(chan struct{})
	exited := make(chan int, 1)
	go onSignals(sigs, slog.New(slog.NewTextHandler(io.Discard, nil)), func() { <-make(chan struct{}) /* a shutdown that hangs */ }, func(code int) { exited <- code })
	sigs <- syscall.SIGTERM
	select {
	case code := <-exited:
		t.Fatalf("exited (%d) at the first signal", code)
	case <-time.After(50 * time.Millisecond):
	}
	close(shutdown)
	sigs <- syscall.SIGINT
	if code := <-exited; code != 1 {
		t.Fatalf("exit status %d at the second signal", code)
	}
}

// binary builds strata-server once per test run.
var builtBinary string

func binary(t *testing.T) string {
	t.Helper()
	if builtBinary != "" {
		return builtBinary
	}
	// A directory of its own: two test runs at once must not build over
	// each other's binary.
	tmp, err := os.MkdirTemp("", "strata-server-test-")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tmp, "strata-server")
	cmd := exec.Command("go", "build", "-o", out, ".")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	builtBinary = out
	return out
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtBinary != "" {
		os.RemoveAll(filepath.Dir(builtBinary))
	}
	os.Exit(code)
}

// proc is a running strata-server.
type proc struct {
	cmd    *exec.Cmd
	addr   string
	stderr *strings.Builder
	done   chan struct{}
	lines  chan string
}

var readyRE = regexp.MustCompile(`msg="ready to accept connections" addr=([^ ,]+)`)

// start runs the server and waits for its ready line.
func start(t *testing.T, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stderr: &strings.Builder{}, done: make(chan struct{}), lines: make(chan string, 1)}
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			p.stderr.WriteString(line + "\n")
			if m := readyRE.FindStringSubmatch(line); m != nil {
				p.lines <- m[1]
			}
		}
		close(p.done)
	}()
	select {
	case p.addr = <-p.lines:
	case <-p.done:
		cmd.Wait()
		t.Fatalf("strata-server exited before it was ready:\n%s", p.stderr)
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("strata-server not ready:\n%s", p.stderr)
	}
	return p
}

// wait returns the exit status.
func (p *proc) wait(t *testing.T) int {
	t.Helper()
	<-p.done
	err := p.cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// TestSignalsAndRestart: SIGTERM drains and exits 0; the data is there
// after a restart; SHUTDOWN does the same; a bad config exits 2.
func TestSignalsAndRestart(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	args := []string{"--dir", dir, "--port", port, "--bind", "127.0.0.1"}
	p := start(t, args...)
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: p.addr})
	if err := rdb.Set(ctx, "k", "before the signal", 0).Err(); err != nil {
		t.Fatal(err)
	}
	rdb.Close()
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit status %d after SIGTERM:\n%s", code, p.stderr)
	}
	for _, want := range []string{"signal received", "database closed"} {
		if !strings.Contains(p.stderr.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, p.stderr)
		}
	}
	if !strings.Contains(p.stderr.String(), "appendfsync=everysec") || !strings.Contains(p.stderr.String(), "dir="+dir) {
		t.Errorf("the ready line lacks the sync mode or the dir:\n%s", p.stderr)
	}
	p = start(t, args...)
	rdb = redis.NewClient(&redis.Options{Addr: p.addr})
	if v, err := rdb.Get(ctx, "k").Result(); err != nil || v != "before the signal" {
		t.Fatalf("after restart: %q, %v", v, err)
	}
	rdb.Shutdown(ctx) // no reply: the connection closes
	rdb.Close()
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit status %d after SHUTDOWN:\n%s", code, p.stderr)
	}
	conf := filepath.Join(dir, "bad.conf")
	os.WriteFile(conf, []byte("port 1\nfrobnicate yes\n"), 0o644)
	cmd := exec.Command(binary(t), conf)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "line 2") {
		t.Fatalf("a bad config: %v\n%s", err, out)
	}
}

package server

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stratadb/strata/lsm"
)

// testServer is a Server on a fresh DB, listening on a loopback port.
type testServer struct {
	s    *Server
	db   *lsm.DB
	addr string
	dir  string
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func startServer(t testing.TB, opts *Options) *testServer {
	t.Helper()
	dir := t.TempDir()
	db, err := lsm.Open(filepath.Join(dir, "data"), &lsm.Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Dir == "" {
		o.Dir = dir // the layout of strata-server: the DB in dir/data
	}
	if o.Logger == nil {
		o.Logger = quietLogger()
	}
	s, err := New(db, &o)
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { s.ServeListeners(ln); close(done) }()
	ts := &testServer{s: s, db: db, addr: ln.Addr().String(), dir: dir}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		<-done
		db.Close()
	})
	return ts
}

// respConn is a raw client: it sends requests as RESP arrays (or raw
// bytes) and reads replies as raw bytes, one value at a time.
type respConn struct {
	t  testing.TB
	nc net.Conn
	r  *bufio.Reader
}

func dial(t testing.TB, addr string) *respConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &respConn{t: t, nc: nc, r: bufio.NewReaderSize(nc, 1<<16)}
}

func encodeCommand(args ...string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.Bytes()
}

func (c *respConn) send(args ...string) { c.sendRaw(encodeCommand(args...)) }

func (c *respConn) sendRaw(b []byte) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// read returns one reply, raw.
func (c *respConn) read() (string, error) {
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b bytes.Buffer
	err := readValue(c.r, &b)
	return b.String(), err
}

func (c *respConn) mustRead() string {
	c.t.Helper()
	s, err := c.read()
	if err != nil {
		c.t.Fatalf("read: %v (got %q)", err, s)
	}
	return s
}

// do sends a command and returns its raw reply.
func (c *respConn) do(args ...string) string {
	c.t.Helper()
	c.send(args...)
	return c.mustRead()
}

// readValue copies one RESP2/RESP3 value from r to out.
func readValue(r *bufio.Reader, out *bytes.Buffer) error {
	line, err := r.ReadString('\n')
	out.WriteString(line)
	if err != nil {
		return err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return fmt.Errorf("bad line %q", line)
	}
	body := line[1 : len(line)-2]
	switch line[0] {
	case '+', '-', ':', ',', '#', '_', '(':
		return nil
	case '$', '=', '!':
		n, err := strconv.Atoi(body)
		if err != nil {
			return err
		}
		if n < 0 {
			return nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return err
		}
		out.Write(buf)
		return nil
	case '*', '~', '>', '%', '|':
		n, err := strconv.Atoi(body)
		if err != nil {
			return err
		}
		if line[0] == '%' || line[0] == '|' {
			n *= 2
		}
		for i := 0; i < n; i++ {
			if err := readValue(r, out); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown reply type %q", line)
}

// rv is a parsed reply, for normalizing replies before comparing them.
type rv struct {
	typ   byte
	str   string // the line's body, or a bulk's content
	elems []rv   // aggregates (maps hold 2n elements)
	null  bool   // $-1 or *-1
}

func parseReply(s string) (rv, error) {
	r := bufio.NewReader(strings.NewReader(s))
	return parseValue(r)
}

func parseValue(r *bufio.Reader) (rv, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return rv{}, err
	}
	body := line[1 : len(line)-2]
	v := rv{typ: line[0]}
	switch line[0] {
	case '$', '=', '!':
		n, _ := strconv.Atoi(body)
		if n < 0 {
			v.null = true
			return v, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return v, err
		}
		v.str = string(buf[:n])
	case '*', '~', '>', '%', '|':
		n, _ := strconv.Atoi(body)
		if n < 0 {
			v.null = true
			return v, nil
		}
		if line[0] == '%' || line[0] == '|' {
			n *= 2
		}
		for i := 0; i < n; i++ {
			e, err := parseValue(r)
			if err != nil {
				return v, err
			}
			v.elems = append(v.elems, e)
		}
	default:
		v.str = body
	}
	return v, nil
}

func (v rv) encode() string {
	var b strings.Builder
	v.encodeTo(&b)
	return b.String()
}

func (v rv) encodeTo(b *strings.Builder) {
	switch v.typ {
	case '$', '=', '!':
		if v.null {
			fmt.Fprintf(b, "%c-1\r\n", v.typ)
			return
		}
		fmt.Fprintf(b, "%c%d\r\n%s\r\n", v.typ, len(v.str), v.str)
	case '*', '~', '>', '%', '|':
		if v.null {
			fmt.Fprintf(b, "%c-1\r\n", v.typ)
			return
		}
		n := len(v.elems)
		if v.typ == '%' || v.typ == '|' {
			n /= 2
		}
		fmt.Fprintf(b, "%c%d\r\n", v.typ, n)
		for _, e := range v.elems {
			e.encodeTo(b)
		}
	default:
		fmt.Fprintf(b, "%c%s\r\n", v.typ, v.str)
	}
}

// sortedBy returns v with its elements sorted in groups of n (n = 2: a
// map's pairs, or a flat array of field, value...).
func (v rv) sortedBy(n int) rv {
	if v.elems == nil || n < 1 || len(v.elems)%n != 0 {
		return v
	}
	groups := make([][]rv, 0, len(v.elems)/n)
	for i := 0; i < len(v.elems); i += n {
		groups = append(groups, v.elems[i:i+n])
	}
	key := func(g []rv) string {
		var b strings.Builder
		for _, e := range g {
			e.encodeTo(&b)
		}
		return b.String()
	}
	sort.SliceStable(groups, func(i, j int) bool { return key(groups[i]) < key(groups[j]) })
	out := make([]rv, 0, len(v.elems))
	for _, g := range groups {
		out = append(out, g...)
	}
	v.elems = out
	return v
}

// sorted returns v with its elements sorted by their encoding.
func (v rv) sorted() rv {
	if v.elems == nil {
		return v
	}
	es := append([]rv(nil), v.elems...)
	sort.Slice(es, func(i, j int) bool { return es[i].encode() < es[j].encode() })
	v.elems = es
	return v
}

// ---- redis-server, for the differential tests ----

var (
	redisOnce sync.Once
	redisAddr string
	redisErr  error
	redisCmd  *exec.Cmd
	redisDir  string
)

// refRedis starts (once per test binary) Debian's redis-server on a free
// loopback port and returns its address; the test is skipped when the
// binary is absent.
func refRedis(t testing.TB) string {
	t.Helper()
	redisOnce.Do(func() {
		bin, err := exec.LookPath("redis-server")
		if err != nil {
			for _, p := range []string{"/usr/bin/redis-server", "/usr/local/bin/redis-server"} {
				if _, e := os.Stat(p); e == nil {
					bin, err = p, nil
					break
				}
			}
		}
		if err != nil {
			redisErr = errors.New("redis-server is not installed (apt-get install redis-server): the differential tests need it")
			return
		}
		redisDir, err = os.MkdirTemp("", "strata-diff-redis")
		if err != nil {
			redisErr = err
			return
		}
		port := freePort()
		redisCmd = exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
			"--appendonly", "no", "--databases", "1", "--dir", redisDir, "--daemonize", "no", "--logfile", filepath.Join(redisDir, "log"),
			"--enable-debug-command", "no")
		if err := redisCmd.Start(); err != nil {
			redisErr = err
			return
		}
		redisAddr = fmt.Sprintf("127.0.0.1:%d", port)
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if nc, err := net.Dial("tcp", redisAddr); err == nil {
				nc.Close()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		redisErr = errors.New("redis-server did not start")
	})
	if redisErr != nil {
		t.Skip(redisErr.Error())
	}
	return redisAddr
}

func stopRefRedis() {
	if redisCmd != nil && redisCmd.Process != nil {
		redisCmd.Process.Kill()
		redisCmd.Wait()
	}
	if redisDir != "" {
		os.RemoveAll(redisDir)
	}
}

// freshRefRedis is refRedis from a new redis-server process when one ran
// before in this test binary: state that lives as long as the process
// (the Lua random generator's, which scripts' math.random draws continue)
// then starts as a test that expects a fresh server needs, also when the
// tests run more than once (-count).
func freshRefRedis(t testing.TB) string {
	t.Helper()
	if redisAddr != "" {
		stopRefRedis()
		redisOnce, redisAddr, redisErr, redisCmd, redisDir = sync.Once{}, "", nil, nil, ""
	}
	return refRedis(t)
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestMain(m *testing.M) {
	code := m.Run()
	stopRefRedis()
	os.Exit(code)
}

func listenLoopback() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

// independentKey returns a key named prefix and a number whose locks are
// not key's: neither the server's stripe nor the Store's. Both are drawn
// per process (a seed each), so a fixed pair of names shares a stripe in
// about one run in 500, and a test that holds key (a script that never
// ends) while it writes the other would then wait for it.
func independentKey(s *Server, key, prefix string) string {
	for i := 0; ; i++ {
		k := fmt.Sprintf("%s%d", prefix, i)
		if !s.store.SameStripe([]byte(key), []byte(k)) && s.stripeOf([]byte(key)) != s.stripeOf([]byte(k)) {
			return k
		}
	}
}

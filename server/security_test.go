package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stratadb/strata/lsm"
)

// nonLoopbackIP returns an address of this machine that is not loopback,
// or nil.
func nonLoopbackIP() net.IP {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
			return ipn.IP
		}
	}
	return nil
}

// serveOn starts a server on ln.
func serveOn(t *testing.T, ln net.Listener, opts *Options) *Server {
	t.Helper()
	db, err := lsm.Open(t.TempDir(), &lsm.Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	o := *opts
	o.Logger = quietLogger()
	s, err := New(db, &o)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { s.ServeListeners(ln); close(done) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		<-done
		db.Close()
	})
	return s
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{"127.0.0.1:1": true, "127.5.5.5:1": true, "[::1]:1": true, "192.0.2.2:1": false, "[fd00::2]:1": false, "10.0.0.1:6379": false} {
		a, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := isLoopback(a); got != want {
			t.Errorf("isLoopback(%s) = %v", addr, got)
		}
	}
}

// TestProtectedMode connects from a non-loopback address of this machine:
// refused with Redis's -DENIED text without a password, accepted with one
// or with protected mode off.
func TestProtectedMode(t *testing.T) {
	ip := nonLoopbackIP()
	if ip == nil {
		t.Skip("this machine has no non-loopback IPv4 address; TestIsLoopback covers the check")
	}
	for _, tc := range []struct {
		name   string
		opts   Options
		denied bool
	}{
		{"no password", Options{}, true},
		{"password", Options{RequirePass: "secret"}, false},
		{"protected mode off", Options{ProtectedModeOff: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "0.0.0.0:0")
			if err != nil {
				t.Fatal(err)
			}
			serveOn(t, ln, &tc.opts)
			port := ln.Addr().(*net.TCPAddr).Port
			remote := dial(t, net.JoinHostPort(ip.String(), strconv.Itoa(port)))
			remote.send("PING")
			remote.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
			if tc.denied {
				got, err := io.ReadAll(remote.r)
				if string(got) != msgDenied {
					t.Fatalf("from %s: got %q, %v", ip, got, err)
				}
				return
			}
			got := remote.mustRead()
			if got != "+PONG\r\n" && !strings.HasPrefix(got, "-NOAUTH") {
				t.Fatalf("from %s: got %q", ip, got)
			}
			local := dial(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
			if r := local.do("PING"); r != "+PONG\r\n" && !strings.HasPrefix(r, "-NOAUTH") {
				t.Fatalf("from loopback: %q", r)
			}
		})
	}
}

// TestProtectedModeMatchesRedis compares the refusal byte for byte with a
// redis-server bound to every address.
func TestProtectedModeMatchesRedis(t *testing.T) {
	ip := nonLoopbackIP()
	bin, err := exec.LookPath("redis-server")
	if ip == nil || err != nil {
		t.Skip("needs redis-server and a non-loopback address")
	}
	port := freePort()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "0.0.0.0", "--save", "", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	addr := net.JoinHostPort(ip.String(), strconv.Itoa(port))
	var nc net.Conn
	for i := 0; i < 200; i++ {
		if nc, err = net.Dial("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	nc.Write(encodeCommand("PING"))
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	want, _ := io.ReadAll(nc)
	nc.Close()
	if string(want) != msgDenied {
		t.Fatalf("redis-server's refusal differs from ours:\nredis: %q\nours:  %q", want, msgDenied)
	}
}

func TestRequirePass(t *testing.T) {
	ts := startServer(t, &Options{RequirePass: "s3cret"})
	c := dial(t, ts.addr)
	steps := []struct{ cmd, want string }{
		{"GET a", "-NOAUTH Authentication required.\r\n"},
		{"PING", "-NOAUTH Authentication required.\r\n"},
		{"AUTH wrong", "-WRONGPASS invalid username-password pair or user is disabled.\r\n"},
		{"AUTH other s3cret", "-WRONGPASS invalid username-password pair or user is disabled.\r\n"},
		{"HELLO 3", "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n"},
		{"HELLO 2 AUTH default wrong", "-WRONGPASS invalid username-password pair or user is disabled.\r\n"},
		{"AUTH s3cret", "+OK\r\n"},
		{"PING", "+PONG\r\n"},
		{"RESET", "+RESET\r\n"},
		{"PING", "-NOAUTH Authentication required.\r\n"},
		{"AUTH default s3cret", "+OK\r\n"},
		{"CONFIG SET requirepass newpass", "+OK\r\n"},
		{"PING", "+PONG\r\n"},
	}
	for _, st := range steps {
		if got := c.do(strings.Fields(st.cmd)...); got != st.want {
			t.Fatalf("%s: got %q, want %q", st.cmd, got, st.want)
		}
	}
	d := dial(t, ts.addr)
	if got := d.do("AUTH", "s3cret"); !strings.HasPrefix(got, "-WRONGPASS") {
		t.Fatalf("old password after CONFIG SET requirepass: %q", got)
	}
	if got := d.do("HELLO", "2", "AUTH", "default", "newpass"); !strings.HasPrefix(got, "*14\r\n") {
		t.Fatalf("HELLO AUTH with the new password: %q", got)
	}
	// Before AUTH, requests are bounded: 10 arguments, 16 KiB each.
	e := dial(t, ts.addr)
	e.sendRaw([]byte("*11\r\n"))
	if got, _ := io.ReadAll(e.r); string(got) != "-ERR Protocol error: unauthenticated multibulk length\r\n" {
		t.Fatalf("a big request before AUTH: %q", got)
	}
}

// writeCerts makes a CA, a server certificate for 127.0.0.1 and a client
// certificate, as PEM files in dir.
func writeCerts(t *testing.T, dir string) (ca *x509.CertPool, clientCert tls.Certificate) {
	t.Helper()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey := newKey()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	issue := func(name string, serial int64, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
		k := newKey()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, k
	}
	writePEM := func(name, typ string, der []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	srvDER, srvKey := issue("server", 2, x509.ExtKeyUsageServerAuth)
	keyDER, _ := x509.MarshalECPrivateKey(srvKey)
	writePEM("ca.crt", "CERTIFICATE", caDER)
	writePEM("server.crt", "CERTIFICATE", srvDER)
	writePEM("server.key", "EC PRIVATE KEY", keyDER)
	cliDER, cliKey := issue("client", 3, x509.ExtKeyUsageClientAuth)
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return pool, tls.Certificate{Certificate: [][]byte{cliDER}, PrivateKey: cliKey}
}

// TestTLS serves TLS from certificate files and talks to it with go-redis,
// with and without a client certificate.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	pool, clientCert := writeCerts(t, dir)
	for _, auth := range []string{"no", "yes"} {
		t.Run("tls-auth-clients "+auth, func(t *testing.T) {
			port := freePort()
			o := &Options{Port: -1, TLSPort: port, Bind: []string{"127.0.0.1"},
				TLSCertFile: filepath.Join(dir, "server.crt"), TLSKeyFile: filepath.Join(dir, "server.key"), TLSAuthClients: auth}
			if auth == "yes" {
				o.TLSCACertFile = filepath.Join(dir, "ca.crt")
			}
			db, err := lsm.Open(t.TempDir(), &lsm.Options{Logger: quietLogger()})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			o.Logger = quietLogger()
			s, err := New(db, o)
			if err != nil {
				t.Fatal(err)
			}
			lns, err := s.Listen()
			if err != nil {
				t.Fatal(err)
			}
			go s.ServeListeners(lns...)
			defer s.Shutdown(context.Background())
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			ctx := context.Background()
			conf := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
			if auth == "yes" {
				bare := redis.NewClient(&redis.Options{Addr: addr, TLSConfig: conf.Clone(), MaxRetries: -1})
				if err := bare.Ping(ctx).Err(); err == nil {
					t.Fatal("a client without a certificate was served")
				}
				bare.Close()
				conf.Certificates = []tls.Certificate{clientCert}
			}
			rdb := redis.NewClient(&redis.Options{Addr: addr, TLSConfig: conf})
			defer rdb.Close()
			if err := rdb.Set(ctx, "k", "over tls", 0).Err(); err != nil {
				t.Fatal(err)
			}
			if v, err := rdb.Get(ctx, "k").Result(); err != nil || v != "over tls" {
				t.Fatalf("GET: %q, %v", v, err)
			}
			// A plain-text client gets nothing from the TLS port.
			plain := dial(t, addr)
			plain.send("PING")
			plain.nc.SetReadDeadline(time.Now().Add(2 * time.Second))
			if b, _ := plain.r.ReadString('\n'); strings.HasPrefix(b, "+PONG") {
				t.Fatal("plain text served on the TLS port")
			}
		})
	}
}

// TestLimitsDisconnectOnlyTheOffender: each limit closes the client over
// it while another client keeps working.
func TestLimitsDisconnectOnlyTheOffender(t *testing.T) {
	ts := startServer(t, &Options{ProtoMaxBulkLen: 1 << 20, ClientQueryBufferLimit: 1 << 20, MaxMultibulkLen: 1000})
	good := dial(t, ts.addr)
	good.do("SET", "k", "v")
	check := func(name string) {
		t.Helper()
		if r := good.do("GET", "k"); r != "$1\r\nv\r\n" {
			t.Fatalf("%s: the other client got %q", name, r)
		}
	}
	cases := []struct {
		name, send, want string
	}{
		{"bulk over proto-max-bulk-len", "*2\r\n$3\r\nGET\r\n$2000000\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"too many arguments", "*1001\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"inline line too long", strings.Repeat("x", 70000), "-ERR Protocol error: too big inline request\r\n"},
		{"bad framing", "*1\r\n:1\r\n", "-ERR Protocol error: expected '$', got ':'\r\n"},
	}
	for _, tc := range cases {
		bad := dial(t, ts.addr)
		bad.sendRaw([]byte(tc.send))
		bad.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		got, _ := io.ReadAll(bad.r)
		if string(got) != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
		check(tc.name)
	}
}

func TestQueryBufferLimit(t *testing.T) {
	// A bulk may be as large as proto-max-bulk-len, but one request may not
	// hold more than client-query-buffer-limit unread.
	ts := startServer(t, &Options{ProtoMaxBulkLen: 4 << 20, ClientQueryBufferLimit: 1 << 20})
	good := dial(t, ts.addr)
	bad := dial(t, ts.addr)
	bad.sendRaw([]byte("*3\r\n$3\r\nSET\r\n$1\r\nq\r\n$3000000\r\n"))
	chunk := []byte(strings.Repeat("x", 64*1024))
	closed := false
	for i := 0; i < 40 && !closed; i++ {
		bad.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := bad.nc.Write(chunk); err != nil {
			closed = true
		}
		if r := good.do("PING"); r != "+PONG\r\n" {
			t.Fatalf("the other client got %q", r)
		}
	}
	bad.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(bad.r)
	if len(got) != 0 {
		t.Fatalf("the offender got %q; Redis closes it without a reply", got)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the offender was not disconnected")
	}
	if r := good.do("EXISTS", "q"); r != ":0\r\n" {
		t.Fatalf("the oversized request was applied: %q", r)
	}
}

func TestMaxClients(t *testing.T) {
	ts := startServer(t, &Options{MaxClients: 2})
	a, b := dial(t, ts.addr), dial(t, ts.addr)
	a.do("PING")
	b.do("PING")
	c := dial(t, ts.addr)
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if got, _ := io.ReadAll(c.r); string(got) != "-ERR max number of clients reached\r\n" {
		t.Fatalf("third client: %q", got)
	}
	if r := a.do("PING"); r != "+PONG\r\n" {
		t.Fatalf("first client: %q", r)
	}
	if r := a.do("CONFIG", "GET", "maxclients"); r != "*2\r\n$10\r\nmaxclients\r\n$1\r\n2\r\n" {
		t.Fatalf("CONFIG GET maxclients: %q", r)
	}
	a.do("CONFIG", "SET", "maxclients", "3")
	d := dial(t, ts.addr)
	if r := d.do("PING"); r != "+PONG\r\n" {
		t.Fatalf("after CONFIG SET maxclients 3: %q", r)
	}
	if r := a.do("INFO", "stats"); !strings.Contains(r, "rejected_connections:1\r\n") {
		t.Fatalf("INFO stats: %q", r)
	}
}

// TestIdleTimeout: an idle client is closed, a busy one is not.
func TestIdleTimeout(t *testing.T) {
	ts := startServer(t, &Options{Timeout: 300 * time.Millisecond})
	idle, busy, sub := dial(t, ts.addr), dial(t, ts.addr), dial(t, ts.addr)
	idle.do("PING")
	sub.do("SUBSCRIBE", "c") // a subscriber is never idle (Redis)
	deadline := time.Now().Add(20 * time.Second)
	for {
		busy.do("PING")
		idle.nc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, err := idle.r.ReadByte(); err == io.EOF {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the idle client was never closed")
		}
	}
	if r := busy.do("PING"); r != "+PONG\r\n" {
		t.Fatalf("the busy client: %q", r)
	}
	if r := busy.do("PUBLISH", "c", "m"); r != ":1\r\n" {
		t.Fatalf("the idle subscriber was closed: PUBLISH %q", r)
	}
	if r := sub.mustRead(); r != "*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n" {
		t.Fatalf("the subscriber: %q", r)
	}
}

// TestSlowReaderDoesNotStallOthers: a client that pipelines big replies
// and never reads blocks only itself.
func TestSlowReaderDoesNotStallOthers(t *testing.T) {
	ts := startServer(t, nil)
	good := dial(t, ts.addr)
	good.do("SET", "big", strings.Repeat("x", 1<<20))
	slow := dial(t, ts.addr)
	if tc, ok := slow.nc.(*net.TCPConn); ok {
		tc.SetReadBuffer(4096)
	}
	slow.do("PING") // accepted and registered before the flood
	id := slowID(t, good, slow)
	go func() {
		for i := 0; i < 200; i++ {
			slow.nc.SetWriteDeadline(time.Now().Add(30 * time.Second))
			if _, err := slow.nc.Write(encodeCommand("GET", "big")); err != nil {
				return
			}
		}
	}()
	for i := 0; i < 50; i++ {
		if r := good.do("INCR", "n"); r != ":"+strconv.Itoa(i+1)+"\r\n" {
			t.Fatalf("INCR: %q", r)
		}
	}
	if r := good.do("CLIENT", "KILL", "ID", id); r != ":1\r\n" {
		t.Fatalf("CLIENT KILL of the slow reader: %q", r)
	}
	if r := good.do("PING"); r != "+PONG\r\n" {
		t.Fatalf("PING: %q", r)
	}
}

// slowID finds slow's client id from CLIENT LIST run by good.
func slowID(t *testing.T, good, slow *respConn) string {
	local := slow.nc.LocalAddr().String()
	v, err := parseReply(good.do("CLIENT", "LIST"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(v.str, "\n") {
		if strings.Contains(line, "addr="+local+" ") {
			id, _, _ := strings.Cut(strings.TrimPrefix(line, "id="), " ")
			return id
		}
	}
	t.Fatalf("no client at %s in %q", local, v.str)
	return ""
}

package server

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// runCLI pipes input to redis-cli connected to addr.
func runCLI(t *testing.T, addr string, input string, args ...string) string {
	t.Helper()
	host, port, _ := strings.Cut(addr, ":")
	cmd := exec.Command("redis-cli", append([]string{"-h", host, "-p", port}, args...)...)
	cmd.Stdin = strings.NewReader(input)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestRedisCLI pipes commands through redis-cli to this server and to
// redis-server and compares what redis-cli prints.
func TestRedisCLI(t *testing.T) {
	if _, err := exec.LookPath("redis-cli"); err != nil {
		t.Skip("redis-cli is not installed (apt-get install redis-tools)")
	}
	ref := refRedis(t)
	ts := startServer(t, nil)
	script := strings.Join([]string{
		"FLUSHALL", "SET greeting hello", "GET greeting", "APPEND greeting \" world\"", "GET greeting",
		"INCR visits", "INCRBY visits 10", "SET temp x EX 100", "PERSIST temp", "TTL temp", "MSET a 1 b 2",
		"MGET a b c", "KEYS a", "EXISTS a b c", "DEL a b", "GET nosuch", "INCR greeting", "NOSUCH cmd",
		"MULTI", "INCR visits", "GET visits", "EXEC", "EVAL \"return {1, 'two', {ok='three'}}\" 0",
		"CONFIG GET maxmemory-policy", "DBSIZE", "PING", "ECHO \"with spaces\"",
	}, "\n") + "\n"
	want := runCLI(t, ref, script)
	got := runCLI(t, ts.addr, script)
	if got != want {
		t.Fatalf("redis-cli output differs:\nredis-server:\n%s\nours:\n%s", want, got)
	}
	got3 := runCLI(t, ts.addr, script, "-3")
	want3 := runCLI(t, ref, script, "-3")
	if got3 != want3 {
		t.Fatalf("redis-cli -3 output differs:\nredis-server:\n%s\nours:\n%s", want3, got3)
	}

	// Mass insertion: redis-cli --pipe with raw RESP.
	var buf bytes.Buffer
	for i := 0; i < 2000; i++ {
		buf.Write(encodeCommand("SET", fmt.Sprintf("mass:%d", i), fmt.Sprint(i)))
	}
	out := runCLI(t, ts.addr, buf.String(), "--pipe")
	if !strings.Contains(out, "errors: 0, replies: 2000") {
		t.Fatalf("redis-cli --pipe: %s", out)
	}
	// 2000 keys, and greeting, visits and temp from the script above.
	if n := runCLI(t, ts.addr, "DBSIZE\n"); n != "2003\n" {
		t.Fatalf("DBSIZE after --pipe: %q", n)
	}
	if got := runCLI(t, ts.addr, "GET mass:1999\n"); got != "1999\n" {
		t.Fatalf("GET mass:1999: %q", got)
	}
}

// TestPythonClient runs key-value patterns written with redis-py (Debian's
// python3-redis) against the server, among them the data-structure
// patterns (a profile hash, a job queue with blocked workers, likes, a
// leaderboard, a product hash) as applications write them.
func TestPythonClient(t *testing.T) {
	py := "/usr/bin/python3"
	if _, err := exec.LookPath(py); err != nil {
		if py, err = exec.LookPath("python3"); err != nil {
			t.Skip("python3 is not installed")
		}
	}
	if err := exec.Command(py, "-c", "import redis").Run(); err != nil {
		t.Skip("the Python redis client is not installed (apt-get install python3-redis)")
	}
	ts := startServer(t, nil)
	_, port, _ := strings.Cut(ts.addr, ":")
	out, err := exec.Command(py, "testdata/python/patterns.py", port).CombinedOutput()
	if err != nil {
		t.Fatalf("patterns.py: %v\n%s", err, out)
	}
	for _, want := range []string{"strings ok", "cache ok", "sessions ok", "rate limit (pipeline) ok", "rate limit (script) ok",
		"simple lock ok", "token lock ok", "profile hash ok", "job queue ok", "blocking workers ok", "likes ok", "leaderboard ok",
		"product hash ok"} {
		if !strings.Contains(string(out), want+"\n") {
			t.Errorf("patterns.py did not print %q:\n%s", want, out)
		}
	}
}

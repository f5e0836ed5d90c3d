package server

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// runningScripts is how many scripts the server is running.
func runningScripts(s *Server) int {
	s.lua.runsMu.Lock()
	defer s.lua.runsMu.Unlock()
	return len(s.lua.runs)
}

// TestScriptsOnOtherKeysRunMeanwhile: while a script on key a runs (a loop
// that never ends, under a lua-time-limit it does not reach), a script on
// key b runs to the end, and so does a lone write: scripts hold their keys,
// not the server. One Lua state would have made the second wait.
func TestScriptsOnOtherKeysRunMeanwhile(t *testing.T) {
	ts := startServer(t, &Options{LuaTimeLimit: time.Hour})
	a, b := dial(t, ts.addr), dial(t, ts.addr)
	kb, kc := independentKey(ts.s, "a", "b"), independentKey(ts.s, "a", "c")
	a.send("EVAL", "redis.call('get', KEYS[1]) while true do end", "1", "a")
	for deadline := time.Now().Add(20 * time.Second); runningScripts(ts.s) == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first script never started")
		}
	}
	if r := b.do("EVAL", "return redis.call('incr', KEYS[1])", "1", kb); r != ":1\r\n" {
		t.Fatalf("a script on another key while one runs: %q", r)
	}
	if r := b.do("SET", kc, "1"); r != "+OK\r\n" {
		t.Fatalf("a write while a script runs: %q", r)
	}
	ts.s.lua.killForShutdown()
	if r := a.mustRead(); !strings.HasPrefix(r, "-ERR Script killed by a server shutdown") {
		t.Fatalf("the stopped script's reply: %q", r)
	}
}

// TestScriptUndeclaredKeysRunGlobally: a script that names keys it did not
// declare, or the whole keyspace, still runs (globally, as Redis lets it),
// and all of its writes land, even when it calls the command under pcall
// or xpcall, which must not catch the switch.
func TestScriptUndeclaredKeysRunGlobally(t *testing.T) {
	ts := startServer(t, nil)
	c := dial(t, ts.addr)
	for _, tc := range []struct {
		script string
		keys   []string
		want   string
		set    []string // keys the script must have written
	}{
		{"redis.call('set', KEYS[1], 'x') redis.call('set', 'u1', 'y') return redis.call('dbsize')", []string{"k1"}, ":2\r\n", []string{"k1", "u1"}},
		{"redis.call('set', KEYS[1], 'x') local ok = pcall(redis.call, 'set', 'u2', 'y') return ok and 1 or 0", []string{"k2"}, ":1\r\n", []string{"k2", "u2"}},
		{"local ok = xpcall(function() redis.call('set', 'u3', 'y') end, function(e) return e end) return ok and 1 or 0", []string{"k3"}, ":1\r\n", []string{"u3"}},
		{"redis.pcall('set', 'u4', 'y') return 1", nil, ":1\r\n", []string{"u4"}},
		{"return redis.call('keys', 'k*')[1] ~= nil and 1 or 0", []string{"k1"}, ":1\r\n", nil},
		{"return redis.call('ping')", []string{"k5"}, "+PONG\r\n", nil},
	} {
		args := append([]string{"EVAL", tc.script, strconv.Itoa(len(tc.keys))}, tc.keys...)
		for round := range 2 { // the second time the script is known to be global
			if r := c.do(args...); r != tc.want {
				t.Fatalf("%s (round %d): %q, want %q", tc.script, round, r, tc.want)
			}
		}
		for _, k := range tc.set {
			if r := c.do("EXISTS", k); r != ":1\r\n" {
				t.Errorf("%s: key %s not written (%q)", tc.script, k, r)
			}
		}
	}
	// A script that keeps to its keys is not marked.
	c.do("EVAL", "return redis.call('set', KEYS[1], ARGV[1])", "1", "k9", "v")
	sc, _ := ts.s.lua.compile([]byte("return redis.call('set', KEYS[1], ARGV[1])"))
	if sc.global.Load() {
		t.Error("a script that named only its KEYS was marked global")
	}
	sc, _ = ts.s.lua.compile([]byte("redis.pcall('set', 'u4', 'y') return 1"))
	if !sc.global.Load() {
		t.Error("a script that named an undeclared key was not marked global")
	}
}

// TestScriptsAtomicUnderConcurrency: clients run a read-modify-write script
// on a shared counter (and one key of their own) while others INCR it; no
// increment is lost, so each script ran atomically against the others and
// the lone writes.
func TestScriptsAtomicUnderConcurrency(t *testing.T) {
	ts := startServer(t, nil)
	const script = "local v = tonumber(redis.call('get', KEYS[1]) or '0') redis.call('set', KEYS[1], v + 1) return redis.call('incr', KEYS[2])"
	sha := strings.TrimSpace(strings.SplitN(dial(t, ts.addr).do("SCRIPT", "LOAD", script), "\r\n", 3)[1])
	const clients, rounds = 6, 150
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		c := dial(t, ts.addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			own := fmt.Sprintf("own:%d", i)
			for n := range rounds {
				var r string
				if i%3 == 2 {
					r = c.do("INCR", "shared")
				} else {
					r = c.do("EVALSHA", sha, "2", "shared", own)
					if want := fmt.Sprintf(":%d\r\n", n+1); r != want {
						errs <- fmt.Errorf("client %d round %d: %q, want %q", i, n, r, want)
						return
					}
				}
				if !strings.HasPrefix(r, ":") {
					errs <- fmt.Errorf("client %d: %q", i, r)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := fmt.Sprintf("$%d\r\n%d\r\n", len(strconv.Itoa(clients*rounds)), clients*rounds)
	if r := dial(t, ts.addr).do("GET", "shared"); r != want {
		t.Fatalf("shared counter %q, want %q: an update was lost", r, want)
	}
}

// TestScriptVarargsWithoutArgTable: a script is called without Lua 5.1's
// "arg" table (see compile); "..." still works in the main chunk and in
// functions, and "arg" in the main chunk is a global, as Redis has it.
func TestScriptVarargsWithoutArgTable(t *testing.T) {
	ts := startServer(t, nil)
	c := dial(t, ts.addr)
	for _, tc := range []struct{ script, want string }{
		{"return select('#', ...)", ":0\r\n"},
		{"local function f(...) return select('#', ...) end return f(1, 2, 3)", ":3\r\n"},
		{"local function f(...) return #arg end return f(1, 2, 3)", ":3\r\n"},
		{"return type(arg)", "-ERR user_script:1: Script attempted to access nonexistent global variable 'arg'"},
	} {
		if r := c.do("EVAL", tc.script, "0"); !strings.HasPrefix(r, tc.want) {
			t.Errorf("%s: %q, want %q", tc.script, r, tc.want)
		}
	}
}

// TestKeyedScriptWakesWatchersAndWaiters: a script run keyed (it keeps to
// its KEYS) breaks a WATCH on a key it writes and serves a client blocked
// on a list it pushes to, as a global run does.
func TestKeyedScriptWakesWatchersAndWaiters(t *testing.T) {
	ts := startServer(t, nil)
	a, b := dial(t, ts.addr), dial(t, ts.addr)
	if r := a.do("WATCH", "w"); r != "+OK\r\n" {
		t.Fatalf("WATCH: %q", r)
	}
	if r := b.do("EVAL", "return redis.call('set', KEYS[1], 'x')", "1", "w"); r != "+OK\r\n" {
		t.Fatalf("EVAL: %q", r)
	}
	a.do("MULTI")
	a.do("SET", "w", "y")
	if r := a.do("EXEC"); r != "*-1\r\n" {
		t.Fatalf("EXEC after a script wrote the watched key: %q, want a null array", r)
	}
	a.send("BLPOP", "q", "0")
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(time.Millisecond) {
		if r := b.do("CLIENT", "LIST"); strings.Contains(r, "cmd=blpop") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("BLPOP never blocked")
		}
	}
	if r := b.do("EVAL", "return redis.call('lpush', KEYS[1], 'v')", "1", "q"); r != ":1\r\n" {
		t.Fatalf("EVAL LPUSH: %q", r)
	}
	if r := a.mustRead(); r != "*2\r\n$1\r\nq\r\n$1\r\nv\r\n" {
		t.Fatalf("the blocked client's reply: %q", r)
	}
	if sc, _ := ts.s.lua.compile([]byte("return redis.call('lpush', KEYS[1], 'v')")); sc.global.Load() {
		t.Fatal("the script ran globally: the test checks the keyed run")
	}
}

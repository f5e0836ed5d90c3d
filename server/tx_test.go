package server

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestWatchOptimisticCounter: clients increment one counter with the
// WATCH/GET/MULTI/SET/EXEC retry loop. If WATCH missed a concurrent write,
// two clients would write the same value and increments would be lost.
func TestWatchOptimisticCounter(t *testing.T) {
	ts := startServer(t, nil)
	const clients, each = 6, 40
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	retries := 0
	var mu sync.Mutex
	for i := 0; i < clients; i++ {
		c := dial(t, ts.addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < each; {
				c.send("WATCH", "counter")
				c.send("GET", "counter")
				if _, err := c.read(); err != nil {
					errs <- err
					return
				}
				r, err := c.read()
				if err != nil {
					errs <- err
					return
				}
				v := 0
				if strings.HasPrefix(r, "$") && r != "$-1\r\n" {
					v, _ = strconv.Atoi(strings.Split(r, "\r\n")[1])
				}
				c.send("MULTI")
				c.send("SET", "counter", strconv.Itoa(v+1))
				c.send("EXEC")
				for k := 0; k < 2; k++ {
					if _, err := c.read(); err != nil {
						errs <- err
						return
					}
				}
				r, err = c.read()
				if err != nil {
					errs <- err
					return
				}
				if r == "*-1\r\n" {
					mu.Lock()
					retries++
					mu.Unlock()
					continue
				}
				if r != "*1\r\n+OK\r\n" {
					errs <- fmt.Errorf("EXEC: %q", r)
					return
				}
				n++
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	c := dial(t, ts.addr)
	want := fmt.Sprintf("$%d\r\n%d\r\n", len(strconv.Itoa(clients*each)), clients*each)
	if got := c.do("GET", "counter"); got != want {
		t.Fatalf("counter: got %q, want %q", got, want)
	}
	t.Logf("%d increments, %d EXECs aborted by WATCH", clients*each, retries)
}

// TestWatchSeesWritesOutsideTheServer: Go code writing the DB directly
// breaks a WATCH too.
func TestWatchSeesWritesOutsideTheServer(t *testing.T) {
	ts := startServer(t, nil)
	c := dial(t, ts.addr)
	c.do("SET", "k", "1")
	c.do("WATCH", "k")
	if err := ts.db.Put([]byte("k"), []byte("2")); err != nil {
		t.Fatal(err)
	}
	c.do("MULTI")
	c.do("SET", "k", "3")
	if got := c.do("EXEC"); got != "*-1\r\n" {
		t.Fatalf("EXEC after an outside write: %q", got)
	}
	c.do("WATCH", "k")
	c.do("MULTI")
	c.do("SET", "k", "3")
	if got := c.do("EXEC"); got != "*1\r\n+OK\r\n" {
		t.Fatalf("EXEC without a write: %q", got)
	}
}

// TestExecIsAtomicForReaders: a reader never sees some of a
// transaction's writes (or of an MSET's) without the others: MGET reads one
// snapshot.
func TestExecIsAtomicForReaders(t *testing.T) {
	ts := startServer(t, nil)
	w := dial(t, ts.addr)
	const n = 100
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%03d", i)
	}
	setAll := func(v string, tx bool) {
		args := []string{"MSET"}
		for _, k := range keys {
			args = append(args, k, v)
		}
		if !tx {
			w.do(args...)
			return
		}
		w.send("MULTI")
		w.send(args...)
		w.send("EXEC")
		for k := 0; k < 3; k++ {
			w.mustRead()
		}
	}
	setAll("0", false)
	done := make(chan struct{})
	var bad []string
	go func() {
		defer close(done)
		r := dial(t, ts.addr)
		for i := 0; i < 200; i++ {
			got, err := r.read2(append([]string{"MGET"}, keys...)...)
			if err != nil {
				bad = append(bad, err.Error())
				return
			}
			v, _ := parseReply(got)
			for _, e := range v.elems {
				if e.str != v.elems[0].str {
					bad = append(bad, fmt.Sprintf("%s and %s", v.elems[0].str, e.str))
					break
				}
			}
		}
	}()
	for i := 1; i <= 200; i++ {
		setAll(strconv.Itoa(i), i%2 == 0)
	}
	<-done
	if len(bad) > 0 {
		t.Fatalf("a reader saw half a write (%d times): %q", len(bad), bad[:min(len(bad), 5)])
	}
}

// read2 is do without testing.T calls, for goroutines.
func (c *respConn) read2(args ...string) (string, error) {
	if _, err := c.nc.Write(encodeCommand(args...)); err != nil {
		return "", err
	}
	return c.read()
}

// TestExecIsolatedFromLoneWrites: transactions incrementing two counters
// run beside lone INCRs of one of them. EXEC reads and writes its keys
// under their stripes, so no increment is lost (a lone INCR between a
// transaction's read and its commit would be overwritten), and a reader's
// MGET never sees one counter moved without the other.
func TestExecIsolatedFromLoneWrites(t *testing.T) {
	ts := startServer(t, nil)
	const txClients, txEach, loneClients, loneEach = 6, 150, 3, 300
	var wg sync.WaitGroup
	errs := make(chan error, txClients+loneClients+1)
	for range txClients {
		c := dial(t, ts.addr)
		wg.Go(func() {
			for range txEach {
				c.send("MULTI")
				c.send("INCRBY", "a", "1")
				c.send("DECRBY", "b", "1")
				c.send("INCR", "n")
				c.send("EXEC")
				for range 4 {
					if _, err := c.read(); err != nil {
						errs <- err
						return
					}
				}
				r, err := c.read()
				if err != nil || !strings.HasPrefix(r, "*3\r\n:") {
					errs <- fmt.Errorf("EXEC: %q %v", r, err)
					return
				}
			}
		})
	}
	for range loneClients {
		c := dial(t, ts.addr)
		wg.Go(func() {
			for range loneEach {
				if r, err := c.read2("INCR", "n"); err != nil || !strings.HasPrefix(r, ":") {
					errs <- fmt.Errorf("INCR: %q %v", r, err)
					return
				}
			}
		})
	}
	stop := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		r := dial(t, ts.addr)
		for {
			select {
			case <-stop:
				return
			default:
			}
			got, err := r.read2("MGET", "a", "b")
			if err != nil {
				errs <- err
				return
			}
			v, _ := parseReply(got)
			a, _ := strconv.Atoi(v.elems[0].str)
			b, _ := strconv.Atoi(v.elems[1].str)
			if a+b != 0 {
				errs <- fmt.Errorf("a reader saw a=%d, b=%d", a, b)
				return
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-readerDone
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	c := dial(t, ts.addr)
	for k, want := range map[string]int{"a": txClients * txEach, "b": -txClients * txEach, "n": txClients*txEach + loneClients*loneEach} {
		if got := c.do("GET", k); got != fmt.Sprintf("$%d\r\n%d\r\n", len(strconv.Itoa(want)), want) {
			t.Errorf("%s: %q, want %d", k, got, want)
		}
	}
}

// TestExecOnOtherKeysRunsMeanwhile: an EXEC whose commands name their keys
// holds only those keys, so it runs while a script holds another key; an
// EXEC that reaches the whole keyspace (KEYS) waits for it, and both are
// whole.
func TestExecOnOtherKeysRunsMeanwhile(t *testing.T) {
	ts := startServer(t, &Options{LuaTimeLimit: time.Hour})
	a, b, g := dial(t, ts.addr), dial(t, ts.addr), dial(t, ts.addr)
	kb, kh := independentKey(ts.s, "a", "b"), independentKey(ts.s, "a", "h")
	a.send("EVAL", "redis.call('get', KEYS[1]) while true do end", "1", "a")
	for deadline := time.Now().Add(20 * time.Second); runningScripts(ts.s) == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the script never started")
		}
	}
	for _, cmd := range [][]string{{"MULTI"}, {"SET", kb, "1"}, {"INCR", kb}, {"HSET", kh, "f", "v"}, {"PING"}} {
		b.do(cmd...)
	}
	if r := b.do("EXEC"); r != "*4\r\n+OK\r\n:2\r\n:1\r\n+PONG\r\n" {
		t.Fatalf("EXEC on other keys while a script runs: %q", r)
	}
	g.do("MULTI")
	g.do("SET", "g", "1")
	g.do("KEYS", "*")
	g.send("EXEC") // needs the keyspace: waits for the script
	ts.s.lua.killForShutdown()
	if r := a.mustRead(); !strings.HasPrefix(r, "-ERR Script killed by a server shutdown") {
		t.Fatalf("the stopped script's reply: %q", r)
	}
	if r := g.mustRead(); !strings.HasPrefix(r, "*2\r\n+OK\r\n*") {
		t.Fatalf("EXEC with KEYS after the script: %q", r)
	}
}

// TestExecsOnSharedKeysStayAtomic: EXECs of several clients on a few shared
// counters, and readers of the pairs they write together, see every
// transaction whole: no increment lost, no pair half written.
func TestExecsOnSharedKeysStayAtomic(t *testing.T) {
	ts := startServer(t, nil)
	const clients, each = 6, 200
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := dial(t, ts.addr)
			defer c.nc.Close()
			for j := 0; j < each; j++ {
				v := strconv.Itoa(i*each + j)
				c.send("MULTI")
				c.send("INCR", "n")
				c.send("HINCRBY", "h", "n", "1")
				c.send("SET", "x", v)
				c.send("SET", "y", v)
				c.send("EXEC")
				for k := 0; k < 5; k++ {
					c.mustRead()
				}
				if r := c.mustRead(); !strings.HasPrefix(r, "*4\r\n:") {
					t.Errorf("EXEC: %q", r)
					return
				}
				if r := c.do("MGET", "x", "y"); !pairWhole(r) {
					t.Errorf("MGET x y saw a transaction half done: %q", r)
					return
				}
			}
		}(i)
	}
	wg.Wait()
	c := dial(t, ts.addr)
	want := ":" + strconv.Itoa(clients*each) + "\r\n"
	if r := c.do("INCRBY", "n", "0"); r != want {
		t.Errorf("INCR n: %q, want %q", r, want)
	}
	if r := c.do("HINCRBY", "h", "n", "0"); r != want {
		t.Errorf("HINCRBY h n: %q, want %q", r, want)
	}
}

// pairWhole reports whether an MGET reply holds two equal values.
func pairWhole(r string) bool {
	v, err := parseReply(r)
	if err != nil || len(v.elems) != 2 {
		return false
	}
	return v.elems[0].encode() == v.elems[1].encode()
}

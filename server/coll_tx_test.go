package server

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stratadb/strata/collections"
	"github.com/stratadb/strata/wal"
)

// walRecords counts the records in the DB's write-ahead logs.
func walRecords(t *testing.T, ts *testServer) int {
	t.Helper()
	logs, err := filepath.Glob(filepath.Join(ts.dir, "data", "*.log"))
	if err != nil || len(logs) == 0 {
		t.Fatalf("no WAL in %s: %v", ts.dir, err)
	}
	n := 0
	for _, name := range logs {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		r := wal.NewReader(f, name)
		for {
			if _, err := r.Next(); err != nil {
				var torn *wal.TornError
				if !errors.Is(err, io.EOF) && !errors.As(err, &torn) {
					t.Fatalf("%s: %v", name, err)
				}
				break
			}
			n++
		}
		f.Close()
	}
	return n
}

// TestMixedWritesAreOneWALRecord: what an EXEC or a script writes, strings
// and every collection type mixed, reaches the WAL as one record, so a
// crash keeps all of it or none; a lone command is one record too.
func TestMixedWritesAreOneWALRecord(t *testing.T) {
	ts := startServer(t, nil)
	c := dial(t, ts.addr)
	c.do("HSET", "warm", "f", "v") // reserves collection IDs (a write of its own)
	steps := []struct {
		name string
		cmds [][]string
		last string // the reply of the last command
	}{
		{"exec", [][]string{{"MULTI"}, {"SET", "s", "1"}, {"HSET", "h", "f", "v"}, {"RPUSH", "l", "a", "b"},
			{"SADD", "st", "m"}, {"ZADD", "z", "1", "m"}, {"INCR", "s"}, {"LPOP", "l"}, {"DEL", "warm"}, {"EXEC"}},
			"*8\r\n+OK\r\n:1\r\n:2\r\n:1\r\n:1\r\n:2\r\n$1\r\na\r\n:1\r\n"},
		{"eval", [][]string{{"EVAL", "redis.call('SET', KEYS[1], 'x') redis.call('HSET', KEYS[2], 'g', 'w') redis.call('ZINCRBY', KEYS[3], 2, 'm') return redis.call('SREM', KEYS[4], 'm')", "4", "s", "h", "z", "st"}},
			":1\r\n"},
		{"lone hset", [][]string{{"HSET", "h", "a", "1", "b", "2"}}, ":2\r\n"},
		{"lone del of three types", [][]string{{"DEL", "h", "l", "s"}}, ":3\r\n"},
	}
	for _, st := range steps {
		before := walRecords(t, ts)
		var got string
		for _, cmd := range st.cmds {
			got = c.do(cmd...)
		}
		if got != st.last {
			t.Fatalf("%s: reply %q, want %q", st.name, got, st.last)
		}
		if n := walRecords(t, ts) - before; n != 1 {
			t.Errorf("%s: %d WAL records, want 1", st.name, n)
		}
	}
	if got := c.do("ZSCORE", "z", "m"); got != "$1\r\n3\r\n" {
		t.Fatalf("ZSCORE after the script: %q", got)
	}
}

// TestWatchSeesCollectionWritesFromGo: a collection written by Go code
// through Server.Store breaks a WATCH on it, as a client's write does; a
// write to another key does not.
func TestWatchSeesCollectionWritesFromGo(t *testing.T) {
	ts := startServer(t, nil)
	c := dial(t, ts.addr)
	store := ts.s.Store()
	c.do("HSET", "h", "f", "1")
	c.do("WATCH", "h")
	if _, err := store.HSet([]byte("other"), []byte("f"), []byte("2")); err != nil {
		t.Fatal(err)
	}
	c.do("MULTI")
	c.do("HINCRBY", "h", "f", "1")
	if got := c.do("EXEC"); got != "*1\r\n:2\r\n" {
		t.Fatalf("EXEC after a write to another key: %q", got)
	}
	c.do("WATCH", "h")
	if _, err := store.HSet([]byte("h"), []byte("f"), []byte("10")); err != nil {
		t.Fatal(err)
	}
	c.do("MULTI")
	c.do("HINCRBY", "h", "f", "1")
	if got := c.do("EXEC"); got != "*-1\r\n" {
		t.Fatalf("EXEC after Go changed the watched hash: %q", got)
	}
	// An Update from Go that touches the key counts too.
	c.do("WATCH", "l")
	if err := store.Update(func(tx *collections.Tx) error {
		_, err := tx.RPush([]byte("l"), []byte("x"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	c.do("MULTI")
	c.do("LLEN", "l")
	if got := c.do("EXEC"); got != "*-1\r\n" {
		t.Fatalf("EXEC after Go's Update pushed to the watched list: %q", got)
	}
}

// TestWatchOptimisticHashCounter: clients increment a hash field with
// WATCH/HGET/MULTI/HSET/EXEC; a WATCH that missed another client's write
// to the hash would lose increments.
func TestWatchOptimisticHashCounter(t *testing.T) {
	ts := startServer(t, nil)
	const clients, each = 5, 30
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := 0; i < clients; i++ {
		c := dial(t, ts.addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < each; {
				if _, err := c.read2("WATCH", "h"); err != nil {
					errs <- err
					return
				}
				r, err := c.read2("HGET", "h", "n")
				if err != nil {
					errs <- err
					return
				}
				v := 0
				if v2, err := parseReply(r); err == nil && !v2.null {
					fmt.Sscan(v2.str, &v)
				}
				c.read2("MULTI")
				c.read2("HSET", "h", "n", fmt.Sprint(v+1))
				c.read2("RPUSH", "log", "x")
				got, err := c.read2("EXEC")
				if err != nil {
					errs <- err
					return
				}
				if strings.HasPrefix(got, "*2") {
					n++
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	c := dial(t, ts.addr)
	if got, want := c.do("HGET", "h", "n"), fmt.Sprintf("$%d\r\n%d\r\n", len(fmt.Sprint(clients*each)), clients*each); got != want {
		t.Fatalf("HGET h n = %q, want %q: increments lost", got, want)
	}
	if got, want := c.do("LLEN", "log"), fmt.Sprintf(":%d\r\n", clients*each); got != want {
		t.Fatalf("LLEN log = %q, want %q", got, want)
	}
}

// TestInfoKeyspaceCountsCollections: INFO keyspace counts keys of every
// type and the expiries of collections as of strings.
func TestInfoKeyspaceCountsCollections(t *testing.T) {
	ts := startServer(t, nil)
	c := dial(t, ts.addr)
	c.do("SET", "s", "v", "EX", "1000")
	c.do("HSET", "h", "f", "v")
	c.do("EXPIRE", "h", "1000")
	c.do("RPUSH", "l", "a")
	c.do("SADD", "st", "m")
	c.do("ZADD", "z", "1", "m")
	c.do("PEXPIRE", "z", "2000000")
	got := infoField(t, infoText(t, c, "keyspace"), "db0")
	keys, rest, _ := strings.Cut(got, ",avg_ttl=")
	if keys != "keys=5,expires=3" {
		t.Fatalf("db0: %q, want keys=5,expires=3", got)
	}
	var avg int64
	if _, err := fmt.Sscan(rest, &avg); err != nil || avg < 1_000_000 || avg > 1_334_000 {
		t.Fatalf("avg_ttl %q: the mean of about 1000 s, 1000 s and 2000 s in ms", rest)
	}
	if got := c.do("DBSIZE"); got != ":5\r\n" {
		t.Fatalf("DBSIZE: %q", got)
	}
}

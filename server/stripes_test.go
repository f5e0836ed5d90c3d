package server

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// TestLoneSetKeepsServerStripes: a plain SET is one Store call, atomic on
// its own, yet it still takes its key's server stripe, because handlers
// that make several Store calls on one key (APPEND reads, then writes the
// joined value) are atomic against other clients only through that
// stripe. A SET landing between APPEND's read and write would be lost:
// here one client SETs a fresh value and reads it back while others
// APPEND to the same key, and every read must start with the value just
// set (appends only add at the end).
func TestLoneSetKeepsServerStripes(t *testing.T) {
	ts := startServer(t, nil)
	rounds := 3000
	if testing.Short() {
		rounds = 500
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 2 {
		c := dial(t, ts.addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				c.send("APPEND", "k", "x")
				if r, err := c.read(); err != nil || !strings.HasPrefix(r, ":") {
					t.Errorf("APPEND: %q %v", r, err)
					return
				}
			}
		}()
	}
	c := dial(t, ts.addr)
	for i := 0; i < rounds && !t.Failed(); i++ {
		v := "v" + strconv.Itoa(i) + "-"
		if r := c.do("SET", "k", v); r != "+OK\r\n" {
			t.Fatalf("SET: %q", r)
		}
		r := c.do("GET", "k")
		if !strings.Contains(r, "\r\n"+v) {
			t.Fatalf("after SET k %s, GET k = %q: the SET was lost", v, r)
		}
	}
	stop.Store(true)
	wg.Wait()
}

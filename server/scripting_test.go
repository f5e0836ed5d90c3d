package server

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stratadb/strata/lsm"
)

// waitBusy sends PING on c until the server answers -BUSY.
func waitBusy(t *testing.T, c *respConn) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		r := c.do("PING")
		if strings.HasPrefix(r, "-BUSY ") {
			return
		}
		if r != "+PONG\r\n" {
			t.Fatalf("PING: %q", r)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("the server never became busy")
}

func TestScriptBusyThenKilled(t *testing.T) {
	ts := startServer(t, &Options{LuaTimeLimit: 30 * time.Millisecond})
	a, b := dial(t, ts.addr), dial(t, ts.addr)
	if r := b.do("SCRIPT", "KILL"); !strings.HasPrefix(r, "-NOTBUSY") {
		t.Fatalf("SCRIPT KILL with no script: %q", r)
	}
	a.send("EVAL", "local i = 0 while true do i = i + 1 end", "0")
	waitBusy(t, b)
	if r := b.do("GET", "x"); !strings.HasPrefix(r, "-BUSY ") {
		t.Fatalf("GET while busy: %q", r)
	}
	b.do("MULTI")
	if r := b.do("EXEC"); !strings.HasPrefix(r, "-EXECABORT Transaction discarded because of: BUSY") {
		t.Fatalf("EXEC while busy: %q", r)
	}
	if r := b.do("SCRIPT", "KILL"); r != "+OK\r\n" {
		t.Fatalf("SCRIPT KILL: %q", r)
	}
	if r := a.mustRead(); !strings.HasPrefix(r, "-ERR Script killed by user with SCRIPT KILL... script: ") {
		t.Fatalf("the killed script's reply: %q", r)
	}
	if r := b.do("PING"); r != "+PONG\r\n" {
		t.Fatalf("PING after the kill: %q", r)
	}
	// A pcall does not keep a killed script alive.
	a.send("EVAL", "while true do pcall(function() local i = 0 while true do i = i + 1 end end) end", "0")
	waitBusy(t, b)
	if r := b.do("SCRIPT", "KILL"); r != "+OK\r\n" {
		t.Fatalf("SCRIPT KILL: %q", r)
	}
	if r := a.mustRead(); !strings.HasPrefix(r, "-ERR Script killed by user") {
		t.Fatalf("the killed script's reply: %q", r)
	}
}

// TestScriptUnkillableUntilShutdown: a script that wrote cannot be killed;
// a shutdown stops it and its writes, still in its batch, never reach the
// DB.
func TestScriptUnkillableUntilShutdown(t *testing.T) {
	dir := t.TempDir()
	db, err := lsm.Open(dir, &lsm.Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(db, &Options{LuaTimeLimit: 30 * time.Millisecond, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	lns, err := listenLoopback()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { s.ServeListeners(lns); close(done) }()
	a, b := dial(t, lns.Addr().String()), dial(t, lns.Addr().String())
	a.send("EVAL", "redis.call('set', 'written', '1') while true do end", "0")
	waitBusy(t, b)
	if r := b.do("SCRIPT", "KILL"); !strings.HasPrefix(r, "-UNKILLABLE ") {
		t.Fatalf("SCRIPT KILL after a write: %q", r)
	}
	b.send("SHUTDOWN", "NOSAVE")
	<-done
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.Shutdown(ctx)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = lsm.Open(dir, &lsm.Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Get([]byte("written")); err != lsm.ErrNotFound {
		t.Fatalf("the killed script's write: %v, want not found", err)
	}
}

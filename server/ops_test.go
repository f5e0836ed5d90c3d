package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stratadb/strata/lsm"
)

func infoField(t *testing.T, info, name string) string {
	t.Helper()
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return v
		}
	}
	t.Fatalf("INFO has no %s in %q", name, info)
	return ""
}

func infoText(t *testing.T, c *respConn, args ...string) string {
	t.Helper()
	v, err := parseReply(c.do(append([]string{"INFO"}, args...)...))
	if err != nil {
		t.Fatal(err)
	}
	return v.str
}

func TestInfo(t *testing.T) {
	ts := startServer(t, nil)
	c := dial(t, ts.addr)
	c.do("SET", "a", "1")
	c.do("SET", "b", "2", "EX", "100")
	c.do("GET", "a")
	c.do("GET", "nosuch")
	c.do("INCR", "b")
	c.do("GET")
	info := infoText(t, c)
	for _, sec := range []string{"# Server", "# Clients", "# Memory", "# Persistence", "# Stats", "# Replication", "# Keyspace", "# Strata", "# Errorstats"} {
		if !strings.Contains(info, sec+"\r\n") {
			t.Errorf("INFO lacks %s", sec)
		}
	}
	if strings.Contains(info, "# Commandstats") {
		t.Error("plain INFO has commandstats (Redis leaves them to INFO all)")
	}
	checks := map[string]string{
		"redis_version": "7.0.0", "redis_mode": "standalone", "aof_enabled": "1", "appendfsync": "everysec",
		"maxmemory_policy": "noeviction", "keyspace_hits": "1", "keyspace_misses": "1", "maxclients": "10000",
		"connected_clients": "1", "role": "master",
	}
	for k, want := range checks {
		if got := infoField(t, info, k); got != want {
			t.Errorf("%s: got %q, want %q", k, got, want)
		}
	}
	for _, k := range []string{"strata_version", "process_id", "tcp_port", "uptime_in_seconds", "used_memory", "used_memory_rss",
		"used_memory_peak", "mem_fragmentation_ratio", "total_connections_received", "total_commands_processed",
		"instantaneous_ops_per_sec", "expired_keys", "rejected_connections", "blocked_clients", "write_amplification",
		"block_cache_hit_ratio", "write_stalls", "background_errors", "level0", "rdb_last_save_time", "wal_syncs",
		"block_cache_misses", "data_blocks_read", "commit_groups", "commit_writes"} {
		infoField(t, info, k)
	}
	if got := infoField(t, info, "db0"); !strings.HasPrefix(got, "keys=2,expires=1,avg_ttl=") {
		t.Errorf("db0: %q", got)
	}
	if got := infoField(t, info, "errorstat_ERR"); got != "count=1" {
		t.Errorf("errorstat_ERR: %q", got)
	}
	all := infoText(t, c, "commandstats")
	if !strings.HasPrefix(all, "# Commandstats\r\n") || strings.Contains(all, "# Server") {
		t.Fatalf("INFO commandstats: %q", all)
	}
	if got := infoField(t, all, "cmdstat_set"); !strings.HasPrefix(got, "calls=2,usec=") || !strings.HasSuffix(got, ",rejected_calls=0,failed_calls=0") {
		t.Errorf("cmdstat_set: %q", got)
	}
	if got := infoField(t, all, "cmdstat_get"); !strings.HasPrefix(got, "calls=2,") || !strings.HasSuffix(got, ",rejected_calls=1,failed_calls=0") {
		t.Errorf("cmdstat_get: %q", got)
	}
	c.do("CONFIG", "RESETSTAT")
	if got := infoField(t, infoText(t, c, "stats"), "keyspace_hits"); got != "0" {
		t.Errorf("keyspace_hits after CONFIG RESETSTAT: %q", got)
	}
	// Subcommands are counted under their full name, and INFO all has both.
	c.do("CLIENT", "ID")
	if got := infoField(t, infoText(t, c, "all"), "cmdstat_client|id"); !strings.HasPrefix(got, "calls=1,") {
		t.Errorf("cmdstat_client|id: %q", got)
	}
}

func TestSlowlog(t *testing.T) {
	ts := startServer(t, nil)
	c := dial(t, ts.addr)
	c.do("CONFIG", "SET", "slowlog-log-slower-than", "0")
	c.do("CLIENT", "SETNAME", "me")
	c.do("SET", "k", strings.Repeat("v", 200))
	args := []string{"MGET"}
	for i := 0; i < 40; i++ {
		args = append(args, fmt.Sprintf("k%d", i))
	}
	c.do(args...)
	c.do("AUTH", "default", "secret-password")
	v, err := parseReply(c.do("SLOWLOG", "GET", "3"))
	if err != nil || len(v.elems) != 3 {
		t.Fatalf("SLOWLOG GET 3: %v %v", v, err)
	}
	auth, mget, set := v.elems[0], v.elems[1], v.elems[2]
	if len(set.elems) != 6 || set.elems[4].str != c.nc.LocalAddr().String() || set.elems[5].str != "me" {
		t.Fatalf("SET entry: %+v", set)
	}
	if a := set.elems[3].elems; len(a) != 3 || a[2].str != strings.Repeat("v", 128)+"... (72 more bytes)" {
		t.Errorf("SET arguments: %+v", a)
	}
	if a := mget.elems[3].elems; len(a) != 32 || a[31].str != "... (10 more arguments)" {
		t.Errorf("MGET arguments: %d, last %q", len(a), a[len(a)-1].str)
	}
	if a := auth.elems[3].elems; len(a) != 3 || a[1].str != "(redacted)" || a[2].str != "(redacted)" {
		t.Errorf("AUTH arguments: %+v", a)
	}
	if id0, id1 := mget.elems[0].str, set.elems[0].str; id0 <= id1 {
		t.Errorf("ids not newest first: %s, %s", id0, id1)
	}
	if r := c.do("SLOWLOG", "LEN"); r == ":0\r\n" {
		t.Error("SLOWLOG LEN is 0")
	}
	c.do("CONFIG", "SET", "slowlog-log-slower-than", "-1")
	c.do("SLOWLOG", "RESET")
	c.do("SET", "x", "y")
	if r := c.do("SLOWLOG", "LEN"); r != ":0\r\n" {
		t.Errorf("SLOWLOG LEN with the log off: %q", r)
	}
	c.do("CONFIG", "SET", "slowlog-log-slower-than", "0", "slowlog-max-len", "2")
	for i := 0; i < 5; i++ {
		c.do("PING")
	}
	if r := c.do("SLOWLOG", "LEN"); r != ":2\r\n" {
		t.Errorf("SLOWLOG LEN with max-len 2: %q", r)
	}
}

// TestAppendfsyncLive: CONFIG SET appendfsync always makes every write
// fsync before its reply, at once (a pipeline's writes share one); no
// makes none.
func TestAppendfsyncLive(t *testing.T) {
	dir := t.TempDir()
	db, err := lsm.Open(dir, &lsm.Options{Sync: lsm.SyncNo, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := New(db, &Options{AppendFsync: "no", Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := listenLoopback()
	go s.ServeListeners(ln)
	defer s.Shutdown(context.Background())
	c := dial(t, ln.Addr().String())
	syncs := func() int64 { return db.Metrics().WALSyncs }
	before := syncs()
	for i := 0; i < 20; i++ {
		c.do("SET", fmt.Sprint("k", i), "v")
	}
	if got := syncs() - before; got != 0 {
		t.Fatalf("appendfsync no: %d fsyncs for 20 writes", got)
	}
	if r := c.do("CONFIG", "SET", "appendfsync", "always"); r != "+OK\r\n" {
		t.Fatal(r)
	}
	before = syncs()
	for i := 0; i < 20; i++ {
		c.do("SET", fmt.Sprint("k", i), "v")
	}
	c.do("EXPIRE", "k1", "100")
	c.do("MULTI")
	c.do("SET", "a", "1")
	c.do("EXEC")
	c.do("EVAL", "redis.call('set', 'b', '1')", "0")
	if got := syncs() - before; got < 23 {
		t.Fatalf("appendfsync always: %d fsyncs for 23 acknowledged writes", got)
	}
	// A pipeline of writes is acknowledged after one fsync, not one each:
	// the 16 requests go out in one write, so they arrive together.
	var pipe []byte
	for i := 0; i < 16; i++ {
		pipe = append(pipe, encodeCommand("SET", fmt.Sprint("p", i), "v")...)
	}
	before = syncs()
	c.sendRaw(pipe)
	for i := 0; i < 16; i++ {
		if r := c.mustRead(); r != "+OK\r\n" {
			t.Fatalf("pipelined SET: %q", r)
		}
	}
	if got := syncs() - before; got < 1 || got >= 16 {
		t.Fatalf("appendfsync always: %d fsyncs for a pipeline of 16 writes, want 1 (fewer than 16)", got)
	}
	if r := c.do("CONFIG", "GET", "appendfsync"); r != "*2\r\n$11\r\nappendfsync\r\n$6\r\nalways\r\n" {
		t.Fatal(r)
	}
}

func TestSaveWritesABackup(t *testing.T) {
	ts := startServer(t, nil)
	c := dial(t, ts.addr)
	c.do("SET", "k", "v1")
	first := c.do("LASTSAVE")
	if r := c.do("SAVE"); r != "+OK\r\n" {
		t.Fatalf("SAVE: %q", r)
	}
	c.do("SET", "k", "v2")
	if r := c.do("BGSAVE"); r != "+Background saving started\r\n" {
		t.Fatalf("BGSAVE: %q", r)
	}
	deadline := time.Now().Add(30 * time.Second)
	for infoField(t, infoText(t, c, "persistence"), "rdb_bgsave_in_progress") != "0" {
		if time.Now().After(deadline) {
			t.Fatal("BGSAVE never finished")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := infoField(t, infoText(t, c, "persistence"), "rdb_last_bgsave_status"); st != "ok" {
		t.Fatalf("rdb_last_bgsave_status: %s", st)
	}
	if last := c.do("LASTSAVE"); last < first {
		t.Fatalf("LASTSAVE went back: %q then %q", first, last)
	}
	backup := filepath.Join(ts.dir, "backup")
	for _, leftover := range []string{backup + ".new", backup + ".old"} {
		if _, err := os.Stat(leftover); err == nil {
			t.Errorf("%s left behind", leftover)
		}
	}
	db, err := lsm.Open(backup, &lsm.Options{ReadOnly: true, Logger: quietLogger()})
	if err != nil {
		t.Fatalf("the backup does not open: %v", err)
	}
	defer db.Close()
	if v, err := db.Get([]byte("k")); err != nil || string(v) != "v2" {
		t.Fatalf("backup k: %q, %v", v, err)
	}
}

func TestConfigFileSyntax(t *testing.T) {
	conf := "# comment\nport 7000\n\nbind 127.0.0.1 -::1\nrequirepass \"a b\"\nappendfsync always\nmaxmemory 1gb\ntimeout 30\nlua-time-limit 100\n"
	ds, err := ParseConfig(strings.NewReader(conf), "test.conf")
	if err != nil {
		t.Fatal(err)
	}
	var o Options
	for _, d := range ds {
		if err := o.ApplyDirective(d.Name, d.Args); err != nil {
			t.Fatalf("line %d: %v", d.Line, err)
		}
	}
	if o.Port != 7000 || len(o.Bind) != 2 || o.RequirePass != "a b" || o.AppendFsync != "always" ||
		o.MaxMemory != 1<<30 || o.Timeout != 30*time.Second || o.LuaTimeLimit != 100*time.Millisecond {
		t.Fatalf("parsed %+v", o)
	}
	if ds[1].Line != 4 {
		t.Errorf("bind is on line 4, got %d", ds[1].Line)
	}
	for _, bad := range []struct{ name, arg string }{{"nosuch", "x"}, {"port", "abc"}, {"appendfsync", "sometimes"},
		{"maxmemory-policy", "allkeys-lru"}, {"databases", "16"}, {"maxmemory", "lots"}} {
		if err := o.ApplyDirective(bad.name, []string{bad.arg}); err == nil {
			t.Errorf("%s %s accepted", bad.name, bad.arg)
		}
	}
	if _, err := ParseConfig(strings.NewReader("port \"7000\n"), "bad.conf"); err == nil || !strings.Contains(err.Error(), "bad.conf:1") {
		t.Errorf("unbalanced quotes: %v", err)
	}
}

// TestConfigSetUnderLoad changes live parameters while other clients run
// commands (for the race detector).
func TestConfigSetUnderLoad(t *testing.T) {
	ts := startServer(t, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c := dial(t, ts.addr)
		for i := 0; i < 100; i++ {
			mode := []string{"always", "everysec", "no"}[i%3]
			c.read2("CONFIG", "SET", "appendfsync", mode, "timeout", fmt.Sprint(i%2*100), "slowlog-log-slower-than", fmt.Sprint(i%2), "maxclients", "1000")
		}
	}()
	w := dial(t, ts.addr)
	for i := 0; i < 200; i++ {
		w.do("SET", "k", fmt.Sprint(i), "EX", "100")
		w.do("GET", "k")
		w.do("EVAL", "return redis.call('INCR', 'n')", "0")
		w.do("INFO", "server")
	}
	<-done
	if r := w.do("GET", "n"); r != "$3\r\n200\r\n" {
		t.Fatalf("n = %q", r)
	}
}

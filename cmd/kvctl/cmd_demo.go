package main

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/stratadb/strata/lsm"
)

func (a *app) demoCommand() *cobra.Command {
	var keep bool
	c := &cobra.Command{
		Use:   "demo",
		Short: "A guided tour of Strata on a fresh temporary database",
		Long: `Walk through Strata on a new database in a temporary directory: put and
get, TTL expiry, items and a query, a batch, a lock, a counter, a crash-safe
reopen and the stats. It takes a few seconds and removes the directory after
(unless --keep). It prints text only: --json is refused.`,
		Example: "  go run ./cmd/kvctl demo",
		Args:    exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			if a.json {
				return usageError("demo prints text only: leave out --json\n%s", c.UsageString())
			}
			dir, err := os.MkdirTemp("", "strata-demo-")
			if err != nil {
				return err
			}
			if !keep {
				defer os.RemoveAll(dir)
			}
			return runDemo(a, dir)
		},
	}
	c.Flags().BoolVar(&keep, "keep", false, "keep the demo database directory")
	return c
}

// demoClock is a clock the demo moves forward, so TTLs expire without
// waiting.
type demoClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *demoClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *demoClock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

func runDemo(a *app, dir string) error {
	w := a.stdout
	step := 0
	say := func(title string) { step++; fmt.Fprintf(w, "\n== %d. %s\n", step, title) }
	show := func(format string, args ...any) { fmt.Fprintf(w, "   "+format+"\n", args...) }
	check := func(err error) error {
		if err != nil {
			return fmt.Errorf("demo step %d: %w", step, err)
		}
		return nil
	}
	clock := &demoClock{}
	opts := &lsm.Options{Sync: lsm.SyncAlways, Clock: clock.now}
	start := time.Now()

	fmt.Fprintf(w, "Strata demo: a fresh database in %s (sync mode: always)\n", dir)
	db, err := lsm.Open(dir, opts)
	if err != nil {
		return err
	}
	defer func() {
		if db != nil {
			db.Close()
		}
	}()

	say("Put and get")
	if err := check(db.Put([]byte("greeting"), []byte("hello, strata"))); err != nil {
		return err
	}
	v, err := db.Get([]byte("greeting"))
	if err := check(err); err != nil {
		return err
	}
	show("put greeting -> get greeting = %q", v)

	say("TTL: a cache entry that expires")
	if err := check(db.Put([]byte("cache:user:42"), []byte(`{"name":"ada"}`), lsm.WithTTL(30*time.Second))); err != nil {
		return err
	}
	exp, _ := db.Expiry([]byte("cache:user:42"))
	show("put cache:user:42 with a 30s TTL; expires in %v", exp.Sub(clock.now()).Round(time.Second))
	clock.advance(31 * time.Second)
	_, err = db.Get([]byte("cache:user:42"))
	show("31 seconds later (demo clock): get -> %v", err)
	if !errors.Is(err, lsm.ErrNotFound) {
		return fmt.Errorf("demo: expired entry still readable: %v", err)
	}

	say("Items: a user's profile and orders under one partition key")
	pk := []byte("user#42")
	for _, it := range [][2]string{
		{"profile", `{"name":"ada"}`},
		{"order#2026-09-14", `{"total":12}`},
		{"order#2026-10-02", `{"total":40}`},
		{"order#2026-11-20", `{"total":7}`},
	} {
		if err := check(db.PutItem(pk, []byte(it[0]), []byte(it[1]))); err != nil {
			return err
		}
	}
	show("query user#42 begins_with order#, newest first, limit 2:")
	items := db.Query(pk, &lsm.Query{BeginsWith: []byte("order#"), Reverse: true, Limit: 2})
	for items.Next() {
		show("  %s\t%s", items.Item().SK, items.Item().Value)
	}
	if err := check(items.Close()); err != nil {
		return err
	}

	say("A batch: all or nothing")
	b := db.NewBatch()
	b.Put([]byte("account:alice"), []byte("90"))
	b.Put([]byte("account:bob"), []byte("110"))
	b.Put([]byte("transfer:1"), []byte("alice->bob 10"), lsm.IfAbsent())
	if err := check(db.Apply(b)); err != nil {
		return err
	}
	show("applied 3 writes atomically; applying the same batch again:")
	err = db.Apply(b)
	show("  -> %v (transfer:1 exists, so nothing was written)", err)

	say("A lock with a token")
	lock := []byte("lock:report")
	err1 := db.Put(lock, []byte("worker-1"), lsm.IfAbsent(), lsm.WithTTL(10*time.Second))
	err2 := db.Put(lock, []byte("worker-2"), lsm.IfAbsent(), lsm.WithTTL(10*time.Second))
	show("worker-1 acquires: %v; worker-2 acquires: %v", errString(err1), errString(err2))
	err2 = db.Delete(lock, lsm.IfValue([]byte("worker-2")))
	err1 = db.Delete(lock, lsm.IfValue([]byte("worker-1")))
	show("worker-2 releases: %v; worker-1 releases: %v", errString(err2), errString(err1))

	say("A counter: a fixed-window rate limit")
	var n int64
	for i := 0; i < 5; i++ {
		if n, err = db.Increment([]byte("ratelimit:10.0.0.1"), 1, lsm.WithTTL(time.Minute)); err != nil {
			return check(err)
		}
	}
	show("5 requests in this minute -> counter %d (limit 3: allowed = %v)", n, n <= 3)

	say("Crash-safe reopen")
	if err := check(db.Close()); err != nil {
		return err
	}
	db = nil
	if db, err = lsm.Open(dir, opts); err != nil {
		return check(err)
	}
	v, err = db.Get([]byte("greeting"))
	if err := check(err); err != nil {
		return err
	}
	show("closed and reopened: get greeting = %q; every acknowledged write is back", v)
	if err := check(db.Flush()); err != nil {
		return err
	}
	if err := check(db.Verify()); err != nil {
		return err
	}
	show("flushed to a table and verified every checksum")

	say("Stats")
	m := db.Metrics()
	show("tables=%d disk_bytes=%d wal_syncs=%d condition_failures=%d expired_hidden=%d",
		m.Tables, m.DiskBytes, m.WALSyncs, m.ConditionFailures, m.ExpiredHidden)
	show("(kvctl stats prints the full report)")
	if err := check(db.Close()); err != nil {
		return err
	}
	db = nil
	fmt.Fprintf(w, "\nDone in %v.\n", time.Since(start).Round(time.Millisecond))
	return nil
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	if errors.Is(err, lsm.ErrConditionFailed) {
		return "condition failed"
	}
	return err.Error()
}

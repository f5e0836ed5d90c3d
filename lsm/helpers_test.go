package lsm

import (
	"bytes"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/vfs"
)

// fakeClock is a settable clock for TTL tests. The DB's background
// goroutines (the TTL compaction tick) read it while a test advances it.
type fakeClock struct {
	mu sync.Mutex // guards t
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// smallOpts returns options that make flushes and compactions frequent.
func smallOpts(fs vfs.FS) *Options {
	return &Options{
		FS:                    fs,
		MemtableSize:          64 << 10,
		BlockSize:             512,
		TargetFileSize:        32 << 10,
		BaseLevelSize:         128 << 10,
		L0CompactionTrigger:   2,
		L0SlowdownWrites:      6,
		L0StopWrites:          10,
		TTLCompactionInterval: -1,
	}
}

// openMem opens the DB at /db on fs. When the test ends, the DB is checked
// as bbolt checks every test database: if the test left it open, its
// version invariants and Verify are checked and it is closed; if the test
// closed it, it is opened again read-only and checked the same way. A test
// that leaves the files damaged on purpose calls skipCheck.
func openMem(t testing.TB, fs vfs.FS, opts *Options) *DB {
	t.Helper()
	if opts == nil {
		opts = &Options{}
	}
	opts.FS = fs
	db, err := Open("/db", opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() || checkSkipped(t) {
			db.Close()
			return
		}
		checkDBAtCleanup(t, db, fs, opts)
	})
	return db
}

var skippedChecks sync.Map // testing.TB -> true

// skipCheck turns off openMem's closing check, for a test whose files are
// damaged on purpose or whose filesystem still injects faults. why says
// which.
func skipCheck(t testing.TB, why string) {
	t.Helper()
	skippedChecks.Store(t, why)
	t.Cleanup(func() { skippedChecks.Delete(t) })
}

func checkSkipped(t testing.TB) bool {
	_, ok := skippedChecks.Load(t)
	return ok
}

// checkDBAtCleanup runs the version check and Verify on db, or on a
// read-only reopen of its directory if the test closed it.
func checkDBAtCleanup(t testing.TB, db *DB, fs vfs.FS, opts *Options) {
	t.Helper()
	if db.closed.Load() {
		checkBlocksFreed(t, db)
		o := *opts
		o.ReadOnly = true
		o.EventListener = nil
		var err error
		db, err = Open("/db", &o)
		require.NoError(t, err, "reopening the test's DB for its closing check")
	}
	checkVersion(t, db)
	require.NoError(t, db.Verify(), "Verify of the test's DB")
	require.NoError(t, db.Close())
	checkBlocksFreed(t, db)
}

// checkBlocksFreed checks that a closed DB left no data block held (the
// invariants build counts BlockRefs) and its block cache no memory off the
// Go heap: every read released the blocks it used.
func checkBlocksFreed(t testing.TB, db *DB) {
	t.Helper()
	require.Zero(t, db.blockCache.HeldRefs(), "data blocks still held after Close")
	require.Zero(t, db.blockCache.OffHeap(), "block cache memory not freed at Close")
}

// scanAll returns every live key/value as a sorted map-like slice.
func scanAll(t testing.TB, it *Iterator) []kv {
	t.Helper()
	var out []kv
	for ok := it.First(); ok; ok = it.Next() {
		out = append(out, kv{string(it.Key()), string(it.Value())})
	}
	require.NoError(t, it.Error())
	require.NoError(t, it.Close())
	return out
}

type kv struct{ k, v string }

// copyModel copies a map model of the DB's contents.
func copyModel(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// modelScan renders a model map as a sorted slice.
func modelScan(m map[string]string) []kv {
	out := make([]kv, 0, len(m))
	for k, v := range m {
		out = append(out, kv{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].k < out[j].k })
	return out
}

func dbScan(t testing.TB, db *DB) []kv {
	t.Helper()
	it, err := db.NewIter(nil)
	require.NoError(t, err)
	return scanAll(t, it)
}

func formatKVs(kvs []kv) string {
	var b bytes.Buffer
	for _, e := range kvs {
		fmt.Fprintf(&b, "%q=%q ", e.k, e.v)
	}
	return b.String()
}

package lsm

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/vfs"
)

func TestCheckpointIsAConsistentOpenableCopy(t *testing.T) {
	for _, name := range []string{"mem", "os"} {
		t.Run(name, func(t *testing.T) {
			var fs vfs.FS = vfs.NewMem()
			dir, cp := "/db", "/cp"
			if name == "os" {
				fs, dir = vfs.Default, filepath.Join(t.TempDir(), "db")
				cp = filepath.Join(filepath.Dir(dir), "cp")
			}
			o := smallOpts(fs)
			// No compactions: the originals must still exist when the
			// test compares them with their links.
			o.L0CompactionTrigger, o.L0SlowdownWrites, o.L0StopWrites = 1000, 1000, 1000
			db, err := Open(dir, o)
			require.NoError(t, err)
			model := map[string]string{}
			for i := 0; i < 3500; i++ {
				if i == 3000 {
					require.NoError(t, db.Flush()) // some data in tables, some only in the WAL
				}
				k, v := fmt.Sprintf("k%04d", i%700), fmt.Sprintf("v%d", i)
				require.NoError(t, db.Put([]byte(k), []byte(v)))
				model[k] = v
			}
			require.NoError(t, db.Checkpoint(cp))
			require.ErrorIs(t, db.Checkpoint(cp), ErrInvalidArgument, "the directory must not exist")
			if name == "os" {
				// Tables are hard links, not copies, where the filesystem allows.
				tables, _ := filepath.Glob(filepath.Join(cp, "*.sst"))
				require.NotEmpty(t, tables)
				linked := 0
				for _, tbl := range tables {
					a, err1 := os.Stat(tbl)
					b, err2 := os.Stat(filepath.Join(dir, filepath.Base(tbl)))
					if err1 == nil && err2 == nil && os.SameFile(a, b) {
						linked++
					}
				}
				require.Greater(t, linked, 0)
			}
			// Writes after the checkpoint are not in it.
			require.NoError(t, db.Put([]byte("after"), []byte("x")))
			require.NoError(t, db.Close())

			o2 := smallOpts(fs)
			c, err := Open(cp, o2)
			require.NoError(t, err)
			require.Equal(t, formatKVs(modelScan(model)), formatKVs(dbScan(t, c)))
			require.NoError(t, c.Verify())
			require.NoError(t, c.Close())
		})
	}
}

func TestCheckpointSurvivesPowerLoss(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, smallOpts(fs))
	for i := 0; i < 2000; i++ {
		require.NoError(t, db.Put([]byte(fmt.Sprintf("k%04d", i)), []byte("v")))
	}
	require.NoError(t, db.Checkpoint("/cp"))
	crashed := fs.CrashClone() // the power goes out right after Checkpoint returns
	require.NoError(t, db.Close())
	c, err := Open("/cp", &Options{FS: crashed})
	require.NoError(t, err)
	require.Len(t, dbScan(t, c), 2000)
	require.NoError(t, c.Close())
}

func TestValueAndKeyLimits(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, nil)
	defer db.Close()
	big := make([]byte, MaxValueSize+1) // untouched pages: cheap
	require.ErrorIs(t, db.Put([]byte("k"), big), ErrInvalidArgument)
	b := db.NewBatch()
	b.Put([]byte("k"), big)
	require.ErrorIs(t, db.Apply(b), ErrInvalidArgument)
	require.ErrorIs(t, db.PutItem([]byte("p"), make([]byte, MaxKeySize), nil), ErrInvalidArgument,
		"an item key over the limit")
}

func TestLoggerAndEventListenerSeeBackgroundWork(t *testing.T) {
	// Table syncs wait until a write stalls, so a stall is certain: the
	// first flush cannot finish until the writers have filled the
	// immutable memtables and stalled behind it.
	gate := make(chan struct{})
	var gateOnce sync.Once
	fs := vfs.NewErrorFS(vfs.NewMem(), vfs.InjectorFunc(func(op vfs.Op, path string) error {
		if op == vfs.OpSync && strings.HasSuffix(path, ".sst") {
			select {
			case <-gate:
			case <-time.After(10 * time.Second):
			}
		}
		return nil
	}))
	var logBuf bytes.Buffer
	var mu sync.Mutex
	var events []string
	note := func(s string) { mu.Lock(); events = append(events, s); mu.Unlock() }
	o := smallOpts(fs)
	o.MaxImmutableMemtables = 1
	o.Logger = slog.New(slog.NewTextHandler(&lockedWriter{w: &logBuf}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	o.EventListener = &EventListener{
		FlushBegin:      func(FlushInfo) { note("flush-begin") },
		FlushEnd:        func(i FlushInfo) { note("flush-end") },
		CompactionBegin: func(CompactionInfo) { note("compaction-begin") },
		CompactionEnd:   func(i CompactionInfo) { note("compaction-end") },
		StallBegin: func(StallInfo) {
			note("stall-begin")
			gateOnce.Do(func() { close(gate) })
		},
		StallEnd: func(StallInfo) { note("stall-end") },
	}
	db := openMem(t, fs, o)
	for i := 0; i < 20000; i++ {
		require.NoError(t, db.Put([]byte(fmt.Sprintf("k%05d", i)), make([]byte, 100)))
	}
	require.NoError(t, db.Compact(nil, nil))
	require.NoError(t, db.Close())
	mu.Lock()
	seen := strings.Join(events, " ")
	mu.Unlock()
	for _, e := range []string{"flush-begin", "flush-end", "compaction-begin", "compaction-end", "stall-begin", "stall-end"} {
		require.Contains(t, seen, e)
	}
	logs := logBuf.String()
	for _, m := range []string{"msg=\"flushed memtable\"", "msg=compaction", "msg=\"write stall\"", "msg=opened", "msg=closed"} {
		require.Contains(t, logs, m)
	}
}

// lockedWriter serialises writes from the engine's goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

// TestCheckpointOfAReadOnlyDB: a read-only DB serves its unflushed writes
// from WAL segments replayed into memory; its checkpoint copies those
// segments, so the copy holds them too.
func TestCheckpointOfAReadOnlyDB(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, smallOpts(fs))
	model := map[string]string{}
	for i := 0; i < 800; i++ {
		if i == 500 {
			require.NoError(t, db.Flush())
		}
		k, v := fmt.Sprintf("k%04d", i%600), fmt.Sprintf("v%d", i)
		require.NoError(t, db.Put([]byte(k), []byte(v)))
		model[k] = v
	}
	require.NoError(t, db.Close())
	ro, err := Open("/db", &Options{FS: fs, ReadOnly: true})
	require.NoError(t, err)
	require.NoError(t, ro.Checkpoint("/cp"))
	require.NoError(t, ro.Close())
	cp, err := Open("/cp", &Options{FS: fs})
	require.NoError(t, err)
	require.Equal(t, formatKVs(modelScan(model)), formatKVs(dbScan(t, cp)))
	require.NoError(t, cp.Verify())
	require.NoError(t, cp.Close())
}

// TestFailedCheckpointLeavesNothing: a checkpoint that fails half-way
// removes what it made, so the directory can be used again.
func TestFailedCheckpointLeavesNothing(t *testing.T) {
	mem := vfs.NewMem()
	var failing sync.Mutex // held while the injector fails every create under /cp
	fail := false
	fs := vfs.NewErrorFS(mem, vfs.InjectorFunc(func(op vfs.Op, path string) error {
		failing.Lock()
		defer failing.Unlock()
		if fail && op == vfs.OpCreate && strings.HasPrefix(path, "/cp/") && strings.HasSuffix(path, ".log") {
			return fmt.Errorf("injected: %s", path)
		}
		return nil
	}))
	db := openMem(t, fs, smallOpts(fs))
	for i := 0; i < 300; i++ {
		require.NoError(t, db.Put([]byte(fmt.Sprintf("k%04d", i)), []byte("v")))
	}
	require.NoError(t, db.Flush())
	require.NoError(t, db.Put([]byte("unflushed"), []byte("v")))
	failing.Lock()
	fail = true
	failing.Unlock()
	require.Error(t, db.Checkpoint("/cp"))
	_, err := mem.Stat("/cp")
	require.ErrorIs(t, err, os.ErrNotExist, "the failed checkpoint left its directory")
	failing.Lock()
	fail = false
	failing.Unlock()
	require.NoError(t, db.Checkpoint("/cp"), "the same directory works once the fault is gone")
	require.NoError(t, db.Close())
}

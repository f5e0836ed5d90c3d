package lsm

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/invariants"
	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/manifest"
	"github.com/stratadb/strata/vfs"
)

// checkVersion asserts the invariants of the DB's current version: levels
// L1+ sorted and non-overlapping, every table's keys ordered, sizes summed.
func checkVersion(t testing.TB, db *DB) {
	t.Helper()
	v := db.vs.Current()
	defer v.Unref()
	require.NoError(t, v.CheckInvariants())
	checkL0Order(t, v)
	for l := 1; l < manifest.NumLevels; l++ {
		files := v.Levels[l]
		for i := 1; i < len(files); i++ {
			// A table cut inside a range tombstone ends with the tombstone's
			// exclusive end, which may be the next table's first user key.
			require.True(t, files[i-1].EndsBefore(files[i].SmallestUserKey()),
				"L%d tables %d and %d share a user key: %s, %s", l, files[i-1].FileNum, files[i].FileNum, files[i-1], files[i])
		}
		for _, f := range files {
			require.LessOrEqual(t, keys.Compare(f.Smallest, f.Largest), 0)
			require.LessOrEqual(t, f.SmallestSeq, f.LargestSeq)
		}
	}
}

func TestCompactionKeepsInvariantsAndData(t *testing.T) {
	fs := vfs.NewMem()
	o := smallOpts(fs)
	o.MemtableSize = 8 << 10 // tiny: thousands of flushes and compactions
	o.TargetFileSize = 4 << 10
	o.BaseLevelSize = 16 << 10
	o.LevelMultiplier = 4
	var (
		mu        sync.Mutex
		checks    int
		checkErrs []error
		db        *DB
	)
	o.EventListener = &EventListener{CompactionEnd: func(info CompactionInfo) {
		if info.Err != nil {
			return
		}
		v := db.vs.Current()
		err := v.CheckInvariants()
		v.Unref()
		mu.Lock()
		checks++
		if err != nil {
			checkErrs = append(checkErrs, err)
		}
		mu.Unlock()
	}}
	var err error
	db, err = Open("/db", o)
	require.NoError(t, err)
	r := rand.New(rand.NewPCG(3, 4))
	model := map[string]string{}
	n := 300000
	if testing.Short() {
		n = 30000
	}
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("key%05d", r.IntN(20000))
		if r.IntN(4) == 0 {
			require.NoError(t, db.Delete([]byte(k)))
			delete(model, k)
		} else {
			v := fmt.Sprintf("v%d-%030d", i, i)
			require.NoError(t, db.Put([]byte(k), []byte(v)))
			model[k] = v
		}
	}
	require.Equal(t, formatKVs(modelScan(model)), formatKVs(dbScan(t, db)))
	require.NoError(t, db.Compact(nil, nil))
	checkVersion(t, db)
	require.Equal(t, formatKVs(modelScan(model)), formatKVs(dbScan(t, db)))
	m := db.Metrics()
	t.Logf("flushes=%d compactions=%d trivial moves=%d write amp=%.2f read amp=%d tables=%d stalls=%d", m.Flushes, m.Compactions, m.TrivialMoves, m.WriteAmp, m.ReadAmp, m.Tables, m.WriteStalls)
	require.Greater(t, m.Compactions+m.TrivialMoves, int64(n/400), "tiny memtables and tables force many compactions")
	require.NoError(t, db.Verify())
	require.NoError(t, db.Close())
	mu.Lock()
	defer mu.Unlock()
	require.Empty(t, checkErrs)
	require.Greater(t, checks, n/400)

	// Every table file on disk is live: compaction inputs were deleted.
	db, err = Open("/db", o)
	require.NoError(t, err)
	defer db.Close()
	names, err := fs.List("/db")
	require.NoError(t, err)
	live := db.vs.LiveFiles()
	for _, name := range names {
		if ft, num, ok := manifest.ParseFilename(name); ok && ft == manifest.FileTypeTable {
			_, isLive := live[num]
			require.True(t, isLive, "table %s left behind", name)
		}
	}
}

func TestDeletedKeyNeverReappears(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, smallOpts(fs))
	defer db.Close()
	// Old values at the bottom.
	for i := 0; i < 1000; i++ {
		require.NoError(t, db.Put([]byte(fmt.Sprintf("k%04d", i)), []byte("old")))
	}
	require.NoError(t, db.Compact(nil, nil))
	// Tombstones above, then much unrelated traffic to churn the levels.
	for i := 0; i < 1000; i += 2 {
		require.NoError(t, db.Delete([]byte(fmt.Sprintf("k%04d", i))))
	}
	for round := 0; round < 5; round++ {
		for i := 0; i < 3000; i++ {
			require.NoError(t, db.Put([]byte(fmt.Sprintf("other%d-%05d", round, i)), make([]byte, 50)))
		}
		for i := 0; i < 1000; i += 2 {
			_, err := db.Get([]byte(fmt.Sprintf("k%04d", i)))
			require.ErrorIs(t, err, ErrNotFound, "round %d: k%04d reappeared", round, i)
		}
	}
	require.NoError(t, db.Compact(nil, nil))
	for i := 0; i < 1000; i++ {
		v, err := db.Get([]byte(fmt.Sprintf("k%04d", i)))
		if i%2 == 0 {
			require.ErrorIs(t, err, ErrNotFound)
		} else {
			require.NoError(t, err)
			require.Equal(t, "old", string(v))
		}
	}
	require.Greater(t, db.Metrics().TombstonesDropped, int64(0), "the bottom compaction drops the tombstones")
}

func TestSnapshotKeepsItsViewThroughCompactions(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, smallOpts(fs))
	defer db.Close()
	for i := 0; i < 2000; i++ {
		require.NoError(t, db.Put([]byte(fmt.Sprintf("k%04d", i)), []byte("v1")))
	}
	s := db.NewSnapshot()
	for i := 0; i < 2000; i++ {
		if i%3 == 0 {
			require.NoError(t, db.Delete([]byte(fmt.Sprintf("k%04d", i))))
		} else {
			require.NoError(t, db.Put([]byte(fmt.Sprintf("k%04d", i)), []byte("v2")))
		}
	}
	require.NoError(t, db.Compact(nil, nil))
	it, err := s.NewIter(nil)
	require.NoError(t, err)
	got := scanAll(t, it)
	require.Len(t, got, 2000)
	for _, e := range got {
		require.Equal(t, "v1", e.v, e.k)
	}
	require.NoError(t, s.Close())
	require.NoError(t, db.Compact(nil, nil))
	require.Len(t, dbScan(t, db), 2000-667)
}

func TestCompactRangeMovesDataToTheBottom(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, smallOpts(fs))
	defer db.Close()
	for i := 0; i < 5000; i++ {
		require.NoError(t, db.Put([]byte(fmt.Sprintf("k%05d", i)), make([]byte, 40)))
	}
	require.NoError(t, db.Compact(nil, nil))
	m := db.Metrics()
	require.Equal(t, 0, m.Levels[0].Tables, "L0 is empty after a full compaction")
	require.Greater(t, m.Levels[manifest.NumLevels-1].Tables, 0)
	require.LessOrEqual(t, m.ReadAmp, manifest.NumLevels-1)
	checkVersion(t, db)
}

func TestWriteStallsAreCountedAndWritesNeverFail(t *testing.T) {
	fs := vfs.NewMem()
	o := smallOpts(fs)
	o.L0CompactionTrigger, o.L0SlowdownWrites, o.L0StopWrites = 1, 1, 2
	o.MaxImmutableMemtables = 1
	var stalls sync.Map
	o.EventListener = &EventListener{StallBegin: func(i StallInfo) { stalls.Store(i.Reason, true) }}
	db := openMem(t, fs, o)
	defer db.Close()
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 3000; i++ {
				if err := db.Put([]byte(fmt.Sprintf("w%d-%05d", w, i)), make([]byte, 100)); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	m := db.Metrics()
	require.Greater(t, m.WriteStalls+m.WriteSlowdowns, int64(0))
	require.Greater(t, m.WriteStallTime, time.Duration(0))
	require.Len(t, dbScan(t, db), 12000)
	n := 0
	stalls.Range(func(any, any) bool { n++; return true })
	require.Greater(t, n, 0, "the event listener saw stalls")
}

func TestReadsTriggerAnL0Compaction(t *testing.T) {
	fs := vfs.NewMem()
	o := smallOpts(fs)
	o.L0CompactionTrigger, o.L0SlowdownWrites, o.L0StopWrites = 100, 100, 100
	db := openMem(t, fs, o)
	defer db.Close()
	for f := 0; f < 3; f++ {
		for i := 0; i < 300; i++ {
			require.NoError(t, db.Put([]byte(fmt.Sprintf("k%04d", i)), []byte(fmt.Sprint(f))))
		}
		require.NoError(t, db.Flush())
	}
	require.Equal(t, 3, db.Metrics().Levels[0].Tables, "below the write trigger, L0 stays")
	// Every iterator reads all three overlapping L0 tables.
	for i := 0; i < 600 && db.Metrics().Levels[0].Tables > 0; i++ {
		it, err := db.NewIter(nil)
		require.NoError(t, err)
		it.SeekGE([]byte(fmt.Sprintf("k%04d", i%300)))
		require.NoError(t, it.Close())
	}
	waitCompactions(db)
	m := db.Metrics()
	require.Equal(t, 0, m.Levels[0].Tables, "reads paid for L0's overlap long enough")
	require.Len(t, dbScan(t, db), 300)
}

// TestConcurrentCompactCallsTakeTurns: Compact calls made at once each
// compact the whole range, one after another. Two that picked from the same
// version would both rewrite its tables, and the second's edit would fail
// (a table deleted twice, or overlapping outputs), stopping the DB.
func TestConcurrentCompactCallsTakeTurns(t *testing.T) {
	rounds := 10
	if testing.Short() {
		rounds = 3
	}
	for round := 0; round < rounds; round++ {
		fs := vfs.NewMem()
		db := openMem(t, fs, smallOpts(fs))
		for i := 0; i < 3000; i++ {
			require.NoError(t, db.Put([]byte(fmt.Sprintf("k%05d", i)), make([]byte, 40)))
			if i%500 == 0 {
				require.NoError(t, db.Delete([]byte(fmt.Sprintf("k%05d", i/2))))
			}
		}
		var wg sync.WaitGroup
		errs := make([]error, 3)
		for g := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[g] = db.Compact(nil, nil)
			}()
		}
		wg.Wait()
		for g, err := range errs {
			require.NoError(t, err, "round %d, call %d", round, g)
		}
		m := db.Metrics()
		require.Zero(t, m.Levels[0].Tables, "round %d: L0 is empty after the calls", round)
		checkVersion(t, db)
		require.NoError(t, db.Put([]byte("after"), []byte("x")), "the DB still takes writes")
	}
}

// TestLockedFunctionsCheckTheLock: under the invariants build, a function
// named ...Locked called without db.mu panics.
func TestLockedFunctionsCheckTheLock(t *testing.T) {
	if !invariants.Enabled {
		t.Skip("the check exists only under the invariants or race build")
	}
	fs := vfs.NewMem()
	o := smallOpts(fs)
	o.Sync = SyncNo // no background syncer to take db.mu
	db := openMem(t, fs, o)
	// The check sees the lock through TryLock, so a background goroutine
	// that holds db.mu at that moment (the compaction scheduler after
	// Open) hides a missing lock: a call that did not panic is tried again.
	panics := func(f func()) bool {
		for i := 0; i < 50; i++ {
			if func() (p bool) {
				defer func() { p = recover() != nil }()
				f()
				return false
			}() {
				return true
			}
			time.Sleep(10 * time.Millisecond)
		}
		return false
	}
	require.True(t, panics(db.maybeScheduleCompactionLocked), "maybeScheduleCompactionLocked without db.mu")
	require.True(t, panics(func() { db.currentVersionRefLocked().Unref() }), "currentVersionRefLocked without db.mu")
	db.mu.Lock()
	require.NotPanics(t, func() { db.currentVersionRefLocked().Unref() })
	db.mu.Unlock()
}

package lsm

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/manifest"
	"github.com/stratadb/strata/vfs"
)

// rdModel is a map model of the DB that knows range deletions.
type rdModel map[string]string

func (m rdModel) deleteRange(start, end string) {
	for k := range m {
		if k >= start && k < end {
			delete(m, k)
		}
	}
}

func (m rdModel) clone() rdModel {
	c := make(rdModel, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// reader is what DB and Snapshot share for checking.
type rdReader interface {
	Get([]byte) ([]byte, error)
	NewIter(*IterOptions) (*Iterator, error)
}

// checkRD compares every read path of r with the model: Get of every key
// of the universe, full scans both ways, bounded scans and seeks.
func checkRD(t *testing.T, r rdReader, m rdModel, universe []string, what string) {
	t.Helper()
	for _, k := range universe {
		v, err := r.Get([]byte(k))
		if want, ok := m[k]; ok {
			require.NoError(t, err, "%s: Get(%q)", what, k)
			require.Equal(t, want, string(v), "%s: Get(%q)", what, k)
		} else {
			require.ErrorIs(t, err, ErrNotFound, "%s: Get(%q) = %q", what, k, v)
		}
	}
	want := modelScan(m)
	it, err := r.NewIter(nil)
	require.NoError(t, err)
	require.Equal(t, formatKVs(want), formatKVs(scanAll(t, it)), "%s: forward scan", what)
	it, err = r.NewIter(nil)
	require.NoError(t, err)
	var back []kv
	for ok := it.Last(); ok; ok = it.Prev() {
		back = append(back, kv{string(it.Key()), string(it.Value())})
	}
	require.NoError(t, it.Close())
	for i, j := 0, len(back)-1; i < j; i, j = i+1, j-1 {
		back[i], back[j] = back[j], back[i]
	}
	require.Equal(t, formatKVs(want), formatKVs(back), "%s: backward scan", what)
	// Bounded scans and seeks from every key of the universe.
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 20; n++ {
		lo, hi := universe[rng.IntN(len(universe))], universe[rng.IntN(len(universe))]
		if lo > hi {
			lo, hi = hi, lo
		}
		var wantB []kv
		for _, e := range want {
			if e.k >= lo && e.k < hi {
				wantB = append(wantB, e)
			}
		}
		it, err := r.NewIter(&IterOptions{LowerBound: []byte(lo), UpperBound: []byte(hi)})
		require.NoError(t, err)
		require.Equal(t, formatKVs(wantB), formatKVs(scanAll(t, it)), "%s: scan [%s, %s)", what, lo, hi)
		// Backward within the same bounds, and the seeks at the bounds.
		it, err = r.NewIter(&IterOptions{LowerBound: []byte(lo), UpperBound: []byte(hi)})
		require.NoError(t, err)
		var backB []kv
		for ok := it.Last(); ok; ok = it.Prev() {
			backB = append([]kv{{string(it.Key()), string(it.Value())}}, backB...)
		}
		require.Equal(t, formatKVs(wantB), formatKVs(backB), "%s: backward scan [%s, %s)", what, lo, hi)
		if len(wantB) > 0 {
			require.True(t, it.SeekLT([]byte(hi)), "%s: SeekLT(%q) in [%s, %s)", what, hi, lo, hi)
			require.Equal(t, wantB[len(wantB)-1].k, string(it.Key()))
			require.True(t, it.SeekGE([]byte(lo)), "%s: SeekGE(%q) in [%s, %s)", what, lo, lo, hi)
			require.Equal(t, wantB[0].k, string(it.Key()))
		} else {
			require.False(t, it.SeekLT([]byte(hi)), "%s: SeekLT(%q) in empty [%s, %s)", what, hi, lo, hi)
			require.False(t, it.SeekGE([]byte(lo)), "%s: SeekGE(%q) in empty [%s, %s)", what, lo, lo, hi)
		}
		require.NoError(t, it.Close())
	}
	it, err = r.NewIter(nil)
	require.NoError(t, err)
	defer it.Close()
	for _, k := range universe {
		i := sort.Search(len(want), func(i int) bool { return want[i].k >= k })
		if i < len(want) {
			require.True(t, it.SeekGE([]byte(k)), "%s: SeekGE(%q)", what, k)
			require.Equal(t, want[i].k, string(it.Key()), "%s: SeekGE(%q)", what, k)
			// Mixing directions after a seek.
			if i > 0 {
				require.True(t, it.Prev())
				require.Equal(t, want[i-1].k, string(it.Key()), "%s: SeekGE(%q).Prev", what, k)
				require.True(t, it.Next())
				require.Equal(t, want[i].k, string(it.Key()), "%s: SeekGE(%q).Prev.Next", what, k)
			}
		} else {
			require.False(t, it.SeekGE([]byte(k)), "%s: SeekGE(%q) past the end", what, k)
		}
		if i > 0 {
			require.True(t, it.SeekLT([]byte(k)), "%s: SeekLT(%q)", what, k)
			require.Equal(t, want[i-1].k, string(it.Key()), "%s: SeekLT(%q)", what, k)
		} else {
			require.False(t, it.SeekLT([]byte(k)), "%s: SeekLT(%q) before the start", what, k)
		}
	}
}

func rdKey(i int) string { return fmt.Sprintf("k%04d", i) }

// TestDeleteRangeEverywhere writes keys, deletes ranges, and checks every
// read path with the tombstones in the memtable, in L0, after compaction and
// after a reopen, with snapshots from before and after each delete.
func TestDeleteRangeEverywhere(t *testing.T) {
	type stage struct {
		name string
		do   func(t *testing.T, db *DB) *DB
	}
	fs := vfs.NewMem()
	stages := []stage{
		{"memtable", func(t *testing.T, db *DB) *DB { return db }},
		{"flushed", func(t *testing.T, db *DB) *DB { require.NoError(t, db.Flush()); return db }},
		{"compacted", func(t *testing.T, db *DB) *DB { require.NoError(t, db.Compact(nil, nil)); return db }},
		{"reopened", func(t *testing.T, db *DB) *DB {
			require.NoError(t, db.Close())
			return openMem(t, fs, smallOpts(fs))
		}},
	}
	const n = 400
	var universe []string
	for i := 0; i <= n; i++ {
		universe = append(universe, rdKey(i))
	}
	for _, placement := range []string{"data-in-memtable", "data-in-tables", "data-compacted"} {
		for _, st := range stages {
			t.Run(placement+"/"+st.name, func(t *testing.T) {
				fs = vfs.NewMem()
				db := openMem(t, fs, smallOpts(fs))
				m := rdModel{}
				for i := 0; i < n; i++ {
					k := rdKey(i)
					v := fmt.Sprintf("v%d-%s", i, k)
					require.NoError(t, db.Put([]byte(k), []byte(v)))
					m[k] = v
				}
				switch placement {
				case "data-in-tables":
					require.NoError(t, db.Flush())
				case "data-compacted":
					require.NoError(t, db.Compact(nil, nil))
				}
				before := db.NewSnapshot()
				mBefore := m.clone()
				require.NoError(t, db.DeleteRange([]byte(rdKey(10)), []byte(rdKey(200))))
				m.deleteRange(rdKey(10), rdKey(200))
				b := db.NewBatch()
				b.Put([]byte(rdKey(150)), []byte("reborn")) // after the tombstone: visible
				b.DeleteRange([]byte(rdKey(300)), []byte(rdKey(310)))
				b.DeleteRange([]byte(rdKey(305)), []byte(rdKey(320))) // overlapping
				require.NoError(t, db.Apply(b))
				m["k0150"] = "reborn"
				m.deleteRange(rdKey(300), rdKey(320))
				middle := db.NewSnapshot()
				mMiddle := m.clone()
				// A tombstone then a put of a key inside it in one batch, and
				// a put then a tombstone over it.
				b = db.NewBatch()
				b.DeleteRange([]byte(rdKey(390)), []byte(rdKey(395)))
				b.Put([]byte(rdKey(392)), []byte("after"))
				b.Put([]byte(rdKey(380)), []byte("before"))
				b.DeleteRange([]byte(rdKey(375)), []byte(rdKey(385)))
				require.NoError(t, db.Apply(b))
				m.deleteRange(rdKey(390), rdKey(395))
				m["k0392"] = "after"
				m["k0380"] = "before"
				m.deleteRange(rdKey(375), rdKey(385))

				if st.name == "reopened" {
					// Snapshots do not survive a reopen.
					require.NoError(t, before.Close())
					require.NoError(t, middle.Close())
				}
				db = st.do(t, db)
				defer func() { require.NoError(t, db.Close()) }()
				checkRD(t, db, m, universe, "db")
				if st.name != "reopened" {
					checkRD(t, before, mBefore, universe, "snapshot before")
					checkRD(t, middle, mMiddle, universe, "snapshot middle")
					require.NoError(t, before.Close())
					require.NoError(t, middle.Close())
				}
				require.NoError(t, db.Compact(nil, nil))
				checkRD(t, db, m, universe, "db after final compaction")
				require.NoError(t, db.Verify())
			})
		}
	}
}

func TestDeleteRangeArguments(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, nil)
	defer db.Close()
	for _, c := range []struct{ start, end string }{{"b", "a"}, {"a", "a"}, {"a", ""}} {
		require.ErrorIs(t, db.DeleteRange([]byte(c.start), []byte(c.end)), ErrInvalidArgument, "%q %q", c.start, c.end)
		b := db.NewBatch()
		b.Put([]byte("x"), []byte("y"))
		b.DeleteRange([]byte(c.start), []byte(c.end))
		require.ErrorIs(t, db.Apply(b), ErrInvalidArgument)
	}
	require.ErrorIs(t, db.DeleteRange([]byte("a"), []byte("b"), WithTTL(time.Second)), ErrInvalidArgument)
	require.ErrorIs(t, db.DeleteRange([]byte("a"), []byte("b"), IfPresent()), ErrInvalidArgument)
	require.NoError(t, db.DeleteRange([]byte("a"), []byte("b"), WithSync()))
	require.NoError(t, db.DeleteRange(nil, []byte("b")), "an empty start deletes from the first key")
	_, err := db.Get([]byte("x"))
	require.ErrorIs(t, err, ErrNotFound, "the failed batch wrote nothing")
}

// TestDeleteRangeConditionsAndCounters: a covered key is absent for
// conditions, Increment, Has and Expiry; a key written after the tombstone
// (with a TTL too) is visible.
func TestDeleteRangeConditionsAndCounters(t *testing.T) {
	for _, flush := range []bool{false, true} {
		t.Run(fmt.Sprintf("flush=%v", flush), func(t *testing.T) {
			fs := vfs.NewMem()
			clock := newFakeClock()
			opts := smallOpts(fs)
			opts.Clock = clock.Now
			db := openMem(t, fs, opts)
			defer db.Close()
			require.NoError(t, db.Put([]byte("c1"), []byte("41")))
			require.NoError(t, db.Put([]byte("c2"), []byte("x"), WithTTL(time.Hour)))
			require.NoError(t, db.Put([]byte("c3"), []byte("y")))
			if flush {
				require.NoError(t, db.Flush())
			}
			require.NoError(t, db.DeleteRange([]byte("c"), []byte("d")))
			if flush {
				require.NoError(t, db.Flush())
			}
			ok, err := db.Has([]byte("c1"))
			require.NoError(t, err)
			require.False(t, ok)
			_, err = db.Expiry([]byte("c2"))
			require.ErrorIs(t, err, ErrNotFound)
			require.ErrorIs(t, db.Put([]byte("c3"), []byte("z"), IfPresent()), ErrConditionFailed)
			require.ErrorIs(t, db.Delete([]byte("c3"), IfPresent()), ErrConditionFailed)
			require.NoError(t, db.Put([]byte("c3"), []byte("z"), IfAbsent()))
			n, err := db.Increment([]byte("c1"), 1)
			require.NoError(t, err)
			require.Equal(t, int64(1), n, "a covered counter starts from zero")
			require.NoError(t, db.Put([]byte("c2"), []byte("ttl"), WithTTL(time.Minute)))
			exp, err := db.Expiry([]byte("c2"))
			require.NoError(t, err)
			require.Equal(t, clock.Now().Add(time.Minute), exp)
			// A conditional write and a range delete in one batch.
			b := db.NewBatch()
			b.Put([]byte("c9"), []byte("new"), IfAbsent())
			b.DeleteRange([]byte("c1"), []byte("c3"))
			require.NoError(t, db.Apply(b))
			for k, want := range map[string]string{"c1": "", "c2": "", "c3": "z", "c9": "new"} {
				v, err := db.Get([]byte(k))
				if want == "" {
					require.ErrorIs(t, err, ErrNotFound, k)
				} else {
					require.NoError(t, err, k)
					require.Equal(t, want, string(v))
				}
			}
			clock.Advance(2 * time.Minute)
			require.NoError(t, db.Compact(nil, nil))
			require.NoError(t, db.Verify())
		})
	}
}

// TestDeleteRangeOneWrite: a DeleteRange over any number of keys appends
// one small WAL record.
func TestDeleteRangeOneWrite(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, nil)
	defer db.Close()
	b := db.NewBatch()
	for i := 0; i < 10000; i++ {
		b.Put([]byte(fmt.Sprintf("key%08d", i)), []byte("value"))
	}
	require.NoError(t, db.Apply(b))
	before := db.Metrics().WALBytesWritten
	require.NoError(t, db.DeleteRange([]byte("key"), []byte("key99999999")))
	grew := db.Metrics().WALBytesWritten - before
	require.Equal(t, int64(12+1+1+3+1+11), grew, "header + kind + two keys with their lengths")
	it, err := db.NewIter(nil)
	require.NoError(t, err)
	require.False(t, it.First())
	require.NoError(t, it.Close())
}

// TestDeleteRangeSkipsCoveredSpan: an iterator steps over a covered range
// with one seek of the tables below the tombstone, and a point read skips a
// covered table without reading it.
func TestDeleteRangeSkipsCoveredSpan(t *testing.T) {
	for _, compact := range []bool{false, true} {
		t.Run(fmt.Sprintf("compact=%v", compact), func(t *testing.T) { testDeleteRangeSkipsCoveredSpan(t, compact) })
	}
}

func testDeleteRangeSkipsCoveredSpan(t *testing.T, compact bool) {
	fs := vfs.NewMem()
	db := openMem(t, fs, nil)
	defer db.Close()
	b := db.NewBatch()
	for i := 0; i < 20000; i++ {
		b.Put([]byte(fmt.Sprintf("key%08d", i)), []byte("value"))
	}
	require.NoError(t, db.Apply(b))
	require.NoError(t, db.Flush())
	if compact {
		require.NoError(t, db.Compact(nil, nil)) // the keys in a level L1+
	}
	require.NoError(t, db.DeleteRange([]byte("key"), []byte("key00019990")))
	m0 := db.Metrics()
	it, err := db.NewIter(nil)
	require.NoError(t, err)
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	require.NoError(t, it.Close())
	require.Equal(t, 10, n)
	m1 := db.Metrics()
	require.Equal(t, int64(1), m1.RangeDelSkips-m0.RangeDelSkips)
	require.Less(t, m1.DataBlocksRead-m0.DataBlocksRead, int64(5), "one seek, not a walk over the covered blocks")
	_, err = db.Get([]byte("key00000005"))
	require.ErrorIs(t, err, ErrNotFound)
	m2 := db.Metrics()
	require.Equal(t, int64(1), m2.TablesSkippedByRangeDel-m1.TablesSkippedByRangeDel)
	require.Equal(t, m1.DataBlocksRead, m2.DataBlocksRead, "the covered table is not read")
	// Bloom filters still answer for keys outside the tombstone: once the
	// table has read its filter (a reader reads it on demand, after as
	// many reads without it as it is long in data blocks), every absent
	// key there is excluded by it.
	for i := 0; db.Metrics().FilterSkips == m2.FilterSkips; i++ {
		require.Less(t, i, 100, "the filter was never read")
		_, err = db.Get(fmt.Appendf(nil, "key00019995x%d", i))
		require.ErrorIs(t, err, ErrNotFound)
	}
	m3 := db.Metrics()
	_, err = db.Get([]byte("key00019995x"))
	require.ErrorIs(t, err, ErrNotFound)
	m4 := db.Metrics()
	require.Equal(t, m3.FilterSkips+1, m4.FilterSkips, "an absent key is excluded by the filter")
	require.Equal(t, m3.DataBlocksRead, m4.DataBlocksRead)
	v, err := db.Get([]byte("key00019995"))
	require.NoError(t, err)
	require.Equal(t, "value", string(v))
}

// TestSync: Sync makes acknowledged writes survive a power loss under
// SyncNo, and returns the latched error after a failed fsync.
func TestSync(t *testing.T) {
	mem := vfs.NewMem()
	var failSync atomic.Bool
	fs := vfs.NewErrorFS(mem, vfs.InjectorFunc(func(op vfs.Op, path string) error {
		if op == vfs.OpSync && failSync.Load() && strings.HasSuffix(path, ".log") {
			return syscall.EIO
		}
		return nil
	}))
	db := openMem(t, fs, &Options{Sync: SyncNo})
	require.NoError(t, db.Put([]byte("a"), []byte("1")))
	require.NoError(t, db.DeleteRange([]byte("b"), []byte("c")))
	require.NoError(t, db.Sync())
	require.NoError(t, db.Sync(), "nothing new: still nil")
	crashed := mem.CrashClone()
	failSync.Store(true)
	require.NoError(t, db.Put([]byte("z"), []byte("unsynced")))
	err := db.Sync()
	require.ErrorIs(t, err, syscall.EIO)
	require.ErrorIs(t, db.Sync(), syscall.EIO, "the error is latched")
	require.Error(t, db.Put([]byte("y"), []byte("refused")))
	db.Close()

	db = openMem(t, crashed, nil)
	defer db.Close()
	v, err := db.Get([]byte("a"))
	require.NoError(t, err)
	require.Equal(t, "1", string(v))
	require.NoError(t, db.Close())
	require.ErrorIs(t, db.Sync(), ErrClosed)
}

// TestSyncConcurrent: Sync runs beside writers; every write acknowledged
// before a Sync was called, by any writer, survives a power loss taken
// right after it returned (and writes acknowledged meanwhile may or may
// not: they are not checked).
func TestSyncConcurrent(t *testing.T) {
	mem := vfs.NewMem()
	db := openMem(t, mem, &Options{Sync: SyncNo})
	acked := powerLossRounds(t, mem, db, 4, 20, func(w, i int) error {
		return db.Put(writerKey(w, i), []byte("v"))
	}, db.Sync)
	require.Positive(t, acked, "writers were acknowledged before some Sync")
}

// writerKey is the key of writer w's i-th put in powerLossRounds' tests.
func writerKey(w, i int) []byte { return []byte(fmt.Sprintf("w%02d-%06d", w, i)) }

// powerLossRounds runs writers goroutines, each calling put(w, i) for i =
// 0, 1, ... (put i is acknowledged when the call returns nil), and takes
// rounds power losses of mem: each once every writer has a new
// acknowledged put (progress, not time), right after beforeLoss (if not
// nil) returns. It then closes db and checks that every put acknowledged
// before a power loss, writerKey(w, i), is in the DB reopened from it. It
// returns the number of puts acknowledged by the end.
func powerLossRounds(t *testing.T, mem *vfs.MemFS, db *DB, writers, rounds int, put func(w, i int) error, beforeLoss func() error) int64 {
	t.Helper()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	acked := make([]atomic.Int64, writers)
	var failed atomic.Value
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := put(w, i); err != nil {
					failed.Store(err)
					return
				}
				acked[w].Store(int64(i + 1))
			}
		}()
	}
	halt := func() {
		close(stop)
		wg.Wait()
		if err := failed.Load(); err != nil {
			t.Fatalf("a writer failed: %v", err)
		}
	}
	type loss struct {
		crashed *vfs.MemFS
		upTo    []int64 // per writer, puts acknowledged before the loss
	}
	var losses []loss
	for range rounds {
		c := loss{upTo: make([]int64, writers)}
		for w := range writers {
			prev := int64(0)
			if len(losses) > 0 {
				prev = losses[len(losses)-1].upTo[w]
			}
			for acked[w].Load() == prev {
				if failed.Load() != nil {
					halt()
				}
				time.Sleep(50 * time.Microsecond)
			}
			c.upTo[w] = acked[w].Load()
		}
		if beforeLoss != nil {
			require.NoError(t, beforeLoss())
		}
		c.crashed = mem.CrashClone()
		losses = append(losses, c)
	}
	halt()
	require.NoError(t, db.Close())
	for _, c := range losses {
		db := openMem(t, c.crashed, nil)
		for w := range writers {
			for i := range c.upTo[w] {
				_, err := db.Get(writerKey(w, int(i)))
				require.NoError(t, err, "writer %d's put %d, acknowledged before the power loss", w, i)
			}
		}
		require.NoError(t, db.Close())
	}
	var total int64
	for w := range writers {
		total += acked[w].Load()
	}
	return total
}

// TestDeleteRangeOfAPartition: DeleteRange over PartitionBounds(pk) deletes
// every item of pk, and only those, for Query and GetItem, before and after
// a flush; a sort-key range inside a partition deletes just that range.
func TestDeleteRangeOfAPartition(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, smallOpts(fs))
	defer db.Close()
	for _, pk := range []string{"p1", "p2", "p3"} {
		for i := 0; i < 50; i++ {
			require.NoError(t, db.PutItem([]byte(pk), []byte(fmt.Sprintf("s%02d", i)), []byte("v")))
		}
	}
	require.NoError(t, db.Flush())
	lo, hi := PartitionBounds([]byte("p2"))
	require.NoError(t, db.DeleteRange(lo, hi))
	// Sort keys [s10, s20) of p3.
	require.NoError(t, db.DeleteRange(ItemKey([]byte("p3"), []byte("s10")), ItemKey([]byte("p3"), []byte("s20"))))
	count := func(pk string) int {
		items := db.Query([]byte(pk), nil)
		n := 0
		for items.Next() {
			n++
		}
		require.NoError(t, items.Err())
		require.NoError(t, items.Close())
		return n
	}
	for round := 0; round < 2; round++ {
		require.Equal(t, 50, count("p1"))
		require.Equal(t, 0, count("p2"))
		require.Equal(t, 40, count("p3"))
		_, err := db.GetItem([]byte("p2"), []byte("s05"))
		require.ErrorIs(t, err, ErrNotFound)
		_, err = db.GetItem([]byte("p3"), []byte("s15"))
		require.ErrorIs(t, err, ErrNotFound)
		_, err = db.GetItem([]byte("p3"), []byte("s25"))
		require.NoError(t, err)
		require.NoError(t, db.Flush())
	}
}

// TestVerifyChecksRangeDels: Verify compares a table's range deletion block
// with its MANIFEST record: the count, the bounds and the sequence numbers.
// Each field of the record made to disagree is corruption naming the table.
func TestVerifyChecksRangeDels(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, smallOpts(fs))
	defer db.Close()
	require.NoError(t, db.Put([]byte("a"), []byte("1")))
	require.NoError(t, db.Put([]byte("z"), []byte("1")))
	require.NoError(t, db.DeleteRange([]byte("c"), []byte("f")))
	require.NoError(t, db.DeleteRange([]byte("e"), []byte("h")))
	require.NoError(t, db.Flush())
	require.NoError(t, db.Verify())
	rs, _ := db.loadReadState()
	defer rs.release()
	var f *manifest.FileMeta
	for _, files := range rs.v.Levels {
		for _, g := range files {
			if g.NumRangeDels > 0 {
				f = g
			}
		}
	}
	require.NotNil(t, f, "a table with range tombstones")
	r, h, err := db.tableCache.Get(f.FileNum, int64(f.Size))
	require.NoError(t, err)
	defer h.Release()
	require.NoError(t, verifyRangeDels(f, r))
	require.Equal(t, uint64(4), f.NumRangeDels, "[c,e) [e,f)x2 [f,h): one per fragment and sequence number")
	for name, change := range map[string]func(m *manifest.FileMeta){
		"count":        func(m *manifest.FileMeta) { m.NumRangeDels++ },
		"no count":     func(m *manifest.FileMeta) { m.NumRangeDels = 0 },
		"smallest":     func(m *manifest.FileMeta) { m.Smallest = keys.MakeKey(nil, []byte("d"), 1, keys.KindSet) },
		"largest":      func(m *manifest.FileMeta) { m.Largest = keys.MakeKey(nil, []byte("g"), 1, keys.KindSet) },
		"largest seq":  func(m *manifest.FileMeta) { m.LargestSeq = 1 },
		"smallest seq": func(m *manifest.FileMeta) { m.SmallestSeq = m.LargestSeq + 1 },
	} {
		m := *f
		change(&m)
		err := verifyRangeDels(&m, r)
		require.ErrorIs(t, err, ErrCorruption, name)
		require.Contains(t, err.Error(), r.Name(), name)
	}
}

// TestSyncByManyCallers: goroutines that each write and then call Sync (a
// server's connections under appendfsync always) share fsyncs, and Sync
// returns only once an fsync covered every WAL byte written before the
// call: checked on the WAL writers' synced sizes after each call (with
// fsyncs slowed so that callers wait on each other's), and by power losses
// taken at any moment, after which every write whose Sync returned is
// there. A Sync that returned after waiting on an fsync that started before
// its caller's bytes were written fails both.
func TestSyncByManyCallers(t *testing.T) {
	mem := vfs.NewMem()
	slow := vfs.NewErrorFS(mem, vfs.InjectorFunc(func(op vfs.Op, path string) error {
		if op == vfs.OpSync && strings.HasSuffix(path, ".log") {
			time.Sleep(200 * time.Microsecond)
		}
		return nil
	}))
	db := openMem(t, slow, &Options{Sync: SyncNo})
	acked := powerLossRounds(t, mem, db, 16, 30, func(w, i int) error {
		if err := db.Put(writerKey(w, i), []byte("v")); err != nil {
			return err
		}
		// The bytes written so far: this put's, and what other writers'
		// flushed groups added before it.
		var buf [4]walTarget
		written := db.walTargets(buf[:0])
		for i := range written {
			written[i].size = written[i].w.FlushedSize()
		}
		if err := db.Sync(); err != nil {
			return err
		}
		for _, tg := range written {
			if tg.w.SyncedSize() < tg.size {
				return fmt.Errorf("writer %d: Sync returned with WAL bytes %d..%d unsynced", w, tg.w.SyncedSize(), tg.size)
			}
		}
		return nil
	}, nil)
	fsyncs := db.Metrics().WALSyncs
	require.Less(t, fsyncs, acked, "callers waiting on a running fsync share it")
	t.Logf("%d Sync calls returned, %d fsyncs", acked, fsyncs)
}

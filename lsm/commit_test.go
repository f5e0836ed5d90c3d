package lsm

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/batchrepr"
	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/vfs"
)

// TestSyncedGroupAwaitsItsWriters checks the mechanism that lets one fsync
// carry writers that fsync every write: after a synced group, the next
// leader waits until that group's writers have queued again, or until a
// quarter of the last fsync's duration has passed. (How many writes an fsync
// then carries is a throughput figure; the bench harness measures it.)
func TestSyncedGroupAwaitsItsWriters(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, &Options{FS: fs, Sync: SyncAlways})
	defer db.Close()
	c := &db.commit

	// A synced group of one leaves one writer to wait for; that writer's
	// own next write takes it off the count before it leads, so a lone
	// writer never waits for itself.
	require.NoError(t, db.Put([]byte("a"), []byte("1")))
	require.Equal(t, int32(1), c.returning.Load())
	require.NoError(t, db.Put([]byte("a"), []byte("2")))
	require.Equal(t, int32(1), c.returning.Load())

	// An unsynced write under SyncNo semantics (no fsync) clears the count.
	db.opts.Sync = SyncNo
	require.NoError(t, db.Put([]byte("b"), []byte("1")))
	require.Equal(t, int32(0), c.returning.Load(), "a group that did not fsync leaves nobody to wait for")
	db.opts.Sync = SyncAlways

	// The wait lasts while writers are missing and the deadline is ahead...
	c.returning.Store(2)
	db.lastSyncNanos.Store(int64(time.Hour))
	done := make(chan struct{})
	go func() { db.awaitReturning(); close(done) }()
	select {
	case <-done:
		t.Fatal("the leader did not wait for the missing writers")
	case <-time.After(20 * time.Millisecond):
	}
	// ... and ends when the last of them queues again.
	c.returning.Add(-1)
	select {
	case <-done:
		t.Fatal("the leader stopped waiting with a writer still missing")
	case <-time.After(20 * time.Millisecond):
	}
	c.returning.Add(-1)
	<-done

	// With the last fsync instant, the deadline has passed at once.
	c.returning.Store(5)
	db.lastSyncNanos.Store(0)
	db.awaitReturning()
	c.returning.Store(0)
}

// TestFsyncedWritersShareEachFsync runs 8 writers that fsync every write on
// a filesystem whose fsync takes 2 ms, and checks that every write is there.
// It logs how many writes each fsync carried (about 8 with the wait of
// awaitReturning, about 4 without); the figure depends on the machine, so
// it is reported, not asserted.
func TestFsyncedWritersShareEachFsync(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, &Options{FS: fs, Sync: SyncAlways})
	fs.SetCrashHook(func(op vfs.Op) {
		if op == vfs.OpSync {
			time.Sleep(2 * time.Millisecond)
		}
	})
	defer fs.SetCrashHook(nil)
	const writers, each = 8, 40
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				k := binary.BigEndian.AppendUint32([]byte{byte(w)}, uint32(i))
				if err := db.Put(k, k); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	m := db.Metrics()
	perSync := float64(writers*each) / float64(m.WALSyncs)
	t.Logf("%d writes, %d fsyncs, %d groups: %.1f writes per fsync", writers*each, m.WALSyncs, m.CommitGroups, perSync)
	require.LessOrEqual(t, m.WALSyncs, int64(writers*each), "more fsyncs than writes")
	for w := range writers {
		for i := range each {
			k := binary.BigEndian.AppendUint32([]byte{byte(w)}, uint32(i))
			v, err := db.Get(k)
			require.NoError(t, err)
			require.Equal(t, k, v)
		}
	}
}

// TestConditionalRequestsShareAGroup builds one commit group by hand, as a
// leader would take it from the queue, and checks that its conditional
// requests see the writes queued before them (a counter incremented twice,
// a put between them, IfAbsent twice on one key, IfValue on a value the
// group wrote), that it is one WAL write and one fsync, and that the group
// ends before a conditional request that follows a range deletion, which
// then leads a group of its own.
func TestConditionalRequestsShareAGroup(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, &Options{FS: fs, Sync: SyncAlways})
	defer db.Close()
	require.NoError(t, db.Put([]byte("old"), []byte("gone soon")))

	plain := func(kind keys.Kind, key, value string) *commitReq {
		r := getReq()
		r.repr = batchrepr.AppendEntry(r.repr, kind, []byte(key), []byte(value), 0)
		r.count = 1
		return r
	}
	incr := func(key string, delta int64) *commitReq {
		r := getReq()
		r.kind, r.key, r.delta = reqIncr, []byte(key), delta
		return r
	}
	cond := func(fill func(b *Batch)) *commitReq {
		b := db.NewBatch()
		fill(b)
		r := getReq()
		r.kind, r.batch = reqBatch, b
		return r
	}
	rangeDel := func(start, end string) *commitReq {
		r := getReq()
		r.repr = batchrepr.AppendRangeDelete(r.repr, []byte(start), []byte(end))
		r.count = 1
		return r
	}
	group := []*commitReq{
		incr("n", 1),                   // 0: absent, so 1
		plain(keys.KindSet, "n", "10"), // 1
		incr("n", 5),                   // 2: sees 10, so 15
		cond(func(b *Batch) { b.Put([]byte("x"), []byte("1"), IfAbsent()) }), // 3: ok
		cond(func(b *Batch) { b.Put([]byte("x"), []byte("2"), IfAbsent()) }), // 4: x is there now
		cond(func(b *Batch) { // 5: n holds "15" in the group
			b.Delete([]byte("n"), IfValue([]byte("15")))
			b.Put([]byte("y"), []byte("ok"))
		}),
		incr("n", 1),                      // 6: n deleted by 5, so 1
		plain(keys.KindDelete, "old", ""), // 7
		cond(func(b *Batch) { b.Put([]byte("old"), []byte("back"), IfAbsent()) }), // 8: sees 7's delete
		rangeDel("r0", "r9"), // 9
		incr("n", 1),         // 10: behind a range deletion: next group
	}
	before := db.Metrics()
	// This goroutine leads, as commitWrite's leader does (the invariants
	// build checks it).
	db.leader.acquire()
	n, synced := db.writeGroup(group)
	require.Equal(t, 10, n, "the group ends before the request behind the range deletion")
	require.True(t, synced)
	after := db.Metrics()
	require.Equal(t, int64(1), after.CommitGroups-before.CommitGroups)
	require.Equal(t, int64(1), after.WALSyncs-before.WALSyncs, "one fsync for the whole group")

	require.NoError(t, group[0].err)
	require.Equal(t, int64(1), group[0].result)
	require.NoError(t, group[2].err)
	require.Equal(t, int64(15), group[2].result)
	require.NoError(t, group[3].err)
	require.ErrorIs(t, group[4].err, ErrConditionFailed)
	require.NoError(t, group[5].err)
	require.NoError(t, group[6].err)
	require.Equal(t, int64(1), group[6].result)
	require.NoError(t, group[8].err)

	n, _ = db.writeGroup(group[10:])
	db.leader.release()
	require.Equal(t, 1, n)
	require.NoError(t, group[10].err)
	require.Equal(t, int64(2), group[10].result)

	for k, want := range map[string]string{"n": "2", "x": "1", "y": "ok", "old": "back"} {
		v, err := db.Get([]byte(k))
		require.NoError(t, err, k)
		require.Equal(t, want, string(v), k)
	}
	for _, r := range group {
		putReq(r)
	}
}

// TestSyncSkipsWhatAnEarlierFsyncCovered: a sync asked for before an fsync
// that covered its bytes issues none, even though more was written since;
// a sync asked for after those writes does fsync.
func TestSyncSkipsWhatAnEarlierFsyncCovered(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, &Options{FS: fs, Sync: SyncNo})
	defer db.Close()
	require.NoError(t, db.Put([]byte("a"), []byte("1")))
	var buf [4]walTarget
	asked := db.walTargets(buf[:0]) // a caller of Sync, about to wait for the lock
	require.NoError(t, db.Sync())   // the fsync it waited behind
	require.NoError(t, db.Put([]byte("b"), []byte("2")))
	before := db.Metrics().WALSyncs
	require.NoError(t, db.syncWALsFor(asked))
	require.Equal(t, before, db.Metrics().WALSyncs, "its bytes were durable already")
	require.NoError(t, db.Sync())
	require.Equal(t, before+1, db.Metrics().WALSyncs, "b was not durable")
	require.NoError(t, db.Sync())
	require.Equal(t, before+1, db.Metrics().WALSyncs, "nothing new to fsync")
}

// TestLargeAppendSkipsTheFront: a write of one large entry whose key sorts
// after the memtable's goes into the main list directly, as a large
// ascending group does, instead of through a staged front that copies it a
// second time. A large entry that lands inside the memtable's key range,
// and a small appended one, still go through a front.
func TestLargeAppendSkipsTheFront(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, &Options{FS: fs})
	defer db.Close()
	large := make([]byte, largeGroupBytes)
	for i := range large {
		large[i] = byte(i * 7)
	}
	for _, k := range []string{"k1", "k2", "k3"} {
		require.NoError(t, db.Put([]byte(k), large))
		require.Zero(t, db.Metrics().MemtableFrontBytes, "%s appended: no front", k)
	}
	require.NoError(t, db.Put([]byte("a"), large))
	require.NotZero(t, db.Metrics().MemtableFrontBytes, "a sorts first: staged")
	for _, k := range []string{"a", "k1", "k2", "k3"} {
		v, err := db.Get([]byte(k))
		require.NoError(t, err)
		require.Equal(t, large, v, k)
	}
	require.NoError(t, db.Flush())
	require.NoError(t, db.Put([]byte("k4"), []byte("small")))
	require.NotZero(t, db.Metrics().MemtableFrontBytes, "a small append: staged")
}

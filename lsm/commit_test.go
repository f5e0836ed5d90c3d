package lsm

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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

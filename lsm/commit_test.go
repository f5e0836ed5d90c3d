package lsm

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/vfs"
)

// TestFsyncedWritersShareEachFsync runs 8 writers that fsync every write
// and write again at once, on a filesystem whose fsync takes 2 ms. Each
// fsync carries nearly all of them: the leader after a synced group waits
// (up to a quarter of an fsync) for that group's writers to queue again,
// where without the wait they settle into two groups taking turns, about 4
// writes per fsync.
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
	require.GreaterOrEqual(t, perSync, 6.0, "fsyncs carry too few of the waiting writers")
	for w := range writers {
		for i := range each {
			k := binary.BigEndian.AppendUint32([]byte{byte(w)}, uint32(i))
			v, err := db.Get(k)
			require.NoError(t, err)
			require.Equal(t, k, v)
		}
	}
}

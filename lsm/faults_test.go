package lsm

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/vfs"
)

// faultWorkload writes keyed versions with flushes and compactions through
// an FS that may fail. It returns the writes that were acknowledged, in
// order, and the first error seen. After a write fails, it keeps trying a few
// more writes and requires them to fail too (a failed WAL write or fsync, or
// a background error, latches until reopen).
func faultWorkload(t *testing.T, fs vfs.FS, seed uint64) (acked []crashOp, inflight *crashOp, firstErr error) {
	o := smallOpts(fs)
	o.MemtableSize = 16 << 10
	o.Sync = SyncAlways
	db, err := Open("/db", o)
	if err != nil {
		return nil, nil, err
	}
	r := rand.New(rand.NewPCG(seed, 1))
	for i := 0; i < 400; i++ {
		op := crashOp{keys: []string{fmt.Sprintf("key%03d", r.IntN(100))}, vals: []string{fmt.Sprintf("v%d-%080d", i, 0)}, del: []bool{r.IntN(6) == 0}}
		switch {
		case i%41 == 40:
			// A range deletion and a conditional put in one batch.
			s := r.IntN(100)
			op = crashOp{keys: []string{fmt.Sprintf("key%03d", s), fmt.Sprintf("cond%03d", i)},
				vals: []string{fmt.Sprintf("range%d", i), fmt.Sprintf("c%d", i)}, del: []bool{true, false},
				ends: []string{fmt.Sprintf("key%03d", s+1+r.IntN(15)), ""}}
			b := db.NewBatch()
			b.DeleteRange([]byte(op.keys[0]), []byte(op.ends[0]))
			b.Put([]byte(op.keys[1]), []byte(op.vals[1]), IfAbsent())
			err = db.Apply(b)
		case i%23 == 22:
			s := r.IntN(100)
			op = crashOp{keys: []string{fmt.Sprintf("key%03d", s)}, vals: []string{fmt.Sprintf("range%d", i)},
				del: []bool{true}, ends: []string{fmt.Sprintf("key%03d", s+1+r.IntN(15))}}
			err = db.DeleteRange([]byte(op.keys[0]), []byte(op.ends[0]))
		case op.del[0]:
			err = db.Delete([]byte(op.keys[0]))
		default:
			err = db.Put([]byte(op.keys[0]), []byte(op.vals[0]))
		}
		if err == nil && i%97 == 96 {
			err = db.Flush()
			if err != nil {
				acked = append(acked, op) // the write itself was acknowledged
			}
		}
		if err == nil && i%151 == 150 {
			err = db.Compact(nil, nil)
			if err != nil {
				acked = append(acked, op)
			}
		}
		if err == nil && i == 250 {
			err = db.Checkpoint(fmt.Sprintf("/cp%d", i)) // links and copies
			if err != nil {
				acked = append(acked, op)
			}
		}
		if err != nil {
			firstErr = err
			if len(acked) == 0 || acked[len(acked)-1].vals[0] != op.vals[0] {
				inflight = &op // failed, but its WAL bytes may have been written
			}
			break
		}
		acked = append(acked, op)
	}
	if firstErr != nil && db.backgroundError() != nil {
		for j := 0; j < 20; j++ {
			err := db.Put([]byte("after-fault"), []byte("x"))
			require.Error(t, err, "a write after a latched failure must fail")
		}
	}
	_ = db.Close() // may fail too; the lock is released regardless
	return acked, inflight, firstErr
}

// TestIOErrorsReachTheCallerAndLoseNothing injects an error at the n-th call
// of each kind of FS operation during a workload of writes, flushes and
// compactions. The error must reach the caller (or latch for the next
// write); after the fault clears, the DB must reopen with every acknowledged
// write present and nothing that was never written.
func TestIOErrorsReachTheCallerAndLoseNothing(t *testing.T) {
	kinds := []vfs.Op{vfs.OpCreate, vfs.OpWrite, vfs.OpSync, vfs.OpRename, vfs.OpRemove, vfs.OpRead,
		vfs.OpDirSync, vfs.OpOpen, vfs.OpList, vfs.OpStat, vfs.OpLink, vfs.OpClose, vfs.OpLock}
	stride := int64(1)
	if testing.Short() {
		stride = 7
	}
	total := 0
	for _, kind := range kinds {
		t.Run(kind.String(), func(t *testing.T) {
			// A dry run counts the calls of this kind.
			counter := vfs.OnIndex(-1, kind)
			_, _, err := faultWorkload(t, vfs.NewErrorFS(vfs.NewMem(), counter), 1)
			require.NoError(t, err)
			n := counter.Count()
			injected := 0
			for i := int64(0); i < n; i += stride {
				for _, e := range []error{vfs.ErrNoSpace, nil} {
					mem := vfs.NewMem()
					inj := vfs.OnIndex(i, kind)
					if e != nil {
						inj = inj.WithError(e)
					}
					acked, inflight, _ := faultWorkload(t, vfs.NewErrorFS(mem, inj), 1)
					if !inj.Fired() {
						continue
					}
					injected++
					verifyAcked(t, mem, acked, inflight, fmt.Sprintf("%s #%d (%v)", kind, i, e))
				}
			}
			total += injected
			t.Logf("%s: %d calls, %d faults injected", kind, n, injected)
		})
	}
	t.Logf("faults injected in total: %d", total)
}

// verifyAcked reopens mem with no fault and requires the state to be that
// of every acknowledged write, plus possibly the write in flight when the
// fault hit (a failed write may still have reached the WAL), and nothing
// else.
func verifyAcked(t *testing.T, mem *vfs.MemFS, acked []crashOp, inflight *crashOp, what string) {
	t.Helper()
	model := map[string]string{}
	for _, op := range acked {
		applyOp(model, op)
	}
	withInflight := copyModel(model)
	if inflight != nil {
		applyOp(withInflight, *inflight)
	}
	o := smallOpts(mem)
	db, err := Open("/db", o)
	require.NoError(t, err, "%s: reopen after the fault cleared", what)
	defer db.Close()
	got := formatKVs(dbScan(t, db))
	if got != formatKVs(modelScan(model)) {
		require.Equal(t, formatKVs(modelScan(withInflight)), got, "%s: recovered state is neither the acknowledged writes nor them plus the one in flight", what)
	}
}

func TestFailedFsyncLatchesUntilReopen(t *testing.T) {
	mem := vfs.NewMem()
	var failNext atomic.Bool
	efs := vfs.NewErrorFS(mem, vfs.InjectorFunc(func(op vfs.Op, path string) error {
		if op == vfs.OpSync && failNext.CompareAndSwap(true, false) {
			return fmt.Errorf("%w: %w", vfs.ErrInjected, syscall.EIO)
		}
		return nil
	}))
	db := openMem(t, efs, &Options{Sync: SyncAlways})
	for i := 0; i < 10; i++ {
		require.NoError(t, db.Put([]byte(fmt.Sprintf("k%d", i)), []byte("v")))
	}
	// Fail the next fsync, once: it must never be retried and papered over.
	failNext.Store(true)
	err := db.Put([]byte("k10"), []byte("v"))
	require.Error(t, err)
	require.True(t, errors.Is(err, syscall.EIO))
	for i := 0; i < 1000; i++ {
		require.Error(t, db.Put([]byte("later"), []byte("v")), "write %d after a failed fsync", i)
	}
	require.Contains(t, db.Metrics().BackgroundError, "fsync")
	_ = db.Close()
	db = openMem(t, mem, nil)
	defer db.Close()
	for i := 0; i < 10; i++ {
		_, err := db.Get([]byte(fmt.Sprintf("k%d", i)))
		require.NoError(t, err)
	}
	_, err = db.Get([]byte("later"))
	require.ErrorIs(t, err, ErrNotFound)
}

package lsm

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/vfs"
)

// A crashOp is one acknowledged-or-not write of the power-loss workload:
// a put (del=false) or delete of each of its keys, applied atomically.
type crashOp struct {
	keys []string
	vals []string // "" with del
	del  []bool
	// ends, where non-empty, makes entry j a DeleteRange(keys[j], ends[j])
	// (with del[j] set).
	ends []string
	sync bool // written WithSync
	// cond: the batch's first put carries IfValue(condVal); when the
	// condition fails the whole batch must write nothing.
	cond    bool
	condVal string
}

func applyOp(m map[string]string, op crashOp) {
	for i, k := range op.keys {
		if i < len(op.ends) && op.ends[i] != "" {
			for mk := range m {
				if mk >= k && mk < op.ends[i] {
					delete(m, mk)
				}
			}
			continue
		}
		if op.del[i] {
			delete(m, k)
		} else {
			m[k] = op.vals[i]
		}
	}
}

type crashPoint struct {
	fs     *vfs.MemFS
	acked  int // ops acknowledged before the power went out
	after  int // ops acknowledged once the crash image was taken (an upper bound)
	synced int // ops up to the last acknowledged WithSync op
}

// TestPowerLossKeepsAPrefix cuts the power at random FS operations of a
// workload of puts, deletes, batches, flushes and compactions, then reopens
// each crash image and requires: Open succeeds; the state equals the state
// after the first n writes for some n (no holes); under SyncAlways every
// acknowledged write survives, and in the other modes every write up to the
// last acknowledged WithSync write survives.
func TestPowerLossKeepsAPrefix(t *testing.T) {
	for _, mode := range []SyncMode{SyncAlways, SyncEverySec, SyncNo} {
		runs := 10
		if mode == SyncAlways {
			runs = 26 // >= 1,000 crash points for the mode that promises everything
		}
		if testing.Short() {
			runs = 3
		}
		t.Run(mode.String(), func(t *testing.T) {
			total, span := 0, 4000
			prewritten, zeroed := int64(0), int64(0)
			for run := 0; run < runs; run++ {
				n, ops, pw, z := powerLossRun(t, mode, uint64(run), span)
				total += n
				prewritten += pw
				zeroed += z
				span = ops // crash points spread over the whole run next time
			}
			t.Logf("%s: %d crash images verified; %d WAL segments written ahead taken into use, %d bytes of zeros written ahead of logs",
				mode, total, prewritten, zeroed)
			if mode == SyncAlways {
				require.Positive(t, prewritten, "no WAL segment written ahead was used: power losses during their use were not exercised")
				require.Positive(t, zeroed, "no zeros were written ahead of a log: power losses around them were not exercised")
			}
		})
	}
}

// powerLossRun runs the workload once, cutting the power at 40 random FS
// operations among the first span, and verifies every crash image. It
// returns the number of images, the number of FS operations the run made,
// the WAL segments written ahead it took into use and the bytes of zeros
// it wrote ahead of logs.
func powerLossRun(t *testing.T, mode SyncMode, seed uint64, span int) (int, int, int64, int64) {
	r := rand.New(rand.NewPCG(seed, uint64(mode)+100))
	fs := vfs.NewMem()
	opts := smallOpts(fs)
	opts.Sync = mode
	opts.MemtableSize = 16 << 10
	if seed%2 == 1 {
		opts.MemtableSize = 64 << 10 // staged: 4 KiB fronts copied in the background
	}
	// Every third run writes WAL segments ahead (its syncs, SyncAlways's
	// or a WithSync write's, are frequent: power may go out while zeros
	// are written, renamed or overwritten, ahead of a segment's use or of
	// its log), and every fourth keeps values
	// of 8 bytes or more in the WAL.
	opts.WALPrewrite = seed%3 == 0
	if seed%4 == 1 {
		opts.WALValueThreshold = 8
	}
	db := openMem(t, fs, opts)

	const nOps = 1500
	ops := make([]crashOp, nOps)
	for i := range ops {
		n := 1
		if r.IntN(5) == 0 {
			n = 2 + r.IntN(4)
		}
		op := crashOp{sync: mode != SyncAlways && r.IntN(40) == 0}
		for j := 0; j < n; j++ {
			k := r.IntN(200)
			op.keys = append(op.keys, fmt.Sprintf("key%03d", k))
			del := r.IntN(5) == 0
			end := ""
			if r.IntN(25) == 0 && (j > 0 || n == 1) {
				del, end = true, fmt.Sprintf("key%03d", k+1+r.IntN(20))
			}
			op.ends = append(op.ends, end)
			op.del = append(op.del, del)
			v := ""
			if !del {
				v = fmt.Sprintf("op%d.%d-%0*d", i, j, r.IntN(100), 0)
			}
			op.vals = append(op.vals, v)
		}
		ops[i] = op
	}

	var acked, synced atomic.Int64
	var mu sync.Mutex
	var points []crashPoint
	var fsOps atomic.Int64
	want := map[int64]bool{}
	for len(want) < 40 {
		want[int64(1+r.IntN(span))] = true
	}
	fs.SetCrashHook(func(vfs.Op) {
		n := fsOps.Add(1)
		if !want[n] {
			return
		}
		// Other goroutines keep writing while this one takes the image: what
		// was acknowledged before it must be there, and nothing beyond what
		// was acknowledged after it (plus the write in flight) can be.
		a, s := acked.Load(), synced.Load()
		clone := fs.CrashClone()
		b := acked.Load()
		mu.Lock()
		points = append(points, crashPoint{fs: clone, acked: int(a), after: int(b), synced: int(s)})
		mu.Unlock()
	})

	model := map[string]string{} // the state after the acknowledged ops
	for i := range ops {
		op := &ops[i]
		if len(op.keys) > 1 && !op.del[0] && r.IntN(3) == 0 {
			// A conditional batch: IfValue on its first key, which holds
			// (the current value) or, one time in three, fails.
			op.cond = true
			cur, ok := model[op.keys[0]]
			switch {
			case r.IntN(3) == 0 || !ok:
				op.condVal = "no such value"
			default:
				op.condVal = cur
			}
		}
		var wopts []WriteOption
		if op.sync {
			wopts = append(wopts, WithSync())
		}
		var err error
		if len(op.keys) == 1 {
			if op.ends[0] != "" {
				err = db.DeleteRange([]byte(op.keys[0]), []byte(op.ends[0]), wopts...)
			} else if op.del[0] {
				err = db.Delete([]byte(op.keys[0]), wopts...)
			} else {
				err = db.Put([]byte(op.keys[0]), []byte(op.vals[0]), wopts...)
			}
		} else {
			b := db.NewBatch()
			for j, k := range op.keys {
				switch {
				case op.ends[j] != "":
					b.DeleteRange([]byte(k), []byte(op.ends[j]))
				case op.del[j]:
					b.Delete([]byte(k))
				case j == 0 && op.cond:
					b.Put([]byte(k), []byte(op.vals[j]), IfValue([]byte(op.condVal)))
				default:
					b.Put([]byte(k), []byte(op.vals[j]))
				}
			}
			err = db.Apply(b, wopts...)
		}
		if op.cond && model[op.keys[0]] != op.condVal {
			require.ErrorIs(t, err, ErrConditionFailed)
			*op = crashOp{} // wrote nothing: a no-op in the history
			err = nil
		}
		require.NoError(t, err)
		applyOp(model, *op)
		if op.sync {
			synced.Store(int64(i + 1))
		}
		acked.Store(int64(i + 1))
		if r.IntN(300) == 0 {
			require.NoError(t, db.Flush())
		}
		if r.IntN(600) == 0 {
			require.NoError(t, db.Compact(nil, nil))
		}
		if r.IntN(700) == 0 {
			require.NoError(t, db.Checkpoint(fmt.Sprintf("/cp%d", i)))
		}
	}
	fs.SetCrashHook(nil)
	prewritten, zeroed := db.Metrics().WALPrewritten, db.Metrics().WALZeroedAhead
	require.NoError(t, db.Close())

	for _, p := range points {
		floor := p.synced
		if mode == SyncAlways {
			floor = p.acked
		}
		verifyPrefix(t, p.fs, opts, ops, floor, min(p.after+1, len(ops)))
	}
	return len(points), int(fsOps.Load()), prewritten, zeroed
}

// verifyPrefix opens a crash image and requires its contents to equal the
// state after the first n ops for some n in [lo, hi].
func verifyPrefix(t *testing.T, fs *vfs.MemFS, opts *Options, ops []crashOp, lo, hi int) {
	t.Helper()
	o := *opts
	o.FS = fs
	db, err := Open("/db", &o)
	require.NoError(t, err, "reopen after power loss")
	got := formatKVs(dbScan(t, db))
	require.NoError(t, db.Verify())
	require.NoError(t, db.Close())

	model := map[string]string{}
	for i := 0; i < lo; i++ {
		applyOp(model, ops[i])
	}
	for n := lo; ; n++ {
		if formatKVs(modelScan(model)) == got {
			return
		}
		if n >= hi {
			break
		}
		applyOp(model, ops[n])
	}
	// Find any n at all, to say how much was lost.
	model = map[string]string{}
	for n := 0; n <= len(ops); n++ {
		if formatKVs(modelScan(model)) == got {
			t.Fatalf("recovered the state after %d ops; want between %d and %d", n, lo, hi)
		}
		if n < len(ops) {
			applyOp(model, ops[n])
		}
	}
	t.Fatalf("recovered state is no prefix of the writes (a hole or a wrong value); want n in [%d, %d]", lo, hi)
}

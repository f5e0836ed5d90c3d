package raftstore

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/raft"
	"github.com/stratadb/strata/lsm"
	"github.com/stratadb/strata/vfs"
)

// TestPowerLoss runs the store on the engine's in-memory filesystem, which
// keeps only synced bytes across a simulated power loss. Before chosen
// filesystem calls (every WAL fsync among them: the instant between a
// StoreLogs' write and its fsync) it takes the filesystem as a power loss
// would leave it, then reopens each of those images and checks: the log is
// one run with no hole, made of whole StoreLogs batches, holding every batch
// acknowledged before the image, and the stable store's term is at least
// the last one acknowledged.
func TestPowerLoss(t *testing.T) {
	calls := 250
	if testing.Short() {
		calls = 120
	}
	fs := vfs.NewMem()
	opts := func(fs vfs.FS) *Options {
		// A small memtable, so flushes and compactions run during the
		// workload and their files are in the images too.
		return &Options{Engine: &lsm.Options{FS: fs, MemtableSize: 64 << 10}}
	}
	s, err := New("db", opts(fs))
	if err != nil {
		t.Fatal(err)
	}

	type image struct {
		fs           *vfs.MemFS
		acked, first uint64 // last index acknowledged, first index kept, when taken
		term         uint64
	}
	var (
		mu       sync.Mutex
		images   []image
		acked    atomic.Uint64
		ackFirst atomic.Uint64
		ackTerm  atomic.Uint64
		ops      atomic.Int64
	)
	rng := rand.New(rand.NewPCG(3, 4))
	fs.SetCrashHook(func(op vfs.Op) {
		n := ops.Add(1)
		if op != vfs.OpSync && n%17 != 0 {
			return
		}
		// Read the watermarks before the clone: what was acknowledged
		// before this instant is durable in it.
		img := image{acked: acked.Load(), first: ackFirst.Load(), term: ackTerm.Load()}
		img.fs = fs.CrashClone()
		mu.Lock()
		images = append(images, img)
		mu.Unlock()
	})

	var last uint64
	for call := 0; call < calls; call++ {
		n := uint64(rng.IntN(20) + 1)
		end := last + n
		batch := make([]*raft.Log, 0, n)
		for i := last + 1; i <= end; i++ {
			batch = append(batch, crashEntry(i, end))
		}
		if err := s.StoreLogs(batch); err != nil {
			t.Fatal(err)
		}
		last = end
		acked.Store(last)
		if call%10 == 9 {
			term := uint64(call)
			if err := s.SetUint64([]byte("CurrentTerm"), term); err != nil {
				t.Fatal(err)
			}
			ackTerm.Store(term)
		}
		if call%25 == 24 {
			// A snapshot's head truncation, keeping the last 50.
			if err := s.DeleteRange(0, last-50); err != nil {
				t.Fatal(err)
			}
			ackFirst.Store(last - 49)
		}
	}
	fs.SetCrashHook(nil)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(images) < 50 {
		t.Fatalf("only %d crash images", len(images))
	}
	// Check a spread of images: all of them would take long.
	step := max(1, len(images)/60)
	for k := 0; k < len(images); k += step {
		img := images[k]
		what := fmt.Sprintf("image %d (acked %d, first %d, term %d)", k, img.acked, img.first, img.term)
		s, err := New("db", opts(img.fs))
		if err != nil {
			if img.acked == 0 {
				continue // lost before the store was first made durable
			}
			t.Fatalf("%s: reopen: %v", what, err)
		}
		first, _ := s.FirstIndex()
		lastIdx, _ := s.LastIndex()
		if lastIdx < img.acked {
			t.Fatalf("%s: log ends at %d, before an acknowledged entry", what, lastIdx)
		}
		// A truncation acknowledged before the image is in it; one not
		// yet acknowledged may be too, but it keeps 50 entries.
		if img.first > 0 && first < img.first {
			t.Fatalf("%s: first index %d, but the head up to %d was dropped", what, first, img.first-1)
		}
		var l raft.Log
		for i := first; lastIdx > 0 && i <= lastIdx; i++ {
			if err := s.GetLog(i, &l); err != nil {
				t.Fatalf("%s: hole at %d in [%d, %d]: %v", what, i, first, lastIdx, err)
			}
			var idx, end uint64
			if _, err := fmt.Sscanf(string(l.Data), "%d/%d", &idx, &end); err != nil || idx != i || end < i || end > lastIdx {
				t.Fatalf("%s: entry %d holds %q (log ends at %d)", what, i, l.Data, lastIdx)
			}
			if i == lastIdx && end != lastIdx {
				t.Fatalf("%s: the log ends inside a batch at %d (batch end %d)", what, lastIdx, end)
			}
		}
		if img.term > 0 {
			if term, err := s.GetUint64([]byte("CurrentTerm")); err != nil || term < img.term {
				t.Fatalf("%s: CurrentTerm = %d, %v", what, term, err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d images, %d checked", len(images), (len(images)+step-1)/step)
}

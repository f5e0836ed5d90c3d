package raftstore

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stratadb/strata/lsm"
)

// cursorOptions: no cache of recent entries, so every read past the
// first of a run goes to a cursor or the engine, and 256 KiB memtables,
// so runs cross flushed tables.
func cursorOptions() *Options {
	return &Options{NoSync: true, RecentEntries: -1, Engine: &lsm.Options{MemtableSize: 256 << 10}}
}

// TestCursorMatchesModel drives a store through appends, tail rewrites
// with new terms (after a DeleteRange, as Raft does, and straight over the
// old entries), head truncations, flushes, compactions and reopens, while
// reading runs of entries in order (two at a time, interleaved, as two
// followers catching up): every GetLog must return what the model holds,
// never an entry a rewrite replaced or a truncation removed, however long
// a cursor has been open.
func TestCursorMatchesModel(t *testing.T) {
	dir := t.TempDir()
	s, err := New(dir, cursorOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	model := map[uint64]*raft.Log{}
	var lo, hi uint64 // model bounds; hi == 0: empty
	term := uint64(1)
	rng := rand.New(rand.NewPCG(3, 4))
	store := func(ls []*raft.Log) {
		t.Helper()
		if err := s.StoreLogs(ls); err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			model[l.Index] = l
			if hi == 0 || l.Index < lo {
				lo = l.Index
			}
			hi = max(hi, l.Index)
		}
	}
	run := func(from uint64, ls []*raft.Log, t0 uint64) []*raft.Log {
		for i := from; i < from+uint64(len(ls)); i++ {
			ls[i-from] = termed(i, t0)
		}
		return ls
	}
	check := func(step int, i uint64) {
		t.Helper()
		var l raft.Log
		err := s.GetLog(i, &l)
		want, ok := model[i]
		switch {
		case !ok && !errors.Is(err, raft.ErrLogNotFound):
			t.Fatalf("step %d: GetLog(%d) = %+v, %v; want not found", step, i, l, err)
		case ok && (err != nil || !logsEqual(&l, want)):
			t.Fatalf("step %d: GetLog(%d) = %+v, %v; want %+v", step, i, l, err, *want)
		}
	}
	// runs are the next index of each of two readers' runs.
	var runs [2]uint64
	store(run(1, make([]*raft.Log, 500), term))
	for step := range 400 {
		switch op := rng.IntN(10); {
		case op < 4: // append
			store(run(hi+1, make([]*raft.Log, 1+rng.IntN(64)), term))
		case op == 4 && hi > lo+10: // a new leader rewrites the tail
			term++
			from := hi - uint64(rng.IntN(10))
			if rng.IntN(2) == 0 {
				if err := s.DeleteRange(from, hi); err != nil {
					t.Fatal(err)
				}
				for i := from; i <= hi; i++ {
					delete(model, i)
				}
				hi = from - 1
			}
			store(run(from, make([]*raft.Log, 1+rng.IntN(20)), term))
		case op == 5 && hi > lo+100: // snapshot: truncate the head
			to := lo + uint64(rng.IntN(50))
			if err := s.DeleteRange(lo, to); err != nil {
				t.Fatal(err)
			}
			for i := lo; i <= to; i++ {
				delete(model, i)
			}
			lo = to + 1
		case op == 6:
			if err := s.DB().Flush(); err != nil {
				t.Fatal(err)
			}
		case op == 7 && step%20 == 0:
			if err := s.DB().Compact(nil, nil); err != nil {
				t.Fatal(err)
			}
		case op == 8 && step%25 == 0:
			if err := s.Close(); err != nil {
				t.Fatalf("step %d: Close with cursors open: %v", step, err)
			}
			if s, err = New(dir, cursorOptions()); err != nil {
				t.Fatal(err)
			}
		}
		// Each reader goes on with its run, or starts a new one.
		for r := range runs {
			if runs[r] < lo || runs[r] > hi+1 || rng.IntN(8) == 0 {
				runs[r] = lo + uint64(rng.IntN(int(hi-lo+1)))
			}
		}
		for range 1 + rng.IntN(40) {
			for r := range runs {
				check(step, runs[r])
				runs[r]++
			}
		}
	}
	for i := lo - min(lo, 3); i <= hi+3; i++ {
		check(-1, i)
	}
	if n := s.Metrics().CursorReads; n < 1000 {
		t.Fatalf("%d reads by cursor: the runs did not exercise them", n)
	}
}

// openCursors counts the cursors holding an iterator.
func openCursors(s *Store) int {
	n := 0
	for i := range s.cursors {
		c := &s.cursors[i]
		c.mu.Lock()
		if c.it != nil {
			n++
		}
		c.mu.Unlock()
	}
	return n
}

// TestCursorsLetGo: the iterators GetLog keeps hold the tables they read,
// so they are closed by DeleteRange (whose space comes back only without
// them), once idle by StoreLogs, after cursorSteps entries, and by Close.
func TestCursorsLetGo(t *testing.T) {
	s, err := New(t.TempDir(), cursorOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	if err := s.StoreLogs(entries(1, 3000)); err != nil {
		t.Fatal(err)
	}
	readRun := func(from, to uint64) {
		t.Helper()
		var l raft.Log
		for i := from; i <= to; i++ {
			if err := s.GetLog(i, &l); err != nil || !logsEqual(&l, entry(i)) {
				t.Fatalf("GetLog(%d) = %+v, %v", i, l, err)
			}
		}
	}
	readRun(1, 10)
	readRun(2000, 2010)
	if n := openCursors(s); n != 2 {
		t.Fatalf("after two runs, %d cursors open, want 2", n)
	}
	if err := s.DeleteRange(1, 5); err != nil {
		t.Fatal(err)
	}
	if n := openCursors(s); n != 0 {
		t.Fatalf("after DeleteRange, %d cursors open, want 0", n)
	}

	readRun(100, 110)
	c := s.cursorAt(110)
	if c == nil {
		t.Fatal("no cursor at the end of a run")
	}
	used := time.Unix(0, c.used.Load())
	c.mu.Unlock()
	s.sweepCursors(false, used.Add(cursorIdle-time.Millisecond))
	if n := openCursors(s); n != 1 {
		t.Fatalf("a sweep closed a cursor used %v before: %d open, want 1", cursorIdle-time.Millisecond, n)
	}
	s.sweepCursors(false, used.Add(cursorIdle+time.Millisecond))
	if n := openCursors(s); n != 0 {
		t.Fatalf("a sweep left open a cursor idle for %v", cursorIdle+time.Millisecond)
	}
	// StoreLogs sweeps.
	readRun(200, 210)
	time.Sleep(cursorIdle + 20*time.Millisecond)
	if err := s.StoreLogs(entries(3001, 3001)); err != nil {
		t.Fatal(err)
	}
	if n := openCursors(s); n != 0 {
		t.Fatalf("a cursor idle for %v is still open after StoreLogs", cursorIdle)
	}

	// A long run reopens its cursor every cursorSteps entries: the
	// iterator it reads with changes.
	readRun(10, 12)
	c = s.cursorAt(12)
	if c == nil {
		t.Fatal("no cursor at the end of a run")
	}
	first := c.it
	c.mu.Unlock()
	readRun(13, 13+cursorSteps)
	if c = s.cursorAt(13 + cursorSteps); c == nil {
		t.Fatal("no cursor at the end of a long run")
	}
	if c.it == first {
		t.Errorf("a cursor read %d entries on one iterator, want a new one every %d", cursorSteps+2, cursorSteps)
	}
	c.mu.Unlock()

	if err := s.Close(); err != nil {
		t.Fatalf("Close with a cursor open: %v", err)
	}
	if n := openCursors(s); n != 0 {
		t.Fatalf("after Close, %d cursors open", n)
	}
}

// TestCursorConcurrentRuns: readers following runs of their own (sharing
// the cursors, some runs in the same neighbourhood) while a writer appends
// and truncates the head get every entry right, or not found once the
// head passed it. Run with -race.
func TestCursorConcurrentRuns(t *testing.T) {
	s, err := New(t.TempDir(), cursorOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.StoreLogs(entries(1, 2000)); err != nil {
		t.Fatal(err)
	}
	readWhileWriting(t, s, 6, func(r int) func() error {
		rng := rand.New(rand.NewPCG(uint64(r), 9))
		var l raft.Log
		return func() error {
			first, _ := s.FirstIndex()
			last, _ := s.LastIndex()
			i := first + uint64(rng.IntN(int(last-first+1)))
			for range 1 + rng.IntN(200) {
				err := s.GetLog(i, &l)
				if errors.Is(err, raft.ErrLogNotFound) {
					if f, _ := s.FirstIndex(); f > i {
						return nil // the head passed the run
					}
					if la, _ := s.LastIndex(); la < i {
						return nil // the run passed the end
					}
				}
				if err != nil || !logsEqual(&l, entry(i)) {
					return fmt.Errorf("reader %d: GetLog(%d) = %+v, %v", r, i, l, err)
				}
				i++
			}
			return nil
		}
	}, writeSchedule{from: 2001, to: 6000, batch: 10, truncateEvery: 300, keep: 1500})
	if s.Metrics().CursorReads == 0 {
		t.Error("no read by cursor: the runs did not exercise them")
	}
}

// TestCursorRunsSideBySide: runs read at once, as followers catching up
// from nearby indexes, each keep a cursor of their own (up to
// len(Store.cursors)) instead of taking one another's: every read after a
// run's first two is a cursor's.
func TestCursorRunsSideBySide(t *testing.T) {
	s, err := New(t.TempDir(), cursorOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.StoreLogs(entries(1, 5000)); err != nil {
		t.Fatal(err)
	}
	runs := []uint64{100, 110, 120, 3000} // three in one 64-index neighbourhood
	const steps = 500
	var l raft.Log
	for range steps {
		for r := range runs {
			if err := s.GetLog(runs[r], &l); err != nil || !logsEqual(&l, entry(runs[r])) {
				t.Fatalf("GetLog(%d) = %+v, %v", runs[r], l, err)
			}
			runs[r]++
		}
	}
	// A run's first two reads are lookups; its third opens its cursor.
	want := uint64(len(runs) * (steps - 2))
	if got := s.Metrics().CursorReads; got < want {
		t.Fatalf("%d of %d reads by cursor, want at least %d: the runs took one another's cursors", got, len(runs)*steps, want)
	}
}

// TestCloseWhileRunsRead: Close while readers go through runs of entries
// (opening and stepping cursors) closes every cursor first, so the engine
// closes with no iterator open; the readers then get lsm.ErrClosed.
func TestCloseWhileRunsRead(t *testing.T) {
	for round := range 30 {
		s, err := New(t.TempDir(), cursorOptions())
		if err != nil {
			t.Fatal(err)
		}
		if err := s.StoreLogs(entries(1, 3000)); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for r := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var l raft.Log
				for i := uint64(1 + r*700); ; i++ {
					if i%50 == 0 {
						i += 100 // a new run: a cursor to open
					}
					if err := s.GetLog(1+i%3000, &l); err != nil {
						if !errors.Is(err, lsm.ErrClosed) {
							t.Errorf("GetLog: %v", err)
						}
						return
					}
				}
			}()
		}
		time.Sleep(time.Duration(round%5) * time.Millisecond)
		if err := s.Close(); err != nil {
			t.Fatalf("round %d: Close while runs read: %v", round, err)
		}
		wg.Wait()
	}
}

package raftstore

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stratadb/strata/lsm"
)

// testOptions: a 1 MiB memtable, so tests open fast and reach flushes.
func testOptions(noSync bool) *Options {
	return &Options{Engine: &lsm.Options{MemtableSize: 1 << 20}, NoSync: noSync}
}

func openStore(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := New(dir, testOptions(false))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// entry is the test entry at index i: its fields follow from i, so a read
// can be checked without a copy of what was written.
func entry(i uint64) *raft.Log {
	l := &raft.Log{
		Index: i,
		Term:  i/7 + 1,
		Type:  raft.LogType(i % 6),
		Data:  []byte(fmt.Sprintf("data-%d", i)),
	}
	if i%3 == 0 {
		l.Extensions = []byte(fmt.Sprintf("ext-%d", i))
	}
	if i%2 == 0 {
		l.AppendedAt = time.Unix(1700000000+int64(i), int64(i%1e9))
	}
	return l
}

func entries(lo, hi uint64) []*raft.Log {
	var ls []*raft.Log
	for i := lo; i <= hi; i++ {
		ls = append(ls, entry(i))
	}
	return ls
}

// checkLog asserts the bounds and that exactly the indexes in present are
// readable, with their fields, over [0, probeHi].
func checkLog(t *testing.T, s *Store, first, last uint64, present func(uint64) bool, probeHi uint64) {
	t.Helper()
	if got, err := s.FirstIndex(); err != nil || got != first {
		t.Errorf("FirstIndex = %d, %v; want %d", got, err, first)
	}
	if got, err := s.LastIndex(); err != nil || got != last {
		t.Errorf("LastIndex = %d, %v; want %d", got, err, last)
	}
	for i := uint64(0); i <= probeHi; i++ {
		var l raft.Log
		err := s.GetLog(i, &l)
		switch {
		case present(i) && err != nil:
			t.Errorf("GetLog(%d) = %v, want the entry", i, err)
		case present(i) && !logsEqual(&l, entry(i)):
			t.Errorf("GetLog(%d) = %+v, want %+v", i, l, *entry(i))
		case !present(i) && err != raft.ErrLogNotFound:
			t.Errorf("GetLog(%d) = %v, want raft.ErrLogNotFound", i, err)
		}
	}
}

func between(lo, hi uint64) func(uint64) bool {
	return func(i uint64) bool { return i >= lo && i <= hi }
}

func TestEmptyStore(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	checkLog(t, s, 0, 0, func(uint64) bool { return false }, 3)
	var l raft.Log
	if err := s.GetLog(math.MaxUint64, &l); err != raft.ErrLogNotFound {
		t.Errorf("GetLog(max) = %v", err)
	}
	if err := s.DeleteRange(0, math.MaxUint64); err != nil {
		t.Errorf("DeleteRange on an empty log: %v", err)
	}
	if err := s.StoreLogs(nil); err != nil {
		t.Errorf("StoreLogs(nil): %v", err)
	}
	if v, err := s.Get([]byte("CurrentTerm")); err == nil || err.Error() != "not found" || v != nil {
		t.Errorf("Get of an absent key = %q, %v; want nil and \"not found\"", v, err)
	}
	if !errors.Is(ErrKeyNotFound, lsm.ErrNotFound) {
		t.Error("ErrKeyNotFound does not match lsm.ErrNotFound")
	}
	if v, err := s.GetUint64([]byte("CurrentTerm")); err == nil || err.Error() != "not found" || v != 0 {
		t.Errorf("GetUint64 of an absent key = %d, %v; want 0 and \"not found\"", v, err)
	}
	// Raft's own reading of a fresh store: no state, no error.
	has, err := raft.HasExistingState(s, s, raft.NewInmemSnapshotStore())
	if err != nil || has {
		t.Errorf("HasExistingState on a fresh store = %v, %v; want false, nil", has, err)
	}
	if m := s.Metrics(); m.Entries != 0 || m.Appends != 0 {
		t.Errorf("metrics of an empty store: %+v", m)
	}
}

func TestStoreLogsAndGaps(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	// Index 0 is accepted (raft's bench suite writes it).
	if err := s.StoreLog(entry(0)); err != nil {
		t.Fatal(err)
	}
	checkLog(t, s, 0, 0, between(0, 0), 2)
	if err := s.StoreLogs(entries(5, 9)); err != nil {
		t.Fatal(err)
	}
	if err := s.StoreLogs(entries(20, 21)); err != nil {
		t.Fatal(err)
	}
	present := func(i uint64) bool { return i == 0 || (i >= 5 && i <= 9) || i == 20 || i == 21 }
	checkLog(t, s, 0, 21, present, 25)
	// A batch out of order sets the bounds from its smallest and largest.
	if err := s.StoreLogs([]*raft.Log{entry(30), entry(25)}); err != nil {
		t.Fatal(err)
	}
	present2 := func(i uint64) bool { return present(i) || i == 25 || i == 30 }
	checkLog(t, s, 0, 30, present2, 32)
	if err := s.StoreLogs([]*raft.Log{entry(1), nil}); !errors.Is(err, lsm.ErrInvalidArgument) {
		t.Errorf("StoreLogs with a nil entry = %v, want ErrInvalidArgument", err)
	}
	checkLog(t, s, 0, 30, present2, 32) // nothing of the refused batch
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir)
	defer s.Close()
	checkLog(t, s, 0, 30, present2, 32)
}

func TestDeleteRange(t *testing.T) {
	const max = math.MaxUint64
	none := func(uint64) bool { return false }
	for _, tc := range []struct {
		name        string
		min, max    uint64
		first, last uint64
		present     func(uint64) bool
	}{
		{"head", 1, 4, 5, 10, between(5, 10)},
		{"head from 0", 0, 4, 5, 10, between(5, 10)},
		{"head of one", 1, 1, 2, 10, between(2, 10)},
		{"tail", 7, 10, 1, 6, between(1, 6)},
		{"tail to max", 7, max, 1, 6, between(1, 6)},
		{"tail of one", 10, 10, 1, 9, between(1, 9)},
		{"middle", 4, 6, 1, 10, func(i uint64) bool { return between(1, 3)(i) || between(7, 10)(i) }},
		{"all, exact", 1, 10, 0, 0, none},
		{"all, wider", 0, max, 0, 0, none},
		{"all but the last", 0, 9, 10, 10, between(10, 10)},
		{"below the log", 0, 0, 1, 10, between(1, 10)},
		{"above the log", 11, 20, 1, 10, between(1, 10)},
		{"min > max", 6, 5, 1, 10, between(1, 10)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openStore(t, dir)
			if err := s.StoreLogs(entries(1, 10)); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteRange(tc.min, tc.max); err != nil {
				t.Fatal(err)
			}
			checkLog(t, s, tc.first, tc.last, tc.present, 12)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = openStore(t, dir) // the bounds recovered on open agree
			defer s.Close()
			checkLog(t, s, tc.first, tc.last, tc.present, 12)
		})
	}
}

// TestTruncateBothEnds follows Raft's two uses: a follower drops a
// conflicting tail and writes the leader's entries over it; a snapshot drops
// the head.
func TestTruncateBothEnds(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	if err := s.StoreLogs(entries(1, 100)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRange(80, 100); err != nil {
		t.Fatal(err)
	}
	if err := s.StoreLogs(entries(80, 120)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRange(1, 110); err != nil {
		t.Fatal(err)
	}
	checkLog(t, s, 111, 120, between(111, 120), 125)
	if err := s.DeleteRange(0, 130); err != nil {
		t.Fatal(err)
	}
	checkLog(t, s, 0, 0, func(uint64) bool { return false }, 125)
	// An emptied log takes any next index, as after a snapshot install.
	if err := s.StoreLogs(entries(500, 501)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openStore(t, dir)
	defer s.Close()
	checkLog(t, s, 500, 501, between(500, 501), 502)
}

func TestStableStore(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	for _, kv := range []struct{ k, v string }{
		{"LastVoteCand", "node-1"}, {"", "empty key"}, {"empty value", ""}, {"\x00\xff", "\xff"},
	} {
		if err := s.Set([]byte(kv.k), []byte(kv.v)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetUint64([]byte("CurrentTerm"), 1<<40+3); err != nil {
		t.Fatal(err)
	}
	if err := s.Set([]byte("L"), []byte("a stable key that looks like a log prefix")); err != nil {
		t.Fatal(err)
	}
	check := func() {
		t.Helper()
		for _, kv := range []struct{ k, v string }{
			{"LastVoteCand", "node-1"}, {"", "empty key"}, {"empty value", ""}, {"\x00\xff", "\xff"},
		} {
			if v, err := s.Get([]byte(kv.k)); err != nil || string(v) != kv.v {
				t.Errorf("Get(%q) = %q, %v; want %q", kv.k, v, err, kv.v)
			}
		}
		if v, err := s.GetUint64([]byte("CurrentTerm")); err != nil || v != 1<<40+3 {
			t.Errorf("GetUint64 = %d, %v", v, err)
		}
		if _, err := s.GetUint64([]byte("LastVoteCand")); !errors.Is(err, lsm.ErrCorruption) {
			t.Errorf("GetUint64 of a 6-byte value = %v, want ErrCorruption", err)
		}
		// The stable store does not leak into the log.
		if last, _ := s.LastIndex(); last != 0 {
			t.Errorf("LastIndex = %d after stable writes only", last)
		}
	}
	check()
	has, err := raft.HasExistingState(s, s, raft.NewInmemSnapshotStore())
	if err != nil || !has {
		t.Errorf("HasExistingState with a current term = %v, %v", has, err)
	}
	s.Close()
	s = openStore(t, dir)
	defer s.Close()
	check()
}

func TestClosed(t *testing.T) {
	s := openStore(t, t.TempDir())
	if err := s.StoreLogs(entries(1, 3)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var l raft.Log
	for name, err := range map[string]error{
		"Close":     s.Close(),
		"GetLog":    s.GetLog(1, &l),
		"StoreLog":  s.StoreLog(entry(4)),
		"StoreLogs": s.StoreLogs(entries(4, 5)),
		"Delete":    s.DeleteRange(1, 2),
		"Set":       s.Set([]byte("k"), []byte("v")),
		"SetUint64": s.SetUint64([]byte("k"), 1),
		"FirstIndex": func() error {
			_, err := s.FirstIndex()
			return err
		}(),
		"LastIndex": func() error {
			_, err := s.LastIndex()
			return err
		}(),
		"Get": func() error {
			_, err := s.Get([]byte("k"))
			return err
		}(),
		"GetUint64": func() error {
			_, err := s.GetUint64([]byte("k"))
			return err
		}(),
	} {
		if !errors.Is(err, lsm.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
}

func TestRefusesForeignDirectory(t *testing.T) {
	dir := t.TempDir()
	db, err := lsm.Open(dir, &lsm.Options{MemtableSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Put([]byte("user"), []byte("data")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if s, err := New(dir, testOptions(false)); !errors.Is(err, lsm.ErrInvalidArgument) {
		t.Errorf("New on a foreign DB = %v, want ErrInvalidArgument", err)
		if s != nil {
			s.Close()
		}
	}

	dir = t.TempDir()
	s := openStore(t, dir)
	s.Close()
	db, err = lsm.Open(dir, &lsm.Options{MemtableSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Put(metaFormatKey, []byte("strata-raftstore\x03")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := New(dir, testOptions(false)); !errors.Is(err, lsm.ErrInvalidArgument) {
		t.Errorf("New on a newer format = %v, want ErrInvalidArgument", err)
	}
}

// TestCorruptEntry: a log value the decoder refuses is reported, naming the
// index, not returned as an entry.
func TestCorruptEntry(t *testing.T) {
	// The damaged value is written under the store, past its cache of
	// recent entries: read from the engine.
	o := testOptions(false)
	o.RecentEntries = -1
	s, err := New(t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.StoreLogs(entries(1, 3)); err != nil {
		t.Fatal(err)
	}
	var key [logKeyLen]byte
	putLogKey(key[:], 2)
	if err := s.DB().Put(key[:], []byte{9, 9, 9}); err != nil {
		t.Fatal(err)
	}
	var l raft.Log
	if err := s.GetLog(2, &l); !errors.Is(err, lsm.ErrCorruption) {
		t.Errorf("GetLog of a corrupt entry = %v, want ErrCorruption", err)
	}
	if err := s.GetLog(3, &l); err != nil {
		t.Errorf("GetLog of its neighbour: %v", err)
	}
	s.Close()
}

// TestMetrics: one fsync per write call, whatever the batch size.
func TestMetrics(t *testing.T) {
	s := openStore(t, t.TempDir())
	defer s.Close()
	base := s.Metrics().Fsyncs // the format key of a new store
	if err := s.StoreLogs(entries(1, 64)); err != nil {
		t.Fatal(err)
	}
	if err := s.StoreLog(entry(65)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRange(1, 10); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUint64([]byte("CurrentTerm"), 2); err != nil {
		t.Fatal(err)
	}
	m := s.Metrics()
	if m.Fsyncs-base != 4 {
		t.Errorf("fsyncs = %d for 4 writes", m.Fsyncs-base)
	}
	if m.Appends != 2 || m.EntriesAppended != 65 || m.Truncations != 1 || m.StableWrites != 1 {
		t.Errorf("counters: %+v", m)
	}
	if m.FirstIndex != 11 || m.LastIndex != 65 || m.Entries != 55 {
		t.Errorf("bounds: %+v", m)
	}
	var want uint64
	for _, l := range entries(1, 65) {
		want += uint64(logKeyLen + len(appendLog(nil, l)))
	}
	if m.BytesAppended != want {
		t.Errorf("BytesAppended = %d, want %d", m.BytesAppended, want)
	}
	if m.FsyncTime <= 0 || m.FsyncMax <= 0 || m.FsyncMax > m.FsyncTime {
		t.Errorf("fsync times: %+v", m)
	}
	if m.String() == "" {
		t.Error("empty report")
	}
}

// TestModel drives the store as Raft does (appends, tail conflicts, head
// truncations, reopens) against a plain model of the log.
func TestModel(t *testing.T) {
	steps := 300
	if testing.Short() {
		steps = 100
	}
	rng := rand.New(rand.NewPCG(1, 2))
	dir := t.TempDir()
	s, err := New(dir, testOptions(true))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	var lo, hi uint64 // the model: entries lo..hi, empty when hi < lo
	lo, hi = 1, 0
	for step := 0; step < steps; step++ {
		switch r := rng.IntN(10); {
		case r < 6: // append
			n := uint64(rng.IntN(20) + 1)
			start := hi + 1
			if hi < lo {
				start = lo
			}
			if err := s.StoreLogs(entries(start, start+n-1)); err != nil {
				t.Fatal(err)
			}
			hi = start + n - 1
		case r < 7 && hi >= lo: // tail conflict
			from := lo + uint64(rng.Int64N(int64(hi-lo+1)))
			if err := s.DeleteRange(from, hi); err != nil {
				t.Fatal(err)
			}
			hi = from - 1
		case r < 9 && hi >= lo: // head truncation after a snapshot
			to := lo + uint64(rng.Int64N(int64(hi-lo+1)))
			if err := s.DeleteRange(0, to); err != nil {
				t.Fatal(err)
			}
			lo = to + 1
		default:
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if s, err = New(dir, testOptions(true)); err != nil {
				t.Fatal(err)
			}
		}
		first, last := lo, hi
		if hi < lo {
			first, last = 0, 0
		}
		if got, _ := s.FirstIndex(); got != first {
			t.Fatalf("step %d: FirstIndex = %d, want %d", step, got, first)
		}
		if got, _ := s.LastIndex(); got != last {
			t.Fatalf("step %d: LastIndex = %d, want %d", step, got, last)
		}
		if step%25 == 0 {
			checkLog(t, s, first, last, between(lo, hi), hi+2)
		}
	}
}

// TestConcurrentReaders runs readers beside a writer that appends and
// truncates the head; under -race it checks the lock-free bounds.
func TestConcurrentReaders(t *testing.T) {
	s, err := New(t.TempDir(), testOptions(true))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.StoreLogs(entries(1, 10)); err != nil {
		t.Fatal(err)
	}
	readWhileWriting(t, s, 3, func(int) func() error {
		var l raft.Log
		return func() error {
			last, err := s.LastIndex()
			if err != nil {
				return err
			}
			// The entry at last is there, unless the head has moved past
			// it since (the reader may be slow).
			err = s.GetLog(last, &l)
			if err == raft.ErrLogNotFound {
				if first, _ := s.FirstIndex(); first > last {
					return nil
				}
			}
			if err != nil || !logsEqual(&l, entry(last)) {
				return fmt.Errorf("GetLog(last=%d) = %+v, %v", last, l, err)
			}
			return nil
		}
	}, writeSchedule{from: 11, to: 400, batch: 5, truncateEvery: 50, keep: 5})
}

// writeSchedule is what readWhileWriting's writer does: append entry(i)
// for i in [from, to) in batches of batch, and after each batch that
// starts at a multiple of truncateEvery plus one, truncate the head to
// keep entries behind that batch's first.
type writeSchedule struct{ from, to, batch, truncateEvery, keep uint64 }

// readWhileWriting runs readers goroutines, each calling the function
// newReader(r) returns over and over while the writer follows w; a
// reader's error is reported and ends that reader.
func readWhileWriting(t *testing.T, s *Store, readers int, newReader func(r int) func() error, w writeSchedule) {
	t.Helper()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, readers)
	for r := range readers {
		read := newReader(r)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := read(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := w.from; i < w.to; i += w.batch {
		if err := s.StoreLogs(entries(i, i+w.batch-1)); err != nil {
			t.Fatal(err)
		}
		if i%w.truncateEvery == 1 {
			if err := s.DeleteRange(0, i-w.keep); err != nil {
				t.Fatal(err)
			}
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

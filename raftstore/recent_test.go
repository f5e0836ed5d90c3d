package raftstore

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/hashicorp/raft"
	"github.com/stratadb/strata/lsm"
)

// termed is entry(i) written in term t: the same index with other contents,
// as a new leader rewrites a follower's conflicting tail.
func termed(i, t uint64) *raft.Log {
	l := entry(i)
	l.Term = t
	l.Data = []byte(fmt.Sprintf("data-%d-term-%d", i, t))
	return l
}

// TestRecentCacheMatchesEngine drives a store with a small recent-entry
// cache (8 slots, so indexes share slots) and one without through appends,
// tail rewrites with new terms, head truncations and reopens, and reads
// every index of both after each step: the cached store must answer as the
// engine does, never with an entry a truncation removed or a rewrite
// replaced. Rewrites sometimes leave a hole (Raft makes none, the store
// allows them), where a stale slot would show.
func TestRecentCacheMatchesEngine(t *testing.T) {
	open := func(dir string, recent int) *Store {
		o := testOptions(true)
		o.RecentEntries = recent
		s, err := New(dir, o)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	dirA, dirB := t.TempDir(), t.TempDir()
	cached, plain := open(dirA, 8), open(dirB, -1)
	defer func() { cached.Close(); plain.Close() }()
	both := func(f func(s *Store) error) {
		t.Helper()
		for _, s := range []*Store{cached, plain} {
			if err := f(s); err != nil {
				t.Fatal(err)
			}
		}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	var hi, term, hits uint64 = 0, 1, 0
	steps := 300
	if testing.Short() {
		steps = 100
	}
	for step := range steps {
		first, _ := cached.FirstIndex()
		switch r := rng.IntN(10); {
		case r < 5 || hi == 0:
			n := uint64(rng.IntN(12) + 1)
			var ls []*raft.Log
			for i := hi + 1; i <= hi+n; i++ {
				ls = append(ls, termed(i, term))
			}
			both(func(s *Store) error { return s.StoreLogs(ls) })
			hi += n
		case r < 8: // a new leader's conflicting tail
			from := max(first, hi-uint64(rng.IntN(10)))
			term++
			both(func(s *Store) error { return s.DeleteRange(from, hi) })
			// Raft rewrites from the first deleted index; the store also
			// takes a rewrite that leaves a hole, whose indexes must then
			// read as absent.
			var ls []*raft.Log
			for i := from + uint64(rng.IntN(3)); i <= hi; i++ {
				ls = append(ls, termed(i, term))
			}
			both(func(s *Store) error { return s.StoreLogs(ls) })
		case r < 9: // head truncation
			to := first + uint64(rng.IntN(int(hi-first+1)))
			if to == hi {
				to--
			}
			both(func(s *Store) error { return s.DeleteRange(0, to) })
		default:
			hits += cached.Metrics().RecentHits
			cached.Close()
			cached = open(dirA, 8)
		}
		for i := uint64(0); i <= hi+1; i++ {
			var a, b raft.Log
			errA, errB := cached.GetLog(i, &a), plain.GetLog(i, &b)
			if (errA == nil) != (errB == nil) || (errA == nil && !logsEqual(&a, &b)) {
				t.Fatalf("step %d: GetLog(%d): cached %+v, %v; engine %+v, %v", step, i, a, errA, b, errB)
			}
		}
	}
	if hits+cached.Metrics().RecentHits == 0 {
		t.Error("no read was answered from the cache")
	}
	if plain.Metrics().RecentHits != 0 {
		t.Error("a store without the cache counted cache hits")
	}
}

// TestRecentCache: what the cache answers, and what it leaves to the
// engine.
func TestRecentCache(t *testing.T) {
	big := entry(3)
	big.Data = bytes.Repeat([]byte{7}, recentEntryMax+1)
	for _, tc := range []struct {
		name     string
		recent   int
		write    []*raft.Log
		read     []uint64
		wantHits uint64
	}{
		{"default size keeps the last entries", 0, entries(1, 10), []uint64{1, 5, 10}, 3},
		{"older entries share a slot with newer", 4, entries(1, 10), []uint64{1, 2, 7, 10}, 2},
		{"an entry over 4 KiB is read from the engine", 0, []*raft.Log{entry(1), entry(2), big}, []uint64{1, 3}, 1},
		{"off", -1, entries(1, 10), []uint64{1, 10}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := testOptions(true)
			o.RecentEntries = tc.recent
			s, err := New(t.TempDir(), o)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.StoreLogs(tc.write); err != nil {
				t.Fatal(err)
			}
			for _, i := range tc.read {
				want := tc.write[i-1]
				var l raft.Log
				if err := s.GetLog(i, &l); err != nil || !logsEqual(&l, want) {
					t.Fatalf("GetLog(%d) = %+v, %v", i, l, err)
				}
				// The entry is the caller's: changing it changes no later read.
				if len(l.Data) > 0 {
					l.Data[0] ^= 0xff
				}
				var again raft.Log
				if err := s.GetLog(i, &again); err != nil || !logsEqual(&again, want) {
					t.Fatalf("GetLog(%d) after the caller changed its copy = %+v, %v", i, again, err)
				}
			}
			if got := s.Metrics().RecentHits; got != 2*tc.wantHits {
				t.Errorf("RecentHits = %d, want %d", got, 2*tc.wantHits)
			}
		})
	}
}

// TestRecentCacheFailedApply: entries a failed StoreLogs put in the cache
// are cleared again, so GetLog never returns an entry the engine refused.
func TestRecentCacheFailedApply(t *testing.T) {
	s, err := New(t.TempDir(), testOptions(true))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.StoreLogs(entries(1, 5)); err != nil {
		t.Fatal(err)
	}
	// The engine refuses every write once closed under the store.
	if err := s.DB().Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.StoreLogs([]*raft.Log{termed(3, 99)}); !errors.Is(err, lsm.ErrClosed) {
		t.Fatalf("StoreLogs on a closed engine = %v, want ErrClosed", err)
	}
	var l raft.Log
	if err := s.GetLog(3, &l); err == nil {
		t.Errorf("GetLog(3) = %+v from the cache, after the engine refused it", l)
	}
	if err := s.GetLog(4, &l); err != nil || !logsEqual(&l, entry(4)) {
		t.Errorf("GetLog(4), cached and untouched = %+v, %v", l, err)
	}
}

package raftstore

import (
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stratadb/strata/lsm"
)

// appendPayload writes entries lo..hi with size-byte payloads in batches of
// 64.
func appendPayload(t *testing.T, s *Store, lo, hi uint64, size int) {
	t.Helper()
	var logs []*raft.Log
	for i := lo; i <= hi; i++ {
		logs = append(logs, &raft.Log{Index: i, Term: 1, Data: benchPayload(i, size)})
		if len(logs) == 64 || i == hi {
			if err := s.StoreLogs(logs); err != nil {
				t.Fatal(err)
			}
			logs = logs[:0]
		}
	}
}

// waitFor polls cond until it holds or a generous deadline passes (a
// deadline against a hang, not a performance bound).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// TestTruncationFlushGivesSpaceBack: a head truncation of most of the log,
// with no write after it, still gets its space back: the store flushes the
// memtable holding the range tombstone, and the engine's compaction drops
// the entries it covers. Without the flush the tombstone would wait in the
// memtable for writes that never come.
func TestTruncationFlushGivesSpaceBack(t *testing.T) {
	s, err := New(t.TempDir(), &Options{Engine: &lsm.Options{MemtableSize: 1 << 20}, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n, keep = 6000, 100
	appendPayload(t, s, 1, n-keep, 1<<10)
	// The entries to drop are old, so they sit below L0, as in a log
	// whose head Raft drops after a snapshot; the memtable holds the
	// newest, fewer than a memtable's worth: the truncation must be what
	// brings the flush.
	if err := s.DB().Compact(nil, nil); err != nil {
		t.Fatal(err)
	}
	appendPayload(t, s, n-keep+1, n, 1<<10)
	flushes := s.DB().Metrics().Flushes
	if err := s.DeleteRange(1, n-keep); err != nil {
		t.Fatal(err)
	}
	checkLog(t, s, n-keep+1, n, between(n-keep+1, n), 0)
	waitFor(t, "the truncation flush", func() bool { return s.Metrics().TruncationFlushes == 1 })
	// The engine counts a flush just after it wakes DB.Flush's caller.
	waitFor(t, "the engine to count the flush", func() bool { return s.DB().Metrics().Flushes > flushes })
	// keep entries of 1 KiB are about 100 KiB; the tables held 6 MiB.
	waitFor(t, "compaction to drop the deleted entries", func() bool { return s.DB().Metrics().DiskBytes < 1<<20 })
	if m := s.Metrics(); m.TruncationFlushErrors != 0 {
		t.Errorf("TruncationFlushErrors = %d", m.TruncationFlushErrors)
	}
	var l raft.Log
	for i := uint64(n - keep + 1); i <= n; i++ {
		if err := s.GetLog(i, &l); err != nil || l.Index != i {
			t.Fatalf("GetLog(%d) = %v, index %d", i, err, l.Index)
		}
	}
}

// TestTruncationFlushThreshold: deletions add up, by the mean entry size,
// until they reach TruncationFlushBytes; a negative value never asks for a
// flush.
func TestTruncationFlushThreshold(t *testing.T) {
	for _, tc := range []struct {
		name      string
		threshold int64
		want      []bool // after each of four deletions of 100 entries, whether a flush was asked
	}{
		// 100 entries of 1 KiB (plus key and header) pass 100 KiB but not 110 KiB.
		{"each deletion", 100 << 10, []bool{true, true, true, true}},
		{"every other", 150 << 10, []bool{false, true, false, true}},
		{"never", -1, []bool{false, false, false, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(t.TempDir(), &Options{NoSync: true, TruncationFlushBytes: tc.threshold})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			// Stop the flusher so the requests stay in the channel.
			close(s.stopc)
			<-s.flusherDone
			s.stopc, s.flusherDone = make(chan struct{}), make(chan struct{})
			go func() { <-s.stopc; close(s.flusherDone) }()

			appendPayload(t, s, 1, 1000, 1<<10)
			for i, want := range tc.want {
				lo := uint64(i*100 + 1)
				if err := s.DeleteRange(lo, lo+99); err != nil {
					t.Fatal(err)
				}
				asked := false
				select {
				case <-s.flushc:
					asked = true
				default:
				}
				if asked != want {
					t.Errorf("deletion %d: flush asked %v, want %v", i+1, asked, want)
				}
			}
		})
	}
}

package raftstore

import (
	"bytes"
	"errors"
	"testing"

	"github.com/hashicorp/raft"
	"github.com/stratadb/strata/lsm"
)

// TestNewStoreKeysBelowLog: a new store writes its format key and stable
// keys below the log's key range, so no table holding them spans log keys
// appended later (which would keep every later log table from moving down
// the tree without a rewrite).
func TestNewStoreKeysBelowLog(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	if err := s.StoreLogs(entries(1, 5)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUint64([]byte("CurrentTerm"), 4); err != nil {
		t.Fatal(err)
	}
	if err := s.Set([]byte("LastVoteCand"), []byte("node-2")); err != nil {
		t.Fatal(err)
	}
	it, err := s.DB().NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	var other int
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if k[0] == prefixLog {
			continue
		}
		other++
		if bytes.Compare(k, logLower) >= 0 {
			t.Errorf("key %q sorts at or above the log", k)
		}
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	if other != 3 {
		t.Errorf("%d keys outside the log, want 3 (format, 2 stable keys)", other)
	}
	s.Close()
}

// TestFormatV1 opens a store written in format 1 ("Mformat", stable keys
// under 'S', above the log): it reads and writes its stable keys where they
// are, and refuses a format 1 key of another value.
func TestFormatV1(t *testing.T) {
	for _, tc := range []struct {
		name    string
		magic   string
		wantErr bool
	}{
		{"format 1", formatMagicV1, false},
		{"format 1 key with another version", "strata-raftstore\x07", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			db, err := lsm.Open(dir, &lsm.Options{MemtableSize: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			put := func(k, v []byte) {
				if err := db.Put(k, v); err != nil {
					t.Fatal(err)
				}
			}
			put(metaFormatKeyV1, []byte(tc.magic))
			put([]byte("SCurrentTerm"), []byte{0, 0, 0, 0, 0, 0, 0, 9})
			for _, l := range entries(1, 3) {
				var k [logKeyLen]byte
				putLogKey(k[:], l.Index)
				put(k[:], appendLog(nil, l))
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			s, err := New(dir, testOptions(false))
			if tc.wantErr {
				if !errors.Is(err, lsm.ErrInvalidArgument) {
					t.Errorf("New = %v, want ErrInvalidArgument", err)
				}
				if s != nil {
					s.Close()
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if v, err := s.GetUint64([]byte("CurrentTerm")); err != nil || v != 9 {
				t.Errorf("GetUint64(CurrentTerm) = %d, %v; want 9", v, err)
			}
			checkLog(t, s, 1, 3, between(1, 3), 4)
			if err := s.SetUint64([]byte("LastVoteTerm"), 8); err != nil {
				t.Fatal(err)
			}
			if _, err := s.DB().Get([]byte("SLastVoteTerm")); err != nil {
				t.Errorf("a format 1 store's new stable key is not under 'S': %v", err)
			}
			if _, err := s.DB().Get(metaFormatKey); !errors.Is(err, lsm.ErrNotFound) {
				t.Errorf("a format 1 store got a format 2 key: %v", err)
			}
			var l raft.Log
			if err := s.GetLog(2, &l); err != nil || !logsEqual(&l, entry(2)) {
				t.Errorf("GetLog(2) = %+v, %v", l, err)
			}
		})
	}
}

// TestFlushedTablesMove: the log's tables go down the tree by moves, not
// rewrites: its keys only grow, the store's other keys sort below them, and
// the store has the engine compact each flushed table at once
// (L0CompactionTrigger 1), before a second one could be merged with it.
func TestFlushedTablesMove(t *testing.T) {
	s, err := New(t.TempDir(), testOptions(true)) // 1 MiB memtables
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SetUint64([]byte("CurrentTerm"), 1); err != nil {
		t.Fatal(err)
	}
	for i := uint64(1); i <= 600; i += 10 {
		var logs []*raft.Log
		for j := i; j < i+10; j++ {
			logs = append(logs, &raft.Log{Index: j, Term: 1, Data: benchPayload(j, 10<<10)})
		}
		if err := s.StoreLogs(logs); err != nil {
			t.Fatal(err)
		}
		// One flush at a time, each compacted before the next: what a
		// store whose compactions keep up sees.
		if i%100 == 91 {
			if err := s.DB().Flush(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "L0 to empty", func() bool { return s.DB().Metrics().Levels[0].Tables == 0 })
		}
	}
	m := s.DB().Metrics()
	if m.Flushes < 3 || m.TrivialMoves < m.Flushes-1 {
		t.Errorf("%d flushes, %d moves: want every flushed table but the first moved", m.Flushes, m.TrivialMoves)
	}
	if m.CompactionBytesWritten > 0 {
		t.Errorf("compactions rewrote %d bytes of an append-only log", m.CompactionBytesWritten)
	}
}

//go:build unix

package raftstore

import (
	"path/filepath"
	"syscall"
	"testing"
)

// TestWALPreallocatedInSteps: under the default options the engine
// appends to its WAL rather than mapping a segment preallocated to a
// memtable's worth of zeros (1.125 x 32 MiB), and reserves the segment a
// step (1 MiB) ahead of its log, so that an fsync seldom makes a new file
// size durable: after 10 small entries the segment's size is past its log
// and it holds about a MiB on disk.
func TestWALPreallocatedInSteps(t *testing.T) {
	dir := t.TempDir()
	s, err := New(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.StoreLogs(entries(1, 10)); err != nil {
		t.Fatal(err)
	}
	logs, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil || len(logs) == 0 {
		t.Fatalf("no WAL segment in %s: %v", dir, err)
	}
	for _, name := range logs {
		var st syscall.Stat_t
		if err := syscall.Stat(name, &st); err != nil {
			t.Fatal(err)
		}
		if st.Size < 1<<20 {
			t.Errorf("%s: size %d after 10 small entries, want the log and a 1 MiB reserve", filepath.Base(name), st.Size)
		}
		if used := st.Blocks * 512; used > 2<<20 {
			t.Errorf("%s: %d bytes on disk (size %d) after 10 small entries, want a step's reserve, not a memtable's", filepath.Base(name), used, st.Size)
		}
	}
}

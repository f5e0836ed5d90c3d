//go:build unix

package raftstore

import (
	"path/filepath"
	"syscall"
	"testing"
)

// TestWALNotPreallocated: under the default options the engine appends to
// its WAL rather than mapping a preallocated segment, so the segment holds
// on disk what was written, not a memtable's worth of zeros.
func TestWALNotPreallocated(t *testing.T) {
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
		// A mapped segment would be preallocated to 1.125 x 32 MiB.
		if used := st.Blocks * 512; used > 1<<20 {
			t.Errorf("%s: %d bytes on disk (size %d) after 10 small entries, want under 1 MiB", filepath.Base(name), used, st.Size)
		}
	}
}

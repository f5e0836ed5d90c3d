package memtable

import (
	"testing"

	"github.com/stratadb/strata/internal/offheap"
	"github.com/stratadb/strata/internal/smaps"
	"github.com/stratadb/strata/keys"
)

// residentPages counts the pages of b the process has mapped.
func residentPages(t *testing.T, b []byte) int {
	t.Helper()
	n, err := smaps.ResidentPages(b)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestEmptyMemtableHoldsNoMemory: a new memtable maps none of its arena
// until the first write, so an idle DB (a memtable that takes no writes, as
// while a DB only serves reads or compacts) costs no memtable memory; the
// first write maps what it touches.
func TestEmptyMemtableHoldsNoMemory(t *testing.T) {
	if !offheap.OffHeap {
		t.Skip("the arena is on the Go heap on this platform")
	}
	for _, capacity := range []int64{1 << 20, 4 << 20, 64 << 20} {
		m := New(capacity)
		if got := residentPages(t, m.list.arena.buf); got != 0 {
			t.Errorf("New(%d): %d pages of the arena resident before any write, want 0", capacity, got)
		}
		if err := m.Add([]byte("k"), 1, keys.KindSet, []byte("v")); err != nil {
			t.Fatal(err)
		}
		if got := residentPages(t, m.list.arena.buf); got == 0 {
			t.Errorf("New(%d): no page resident after a write", capacity)
		}
		if _, v, ok := m.Get([]byte("k"), keys.MaxSeq); !ok || string(v) != "v" {
			t.Errorf("New(%d): Get(k) = %q, %v", capacity, v, ok)
		}
		m.Release()
	}
}

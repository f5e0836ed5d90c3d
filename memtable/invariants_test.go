package memtable

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/invariants"
	"github.com/stratadb/strata/keys"
)

// The single-writer rules of the memtable are checked under the invariants
// build (go test -race): these tests break each rule on purpose and expect
// the check to panic. Without that build the checks do not exist.

func TestInvariantAddIsNeverConcurrentWithAddConcurrent(t *testing.T) {
	if !invariants.Enabled {
		t.Skip("the check exists only under the invariants or race build")
	}
	var a adders
	a.enter(true)
	a.enter(true)
	require.Panics(t, func() { a.enter(false) }, "Add while AddConcurrent runs")
	a = adders{}
	a.enter(false)
	require.Panics(t, func() { a.enter(true) }, "AddConcurrent while Add runs")
	a = adders{}
	a.enter(false)
	require.Panics(t, func() { a.enter(false) }, "two Adds at once")
	a = adders{}
	a.enter(true)
	a.exit(true)
	a.enter(false)
	a.exit(false)
	a.enter(true)
	require.NotPanics(t, func() { a.enter(true) }, "AddConcurrent calls may overlap")
}

func TestInvariantSealedFrontIsNeverModified(t *testing.T) {
	if !invariants.Enabled {
		t.Skip("the check exists only under the invariants or race build")
	}
	s := newFront(minCapacity)
	require.NoError(t, s.insert([]byte("a"), keys.Trailer(1, keys.KindSet), []byte("v"), 1, false))
	s.freeze()
	s.checkFrozen()
	require.Panics(t, func() { _ = s.insert([]byte("b"), keys.Trailer(2, keys.KindSet), nil, 1, false) })
	require.Panics(t, func() { _ = s.insertConcurrent([]byte("c"), keys.Trailer(3, keys.KindSet), nil, 1) })
	// Bytes allocated behind the inserts' back are caught when the merger
	// has copied the front.
	s.arena.alloc(align, 0)
	require.Panics(t, s.checkFrozen)

	// A staged memtable freezes each front it seals.
	m := NewStaged(64<<10, minCapacity)
	require.NoError(t, m.Add([]byte("k"), 1, keys.KindSet, []byte("v")))
	f := m.stage.front.Load()
	require.NoError(t, m.Seal())
	require.NotZero(t, f.frozenTop.Load(), "Seal froze the front")
	require.NoError(t, m.Finish())
	m.Release()
}

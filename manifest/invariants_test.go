package manifest

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/invariants"
)

// The reference counts of versions and the Compacting flag of tables are
// checked under the invariants build (go test -race): these tests break each
// rule on purpose and expect the check to panic.

func TestInvariantCompactingTransitions(t *testing.T) {
	if !invariants.Enabled {
		t.Skip("the check exists only under the invariants or race build")
	}
	a, b := meta(1, 0, 9, 1, 1), meta(2, 10, 19, 2, 2)
	MarkCompacting([]*FileMeta{a})
	require.Panics(t, func() { MarkCompacting([]*FileMeta{b, a}) }, "a table taken by two compactions")
	require.Panics(t, func() { ClearCompacting([]*FileMeta{meta(3, 20, 29, 3, 3)}) }, "clearing an idle table")
	ClearCompacting([]*FileMeta{a, b})
	require.False(t, a.Compacting)
	require.NotPanics(t, func() { MarkCompacting([]*FileMeta{a, b}) })
}

func TestInvariantVersionRefs(t *testing.T) {
	if !invariants.Enabled {
		t.Skip("the check exists only under the invariants or race build")
	}
	require.Panics(t, func() { new(Version).Unref() }, "Unref without Ref")

	fs, dir := newMemDir(t)
	vs, err := Create(Options{FS: fs, Dir: dir})
	require.NoError(t, err)
	defer vs.Close()
	v := vs.Current() // the set's reference and ours
	require.NoError(t, vs.LogAndApply(&VersionEdit{Added: []NewFile{{Level: 1, Meta: meta(vs.NewFileNum(), 0, 9, 1, 1)}}}))
	v.Unref() // v is no longer current: this was its last reference
	require.Panics(t, v.Ref, "Ref of a version whose last reference is gone")
}

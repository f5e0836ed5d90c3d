package lsm

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/invariants"
)

// TestInvariantOnlyTheLeaderWrites: under the invariants build, what only
// the commit leader may do (append to the WAL, insert into or swap the
// mutable memtable) panics from any other goroutine, as does a second
// leader at once.
func TestInvariantOnlyTheLeaderWrites(t *testing.T) {
	if !invariants.Enabled {
		t.Skip("the check exists only under the invariants or race build")
	}
	var tok leaderToken
	require.Panics(t, func() { tok.check("WAL append") }, "no leader")
	require.Panics(t, func() { tok.checkDelegated("memtable insert by the apply helper") }, "no leader to delegate")

	tok.acquire()
	require.NotPanics(t, func() { tok.check("WAL append") })
	other := make(chan any)
	go func() {
		defer func() { other <- recover() }()
		tok.check("WAL append")
	}()
	require.NotNil(t, <-other, "another goroutine is not the leader")
	go func() {
		defer func() { other <- recover() }()
		tok.checkDelegated("memtable insert by the apply helper")
	}()
	require.Nil(t, <-other, "the apply helper inserts while a leader runs")
	go func() {
		defer func() { other <- recover() }()
		tok.acquire()
	}()
	require.NotNil(t, <-other, "two leaders at once")
	tok.release()
	require.Panics(t, func() { tok.check("memtable rotation") }, "the turn ended")
}

package invariants

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGoroutineIDTellsGoroutinesApart(t *testing.T) {
	if !Enabled {
		require.Zero(t, GoroutineID(), "without the invariants build no id is read")
		return
	}
	mine := GoroutineID()
	require.NotZero(t, mine)
	require.Equal(t, mine, GoroutineID(), "the same goroutine reads the same id")
	other := make(chan uint64)
	go func() { other <- GoroutineID() }()
	theirs := <-other
	require.NotZero(t, theirs)
	require.NotEqual(t, mine, theirs)
}

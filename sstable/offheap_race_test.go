//go:build race && linux

package sstable

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBlockUseAfterReleaseFaults: under the race detector a data block's
// memory is made inaccessible when freed, so a reader that keeps using a
// block after releasing it (once the cache evicted it) faults at once
// instead of reading whatever reuses the memory.
func TestBlockUseAfterReleaseFaults(t *testing.T) {
	cache := NewCache(1 << 20)
	defer cache.Close()
	cache.Set(1, 0, []byte("a block of data"))
	ref, b, ok := cache.acquire(1, 0, false)
	require.True(t, ok)
	cache.EvictFile(1)
	require.Equal(t, byte('a'), b[0], "held: still readable after eviction")
	ref.Release()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	faulted := func() (f bool) {
		defer func() { f = recover() != nil }()
		sinkByte = b[0]
		return false
	}()
	require.True(t, faulted, "reading a released, evicted block did not fault")
}

var sinkByte byte

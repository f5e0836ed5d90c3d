package memtable

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/offheap"
	"github.com/stratadb/strata/keys"
)

// TestReleaseFreesArena: a memtable's main arena lives off the Go heap
// (where the platform allows) from New until Release, plain and staged;
// Release gives it back once, and any read afterwards panics instead of
// reading freed memory.
func TestReleaseFreesArena(t *testing.T) {
	for _, staged := range []bool{false, true} {
		t.Run(fmt.Sprintf("staged=%v", staged), func(t *testing.T) {
			const capacity = 1 << 20
			before := offheap.Live()
			var m *Memtable
			if staged {
				m = NewStaged(capacity, 64<<10)
			} else {
				m = New(capacity)
			}
			if offheap.OffHeap {
				require.Equal(t, int64(capacity), offheap.Live()-before, "the arena is off the heap")
			}
			for i := range 2000 {
				require.NoError(t, m.Add(fmt.Appendf(nil, "key%05d", i), keys.SeqNum(i+1), keys.KindSet, []byte("value")))
			}
			if staged {
				require.Positive(t, m.StagingBytes(), "fronts are counted while inserts go to them")
			} else {
				require.Zero(t, m.StagingBytes())
			}
			require.NoError(t, m.Finish())
			_, v, ok := m.Get([]byte("key01234"), keys.MaxSeq)
			require.True(t, ok)
			require.Equal(t, "value", string(v))

			m.Release()
			require.Equal(t, int64(0), offheap.Live()-before, "Release frees the arena")
			m.Release() // a second Release does nothing
			require.Equal(t, int64(0), offheap.Live()-before)
			require.Panics(t, func() { m.Get([]byte("key01234"), keys.MaxSeq) }, "a read after Release must not reach freed memory")
		})
	}
}

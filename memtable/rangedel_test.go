package memtable

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/keys"
)

func TestMemtableRangeDels(t *testing.T) {
	for _, staged := range []bool{false, true} {
		m := New(1 << 20)
		if staged {
			m = NewStaged(1<<20, 64<<10)
		}
		require.True(t, m.Empty())
		require.False(t, m.HasRangeDels())
		require.Nil(t, m.RangeDels())
		size := m.Size()
		require.NoError(t, m.AddRangeDelete([]byte("b"), []byte("f"), 7))
		require.False(t, m.Empty(), "a memtable with only a range tombstone must be flushed")
		require.True(t, m.HasRangeDels())
		require.Equal(t, size+RangeDelSize([]byte("b"), []byte("f")), m.Size())
		l := m.RangeDels()
		require.Equal(t, keys.SeqNum(7), l.MaxSeq([]byte("c"), 10))
		require.Equal(t, keys.SeqNum(0), l.MaxSeq([]byte("c"), 6), "invisible below its sequence number")
		require.NoError(t, m.AddRangeDelete([]byte("d"), []byte("h"), 9))
		require.Len(t, l, 1, "a published list never changes")
		require.Equal(t, keys.SeqNum(9), m.RangeDels().MaxSeq([]byte("e"), 10))
		require.Error(t, m.AddRangeDelete([]byte("x"), []byte("x"), 10))
		require.Error(t, m.AddRangeDelete([]byte("a"), []byte("b"), keys.MaxSeq+1))
		if staged {
			require.NoError(t, m.Finish())
		}
	}
}

// Readers fragment concurrently with a writer adding tombstones (run
// with -race).
func TestMemtableRangeDelsConcurrent(t *testing.T) {
	m := New(1 << 20)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 200; i++ {
			require.NoError(t, m.AddRangeDelete([]byte{byte(i)}, []byte{byte(i), 1}, keys.SeqNum(i+1)))
		}
	}()
	for i := 0; i < 200; i++ {
		l := m.RangeDels()
		require.Equal(t, "", l.Check())
	}
	wg.Wait()
	require.Equal(t, 200, m.RangeDels().Count())
}

package collections

import (
	"bytes"
	"flag"
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/lsm"
)

var streamN = flag.Int("collections.stream", 6000, "elements per collection in TestIteratorsStream (1000000 for the acceptance run)")

// liveHeap returns the bytes of live Go heap objects after a collection.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC() // the second empties sync.Pools' victim caches
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// TestIteratorsStream walks a hash, a set, a list and a sorted set of
// -collections.stream elements of about 100 bytes each, on disk, with
// HIter, SIter, LIter and ZIter, and measures the live heap every
// thousandth element: it stays under a quarter of the bytes streamed (and
// under 8 MiB), where HGETALL's reply alone holds all of them. The DB's
// block cache is 1 MiB and full before the measured pass, so what the
// iterator reads is not kept.
func TestIteratorsStream(t *testing.T) {
	n := *streamN
	dir := t.TempDir()
	db, err := lsm.Open(dir, nil)
	require.NoError(t, err)
	s := NewWithOptions(db, &Options{ReclaimInterval: -1})
	pad := bytes.Repeat([]byte("p"), 80)
	elem := func(i int) []byte { return append(fmt.Appendf(nil, "e%09d-", i), pad...) }
	for i := 0; i < n; i += 1000 {
		err := s.Update(func(tx *Tx) error {
			for j := i; j < min(i+1000, n); j++ {
				e := elem(j)
				if _, err := tx.HSet([]byte("h"), e[:10], e); err != nil {
					return err
				}
				if _, err := tx.SAdd([]byte("s"), e); err != nil {
					return err
				}
				if _, err := tx.RPush([]byte("l"), e); err != nil {
					return err
				}
				if _, err := tx.ZAdd([]byte("z"), ZAddArgs{}, Z{Score: float64(j), Member: e}); err != nil {
					return err
				}
			}
			return nil
		})
		require.NoError(t, err)
	}
	require.NoError(t, db.Compact(nil, nil))
	require.NoError(t, s.Close())
	require.NoError(t, db.Close())
	// Reopened with a small block cache for the walks.
	db, err = lsm.Open(dir, &lsm.Options{BlockCacheSize: 1 << 20})
	require.NoError(t, err)
	defer db.Close()
	s = NewWithOptions(db, &Options{ReclaimInterval: -1})
	defer s.Close()

	iters := []struct {
		name string
		open func() (*Iter, error)
		size func(*Iter) int
	}{
		{"HIter", func() (*Iter, error) { return s.HIter([]byte("h")) }, func(x *Iter) int { return len(x.Field()) + len(x.Value()) }},
		{"SIter", func() (*Iter, error) { return s.SIter([]byte("s")) }, func(x *Iter) int { return len(x.Member()) }},
		{"LIter", func() (*Iter, error) { return s.LIter([]byte("l"), 0, -1) }, func(x *Iter) int { return len(x.Value()) }},
		{"ZIter", func() (*Iter, error) { return s.ZIter([]byte("z"), ZRangeArgs{Start: 0, Stop: -1}) }, func(x *Iter) int { return len(x.Member()) + 8 }},
	}
	// A first pass fills the block cache, which is live heap; the measured
	// pass then replaces blocks in it rather than adding them.
	for _, c := range iters {
		it, err := c.open()
		require.NoError(t, err)
		for it.Next() {
		}
		require.NoError(t, it.Close())
	}
	for _, c := range iters {
		t.Run(c.name, func(t *testing.T) {
			base := liveHeap()
			it, err := c.open()
			require.NoError(t, err)
			var streamed, peak int64
			count := 0
			for it.Next() {
				streamed += int64(c.size(it))
				count++
				if count%1000 == 0 {
					peak = max(peak, liveHeap()-base)
				}
			}
			require.NoError(t, it.Close())
			require.Equal(t, n, count)
			t.Logf("%s: %d elements, %d bytes streamed; live heap at most %d bytes above the start", c.name, count, streamed, peak)
			require.Less(t, peak, streamed/4)
			require.Less(t, peak, int64(8<<20))
		})
	}
}

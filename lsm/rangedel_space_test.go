package lsm

import (
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/vfs"
)

var rdSpaceKeys = flag.Int("rangedel.keys", 50000, "keys in TestDeleteRangeReclaimsSpace (1000000 for the figure quoted in the docs)")

// tableBytes sums the sizes of the DB's tables.
func tableBytes(t testing.TB, db *DB) int64 {
	var n int64
	for _, l := range db.Metrics().Levels {
		n += l.Bytes
	}
	return n
}

func fillForSpace(t testing.TB, db *DB, from, to int) {
	b := db.NewBatch()
	for i := from; i < to; i++ {
		b.Put([]byte(fmt.Sprintf("key%09d", i)), []byte(fmt.Sprintf("value-%09d-padding-padding", i)))
		if b.Len() == 1000 {
			require.NoError(t, db.Apply(b))
			b.Reset()
		}
	}
	require.NoError(t, db.Apply(b))
}

// TestDeleteRangeReclaimsSpace deletes 90% of the keys with one
// DeleteRange: after a Compact the tables hold about what a DB of the live
// 10% holds, and without one, background compaction gets there too (the
// picker counts the bytes the tombstones cover).
func TestDeleteRangeReclaimsSpace(t *testing.T) {
	n := *rdSpaceKeys
	if testing.Short() {
		n = 20000
	}
	live := n / 10
	ref := openMem(t, vfs.NewMem(), nil)
	fillForSpace(t, ref, n-live, n)
	require.NoError(t, ref.Compact(nil, nil))
	want := tableBytes(t, ref)
	require.NoError(t, ref.Close())

	for _, manual := range []bool{true, false} {
		t.Run(fmt.Sprintf("manual=%v", manual), func(t *testing.T) {
			fs := vfs.NewMem()
			opts := &Options{MemtableSize: 1 << 20, TargetFileSize: 256 << 10, BaseLevelSize: 1 << 20}
			db := openMem(t, fs, opts)
			defer db.Close()
			fillForSpace(t, db, 0, n)
			require.NoError(t, db.Compact(nil, nil))
			full := tableBytes(t, db)
			require.NoError(t, db.DeleteRange([]byte("key"), []byte(fmt.Sprintf("key%09d", n-live))))
			start := time.Now()
			if manual {
				require.NoError(t, db.Compact(nil, nil))
			} else {
				require.NoError(t, db.Flush())
				deadline := time.Now().Add(30 * time.Second)
				for tableBytes(t, db) > want*12/10 && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
			}
			got := tableBytes(t, db)
			t.Logf("%d keys: full %d bytes, live 10%% alone %d, after DeleteRange %d (%.2fx) in %v",
				n, full, want, got, float64(got)/float64(want), time.Since(start))
			require.LessOrEqual(t, got, want*12/10)
			it, err := db.NewIter(nil)
			require.NoError(t, err)
			count := 0
			for ok := it.First(); ok; ok = it.Next() {
				count++
			}
			require.NoError(t, it.Close())
			require.Equal(t, live, count)
			require.NoError(t, db.Verify())
		})
	}
}

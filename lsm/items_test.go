package lsm

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/vfs"
)

func TestItemsRoundTripWithBinaryKeys(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, nil)
	defer db.Close()
	pks := [][]byte{{0}, {0xFF}, {0, 0xFF, 0}, []byte("user#1")} // never empty: see TestEmptyPartitionKeyIsRejectedLikeAnEmptyKey
	sks := [][]byte{{}, {0}, {0xFF, 0xFF}, []byte("a")}
	for _, pk := range pks {
		for _, sk := range sks {
			require.NoError(t, db.PutItem(pk, sk, append(append([]byte{}, pk...), sk...)))
		}
	}
	for _, pk := range pks {
		items := db.Query(pk, nil)
		var got [][]byte
		for items.Next() {
			it := items.Item()
			require.Equal(t, pk, it.PK)
			require.Equal(t, append(append([]byte{}, pk...), it.SK...), it.Value)
			got = append(got, append([]byte{}, it.SK...))
		}
		require.NoError(t, items.Close())
		require.Equal(t, [][]byte{{}, {0}, []byte("a"), {0xFF, 0xFF}}, got, "pk %x", pk)
		v, err := db.GetItem(pk, []byte{0})
		require.NoError(t, err)
		require.Equal(t, append(append([]byte{}, pk...), 0), v)
	}
	require.NoError(t, db.DeleteItem([]byte{0}, []byte{}))
	_, err := db.GetItem([]byte{0}, []byte{})
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorIs(t, db.DeleteItem([]byte{0}, []byte{}, IfPresent()), ErrConditionFailed)
	require.NoError(t, db.DeleteItem([]byte{0}, []byte{}), "deleting an absent item is fine")
}

func TestQueryOfAbsentPartitionReadsNoDataBlocks(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, &Options{BlockCacheSize: 1, L0CompactionTrigger: 100, L0SlowdownWrites: 100, L0StopWrites: 100})
	defer db.Close()
	// Every table holds every partition's range, so only filters can skip.
	for s := 0; s < 20; s++ {
		for p := 0; p < 50; p++ {
			require.NoError(t, db.PutItem([]byte(fmt.Sprintf("p%02d", p)), []byte(fmt.Sprintf("s%02d", s)), []byte("v")))
		}
		if s%4 == 3 {
			require.NoError(t, db.Flush())
		}
	}
	require.Equal(t, 5, db.Metrics().Tables)
	before := db.Metrics()
	for i := 0; i < 100; i++ {
		// "p05x" sorts inside the tables' key ranges but is in no table.
		items := db.Query([]byte(fmt.Sprintf("p%02dx", i%50)), nil)
		require.False(t, items.Next())
		require.NoError(t, items.Close())
	}
	after := db.Metrics()
	skipped := after.TablesSkippedByFilter - before.TablesSkippedByFilter
	read := after.DataBlocksRead - before.DataBlocksRead
	require.Greater(t, skipped, int64(450), "partition filters skip tables (500 probes)")
	// Bloom false positives may read a few blocks; nearly all are avoided.
	require.Less(t, read, int64(10), "data blocks read for absent partitions")
}

func TestItemExpiryIsReported(t *testing.T) {
	fs, clock := vfs.NewMem(), newFakeClock()
	db := openMem(t, fs, &Options{Clock: clock.Now})
	defer db.Close()
	require.NoError(t, db.PutItem([]byte("p"), []byte("a"), []byte("1"), WithTTL(time.Minute)))
	require.NoError(t, db.PutItem([]byte("p"), []byte("b"), []byte("2")))
	items := db.Query([]byte("p"), nil)
	require.True(t, items.Next())
	require.Equal(t, clock.Now().Add(time.Minute), items.Item().Expiry)
	require.True(t, items.Next())
	require.True(t, items.Item().Expiry.IsZero())
	require.False(t, items.Next())
	require.NoError(t, items.Close())
	clock.Advance(time.Hour)
	items = db.Query([]byte("p"), nil)
	require.True(t, items.Next())
	require.Equal(t, "b", string(items.Item().SK), "the expired item is hidden")
	require.False(t, items.Next())
	require.NoError(t, items.Close())
}

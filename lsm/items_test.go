package lsm

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/vfs"
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

// queryModel applies q to the sorted sort keys of a partition.
func queryModel(sks []string, q *Query) []string {
	var out []string
	for _, sk := range sks {
		if q.BeginsWith != nil && !bytes.HasPrefix([]byte(sk), q.BeginsWith) {
			continue
		}
		if q.From != nil && sk < string(q.From) {
			continue
		}
		if q.To != nil && sk > string(q.To) {
			continue
		}
		if q.After != nil && !q.Reverse && sk <= string(q.After) {
			continue
		}
		if q.After != nil && q.Reverse && sk >= string(q.After) {
			continue
		}
		out = append(out, sk)
	}
	if q.Reverse {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out
}

func TestQueryAgreesWithModel(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, smallOpts(fs))
	defer db.Close()
	r := rand.New(rand.NewPCG(5, 5))
	alphabet := []byte{0, 1, 'a', 'b', 0xFE, 0xFF}
	rnd := func(max int) []byte {
		b := make([]byte, r.IntN(max+1))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return b
	}
	rndPK := func() []byte { // 1 or 2 bytes: a partition key is never empty
		return append([]byte{alphabet[r.IntN(len(alphabet))]}, rnd(1)...)
	}
	model := map[string]map[string]bool{}
	for i := 0; i < 4000; i++ {
		pk, sk := rndPK(), rnd(3)
		if r.IntN(4) == 0 {
			require.NoError(t, db.DeleteItem(pk, sk))
			delete(model[string(pk)], string(sk))
			continue
		}
		require.NoError(t, db.PutItem(pk, sk, []byte("v")))
		if model[string(pk)] == nil {
			model[string(pk)] = map[string]bool{}
		}
		model[string(pk)][string(sk)] = true
		if i%1000 == 999 {
			require.NoError(t, db.Flush())
		}
	}
	maybe := func() []byte {
		if r.IntN(2) == 0 {
			return nil
		}
		return rnd(2)
	}
	for i := 0; i < 3000; i++ {
		pk := rndPK()
		q := &Query{BeginsWith: maybe(), From: maybe(), To: maybe(), Reverse: r.IntN(2) == 0, After: maybe()}
		if r.IntN(2) == 0 {
			q.Limit = 1 + r.IntN(5)
		}
		var sks []string
		for sk := range model[string(pk)] {
			sks = append(sks, sk)
		}
		sort.Strings(sks)
		want := queryModel(sks, q)
		items := db.Query(pk, q)
		var got []string
		for items.Next() {
			got = append(got, string(items.Item().SK))
		}
		require.NoError(t, items.Close())
		require.Equal(t, fmt.Sprintf("%q", want), fmt.Sprintf("%q", got), "pk %x query %+v", pk, q)
	}
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

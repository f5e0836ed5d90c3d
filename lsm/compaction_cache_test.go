package lsm

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/compaction"
	"github.com/stratadb/strata/manifest"
	"github.com/stratadb/strata/sstable"
)

// TestCompactionDoesNotFillBlockCache: a compaction reads every block of
// its inputs without adding them to the block cache, so that the blocks
// reads use stay cached (here a small cache, and a compaction of a key
// range read keeps hitting), and its output holds the same data.
func TestCompactionDoesNotFillBlockCache(t *testing.T) {
	db, err := Open(t.TempDir(), &Options{Sync: SyncNo, BlockCacheSize: 1 << 20})
	require.NoError(t, err)
	defer db.Close()
	// A table of "hot" keys in the bottom level, and a hot key's block in
	// the cache.
	for i := 0; i < 100; i++ {
		require.NoError(t, db.Put(fmt.Appendf(nil, "hot%03d", i), []byte("hot value")))
	}
	require.NoError(t, db.Compact(nil, nil))
	hot := []byte("hot042")
	_, err = db.Get(hot)
	require.NoError(t, err)

	const n = 20000 // about 2.5 MB of blocks, more than the cache
	val := func(round, i int) []byte { return fmt.Appendf(nil, "value-%d-%06d-%090d", round, i, i) }
	for round := 0; round < 3; round++ {
		for i := round; i < n; i += 2 {
			require.NoError(t, db.Put(fmt.Appendf(nil, "key%06d", i), val(round, i)))
		}
		require.NoError(t, db.Flush())
	}
	require.NoError(t, db.Compact([]byte("key"), []byte("kez")))
	require.Zero(t, db.Metrics().Levels[0].Tables)
	read := db.Metrics().DataBlocksRead // reads only: compactions count apart
	_, err = db.Get(hot)
	require.NoError(t, err)
	require.Equal(t, read, db.Metrics().DataBlocksRead, "the compaction evicted the hot block")

	// The data survived, and reads do fill the cache.
	for i := 0; i < n; i++ {
		want := val(2, i) // rounds write keys round, round+2, ...
		switch {
		case i%2 == 1:
			want = val(1, i)
		case i == 0:
			want = val(0, i)
		}
		got, err := db.Get(fmt.Appendf(nil, "key%06d", i))
		require.NoError(t, err)
		require.Equal(t, string(want), string(got))
	}
	require.NotZero(t, db.Metrics().BlockCacheBytes)
}

// TestL0CompactionReadsAheadPerInput: an L0 compaction of many tables
// reads each in spans of sstable.CompactionReadahead, not a slice of a
// budget so small that a table is read a few blocks at a time (small
// positioned reads, each a wait on the disk once the page cache is short).
func TestL0CompactionReadsAheadPerInput(t *testing.T) {
	db, err := Open(t.TempDir(), &Options{Sync: SyncNo, L0CompactionTrigger: 100, L0SlowdownWrites: 100, L0StopWrites: 200,
		Compression: CompressionNone})
	require.NoError(t, err)
	defer db.Close()
	const tables, perTable = 12, 12000 // about 1.4 MB each, 12 inputs
	for tbl := 0; tbl < tables; tbl++ {
		for i := 0; i < perTable; i++ {
			k := i*tables + tbl
			require.NoError(t, db.Put(fmt.Appendf(nil, "key%08d", k), fmt.Appendf(nil, "value-%0100d", k)))
		}
		require.NoError(t, db.Flush())
	}
	require.Equal(t, tables, db.Metrics().Levels[0].Tables)
	ra0, bytes0 := db.compStats.Readaheads.Load(), db.compStats.DataBytesRead.Load()
	require.NoError(t, db.Compact(nil, nil))
	require.Zero(t, db.Metrics().Levels[0].Tables)
	ra, read := db.compStats.Readaheads.Load()-ra0, db.compStats.DataBytesRead.Load()-bytes0
	require.Positive(t, ra)
	// Every span but each table's last is whole: on average well over
	// half of CompactionReadahead.
	perRead := read / ra
	require.Greater(t, perRead, int64(sstable.CompactionReadahead/2), "%d readaheads of %d bytes on average", ra, perRead)
}

// TestCompactionInputsLetGoOfTheirPointIndexes: a compaction's input
// iterator drops its table's point index from the block cache when it is
// done with the table, so a compaction of many inputs does not hold the
// point index of every input it has finished until it ends; reads of the
// tables still find every key afterwards.
func TestCompactionInputsLetGoOfTheirPointIndexes(t *testing.T) {
	db, err := Open(t.TempDir(), &Options{Sync: SyncNo, L0CompactionTrigger: 100, L0SlowdownWrites: 100, L0StopWrites: 200})
	require.NoError(t, err)
	defer db.Close()
	const tables, perTable = 4, 3000
	key := func(tbl, i int) []byte { return fmt.Appendf(nil, "key%02d-%06d", tbl, i) }
	for tbl := 0; tbl < tables; tbl++ { // tables that do not overlap: one L0 sublevel, read one after another
		for i := 0; i < perTable; i++ {
			require.NoError(t, db.Put(key(tbl, i), key(tbl, i)))
		}
		require.NoError(t, db.Flush())
	}
	db.mu.Lock()
	v := db.mu.rs.v
	v.Ref()
	db.mu.Unlock()
	defer v.Unref()
	require.Len(t, v.Levels[0], tables)
	held := db.blockCache.Parts // the point indexes (and filters) cached
	for tbl := 0; tbl < tables; tbl++ {
		_, err := db.Get(key(tbl, 0)) // opens the table, caching its point index
		require.NoError(t, err)
	}
	all := held()
	require.Positive(t, all)

	c := &compaction.Compaction{Level: 0, OutputLevel: 1, Inputs: [2][]*manifest.FileMeta{v.Levels[0], nil}}
	it := db.compactionInput(c)
	n := 0
	var afterFirst int64
	for ok := it.First(); ok; ok = it.Next() {
		if n == perTable { // on the second table's first key: the first table's iterator has closed
			afterFirst = held()
		}
		n++
	}
	require.NoError(t, it.Close())
	require.Equal(t, tables*perTable, n)
	require.Less(t, afterFirst, all, "the first input's point index went once it was read")
	require.Zero(t, held(), "every input's point index went")

	for tbl := 0; tbl < tables; tbl++ {
		for i := 0; i < perTable; i += 97 {
			got, err := db.Get(key(tbl, i))
			require.NoError(t, err)
			require.Equal(t, string(key(tbl, i)), string(got))
		}
	}
	require.Positive(t, held(), "reads cache the point indexes again")
}

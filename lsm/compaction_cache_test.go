package lsm

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
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
	read := db.Metrics().DataBlocksRead // the compaction's reads counted too
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

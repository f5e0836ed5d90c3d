package lsm

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/vfs"
)

// TestGetAppend: GetAppend, with and without NoFillCache, answers what Get
// answers for every key of a DB whose versions lie in the memtable and in
// tables of several levels, overwritten, deleted, range-deleted and expired
// ones included; it appends to dst and returns dst untouched with
// ErrNotFound; and reads with NoFillCache add no block to the cache.
func TestGetAppend(t *testing.T) {
	fs := vfs.NewMem()
	clock := newFakeClock()
	opts := smallOpts(fs)
	opts.Clock = clock.Now
	db := openMem(t, fs, opts)
	r := rand.New(rand.NewPCG(5, 6))
	const n = 600
	key := func(i int) []byte { return fmt.Appendf(nil, "key%05d", i) }
	for round := range 4 {
		for i := range n {
			k := key(i)
			switch x := r.IntN(10); {
			case x < 6:
				v := fmt.Appendf(nil, "v%d-%d-%s", round, i, make([]byte, r.IntN(300)))
				require.NoError(t, db.Put(k, v))
			case x < 7:
				require.NoError(t, db.Delete(k))
			case x < 8:
				require.NoError(t, db.Put(k, []byte("short-lived"), WithTTL(time.Minute)))
			}
		}
		if round == 2 {
			require.NoError(t, db.DeleteRange(key(100), key(150)))
		}
		if round < 3 {
			require.NoError(t, db.Flush())
		}
	}
	clock.Advance(time.Hour) // the TTL entries have expired
	require.NoError(t, db.Compact(nil, nil))
	for i := range 40 { // some versions in the memtable again
		require.NoError(t, db.Put(key(i*7), fmt.Appendf(nil, "mem-%d", i)))
	}

	check := func(opts *GetOptions) (found int) {
		for i := range n + 10 {
			k := key(i)
			want, wantErr := db.Get(k)
			dst := []byte("dst:")
			got, err := db.GetAppend(dst, k, opts)
			if wantErr != nil {
				require.ErrorIs(t, err, ErrNotFound, "%s", k)
				require.ErrorIs(t, wantErr, ErrNotFound, "%s", k)
				require.Equal(t, "dst:", string(got))
				continue
			}
			require.NoError(t, err, "%s", k)
			require.Equal(t, "dst:"+string(want), string(got), "%s", k)
			found++
		}
		return found
	}
	// A fresh cache: NoFillCache reads add nothing to it.
	require.NoError(t, db.Close())
	db = openMem(t, fs, opts)
	before := db.Metrics().BlockCacheBytes
	getFree := func() int {
		// Get fills the cache; compare with it only after the cache check.
		found := 0
		for i := range n + 10 {
			if _, err := db.GetAppend(nil, key(i), &GetOptions{NoFillCache: true}); err == nil {
				found++
			}
		}
		return found
	}
	foundFree := getFree()
	require.Positive(t, foundFree)
	require.Equal(t, before, db.Metrics().BlockCacheBytes, "NoFillCache reads filled the block cache")
	require.Equal(t, foundFree, check(&GetOptions{NoFillCache: true}))
	require.Equal(t, foundFree, check(nil))
	require.Positive(t, db.Metrics().BlockCacheBytes, "GetAppend without NoFillCache fills the cache")
	require.Less(t, foundFree, n, "no key was deleted or expired: the test does not test that")
}

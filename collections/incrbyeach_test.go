package collections

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/lsm"
	"github.com/stratadb/strata/vfs"
)

// TestIncrByEachMatchesIncrBy: IncrByEach gives what IncrBy one after
// another gives inside one all-or-nothing Update (the same new values, the
// same first error, nothing written when one fails), over counters that are
// absent, present, not integers, near the int64 limits, held by a hash, a
// raw string shadowing a hash, and names with the reserved first byte, with
// keys repeated in a call. Two Stores get the same random calls.
func TestIncrByEachMatchesIncrBy(t *testing.T) {
	names := []string{"a", "b", "c", "n", "big", "small", "h", "shadow", "\xffr"}
	setup := func(s *Store) {
		require.NoError(t, s.Set([]byte("b"), []byte("10")))
		require.NoError(t, s.Set([]byte("n"), []byte("abc")))
		require.NoError(t, s.Set([]byte("c"), []byte("+5"))) // not Redis's integer syntax
		require.NoError(t, s.Set([]byte("big"), []byte("9223372036854775800")))
		require.NoError(t, s.Set([]byte("small"), []byte("-9223372036854775800")))
		_, err := s.HSet([]byte("h"), []byte("f"), []byte("v"))
		require.NoError(t, err)
		_, err = s.HSet([]byte("shadow"), []byte("f"), []byte("v"))
		require.NoError(t, err)
		require.NoError(t, s.DB().Put([]byte("shadow"), []byte("7"))) // a raw string wins
	}
	ref, _ := openTestStore(t)
	got, _ := openTestStore(t)
	setup(ref)
	setup(got)
	deltas := []int64{1, -1, 3, 100, math.MaxInt64, math.MinInt64 + 1}
	r := rand.New(rand.NewPCG(1, 2))
	state := func(s *Store) string {
		var out string
		for _, n := range names {
			v, err := s.Get([]byte(n))
			out += fmt.Sprintf("%q=%q,%v ", n, v, err)
		}
		return out
	}
	var oks, fails int
	for round := range 400 {
		k := 1 + r.IntN(6)
		keys := make([][]byte, k)
		ds := make([]int64, k)
		for i := range keys {
			keys[i] = []byte(names[r.IntN(len(names))])
			ds[i] = deltas[r.IntN(len(deltas))]
			if r.IntN(2) == 0 {
				ds[i] = 1 // mostly small steps, so that sums stay in range
			}
		}
		want := make([]int64, k)
		wantErr := ref.Update(func(tx *Tx) error {
			for i := range keys {
				n, err := tx.IncrBy(keys[i], ds[i])
				if err != nil {
					return err
				}
				want[i] = n
			}
			return nil
		})
		out := make([]int64, k)
		err := got.IncrByEach(keys, ds, out)
		what := fmt.Sprintf("round %d: IncrByEach(%q, %v)", round, keys, ds)
		if wantErr != nil {
			fails++
			require.Error(t, err, what)
			require.Truef(t, errors.Is(err, wantErr), "%s: error %v, IncrBy one by one %v", what, err, wantErr)
		} else {
			oks++
			require.NoError(t, err, what)
			require.Equal(t, want, out, what)
		}
		require.Equal(t, state(ref), state(got), what)
	}
	t.Logf("%d calls succeeded, %d failed", oks, fails)
	require.Greater(t, oks, 50)
	require.Greater(t, fails, 50)
}

// TestIncrByEachOneCommit: a call of 16 counters is one engine commit
// (IncrBy makes one each, two for a counter it creates), whether the
// counters exist or not.
func TestIncrByEachOneCommit(t *testing.T) {
	s, _ := openTestStore(t)
	keys := make([][]byte, 16)
	ds := make([]int64, 16)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "ctr:%d", i%10) // some twice
		ds[i] = int64(i)
	}
	out := make([]int64, 16)
	for range 2 {
		before := s.DB().Metrics().CommitGroups
		require.NoError(t, s.IncrByEach(keys, ds, out))
		require.Equal(t, int64(1), s.DB().Metrics().CommitGroups-before)
	}
	// ctr:0 got 0 and 10, twice.
	require.Equal(t, int64(20), out[10])
	v, err := s.Get([]byte("ctr:0"))
	require.NoError(t, err)
	require.Equal(t, "20", string(v))
	require.ErrorIs(t, s.IncrByEach(keys, ds[:3], out), lsm.ErrInvalidArgument)
}

// TestIncrByEachAllocs: IncrByEach of 16 existing counters allocates
// nothing once the pooled Tx's batch has grown.
func TestIncrByEachAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	// A memtable that does not rotate during the runs: a rotation's
	// allocations are the engine's, not the call's.
	db, err := lsm.Open("/db", &lsm.Options{FS: vfs.NewMem(), MemtableSize: 8 << 20})
	require.NoError(t, err)
	s := New(db)
	t.Cleanup(func() {
		s.Close()
		db.Close()
	})
	keys := make([][]byte, 16)
	ds := make([]int64, 16)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "ctr:%d", i)
		ds[i] = 1
	}
	out := make([]int64, 16)
	require.NoError(t, s.IncrByEach(keys, ds, out))
	if n := testing.AllocsPerRun(200, func() {
		if err := s.IncrByEach(keys, ds, out); err != nil {
			t.Fatal(err)
		}
	}); n > 0 {
		t.Errorf("IncrByEach of 16 counters allocates %v", n)
	}
}

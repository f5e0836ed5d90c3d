package collections

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stratadb/strata/lsm"
	"github.com/stratadb/strata/vfs"
	"github.com/stretchr/testify/require"
)

// zsetID returns the ID of the sorted set at key.
func zsetID(t *testing.T, s *Store, key []byte) uint64 {
	t.Helper()
	var id uint64
	require.NoError(t, s.run1(false, key, func(tx *Tx) error {
		typ, m, err := tx.lookup(key)
		require.Equal(t, TypeZSet, typ)
		id = m.id
		return err
	}))
	return id
}

func hasMirror(s *Store, id uint64) bool {
	s.zc.mu.Lock()
	defer s.zc.mu.Unlock()
	return s.zc.m[id] != nil
}

// A sorted set of at most 2*fan1 members is read and written without a
// mirror of its rank nodes (its reads walk the index, its writes take the
// top nodes' counts from its size); the ZADD that makes it outgrow that
// mirrors its nodes from then on.
func TestZSmallSetsNeedNoMirror(t *testing.T) {
	s, _ := openTestStore(t)
	s.zfan = 4 // a small set: at most 8 members
	key := []byte("z")
	for i := 0; i < 8; i++ {
		n, err := s.ZAdd(key, ZAddArgs{}, Z{Score: float64(10 - i), Member: fmt.Appendf(nil, "m%d", i)})
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
	}
	id := zsetID(t, s, key)
	for i := 0; i < 8; i++ {
		r, err := s.ZRank(key, fmt.Appendf(nil, "m%d", i))
		require.NoError(t, err)
		require.EqualValues(t, 7-i, r)
		r, err = s.ZRevRank(key, fmt.Appendf(nil, "m%d", i))
		require.NoError(t, err)
		require.EqualValues(t, i, r)
	}
	_, err := s.ZRank(key, []byte("none"))
	require.ErrorIs(t, err, ErrNotFound)
	zs, err := s.ZRange(key, 1, -2)
	require.NoError(t, err)
	require.Len(t, zs, 6)
	require.Equal(t, "m6", string(zs[0].Member))
	c, err := s.ZCount(key, ScoreRange{Min: 4, Max: 8})
	require.NoError(t, err)
	require.EqualValues(t, 5, c)
	require.False(t, hasMirror(s, id), "a small set got a mirror")
	require.NoError(t, s.CheckKey(key))

	_, err = s.ZAdd(key, ZAddArgs{}, Z{Score: 0, Member: []byte("m8")})
	require.NoError(t, err)
	require.True(t, hasMirror(s, id), "a set past 2*fan1 members has no mirror")
	require.NoError(t, s.CheckKey(key))
	r, err := s.ZRank(key, []byte("m0"))
	require.NoError(t, err)
	require.EqualValues(t, 8, r)
}

// A ZADD that changes no score opens no index: it loads no mirror of a
// large set.
func TestZAddUnchangedScoreLoadsNoMirror(t *testing.T) {
	s, _ := openTestStore(t)
	s.zfan = 2
	key := []byte("z")
	for i := 0; i < 40; i++ {
		_, err := s.ZAdd(key, ZAddArgs{}, Z{Score: float64(i), Member: fmt.Appendf(nil, "m%02d", i)})
		require.NoError(t, err)
	}
	id := zsetID(t, s, key)
	s.zc.drop(id)
	n, err := s.ZAdd(key, ZAddArgs{CH: true}, Z{Score: 7, Member: []byte("m07")}, Z{Score: 9, Member: []byte("m09")})
	require.NoError(t, err)
	require.EqualValues(t, 0, n)
	require.False(t, hasMirror(s, id), "an unchanged ZADD loaded a mirror")
	n, err = s.ZAdd(key, ZAddArgs{CH: true}, Z{Score: 7, Member: []byte("m07")}, Z{Score: 100, Member: []byte("m09")})
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	require.NoError(t, s.CheckKey(key))
	r, err := s.ZRevRank(key, []byte("m09"))
	require.NoError(t, err)
	require.EqualValues(t, 0, r)
}

// ZRANGE's members share a buffer; appending to one must not write over the
// next.
func TestZRangeMembersDoNotAlias(t *testing.T) {
	s, _ := openTestStore(t)
	key := []byte("z")
	_, err := s.ZAdd(key, ZAddArgs{}, Z{Score: 1, Member: []byte("a")}, Z{Score: 2, Member: []byte("b")}, Z{Score: 3, Member: []byte("c")})
	require.NoError(t, err)
	for _, rev := range []bool{false, true} {
		zs, err := s.ZRangeArgs(key, ZRangeArgs{Start: 0, Stop: 9, Rev: rev})
		require.NoError(t, err)
		require.Len(t, zs, 3)
		first := string(zs[1].Member)
		zs[0].Member = append(zs[0].Member, "xyz"...)
		require.Equal(t, first, string(zs[1].Member))
	}
}

// Sorted sets growing past 2*fan1 members and shrinking back below it, in
// random order, with and without mirrors (and with mirrors dropped, as a
// restart does): a small set that once had more nodes than the top pair
// must keep them right. Every step checks the set's keys against each
// other (CheckKey) and its ranks against a model.
func TestZSmallSetsGrowAndShrink(t *testing.T) {
	for _, fan := range []int{1, 2, 3, 8} {
		for _, cache := range []int64{0, -1} {
			t.Run(fmt.Sprintf("fan=%d/cache=%d", fan, cache), func(t *testing.T) {
				db, err := lsm.Open("/db", smallDBOptions(vfs.NewMem(), nil))
				require.NoError(t, err)
				s := NewWithOptions(db, &Options{ReclaimInterval: -1, RankCacheSize: cache})
				defer func() {
					s.Close()
					db.Close()
				}()
				s.zfan = fan
				r := rand.New(rand.NewPCG(uint64(fan), 3))
				key := []byte("z")
				model := map[string]float64{}
				limit := 2*fan + 2 + r.IntN(4*fan+4)
				steps := 300
				if testing.Short() {
					steps = 100
				}
				for step := 0; step < steps; step++ {
					m := fmt.Sprintf("m%d", r.IntN(limit+4))
					if _, in := model[m]; !in && len(model) > 0 {
						_, err := s.ZRank(key, []byte(m))
						require.ErrorIs(t, err, ErrNotFound, "step %d: ZRANK of %s", step, m)
						_, err = s.ZRevRank(key, []byte(m))
						require.ErrorIs(t, err, ErrNotFound, "step %d: ZREVRANK of %s", step, m)
					}
					switch op := r.IntN(10); {
					case op < 5:
						f := float64(r.IntN(8))
						_, err := s.ZAdd(key, ZAddArgs{}, Z{Score: f, Member: []byte(m)})
						require.NoError(t, err)
						model[m] = f
					case op < 8:
						_, err := s.ZRem(key, []byte(m))
						require.NoError(t, err)
						delete(model, m)
					case op < 9:
						if id, ok := zsetIDIf(s, key); ok {
							s.zc.drop(id) // as after a restart
						}
					default:
						// Swing across the boundary: add or remove many.
						if len(model) > limit/2 {
							for k := range model {
								_, err := s.ZRem(key, []byte(k))
								require.NoError(t, err)
								delete(model, k)
								if len(model) <= 1 {
									break
								}
							}
						} else {
							var zs []Z
							for i := 0; i < limit; i++ {
								k := fmt.Sprintf("m%d", i)
								f := float64(r.IntN(8))
								zs = append(zs, Z{Score: f, Member: []byte(k)})
								model[k] = f
							}
							_, err := s.ZAdd(key, ZAddArgs{}, zs...)
							require.NoError(t, err)
						}
					}
					require.NoError(t, s.CheckKey(key), "step %d", step)
					want := make([]Z, 0, len(model))
					for k, f := range model {
						want = append(want, Z{Score: f, Member: []byte(k)})
					}
					slices.SortFunc(want, compareZ)
					got, err := s.ZRange(key, 0, -1)
					require.NoError(t, err)
					require.Equal(t, len(want), len(got), "step %d", step)
					for i := range want {
						require.Equal(t, string(want[i].Member), string(got[i].Member), "step %d", step)
						rk, err := s.ZRank(key, want[i].Member)
						require.NoError(t, err)
						require.EqualValues(t, i, rk, "step %d: rank of %s", step, want[i].Member)
						rk, err = s.ZRevRank(key, want[i].Member)
						require.NoError(t, err)
						require.EqualValues(t, len(want)-1-i, rk, "step %d: reverse rank of %s", step, want[i].Member)
					}
					if len(want) > 3 {
						top, err := s.ZRevRange(key, 1, 2)
						require.NoError(t, err)
						require.Equal(t, string(want[len(want)-2].Member), string(top[0].Member))
						require.Equal(t, string(want[len(want)-3].Member), string(top[1].Member))
					}
				}
			})
		}
	}
}

func zsetIDIf(s *Store, key []byte) (uint64, bool) {
	var id uint64
	var ok bool
	_ = s.run1(false, key, func(tx *Tx) error {
		typ, m, err := tx.lookup(key)
		id, ok = m.id, typ == TypeZSet
		return err
	})
	return id, ok
}

// A ZADD that creates its set reads its members' scores from its own
// writes only: a member named twice counts once, with its last score.
func TestZAddNewSetRepeatedMember(t *testing.T) {
	s, _ := openTestStore(t)
	key := []byte("z")
	n, err := s.ZAdd(key, ZAddArgs{}, Z{Score: 1, Member: []byte("a")}, Z{Score: 3, Member: []byte("b")}, Z{Score: 2, Member: []byte("a")})
	require.NoError(t, err)
	require.EqualValues(t, 2, n)
	f, err := s.ZScore(key, []byte("a"))
	require.NoError(t, err)
	require.EqualValues(t, 2, f)
	c, err := s.ZCard(key)
	require.NoError(t, err)
	require.EqualValues(t, 2, c)
	require.NoError(t, s.CheckKey(key))
	_, err = s.Delete(key)
	require.NoError(t, err)
	f, ok, err := s.ZAddIncr(key, ZAddArgs{}, 5, []byte("a"))
	require.NoError(t, err)
	require.True(t, ok)
	require.EqualValues(t, 5, f)
	require.NoError(t, s.CheckKey(key))
}

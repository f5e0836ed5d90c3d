package collections

import (
	"fmt"
	"testing"
	"time"

	"github.com/stratadb/strata/lsm"
	"github.com/stretchr/testify/require"
)

// countRaw counts the engine keys under each of the Store's metadata and
// data prefixes.
func countRaw(t *testing.T, db *lsm.DB) (metas, data int) {
	t.Helper()
	return prefixKeys(t, db, metaLo), dataKeys(t, db)
}

// TestSetReplacesAnyType: SET, with or without an expiry, replaces what the
// name held as Redis 7.0 does: a string's value and TTL, or a collection
// of any type and size (its metadata and every element gone, so the type
// made again starts empty).
func TestSetReplacesAnyType(t *testing.T) {
	k := []byte("k")
	many := func(n int) [][]byte {
		var out [][]byte
		for i := range n {
			out = append(out, fmt.Appendf(nil, "e%04d", i))
		}
		return out
	}
	olds := []struct {
		name string
		make func(s *Store) error
		// again makes the old type again with one element and returns
		// its length, which must be 1.
		again func(s *Store) (int64, error)
	}{
		{"none", func(s *Store) error { return nil }, nil},
		{"string", func(s *Store) error { return s.Set(k, []byte("old")) }, nil},
		{"string-ttl", func(s *Store) error {
			_, err := s.SetArgs(k, []byte("old"), SetArgs{TTL: time.Hour})
			return err
		}, nil},
		{"hash", func(s *Store) error {
			_, err := s.HSet(k, []byte("f"), []byte("v"), []byte("g"), []byte("w"))
			return err
		}, func(s *Store) (int64, error) {
			if _, err := s.HSet(k, []byte("x"), []byte("1")); err != nil {
				return 0, err
			}
			return s.HLen(k)
		}},
		{"hash-ttl", func(s *Store) error {
			if _, err := s.HSet(k, []byte("f"), []byte("v")); err != nil {
				return err
			}
			_, err := s.Expire(k, time.Hour)
			return err
		}, nil},
		{"list", func(s *Store) error {
			_, err := s.RPush(k, many(3)...)
			return err
		}, func(s *Store) (int64, error) {
			if _, err := s.RPush(k, []byte("x")); err != nil {
				return 0, err
			}
			return s.LLen(k)
		}},
		{"set", func(s *Store) error {
			_, err := s.SAdd(k, many(3)...)
			return err
		}, func(s *Store) (int64, error) {
			if _, err := s.SAdd(k, []byte("e0000")); err != nil {
				return 0, err
			}
			return s.SCard(k)
		}},
		{"zset", func(s *Store) error {
			_, err := s.ZAdd(k, ZAddArgs{}, Z{Score: 1, Member: []byte("a")}, Z{Score: 2, Member: []byte("b")})
			return err
		}, func(s *Store) (int64, error) {
			if _, err := s.ZAdd(k, ZAddArgs{}, Z{Score: 2, Member: []byte("b")}); err != nil {
				return 0, err
			}
			return s.ZCard(k)
		}},
		// Past rangeDeleteMin the elements go with one range delete.
		{"big-set", func(s *Store) error {
			_, err := s.SAdd(k, many(2*rangeDeleteMin)...)
			return err
		}, func(s *Store) (int64, error) {
			if _, err := s.SAdd(k, []byte("e0001")); err != nil {
				return 0, err
			}
			return s.SCard(k)
		}},
	}
	sets := []struct {
		name    string
		args    SetArgs
		wantTTL time.Duration
	}{
		{"plain", SetArgs{}, NoTTL},
		{"EX", SetArgs{TTL: time.Minute}, time.Minute},
	}
	for _, o := range olds {
		for _, c := range sets {
			t.Run(o.name+"/"+c.name, func(t *testing.T) {
				s, _ := openTestStore(t)
				require.NoError(t, o.make(s))
				r, err := s.SetArgs(k, []byte("new"), c.args)
				require.NoError(t, err)
				require.True(t, r.Written)
				typ, err := s.Type(k)
				require.NoError(t, err)
				require.Equal(t, TypeString, typ)
				v, err := s.Get(k)
				require.NoError(t, err)
				require.Equal(t, "new", string(v))
				ttl, err := s.TTL(k)
				require.NoError(t, err)
				require.Equal(t, c.wantTTL, ttl)
				metas, data := countRaw(t, s.DB())
				require.Zero(t, metas, "metadata keys left")
				require.Zero(t, data, "data keys left")
				if o.again != nil {
					// Writing the old type again is WRONGTYPE now; once
					// the string is gone it starts from nothing.
					_, err := o.again(s)
					require.ErrorIs(t, err, ErrWrongType)
					_, err = s.Delete(k)
					require.NoError(t, err)
					n, err := o.again(s)
					require.NoError(t, err)
					require.EqualValues(t, 1, n)
				}
			})
		}
	}
}

// TestSetInUpdate: inside one Tx, SET replaces a collection the Tx itself
// made, and the Tx's later reads see the string.
func TestSetInUpdate(t *testing.T) {
	s, _ := openTestStore(t)
	k := []byte("k")
	require.NoError(t, s.Update(func(tx *Tx) error {
		if _, err := tx.HSet(k, []byte("f"), []byte("v")); err != nil {
			return err
		}
		if _, err := tx.SetArgs(k, []byte("s"), SetArgs{}); err != nil {
			return err
		}
		typ, err := tx.Type(k)
		require.NoError(t, err)
		require.Equal(t, TypeString, typ)
		_, err = tx.HSet(k, []byte("f"), []byte("v"))
		require.ErrorIs(t, err, ErrWrongType)
		return nil
	}))
	v, err := s.Get(k)
	require.NoError(t, err)
	require.Equal(t, "s", string(v))
	metas, data := countRaw(t, s.DB())
	require.Zero(t, metas+data)
}

// TestSetBlind: a SET with no NX, XX, GET or KEEPTTL does not read the old
// string, so a raw write of it between the SET and the commit costs no
// rerun (a SET that read it would commit on the condition that it is
// unchanged, and run again); the SET, committed last, wins. The options
// that need the old value still read it, and rerun.
func TestSetBlind(t *testing.T) {
	for _, c := range []struct {
		name     string
		args     SetArgs
		wantRuns int
		want     string
	}{
		{"plain", SetArgs{}, 1, "set"},
		{"EX", SetArgs{TTL: time.Minute}, 1, "set"},
		{"XX", SetArgs{XX: true}, 2, "set"},
		{"GET", SetArgs{Get: true}, 2, "set"},
		{"KEEPTTL", SetArgs{KeepTTL: true}, 2, "set"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, _ := openTestStore(t)
			k := []byte("k")
			require.NoError(t, s.Set(k, []byte("old")))
			runs := 0
			require.NoError(t, s.Update(func(tx *Tx) error {
				runs++
				if _, err := tx.SetArgs(k, []byte("set"), c.args); err != nil {
					return err
				}
				if runs == 1 {
					return s.DB().Put(stringKey(nil, k), []byte("raw"))
				}
				return nil
			}))
			require.Equal(t, c.wantRuns, runs)
			v, err := s.Get(k)
			require.NoError(t, err)
			require.Equal(t, c.want, string(v))
		})
	}
}

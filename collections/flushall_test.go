package collections

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestFlushAll: FlushAll leaves no key of any type, keeps the ID
// high-water mark (so a later collection never reuses an ID), and inside
// an Update the writes after it survive while those before it do not.
func TestFlushAll(t *testing.T) {
	s, _ := openTestStore(t)
	k := func(s string) []byte { return []byte(s) }
	_, err := s.HSet(k("h"), k("f"), k("v"))
	require.NoError(t, err)
	_, err = s.RPush(k("l"), k("a"), k("b"))
	require.NoError(t, err)
	_, err = s.ZAdd(k("z"), ZAddArgs{}, Z{Score: 1, Member: k("m")})
	require.NoError(t, err)
	_, err = s.SAdd(k("s"), k("x"))
	require.NoError(t, err)
	require.NoError(t, s.Set(k("str"), k("v")))
	require.NoError(t, s.Set([]byte{0xFF, 'q'}, k("escaped")))
	ok, err := s.Expire(k("h"), time.Hour)
	require.NoError(t, err)
	require.True(t, ok)
	mark, err := s.DB().Get(idHighKey)
	require.NoError(t, err)

	require.NoError(t, s.FlushAll())
	n, err := s.DBSize()
	require.NoError(t, err)
	require.Zero(t, n)
	for _, name := range []string{"h", "l", "z", "s", "str", "\xffq"} {
		typ, err := s.Type([]byte(name))
		require.NoError(t, err)
		require.Equal(t, TypeNone, typ, name)
	}
	after, err := s.DB().Get(idHighKey)
	require.NoError(t, err)
	require.Equal(t, mark, after, "the ID high-water mark survives")
	it, err := s.DB().NewIter(nil)
	require.NoError(t, err)
	var left [][]byte
	for ok := it.First(); ok; ok = it.Next() {
		left = append(left, append([]byte{}, it.Key()...))
	}
	require.NoError(t, it.Close())
	require.Equal(t, [][]byte{idHighKey}, left, "nothing but the mark is left in the engine")

	// A new collection gets a new ID: its data range is not the old one's.
	_, err = s.RPush(k("l"), k("new"))
	require.NoError(t, err)
	got, err := s.LRange(k("l"), 0, -1)
	require.NoError(t, err)
	require.Equal(t, [][]byte{k("new")}, got)

	// In one Update: a write before FlushAll goes, one after stays.
	require.NoError(t, s.Update(func(tx *Tx) error {
		if _, err := tx.SAdd(k("before"), k("x")); err != nil {
			return err
		}
		if err := tx.FlushAll(); err != nil {
			return err
		}
		if typ, err := tx.Type(k("l")); err != nil || typ != TypeNone {
			t.Errorf("the Tx still sees l after FlushAll: %v %v", typ, err)
		}
		_, err := tx.HSet(k("after"), k("f"), k("v"))
		return err
	}))
	n, err = s.DBSize()
	require.NoError(t, err)
	require.Equal(t, int64(1), n)
	v, err := s.HGet(k("after"), k("f"))
	require.NoError(t, err)
	require.Equal(t, k("v"), v)

	// Only an Update's Tx may flush.
	err = s.UpdateKeys([][]byte{k("x")}, func(tx *Tx) error { return tx.FlushAll() })
	require.ErrorIs(t, err, ErrTxKey)

	// A caller that swallows the error (a server writing it as a reply)
	// still learns that the Tx touched an undeclared key.
	other := k("not declared")
	for i := 0; s.stripeOf(other) == s.stripeOf(k("x")); i++ {
		other = fmt.Appendf(nil, "not declared %d", i) // a key of another lock stripe
	}
	var declared, undeclared bool
	err = s.UpdateKeys([][]byte{k("x")}, func(tx *Tx) error {
		if _, err := tx.HSet(k("x"), k("f"), k("v")); err != nil {
			return err
		}
		declared = tx.Undeclared()
		_, err := tx.HSet(other, k("f"), k("v"))
		require.ErrorIs(t, err, ErrTxKey)
		undeclared = tx.Undeclared()
		return nil
	})
	require.NoError(t, err)
	require.False(t, declared, "after a write to a declared key")
	require.True(t, undeclared, "after a write to an undeclared key")
}

// TestKeyIterExpireTime: the walk reports each key's expiry, strings and
// collections alike.
func TestKeyIterExpireTime(t *testing.T) {
	s, clock := openTestStore(t)
	k := func(s string) []byte { return []byte(s) }
	require.NoError(t, s.Set(k("a"), k("v")))
	_, err := s.HSet(k("b"), k("f"), k("v"))
	require.NoError(t, err)
	_, err = s.SetArgs(k("c"), k("v"), SetArgs{TTL: time.Minute})
	require.NoError(t, err)
	_, err = s.SAdd(k("d"), k("x"))
	require.NoError(t, err)
	_, err = s.Expire(k("d"), 2*time.Minute)
	require.NoError(t, err)
	ki, err := s.Keys(nil)
	require.NoError(t, err)
	got := map[string]time.Duration{}
	for ki.Next() {
		at := ki.ExpireTime()
		if at.IsZero() {
			got[string(ki.Name())] = 0
		} else {
			got[string(ki.Name())] = at.Sub(clock.Now()).Round(time.Second)
		}
	}
	require.NoError(t, ki.Close())
	require.Equal(t, map[string]time.Duration{"a": 0, "b": 0, "c": time.Minute, "d": 2 * time.Minute}, got)
}

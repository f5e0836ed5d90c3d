package collections

import (
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestTxIncrByReadsTheValueOnly: inside a transaction (EXEC, a script),
// IncrBy of a counter the Tx has not written yet makes one engine read,
// the value's, and not a second one for its expiry: the commit writes an
// increment that keeps the counter's TTL and applies only if the value is
// still the one read. What the Tx and the store show afterwards is what a
// read of both, value and expiry, gave.
func TestTxIncrByReadsTheValueOnly(t *testing.T) {
	s, clock := openTestStore(t)
	k := []byte("ctr")
	_, err := s.SetArgs(k, []byte("41"), SetArgs{TTL: time.Hour})
	require.NoError(t, err)
	exp, err := s.ExpireTime(k)
	require.NoError(t, err)
	require.False(t, exp.IsZero())

	require.NoError(t, s.Update(func(tx *Tx) error {
		n, err := tx.IncrBy(k, 1)
		require.NoError(t, err)
		require.Equal(t, int64(42), n)
		require.Equal(t, 1, tx.lookups, "engine reads of one INCR in a Tx")
		v, err := tx.Get(k) // the Tx sees its own increment
		require.NoError(t, err)
		require.Equal(t, "42", string(v))
		return nil
	}))
	requireCounter(t, s, k, "42", exp)

	// Twice in one Tx, then its TTL read in the same Tx: the second
	// increment and the TTL read see the first one and the kept expiry.
	require.NoError(t, s.Update(func(tx *Tx) error {
		for want := int64(43); want <= 44; want++ {
			n, err := tx.IncrBy(k, 1)
			require.NoError(t, err)
			require.Equal(t, want, n)
		}
		got, err := tx.ExpireTime(k)
		require.NoError(t, err)
		require.Equal(t, exp.UnixNano(), got.UnixNano())
		return nil
	}))
	requireCounter(t, s, k, "44", exp)

	// A counter without TTL stays without one.
	require.NoError(t, s.Set([]byte("plain"), []byte("-7")))
	require.NoError(t, s.Update(func(tx *Tx) error {
		n, err := tx.IncrBy([]byte("plain"), -3)
		require.Equal(t, int64(-10), n)
		return err
	}))
	requireCounter(t, s, []byte("plain"), "-10", time.Time{})

	// An overflow answers the error and writes nothing.
	require.NoError(t, s.Set([]byte("max"), []byte(strconv.FormatInt(math.MaxInt64, 10))))
	err = s.Update(func(tx *Tx) error { _, err := tx.IncrBy([]byte("max"), 1); return err })
	require.ErrorIs(t, err, ErrOverflow)
	requireCounter(t, s, []byte("max"), strconv.FormatInt(math.MaxInt64, 10), time.Time{})

	// A raw write between the Tx's read and its commit: the commit's
	// check fails, and the Tx runs again on the new value.
	runs, last := incrRacing(t, s, k, func() { require.NoError(t, s.DB().Put(k, []byte("100"))) })
	require.Equal(t, 2, runs)
	require.Equal(t, int64(101), last)
	requireCounter(t, s, k, "101", time.Time{}) // the raw Put dropped the TTL

	// The counter expires between the Tx's read and its commit: the Tx
	// runs again and creates it from 0, without TTL.
	_, err = s.SetArgs(k, []byte("5"), SetArgs{TTL: time.Second})
	require.NoError(t, err)
	runs, last = incrRacing(t, s, k, func() { clock.Advance(2 * time.Second) })
	require.Equal(t, 2, runs)
	require.Equal(t, int64(1), last)
	requireCounter(t, s, k, "1", time.Time{})
}

// requireCounter checks a string's value and expiry (zero: none).
func requireCounter(t *testing.T, s *Store, k []byte, want string, exp time.Time) {
	t.Helper()
	v, err := s.Get(k)
	require.NoError(t, err)
	require.Equal(t, want, string(v))
	got, err := s.ExpireTime(k)
	require.NoError(t, err)
	require.Equal(t, exp.UnixNano(), got.UnixNano())
}

// TestTxReadsAStringOnce: in a writing Tx, a string read once from the
// engine is read from what the Tx noted afterwards: GET and then DEL of a
// key (a lock release) make one read of the string (and DEL one of the
// name's metadata), GET and then INCR one, where each used to read it
// again. A raw write between the reads still makes the Tx run again, on
// the new value.
func TestTxReadsAStringOnce(t *testing.T) {
	s, _ := openTestStore(t)
	k := []byte("lock")
	require.NoError(t, s.Set(k, []byte("owner")))
	require.NoError(t, s.Update(func(tx *Tx) error {
		v, err := tx.GetAppend(nil, k)
		require.NoError(t, err)
		require.Equal(t, "owner", string(v))
		n, err := tx.Delete(k)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.Equal(t, 2, tx.lookups, "the string once, the metadata once")
		return nil
	}))
	_, err := s.Get(k)
	require.ErrorIs(t, err, ErrNotFound)

	require.NoError(t, s.Set(k, []byte("10")))
	require.NoError(t, s.Update(func(tx *Tx) error {
		v, err := tx.Get(k)
		require.NoError(t, err)
		n, err := tx.IncrBy(k, 1)
		require.NoError(t, err)
		require.Equal(t, "10", string(v))
		require.Equal(t, int64(11), n)
		require.Equal(t, 1, tx.lookups)
		return nil
	}))
	requireCounter(t, s, k, "11", time.Time{})

	// An absent key read twice: once.
	require.NoError(t, s.Update(func(tx *Tx) error {
		_, err := tx.Get([]byte("none"))
		require.ErrorIs(t, err, ErrNotFound)
		before := tx.lookups
		_, err = tx.Delete([]byte("none"))
		require.NoError(t, err)
		require.Equal(t, 1, tx.lookups-before, "DEL of it reads the metadata only")
		return nil
	}))

	runs := 0
	require.NoError(t, s.Update(func(tx *Tx) error {
		runs++
		v, err := tx.Get(k)
		if err != nil {
			return err
		}
		if runs == 1 {
			require.NoError(t, s.DB().Put(k, []byte("20")))
		}
		v2, err := tx.Get(k) // the Tx's one state of the key
		require.NoError(t, err)
		require.Equal(t, string(v), string(v2))
		_, err = tx.Delete(k)
		return err
	}))
	require.Equal(t, 2, runs)
	_, err = s.Get(k)
	require.ErrorIs(t, err, ErrNotFound)
}

// TestTxIncrByNewCounter: a counter the Tx creates costs the string's read
// and the probe of a collection of its name (no second read of the string),
// a collection there answers WRONGTYPE and writes nothing, and the commit
// creates the counter only if no raw write created the key meanwhile.
func TestTxIncrByNewCounter(t *testing.T) {
	s, _ := openTestStore(t)
	require.NoError(t, s.Update(func(tx *Tx) error {
		n, err := tx.IncrBy([]byte("new"), 5)
		require.NoError(t, err)
		require.Equal(t, int64(5), n)
		require.Equal(t, 2, tx.lookups, "the string's read and the collection probe")
		n, err = tx.IncrBy([]byte("new"), 1)
		require.Equal(t, int64(6), n)
		return err
	}))
	requireCounter(t, s, []byte("new"), "6", time.Time{})

	_, err := s.HSet([]byte("h"), []byte("f"), []byte("v"))
	require.NoError(t, err)
	err = s.Update(func(tx *Tx) error { _, err := tx.IncrBy([]byte("h"), 1); return err })
	require.ErrorIs(t, err, ErrWrongType)

	runs := 0
	require.NoError(t, s.Update(func(tx *Tx) error {
		runs++
		n, err := tx.IncrBy([]byte("raced"), 1)
		if err != nil {
			return err
		}
		if runs == 1 {
			require.NoError(t, s.DB().Put([]byte("raced"), []byte("41")))
		} else {
			require.Equal(t, int64(42), n)
		}
		return nil
	}))
	require.Equal(t, 2, runs)
	requireCounter(t, s, []byte("raced"), "42", time.Time{})
}

// incrRacing runs a Tx that increments k by one, with between run after
// the Tx's first read and before its commit; it returns how many times the
// Tx ran and the value its last run saw.
func incrRacing(t *testing.T, s *Store, k []byte, between func()) (runs int, last int64) {
	t.Helper()
	require.NoError(t, s.Update(func(tx *Tx) error {
		runs++
		n, err := tx.IncrBy(k, 1)
		if err != nil {
			return err
		}
		last = n
		if runs == 1 {
			between()
		}
		return nil
	}))
	return runs, last
}

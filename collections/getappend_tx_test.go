package collections

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTxGetAppend: Tx.GetAppend appends a string's value to dst, returns
// dst unchanged with ErrNotFound and ErrWrongType, notes what it read so
// that a rewrite of the string in the same Tx is applied only if no raw
// write changed it meanwhile (the Tx runs again), and allocates nothing
// with a dst that has room.
func TestTxGetAppend(t *testing.T) {
	s, _ := openTestStore(t)
	require.NoError(t, s.Set([]byte("k"), []byte("v")))
	_, err := s.HSet([]byte("h"), []byte("f"), []byte("x"))
	require.NoError(t, err)

	buf := make([]byte, 2, 64)
	copy(buf, "ab")
	require.NoError(t, s.Update(func(tx *Tx) error {
		out, err := tx.GetAppend(buf, []byte("k"))
		require.NoError(t, err)
		require.Equal(t, "abv", string(out))
		out, err = tx.GetAppend(buf, []byte("h"))
		require.ErrorIs(t, err, ErrWrongType)
		require.Equal(t, "ab", string(out))
		out, err = tx.GetAppend(buf, []byte("none"))
		require.ErrorIs(t, err, ErrNotFound)
		require.Equal(t, "ab", string(out))
		return nil
	}))

	runs := 0
	require.NoError(t, s.UpdateKeys([][]byte{[]byte("k")}, func(tx *Tx) error {
		runs++
		v, err := tx.GetAppend(nil, []byte("k"))
		if err != nil {
			return err
		}
		if runs == 1 { // a raw write after the read
			require.NoError(t, s.DB().Put([]byte("k"), []byte("raw")))
		}
		return tx.Set([]byte("k"), append(v, '+'))
	}))
	require.Equal(t, 2, runs)
	v, err := s.Get([]byte("k"))
	require.NoError(t, err)
	require.Equal(t, "raw+", string(v))

	if raceEnabled {
		return
	}
	keys := [][]byte{[]byte("k")}
	fn := func(tx *Tx) error {
		out, err := tx.GetAppend(buf[:0], []byte("k"))
		if err != nil || string(out) != "raw+" {
			t.Fatalf("GetAppend: %q, %v", out, err)
		}
		return nil
	}
	require.NoError(t, s.UpdateKeys(keys, fn))
	if n := testing.AllocsPerRun(100, func() { _ = s.UpdateKeys(keys, fn) }); n > 0 {
		t.Errorf("a Tx's GetAppend allocates %v", n)
	}
}

package collections

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestExpiryPastYear2262KeepsTheKey: an expiry beyond what an int64 of Unix
// nanoseconds holds used to wrap to a time in the past, so Expire, ExpireAt
// and SET with EXAT or EX of centuries reported success and the key was
// gone at once. The expiry is clamped to the latest one the engine holds,
// as lsm's WithTTL does.
func TestExpiryPastYear2262KeepsTheKey(t *testing.T) {
	s, clock := openTestStore(t)
	huge := time.Duration(math.MaxInt64)
	far := time.Date(2400, 1, 1, 0, 0, 0, 0, time.UTC)
	latest := time.Unix(0, math.MaxInt64)
	for name, write := range map[string]func(k []byte) error{
		"Expire of centuries": func(k []byte) error {
			require.NoError(t, s.Set(k, []byte("v")))
			ok, err := s.Expire(k, huge)
			require.True(t, ok)
			return err
		},
		"ExpireAt 2400": func(k []byte) error {
			require.NoError(t, s.Set(k, []byte("v")))
			ok, err := s.ExpireAt(k, far, 0)
			require.True(t, ok)
			return err
		},
		"ExpireAt 2400 GT": func(k []byte) error {
			require.NoError(t, s.Set(k, []byte("v")))
			_, err := s.ExpireAt(k, clock.Now().Add(time.Hour), 0)
			require.NoError(t, err)
			ok, err := s.ExpireAt(k, far, ExpireGT)
			require.True(t, ok)
			return err
		},
		"SET EX of centuries": func(k []byte) error {
			return s.Update(func(tx *Tx) error {
				_, err := tx.SetArgs(k, []byte("v"), SetArgs{TTL: huge})
				return err
			})
		},
		"SET EXAT 2400": func(k []byte) error {
			return s.Update(func(tx *Tx) error {
				_, err := tx.SetArgs(k, []byte("v"), SetArgs{ExpireAt: far})
				return err
			})
		},
	} {
		k := []byte(name)
		require.NoError(t, write(k), name)
		v, err := s.Get(k)
		require.NoError(t, err, "%s: the key must not vanish", name)
		require.Equal(t, "v", string(v))
		d, err := s.TTL(k)
		require.NoError(t, err, name)
		require.Greater(t, d, 200*365*24*time.Hour, "%s: it expires in 2262", name)
		require.WithinDuration(t, latest, clock.Now().Add(d), time.Minute, name)
	}
}

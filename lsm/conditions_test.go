package lsm

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/vfs"
)

func TestConditionsOnPutAndDelete(t *testing.T) {
	fs, clock := vfs.NewMem(), newFakeClock()
	db := openMem(t, fs, &Options{Clock: clock.Now})
	defer db.Close()
	k := []byte("k")
	require.ErrorIs(t, db.Put(k, []byte("x"), IfPresent()), ErrConditionFailed)
	require.NoError(t, db.Put(k, []byte("1"), IfAbsent(), WithTTL(time.Second)))
	require.ErrorIs(t, db.Put(k, []byte("2"), IfAbsent()), ErrConditionFailed)
	require.ErrorIs(t, db.Put(k, []byte("2"), IfValue([]byte("nope"))), ErrConditionFailed)
	require.NoError(t, db.Put(k, []byte("2"), IfValue([]byte("1")), WithTTL(time.Second)))
	clock.Advance(time.Second) // expired counts as absent
	require.ErrorIs(t, db.Put(k, []byte("3"), IfPresent()), ErrConditionFailed)
	require.ErrorIs(t, db.Delete(k, IfPresent()), ErrConditionFailed)
	require.NoError(t, db.Put(k, []byte("3"), IfAbsent()))
	require.ErrorIs(t, db.Delete(k, IfValue([]byte("2"))), ErrConditionFailed)
	require.NoError(t, db.Delete(k, IfValue([]byte("3"))))
	_, err := db.Get(k)
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorIs(t, db.PutItem([]byte("p"), []byte("s"), nil, IfPresent()), ErrConditionFailed)
	require.NoError(t, db.PutItem([]byte("p"), []byte("s"), nil, IfAbsent()))
	require.NoError(t, db.DeleteItem([]byte("p"), []byte("s"), IfPresent()))
}

func TestBatchConditionsSeeTheStateBeforeTheBatch(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, nil)
	defer db.Close()
	b := db.NewBatch()
	b.Put([]byte("a"), []byte("1"))
	b.Put([]byte("a"), []byte("2"), IfPresent()) // a is absent before the batch
	require.ErrorIs(t, db.Apply(b), ErrConditionFailed)
	_, err := db.Get([]byte("a"))
	require.ErrorIs(t, err, ErrNotFound)

	require.NoError(t, db.Put([]byte("acct"), []byte("100")))
	b = db.NewBatch()
	b.Put([]byte("acct"), []byte("90"), IfValue([]byte("100")))
	b.PutItem([]byte("log"), []byte("1"), []byte("-10"), IfAbsent())
	require.NoError(t, db.Apply(b))
	v, _ := db.Get([]byte("acct"))
	require.Equal(t, "90", string(v))
}

func TestIncrementSemantics(t *testing.T) {
	fs, clock := vfs.NewMem(), newFakeClock()
	db := openMem(t, fs, &Options{Clock: clock.Now})
	defer db.Close()
	n, err := db.Increment([]byte("c"), 5, WithTTL(time.Minute))
	require.NoError(t, err)
	require.Equal(t, int64(5), n)
	v, _ := db.Get([]byte("c"))
	require.Equal(t, "5", string(v), "stored as decimal ASCII")
	exp, _ := db.Expiry([]byte("c"))
	require.Equal(t, clock.Now().Add(time.Minute), exp)
	clock.Advance(30 * time.Second)
	n, err = db.Increment([]byte("c"), -7, WithTTL(time.Hour))
	require.NoError(t, err)
	require.Equal(t, int64(-2), n)
	exp2, _ := db.Expiry([]byte("c"))
	require.Equal(t, exp, exp2, "an existing key keeps its expiry")
	clock.Advance(time.Minute)
	n, err = db.Increment([]byte("c"), 1)
	require.NoError(t, err)
	require.Equal(t, int64(1), n, "an expired counter starts again from 0")

	for _, bad := range []string{"", "x", "1.5", " 1", "99999999999999999999"} {
		require.NoError(t, db.Put([]byte("bad"), []byte(bad)))
		_, err = db.Increment([]byte("bad"), 1)
		require.ErrorIs(t, err, ErrNotInteger, "%q", bad)
	}
	require.NoError(t, db.Put([]byte("max"), []byte("9223372036854775807")))
	_, err = db.Increment([]byte("max"), 1)
	require.ErrorIs(t, err, ErrInvalidArgument, "overflow")
	require.NoError(t, db.Put([]byte("plus"), []byte("+7")))
	n, err = db.Increment([]byte("plus"), 1)
	require.NoError(t, err)
	require.Equal(t, int64(8), n, "ParseInt accepts a sign")
}

// TestConditionalIncrement: Increment judges its condition against the
// value it increments (the one lookup of prepare), refusing with
// ErrConditionFailed and writing nothing when it fails.
func TestConditionalIncrement(t *testing.T) {
	for _, c := range []struct {
		name    string
		have    string // "" = absent
		opt     WriteOption
		want    int64
		failed  bool
		keepTTL bool
	}{
		{"IfAbsent on absent", "", IfAbsent(), 3, false, false},
		{"IfAbsent on present", "10", IfAbsent(), 0, true, false},
		{"IfPresent on present", "10", IfPresent(), 13, false, true},
		{"IfPresent on absent", "", IfPresent(), 0, true, false},
		{"IfValue equal", "10", IfValue([]byte("10")), 13, false, true},
		{"IfValue differs", "10", IfValue([]byte("11")), 0, true, false},
		{"IfValue on absent", "", IfValue([]byte("10")), 0, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs, clock := vfs.NewMem(), newFakeClock()
			db := openMem(t, fs, &Options{Clock: clock.Now})
			defer db.Close()
			k := []byte("n")
			if c.have != "" {
				require.NoError(t, db.Put(k, []byte(c.have), WithTTL(time.Hour)))
			}
			n, err := db.Increment(k, 3, c.opt)
			v, gerr := db.Get(k)
			if c.failed {
				require.ErrorIs(t, err, ErrConditionFailed)
				if c.have == "" {
					require.ErrorIs(t, gerr, ErrNotFound, "a failed increment wrote nothing")
				} else {
					require.Equal(t, c.have, string(v), "a failed increment wrote nothing")
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, n)
			require.Equal(t, fmt.Sprint(c.want), string(v))
			if c.keepTTL {
				exp, err := db.Expiry(k)
				require.NoError(t, err)
				require.Equal(t, clock.Now().Add(time.Hour), exp, "the key keeps its expiry")
			}
		})
	}
}

func TestConcurrentIncrementsAreExact(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, smallOpts(fs))
	defer db.Close()
	const workers, each = 64, 1000
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if _, err := db.Increment([]byte("counter"), 1); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	v, err := db.Get([]byte("counter"))
	require.NoError(t, err)
	require.Equal(t, fmt.Sprint(workers*each), string(v))
}

func TestLockIsNeverHeldByTwo(t *testing.T) {
	fs, clock := vfs.NewMem(), newFakeClock()
	db := openMem(t, fs, &Options{Clock: clock.Now})
	defer db.Close()
	var holders, maxHolders, acquired atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			token := []byte(fmt.Sprintf("worker-%d", w))
			for i := 0; i < 200; i++ {
				err := db.Put([]byte("lock"), token, IfAbsent(), WithTTL(time.Hour))
				if err != nil {
					require.ErrorIs(t, err, ErrConditionFailed)
					continue
				}
				acquired.Add(1)
				if h := holders.Add(1); h > maxHolders.Load() {
					maxHolders.Store(h)
				}
				holders.Add(-1)
				require.NoError(t, db.Delete([]byte("lock"), IfValue(token)))
			}
		}(w)
	}
	wg.Wait()
	require.Equal(t, int64(1), maxHolders.Load())
	require.Greater(t, acquired.Load(), int64(16))
}

// TestIncrementCanonicalInteger: with CanonicalInteger, Increment refuses a
// value strconv.ParseInt reads but FormatInt would not write, and writes
// nothing; without it the same value is incremented.
func TestIncrementCanonicalInteger(t *testing.T) {
	db := openMem(t, vfs.NewMem(), nil)
	defer db.Close()
	for _, c := range []struct {
		val   string
		canon bool
		want  int64 // after adding 1, when accepted
	}{
		{"5", true, 6},
		{"-5", true, -4},
		{"0", true, 1},
		{"9223372036854775806", true, 9223372036854775807},
		{"+5", false, 6},
		{"05", false, 6},
		{"-0", false, 1},
		{"-05", false, -4},
		{"00", false, 1},
	} {
		k := []byte("k" + c.val)
		require.NoError(t, db.Put(k, []byte(c.val)))
		n, err := db.Increment(k, 1, CanonicalInteger())
		if !c.canon {
			require.ErrorIs(t, err, ErrNotInteger, c.val)
			v, gerr := db.Get(k)
			require.NoError(t, gerr)
			require.Equal(t, c.val, string(v), "a refused Increment wrote")
			n, err = db.Increment(k, 1) // the engine's own reading accepts it
		}
		require.NoError(t, err, c.val)
		require.Equal(t, c.want, n, c.val)
	}
	n, err := db.Increment([]byte("absent"), 3, CanonicalInteger(), IfAbsent())
	require.NoError(t, err)
	require.Equal(t, int64(3), n)
	_, err = db.Increment([]byte("absent"), 3, CanonicalInteger(), IfAbsent())
	require.ErrorIs(t, err, ErrConditionFailed)
	n, err = db.Increment([]byte("absent"), 3, CanonicalInteger(), IfPresent())
	require.NoError(t, err)
	require.Equal(t, int64(6), n)
	_, err = db.Increment([]byte("nothing"), 3, CanonicalInteger(), IfPresent())
	require.ErrorIs(t, err, ErrConditionFailed)
}

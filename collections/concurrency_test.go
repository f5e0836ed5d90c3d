package collections

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestConcurrentHIncrBy: 64 goroutines x 1,000 HINCRBY of one field leave
// exactly 64,000.
func TestConcurrentHIncrBy(t *testing.T) {
	s, _ := openTestStore(t)
	g, n := 64, 1000
	if testing.Short() {
		n = 200
	}
	var wg sync.WaitGroup
	for i := 0; i < g; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < n; j++ {
				if _, err := s.HIncrBy([]byte("h"), []byte("f"), 1); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	v, err := s.HGet([]byte("h"), []byte("f"))
	require.NoError(t, err)
	require.Equal(t, fmt.Sprint(g*n), string(v))
	l, err := s.HLen([]byte("h"))
	require.NoError(t, err)
	require.EqualValues(t, 1, l)
}

// TestConcurrentIncrMixed: INCRBY through the Store, through Update and
// through the raw lsm door on one key sum exactly.
func TestConcurrentIncrMixed(t *testing.T) {
	s, _ := openTestStore(t)
	n := 500
	if testing.Short() {
		n = 100
	}
	key := []byte("counter")
	var wg sync.WaitGroup
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < n; j++ {
				var err error
				switch i % 3 {
				case 0:
					_, err = s.IncrBy(key, 1)
				case 1:
					err = s.Update(func(tx *Tx) error { _, err := tx.IncrBy(key, 1); return err })
				default:
					_, err = s.DB().Increment(key, 1)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}(i)
	}
	wg.Wait()
	v, err := s.Get(key)
	require.NoError(t, err)
	require.Equal(t, fmt.Sprint(12*n), string(v))
}

// TestConcurrentSetsAndHashes: goroutines add distinct members to shared
// sets and fields to shared hashes while others read; every write lands and
// the sizes agree with the contents.
func TestConcurrentSetsAndHashes(t *testing.T) {
	s, _ := openTestStore(t)
	n := 300
	if testing.Short() {
		n = 80
	}
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < n; j++ {
				m := []byte(fmt.Sprintf("m%d-%d", i, j))
				if _, err := s.SAdd([]byte(fmt.Sprint("set", j%3)), m); err != nil {
					t.Error(err)
					return
				}
				if _, err := s.HSet([]byte(fmt.Sprint("hash", j%2)), m, m); err != nil {
					t.Error(err)
					return
				}
				if _, err := s.SCard([]byte("set0")); err != nil {
					t.Error(err)
					return
				}
			}
		}(i)
	}
	wg.Wait()
	total := int64(0)
	for j := 0; j < 3; j++ {
		c, err := s.SCard([]byte(fmt.Sprint("set", j)))
		require.NoError(t, err)
		ms, err := s.SMembers([]byte(fmt.Sprint("set", j)))
		require.NoError(t, err)
		require.EqualValues(t, c, len(ms))
		total += c
	}
	require.EqualValues(t, 16*n, total)
	h0, err := s.HLen([]byte("hash0"))
	require.NoError(t, err)
	h1, err := s.HLen([]byte("hash1"))
	require.NoError(t, err)
	require.EqualValues(t, 16*n, h0+h1)
}

// TestConcurrentQueue: producers LPUSH distinct jobs while consumers RPOP
// and LMOVE them to a processing list and back out; at the end every job was
// taken exactly once: nothing lost, nothing duplicated.
func TestConcurrentQueue(t *testing.T) {
	s, _ := openTestStore(t)
	producers, perProducer := 8, 400
	if testing.Short() {
		perProducer = 100
	}
	total := producers * perProducer
	var mu sync.Mutex
	taken := map[string]int{}
	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for j := 0; j < perProducer; j++ {
				if _, err := s.LPush([]byte("jobs"), []byte(fmt.Sprintf("job-%d-%d", p, j))); err != nil {
					t.Error(err)
					return
				}
			}
		}(p)
	}
	var consumed sync.WaitGroup
	done := make(chan struct{})
	for c := 0; c < 8; c++ {
		consumed.Add(1)
		go func(c int) {
			defer consumed.Done()
			for {
				// Whether the producers had finished before this pop: only
				// then does an empty list mean the queue is drained (a pop
				// that found it empty before the last pushes must go on).
				var finished bool
				select {
				case <-done:
					finished = true
				default:
				}
				var v []byte
				var err error
				if c%2 == 0 {
					v, err = s.RPop([]byte("jobs"))
				} else {
					// The reliable-queue pattern: move to a processing list,
					// then remove from it once handled.
					v, err = s.LMove([]byte("jobs"), []byte(fmt.Sprint("processing", c)), false, true)
					if err == nil {
						var n int64
						n, err = s.LRem([]byte(fmt.Sprint("processing", c)), 1, v)
						if err == nil && n != 1 {
							t.Errorf("LREM of %s removed %d", v, n)
						}
					}
				}
				if err == ErrNotFound {
					if finished {
						return
					}
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				taken[string(v)]++
				mu.Unlock()
			}
		}(c)
	}
	wg.Wait()
	close(done)
	consumed.Wait()
	require.Len(t, taken, total)
	for k, n := range taken {
		require.Equal(t, 1, n, k)
	}
	n, err := s.Exists([]byte("jobs"), []byte("processing1"))
	require.NoError(t, err)
	require.Zero(t, n)
}

// TestConcurrentZIncrBy: contenders ZINCRBY the same members of one sorted
// set; every score is the exact sum and the rank index stays whole.
func TestConcurrentZIncrBy(t *testing.T) {
	s, _ := openTestStore(t)
	s.zfan = 2 // split nodes constantly
	g, n := 16, 200
	if testing.Short() {
		n = 50
	}
	var wg sync.WaitGroup
	for i := 0; i < g; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < n; j++ {
				m := []byte(fmt.Sprint("m", (i+j)%10))
				if _, err := s.ZIncrBy([]byte("z"), 1, m); err != nil {
					t.Error(err)
					return
				}
				if _, err := s.ZRank([]byte("z"), m); err != nil {
					t.Error(err)
					return
				}
			}
		}(i)
	}
	wg.Wait()
	zs, err := s.ZRange([]byte("z"), 0, -1)
	require.NoError(t, err)
	total := 0.0
	for _, z := range zs {
		total += z.Score
	}
	require.Equal(t, float64(g*n), total)
	require.Len(t, zs, 10)
	require.NoError(t, s.CheckKey([]byte("z")))
}

// TestSameStripe: SameStripe tells which keys share a lock stripe: a key
// shares its own, and a transaction holding key a makes a write of a key
// in a's stripe wait for it, while a key outside it does not wait.
func TestSameStripe(t *testing.T) {
	s, _ := openTestStore(t)
	a := []byte("a")
	require.True(t, s.SameStripe(a, a))
	var same, other []byte
	for i := 0; same == nil || other == nil; i++ {
		k := []byte(fmt.Sprintf("k%d", i))
		if s.SameStripe(a, k) {
			same = k
		} else if other == nil {
			other = k
		}
	}
	held, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.UpdateKeys([][]byte{a}, func(tx *Tx) error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	_, err := s.SAdd(other, []byte("m"))
	require.NoError(t, err, "a key outside a's stripe is written meanwhile")
	wrote := make(chan error, 1)
	go func() { _, err := s.SAdd(same, []byte("m")); wrote <- err }()
	select {
	case err := <-wrote:
		t.Fatalf("a write in a's stripe did not wait for the transaction holding a (err %v)", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	require.NoError(t, <-done)
	require.NoError(t, <-wrote)
}

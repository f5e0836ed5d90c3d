package memtable

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stratadb/strata/keys"
	"github.com/stretchr/testify/require"
)

// TestFilterSize: the filter takes a word per KiB of capacity and the
// index a 4-byte slot per 64 bytes (each rounded down to a power of two),
// in the arena, and neither exists below 1 MiB.
func TestFilterSize(t *testing.T) {
	require.Equal(t, filterMinCapacity, indexMinCapacity)
	for _, tc := range []struct {
		capacity int64
		words    uint32 // 0: no filter, no index
		slots    uint32
	}{
		{4 << 10, 0, 0},
		{filterMinCapacity - 1, 0, 0},
		{filterMinCapacity, 1024, 16384},
		{4 << 20, 4096, 65536},
		{6 << 20, 4096, 65536}, // rounded down to a power of two
		{64 << 20, 65536, 1 << 20},
	} {
		m := New(tc.capacity)
		if tc.words == 0 {
			require.Zero(t, m.filter.off, "capacity %d", tc.capacity)
			require.Zero(t, m.list.idx.off, "capacity %d", tc.capacity)
			require.Equal(t, headSize, m.Size(), "capacity %d: an empty table holds its head", tc.capacity)
		} else {
			require.Equal(t, tc.words-1, m.filter.mask, "capacity %d", tc.capacity)
			require.Equal(t, tc.slots-1, m.list.idx.mask, "capacity %d", tc.capacity)
			require.Equal(t, headSize+8*int64(tc.words)+4*int64(tc.slots), m.Size(),
				"capacity %d: the head, the filter and the index", tc.capacity)
		}
		m.Release()
	}
}

// TestFilterFindsEveryKey: every key added, by each way of adding, is
// found, in a plain and in a staged memtable; absent keys are not.
func TestFilterFindsEveryKey(t *testing.T) {
	for _, staged := range []bool{false, true} {
		t.Run(fmt.Sprintf("staged=%v", staged), func(t *testing.T) {
			var m *Memtable
			if staged {
				m = NewStaged(8<<20, 256<<10)
			} else {
				m = New(8 << 20)
			}
			defer m.Release()
			r := rand.New(rand.NewPCG(1, 2))
			var added [][]byte
			for i := range 20000 {
				k := fmt.Appendf(nil, "key-%08x", r.Uint32())
				var err error
				switch i % 2 {
				case 0:
					err = m.Add(k, keys.SeqNum(i+1), keys.KindSet, k)
				case 1:
					if staged {
						_, err = m.Prepare(EntrySize(len(k), len(k)))
						require.NoError(t, err)
					}
					err = m.AddConcurrent(k, keys.SeqNum(i+1), keys.KindSet, k)
				}
				require.NoError(t, err)
				added = append(added, k)
			}
			if staged {
				require.NoError(t, m.Finish())
			}
			for _, k := range added {
				_, v, ok := m.Get(k, keys.MaxSeq)
				require.True(t, ok, "%s", k)
				require.Equal(t, string(k), string(v))
			}
			for i := range 1000 {
				_, _, ok := m.Get(fmt.Appendf(nil, "absent-%d", i), keys.MaxSeq)
				require.False(t, ok)
			}
		})
	}
}

// TestFilterFalsePositives: of keys never added, few pass the filter at
// the density of a full memtable of 16-byte keys and 100-byte values
// (each would search the list in vain); with the filter's bits not set by
// Add, none of the added keys would be found (TestFilterFindsEveryKey).
func TestFilterFalsePositives(t *testing.T) {
	const capacity = 16 << 20
	m := New(capacity)
	defer m.Release()
	value := make([]byte, 100)
	k := make([]byte, 16)
	n := 0
	for i := uint64(0); ; i++ {
		putKey(k, 1, i)
		if err := m.Add(k, keys.SeqNum(i+1), keys.KindSet, value); err != nil {
			require.ErrorIs(t, err, ErrFull)
			break
		}
		n++
	}
	passed := 0
	const tries = 100000
	for i := uint64(0); i < tries; i++ {
		putKey(k, 2, i) // never added
		if m.filter.mayContain(&m.list.arena, filterHash(k)) {
			passed++
		}
	}
	rate := float64(passed) / tries
	t.Logf("%d keys, %.1f filter bits per key: %.2f%% of absent keys pass", n, float64(8*8*(m.filter.mask+1))/float64(n), 100*rate)
	require.Less(t, rate, 0.05, "false positive rate")
	require.Greater(t, passed, 0, "some absent keys pass: the filter is a filter, not a set")
}

// TestFilterConcurrentReaders: readers looking up keys whose Add has
// returned always find them while the writer keeps adding (run with
// -race).
func TestFilterConcurrentReaders(t *testing.T) {
	m := New(8 << 20)
	defer m.Release()
	const n = 30000
	ks := make([][]byte, n)
	for i := range ks {
		ks[i] = fmt.Appendf(nil, "k%07d", (i*7919)%n)
	}
	var done sync.WaitGroup
	published := make(chan int, n)
	var readers sync.WaitGroup
	var failed sync.Once
	var failure string
	for range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for i := range published {
				if _, _, ok := m.Get(ks[i], keys.MaxSeq); !ok {
					failed.Do(func() { failure = string(ks[i]) })
				}
			}
		}()
	}
	done.Add(1)
	go func() {
		defer done.Done()
		for i, k := range ks {
			if err := m.Add(k, keys.SeqNum(i+1), keys.KindSet, k); err != nil {
				panic(err)
			}
			published <- i
		}
		close(published)
	}()
	done.Wait()
	readers.Wait()
	require.Empty(t, failure, "a key whose Add had returned was not found")
}

// putKey writes a 16-byte key: tag, then i, big-endian.
func putKey(k []byte, tag, i uint64) {
	binary.BigEndian.PutUint64(k, tag)
	binary.BigEndian.PutUint64(k[8:], i)
}

package memtable

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/keys"
)

// concValue is the value the concurrency test's writer stores for seq, so a
// reader can check every value it sees.
func concValue(dst []byte, seq keys.SeqNum) []byte {
	dst = binary.LittleEndian.AppendUint64(dst[:0], uint64(seq))
	return append(dst, "-payload"...)
}

// TestConcurrentReadersAndWriter runs one writer inserting while 4 readers
// scan forward and backward, seek and Get in a loop. Each reader checks
// every pass is strictly sorted with correct values, holds at least the
// entries whose Add returned before it started, and still holds every entry
// an earlier pass saw; entries seen are found by Get and by SeekGE, and
// Prev/Next around them stay in order. Between full passes (one per n/8
// inserts, so the work stays bounded however the scheduler favours the
// writer or the readers) readers spot-check entries of their last pass.
func TestConcurrentReadersAndWriter(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 20_000
	}
	m := New(32 << 20)
	var done atomic.Bool
	var wg sync.WaitGroup
	errs := make([]error, 4)
	passes := make([]int, 4)
	var readersPassed atomic.Int32 // readers that finished a pass during the writes
	for r := range errs {
		wg.Go(func() {
			passes[r], errs[r] = concReader(m, &done, int64(n/8), uint64(r), func() { readersPassed.Add(1) })
		})
	}

	rng := rand.New(rand.NewPCG(99, 1))
	var ukey, value []byte
	for i := range n {
		if i == n/2 {
			// Let every reader finish a pass over a table still being
			// written, however the scheduler favours the writer.
			for readersPassed.Load() < int32(len(errs)) {
				time.Sleep(time.Millisecond)
			}
		}
		seq := keys.SeqNum(i + 1)
		// 30k distinct user keys, so many keys get several versions.
		ukey = binary.BigEndian.AppendUint32(ukey[:0], uint32(rng.IntN(30_000)))
		kind := keys.KindSet
		if rng.IntN(10) == 0 {
			kind = keys.KindDelete
		}
		value = concValue(value, seq)
		if err := m.Add(ukey, seq, kind, value); err != nil {
			done.Store(true)
			wg.Wait()
			require.NoError(t, err)
		}
	}
	done.Store(true)
	wg.Wait()
	for r, err := range errs {
		require.NoError(t, err, "reader %d", r)
		require.GreaterOrEqual(t, passes[r], 2, "reader %d did not overlap the writer", r)
	}
	require.Equal(t, int64(n), m.Count())
	require.Len(t, iterForward(m.NewIter()), n)
}

// concReader loops until done is set, then runs one final pass. It starts a
// full pass whenever every entries have been added since its last one, and
// spot-checks its last pass in between. It returns the number of full passes
// and the first inconsistency found.
func concReader(m *Memtable, done *atomic.Bool, every int64, seed uint64, firstPass func()) (int, error) {
	rng := rand.New(rand.NewPCG(seed, 7))
	it := m.NewIter()
	defer it.Close()
	var prev, cur [][]byte
	passes := 0
	lastCount := int64(-every)
	for last := false; !last; {
		last = done.Load()
		before := m.Count()
		if !last && before-lastCount < every {
			if err := spotCheck(m, it, rng, prev, 20); err != nil {
				return passes, err
			}
			// Pacing only (no outcome depends on it): leave the CPU to
			// the writer so the test's cost stays bounded on few cores.
			time.Sleep(100 * time.Microsecond)
			continue
		}
		lastCount = before
		passes++
		cur = cur[:0]
		backward := passes%2 == 0
		if backward {
			for ok := it.Last(); ok; ok = it.Prev() {
				cur = append(cur, it.Key())
			}
			slices.Reverse(cur)
		} else {
			for ok := it.First(); ok; ok = it.Next() {
				cur = append(cur, it.Key())
			}
		}
		if int64(len(cur)) < before {
			return passes, fmt.Errorf("pass %d saw %d entries, %d were added before it", passes, len(cur), before)
		}
		for i, k := range cur {
			if i > 0 && keys.Compare(cur[i-1], k) >= 0 {
				return passes, fmt.Errorf("pass %d (backward %v) out of order: %s then %s",
					passes, backward, keys.Format(cur[i-1]), keys.Format(k))
			}
		}
		// Every entry of the previous pass is still there (both sorted).
		j := 0
		for _, k := range prev {
			for j < len(cur) && keys.Compare(cur[j], k) < 0 {
				j++
			}
			if j == len(cur) || !bytes.Equal(cur[j], k) {
				return passes, fmt.Errorf("pass %d lost %s", passes, keys.Format(k))
			}
		}
		if err := spotCheck(m, it, rng, cur, 200); err != nil {
			return passes, err
		}
		if before > 0 && !last && firstPass != nil {
			firstPass() // a pass that overlapped the writer
			firstPass = nil
		}
		prev, cur = cur, prev
	}
	return passes, nil
}

// spotCheck checks k random entries of seen, a sorted list of entries that
// were all present at some earlier time: Get finds each with its value,
// SeekGE lands on it, and Prev/Next around it stay in order.
func spotCheck(m *Memtable, it *Iterator, rng *rand.Rand, seen [][]byte, k int) error {
	var want []byte
	for range k {
		if len(seen) == 0 {
			return nil
		}
		i := rng.IntN(len(seen))
		p, _ := keys.Parse(seen[i])
		kind, value, ok := m.Get(p.UserKey, p.Seq)
		if want = concValue(want, p.Seq); !ok || kind != p.Kind || !bytes.Equal(value, want) {
			return fmt.Errorf("Get(%s) = %v %x %v", keys.Format(seen[i]), kind, value, ok)
		}
		if !it.SeekGE(seen[i]) || !bytes.Equal(it.Key(), seen[i]) || !bytes.Equal(it.Value(), want) {
			return fmt.Errorf("SeekGE(%s) landed on %s", keys.Format(seen[i]), keys.Format(it.Key()))
		}
		if it.Prev() {
			// The predecessor is at least the one seen before; Next from
			// it returns seen[i] or an entry added between them.
			pk := it.Key()
			if keys.Compare(pk, seen[i]) >= 0 || (i > 0 && keys.Compare(pk, seen[i-1]) < 0) {
				return fmt.Errorf("Prev from %s landed on %s", keys.Format(seen[i]), keys.Format(pk))
			}
			if !it.Next() || keys.Compare(it.Key(), pk) <= 0 || keys.Compare(it.Key(), seen[i]) > 0 {
				return errors.New("Prev then Next did not come back to " + keys.Format(seen[i]))
			}
		} else if i != 0 {
			return fmt.Errorf("Prev from %s found nothing", keys.Format(seen[i]))
		}
	}
	return nil
}

// TestAddConcurrent has four goroutines insert at once while readers scan,
// then checks the list holds every entry exactly once, in order, and that a
// single-writer Add afterwards (whose splice the concurrent inserts made
// stale) still inserts in the right place.
func TestAddConcurrent(t *testing.T) {
	m := New(64 << 20)
	const writers, each = 4, 20000
	var wg sync.WaitGroup
	var done atomic.Bool
	var readErr atomic.Value
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !done.Load() {
			var prev []byte
			it := m.NewIter()
			for ok := it.First(); ok; ok = it.Next() {
				if prev != nil && keys.Compare(prev, it.Key()) >= 0 {
					readErr.Store(fmt.Sprintf("out of order: %s then %s", keys.Format(prev), keys.Format(it.Key())))
					return
				}
				prev = append(prev[:0], it.Key()...)
			}
		}
	}()
	var writersWG sync.WaitGroup
	for w := 0; w < writers; w++ {
		writersWG.Add(1)
		go func(w int) {
			defer writersWG.Done()
			r := rand.New(rand.NewPCG(uint64(w), 3))
			for i := 0; i < each; i++ {
				var k []byte
				if r.IntN(2) == 0 { // a long shared stem: tags that cannot hold it
					k = bytes.Repeat([]byte{0x7f}, 61+r.IntN(4))
				}
				k = binary.BigEndian.AppendUint32(k, uint32(r.IntN(5000)))
				seq := keys.SeqNum(1 + w + writers*i) // unique across writers
				if err := m.AddConcurrent(k, seq, keys.KindSet, concValue(nil, seq)); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	writersWG.Wait()
	require.NoError(t, m.Add([]byte{0xFF, 0xFF, 0xFF, 0xFF, 1}, 1<<40, keys.KindSet, nil))
	require.NoError(t, m.Add([]byte{0, 0, 0, 0}, 1<<40+1, keys.KindSet, nil))
	done.Store(true)
	wg.Wait()
	if e := readErr.Load(); e != nil {
		t.Fatal(e)
	}
	all := iterForward(m.NewIter())
	require.Len(t, all, writers*each+2)
	require.Equal(t, int64(writers*each+2), m.Count())
	for i := 1; i < len(all); i++ {
		require.Less(t, keys.Compare(all[i-1].ikey, all[i].ikey), 0)
	}
	backward := 0
	it := m.NewIter()
	for ok := it.Last(); ok; ok = it.Prev() {
		backward++
	}
	require.Equal(t, len(all), backward, "Prev walks every node despite lagging hints")
	for i := 0; i < 1000; i++ {
		p, _ := keys.Parse(all[i*len(all)/1000].ikey)
		_, v, ok := m.Get(p.UserKey, p.Seq)
		require.True(t, ok)
		if p.Seq < 1<<40 {
			require.Equal(t, concValue(nil, p.Seq), v)
		}
	}
}

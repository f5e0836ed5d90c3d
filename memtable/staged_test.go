package memtable

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/keys"
)

// stagedEntries reads every entry of m through AppendIters: the union of
// its lists, sorted, with the copies an entry has in two lists (the same
// internal key and value, mid-copy) counted once. Two different values
// under one internal key are an error.
func stagedEntries(t *testing.T, m *Memtable) model {
	t.Helper()
	var all model
	for _, it := range m.AppendIters(nil) {
		for ok := it.First(); ok; ok = it.Next() {
			all = append(all, entry{slices.Clone(it.Key()), slices.Clone(it.Value())})
		}
		require.NoError(t, it.Close())
	}
	slices.SortStableFunc(all, func(a, b entry) int { return keys.Compare(a.ikey, b.ikey) })
	out := all[:0]
	for _, e := range all {
		if n := len(out); n > 0 && bytes.Equal(out[n-1].ikey, e.ikey) {
			require.Equal(t, out[n-1].value, e.value, "two values for %s", keys.Format(e.ikey))
			continue
		}
		out = append(out, e)
	}
	return out
}

// TestStagedModel adds random entries to a staged memtable with 4 KiB
// fronts, so hundreds of fronts are sealed and copied while it runs, and
// seals or prepares at random. After each round its Gets and its lists read
// through AppendIters match a sorted model; after Finish the main list
// alone does, in every way TestModel checks, and Size has not moved.
func TestStagedModel(t *testing.T) {
	seeds, perRound := modelSize()
	for seed := range seeds {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(seed), 43))
			m := NewStaged(4<<20, 4<<10)
			var md model
			var seq keys.SeqNum
			for range 4 {
				for range perRound {
					switch r.IntN(50) {
					case 0:
						require.NoError(t, m.Seal())
					case 1:
						_, err := m.Prepare(int64(r.IntN(8 << 10)))
						require.NoError(t, err)
					}
					ukey, kind, ikey := nextEntry(r, &seq)
					i := md.seekGE(ikey)
					if i < len(md) && bytes.Equal(md[i].ikey, ikey) {
						continue // a staged memtable need not catch duplicates
					}
					value := randBytes(r, 24)
					if r.IntN(100) == 0 {
						value = randBytes(r, 10<<10) // more than a front holds
					}
					require.NoError(t, m.Add(ukey, seq, kind, value))
					md = slices.Insert(md, i, entry{ikey, value})
				}
				require.Equal(t, int64(len(md)), m.Count())
				checkGets(t, r, m, md, seq)
				requireSameEntries(t, md, stagedEntries(t, m), "AppendIters")
			}
			size := m.Size()
			require.NoError(t, m.Finish())
			require.Equal(t, size, m.Size(), "Size before Finish is what the main list holds after")
			require.Equal(t, size, int64(m.list.arena.size()))
			require.Len(t, m.AppendIters(nil), 1, "after Finish only the main list is left")
			checkAgainstModel(t, r, m, md, seq)
		})
	}
}

// TestStagedFillsExactly adds entries until ErrFull: no entry the memtable
// accepted overflows the main list when copied, the rejection came when the
// entry could not have fit at the tallest tower, and the list is filled to
// within one such entry of its capacity.
func TestStagedFillsExactly(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	m := NewStaged(1<<20, 16<<10)
	n := 0
	for ; ; n++ {
		ukey, value := randBytes(r, 20), randBytes(r, 300)
		size := m.Size()
		err := m.Add(ukey, keys.SeqNum(n+1), keys.KindSet, value)
		if err != nil {
			require.ErrorIs(t, err, ErrFull)
			require.Equal(t, size, m.Size(), "a rejected entry changes nothing")
			require.Greater(t, size+EntrySize(len(ukey), len(value)), m.Capacity())
			require.Greater(t, size+nodeSize(1, int64(len(ukey))+keys.TrailerLen)+int64(len(value)), m.Capacity()-EntrySize(20, 300),
				"rejected long before the list was full")
			break
		}
	}
	size := m.Size()
	require.NoError(t, m.Finish())
	require.Equal(t, size, int64(m.list.arena.size()))
	require.LessOrEqual(t, size, m.Capacity())
	require.Len(t, iterForward(m.NewIter()), n)
}

// TestStagedPrepareThenAddConcurrent adds groups the way the commit
// pipeline does: the writer prepares room for a group, then 4 goroutines
// insert it with AddConcurrent. Groups alternate between sizes that go
// through a front and sizes of over half a front, which go to the main
// list directly. Every entry ends up in the main list once.
func TestStagedPrepareThenAddConcurrent(t *testing.T) {
	m := NewStaged(16<<20, 64<<10)
	const groups, writers = 200, 4
	var seq atomic.Uint64
	total := 0
	for g := range groups {
		each := 20 // 80 entries of about 200 bytes: a quarter of a front
		if g%3 == 2 {
			each = 50 // 200 entries: over half a front
		}
		total += writers * each
		_, err := m.Prepare(int64(writers*each) * EntrySize(4, 16))
		require.NoError(t, err)
		require.Equal(t, each == 50, m.stage.direct.Load(), "group %d of %d entries", g, writers*each)
		var wg sync.WaitGroup
		errs := make([]error, writers)
		for w := range writers {
			wg.Go(func() {
				for range each {
					s := keys.SeqNum(seq.Add(1))
					k := binary.BigEndian.AppendUint32(nil, uint32(s*2654435761))
					if err := m.AddConcurrent(k, s, keys.KindSet, concValue(nil, s)); err != nil {
						errs[w] = err
						return
					}
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
	}
	size := m.Size()
	require.NoError(t, m.Finish())
	require.Equal(t, size, m.Size(), "Size counted every entry exactly, direct or staged")
	require.Equal(t, size, int64(m.list.arena.size()))
	all := iterForward(m.NewIter())
	require.Len(t, all, total)
	for i, e := range all {
		if i > 0 {
			require.Less(t, keys.Compare(all[i-1].ikey, e.ikey), 0)
		}
		p, _ := keys.Parse(e.ikey)
		require.Equal(t, concValue(nil, p.Seq), e.value)
	}
}

// TestStagedReadersSeeEveryAddedEntry runs readers while a writer adds
// distinct keys to a staged memtable with small fronts: every key whose Add
// returned before a reader looked is found by Get with its value, and a
// pass over AppendIters holds every such key, in order.
func TestStagedReadersSeeEveryAddedEntry(t *testing.T) {
	n := 60_000
	if testing.Short() {
		n = 15_000
	}
	m := NewStaged(32<<20, 16<<10)
	key := func(i int) []byte { return binary.BigEndian.AppendUint32(nil, uint32(i)*2654435761) }
	var added atomic.Int64 // entries 1..added have been added
	var done atomic.Bool
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for rd := range errs {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(rd), 9))
			for pass := 0; !done.Load() || pass == 0; pass++ {
				upTo := int(added.Load())
				for range 200 {
					if upTo == 0 {
						break
					}
					i := 1 + rng.IntN(upTo)
					_, v, ok := m.Get(key(i), keys.MaxSeq)
					if !ok || !bytes.Equal(v, concValue(nil, keys.SeqNum(i))) {
						errs[rd] = fmt.Errorf("Get of entry %d (of %d added): found %v, value %x", i, upTo, ok, v)
						return
					}
				}
				if pass%20 != 0 {
					continue
				}
				upTo = int(added.Load())
				seen := 0
				for _, it := range m.AppendIters(nil) {
					var prev []byte
					for ok := it.First(); ok; ok = it.Next() {
						if prev != nil && keys.Compare(prev, it.Key()) >= 0 {
							errs[rd] = fmt.Errorf("out of order: %s then %s", keys.Format(prev), keys.Format(it.Key()))
							return
						}
						prev = append(prev[:0], it.Key()...)
						seen++
					}
				}
				if seen < upTo {
					errs[rd] = fmt.Errorf("lists hold %d entries (copies included), %d were added", seen, upTo)
					return
				}
			}
		})
	}
	for i := 1; i <= n; i++ {
		if err := m.Add(key(i), keys.SeqNum(i), keys.KindSet, concValue(nil, keys.SeqNum(i))); err != nil {
			done.Store(true)
			wg.Wait()
			require.NoError(t, err)
		}
		added.Store(int64(i))
	}
	done.Store(true)
	wg.Wait()
	for rd, err := range errs {
		require.NoError(t, err, "reader %d", rd)
	}
	require.NoError(t, m.Finish())
	require.Len(t, iterForward(m.NewIter()), n)
}

// TestStagedCopyFailureKeepsEntriesReadable makes the background copy fail
// (the same internal key added to two fronts, which only the main list
// detects): Finish and the next seal report it, and both entries stay
// readable in their fronts.
func TestStagedCopyFailureKeepsEntriesReadable(t *testing.T) {
	m := NewStaged(1<<20, 4<<10)
	require.NoError(t, m.Add([]byte("k"), 5, keys.KindSet, []byte("first")))
	require.NoError(t, m.Add([]byte("other"), 6, keys.KindSet, []byte("x")))
	require.NoError(t, m.Seal())
	require.NoError(t, m.Add([]byte("k"), 5, keys.KindSet, []byte("first")))
	err := m.Finish()
	require.ErrorIs(t, err, ErrDuplicateKey)
	_, err = m.Prepare(1 << 20)
	require.ErrorIs(t, err, ErrDuplicateKey, "no more fronts once copying stopped")
	_, v, ok := m.Get([]byte("other"), keys.MaxSeq)
	require.True(t, ok)
	require.Equal(t, "x", string(v))
	_, v, ok = m.Get([]byte("k"), keys.MaxSeq)
	require.True(t, ok)
	require.Equal(t, "first", string(v))
	require.Len(t, stagedEntries(t, m), 2)
}

// TestUnstagedMemtableIgnoresStaging: Prepare, Seal and Finish do nothing
// to a memtable from New, and AppendIters gives its one list.
func TestUnstagedMemtableIgnoresStaging(t *testing.T) {
	m := New(64 << 10)
	require.NoError(t, m.Add([]byte("a"), 1, keys.KindSet, nil))
	size := m.Size()
	waited, err := m.Prepare(1 << 20)
	require.NoError(t, err)
	require.Zero(t, waited)
	require.NoError(t, m.Seal())
	require.NoError(t, m.Finish())
	require.Equal(t, size, m.Size())
	require.Len(t, m.AppendIters(nil), 1)
	require.Len(t, iterForward(m.NewIter()), 1)
}

// TestPrepareWaitsForTheCopyAndSaysHowLong holds the merger back: with two
// full fronts waiting, Prepare for a third waits until the merger copies
// one (the merger is let go once the writer waits), and reports the wait.
func TestPrepareWaitsForTheCopyAndSaysHowLong(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	testHooks.beforeCopy = func() { <-release }
	testHooks.beforeWait = func() { once.Do(func() { close(release) }) }
	defer func() { testHooks.beforeCopy, testHooks.beforeWait = nil, nil }()
	m := NewStaged(1<<20, 4<<10)
	fill := func(seq keys.SeqNum) {
		for m.stage.front.Load() == nil || m.stage.front.Load().used() < 3<<10 {
			require.NoError(t, m.Add(binary.BigEndian.AppendUint64(nil, uint64(seq)), seq, keys.KindSet, make([]byte, 100)))
			seq++
		}
	}
	fill(1)
	// 1.5 KiB does not fit beside 3 KiB in a 4 KiB front, and is under
	// half a front, which would go to the main list directly.
	waited, err := m.Prepare(3 << 9) // seals front 1: the merger takes it and blocks
	require.NoError(t, err)
	require.Zero(t, waited)
	fill(1000)
	waited, err = m.Prepare(3 << 9) // seals front 2: two are waiting now
	require.NoError(t, err)
	require.Zero(t, waited)
	fill(2000)
	waited, err = m.Prepare(3 << 9) // a third must wait for the merger
	require.NoError(t, err)
	require.Positive(t, waited)
	require.NoError(t, m.Finish())
	require.Len(t, iterForward(m.NewIter()), int(m.Count()))
}

// TestStagedSortedRuns inserts runs of entries in ascending key order with
// PrepareRun and AddSorted into a staged memtable with 64 KiB fronts: runs
// that append (every key after all the memtable holds) must switch it to
// direct inserts into the main list, runs among the existing keys must
// go through a front, and runs whose keys are not in order (AddSorted's
// contract broken) must still be inserted right. After each run its Gets
// and lists match the model, and after Finish the main list alone does.
func TestStagedSortedRuns(t *testing.T) {
	seeds, _ := modelSize()
	for seed := range seeds {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(seed), 44))
			m := NewStaged(8<<20, 64<<10)
			var md model
			var seq keys.SeqNum
			next := uint64(1 << 40) // appending keys: 1 and 8 bytes, above the random ones (0 and theirs)
			appended := 0
			for run := range 120 {
				mode := r.IntN(3) // 0: appends, 1: sorted among the keys, 2: unsorted
				n := 1 + r.IntN(80)
				var ukeys [][]byte
				for range n {
					var k []byte
					if mode == 0 {
						next += 1 + r.Uint64N(3)
						k = binary.BigEndian.AppendUint64([]byte{1}, next)
					} else {
						k = append([]byte{0}, randUserKey(r)...)
					}
					if !slices.ContainsFunc(ukeys, func(u []byte) bool { return bytes.Equal(u, k) }) {
						ukeys = append(ukeys, k)
					}
				}
				if mode != 2 {
					slices.SortFunc(ukeys, bytes.Compare)
				}
				var need int64
				values := make([][]byte, len(ukeys))
				for i, k := range ukeys {
					values[i] = randBytes(r, 40)
					need += EntrySize(len(k), len(values[i]))
				}
				appends := len(md) == 0 || bytes.Compare(keys.UserKey(md[len(md)-1].ikey), ukeys[0]) < 0
				_, err := m.PrepareRun(need, ukeys[0])
				require.NoError(t, err)
				if appends {
					appended++
					require.True(t, m.stage.direct.Load(), "run %d appends: inserted into the main list directly", run)
				}
				for i, k := range ukeys {
					seq++
					require.NoError(t, m.AddSorted(k, seq, keys.KindSet, values[i]))
					ikey := keys.MakeKey(nil, k, seq, keys.KindSet)
					md = slices.Insert(md, md.seekGE(ikey), entry{ikey, values[i]})
				}
				if !appends && mode != 2 {
					require.False(t, m.stage.direct.Load(), "run %d does not append: staged", run)
				}
				require.Equal(t, int64(len(md)), m.Count())
				if run%10 == 9 {
					checkGets(t, r, m, md, seq)
					requireSameEntries(t, md, stagedEntries(t, m), "AppendIters")
				}
			}
			require.Greater(t, appended, 10, "runs that appended")
			require.NoError(t, m.Finish())
			requireSameEntries(t, md, iterForward(m.NewIter()), "main list after Finish")
		})
	}
}

package memtable

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stratadb/strata/keys"
)

// A staged memtable (NewStaged) takes its inserts into a small front
// skiplist and has a background goroutine copy each full front into the
// main list, in key order.
//
// Why: a random insert into a big list misses the CPU cache at nearly every
// level below the top few (a 64 MiB list of 100-byte values is ~450k nodes,
// ~19 levels); an insert into a 1 MiB front stays in cache and costs less
// than half as much (BenchmarkAddStaged). Copying a front in key order
// starts each search from the last one's splice, so most of its levels
// are already in cache too. The writer pays the cheap insert; the copy runs
// on another core.
//
// Reads look in the front, then the sealed fronts newest first, then the
// main list, and stop at the first list that has a version of the key.
// That is the newest version: every entry of the front is newer than every
// entry of a sealed front, which is newer than every entry of main that was
// not copied from a front still listed as sealed (a copy is the same entry).
// The writer publishes a sealed front before the new front, and the merger
// copies a front completely before unlisting it, so a reader that loads
// front, then sealed, then searches main, never misses an entry.
//
// Sizes are exact: a copy keeps the node's tower height, so the main list
// grows by exactly the bytes the front used, and Size reports what the main
// list will hold once everything is copied, without reading it.
//
// Large writes skip the front. A group of entries needing at least half a
// front (Prepare's need) gains nothing from it: its cost is copying its
// bytes, not searching, and staging would copy them twice, through a
// front allocated for the group alone. Prepare then seals the front, waits
// until the merger has copied every sealed front, and switches the
// memtable to direct mode, where inserts go to the main list itself; the
// next smaller group starts a new front. With no front and nothing sealed,
// the main list holds every entry, so reads stay right throughout, and
// entries of a later front are newer than every entry inserted directly.

// maxSealed is how many full fronts may wait for the merger before the
// writer waits for it.
const maxSealed = 2

// headSize is the arena bytes of an empty list (its head node).
var headSize = nodeSize(maxHeight, 0)

// stage is the staging state of a staged memtable.
type stage struct {
	frontCap int64

	// front takes the inserts; nil until the first one and after Seal.
	// Stored by the writer only.
	front atomic.Pointer[skiplist]
	// sealed are the full fronts not yet copied into main, oldest first.
	// Every stored slice is new and never modified.
	sealed atomic.Pointer[[]*skiplist]
	// base is the size the main list will have once every sealed front is
	// copied into it: its head plus the bytes of every front sealed so far.
	// Stored by the writer only.
	base atomic.Int64

	// direct is set while inserts go straight to the main list (see
	// above); front is nil and nothing is sealed meanwhile. Stored by the
	// writer only.
	direct atomic.Bool

	// spare is a front the merger allocated ahead for the writer's next
	// Prepare: a new front (1 MiB in the DB) is zeroed and, fresh from the OS,
	// page-faulted in, about 100 ns per entry it will hold, which the
	// writer would otherwise pay.
	spare atomic.Pointer[skiplist]

	mu       sync.Mutex
	cond     sync.Cond // on mu: the merger unlisted a front or stopped
	running  bool      // mu: a merge goroutine is running
	finished bool      // mu: Finish was called; no spare is needed
	err      error     // mu: the merge error that stopped merging, if any
}

// NewStaged returns an empty staged memtable: its main list holds capacity
// bytes (clamped like New's), and inserts go to fronts of front bytes
// (at least 4 KiB, at most capacity) that a background goroutine copies
// into the main list. It behaves as New's memtable does, with these
// differences: the writer must call Finish once it has made its last Add
// (that also stops the goroutine); NewIter sees only what is already in the
// main list, so before Finish use AppendIters; and a duplicate internal key
// is reported by Add only when the copy of it is already in the same list.
func NewStaged(capacity, front int64) *Memtable {
	m := New(capacity)
	st := &stage{frontCap: min(max(front, minCapacity), m.capacity)}
	st.cond.L = &st.mu
	st.base.Store(int64(m.list.arena.size())) // the head, the filter and the index
	st.sealed.Store(new([]*skiplist))
	m.stage = st
	return m
}

// frontFilterBytesPer is the front bytes per byte of a front's key filter:
// one bit per 8 bytes, 16 KiB for a 1 MiB front, about 8 bits per key for
// the smallest entries (a counter's) and 20 for 100-byte values.
const frontFilterBytesPer = 64

// newFront returns an empty front skiplist that holds capacity bytes of
// head and entries. Its key filter comes on top, in the same arena: a
// lookup skips a front that has not seen its key, where a search of a 1 MiB
// front is some fifteen levels, each of up to three fronts listed at once.
func newFront(capacity int64) *skiplist {
	words := frontFilterWords(capacity)
	s := new(skiplist)
	s.init(FrontBytes(capacity), false, rand.Uint64(), rand.Uint64())
	off, _, _ := s.arena.alloc(uint64(words)*8, 0) // fits: counted above
	s.frontFilter = filter{off: off, mask: words - 1}
	return s
}

// frontFilterWords returns the number of words of the key filter of a
// front of the given capacity: a power of two, at most
// capacity/frontFilterBytesPer/8.
func frontFilterWords(capacity int64) uint32 {
	return filterWords(capacity * filterBytesPer / frontFilterBytesPer)
}

// FrontBytes returns the memory a front of a staged memtable holds (on the
// Go heap) when made for front bytes of entries: its arena, the front bytes
// plus its key filter, at most front/64 more. What NewStaged's front size
// costs per front, for a memory bound.
func FrontBytes(front int64) int64 {
	return front + 8*int64(frontFilterWords(front))
}

// fixed returns the arena bytes of s that hold no entry: its head and a
// front's filter.
func (s *skiplist) fixed() int64 {
	if s.frontFilter.off == 0 {
		return headSize
	}
	return headSize + 8*int64(s.frontFilter.mask+1)
}

// used returns the bytes of entries in s, its head and filter not counted.
func (s *skiplist) used() int64 { return int64(s.arena.size()) - s.fixed() }

// stagedSize is Size for a staged memtable: what the main list will hold
// once every front is copied into it. The front is loaded before base: a
// seal adds the front to base before it unsets the front, so a Size racing
// with a seal may count the front twice, never not at all.
func (m *Memtable) stagedSize() int64 {
	st := m.stage
	if st.direct.Load() {
		return int64(m.list.arena.size())
	}
	f := st.front.Load()
	size := st.base.Load()
	if f != nil {
		size += f.used()
	}
	return size
}

// Prepare makes sure the front can take need more bytes of entries (as
// summed by EntrySize), sealing a full front and starting a new one; a
// need of half a front or more is inserted into the main list directly
// (see above). The writer calls it before a group of AddConcurrent calls;
// Add calls it itself. It waits while maxSealed fronts wait for the merger
// (before a direct insert, until none does), and returns the merge error
// if merging stopped; waited is how long it waited. A no-op on an unstaged
// memtable.
func (m *Memtable) Prepare(need int64) (waited time.Duration, err error) {
	st := m.stage
	if st == nil {
		return 0, nil
	}
	if need >= st.frontCap/2 {
		return m.goDirect()
	}
	f := st.front.Load()
	if f != nil && int64(f.arena.size())+need <= int64(f.arena.capacity) {
		return 0, nil
	}
	if st.direct.Load() {
		// Nothing is sealed: the main list's size is base.
		st.base.Store(int64(m.list.arena.size()))
		st.direct.Store(false)
	}
	if waited, err = m.seal(maxSealed); err != nil {
		return waited, err
	}
	next := st.spare.Swap(nil)
	if next == nil || int64(next.arena.capacity)-next.fixed() < need {
		next = newFront(max(st.frontCap, need+headSize))
	}
	st.front.Store(next)
	return waited, nil
}

// PrepareRun is Prepare for a run of entries in ascending key order whose
// first user key is first, to be inserted with AddSorted: if first sorts
// after every user key in the memtable (the run appends to it, as each
// batch of a sequential load does), the run goes into the main list
// directly, as a large group does, since a front gains an appending run
// nothing: the inserts land at the end of the main list, beside the
// last, whose nodes are in cache, and staging would only copy every entry
// a second time. Otherwise it is Prepare(need). A no-op on an unstaged
// memtable. Writer only.
func (m *Memtable) PrepareRun(need int64, first []byte) (waited time.Duration, err error) {
	st := m.stage
	if st == nil {
		return 0, nil
	}
	if m.appends(first) {
		return m.goDirect()
	}
	return m.Prepare(need)
}

// appends reports whether ukey sorts after every user key of the
// memtable: after the last of the front, of each sealed front and of the
// main list.
func (m *Memtable) appends(ukey []byte) bool {
	after := func(s *skiplist) bool {
		n := s.findLast()
		if n == s.head {
			return true
		}
		k := s.arena.key(n)
		return bytes.Compare(k[:len(k)-keys.TrailerLen], ukey) < 0
	}
	st := m.stage
	if f := st.front.Load(); f != nil && !after(f) {
		return false
	}
	for _, s := range *st.sealed.Load() {
		if !after(s) {
			return false
		}
	}
	return after(&m.list)
}

// goDirect switches to direct inserts into the main list: it seals the
// front and waits until the merger has copied every sealed front.
func (m *Memtable) goDirect() (waited time.Duration, err error) {
	st := m.stage
	if st.direct.Load() {
		return 0, nil
	}
	if _, err := m.seal(-1); err != nil {
		return 0, err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.running && st.err == nil {
		start := time.Now()
		for st.running && st.err == nil {
			if testHooks.beforeWait != nil {
				testHooks.beforeWait()
			}
			st.cond.Wait()
		}
		waited = max(time.Since(start), 1)
	}
	if st.err != nil {
		return waited, st.err
	}
	st.direct.Store(true)
	return waited, nil
}

// Seal hands the front, if it holds anything, to the merger, and leaves the
// memtable without one (the next Add starts another). Writer only; it does
// not wait.
func (m *Memtable) Seal() error {
	if m.stage == nil {
		return nil
	}
	_, err := m.seal(-1)
	return err
}

// seal moves the front to the sealed list, first waiting while limit fronts
// are sealed (limit < 0: no wait), and starts the merger. It returns how
// long it waited.
func (m *Memtable) seal(limit int) (waited time.Duration, err error) {
	st := m.stage
	f := st.front.Load()
	empty := f == nil || f.used() == 0
	st.mu.Lock()
	defer st.mu.Unlock()
	if !empty && limit >= 0 && len(*st.sealed.Load()) >= limit && st.err == nil {
		start := time.Now()
		for len(*st.sealed.Load()) >= limit && st.err == nil {
			if testHooks.beforeWait != nil {
				testHooks.beforeWait()
			}
			st.cond.Wait()
		}
		waited = max(time.Since(start), 1)
	}
	if st.err != nil {
		return waited, st.err
	}
	if empty {
		return waited, nil
	}
	// Sealed before the front is replaced: a reader that no longer finds
	// f as the front finds it sealed, or copied into main. From here on
	// nothing writes to f.
	f.freeze()
	next := append(slices.Clone(*st.sealed.Load()), f)
	st.sealed.Store(&next)
	st.base.Add(f.used())
	st.front.Store(nil)
	if !st.running {
		st.running = true
		go m.mergeLoop()
	}
	return waited, nil
}

// Retire tells a staged memtable that its writer will add nothing more (it
// was rotated out): the front is sealed and the spare dropped at once, so a
// memtable waiting to be flushed does not keep fronts it no longer needs.
// It does not wait for the copy; Finish still must be called. Writer only.
func (m *Memtable) Retire() error {
	st := m.stage
	if st == nil {
		return nil
	}
	st.mu.Lock()
	st.finished = true
	st.mu.Unlock()
	st.spare.Store(nil)
	return m.Seal()
}

// Finish seals the front and waits until every front is copied into the
// main list; afterwards the memtable holds everything in its main list and
// no goroutine of it runs. The writer calls it after its last Add. It
// returns the error that stopped merging, if any; the entries then stay
// readable in their fronts.
func (m *Memtable) Finish() error {
	st := m.stage
	if st == nil {
		return nil
	}
	if err := m.Seal(); err != nil {
		return err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.finished = true
	for st.running {
		st.cond.Wait()
	}
	st.spare.Store(nil)
	return st.err
}

// mergeLoop copies sealed fronts into the main list, oldest first, until
// none is left. It alone writes to the main list while it runs.
func (m *Memtable) mergeLoop() {
	st := m.stage
	for {
		st.mu.Lock()
		sealed := *st.sealed.Load()
		if len(sealed) == 0 {
			st.running = false
			st.cond.Broadcast()
			st.mu.Unlock()
			return
		}
		spare := !st.finished && st.spare.Load() == nil
		st.mu.Unlock()

		if spare {
			st.spare.CompareAndSwap(nil, newFront(st.frontCap))
		}
		if testHooks.beforeCopy != nil {
			testHooks.beforeCopy()
		}
		err := m.list.copyFrom(sealed[0])
		sealed[0].checkFrozen()

		st.mu.Lock()
		if err != nil {
			// Leave the front listed: its entries stay readable there.
			st.err = fmt.Errorf("memtable: copying a staged front: %w", err)
			st.running = false
			st.cond.Broadcast()
			st.mu.Unlock()
			return
		}
		rest := slices.Clone((*st.sealed.Load())[1:])
		st.sealed.Store(&rest)
		st.cond.Broadcast()
		st.mu.Unlock()
	}
}

// testHooks let tests order the writer and the merger: beforeCopy runs on
// the merger before it copies a front, beforeWait on the writer (holding
// the stage's mutex) before it waits for the merger.
var testHooks struct{ beforeCopy, beforeWait func() }

// copyFrom inserts every entry of src, in key order and with its tower
// height, into s. Writer of s only; src must not change meanwhile.
func (s *skiplist) copyFrom(src *skiplist) error {
	// A node's height is the number of levels it is linked at: at[l] is
	// the next node of level l not yet passed, so walking level 0, a node
	// is on level l exactly when it is at[l].
	var at [maxHeight]uint32
	for l := range at {
		at[l] = src.arena.next(src.head, l)
	}
	for n := at[0]; n != 0; n = at[0] {
		h := 1
		for ; h < maxHeight && at[h] == n; h++ {
			at[h] = src.arena.next(n, h)
		}
		at[0] = src.arena.next(n, 0)
		k, v := src.arena.key(n), src.arena.value(n)
		ukey, trailer := k[:len(k)-keys.TrailerLen], keys.TrailerOf(k)
		if err := s.insert(ukey, trailer, v, h, true); err != nil {
			return err
		}
	}
	return nil
}

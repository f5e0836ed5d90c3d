package memtable

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"

	"github.com/stratadb/strata/internal/invariants"
	"github.com/stratadb/strata/keys"
)

// ErrFull is returned by Add when the entry does not fit in the arena;
// nothing was inserted. The caller rotates to a new memtable.
var ErrFull = errors.New("memtable: full")

// Memtable is an in-memory sorted table of internal keys and their values,
// held in one preallocated arena of fixed capacity.
//
// Concurrency: Add must be called by one goroutine at a time, which owns
// the skiplist's writer state; AddConcurrent may be called by several at
// once, but never while an Add runs (adders checks both under the
// invariants build). Prepare, Seal, Retire and Finish belong to the
// writer. Get, NewIter, iterators, Size, Capacity, Count and Empty may be
// used by any number of goroutines concurrently with the writers and with
// each other, without locks: the skiplist publishes nodes with atomic
// stores and count is atomic. capacity is immutable.
type Memtable struct {
	list     skiplist // the main list
	capacity int64
	count    atomic.Int64 // entries added; incremented after each is linked
	stage    *stage       // nil unless NewStaged; immutable
	released atomic.Bool  // Release was called
	rdel     rangeDels    // range tombstones, beside the skiplist (rangedel.go)
	filter   filter       // the user keys added, in the main list's arena (filter.go); immutable
	adders   adders       // the invariants build's count of running Adds
}

// adders counts, under the invariants build, the Add and AddConcurrent
// calls in progress, in one word so that a check and its update are one
// compare-and-swap: addSingle while an Add runs, plus one per running
// AddConcurrent. An Add that finds the word nonzero, or an AddConcurrent
// that finds addSingle set, breaks the single-writer rule and panics.
type adders struct{ n atomic.Uint32 }

const addSingle = 1 << 31

// enter records the start of an Add (concurrent false) or AddConcurrent.
func (a *adders) enter(concurrent bool) {
	if !concurrent {
		if old := a.n.Swap(addSingle); old != 0 {
			panic(fmt.Sprintf("memtable: Add concurrent with another Add or AddConcurrent (state %#x)", old))
		}
		return
	}
	for {
		old := a.n.Load()
		if old&addSingle != 0 {
			panic("memtable: AddConcurrent concurrent with Add")
		}
		if a.n.CompareAndSwap(old, old+1) {
			return
		}
	}
}

// exit records the end of an Add or AddConcurrent.
func (a *adders) exit(concurrent bool) {
	if concurrent {
		a.n.Add(^uint32(0))
	} else {
		a.n.Store(0)
	}
}

// New returns an empty memtable whose arena holds capacity bytes (node
// overhead included). capacity is clamped to [4 KiB, 4 GiB-1] (and to the
// largest slice the platform can allocate). The whole arena is reserved
// now, outside the Go heap where the platform allows (see arena), so an
// insert allocates nothing; its pages take memory as entries reach them.
// Call Release when nothing reads the memtable any more, to give the arena
// back at once.
func New(capacity int64) *Memtable {
	capacity = clampCapacity(capacity)
	m := &Memtable{capacity: capacity}
	m.list.init(capacity, true, rand.Uint64(), rand.Uint64())
	m.filter = newFilter(&m.list.arena, capacity)
	m.list.idx = newIndex(&m.list.arena, capacity)
	return m
}

// Release frees the arena of the main list. The caller guarantees that no Add runs and that nothing reads
// the memtable any more, nor any value or key it returned: afterwards every
// read of it through the memtable panics, and a value or key it returned
// may be overwritten by another memtable. A staged memtable's background
// copy is finished first. A second Release does nothing.
func (m *Memtable) Release() {
	if m.released.Swap(true) {
		return
	}
	_ = m.Finish()
	m.list.arena.free()
}

// StagingBytes returns the bytes held by a staged memtable's fronts (the
// one taking inserts, the sealed ones waiting to be copied and the spare),
// which live on the Go heap; 0 for an unstaged memtable.
func (m *Memtable) StagingBytes() int64 {
	st := m.stage
	if st == nil {
		return 0
	}
	var n int64
	if f := st.front.Load(); f != nil {
		n += int64(f.arena.capacity)
	}
	for _, s := range *st.sealed.Load() {
		n += int64(s.arena.capacity)
	}
	if s := st.spare.Load(); s != nil {
		n += int64(s.arena.capacity)
	}
	return n
}

// clampCapacity applies New's bounds.
func clampCapacity(capacity int64) int64 {
	return min(max(capacity, minCapacity), maxCapacity, math.MaxInt)
}

// EntrySize returns the arena bytes Add uses for an entry with a user key of
// keyLen bytes and a value of valueLen bytes, at most: it assumes the tallest
// tower. The caller can compare the sum over a batch with
// Capacity() - Size() to rotate before a batch that does not fit.
func EntrySize(keyLen, valueLen int) int64 {
	return nodeSize(maxHeight, int64(keyLen)+keys.TrailerLen) + int64(valueLen)
}

// Add inserts (ukey, seq, kind) -> value, copying both byte slices into the
// arena. Single writer only. It returns ErrFull if the entry does not fit,
// ErrDuplicateKey if the internal key is already present, and an error for a
// seq above keys.MaxSeq or an invalid kind; on any error nothing was
// inserted. Once Add returns nil the entry is visible to every Get and
// positioning call that starts afterwards.
func (m *Memtable) Add(ukey []byte, seq keys.SeqNum, kind keys.Kind, value []byte) error {
	return m.add(ukey, seq, kind, value, false, false)
}

// AddSorted is Add for the entries of a run in ascending internal-key order
// (a sorted batch, or one the caller sorted): each search starts from the
// last insert's neighbours and climbs only as far as the gap to the new
// key, a finger search, where Add reuses them only for a key that lands
// right after the last. Entries out of order are still inserted correctly,
// at the cost of a longer climb. Single writer only, as Add; in a staged
// memtable the writer calls Prepare or PrepareRun for the whole run first,
// as for AddConcurrent (AddSorted does not), and ErrFull means it did not.
func (m *Memtable) AddSorted(ukey []byte, seq keys.SeqNum, kind keys.Kind, value []byte) error {
	return m.add(ukey, seq, kind, value, false, true)
}

// AddConcurrent is Add for several goroutines inserting at once (never at
// the same time as Add). Internal keys must be unique; a duplicate is not
// detected.
func (m *Memtable) AddConcurrent(ukey []byte, seq keys.SeqNum, kind keys.Kind, value []byte) error {
	return m.add(ukey, seq, kind, value, true, false)
}

func (m *Memtable) add(ukey []byte, seq keys.SeqNum, kind keys.Kind, value []byte, concurrent, sorted bool) error {
	if invariants.Enabled {
		m.adders.enter(concurrent)
		defer m.adders.exit(concurrent)
	}
	if seq > keys.MaxSeq {
		return fmt.Errorf("memtable: sequence number %d above the maximum %d", seq, keys.MaxSeq)
	}
	if !kind.Valid() {
		return fmt.Errorf("memtable: invalid kind %d", uint8(kind))
	}
	// The key's filter bits are set before the entry is linked anywhere
	// (see filter). An insert that then fails leaves them set: a false
	// positive, never a false negative.
	kh := filterHash(ukey)
	m.filter.add(&m.list.arena, kh)
	list := &m.list
	if st := m.stage; st != nil {
		if !concurrent && !sorted {
			if _, err := m.Prepare(EntrySize(len(ukey), len(value))); err != nil {
				return err
			}
		}
		if !st.direct.Load() {
			if list = st.front.Load(); list == nil {
				return ErrFull // AddConcurrent without Prepare
			}
			list.frontFilter.add(&list.arena, kh) // before the entry is linked, as above
		}
	}
	var h int
	if concurrent {
		h = concurrentHeight()
	} else {
		h = list.randomHeight()
	}
	if m.stage != nil && m.stagedSize()+nodeSize(int64(h), int64(len(ukey))+keys.TrailerLen)+int64(len(value)) > m.capacity {
		return ErrFull // it would not fit in the main list once copied
	}
	var err error
	if concurrent {
		err = list.insertConcurrent(ukey, keys.Trailer(seq, kind), value, h)
	} else {
		err = list.insert(ukey, keys.Trailer(seq, kind), value, h, sorted)
	}
	if err != nil {
		return err
	}
	m.count.Add(1)
	return nil
}

// Get returns the newest version of ukey whose sequence number is <= seq:
// its kind and value. ok is false if there is none. value aliases the arena
// (capacity capped to its length) and stays valid until Release; the caller
// must not modify it. Get does one descent and allocates nothing. Range
// tombstones are not consulted (see RangeDels).
func (m *Memtable) Get(ukey []byte, seq keys.SeqNum) (kind keys.Kind, value []byte, ok bool) {
	_, kind, value, ok = m.Lookup(ukey, seq)
	return kind, value, ok
}

// Lookup is Get that also returns the version's sequence number.
func (m *Memtable) Lookup(ukey []byte, seq keys.SeqNum) (vseq keys.SeqNum, kind keys.Kind, value []byte, ok bool) {
	seq = min(seq, keys.MaxSeq)
	// Trailer seq<<8|0xff sorts before (at or above) every trailer of seq.
	sk := searchKey{ukey: ukey, trailer: uint64(seq)<<8 | 0xff}
	// Every entry, in a front or the main list (where a front's entries
	// are copied), was added through add, which set its key's filter bits
	// first: a key the filter has not seen is in no list.
	h := filterHash(ukey)
	if !m.filter.mayContain(&m.list.arena, h) {
		return 0, 0, nil, false
	}
	if st := m.stage; st != nil {
		// Newest first: the front, the sealed fronts, then main (see
		// staged.go for why the first hit is the newest version).
		f := st.front.Load()
		if f != nil && f.frontFilter.mayContain(&f.arena, h) {
			if vseq, kind, value, ok = f.get(&sk); ok {
				return vseq, kind, value, ok
			}
		}
		sealed := *st.sealed.Load()
		for i := len(sealed) - 1; i >= 0; i-- {
			if sealed[i] == f || !sealed[i].frontFilter.mayContain(&sealed[i].arena, h) {
				continue
			}
			if vseq, kind, value, ok = sealed[i].get(&sk); ok {
				return vseq, kind, value, ok
			}
		}
	}
	// The index holds the newest version linked; if it is not newer than
	// seq, it is the version a search would find (see index).
	if n, trailer, ok := m.list.idx.find(&m.list.arena, h, ukey); ok && trailer <= sk.trailer {
		if invariants.Enabled {
			m.list.checkIndexed(&sk, n)
		}
		vseq, kind = keys.SplitTrailer(trailer)
		return vseq, kind, m.list.arena.value(n), true
	}
	return m.list.get(&sk)
}

// checkIndexed panics if a search for sk finds neither node n, the one the
// index gave, nor a newer version of its key (linked since, by a writer
// racing with a read at a sequence number not yet visible in a DB).
func (s *skiplist) checkIndexed(sk *searchKey, n uint32) {
	_, ge := s.find(sk)
	if ge == n {
		return
	}
	if ge != 0 {
		got, ok := keyIs(&s.arena, ge, sk.ukey)
		if ok && got > keys.TrailerOf(s.arena.key(n)) {
			return
		}
	}
	panic(fmt.Sprintf("memtable: the index gives node %#x for %q, a search %#x", n, sk.ukey, ge))
}

// get returns the first entry at or after sk if it has sk's user key.
func (s *skiplist) get(sk *searchKey) (seq keys.SeqNum, kind keys.Kind, value []byte, ok bool) {
	_, n := s.find(sk)
	if n == 0 {
		return 0, 0, nil, false
	}
	trailer, ok := keyIs(&s.arena, n, sk.ukey)
	if !ok {
		return 0, 0, nil, false
	}
	seq, kind = keys.SplitTrailer(trailer)
	return seq, kind, s.arena.value(n), true
}

// NewIter returns an unpositioned iterator over all entries of the main
// list: every entry, except in a staged memtable before Finish returns (use
// AppendIters there). It may be used concurrently with Add (see Iterator).
func (m *Memtable) NewIter() *Iterator {
	return &Iterator{list: &m.list}
}

// AppendIters appends to dst unpositioned iterators that together cover
// every entry, newest list first: one for an unstaged memtable; for a
// staged one, one per front and one for the main list. An entry being
// copied from a front may show in two of them, as the same internal key
// with the same value.
func (m *Memtable) AppendIters(dst []keys.Iterator) []keys.Iterator {
	if st := m.stage; st != nil {
		f := st.front.Load()
		if f != nil {
			dst = append(dst, &Iterator{list: f})
		}
		sealed := *st.sealed.Load()
		for i := len(sealed) - 1; i >= 0; i-- {
			if sealed[i] != f {
				dst = append(dst, &Iterator{list: sealed[i]})
			}
		}
	}
	return append(dst, &Iterator{list: &m.list})
}

// Size returns the arena bytes in use, including the fixed overhead of the
// empty table (its head node); for a staged memtable, the bytes its main
// list will use once every front is copied into it. Safe to call
// concurrently with Add.
func (m *Memtable) Size() int64 {
	if m.stage != nil {
		return m.stagedSize() + m.rdel.bytes.Load()
	}
	return int64(m.list.arena.size()) + m.rdel.bytes.Load()
}

// Capacity returns the arena size in bytes, after New's clamping.
func (m *Memtable) Capacity() int64 { return m.capacity }

// Count returns the number of entries added, range tombstones included. Safe to call concurrently with
// Add.
func (m *Memtable) Count() int64 { return m.count.Load() }

// Empty reports whether no entry has been added.
func (m *Memtable) Empty() bool { return m.Count() == 0 }

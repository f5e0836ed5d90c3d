package collections

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stratadb/strata/lsm"
)

// Options configures a Store. The zero value of every field is its default.
type Options struct {
	// Clock is the clock TTLs are computed against. It must be the DB's
	// Options.Clock: lsm does not export the clock a DB was opened with, and
	// the Store turns absolute expiry times into the durations lsm's WithTTL
	// takes, and back. The default value is time.Now (the DB's default).
	Clock func() time.Time
	// OnTouch, if set, is called after every write that committed, with the
	// names of the keys it modified (a write that changed nothing calls it
	// not). It runs while the write still holds its keys' locks, before the
	// write returns: a server marks WATCHed keys dirty there and wakes the
	// clients blocked in BLPOP on them, and no EXEC can slip between the
	// write and the mark. It must return quickly and must not call the Store.
	// The slices are valid only during the call. The default value is none.
	OnTouch func(keys [][]byte)
	// ReclaimInterval is how often a background goroutine deletes the data
	// of collections whose TTL has passed (ReclaimExpired). The engine hides
	// an expired collection at once; this returns its space. The default
	// value is one second (Redis's active expiry runs ten times a second,
	// but a pass here costs an iterator seek even when nothing expired); a
	// negative value disables it, and ReclaimExpired may then be called by
	// hand.
	ReclaimInterval time.Duration
	// RankCacheSize bounds the memory of the in-memory mirrors of large
	// sorted sets' rank nodes (zmirror.go), which make ZRANK and ZRANGE by
	// rank walk memory rather than the engine. A mirror costs about 1/100
	// of its set's index (80 KB for a 1M-member set of 16-byte members).
	// The default value is 64 MiB; a negative value disables mirrors.
	RankCacheSize int64
	// DeleteFlushElements is how many elements range deletes may drop (DEL
	// or SET over a collection, a reclaimed expired one, LTRIM, popping
	// many), in all since the last such flush, before the Store flushes the
	// engine's memtable in the background. A range delete gives no space
	// back while it sits in the memtable: only once it is in a table does
	// the engine's compaction count the bytes it covers and compact them
	// away, and a quiet DB may take hours to fill its memtable. The flush
	// runs on a goroutine of its own; the deleting operation does not wait
	// for it. The flush costs little more than the one the memtable would
	// have had anyway when full (it writes what the memtable holds, now,
	// into a smaller table). The default value is 256 Ki (2^18) elements,
	// some 10 MiB or more on disk; a negative value disables these flushes.
	DeleteFlushElements int64
	// MetaCacheSize bounds the memory of the cache of collection metadata
	// (doc.go, "Metadata cache"): with a collection's metadata cached, a
	// read or write of it makes one engine lookup fewer. Only collections
	// without a TTL and with names of at most 38 bytes are cached. The
	// cache is arrays of 56-byte entries on the Go heap, allocated as it
	// fills, with no pointer in them; the collector's headroom (GOGC) comes
	// on top, as for any heap memory. The default value is 64 MiB (about
	// 1.2 million collections); a negative value disables the cache.
	MetaCacheSize int64
	// SoleWriter promises that the Store is the only writer of the DB: no
	// Go code writes its keys through the DB itself (db.Put, Delete, Apply
	// and the rest), and no other Store runs on it. With the promise, a
	// read of a collection whose metadata is cached skips the probe for a
	// string of the same name (a raw db.Put over a collection would make
	// it a string, doc.go), and costs one lookup: the element's. A raw
	// write made all the same may then go unseen by collection reads of
	// its name until the next write of the name through the Store. The
	// default value is false: the probe stays, exact whatever writes the
	// DB. strata-server's binary, which alone opens its DB, sets it.
	SoleWriter bool
}

// Store offers Redis's hashes, lists, sets, sorted sets and strings over an
// lsm.DB. It is safe for concurrent use. Use one Store per DB: the locks
// that make its operations atomic live in the Store.
//
// Concurrency (doc.go, "Concurrency"): every operation takes ex shared and
// the stripe locks of its keys (shared to read, exclusive to write), in
// stripe order; Update takes ex exclusive. Everything an operation writes
// goes to the engine in one batch while it holds its locks.
type Store struct {
	db    *lsm.DB
	clock func() time.Time
	touch func([][]byte)

	// ex is held shared by every operation and exclusively by Update.
	ex      sync.RWMutex
	stripes [nStripes]stripe
	seed    maphash.Seed

	// idMu guards idNext and idHigh: IDs in [idNext, idHigh) may be handed
	// out; idHigh is durable in the DB before any of them is.
	idMu           sync.Mutex
	idNext, idHigh uint64
	idLoaded       bool

	txPool sync.Pool
	// zfan overrides the rank nodes' fanout (tests make it tiny).
	zfan int
	// rdMin overrides rangeDeleteMin (tests make it tiny, so that small
	// collections take the range-delete path too).
	rdMin int64
	zc    zcache
	// mc caches collection metadata (metacache.go); sole is
	// Options.SoleWriter.
	mc   metaCache
	sole bool

	// flushEvery is Options.DeleteFlushElements (0: never); dropped counts
	// the elements range deletes dropped since the last flush it started.
	flushEvery int64
	dropped    atomic.Int64
	// rangeDels counts the range deletes the Store's Txs wrote (tests).
	rangeDels atomic.Int64
	// flushing is set while a background flush runs (at most one at once);
	// bg counts the background flushes not yet finished, so Close can wait
	// for them. bgMu orders bg.Add against Close's bg.Wait.
	flushing atomic.Bool
	bgMu     sync.Mutex
	bg       sync.WaitGroup

	closed    atomic.Bool
	closeOnce sync.Once
	stop      chan struct{}
	done      chan struct{}
}

// nStripes is the number of key locks; a power of two.
const nStripes = 1024

type stripe struct {
	sync.RWMutex
	_ [40]byte // keep neighbouring stripes off one cache line
}

// New returns a Store over db with the default Options.
func New(db *lsm.DB) *Store { return NewWithOptions(db, nil) }

// NewWithOptions returns a Store over db. opts may be nil. Unless
// opts.ReclaimInterval is negative it starts a background goroutine that
// reclaims expired collections; Close stops it (it also stops by itself once
// the DB is closed).
func NewWithOptions(db *lsm.DB, opts *Options) *Store {
	s := &Store{db: db, clock: time.Now, seed: maphash.MakeSeed(), stop: make(chan struct{}), done: make(chan struct{})}
	interval := time.Second
	s.zc.limit = 64 << 20
	s.flushEvery = 1 << 18
	metaLimit := int64(64 << 20)
	if opts != nil {
		if opts.MetaCacheSize != 0 {
			metaLimit = opts.MetaCacheSize
		}
		s.sole = opts.SoleWriter
		if opts.DeleteFlushElements != 0 {
			s.flushEvery = max(opts.DeleteFlushElements, 0)
		}
		if opts.RankCacheSize != 0 {
			s.zc.limit = int(max(opts.RankCacheSize, 0))
		}
		if opts.Clock != nil {
			s.clock = opts.Clock
		}
		s.touch = opts.OnTouch
		if opts.ReclaimInterval != 0 {
			interval = opts.ReclaimInterval
		}
	}
	s.mc.init(metaLimit)
	s.txPool.New = func() any { return &Tx{} }
	if interval > 0 {
		go s.reclaimLoop(interval)
	} else {
		close(s.done)
	}
	return s
}

// DB returns the DB the Store works on.
func (s *Store) DB() *lsm.DB { return s.db }

// Close stops the background reclaimer and waits for it and for a
// background flush (Options.DeleteFlushElements) in progress. It does not
// close the DB. Operations after Close still work (they are plain DB
// calls), but expired collections are no longer reclaimed and the memtable
// is no longer flushed after large deletes.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.bgMu.Lock()
		s.closed.Store(true)
		s.bgMu.Unlock()
		close(s.stop)
	})
	<-s.done
	s.bg.Wait()
	return nil
}

// noteDropped counts elements that committed range deletes dropped, and
// starts a background flush of the memtable when they add up to
// flushEvery since the last one.
func (s *Store) noteDropped(n int64) {
	if s.flushEvery <= 0 || s.dropped.Add(n) < s.flushEvery {
		return
	}
	if !s.flushing.CompareAndSwap(false, true) {
		return // the running flush takes this range delete too, or the next one will
	}
	s.bgMu.Lock()
	if s.closed.Load() {
		s.bgMu.Unlock()
		s.flushing.Store(false)
		return
	}
	s.bg.Add(1)
	s.bgMu.Unlock()
	// Reset before the flush starts: every range delete committed so far is
	// in the memtable it flushes.
	s.dropped.Store(0)
	go func() {
		defer s.bg.Done()
		defer s.flushing.Store(false)
		// An error (the DB closed, a failed write the engine latched) leaves
		// the space to the next flush; there is no caller to tell.
		_ = s.db.Flush()
	}()
}

func (s *Store) reclaimLoop(interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if _, err := s.ReclaimExpired(10000); errors.Is(err, lsm.ErrClosed) {
				return
			}
		}
	}
}

func (s *Store) now() time.Time { return s.clock() }

// rangeMin returns the number of elements from which data goes by range
// delete (rangeDeleteMin unless a test set rdMin).
func (s *Store) rangeMin() int64 {
	if s.rdMin > 0 {
		return s.rdMin
	}
	return rangeDeleteMin
}

// SameStripe reports whether keys a and b share one of the Store's lock
// stripes, so that a transaction holding one (a long script, say) makes an
// operation on the other wait. The stripes follow from a seed each Store
// draws, so two names may share a stripe in one process and not the next
// (1 in 1,024 pairs); a test that needs two keys to be independent picks
// them with it.
func (s *Store) SameStripe(a, b []byte) bool { return s.stripeOf(a) == s.stripeOf(b) }

func (s *Store) stripeOf(key []byte) uint32 {
	return uint32(maphash.Bytes(s.seed, key)) & (nStripes - 1)
}

// lockSet is the sorted, distinct stripes an operation holds.
type lockSet struct {
	idx   []uint32
	write bool
	all   bool // ex held exclusively: every key
	one   [4]uint32
	// many is kept for the next operation of the pooled Tx when the keys
	// outgrow one, so a run of many keys does not grow a slice each time.
	many []uint32
}

func (s *Store) lock(ls *lockSet, write bool, keys ...[]byte) {
	ls.write = write
	ls.idx = ls.one[:0]
	if len(keys) > len(ls.one) {
		if cap(ls.many) < len(keys) {
			ls.many = make([]uint32, 0, max(len(keys), 16))
		}
		ls.idx = ls.many[:0]
	}
	for _, k := range keys {
		ls.idx = append(ls.idx, s.stripeOf(k))
	}
	slices.Sort(ls.idx)
	ls.idx = slices.Compact(ls.idx)
	s.ex.RLock()
	for _, i := range ls.idx {
		if write {
			s.stripes[i].Lock()
		} else {
			s.stripes[i].RLock()
		}
	}
}

func (s *Store) unlock(ls *lockSet) {
	if ls.all {
		s.ex.Unlock()
		return
	}
	for j := len(ls.idx) - 1; j >= 0; j-- {
		if ls.write {
			s.stripes[ls.idx[j]].Unlock()
		} else {
			s.stripes[ls.idx[j]].RUnlock()
		}
	}
	s.ex.RUnlock()
}

// maxTxRetries bounds the reruns of a Tx whose string conditions failed
// because a write from outside the Store (a raw db.Put) changed a string it
// read and rewrote.
const maxTxRetries = 10000

// begin1 locks key (exclusively if write) and returns a Tx holding it. The
// caller runs its operation on the Tx and then calls end, again while end
// asks for a rerun:
//
//	var err error
//	for tx := s.begin1(true, key); ; {
//		n, err = tx.HSet(key, fv...)
//		if tx.end(&err) {
//			break
//		}
//	}
//
// (no closure, so an operation allocates nothing of its own for this).
func (s *Store) begin1(write bool, key []byte) *Tx {
	tx := s.txPool.Get().(*Tx)
	ls := &tx.lsv
	ls.write, ls.all = write, false
	ls.one[0] = s.stripeOf(key)
	ls.idx = ls.one[:1]
	s.ex.RLock()
	if write {
		s.stripes[ls.one[0]].Lock()
	} else {
		s.stripes[ls.one[0]].RLock()
	}
	tx.attempt = 0
	tx.begin(s, ls)
	return tx
}

// beginN is begin1 for several keys.
func (s *Store) beginN(write bool, keys [][]byte) *Tx {
	tx := s.txPool.Get().(*Tx)
	tx.lsv.all = false
	s.lock(&tx.lsv, write, keys...)
	tx.attempt = 0
	tx.begin(s, &tx.lsv)
	return tx
}

// beginAll takes every key (ex exclusively) for Update.
func (s *Store) beginAll() *Tx {
	tx := s.txPool.Get().(*Tx)
	tx.lsv = lockSet{write: true, all: true, many: tx.lsv.many}
	s.ex.Lock()
	tx.attempt = 0
	tx.begin(s, &tx.lsv)
	return tx
}

// end ends one run of the Tx's operation, whose outcome is *err: it commits
// the writes if there was no error, reports them to OnTouch, releases the
// locks and the Tx, and returns true; or, when the commit found a string it
// rewrote changed by a raw write, readies the Tx for another run and returns
// false. *err becomes the operation's final error.
func (tx *Tx) end(err *error) bool {
	s := tx.s
	e := *err
	if e == nil && tx.ls.write {
		e = tx.commit()
		tx.afterCommit(e == nil)
		if e == nil && tx.dropped > 0 {
			s.noteDropped(tx.dropped)
		}
	}
	if e != nil {
		// The mirrors this Tx changed hold changes that did not commit.
		for _, id := range tx.zdirty {
			s.zc.drop(id)
		}
	}
	for _, id := range tx.zdead {
		s.zc.drop(id)
	}
	if errors.Is(e, errRetry) {
		if tx.attempt < maxTxRetries {
			tx.attempt++
			runtime.Gosched()
			tx.begin(s, tx.ls)
			return false
		}
		e = fmt.Errorf("%w: collections: %d reruns lost to raw writes", lsm.ErrConditionFailed, tx.attempt)
	}
	tx.done = true
	if e == nil && len(tx.touched) > 0 && s.touch != nil {
		s.touch(tx.touched)
	}
	s.unlock(tx.ls)
	*err = e
	s.putTx(tx)
	return true
}

// abort releases a Tx whose function panicked: nothing is written.
func (tx *Tx) abort() {
	s := tx.s
	for _, id := range tx.zdirty {
		s.zc.drop(id)
	}
	tx.done = true
	s.unlock(tx.ls)
}

// run runs fn in a Tx holding the locks of keys (exclusive if write), and
// commits it.
func (s *Store) run(write bool, keys [][]byte, fn func(*Tx) error) error {
	return s.runTx(s.beginN(write, keys), fn)
}

// run1 is run for one key.
func (s *Store) run1(write bool, key []byte, fn func(*Tx) error) error {
	return s.runTx(s.begin1(write, key), fn)
}

// runTx runs fn on tx until it ends, releasing the Tx if fn panics.
func (s *Store) runTx(tx *Tx, fn func(*Tx) error) (err error) {
	ended := false
	defer func() {
		if !ended {
			tx.abort()
		}
	}()
	for {
		err = fn(tx)
		if tx.end(&err) {
			ended = true
			return err
		}
	}
}

func (s *Store) putTx(tx *Tx) {
	tx.s = nil
	tx.ls = nil
	if tx.ov.n > 1024 || cap(tx.buf) > 1<<20 {
		return // let a large one go rather than pin its memory
	}
	s.txPool.Put(tx)
}

// Update runs fn with a Tx that may read and write any key, and applies
// everything fn wrote atomically: all of it or nothing, also across a crash
// (one lsm batch, one WAL record). While fn runs no other operation of the
// Store runs (as Redis runs MULTI/EXEC and scripts). Reads inside fn see
// fn's earlier writes. If fn returns an error nothing is written and Update
// returns it. fn may be called again (with a fresh Tx) if a write from
// outside the Store (db.Put on a raw key) changed a string fn read and
// rewrote; fn must therefore leave no effects outside the Tx that a second
// run could not redo. Store methods must not be called from fn (they would
// wait for it), except Keys, Scan, DBSize and RandomKey, which take no lock
// and see what was committed before the Update, not its own writes.
func (s *Store) Update(fn func(tx *Tx) error) error {
	return s.runTx(s.beginAll(), fn)
}

// UpdateKeys is Update for a Tx that touches only keys: it locks just those,
// so operations on other keys run meanwhile. A Tx method called on any other
// key returns ErrTxKey (and nothing is written). MULTI/EXEC, whose commands
// declare their keys, can use it.
func (s *Store) UpdateKeys(keys [][]byte, fn func(tx *Tx) error) error {
	return s.run(true, keys, fn)
}

// newID returns a collection ID never handed out before in this DB.
func (s *Store) newID() (uint64, error) {
	s.idMu.Lock()
	defer s.idMu.Unlock()
	if !s.idLoaded {
		v, err := s.db.Get(idHighKey)
		switch {
		case errors.Is(err, lsm.ErrNotFound):
			s.idNext = 1
		case err != nil:
			return 0, err
		case len(v) != 8:
			return 0, corrupt("ID high-water mark", idHighKey, v)
		default:
			s.idNext = binary.BigEndian.Uint64(v)
		}
		s.idHigh = s.idNext
		s.idLoaded = true
	}
	if s.idNext >= s.idHigh {
		// Make the new mark durable in commit order before any ID below it
		// is used: a write that uses one comes later in the WAL, so if it
		// survives a crash the mark does too.
		high := s.idNext + idBlock
		if err := s.db.Put(idHighKey, binary.BigEndian.AppendUint64(nil, high)); err != nil {
			return 0, err
		}
		s.idHigh = high
	}
	id := s.idNext
	s.idNext++
	return id, nil
}

// idBlock is how many IDs one write of the high-water mark reserves.
const idBlock = 1 << 12

// ReclaimExpired deletes the data of up to max collections whose TTL has
// passed (one range delete each) and returns how many it reclaimed. The
// engine already hides them; this gives their space back to compaction. The
// background reclaimer calls it; a program that disabled that may call it.
func (s *Store) ReclaimExpired(max int) (int, error) {
	now := s.now().UnixNano()
	type entry struct {
		key  []byte
		id   uint64
		at   int64
		name []byte
	}
	it, err := s.db.NewIter(&lsm.IterOptions{LowerBound: expiryLo, UpperBound: expiryIndexKey(nil, now+1, 0)})
	if err != nil {
		return 0, err
	}
	var due []entry
	for ok := it.First(); ok && len(due) < max; ok = it.Next() {
		k := it.Key()
		if len(k) != 18 {
			continue
		}
		due = append(due, entry{key: append([]byte{}, k...), at: int64(binary.BigEndian.Uint64(k[2:])),
			id: binary.BigEndian.Uint64(k[10:]), name: append([]byte{}, it.Value()...)})
	}
	if err := it.Close(); err != nil {
		return 0, err
	}
	n := 0
	for _, e := range due {
		var reclaimed bool
		err := s.run1(true, e.name, func(tx *Tx) error {
			v, found, err := tx.getRaw(metaKey(tx.scratch(), e.name))
			if err != nil {
				return err
			}
			if found {
				m, err := decodeMeta(e.name, v)
				if err != nil {
					return err
				}
				if m.id == e.id {
					if m.idxAt == e.at {
						return nil // not expired yet in the engine's eyes (clock skew): later
					}
					tx.delRaw(e.key) // a stale entry: the TTL changed since
					return nil
				}
			}
			// The collection is gone or was replaced; its data is garbage.
			var elems int64
			v, found, err = tx.getRaw(headerKey(nil, e.id))
			if err != nil {
				return err
			}
			if found {
				elems = sizeOfHeader(v)
			}
			if err := tx.deleteData(e.id, elems); err != nil {
				return err
			}
			tx.delRaw(e.key)
			reclaimed = true
			return nil
		})
		if err != nil {
			return n, err
		}
		if reclaimed {
			n++
		}
	}
	return n, nil
}

// sizeErr is the error for a name or element over its limit.
func sizeErr(what string, n int, limit int) error {
	return fmt.Errorf("%w: collections: %s of %d bytes over %d", ErrInvalidArgument, what, n, limit)
}

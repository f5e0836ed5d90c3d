package lsm

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"time"

	"github.com/stratadb/strata/internal/batchrepr"
	"github.com/stratadb/strata/keys"
)

// Batch collects writes to apply atomically with DB.Apply. A batch is
// all-or-nothing, also across a crash. Conditions on its operations are
// judged against the state just before the batch; if any fails, nothing is
// written. A Batch belongs to one goroutine; applying it does not change its
// operations (only Results, its increments' outcome), so it may be applied
// again, or Reset and refilled.
//
// Each operation is encoded as it is added, straight into the batch's WAL
// record (package batchrepr): Apply hands that record to the commit
// pipeline as it is, which writes it to the WAL and inserts the memtable
// entries from it, with no second encoding and no copy. What is only known
// at commit is filled in then: the header's sequence number and count, and
// the expiry of an operation with a TTL (its 8 bytes are reserved in the
// record and stamped from the commit's clock).
type Batch struct {
	db       *DB
	repr     []byte      // header (filled at commit), then the entries
	count    int         // entries in repr
	n        int         // operations added since NewBatch or Reset, invalid ones included
	err      error       // the first invalid operation, reported by Apply
	ttls     []batchTTL  // the entries with a TTL
	conds    []batchCond // the operations with a condition
	condData []byte      // the values of IfValue conditions

	// incrs are the batch's increments, in the order added. Their entries
	// are not in repr: the commit leader computes each and splices it in
	// at its place (see DB.spliceIncrs). incrKeys holds their keys,
	// results their new values after an Apply, seen the leader's scratch
	// for the batch's own earlier writes.
	incrs    []batchIncr
	incrKeys []byte
	results  []int64
	seen     batchSeen
}

// batchIncr is one Increment of a batch: its entry goes at offset at of
// repr, after idx entries (the writes and increments added before it).
type batchIncr struct {
	at, idx uint32
	key     span // of incrKeys
	delta   int64
	opts    writeOpts // ttl, cond (value: val), canonInt
	val     span      // of condData, for IfValue
}

type span struct{ off, n uint32 }

// batchTTL is an entry with a TTL: its expiry, at off in repr, is written
// at commit (keys.ExpiryAt of the commit's time and ttl).
type batchTTL struct {
	off uint32
	ttl time.Duration
}

// batchCond is a condition on an operation: the key (a span of repr), the
// condition, and for condValue the value (a span of condData).
type batchCond struct {
	key  span
	cond condKind
	val  span
}

// minBatchBytes is the first allocation of a batch's record.
const minBatchBytes = 1 << 10

// maxBatchBytes bounds a batch's record (offsets into it are uint32).
const maxBatchBytes = 1<<32 - 1

// NewBatch returns an empty batch for db.
func (db *DB) NewBatch() *Batch { return &Batch{db: db} }

// reserve makes room for n more bytes of record, doubling the buffer: a
// batch filled from empty copies its bytes about once in all, where
// append's growth by a quarter for large slices copies them about four
// times. The first call also reserves the header.
func (b *Batch) reserve(n int) {
	if len(b.repr) == 0 {
		n += batchrepr.HeaderLen
	}
	if cap(b.repr)-len(b.repr) >= n {
		if len(b.repr) == 0 {
			b.repr = b.repr[:batchrepr.HeaderLen]
		}
		return
	}
	repr := make([]byte, max(len(b.repr), batchrepr.HeaderLen), max(2*cap(b.repr), len(b.repr)+n, minBatchBytes))
	copy(repr, b.repr)
	b.repr = repr
}

// begin counts an operation of key (Len counts invalid ones too) and
// reports whether it may be added: no earlier operation failed and key is
// valid (else b.err says why).
func (b *Batch) begin(key []byte) bool {
	b.n++
	if b.err != nil {
		return false
	}
	if err := checkKey(key); err != nil {
		b.err = err
		return false
	}
	return true
}

// uvarintLen returns the bytes binary.AppendUvarint writes for v.
func uvarintLen(v int) int { return (bits.Len64(uint64(v)|1) + 6) / 7 }

func (b *Batch) add(kind keys.Kind, key, value []byte, opts []WriteOption) {
	if !b.begin(key) {
		return
	}
	if len(value) > MaxValueSize {
		b.err = fmt.Errorf("%w: value of %d bytes over %d", ErrInvalidArgument, len(value), MaxValueSize)
		return
	}
	w, ok := b.mergeOpts(opts)
	if !ok {
		return
	}
	if kind == keys.KindDelete && w.ttl != 0 {
		b.err = fmt.Errorf("%w: WithTTL on a delete", ErrInvalidArgument)
		return
	}
	size := 1 + uvarintLen(len(key)) + len(key)
	if kind != keys.KindDelete {
		vlen := len(value)
		if w.ttl > 0 {
			kind, vlen = keys.KindSetExpiry, vlen+keys.ExpiryLen
		}
		size += uvarintLen(vlen) + vlen
	}
	if int64(len(b.repr))+batchrepr.HeaderLen+int64(size) > maxBatchBytes ||
		int64(len(b.condData))+int64(len(w.value)) > maxBatchBytes {
		b.err = fmt.Errorf("%w: batch over 4 GiB", ErrInvalidArgument)
		return
	}
	b.reserve(size)
	keyOff := len(b.repr) + 1 + uvarintLen(len(key))
	b.repr = batchrepr.AppendEntry(b.repr, kind, key, value, 0)
	b.count++
	if kind == keys.KindSetExpiry {
		b.ttls = append(b.ttls, batchTTL{off: uint32(len(b.repr) - len(value) - keys.ExpiryLen), ttl: w.ttl})
	}
	if w.cond != condNone {
		c := batchCond{key: span{uint32(keyOff), uint32(len(key))}, cond: w.cond}
		if w.cond == condValue {
			c.val = span{uint32(len(b.condData)), uint32(len(w.value))}
			b.condData = append(b.condData, w.value...)
		}
		b.conds = append(b.conds, c)
	}
}

// Put adds a write of key. Options: WithTTL and the conditions.
func (b *Batch) Put(key, value []byte, opts ...WriteOption) { b.add(keys.KindSet, key, value, opts) }

// Delete adds a deletion of key. Options: the conditions.
func (b *Batch) Delete(key []byte, opts ...WriteOption) { b.add(keys.KindDelete, key, nil, opts) }

// PutItem adds a write of the item (pk, sk). An empty pk is invalid, as
// DB.PutItem says.
func (b *Batch) PutItem(pk, sk, value []byte, opts ...WriteOption) {
	b.addItem(keys.KindSet, pk, sk, value, opts)
}

// DeleteItem adds a deletion of the item (pk, sk). An empty pk is invalid.
func (b *Batch) DeleteItem(pk, sk []byte, opts ...WriteOption) {
	b.addItem(keys.KindDelete, pk, sk, nil, opts)
}

func (b *Batch) addItem(kind keys.Kind, pk, sk, value []byte, opts []WriteOption) {
	key, err := itemKey(pk, sk)
	if err != nil {
		b.n++
		if b.err == nil {
			b.err = err
		}
		return
	}
	b.add(kind, key, value, opts)
}

// DeleteRange adds a deletion of every key in [start, end) (see
// DB.DeleteRange): one range tombstone, whatever the number of keys it
// covers. start >= end makes Apply return ErrInvalidArgument.
func (b *Batch) DeleteRange(start, end []byte) {
	b.n++
	if b.err != nil {
		return
	}
	if err := checkRange(start, end); err != nil {
		b.err = err
		return
	}
	size := 1 + uvarintLen(len(start)) + len(start) + uvarintLen(len(end)) + len(end)
	if int64(len(b.repr))+batchrepr.HeaderLen+int64(size) > maxBatchBytes {
		b.err = fmt.Errorf("%w: batch over 4 GiB", ErrInvalidArgument)
		return
	}
	b.reserve(size)
	b.repr = batchrepr.AppendRangeDelete(b.repr, start, end)
	b.count++
}

// checkRange validates the bounds of a range deletion: end a valid key,
// start at most MaxKeySize bytes (it may be empty: from the first key) and
// below end.
func checkRange(start, end []byte) error {
	if err := checkKey(end); err != nil {
		return fmt.Errorf("range end: %w", err)
	}
	if len(start) > MaxKeySize {
		return fmt.Errorf("%w: range start of %d bytes over %d", ErrInvalidArgument, len(start), MaxKeySize)
	}
	if string(start) >= string(end) {
		return fmt.Errorf("%w: range start %s is not below its end %s", ErrInvalidArgument, keys.Quote(start), keys.Quote(end))
	}
	return nil
}

// Increment adds an increment of the decimal int64 at key by delta, as
// DB.Increment makes one, all-or-nothing with the rest of the batch: an
// absent or expired key counts as 0 and is created (with WithTTL's expiry
// if given), an existing key keeps its expiry, and CanonicalInteger and
// the conditions apply as they do to DB.Increment. The commit leader
// computes the new value against the key's newest state, including the
// batch's own earlier writes of the key (a Put, a DeleteRange covering it,
// an earlier Increment), and writes it where the Increment stands in the
// batch. If any increment fails (ErrNotInteger, ErrInvalidArgument for an
// overflow, ErrConditionFailed), Apply returns its error and nothing of the
// batch is written. After Apply returns nil, Results holds the new values.
//
// Conditions of the batch's other operations are judged against the state
// before the batch, as always; an increment's own condition against the
// state its increment sees.
func (b *Batch) Increment(key []byte, delta int64, opts ...WriteOption) {
	if !b.begin(key) {
		return
	}
	w, ok := b.mergeOpts(opts)
	if !ok {
		return
	}
	// The entry's size at most: kind, key, value length, expiry, 20 digits.
	size := int64(1+uvarintLen(len(key))+len(key)+1+keys.ExpiryLen+20) * int64(len(b.incrs)+1)
	if int64(len(b.repr))+batchrepr.HeaderLen+size > maxBatchBytes ||
		int64(len(b.incrKeys))+int64(len(key)) > maxBatchBytes ||
		int64(len(b.condData))+int64(len(w.value)) > maxBatchBytes {
		b.err = fmt.Errorf("%w: batch over 4 GiB", ErrInvalidArgument)
		return
	}
	b.reserve(0) // the header: at is an offset past it
	in := batchIncr{at: uint32(len(b.repr)), idx: uint32(b.count), delta: delta, opts: w}
	in.key = span{uint32(len(b.incrKeys)), uint32(len(key))}
	b.incrKeys = append(b.incrKeys, key...)
	if w.cond == condValue {
		in.val = span{uint32(len(b.condData)), uint32(len(w.value))}
		b.condData = append(b.condData, w.value...)
	}
	in.opts.value = nil // the copy in condData is used
	b.incrs = append(b.incrs, in)
	b.count++
}

// mergeOpts merges an operation's options; invalid ones set b.err and
// report false.
func (b *Batch) mergeOpts(opts []WriteOption) (writeOpts, bool) {
	if len(opts) == 0 {
		return writeOpts{}, true
	}
	w, err := mergeOpts(opts)
	if err != nil {
		b.err = err
		return writeOpts{}, false
	}
	return w, true
}

// Results returns the new values of the batch's increments, one per
// Increment in the order they were added, after an Apply that returned
// nil; empty before and after a failed Apply. The slice is the batch's: valid until the next Apply
// or Reset.
func (b *Batch) Results() []int64 { return b.results }

// Len returns the number of operations added since NewBatch or the last
// Reset: every call of Put, Delete, PutItem, DeleteItem, DeleteRange and
// Increment counts once,
// a key written twice counts twice, and an invalid operation (which makes
// Apply fail) counts too. Applying the batch does not change it.
func (b *Batch) Len() int { return b.n }

// Reset empties the batch, keeping its memory for reuse.
func (b *Batch) Reset() {
	b.repr, b.count, b.n, b.err = b.repr[:0], 0, 0, nil
	b.ttls, b.conds, b.condData = b.ttls[:0], b.conds[:0], b.condData[:0]
	b.incrs, b.incrKeys, b.results = b.incrs[:0], b.incrKeys[:0], b.results[:0]
}

// bytes returns the bytes of s in p.
func (s span) bytes(p []byte) []byte { return p[s.off : s.off+s.n : s.off+s.n] }

// stamp writes the expiry of every entry with a TTL, from now: the batch's
// record is then ready to commit, once its header is set.
func (b *Batch) stamp(now time.Time) {
	for _, t := range b.ttls {
		binary.LittleEndian.PutUint64(b.repr[t.off:], uint64(keys.ExpiryAt(now, t.ttl)))
	}
}

func checkKey(key []byte) error {
	if len(key) == 0 {
		return fmt.Errorf("%w: empty key", ErrInvalidArgument)
	}
	if len(key) > MaxKeySize {
		return fmt.Errorf("%w: key of %d bytes over %d", ErrInvalidArgument, len(key), MaxKeySize)
	}
	return nil
}

// batchSeen is what the commit leader knows of a batch's own writes while
// it computes the batch's increments (DB.spliceIncrs): the entries of the
// record spliced so far, each decoded once. An increment's key is looked
// for among them newest first; past seenMapMin entries a map of each key's
// last point entry replaces the walk. Owned by the batch, used only while
// it is being applied (its goroutine waits in Apply meanwhile).
type batchSeen struct {
	entries []batchrepr.Entry // point entries and range deletions, in order; they alias the record
	ranges  []int             // indexes of the range deletions in entries
	m       map[string]int    // key -> index of its last point entry, when mapped
	mapped  bool              // past seenMapMin entries: m is in use
	off     int               // bytes of the record decoded (0: none, not even the header)
}

// seenMapMin is the number of entries from which batchSeen keeps a map.
const seenMapMin = 64

func (s *batchSeen) reset() {
	clear(s.entries)
	s.entries, s.ranges, s.off, s.mapped = s.entries[:0], s.ranges[:0], 0, false
	if len(s.m) > 4096 {
		s.m = nil
	} else if s.m != nil {
		clear(s.m)
	}
}

// find returns the last entry of rec (a record being spliced, header
// first; the bytes seen before must be unchanged) that decides key's
// state: its last point entry, or a range deletion after it covering key
// (returned as a deletion of key). ok is false if the record has none.
func (s *batchSeen) find(rec, key []byte) (e batchrepr.Entry, ok bool) {
	s.feed(rec)
	lo := 0
	if s.mapped {
		if i, found := s.m[string(key)]; found {
			e, ok, lo = s.entries[i], true, i+1
		}
		for j := len(s.ranges) - 1; j >= 0 && s.ranges[j] >= lo; j-- {
			if r := s.entries[s.ranges[j]]; covers(r, key) {
				return batchrepr.Entry{Kind: keys.KindDelete, Key: key}, true
			}
		}
		return e, ok
	}
	for i := len(s.entries) - 1; i >= 0; i-- {
		switch e := s.entries[i]; {
		case e.Kind == keys.KindRangeDelete:
			if covers(e, key) {
				return batchrepr.Entry{Kind: keys.KindDelete, Key: key}, true
			}
		case string(e.Key) == string(key):
			return e, true
		}
	}
	return e, false
}

// covers reports whether the range deletion r covers key.
func covers(r batchrepr.Entry, key []byte) bool {
	return string(r.Key) <= string(key) && string(key) < string(r.Value)
}

// feed decodes the entries of rec past those seen. rec holds only entries
// this package encoded (batchrepr.AppendEntry, AppendRangeDelete), so
// they are not checked again.
func (s *batchSeen) feed(rec []byte) {
	if s.off == 0 {
		s.off = batchrepr.HeaderLen
	}
	p := rec[s.off:]
	for len(p) > 0 {
		e := batchrepr.Entry{Kind: keys.Kind(p[0])}
		n, w := binary.Uvarint(p[1:])
		p = p[1+w:]
		e.Key, p = p[:n:n], p[n:]
		if e.Kind != keys.KindDelete {
			n, w = binary.Uvarint(p)
			p = p[w:]
			e.Value, p = p[:n:n], p[n:]
		}
		i := len(s.entries)
		s.entries = append(s.entries, e)
		switch {
		case e.Kind == keys.KindRangeDelete:
			s.ranges = append(s.ranges, i)
		case s.mapped:
			s.m[string(e.Key)] = i
		}
	}
	s.off = len(rec)
	if !s.mapped && len(s.entries) >= seenMapMin {
		if s.m == nil {
			s.m = make(map[string]int, len(s.entries))
		}
		s.mapped = true
		for i, e := range s.entries {
			if e.Kind != keys.KindRangeDelete {
				s.m[string(e.Key)] = i
			}
		}
	}
}

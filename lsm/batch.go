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
// written. A Batch belongs to one goroutine; applying it does not change it,
// so it may be applied again, or Reset and refilled.
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

// uvarintLen returns the bytes binary.AppendUvarint writes for v.
func uvarintLen(v int) int { return (bits.Len64(uint64(v)|1) + 6) / 7 }

func (b *Batch) add(kind keys.Kind, key, value []byte, opts []WriteOption) {
	b.n++
	if b.err != nil {
		return
	}
	if err := checkKey(key); err != nil {
		b.err = err
		return
	}
	if len(value) > MaxValueSize {
		b.err = fmt.Errorf("%w: value of %d bytes over %d", ErrInvalidArgument, len(value), MaxValueSize)
		return
	}
	var w writeOpts
	if len(opts) > 0 {
		var err error
		if w, err = mergeOpts(opts); err != nil {
			b.err = err
			return
		}
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

// Len returns the number of operations added since NewBatch or the last
// Reset: every call of Put, Delete, PutItem, DeleteItem and DeleteRange counts once,
// a key written twice counts twice, and an invalid operation (which makes
// Apply fail) counts too. Applying the batch does not change it.
func (b *Batch) Len() int { return b.n }

// Reset empties the batch, keeping its memory for reuse.
func (b *Batch) Reset() {
	b.repr, b.count, b.n, b.err = b.repr[:0], 0, 0, nil
	b.ttls, b.conds, b.condData = b.ttls[:0], b.conds[:0], b.condData[:0]
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

package lsm

import (
	"fmt"
	"time"

	"github.com/stratadb/strata/internal/batchrepr"
	"github.com/stratadb/strata/internal/keys"
)

// Batch collects writes to apply atomically with DB.Apply. A batch is
// all-or-nothing, also across a crash. Conditions on its operations are
// judged against the state just before the batch; if any fails, nothing is
// written. A Batch belongs to one goroutine; applying it does not change it,
// so it may be applied again, or Reset and refilled.
type Batch struct {
	db   *DB
	data []byte // copies of keys, values and condition values
	ops  []batchOp
	n    int   // operations added since NewBatch or Reset, invalid ones included
	err  error // the first invalid operation, reported by Apply
}

type span struct{ off, n uint32 }

type batchOp struct {
	kind    keys.Kind // KindSet, KindDelete or KindRangeDelete; a TTL turns a set into KindSetExpiry at commit
	key     span      // for KindRangeDelete, the start
	value   span      // for KindRangeDelete, the end
	ttl     time.Duration
	cond    condKind
	condVal span
}

// NewBatch returns an empty batch for db.
func (db *DB) NewBatch() *Batch { return &Batch{db: db} }

func (b *Batch) keep(p []byte) span {
	s := span{uint32(len(b.data)), uint32(len(p))}
	b.data = append(b.data, p...)
	return s
}

func (b *Batch) bytes(s span) []byte { return b.data[s.off : s.off+s.n : s.off+s.n] }

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
	w, err := mergeOpts(opts)
	if err != nil {
		b.err = err
		return
	}
	if kind == keys.KindDelete && w.ttl != 0 {
		b.err = fmt.Errorf("%w: WithTTL on a delete", ErrInvalidArgument)
		return
	}
	if int64(len(b.data))+int64(len(key))+int64(len(value))+int64(len(w.value)) > 1<<32-1 {
		b.err = fmt.Errorf("%w: batch over 4 GiB", ErrInvalidArgument)
		return
	}
	op := batchOp{kind: kind, key: b.keep(key), ttl: w.ttl, cond: w.cond}
	if kind != keys.KindDelete {
		op.value = b.keep(value)
	}
	if w.cond == condValue {
		op.condVal = b.keep(w.value)
	}
	b.ops = append(b.ops, op)
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
	if int64(len(b.data))+int64(len(start))+int64(len(end)) > 1<<32-1 {
		b.err = fmt.Errorf("%w: batch over 4 GiB", ErrInvalidArgument)
		return
	}
	b.ops = append(b.ops, batchOp{kind: keys.KindRangeDelete, key: b.keep(start), value: b.keep(end)})
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
	b.data, b.ops, b.n, b.err = b.data[:0], b.ops[:0], 0, nil
}

// hasConditions reports whether any operation carries a condition.
func (b *Batch) hasConditions() bool {
	for i := range b.ops {
		if b.ops[i].cond != condNone {
			return true
		}
	}
	return false
}

// encode appends the batch's entries to a repr, with expiries computed from
// now.
func (b *Batch) encode(dst []byte, now time.Time) []byte {
	for i := range b.ops {
		op := &b.ops[i]
		kind := op.kind
		if kind == keys.KindRangeDelete {
			dst = batchrepr.AppendRangeDelete(dst, b.bytes(op.key), b.bytes(op.value))
			continue
		}
		var expiry int64
		if op.ttl > 0 {
			kind = keys.KindSetExpiry
			expiry = keys.ExpiryAt(now, op.ttl)
		}
		dst = batchrepr.AppendEntry(dst, kind, b.bytes(op.key), b.bytes(op.value), expiry)
	}
	return dst
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

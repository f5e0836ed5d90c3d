package collections

import (
	"bytes"

	"github.com/stratadb/strata/lsm"
)

// txIter walks the raw keys in [lo, hi) as a Tx sees them: the engine's keys
// merged with the Tx's pending writes, without the keys it deleted (one by
// one or by range). It belongs to its Tx and must be closed.
type txIter struct {
	tx     *Tx
	lo, hi []byte
	it     *lsm.Iterator
	err    error

	dbOK bool
	ovn  *ovNode
	// cur: 0 none, 1 the engine's key, 2 the overlay's.
	cur    int
	dir    int    // +1 forward, -1 backward
	kb     []byte // scratch key
	closed bool
}

// iter returns a txIter over [lo, hi). The engine iterator behind it is
// made on first use: an operation that never positions it (a sorted-set
// write served by its mirror) pays nothing for it.
func (tx *Tx) iter(lo, hi []byte) *txIter {
	return &txIter{tx: tx, lo: lo, hi: hi}
}

// open makes the engine iterator; false if that failed (see Error) or the
// txIter was closed.
func (ti *txIter) open() bool {
	if ti.it != nil {
		return true
	}
	if ti.err != nil || ti.closed {
		return false
	}
	ti.it, ti.err = ti.tx.s.db.NewIter(&lsm.IterOptions{LowerBound: ti.lo, UpperBound: ti.hi})
	return ti.err == nil
}

func (ti *txIter) Close() error {
	ti.closed = true
	if ti.it == nil {
		return ti.err
	}
	err := ti.it.Close()
	ti.it = nil
	if ti.err != nil {
		return ti.err
	}
	return err
}

func (ti *txIter) Error() error {
	if ti.err != nil {
		return ti.err
	}
	if ti.it != nil {
		return ti.it.Error()
	}
	return nil
}

func (ti *txIter) Valid() bool { return ti.cur != 0 }

func (ti *txIter) Key() []byte {
	if ti.cur == 2 {
		return ti.ovn.key
	}
	return ti.it.Key()
}

// Value is valid until the next positioning call.
func (ti *txIter) Value() []byte {
	if ti.cur == 2 {
		return ti.ovn.val
	}
	return ti.it.Value()
}

// shadowed reports whether the Tx's own writes hide the engine's key k.
func (ti *txIter) shadowed(k []byte) bool {
	tx := ti.tx
	if tx.ov.n > 0 && tx.ov.find(k) != nil {
		return true
	}
	return len(tx.ranges) > 0 && tx.inRange(k)
}

func (ti *txIter) ovLive(n *ovNode) bool {
	return !n.del && (n.expAt == 0 || n.expAt > ti.tx.nowNs())
}

// The engine keys the Tx shadows are passed with a seek, not a step: the
// keys a Tx rewrites are often ones rewritten many times (headers, rank
// nodes), whose older versions a step would walk through.

func (ti *txIter) settleFwd() {
	for ti.dbOK && ti.shadowed(ti.it.Key()) {
		ti.kb = append(append(ti.kb[:0], ti.it.Key()...), 0)
		ti.dbOK = ti.it.SeekGE(ti.kb)
	}
	for ti.ovn != nil {
		if ti.hi != nil && bytes.Compare(ti.ovn.key, ti.hi) >= 0 {
			ti.ovn = nil
			break
		}
		if ti.ovLive(ti.ovn) {
			break
		}
		ti.ovn = ti.ovn.next[0]
	}
	switch {
	case ti.dbOK && ti.ovn != nil:
		if bytes.Compare(ti.it.Key(), ti.ovn.key) < 0 {
			ti.cur = 1
		} else {
			ti.cur = 2
		}
	case ti.dbOK:
		ti.cur = 1
	case ti.ovn != nil:
		ti.cur = 2
	default:
		ti.cur = 0
	}
}

func (ti *txIter) settleBwd() {
	for ti.dbOK && ti.shadowed(ti.it.Key()) {
		ti.kb = append(ti.kb[:0], ti.it.Key()...)
		ti.dbOK = ti.it.SeekLT(ti.kb)
	}
	for ti.ovn != nil {
		if bytes.Compare(ti.ovn.key, ti.lo) < 0 {
			ti.ovn = nil
			break
		}
		if ti.ovLive(ti.ovn) {
			break
		}
		ti.ovn = ti.ovn.prev
	}
	switch {
	case ti.dbOK && ti.ovn != nil:
		if bytes.Compare(ti.it.Key(), ti.ovn.key) > 0 {
			ti.cur = 1
		} else {
			ti.cur = 2
		}
	case ti.dbOK:
		ti.cur = 1
	case ti.ovn != nil:
		ti.cur = 2
	default:
		ti.cur = 0
	}
}

// SeekGE moves to the first key >= k (and >= lo).
func (ti *txIter) SeekGE(k []byte) bool {
	if !ti.open() {
		ti.cur = 0
		return false
	}
	if ti.lo != nil && bytes.Compare(k, ti.lo) < 0 {
		k = ti.lo
	}
	ti.dir = 1
	ti.dbOK = ti.it.SeekGE(k)
	ti.ovn = nil
	if ti.tx.ov.n > 0 {
		ti.ovn = ti.tx.ov.seekGE(k)
	}
	ti.settleFwd()
	return ti.cur != 0
}

// SeekLT moves to the last key < k (and < hi).
func (ti *txIter) SeekLT(k []byte) bool {
	if !ti.open() {
		ti.cur = 0
		return false
	}
	if k == nil || (ti.hi != nil && bytes.Compare(k, ti.hi) > 0) {
		k = ti.hi
	}
	ti.dir = -1
	if k == nil {
		ti.dbOK = ti.it.Last()
	} else {
		ti.dbOK = ti.it.SeekLT(k)
	}
	ti.ovn = nil
	if ti.tx.ov.n > 0 {
		if k == nil {
			ti.ovn = ti.tx.ov.last()
		} else {
			ti.ovn = ti.tx.ov.seekLT(k)
		}
	}
	ti.settleBwd()
	return ti.cur != 0
}

func (ti *txIter) First() bool { return ti.SeekGE(ti.lo) }

func (ti *txIter) Last() bool { return ti.SeekLT(nil) }

func (ti *txIter) Next() bool {
	if ti.cur == 0 {
		return false
	}
	if ti.dir != 1 {
		k := append(append([]byte{}, ti.Key()...), 0)
		return ti.SeekGE(k)
	}
	if ti.cur == 1 {
		ti.dbOK = ti.it.Next()
	} else {
		ti.ovn = ti.ovn.next[0]
	}
	ti.settleFwd()
	return ti.cur != 0
}

func (ti *txIter) Prev() bool {
	if ti.cur == 0 {
		return false
	}
	if ti.dir != -1 {
		k := append([]byte{}, ti.Key()...)
		return ti.SeekLT(k)
	}
	if ti.cur == 1 {
		ti.dbOK = ti.it.Prev()
	} else {
		ti.ovn = ti.ovn.prev
	}
	ti.settleBwd()
	return ti.cur != 0
}

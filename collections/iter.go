package collections

import (
	"bytes"
)

// rawIter is what Iter walks: an lsm.Iterator (from a Store method, which
// outlives the operation's locks but sees one point in time) or a txIter
// (inside a Tx, seeing its writes).
type rawIter interface {
	SeekGE([]byte) bool
	SeekLT([]byte) bool
	Next() bool
	Prev() bool
	Key() []byte
	Value() []byte
	Error() error
	Close() error
}

// Iter streams the elements of one collection without holding them all in
// memory: hash fields and values, set members, list elements, or sorted-set
// members and scores, in the collection's order. It sees the collection as
// of the moment it was made, whatever is written afterwards. Slices are
// valid until the next call of Next. An Iter belongs to one goroutine and
// must be closed (an open one keeps the DB from closing).
//
//	it, err := store.HIter(key)
//	if err != nil { ... }
//	defer it.Close()
//	for it.Next() {
//		fmt.Printf("%s=%s\n", it.Field(), it.Value())
//	}
//	if err := it.Err(); err != nil { ... }
type Iter struct {
	it      rawIter
	typ     Type
	reverse bool
	// start positions the first Next: SeekGE(start) forward, SeekLT(start)
	// backward. stop ends the walk: a key >= stop forward, < stop backward
	// (nil: the bounds of it).
	start, stop []byte
	// left is how many more elements to show; -1 for no limit. skip is how
	// many to pass over first (a LIMIT offset).
	left    int64
	skip    int64
	started bool
	done    bool
	err     error
	// filter, if set, skips keys for which it returns false.
	key, val []byte
	score    float64
}

func newIter(it rawIter, t Type, start, stop []byte, reverse bool, limit int64) *Iter {
	return &Iter{it: it, typ: t, start: start, stop: stop, reverse: reverse, left: limit}
}

// emptyIter is an Iter over nothing.
func emptyIter() *Iter { return &Iter{done: true} }

// Next moves to the next element; it returns false at the end or on an
// error (see Err).
func (x *Iter) Next() bool {
	if x.done || x.it == nil {
		return false
	}
	if x.left == 0 {
		x.done = true
		return false
	}
	var ok bool
	switch {
	case !x.started:
		x.started = true
		if x.reverse {
			ok = x.it.SeekLT(x.start)
		} else {
			ok = x.it.SeekGE(x.start)
		}
	case x.reverse:
		ok = x.it.Prev()
	default:
		ok = x.it.Next()
	}
	for {
		if ok && x.stop != nil {
			c := bytes.Compare(x.it.Key(), x.stop)
			if (!x.reverse && c >= 0) || (x.reverse && c < 0) {
				ok = false
			}
		}
		if !ok || x.skip == 0 {
			break
		}
		x.skip--
		if x.reverse {
			ok = x.it.Prev()
		} else {
			ok = x.it.Next()
		}
	}
	if !ok {
		x.done = true
		x.err = x.it.Error()
		return false
	}
	if x.left > 0 {
		x.left--
	}
	k := x.it.Key()
	switch x.typ {
	case TypeZSet:
		// A score-index key: prefix, sortable score, member.
		if len(k) < elemOff+8 {
			x.err, x.done = corrupt("score index key", nil, k), true
			return false
		}
		x.score = scoreFromSortable(k[elemOff : elemOff+8])
		x.key = k[elemOff+8:]
		x.val = nil
	case TypeList:
		x.key = nil
		x.val = x.it.Value()
	default:
		x.key = k[elemOff:]
		x.val = x.it.Value()
	}
	return true
}

// Field is the current hash field.
func (x *Iter) Field() []byte { return x.key }

// Member is the current set or sorted-set member.
func (x *Iter) Member() []byte { return x.key }

// Value is the current hash value or list element.
func (x *Iter) Value() []byte { return x.val }

// Score is the current sorted-set member's score.
func (x *Iter) Score() float64 { return x.score }

// Err returns the error that ended the iteration, if any.
func (x *Iter) Err() error { return x.err }

// Close releases the Iter. It returns Err.
func (x *Iter) Close() error {
	if x.it != nil {
		if err := x.it.Close(); err != nil && x.err == nil {
			x.err = err
		}
		x.it = nil
	}
	x.done = true
	return x.err
}

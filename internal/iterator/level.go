package iterator

import (
	"bytes"
	"sort"

	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/manifest"
)

// OpenFunc opens an iterator over one table.
type OpenFunc func(f *manifest.FileMeta) (keys.Iterator, error)

// Open calls f: an OpenFunc is an Opener.
func (f OpenFunc) Open(m *manifest.FileMeta) (keys.Iterator, error) { return f(m) }

// Opener opens iterators over the tables of a level. A caller that keeps
// its state in a struct it already has (an Opener) spares the allocation
// of a closure per level iterator.
type Opener interface {
	Open(f *manifest.FileMeta) (keys.Iterator, error)
}

// Level iterates the tables of one sorted, non-overlapping level as one
// sequence, opening a table only when the iteration reaches it and closing
// it when it moves on.
//
// A Level belongs to one goroutine.
type Level struct {
	files        []*manifest.FileMeta
	open         Opener
	lower, upper []byte // user-key bounds used to skip whole tables; nil = none
	idx          int    // index of the open table, or -1
	cur          keys.Iterator
	err          error
}

// NewLevel returns an iterator over files (sorted by key, non-overlapping).
// lower (inclusive) and upper (exclusive) are user-key bounds outside which
// tables need not be opened; the caller still enforces the bounds on keys.
func NewLevel(files []*manifest.FileMeta, open OpenFunc, lower, upper []byte) *Level {
	l := &Level{}
	l.Init(files, open, lower, upper)
	return l
}

// Init makes l an iterator over files, as NewLevel returns, in memory the
// caller provides (l must be new or closed).
func (l *Level) Init(files []*manifest.FileMeta, open Opener, lower, upper []byte) {
	*l = Level{files: files, open: open, lower: lower, upper: upper, idx: -1}
}

// inBounds reports whether file i may hold keys within the bounds.
func (l *Level) inBounds(i int) bool {
	f := l.files[i]
	if l.upper != nil && bytes.Compare(f.SmallestUserKey(), l.upper) >= 0 {
		return false
	}
	if l.lower != nil && f.EndsBefore(l.lower) {
		return false
	}
	return true
}

// load makes file i the open table; it returns false (with l.err set on
// failure) if i is out of range or outside the bounds.
func (l *Level) load(i int) bool {
	if i == l.idx && l.cur != nil {
		return true
	}
	l.closeCur()
	if i < 0 || i >= len(l.files) || !l.inBounds(i) {
		return false
	}
	it, err := l.open.Open(l.files[i])
	if err != nil {
		l.err = err
		return false
	}
	l.idx, l.cur = i, it
	return true
}

func (l *Level) closeCur() {
	if l.cur != nil {
		if err := l.cur.Close(); err != nil && l.err == nil {
			l.err = err
		}
		l.cur = nil
	}
	l.idx = -1
}

// settle checks the open table after a positioning call; on exhaustion it
// moves on to the neighbouring table in direction dir (+1 or -1).
func (l *Level) settle(ok bool, dir int) bool {
	for {
		if l.err != nil {
			return false
		}
		if ok {
			return true
		}
		if err := l.cur.Error(); err != nil {
			l.err = err
			return false
		}
		next := l.idx + dir
		if !l.load(next) {
			return false
		}
		if dir > 0 {
			ok = l.cur.First()
		} else {
			ok = l.cur.Last()
		}
	}
}

// First implements keys.Iterator.
func (l *Level) First() bool {
	l.err = nil
	i := 0
	if l.lower != nil {
		i = sort.Search(len(l.files), func(j int) bool {
			return !l.files[j].EndsBefore(l.lower)
		})
	}
	if !l.load(i) {
		return false
	}
	return l.settle(l.cur.First(), +1)
}

// Last implements keys.Iterator.
func (l *Level) Last() bool {
	l.err = nil
	i := len(l.files) - 1
	if l.upper != nil {
		i = sort.Search(len(l.files), func(j int) bool {
			return bytes.Compare(l.files[j].SmallestUserKey(), l.upper) >= 0
		}) - 1
	}
	if !l.load(i) {
		return false
	}
	return l.settle(l.cur.Last(), -1)
}

// SeekGE implements keys.Iterator.
func (l *Level) SeekGE(ikey []byte) bool {
	l.err = nil
	i := sort.Search(len(l.files), func(j int) bool {
		return keys.Compare(l.files[j].Largest, ikey) >= 0
	})
	if !l.load(i) {
		return false
	}
	return l.settle(l.cur.SeekGE(ikey), +1)
}

// SeekLT implements keys.Iterator.
func (l *Level) SeekLT(ikey []byte) bool {
	l.err = nil
	// The last file whose smallest key is < ikey.
	i := sort.Search(len(l.files), func(j int) bool {
		return keys.Compare(l.files[j].Smallest, ikey) >= 0
	}) - 1
	if !l.load(i) {
		return false
	}
	return l.settle(l.cur.SeekLT(ikey), -1)
}

// Next implements keys.Iterator.
func (l *Level) Next() bool {
	if !l.Valid() {
		return false
	}
	return l.settle(l.cur.Next(), +1)
}

// Prev implements keys.Iterator.
func (l *Level) Prev() bool {
	if !l.Valid() {
		return false
	}
	return l.settle(l.cur.Prev(), -1)
}

// Valid implements keys.Iterator.
func (l *Level) Valid() bool { return l.err == nil && l.cur != nil && l.cur.Valid() }

// Key implements keys.Iterator.
func (l *Level) Key() []byte {
	if !l.Valid() {
		return nil
	}
	return l.cur.Key()
}

// Value implements keys.Iterator.
func (l *Level) Value() []byte {
	if !l.Valid() {
		return nil
	}
	return l.cur.Value()
}

// Error implements keys.Iterator.
func (l *Level) Error() error { return l.err }

// Close implements keys.Iterator.
func (l *Level) Close() error {
	l.closeCur()
	return l.err
}

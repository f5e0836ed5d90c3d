package memtable

import "github.com/stratadb/strata/keys"

// Iterator walks a memtable's entries in internal-key order. It implements
// keys.Iterator.
//
// An Iterator belongs to one goroutine, but it may run concurrently with the
// memtable's writer and with other iterators: each positioning call sees
// every entry whose Add returned before the call started and may see entries
// being added during it, and the entries it returns are always in order.
// Key and Value alias the arena and, unlike the keys.Iterator minimum, stay
// valid as long as the memtable is reachable. No positioning call allocates.
// After Close every positioning call returns false.
type Iterator struct {
	list *skiplist // nil after Close
	nd   uint32    // current node; 0 when not positioned
}

var _ keys.Iterator = (*Iterator)(nil)

// set positions the iterator on node n unless n is the head or nil.
func (it *Iterator) set(n uint32) bool {
	if n == it.list.head {
		n = 0
	}
	it.nd = n
	return n != 0
}

// SeekGE moves to the first entry whose internal key is >= ikey (in
// keys.Compare order). ikey is not copied or retained. An ikey shorter than
// a trailer is taken as a bare user key sorting before all its versions, so
// SeekGE(nil) is First.
func (it *Iterator) SeekGE(ikey []byte) bool {
	if it.list == nil {
		return false
	}
	sk := makeSearchKey(ikey)
	_, ge := it.list.find(&sk)
	return it.set(ge)
}

// SeekLT moves to the last entry whose internal key is < ikey. ikey is not
// copied or retained; a short ikey is read as for SeekGE.
func (it *Iterator) SeekLT(ikey []byte) bool {
	if it.list == nil {
		return false
	}
	sk := makeSearchKey(ikey)
	lt, _ := it.list.find(&sk)
	return it.set(lt)
}

// First moves to the first entry.
func (it *Iterator) First() bool {
	if it.list == nil {
		return false
	}
	return it.set(it.list.arena.next(it.list.head, 0))
}

// Last moves to the last entry.
func (it *Iterator) Last() bool {
	if it.list == nil {
		return false
	}
	return it.set(it.list.findLast())
}

// Next moves to the following entry. On an unpositioned iterator it returns
// false.
func (it *Iterator) Next() bool {
	if it.nd == 0 {
		return false
	}
	return it.set(it.list.arena.next(it.nd, 0))
}

// Prev moves to the preceding entry, in O(1) expected time. On an
// unpositioned iterator it returns false.
func (it *Iterator) Prev() bool {
	if it.nd == 0 {
		return false
	}
	return it.set(it.list.prevOf(it.nd))
}

// Valid reports whether the iterator is positioned at an entry.
func (it *Iterator) Valid() bool { return it.nd != 0 }

// Key returns the current entry's internal key (user key + 8-byte trailer,
// as keys.MakeKey builds it), or nil if the iterator is not positioned. The
// slice aliases the arena; the caller must not modify it.
func (it *Iterator) Key() []byte {
	if it.nd == 0 {
		return nil
	}
	return it.list.arena.key(it.nd)
}

// Value returns the current entry's value, or nil if the iterator is not
// positioned. The slice aliases the arena; the caller must not modify it.
func (it *Iterator) Value() []byte {
	if it.nd == 0 {
		return nil
	}
	return it.list.arena.value(it.nd)
}

// Error always returns nil: a memtable iterator cannot fail.
func (it *Iterator) Error() error { return nil }

// Close releases the iterator and returns nil. Closing twice is harmless.
func (it *Iterator) Close() error {
	it.list, it.nd = nil, 0
	return nil
}

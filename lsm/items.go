package lsm

import (
	"bytes"
	"fmt"
	"time"

	"github.com/stratadb/strata/keys"
)

// ItemKey returns the raw key of the item (pk, sk). It sorts by pk bytes,
// then by sk bytes, for arbitrary bytes (0x00 and 0xFF included).
func ItemKey(pk, sk []byte) []byte { return keys.ItemKey(nil, pk, sk) }

// SplitItemKey decodes a raw key made by ItemKey. ok is false if key is not an
// item key.
func SplitItemKey(key []byte) (pk, sk []byte, ok bool) { return keys.SplitItemKey(key) }

// PartitionBounds returns the raw key range [lower, upper) that holds exactly
// the items of pk.
func PartitionBounds(pk []byte) (lower, upper []byte) { return keys.PartitionBounds(pk) }

// itemKey returns ItemKey(pk, sk), or ErrInvalidArgument for an empty
// partition key: an item needs a partition, as a plain write needs a key.
func itemKey(pk, sk []byte) ([]byte, error) {
	if len(pk) == 0 {
		return nil, fmt.Errorf("%w: empty partition key", ErrInvalidArgument)
	}
	return keys.ItemKey(nil, pk, sk), nil
}

// GetItem returns a copy of the value of the item (pk, sk). An empty pk is
// ErrInvalidArgument.
func (db *DB) GetItem(pk, sk []byte) ([]byte, error) {
	key, err := itemKey(pk, sk)
	if err != nil {
		return nil, err
	}
	return db.Get(key)
}

// Query selects the items of one partition, DynamoDB style. Every field is
// optional; nil means absent, and a non-nil empty slice is the empty sort key.
type Query struct {
	// BeginsWith keeps the sort keys starting with these bytes.
	BeginsWith []byte
	// From and To keep From <= sk <= To (BETWEEN, both inclusive).
	From, To []byte
	// Reverse returns descending sort-key order.
	Reverse bool
	// Limit returns at most this many items; 0 = no limit.
	Limit int
	// After resumes strictly after this sort key (strictly before it with
	// Reverse), as DynamoDB's ExclusiveStartKey.
	After []byte
}

// Item is one item of a partition.
type Item struct {
	PK, SK, Value []byte
	// Expiry is when the item expires; zero if never.
	Expiry time.Time
}

// Items iterates the result of a Query, like database/sql's Rows:
//
//	items := db.Query(pk, &lsm.Query{Limit: 10})
//	defer items.Close()
//	for items.Next() {
//		it := items.Item()
//		...
//	}
//	if err := items.Err(); err != nil { ... }
//
// An Items belongs to one goroutine.
type Items struct {
	it      *Iterator
	pk      []byte
	prefix  int
	reverse bool
	limit   int
	n       int
	started bool
	cur     Item
	err     error
	closed  bool
}

// Query returns the items of partition pk selected by q (nil q: the whole
// partition in sort-key order). The items are those of one point in time,
// the moment of the call. An empty pk gives Items whose Err is
// ErrInvalidArgument. A Query of a partition that a table does not hold
// reads none of that table's data blocks (partition prefixes are in the
// bloom filters).
func (db *DB) Query(pk []byte, q *Query) *Items {
	if q == nil {
		q = &Query{}
	}
	items := &Items{pk: append([]byte{}, pk...), reverse: q.Reverse, limit: q.Limit}
	if q.Limit < 0 {
		items.err = fmt.Errorf("%w: negative Limit %d", ErrInvalidArgument, q.Limit)
		return items
	}
	if len(pk) == 0 {
		items.err = fmt.Errorf("%w: empty partition key", ErrInvalidArgument)
		return items
	}
	prefix := keys.AppendPartitionPrefix(nil, pk)
	items.prefix = len(prefix)
	lower, upper := keys.PartitionBounds(pk)
	raise := func(b []byte) { // lower = max(lower, b)
		if bytes.Compare(b, lower) > 0 {
			lower = b
		}
	}
	cut := func(b []byte) { // upper = min(upper, b)
		if upper == nil || bytes.Compare(b, upper) < 0 {
			upper = b
		}
	}
	withPrefix := func(parts ...[]byte) []byte {
		k := append([]byte{}, prefix...)
		for _, p := range parts {
			k = append(k, p...)
		}
		return k
	}
	if q.BeginsWith != nil {
		lo, hi := PrefixBounds(withPrefix(q.BeginsWith))
		raise(lo)
		if hi != nil {
			cut(hi)
		}
	}
	if q.From != nil {
		raise(withPrefix(q.From))
	}
	if q.To != nil {
		cut(withPrefix(q.To, []byte{0})) // the smallest key above To
	}
	if q.After != nil {
		if q.Reverse {
			cut(withPrefix(q.After))
		} else {
			raise(withPrefix(q.After, []byte{0}))
		}
	}
	if bytes.Compare(lower, upper) >= 0 {
		upper = lower // empty range
	}
	it, err := db.newIter(&IterOptions{LowerBound: lower, UpperBound: upper}, seqLatest, nil, prefix)
	if err != nil {
		items.err = err
		return items
	}
	items.it = it
	return items
}

// Next moves to the next item; it returns false at the end or on an error.
func (r *Items) Next() bool {
	if r.err != nil || r.closed || r.it == nil {
		return false
	}
	if r.limit > 0 && r.n >= r.limit {
		return false
	}
	var ok bool
	switch {
	case !r.started && r.reverse:
		ok = r.it.Last()
	case !r.started:
		ok = r.it.First()
	case r.reverse:
		ok = r.it.Prev()
	default:
		ok = r.it.Next()
	}
	r.started = true
	if !ok {
		r.err = r.it.Error()
		return false
	}
	r.n++
	k := r.it.Key()
	r.cur = Item{PK: r.pk, SK: k[r.prefix:], Value: r.it.Value(), Expiry: r.it.expiryTime()}
	return true
}

// Item returns the current item; its slices are valid until the next call of
// Next.
func (r *Items) Item() Item { return r.cur }

// Err returns the error that ended the iteration, if any.
func (r *Items) Err() error { return r.err }

// Close releases the query's resources. It returns Err.
func (r *Items) Close() error {
	if r.closed {
		return r.err
	}
	r.closed = true
	if r.it != nil {
		if err := r.it.Close(); err != nil && r.err == nil {
			r.err = err
		}
	}
	return r.err
}

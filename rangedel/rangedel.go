package rangedel

import (
	"bytes"
	"slices"

	"github.com/stratadb/strata/keys"
)

// Tombstone deletes every version with a sequence number below Seq of every
// user key in [Start, End).
type Tombstone struct {
	Start, End []byte
	Seq        keys.SeqNum
}

// Fragment is a piece of the key space, [Start, End), with the sequence
// numbers of every tombstone that covers all of it, newest first. A version
// of a key in the piece is deleted for a reader at sequence number r when
// some Seqs[i] <= r is above the version's sequence number.
type Fragment struct {
	Start, End []byte
	Seqs       []keys.SeqNum // strictly descending, at least one
}

// List is a sequence of fragments sorted by Start that do not overlap:
// every fragment's End is at most the next one's Start. The zero List is
// empty. A List is immutable once built; readers share it without locks.
type List []Fragment

// Build fragments tombstones given in any order: the result splits the key
// space at every start and end, so that each fragment carries the sequence
// numbers of the tombstones covering it. Neighbouring fragments with the
// same sequence numbers are joined. Tombstones with Start >= End are
// ignored. The fragments alias the tombstones' keys.
func Build(ts []Tombstone) List {
	if len(ts) == 0 {
		return nil
	}
	bounds := make([][]byte, 0, 2*len(ts))
	live := make([]Tombstone, 0, len(ts))
	for _, t := range ts {
		if bytes.Compare(t.Start, t.End) < 0 {
			live = append(live, t)
			bounds = append(bounds, t.Start, t.End)
		}
	}
	if len(live) == 0 {
		return nil
	}
	slices.SortFunc(bounds, bytes.Compare)
	bounds = slices.CompactFunc(bounds, bytes.Equal)
	slices.SortFunc(live, func(a, b Tombstone) int { return bytes.Compare(a.Start, b.Start) })
	var out List
	var active []Tombstone
	next := 0
	for i := 0; i+1 < len(bounds); i++ {
		lo, hi := bounds[i], bounds[i+1]
		// Drop the tombstones that end at or before lo, add those starting at lo.
		active = slices.DeleteFunc(active, func(t Tombstone) bool { return bytes.Compare(t.End, lo) <= 0 })
		for next < len(live) && bytes.Equal(live[next].Start, lo) {
			active = append(active, live[next])
			next++
		}
		if len(active) == 0 {
			continue
		}
		seqs := make([]keys.SeqNum, 0, len(active))
		for _, t := range active {
			seqs = append(seqs, t.Seq)
		}
		slices.SortFunc(seqs, func(a, b keys.SeqNum) int { return -cmpSeq(a, b) })
		seqs = slices.Compact(seqs)
		out = appendJoined(out, Fragment{Start: lo, End: hi, Seqs: seqs})
	}
	return out
}

func cmpSeq(a, b keys.SeqNum) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// appendJoined appends f to l, joining it to the last fragment when they
// touch and carry the same sequence numbers.
func appendJoined(l List, f Fragment) List {
	if n := len(l); n > 0 && bytes.Equal(l[n-1].End, f.Start) && slices.Equal(l[n-1].Seqs, f.Seqs) {
		l[n-1].End = f.End
		return l
	}
	return append(l, f)
}

// Tombstones returns the tombstones the list stands for, one per fragment
// and sequence number, appended to dst.
func (l List) Tombstones(dst []Tombstone) []Tombstone {
	for _, f := range l {
		for _, s := range f.Seqs {
			dst = append(dst, Tombstone{Start: f.Start, End: f.End, Seq: s})
		}
	}
	return dst
}

// Merge returns the fragments of the union of lists.
func Merge(lists ...List) List {
	nonEmpty := 0
	var only List
	for _, l := range lists {
		if len(l) > 0 {
			nonEmpty++
			only = l
		}
	}
	switch nonEmpty {
	case 0:
		return nil
	case 1:
		return only
	}
	var ts []Tombstone
	for _, l := range lists {
		ts = l.Tombstones(ts)
	}
	return Build(ts)
}

// Visible returns the newest of seqs at or below readSeq, or 0.
func Visible(seqs []keys.SeqNum, readSeq keys.SeqNum) keys.SeqNum {
	for _, s := range seqs {
		if s <= readSeq {
			return s
		}
	}
	return 0
}

// search returns the index of the first fragment whose End is above ukey.
func (l List) search(ukey []byte) int {
	lo, hi := 0, len(l)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if bytes.Compare(l[mid].End, ukey) <= 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// Covering returns the sequence number of the newest tombstone visible at
// readSeq that covers ukey (0 if none), and the range [lo, hi) around ukey
// over which that answer holds for every key (nil: unbounded).
func (l List) Covering(ukey []byte, readSeq keys.SeqNum) (seq keys.SeqNum, lo, hi []byte) {
	i := l.search(ukey)
	if i < len(l) && bytes.Compare(l[i].Start, ukey) <= 0 {
		return Visible(l[i].Seqs, readSeq), l[i].Start, l[i].End
	}
	if i > 0 {
		lo = l[i-1].End
	}
	if i < len(l) {
		hi = l[i].Start
	}
	return 0, lo, hi
}

// MaxSeq returns the newest sequence number visible at readSeq of the
// tombstones covering ukey (0 if none).
func (l List) MaxSeq(ukey []byte, readSeq keys.SeqNum) keys.SeqNum {
	i := l.search(ukey)
	if i < len(l) && bytes.Compare(l[i].Start, ukey) <= 0 {
		return Visible(l[i].Seqs, readSeq)
	}
	return 0
}

// Clip returns the fragments of l restricted to [lo, hi) (nil: unbounded).
// Fragments wholly inside are shared; cut ones are new.
func (l List) Clip(lo, hi []byte) List {
	var out List
	i := 0
	if lo != nil {
		i = l.search(lo)
	}
	for ; i < len(l); i++ {
		f := l[i]
		if hi != nil && bytes.Compare(f.Start, hi) >= 0 {
			break
		}
		if lo != nil && bytes.Compare(f.Start, lo) < 0 {
			f.Start = lo
		}
		if hi != nil && bytes.Compare(f.End, hi) > 0 {
			f.End = hi
		}
		if bytes.Compare(f.Start, f.End) < 0 {
			out = append(out, f)
		}
	}
	return out
}

// Overlaps reports whether some fragment intersects the user-key range
// [lo, hi] (both inclusive; nil: unbounded).
func (l List) Overlaps(lo, hi []byte) bool {
	i := 0
	if lo != nil {
		i = l.search(lo)
	}
	return i < len(l) && (hi == nil || bytes.Compare(l[i].Start, hi) <= 0)
}

// Count returns the number of tombstones the list stands for (one per
// fragment and sequence number).
func (l List) Count() int {
	n := 0
	for _, f := range l {
		n += len(f.Seqs)
	}
	return n
}

// Smallest returns the internal key that starts the list: the first
// fragment's start with its newest sequence number and KindRangeDelete. It
// returns nil for an empty list.
func (l List) Smallest(dst []byte) []byte {
	if len(l) == 0 {
		return nil
	}
	return keys.MakeKey(dst, l[0].Start, l[0].Seqs[0], keys.KindRangeDelete)
}

// Largest returns the exclusive sentinel key that ends the list (see
// keys.RangeDelSentinel), or nil for an empty list.
func (l List) Largest(dst []byte) []byte {
	if len(l) == 0 {
		return nil
	}
	return keys.RangeDelSentinel(dst, l[len(l)-1].End)
}

// Check verifies the list's invariants: each fragment non-empty with
// strictly descending sequence numbers in (0, MaxSeq), fragments in order
// and not overlapping. It returns a description of the first violation, or
// "".
func (l List) Check() string {
	for i, f := range l {
		if bytes.Compare(f.Start, f.End) >= 0 {
			return "fragment with start >= end"
		}
		if len(f.Seqs) == 0 {
			return "fragment without sequence numbers"
		}
		for j, s := range f.Seqs {
			if s == 0 || s >= keys.MaxSeq {
				return "sequence number out of range"
			}
			if j > 0 && f.Seqs[j-1] <= s {
				return "sequence numbers not strictly descending"
			}
		}
		if i > 0 && bytes.Compare(l[i-1].End, f.Start) > 0 {
			return "fragments out of order or overlapping"
		}
	}
	return ""
}

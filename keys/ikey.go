package keys

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
)

// Kind is the type of an internal key's entry.
//
// The values are part of the on-disk format (WAL batches and SSTables) and
// never change:
//
//	0 KindDelete     a tombstone
//	1 KindSet        a value
//	2 KindSetExpiry  a value with an absolute expiry (see AppendExpiryValue)
//	3 KindRangeDelete a range tombstone: in a WAL batch, an entry carrying
//	                  a start and an end key; in a table's bounds, the kind
//	                  of a key that starts or ends a range tombstone. Never
//	                  the kind of a point entry (a memtable entry or a data
//	                  block entry): Valid is false for it.
type Kind uint8

// The kinds. Part of the on-disk format.
const (
	KindDelete    Kind = 0
	KindSet       Kind = 1
	KindSetExpiry Kind = 2
	// KindRangeDelete is a range tombstone (see package rangedel). Part of
	// the on-disk format.
	KindRangeDelete Kind = 3

	// KindMax is the largest kind; SeekGE with (key, seq, KindMax) lands on
	// the newest version of key visible at seq.
	KindMax = KindSetExpiry
)

// String returns "DEL", "SET", "SETX", or "KIND(n)" for an unknown kind.
func (k Kind) String() string {
	switch k {
	case KindDelete:
		return "DEL"
	case KindSet:
		return "SET"
	case KindSetExpiry:
		return "SETX"
	case KindRangeDelete:
		return "RANGEDEL"
	}
	return fmt.Sprintf("KIND(%d)", uint8(k))
}

// Valid reports whether k is a known kind of point entry (KindRangeDelete
// is not one).
func (k Kind) Valid() bool { return k <= KindMax }

// RangeDelSentinel returns the internal key that ends a range tombstone at
// the exclusive end ukey, appended to dst: ukey with sequence number MaxSeq
// and KindRangeDelete, which sorts before every real version of ukey (no
// entry is ever numbered MaxSeq). A table whose largest key is a sentinel
// holds nothing of ukey itself.
func RangeDelSentinel(dst, ukey []byte) []byte {
	return MakeKey(dst, ukey, MaxSeq, KindRangeDelete)
}

// IsRangeDelSentinel reports whether ikey is a RangeDelSentinel.
func IsRangeDelSentinel(ikey []byte) bool {
	return len(ikey) >= TrailerLen && TrailerOf(ikey) == Trailer(MaxSeq, KindRangeDelete)
}

// SeqNum is a 56-bit sequence number.
type SeqNum uint64

// MaxSeq is the largest sequence number a trailer can hold.
const MaxSeq SeqNum = 1<<56 - 1

// TrailerLen is the size of an internal key's trailer.
const TrailerLen = 8

// Trailer packs a sequence number and a kind.
func Trailer(seq SeqNum, k Kind) uint64 { return uint64(seq)<<8 | uint64(k) }

// SplitTrailer returns the sequence number and kind a trailer packs.
func SplitTrailer(t uint64) (SeqNum, Kind) { return SeqNum(t >> 8), Kind(t & 0xff) }

// MakeKey returns the internal key for ukey, seq and kind, appended to dst.
func MakeKey(dst, ukey []byte, seq SeqNum, k Kind) []byte {
	dst = append(dst, ukey...)
	return binary.LittleEndian.AppendUint64(dst, Trailer(seq, k))
}

// SearchKey returns the internal key that sorts before every version of ukey
// visible at seq: SeekGE(SearchKey(k, seq)) lands on the newest such version.
func SearchKey(dst, ukey []byte, seq SeqNum) []byte {
	return MakeKey(dst, ukey, seq, KindMax)
}

// Parsed is an internal key split into its parts.
type Parsed struct {
	UserKey []byte
	Seq     SeqNum
	Kind    Kind
}

// Parse splits an internal key. ok is false if ikey is shorter than a trailer.
func Parse(ikey []byte) (p Parsed, ok bool) {
	n := len(ikey) - TrailerLen
	if n < 0 {
		return Parsed{}, false
	}
	t := binary.LittleEndian.Uint64(ikey[n:])
	return Parsed{UserKey: ikey[:n:n], Seq: SeqNum(t >> 8), Kind: Kind(t & 0xff)}, true
}

// UserKey returns the user key of an internal key (nil if it is too short).
func UserKey(ikey []byte) []byte {
	n := len(ikey) - TrailerLen
	if n < 0 {
		return nil
	}
	return ikey[:n:n]
}

// TrailerOf returns the trailer of an internal key (0 if it is too short).
func TrailerOf(ikey []byte) uint64 {
	n := len(ikey) - TrailerLen
	if n < 0 {
		return 0
	}
	return binary.LittleEndian.Uint64(ikey[n:])
}

// Compare orders internal keys: user key ascending, then trailer descending.
// Keys too short to hold a trailer compare as their raw bytes, before any
// valid key with the same prefix; Compare never panics.
func Compare(a, b []byte) int {
	ua, ub := UserKey(a), UserKey(b)
	if ua == nil || ub == nil {
		return bytes.Compare(a, b)
	}
	if c := bytes.Compare(ua, ub); c != 0 {
		return c
	}
	ta, tb := TrailerOf(a), TrailerOf(b)
	switch {
	case ta > tb:
		return -1
	case ta < tb:
		return 1
	}
	return 0
}

// Format renders an internal key for humans: key #seq KIND.
func Format(ikey []byte) string {
	p, ok := Parse(ikey)
	if !ok {
		return fmt.Sprintf("<invalid internal key %q>", ikey)
	}
	return fmt.Sprintf("%s #%d %s", Quote(p.UserKey), p.Seq, p.Kind)
}

// Quote renders bytes as text when they are printable UTF-8, Go-quoted
// otherwise.
func Quote(b []byte) string {
	for _, r := range string(b) {
		if r == 0xFFFD || r < 0x20 || r == 0x7f {
			return fmt.Sprintf("%q", b)
		}
	}
	return string(b)
}

// SharedPrefixLen returns the length of the longest common prefix of a
// and b. Table blocks share key prefixes between neighbours with it, and
// the memtable's skiplist tags record how much of a key a search already
// matched. It compares eight bytes at a time.
func SharedPrefixLen(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for ; i+8 <= n; i += 8 {
		if x := binary.BigEndian.Uint64(a[i:]) ^ binary.BigEndian.Uint64(b[i:]); x != 0 {
			return i + bits.LeadingZeros64(x)/8
		}
	}
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}

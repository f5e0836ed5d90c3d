package collections

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/stratadb/strata/lsm"
)

// The engine-key encoding. Every constant in this block is part of the
// on-disk format: it never changes (doc.go draws each key).
//
//	byte       meaning
//	0xFF       first byte of every raw key the package owns (reserved)
//	'd' 0x64   data of one collection: 0xFF 'd' ID(8) sub
//	'i' 0x69   the ID high-water mark: exactly 0xFF 'i'
//	'm' 0x6D   metadata of a collection: 0xFF 'm' name
//	's' 0x73   a string whose name is empty or starts with 0xFF: 0xFF 's' name
//	'x' 0x78   expiry index: 0xFF 'x' expiry(8) ID(8)
//
//	data sub   meaning
//	0x00       header (size; a list's head and tail)
//	0x01       elements: hash field, set member, list sequence, zset member
//	0x02       zset score index: sortable score(8) member
//	0x03       zset rank nodes, level 1: lower bound -> counts
//	0x04       zset rank nodes, level 2: lower bound -> counts
const (
	reservedByte = 0xFF

	tagData   = 'd'
	tagIDHigh = 'i'
	tagMeta   = 'm'
	tagString = 's'
	tagExpiry = 'x'

	subHeader   = 0x00
	subElem     = 0x01
	subScore    = 0x02
	subNodeBase = 0x02 // level L nodes live under subNodeBase+L

	metaVersion = 1 // first byte of every metadata value
)

// Type is the type of a key, as Redis TYPE names it.
type Type uint8

// The types. The numbers are part of the metadata format and never change.
const (
	TypeNone   Type = 0 // no such key
	TypeString Type = 1 // a plain key/value (db.Put or Set)
	TypeHash   Type = 2
	TypeList   Type = 3
	TypeSet    Type = 4
	TypeZSet   Type = 5
)

// String returns the name Redis TYPE replies with: "none", "string",
// "hash", "list", "set" or "zset".
func (t Type) String() string {
	switch t {
	case TypeNone:
		return "none"
	case TypeString:
		return "string"
	case TypeHash:
		return "hash"
	case TypeList:
		return "list"
	case TypeSet:
		return "set"
	case TypeZSet:
		return "zset"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// ParseType parses the names String returns; ok is false for any other.
func ParseType(s string) (Type, bool) {
	for t := TypeNone; t <= TypeZSet; t++ {
		if t.String() == s {
			return t, true
		}
	}
	return TypeNone, false
}

// Limits on names and elements, from lsm's 64 KiB key limit and the bytes
// each engine key adds around them.
const (
	// MaxNameSize is the longest key name: the metadata key adds two bytes.
	MaxNameSize = lsm.MaxKeySize - 2
	// MaxElementSize is the longest hash field, set member or sorted-set
	// member: a score-index key adds 19 bytes (prefix, ID, tag, score).
	MaxElementSize = lsm.MaxKeySize - 19
)

// stringKey returns the raw key of the string name: name itself, unless
// name is empty or starts with the reserved byte.
func stringKey(dst, name []byte) []byte {
	if len(name) == 0 || name[0] == reservedByte {
		dst = append(dst, reservedByte, tagString)
	}
	return append(dst, name...)
}

// metaKey returns the raw key of the metadata of name.
func metaKey(dst, name []byte) []byte {
	return append(append(dst, reservedByte, tagMeta), name...)
}

// idHighKey is the raw key of the ID high-water mark.
var idHighKey = []byte{reservedByte, tagIDHigh}

// dataPrefix returns 0xFF 'd' ID: the prefix of every data key of the
// collection ID.
func dataPrefix(dst []byte, id uint64) []byte {
	dst = append(dst, reservedByte, tagData)
	return binary.BigEndian.AppendUint64(dst, id)
}

// dataBounds returns the raw range [lo, hi) of every data key of id.
func dataBounds(id uint64) (lo, hi []byte) {
	return dataPrefix(nil, id), dataPrefix(nil, id+1)
}

// headerKey returns the raw key of the header of id.
func headerKey(dst []byte, id uint64) []byte {
	return append(dataPrefix(dst, id), subHeader)
}

// elemKey returns the raw key of element sub of id (a field, a member or
// an encoded list sequence).
func elemKey(dst []byte, id uint64, sub []byte) []byte {
	return append(append(dataPrefix(dst, id), subElem), sub...)
}

// elemBounds returns the raw range of every element key of id.
func elemBounds(id uint64) (lo, hi []byte) {
	p := dataPrefix(nil, id)
	return append(append([]byte{}, p...), subElem), append(p, subElem+1)
}

// seqKey returns the raw key of the list element at sequence seq.
func seqKey(dst []byte, id, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append(dataPrefix(dst, id), subElem), seq)
}

// expiryIndexKey returns the raw key of the expiry-index entry of id.
func expiryIndexKey(dst []byte, at int64, id uint64) []byte {
	dst = append(dst, reservedByte, tagExpiry)
	dst = binary.BigEndian.AppendUint64(dst, uint64(at))
	return binary.BigEndian.AppendUint64(dst, id)
}

// The bounds of the three streams of top-level names, and of the package's
// whole reserved range.
var (
	plainLo, plainHi     = []byte(nil), []byte{reservedByte}
	escapedLo, escapedHi = []byte{reservedByte, tagString}, []byte{reservedByte, tagString + 1}
	metaLo, metaHi       = []byte{reservedByte, tagMeta}, []byte{reservedByte, tagMeta + 1}
	expiryLo, expiryHi   = []byte{reservedByte, tagExpiry}, []byte{reservedByte, tagExpiry + 1}
)

// meta is a decoded metadata value.
//
//	+---------+------+------------------+----------------------------+
//	| version | type | ID (8, BE)       | indexed expiry (8, BE)     |
//	| 0x01    |      |                  | only when the entry exists |
//	+---------+------+------------------+----------------------------+
type meta struct {
	typ Type
	id  uint64
	// idxAt is the Unix-nanosecond time of the collection's expiry-index
	// entry; 0 when it has none (no TTL).
	idxAt int64
}

func (m meta) encode(dst []byte) []byte {
	dst = append(dst, metaVersion, byte(m.typ))
	dst = binary.BigEndian.AppendUint64(dst, m.id)
	if m.idxAt != 0 {
		dst = binary.BigEndian.AppendUint64(dst, uint64(m.idxAt))
	}
	return dst
}

// decodeMeta decodes v, the metadata value of name.
func decodeMeta(name, v []byte) (meta, error) {
	if (len(v) != 10 && len(v) != 18) || v[0] != metaVersion || v[1] < byte(TypeHash) || v[1] > byte(TypeZSet) {
		return meta{}, corrupt("metadata", name, v)
	}
	m := meta{typ: Type(v[1]), id: binary.BigEndian.Uint64(v[2:])}
	if len(v) == 18 {
		m.idxAt = int64(binary.BigEndian.Uint64(v[10:]))
	}
	return m, nil
}

// corrupt returns an error wrapping lsm.ErrCorruption that names the engine
// value it could not decode.
func corrupt(what string, name, v []byte) error {
	return fmt.Errorf("%w: collections: %s of %q: %d bytes %x", lsm.ErrCorruption, what, name, len(v), v[:min(len(v), 32)])
}

// header is a decoded collection header. A hash, set or sorted set keeps its
// size; a list its head and tail sequence numbers (size = tail - head).
//
//	hash, set, zset:  | size (8, BE) |
//	list:             | head (8, BE) | tail (8, BE) |
type header struct {
	size       int64
	head, tail uint64 // lists only
}

// listMid is the sequence number of a new list's first element: the middle
// of the range, so it can grow 2^63 elements either way.
const listMid = uint64(1) << 63

func (h header) encode(dst []byte, t Type) []byte {
	if t == TypeList {
		dst = binary.BigEndian.AppendUint64(dst, h.head)
		return binary.BigEndian.AppendUint64(dst, h.tail)
	}
	return binary.BigEndian.AppendUint64(dst, uint64(h.size))
}

func decodeHeader(name []byte, t Type, v []byte) (header, error) {
	if t == TypeList {
		if len(v) != 16 {
			return header{}, corrupt("list header", name, v)
		}
		h := header{head: binary.BigEndian.Uint64(v), tail: binary.BigEndian.Uint64(v[8:])}
		if h.tail < h.head || h.tail-h.head > math.MaxInt64 {
			return header{}, corrupt("list header", name, v)
		}
		h.size = int64(h.tail - h.head)
		return h, nil
	}
	if len(v) != 8 || int64(binary.BigEndian.Uint64(v)) < 0 {
		return header{}, corrupt("header", name, v)
	}
	return header{size: int64(binary.BigEndian.Uint64(v))}, nil
}

// sizeOfHeader returns the number of elements a header value records,
// whatever the collection's type (a list's header is 16 bytes, the others'
// 8), or 0 if it is malformed.
func sizeOfHeader(v []byte) int64 {
	switch len(v) {
	case 8:
		return max(int64(binary.BigEndian.Uint64(v)), 0)
	case 16:
		h, t := binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:])
		if t >= h && t-h < 1<<62 {
			return int64(t - h)
		}
	}
	return 0
}

// sortableScore maps a score to 8 bytes that sort bytewise as Redis orders
// scores: -inf < ... < -0 == +0 < ... < +inf. NaN is never stored.
func sortableScore(dst []byte, f float64) []byte {
	if f == 0 {
		f = 0 // -0 sorts and reads back as +0, as Redis compares them equal
	}
	b := math.Float64bits(f)
	if b>>63 == 1 {
		b = ^b
	} else {
		b |= 1 << 63
	}
	return binary.BigEndian.AppendUint64(dst, b)
}

// scoreFromSortable inverts sortableScore.
func scoreFromSortable(p []byte) float64 {
	b := binary.BigEndian.Uint64(p)
	if b>>63 == 1 {
		b &^= 1 << 63
	} else {
		b = ^b
	}
	return math.Float64frombits(b)
}

// encodeScore is the value of a sorted-set member key: the score's IEEE 754
// bits, big-endian.
func encodeScore(dst []byte, f float64) []byte {
	if f == 0 {
		f = 0
	}
	return binary.BigEndian.AppendUint64(dst, math.Float64bits(f))
}

func decodeScore(name, v []byte) (float64, error) {
	if len(v) != 8 {
		return 0, corrupt("score", name, v)
	}
	f := math.Float64frombits(binary.BigEndian.Uint64(v))
	if math.IsNaN(f) {
		return 0, corrupt("score", name, v)
	}
	return f, nil
}

package batchrepr

import (
	"encoding/binary"
	"fmt"

	"github.com/stratadb/strata/internal/keys"
)

// HeaderLen is the size of a repr's header (see the package documentation).
// Part of the on-disk format.
const HeaderLen = 12

// AppendEntry appends one entry to a repr.
func AppendEntry(dst []byte, kind keys.Kind, key, value []byte, expiry int64) []byte {
	dst = append(dst, byte(kind))
	dst = binary.AppendUvarint(dst, uint64(len(key)))
	dst = append(dst, key...)
	switch kind {
	case keys.KindSet:
		dst = binary.AppendUvarint(dst, uint64(len(value)))
		dst = append(dst, value...)
	case keys.KindSetExpiry:
		dst = binary.AppendUvarint(dst, uint64(len(value)+keys.ExpiryLen))
		dst = keys.AppendExpiryValue(dst, expiry, value)
	}
	return dst
}

// AppendRangeDelete appends a range deletion of [start, end): an entry of
// kind keys.KindRangeDelete whose key is start and whose value is end.
func AppendRangeDelete(dst, start, end []byte) []byte {
	dst = append(dst, byte(keys.KindRangeDelete))
	dst = binary.AppendUvarint(dst, uint64(len(start)))
	dst = append(dst, start...)
	dst = binary.AppendUvarint(dst, uint64(len(end)))
	return append(dst, end...)
}

// SetHeader writes the sequence number and count into a repr.
func SetHeader(repr []byte, seq keys.SeqNum, count int) {
	binary.LittleEndian.PutUint64(repr, uint64(seq))
	binary.LittleEndian.PutUint32(repr[8:], uint32(count))
}

// Entry is one decoded entry; Key and Value alias the repr. For
// keys.KindRangeDelete, Key is the start and Value the end of the range.
type Entry struct {
	Kind  keys.Kind
	Key   []byte
	Value []byte
}

// Decode checks a repr read from a WAL and calls fn for every entry.
// name and off locate it for error messages.
func Decode(repr []byte, name string, off int64, fn func(seq keys.SeqNum, e Entry) error) (keys.SeqNum, int, error) {
	if len(repr) < HeaderLen {
		return 0, 0, keys.CorruptionError(name, off, "batch record of %d bytes is shorter than its header", len(repr))
	}
	seq := keys.SeqNum(binary.LittleEndian.Uint64(repr))
	count := int(binary.LittleEndian.Uint32(repr[8:]))
	if seq == 0 || seq > keys.MaxSeq || uint64(seq)+uint64(count) > uint64(keys.MaxSeq) {
		return 0, 0, keys.CorruptionError(name, off, "batch sequence number %d (count %d) out of range", seq, count)
	}
	p := repr[HeaderLen:]
	bad := func(what string) error {
		return keys.CorruptionError(name, off+int64(len(repr)-len(p)), "batch entry: %s", what)
	}
	for i := 0; i < count; i++ {
		if len(p) < 1 {
			return 0, 0, bad(fmt.Sprintf("%d entries, header says %d", i, count))
		}
		e := Entry{Kind: keys.Kind(p[0])}
		if !e.Kind.Valid() && e.Kind != keys.KindRangeDelete {
			return 0, 0, bad(fmt.Sprintf("unknown kind %d", p[0]))
		}
		p = p[1:]
		n, w := binary.Uvarint(p)
		if w <= 0 || n > uint64(len(p)-w) {
			return 0, 0, bad("key length")
		}
		e.Key = p[w : w+int(n) : w+int(n)]
		p = p[w+int(n):]
		if e.Kind != keys.KindDelete {
			n, w = binary.Uvarint(p)
			if w <= 0 || n > uint64(len(p)-w) {
				return 0, 0, bad("value length")
			}
			e.Value = p[w : w+int(n) : w+int(n)]
			p = p[w+int(n):]
			if e.Kind == keys.KindSetExpiry && len(e.Value) < keys.ExpiryLen {
				return 0, 0, bad("expiring value shorter than its expiry")
			}
			if e.Kind == keys.KindRangeDelete && string(e.Key) >= string(e.Value) {
				return 0, 0, bad("range deletion whose start is not below its end")
			}
		}
		if err := fn(seq+keys.SeqNum(i), e); err != nil {
			return 0, 0, err
		}
	}
	if len(p) != 0 {
		return 0, 0, bad(fmt.Sprintf("%d trailing bytes", len(p)))
	}
	return seq, count, nil
}

package batchrepr

import (
	"encoding/binary"
	"fmt"

	"github.com/stratadb/strata/keys"
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
	r, err := NewReader(repr, name, off)
	if err != nil {
		return 0, 0, err
	}
	for {
		seq, e, ok, err := r.Next()
		if err != nil {
			return 0, 0, err
		}
		if !ok {
			return r.Seq(), r.Count(), nil
		}
		if err := fn(seq, e); err != nil {
			return 0, 0, err
		}
	}
}

// Reader steps through the entries of a repr one at a time, checking each
// as it goes: Decode without a callback, for loops that insert entries as
// they read them.
type Reader struct {
	repr  []byte
	p     []byte // the entries not read yet
	name  string
	off   int64
	seq   keys.SeqNum // of the first entry
	count int
	i     int // entries read
}

// NewReader checks a repr's header and returns a Reader positioned before
// its first entry. name and off locate the repr for error messages.
func NewReader(repr []byte, name string, off int64) (Reader, error) {
	if len(repr) < HeaderLen {
		return Reader{}, keys.CorruptionError(name, off, "batch record of %d bytes is shorter than its header", len(repr))
	}
	seq := keys.SeqNum(binary.LittleEndian.Uint64(repr))
	count := int(binary.LittleEndian.Uint32(repr[8:]))
	if seq == 0 || seq > keys.MaxSeq || uint64(seq)+uint64(count) > uint64(keys.MaxSeq) {
		return Reader{}, keys.CorruptionError(name, off, "batch sequence number %d (count %d) out of range", seq, count)
	}
	return Reader{repr: repr, p: repr[HeaderLen:], name: name, off: off, seq: seq, count: count}, nil
}

// Seq returns the sequence number of the repr's first entry.
func (r *Reader) Seq() keys.SeqNum { return r.seq }

// Pos returns the offset in the repr just past the last entry Next
// returned: an entry's value, which ends it, begins at Pos()-len(Value).
func (r *Reader) Pos() int { return len(r.repr) - len(r.p) }

// Count returns the number of entries the header announces.
func (r *Reader) Count() int { return r.count }

// Next returns the next entry and its sequence number; ok is false after
// the last one, and err is set (wrapping keys.ErrCorruption) if the repr
// is malformed, its entries short of the count or followed by stray bytes.
func (r *Reader) Next() (seq keys.SeqNum, e Entry, ok bool, err error) {
	if r.i == r.count {
		if len(r.p) != 0 {
			return 0, Entry{}, false, r.bad(fmt.Sprintf("%d trailing bytes", len(r.p)))
		}
		return 0, Entry{}, false, nil
	}
	p := r.p
	if len(p) < 1 {
		return 0, Entry{}, false, r.bad(fmt.Sprintf("%d entries, header says %d", r.i, r.count))
	}
	e.Kind = keys.Kind(p[0])
	if !e.Kind.Valid() && e.Kind != keys.KindRangeDelete {
		return 0, Entry{}, false, r.bad(fmt.Sprintf("unknown kind %d", p[0]))
	}
	p = p[1:]
	n, w := binary.Uvarint(p)
	if w <= 0 || n > uint64(len(p)-w) {
		return 0, Entry{}, false, r.bad("key length")
	}
	e.Key = p[w : w+int(n) : w+int(n)]
	p = p[w+int(n):]
	if e.Kind != keys.KindDelete {
		n, w = binary.Uvarint(p)
		if w <= 0 || n > uint64(len(p)-w) {
			return 0, Entry{}, false, r.bad("value length")
		}
		e.Value = p[w : w+int(n) : w+int(n)]
		p = p[w+int(n):]
		if e.Kind == keys.KindSetExpiry && len(e.Value) < keys.ExpiryLen {
			return 0, Entry{}, false, r.bad("expiring value shorter than its expiry")
		}
		if e.Kind == keys.KindRangeDelete && string(e.Key) >= string(e.Value) {
			return 0, Entry{}, false, r.bad("range deletion whose start is not below its end")
		}
	}
	r.p = p
	seq = r.seq + keys.SeqNum(r.i)
	r.i++
	return seq, e, true, nil
}

// bad returns the corruption error of the entry at the reader's position.
func (r *Reader) bad(what string) error {
	return keys.CorruptionError(r.name, r.off+int64(len(r.repr)-len(r.p)), "batch entry: %s", what)
}

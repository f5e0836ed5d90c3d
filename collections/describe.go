package collections

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"time"
)

// DescribeKey renders one of the package's engine keys, and its value if
// value is not nil, for a human reading a dump: what it is and whose. ok is
// false for a key outside the package's space (a string under its own
// name). A data key names its collection by ID, as the key holds no name
// (the metadata maps names to IDs).
func DescribeKey(key, value []byte) (string, bool) {
	if len(key) < 2 || key[0] != reservedByte {
		return "", false
	}
	q := func(b []byte) string { return strconv.Quote(string(b)) }
	switch key[1] {
	case tagMeta:
		name := key[2:]
		s := "metadata of " + q(name)
		if value != nil {
			if m, err := decodeMeta(name, value); err == nil {
				s += fmt.Sprintf(": %s, ID %d", m.typ, m.id)
				if m.idxAt != 0 {
					s += ", expiry indexed at " + time.Unix(0, m.idxAt).UTC().Format(time.RFC3339Nano)
				}
			} else {
				s += ": undecodable"
			}
		}
		return s, true
	case tagString:
		return "string " + q(key[2:]), true
	case tagIDHigh:
		s := "collection ID high-water mark"
		if len(value) == 8 {
			s += fmt.Sprintf(": IDs below %d may be in use", binary.BigEndian.Uint64(value))
		}
		return s, true
	case tagExpiry:
		if len(key) != 18 {
			return "expiry index entry (malformed)", true
		}
		s := fmt.Sprintf("expiry index: ID %d at %s", binary.BigEndian.Uint64(key[10:]),
			time.Unix(0, int64(binary.BigEndian.Uint64(key[2:]))).UTC().Format(time.RFC3339Nano))
		if value != nil {
			s += ", name " + q(value)
		}
		return s, true
	case tagData:
		if len(key) < 11 {
			return "data key (malformed)", true
		}
		id := binary.BigEndian.Uint64(key[2:10])
		rest := key[11:]
		switch sub := key[10]; sub {
		case subHeader:
			s := fmt.Sprintf("ID %d header", id)
			switch len(value) {
			case 8:
				s += fmt.Sprintf(": size %d", binary.BigEndian.Uint64(value))
			case 16:
				h, t := binary.BigEndian.Uint64(value), binary.BigEndian.Uint64(value[8:])
				s += fmt.Sprintf(": list head %d tail %d (length %d)", int64(h-listMid), int64(t-listMid), t-h)
			}
			return s, true
		case subElem:
			s := fmt.Sprintf("ID %d element %s", id, q(rest))
			if len(rest) == 8 {
				s += fmt.Sprintf(" (as a list position: %d)", int64(binary.BigEndian.Uint64(rest)-listMid))
			}
			return s, true
		case subScore:
			if len(rest) < 8 {
				return fmt.Sprintf("ID %d score index (malformed)", id), true
			}
			return fmt.Sprintf("ID %d score index: %v %s", id, scoreFromSortable(rest[:8]), q(rest[8:])), true
		case subNodeBase + 1, subNodeBase + 2:
			s := fmt.Sprintf("ID %d rank node, level %d, below ", id, sub-subNodeBase)
			switch {
			case string(rest) == string(topSuffix):
				s += "the top"
			case len(rest) >= 8:
				s += fmt.Sprintf("%v %s", scoreFromSortable(rest[:8]), q(rest[8:]))
			default:
				s += q(rest)
			}
			if len(value) >= 8 {
				s += fmt.Sprintf(": %d entries", binary.BigEndian.Uint64(value))
			}
			if len(value) == 16 {
				s += fmt.Sprintf(", %d children", binary.BigEndian.Uint64(value[8:]))
			}
			return s, true
		}
		return fmt.Sprintf("ID %d data key %x", id, key[10:]), true
	}
	return "reserved key " + q(key), true
}

// DescribeRange renders a range deletion [start, end) over the package's
// keys, for a human reading a dump: all the data of one collection (a
// deleted or expired collection), a run of a list's elements (LTRIM, popping
// many), or else the keys at both ends. ok is false if start is outside the
// package's space.
func DescribeRange(start, end []byte) (string, bool) {
	if len(start) < 2 || start[0] != reservedByte {
		return "", false
	}
	if len(start) == 10 && len(end) == 10 && start[1] == tagData && end[1] == tagData {
		id := binary.BigEndian.Uint64(start[2:])
		if binary.BigEndian.Uint64(end[2:]) == id+1 {
			return fmt.Sprintf("all data of collection ID %d", id), true
		}
	}
	if len(start) == 19 && len(end) == 19 && start[1] == tagData && string(start[:11]) == string(end[:11]) && start[10] == subElem {
		id := binary.BigEndian.Uint64(start[2:10])
		lo, hi := binary.BigEndian.Uint64(start[11:]), binary.BigEndian.Uint64(end[11:])
		if lo < hi {
			return fmt.Sprintf("ID %d list elements at positions %d..%d (%d)", id, int64(lo-listMid), int64(hi-listMid)-1, hi-lo), true
		}
	}
	from, _ := DescribeKey(start, nil)
	to, ok := DescribeKey(end, nil)
	if !ok {
		to = strconv.Quote(string(end))
	}
	return "from " + from + " to " + to, true
}

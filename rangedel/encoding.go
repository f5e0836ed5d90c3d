package rangedel

import (
	"bytes"
	"encoding/binary"

	"github.com/stratadb/strata/keys"
)

// minFragmentLen is the fewest bytes an encoded fragment takes: two key
// lengths, one byte of end key, a count and one sequence number.
const minFragmentLen = 5

// Encode appends the encoding of l (see the package documentation) to dst.
func (l List) Encode(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(l)))
	for _, f := range l {
		dst = binary.AppendUvarint(dst, uint64(len(f.Start)))
		dst = append(dst, f.Start...)
		dst = binary.AppendUvarint(dst, uint64(len(f.End)))
		dst = append(dst, f.End...)
		dst = binary.AppendUvarint(dst, uint64(len(f.Seqs)))
		for _, s := range f.Seqs {
			dst = binary.AppendUvarint(dst, uint64(s))
		}
	}
	return dst
}

// Decode parses an encoded list and checks every invariant of a List. Damage
// returns an error wrapping keys.ErrCorruption naming name and the offset
// (off is the offset of b in its file). The list does not alias b. Decode
// never panics and allocates at most a small multiple of len(b).
func Decode(b []byte, name string, off int64) (List, error) {
	p := b
	bad := func(what string) error {
		return keys.CorruptionError(name, off+int64(len(b)-len(p)), "range deletion block: %s", what)
	}
	uv := func(what string) (uint64, error) {
		v, n := binary.Uvarint(p)
		if n <= 0 {
			return 0, bad(what)
		}
		p = p[n:]
		return v, nil
	}
	count, err := uv("fragment count")
	if err != nil {
		return nil, err
	}
	if count > uint64(len(p))/minFragmentLen {
		return nil, bad("fragment count larger than the block")
	}
	// The keys are copied into one buffer no larger than b.
	buf := make([]byte, 0, len(p))
	l := make(List, 0, count)
	seqs := make([]keys.SeqNum, 0, count)
	for i := uint64(0); i < count; i++ {
		var kb [2][]byte
		for k := range kb {
			n, err := uv("key length")
			if err != nil {
				return nil, err
			}
			if n > uint64(len(p)) {
				return nil, bad("key runs past the block")
			}
			start := len(buf)
			buf = append(buf, p[:n]...)
			kb[k] = buf[start:len(buf):len(buf)]
			p = p[n:]
		}
		ns, err := uv("sequence number count")
		if err != nil {
			return nil, err
		}
		if ns == 0 || ns > uint64(len(p)) {
			return nil, bad("sequence number count out of range")
		}
		first := len(seqs)
		for j := uint64(0); j < ns; j++ {
			s, err := uv("sequence number")
			if err != nil {
				return nil, err
			}
			seqs = append(seqs, keys.SeqNum(s))
		}
		f := Fragment{Start: kb[0], End: kb[1], Seqs: seqs[first:len(seqs):len(seqs)]}
		if bytes.Compare(f.Start, f.End) >= 0 {
			return nil, bad("fragment start not below its end")
		}
		l = append(l, f)
		if msg := l[len(l)-1:].Check(); msg != "" {
			return nil, bad(msg)
		}
		if len(l) > 1 && bytes.Compare(l[len(l)-2].End, f.Start) > 0 {
			return nil, bad("fragments out of order or overlapping")
		}
	}
	if len(p) != 0 {
		return nil, bad("trailing bytes")
	}
	return l, nil
}

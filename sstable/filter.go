package sstable

import (
	"encoding/binary"
	"math"

	"github.com/bits-and-blooms/bloom/v3"

	"github.com/stratadb/strata/keys"
)

// Filter block layout (part of the on-disk format; never changes):
//
//	offset  size        field
//	0       8           m: number of bits (uint64 LE), >= 1
//	8       4           k: number of hash functions (uint32 LE), 1..maxFilterK
//	12      8*ceil(m/64) the bits, as 64-bit words (uint64 LE each)
//
// The bits are those of a github.com/bits-and-blooms/bloom/v3 filter with m
// bits and k hashes: bit i is bit i%64 of word i/64. The words are written
// and read here (not with the library's MarshalBinary, whose byte order is a
// process-wide setting of the bitset package) so that the length can be
// checked against the block before anything is allocated.
const (
	filterHeaderLen = 12
	// maxFilterK bounds the hash count a filter block may declare, so that
	// a damaged block cannot make each probe loop for long.
	maxFilterK = 64
)

// defaultBloomBitsPerKey gives about a 1% false-positive rate.
const defaultBloomBitsPerKey = 10

// filterWriter collects the distinct user keys (and prefixes) of a table and
// builds its bloom filter at Finish, when their number, hence the filter's
// size, is known. The keys are kept in one arena: about the size of the
// table's distinct user keys, while the table is written. It belongs to the
// Writer's goroutine.
type filterWriter struct {
	bitsPerKey int
	arena      []byte // every key, concatenated
	ends       []int  // end offset of each key in arena
	lastKey    []byte // the last user key added
	lastPrefix []byte // the last prefix added
	hasPrefix  bool
}

func (f *filterWriter) add(b []byte) {
	f.arena = append(f.arena, b...)
	f.ends = append(f.ends, len(f.arena))
}

// addUserKey adds a user key (ignored if equal to the previous one) and, with
// a prefix function, its prefix.
func (f *filterWriter) addUserKey(ukey []byte, prefix func([]byte) int) {
	if len(f.ends) > 0 && string(ukey) == string(f.lastKey) {
		return
	}
	f.lastKey = append(f.lastKey[:0], ukey...)
	f.add(ukey)
	if prefix == nil {
		return
	}
	n := prefix(ukey)
	if n < 0 || n > len(ukey) {
		return
	}
	p := ukey[:n]
	if f.hasPrefix && string(p) == string(f.lastPrefix) {
		return
	}
	f.hasPrefix = true
	f.lastPrefix = append(f.lastPrefix[:0], p...)
	f.add(p)
}

// params returns the filter's bit count and hash count for n keys.
func filterParams(n, bitsPerKey int) (m uint64, k uint32) {
	m = uint64(n) * uint64(bitsPerKey)
	if m < 64 {
		m = 64
	}
	k = uint32(math.Round(math.Ln2 * float64(bitsPerKey)))
	k = max(1, min(k, 30))
	return m, k
}

// estimatedSize returns the size of the filter block if built now.
func (f *filterWriter) estimatedSize() int {
	m, _ := filterParams(len(f.ends), f.bitsPerKey)
	return filterHeaderLen + int((m+63)/64)*8
}

// finish builds the filter block.
func (f *filterWriter) finish() []byte {
	m, k := filterParams(len(f.ends), f.bitsPerKey)
	bf := bloom.New(uint(m), uint(k))
	start := 0
	for _, end := range f.ends {
		bf.Add(f.arena[start:end])
		start = end
	}
	words := bf.BitSet().Words()
	nw := int((m + 63) / 64)
	out := make([]byte, filterHeaderLen, filterHeaderLen+8*nw)
	binary.LittleEndian.PutUint64(out, m)
	binary.LittleEndian.PutUint32(out[8:], k)
	for i := 0; i < nw; i++ {
		var w uint64
		if i < len(words) {
			w = words[i]
		}
		out = binary.LittleEndian.AppendUint64(out, w)
	}
	return out
}

// decodeFilter decodes a filter block whose checksum has been verified. The
// declared bit count is checked against the block length before the word
// slice is allocated.
func decodeFilter(b []byte, name string, off int64) (*bloom.BloomFilter, error) {
	if len(b) < filterHeaderLen {
		return nil, keys.CorruptionError(name, off, "filter block of %d bytes is too short", len(b))
	}
	m := binary.LittleEndian.Uint64(b)
	k := binary.LittleEndian.Uint32(b[8:])
	if m == 0 || k == 0 || k > maxFilterK {
		return nil, keys.CorruptionError(name, off, "filter block declares m=%d k=%d", m, k)
	}
	body := uint64(len(b) - filterHeaderLen)
	if nw := body / 8; body%8 != 0 || m > nw*64 || m+64 <= nw*64 {
		return nil, keys.CorruptionError(name, off, "filter block declares %d bits but holds %d bytes", m, body)
	}
	words := make([]uint64, body/8)
	for i := range words {
		words[i] = binary.LittleEndian.Uint64(b[filterHeaderLen+8*i:])
	}
	return bloom.FromWithM(words, uint(m), uint(k)), nil
}

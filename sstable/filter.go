package sstable

import (
	"encoding/binary"
	"math"
	"sync"

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
// size, is known. What it keeps of each key is bounded, whatever the key's
// size: a key shorter than filterHashAt bytes is kept as its bytes, less
// any prefix it shares with the previous key so kept (consecutive keys of a
// table often share one), and a longer key as the four 64-bit base hashes
// its filter bits are derived from, so a key costs at most filterMaxEntry
// bytes and a long key is hashed once, when added. The entries are kept in
// chunks of filterChunk bytes, which (unlike one growing slice) are never
// copied as the table grows. It belongs to the Writer's goroutine.
//
// An entry is one of:
//
//	0b000lllll key...          a key of l < 32 bytes
//	0b001lllll s key[s:]...    a key of l < 32 bytes whose first s bytes
//	                           are those of the previous key of this form
//	0xff h0 h1 h2 h3           the base hashes of a longer key (uint64 LE)
type filterWriter struct {
	bitsPerKey int
	chunks     [][]byte // the entries; only the last has room
	n          int      // keys and prefixes added
	chunkBytes int      // sum of the chunks' capacities
	lastKey    []byte   // the last user key added
	lastPrefix []byte   // the last prefix added
	hasPrefix  bool
	short      [filterHashAt]byte // the last key kept as bytes
	shortLen   int
}

const (
	// filterChunk is the size of the chunks a filterWriter keeps entries in.
	filterChunk = 64 << 10
	// filterHashAt is the key length from which a filterWriter keeps a
	// key's base hashes (32 bytes) instead of its bytes.
	filterHashAt = 32
	// filterShared flags an entry whose key shares a prefix with the
	// previous key kept as bytes.
	filterShared = 0x20
	// filterHashedTag is the first byte of an entry holding base hashes.
	filterHashedTag = 0xff
	// filterMaxEntry is the largest entry: a tag and four hashes.
	filterMaxEntry = 1 + 32
)

// filterChunks holds the chunks of finished filterWriters for the next
// ones (see outBuffers).
var filterChunks = sync.Pool{New: func() any { return new([filterChunk]byte) }}

// release gives the chunks back to filterChunks; the filterWriter holds
// nothing afterwards.
func (f *filterWriter) release() {
	for i, c := range f.chunks {
		filterChunks.Put((*[filterChunk]byte)(c[:filterChunk]))
		f.chunks[i] = nil
	}
	f.chunks = f.chunks[:0]
	f.chunkBytes = 0
}

func (f *filterWriter) add(b []byte) {
	last := len(f.chunks) - 1
	if last < 0 || cap(f.chunks[last])-len(f.chunks[last]) < filterMaxEntry {
		c := filterChunks.Get().(*[filterChunk]byte)[:0]
		f.chunks = append(f.chunks, c)
		f.chunkBytes += cap(c)
		last++
	}
	c := f.chunks[last]
	if len(b) < filterHashAt {
		s := 0
		for s < len(b) && s < f.shortLen && b[s] == f.short[s] {
			s++
		}
		if s >= 2 {
			c = append(c, filterShared|byte(len(b)), byte(s))
			c = append(c, b[s:]...)
		} else {
			c = append(c, byte(len(b)))
			c = append(c, b...)
		}
		f.shortLen = copy(f.short[:], b)
	} else {
		h := bloomHashes(b)
		c = append(c, filterHashedTag)
		for _, x := range h {
			c = binary.LittleEndian.AppendUint64(c, x)
		}
	}
	f.chunks[last] = c
	f.n++
}

// each calls fn with the base hashes of every key added, in order.
func (f *filterWriter) each(fn func(h *[4]uint64)) {
	var h [4]uint64
	var short [filterHashAt]byte
	for _, c := range f.chunks {
		for len(c) > 0 {
			t := c[0]
			c = c[1:]
			switch {
			case t == filterHashedTag:
				for i := range h {
					h[i] = binary.LittleEndian.Uint64(c[8*i:])
				}
				c = c[32:]
			case t&filterShared != 0:
				l, s := int(t&^filterShared), int(c[0])
				copy(short[s:l], c[1:])
				c = c[1+l-s:]
				h = bloomHashes(short[:l])
			default:
				l := int(t)
				copy(short[:l], c)
				c = c[l:]
				h = bloomHashes(short[:l])
			}
			fn(&h)
		}
	}
}

// addUserKey adds a user key (ignored if equal to the previous one) and, with
// a prefix function, its prefix.
func (f *filterWriter) addUserKey(ukey []byte, prefix func([]byte) int) {
	if f.n > 0 && string(ukey) == string(f.lastKey) {
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
	m, _ := filterParams(f.n, f.bitsPerKey)
	return filterHeaderLen + int((m+63)/64)*8
}

// finish builds the filter block. The bits set are those the bloom
// library's Add sets for each key in a filter of m bits and k hashes: probe
// i of a key with base hashes h is bit (h[i%2] + i*h[2+((i+i%2)%4)/2]) mod m.
func (f *filterWriter) finish() []byte {
	m, k := filterParams(f.n, f.bitsPerKey)
	nw := int((m + 63) / 64)
	words := make([]uint64, nw)
	f.each(func(h *[4]uint64) {
		for i := uint64(0); i < uint64(k); i++ {
			loc := (h[i%2] + i*h[2+((i+i%2)%4)/2]) % m
			words[loc>>6] |= 1 << (loc & 63)
		}
	})
	out := make([]byte, filterHeaderLen, filterHeaderLen+8*nw)
	binary.LittleEndian.PutUint64(out, m)
	binary.LittleEndian.PutUint32(out[8:], k)
	for _, w := range words {
		out = binary.LittleEndian.AppendUint64(out, w)
	}
	return out
}

// filterBlock is a filter block that decodeFilter checked: its header (m,
// k) and its words, as stored. It is probed in place, wherever its bytes
// live: on the Go heap (a reader without a cache, or a filter just read)
// or in the block cache's memory outside it (see Cache.setMetaFrom).
type filterBlock []byte

// decodeFilter checks a filter block whose checksum has been verified: its
// declared bit count and hash count against its length. It returns b
// itself, which the caller must not modify afterwards.
func decodeFilter(b []byte, name string, off int64) (filterBlock, error) {
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
	return filterBlock(b), nil
}

// Test reports whether the filter admits key: false means key was not
// added. f must be a block decodeFilter accepted.
func (f filterBlock) Test(key []byte) bool {
	h := bloomHashes(key)
	m := binary.LittleEndian.Uint64(f)
	k := uint64(binary.LittleEndian.Uint32(f[8:]))
	bits := f[filterHeaderLen:]
	for i := uint64(0); i < k; i++ {
		loc := (h[i%2] + i*h[2+((i+i%2)%4)/2]) % m
		// Bit loc%64 of little-endian word loc/64 is bit loc%8 of byte loc/8.
		if bits[loc>>3]&(1<<(loc&7)) == 0 {
			return false
		}
	}
	return true
}

package sstable

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/bits-and-blooms/bloom/v3"
	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/keys"
)

// legacyFilter builds a filter block as the writer did before it kept
// hashes: every distinct key (and prefix) kept as bytes, then added to a
// bloom.BloomFilter at the end. It is the reference the filter writer's
// blocks must equal byte for byte.
type legacyFilter struct {
	bitsPerKey int
	keys       [][]byte
	lastKey    []byte
	lastPrefix []byte
	hasPrefix  bool
}

func (f *legacyFilter) addUserKey(ukey []byte, prefix func([]byte) int) {
	if len(f.keys) > 0 && string(ukey) == string(f.lastKey) {
		return
	}
	f.lastKey = append(f.lastKey[:0], ukey...)
	f.keys = append(f.keys, append([]byte(nil), ukey...))
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
	f.keys = append(f.keys, append([]byte(nil), p...))
}

func (f *legacyFilter) finish() []byte {
	m, k := filterParams(len(f.keys), f.bitsPerKey)
	bf := bloom.New(uint(m), uint(k))
	for _, b := range f.keys {
		bf.Add(b)
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

// TestBloomHashesMatchLibrary: the base hashes computed here give the
// library's probe locations for keys of every length from 0 to 200 bytes
// (every tail length, with and without the appended byte completing a
// block), for 8 probes, which use each of the four hashes.
func TestBloomHashesMatchLibrary(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for n := 0; n <= 200; n++ {
		for rep := 0; rep < 20; rep++ {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			h := bloomHashes(b)
			want := bloom.Locations(b, 8)
			for i := uint64(0); i < 8; i++ {
				require.Equal(t, want[i], h[i%2]+i*h[2+((i+i%2)%4)/2], "len %d probe %d", n, i)
			}
		}
	}
}

// TestFilterBlockMatchesLegacy: over many random key sets (empty keys,
// keys around the length at which hashes are kept instead of bytes, keys
// longer than a chunk, repeated consecutive keys, sorted and unsorted, with
// and without a prefix function, several bits per key), the filter writer's block equals, byte
// for byte, the block built from the keys' bytes with the bloom library.
func TestFilterBlockMatchesLegacy(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	randKey := func() []byte {
		var n int
		switch r.IntN(10) {
		case 0:
			n = 0
		case 1:
			n = filterHashAt - 2 + r.IntN(4)
		case 2:
			n = 100 + r.IntN(1000)
		case 3:
			if r.IntN(50) == 0 {
				n = filterChunk + r.IntN(100)
			}
		default:
			n = 1 + r.IntN(24)
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + r.IntN(3))
		}
		return b
	}
	sets := 300
	if testing.Short() {
		sets = 60
	}
	for set := 0; set < sets; set++ {
		bpk := []int{1, 5, 10, 16}[r.IntN(4)]
		var prefix func([]byte) int
		switch r.IntN(3) {
		case 1:
			prefix = keys.PartitionPrefixLen
		case 2:
			prefix = func(b []byte) int { return min(len(b), 3) }
		}
		fw := filterWriter{bitsPerKey: bpk}
		lf := legacyFilter{bitsPerKey: bpk}
		var ks [][]byte
		var prev []byte
		for i, n := 0, r.IntN(3000); i < n; i++ {
			k := prev
			if prev == nil || r.IntN(4) != 0 {
				k = randKey()
				if r.IntN(5) == 0 {
					pk := fmt.Appendf(nil, "p%03d\x00", r.IntN(10))
					k = keys.ItemKey(nil, pk, k)
				}
			}
			ks = append(ks, k)
			prev = k
		}
		if r.IntN(2) == 0 {
			// In a table's order, where consecutive keys share prefixes.
			slices.SortFunc(ks, bytes.Compare)
		}
		for _, k := range ks {
			fw.addUserKey(k, prefix)
			lf.addUserKey(k, prefix)
		}
		require.Equal(t, len(lf.keys), fw.n, "set %d", set)
		got, want := fw.finish(), lf.finish()
		require.True(t, bytes.Equal(want, got), "set %d: %d keys, %d bits per key: filter blocks differ", set, fw.n, bpk)
	}
}

// TestFilterBlockTestMatchesLibrary: a filter block probed in place
// (filterBlock.Test, which reads the stored bytes) answers every key, added
// or not, as the library's filter over the same words does, for hash
// counts that use each base hash and bit counts that are not a multiple of
// 64.
func TestFilterBlockTestMatchesLibrary(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, bpk := range []int{1, 3, 10, 20} {
		for _, n := range []int{1, 7, 100, 5000} {
			fw := filterWriter{bitsPerKey: bpk}
			var added [][]byte
			for i := 0; i < n; i++ {
				k := fmt.Appendf(nil, "key-%d-%d", i, r.Uint64())
				fw.addUserKey(k, nil)
				added = append(added, k)
			}
			fb, err := decodeFilter(fw.finish(), "f", 0)
			require.NoError(t, err)
			m, k := binary.LittleEndian.Uint64(fb), binary.LittleEndian.Uint32(fb[8:])
			words := make([]uint64, (len(fb)-filterHeaderLen)/8)
			for i := range words {
				words[i] = binary.LittleEndian.Uint64(fb[filterHeaderLen+8*i:])
			}
			lib := bloom.FromWithM(words, uint(m), uint(k))
			for _, key := range added {
				require.True(t, fb.Test(key), "bpk %d n %d: added %q", bpk, n, key)
			}
			passes := 0
			for i := 0; i < 2000; i++ {
				key := fmt.Appendf(nil, "absent-%d", r.Uint64())
				got := fb.Test(key)
				require.Equal(t, lib.Test(key), got, "bpk %d n %d: %q", bpk, n, key)
				if got {
					passes++
				}
			}
			if bpk == 10 && n == 5000 {
				require.Less(t, passes, 60, "about 1%% false positives at 10 bits a key")
			}
		}
	}
}

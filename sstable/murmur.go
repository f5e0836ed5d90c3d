package sstable

import (
	"encoding/binary"
	"math/bits"
)

// bloomHashes returns the four 64-bit base hashes from which a bloom filter
// of github.com/bits-and-blooms/bloom/v3 (the filter block's format)
// derives the probes of key b: the two halves of the 128-bit MurmurHash3
// (x64 variant, seed 0) of b, then those of b followed by the byte 1. The
// library does not export them; this is computed here, without allocating,
// so that a key can be hashed once when added to a table and its bytes
// dropped. TestBloomHashesMatchLibrary holds it to the library's result.
func bloomHashes(b []byte) [4]uint64 {
	var h1, h2 uint64
	n := len(b)
	for len(b) >= 16 {
		h1, h2 = murmurBlock(h1, h2, binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:]))
		b = b[16:]
	}
	var tail [16]byte
	t := copy(tail[:], b)
	k1, k2 := binary.LittleEndian.Uint64(tail[:]), binary.LittleEndian.Uint64(tail[8:])
	a1, a2 := murmurFinal(h1, h2, k1, k2, t, n)
	tail[t] = 1
	k1, k2 = binary.LittleEndian.Uint64(tail[:]), binary.LittleEndian.Uint64(tail[8:])
	var a3, a4 uint64
	if t == 15 {
		// The appended byte completes a block.
		h1, h2 = murmurBlock(h1, h2, k1, k2)
		a3, a4 = murmurFinal(h1, h2, 0, 0, 0, n+1)
	} else {
		a3, a4 = murmurFinal(h1, h2, k1, k2, t+1, n+1)
	}
	return [4]uint64{a1, a2, a3, a4}
}

const (
	murmurC1 = 0x87c37b91114253d5
	murmurC2 = 0x4cf5ad432745937f
)

// murmurBlock mixes one 16-byte block (k1, k2) into the state.
func murmurBlock(h1, h2, k1, k2 uint64) (uint64, uint64) {
	k1 *= murmurC1
	k1 = bits.RotateLeft64(k1, 31)
	k1 *= murmurC2
	h1 ^= k1
	h1 = bits.RotateLeft64(h1, 27)
	h1 += h2
	h1 = h1*5 + 0x52dce729
	k2 *= murmurC2
	k2 = bits.RotateLeft64(k2, 33)
	k2 *= murmurC1
	h2 ^= k2
	h2 = bits.RotateLeft64(h2, 31)
	h2 += h1
	h2 = h2*5 + 0x38495ab5
	return h1, h2
}

// murmurFinal mixes a tail of t < 16 bytes (k1, k2: its bytes, little
// endian, zero-padded) and the total length n into the state and returns
// the 128-bit hash.
func murmurFinal(h1, h2, k1, k2 uint64, t, n int) (uint64, uint64) {
	if t > 8 {
		k2 *= murmurC2
		k2 = bits.RotateLeft64(k2, 33)
		k2 *= murmurC1
		h2 ^= k2
	}
	if t > 0 {
		k1 *= murmurC1
		k1 = bits.RotateLeft64(k1, 31)
		k1 *= murmurC2
		h1 ^= k1
	}
	h1 ^= uint64(n)
	h2 ^= uint64(n)
	h1 += h2
	h2 += h1
	h1 = murmurMix(h1)
	h2 = murmurMix(h2)
	h1 += h2
	h2 += h1
	return h1, h2
}

func murmurMix(k uint64) uint64 {
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	k *= 0xc4ceb9fe1a85ec53
	k ^= k >> 33
	return k
}

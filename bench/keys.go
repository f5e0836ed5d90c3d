package main

import (
	"math"
	"math/rand/v2"
)

// Key layout: every key is 16 ASCII digits, the zero-padded decimal of
// 2*i for the i-th present key, so keys sort in index order. readmissing
// asks for 2*i+1: absent keys that fall between present ones, so neither a
// key-range check nor the first byte gives them away (only a filter or a
// lookup does).
const keyLen = 16

func presentKey(dst []byte, i uint64) []byte { return decimalKey(dst, 2*i) }
func missingKey(dst []byte, i uint64) []byte { return decimalKey(dst, 2*i+1) }

func decimalKey(dst []byte, v uint64) []byte {
	dst = dst[:keyLen]
	for j := keyLen - 1; j >= 0; j-- {
		dst[j] = byte('0' + v%10)
		v /= 10
	}
	return dst
}

// valueSource hands out values of a fixed size, about half compressible:
// each value-sized stretch of its buffer is random bytes for its first half
// and a copy of them for its second (as db_bench's compression ratio 0.5).
type valueSource struct {
	buf  []byte
	size int
}

func newValueSource(size int, seed uint64) *valueSource {
	n := max(1<<20, 4*size)
	buf := make([]byte, n+size)
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	for off := 0; off < len(buf); off += size {
		end := min(off+size, len(buf))
		half := off + (end-off+1)/2
		for j := off; j < half; j++ {
			buf[j] = byte(r.Uint32())
		}
		copy(buf[half:end], buf[off:half])
	}
	return &valueSource{buf: buf, size: size}
}

// next returns a value; it aliases the source, which is never written.
func (s *valueSource) next(r *rand.Rand) []byte {
	off := r.IntN(len(s.buf) - s.size)
	return s.buf[off : off+s.size : off+s.size]
}

// zipf draws ranks in [0, n) with P(rank r) proportional to 1/(r+1)^theta,
// by the method YCSB uses (Gray et al., "Quickly Generating Billion-Record
// Synthetic Databases", SIGMOD 1994). It is safe for concurrent use: the
// caller passes its own rand.
type zipf struct {
	n                       uint64
	theta, alpha, zetan, et float64
	half                    float64
}

const zipfTheta = 0.99 // YCSB's default skew

func newZipf(n uint64) *zipf {
	n = max(n, 2)
	z := &zipf{n: n, theta: zipfTheta}
	var zeta2, zetan float64
	for i := uint64(1); i <= n; i++ {
		x := 1 / math.Pow(float64(i), z.theta)
		zetan += x
		if i == 2 {
			zeta2 = zetan
		}
	}
	z.zetan = zetan
	z.alpha = 1 / (1 - z.theta)
	z.et = (1 - math.Pow(2/float64(n), 1-z.theta)) / (1 - zeta2/zetan)
	z.half = 1 + math.Pow(0.5, z.theta)
	return z
}

func (z *zipf) next(r *rand.Rand) uint64 {
	u := r.Float64()
	uz := u * z.zetan
	if uz < 1 {
		return 0
	}
	if uz < z.half {
		return 1
	}
	v := uint64(float64(z.n) * math.Pow(z.et*u-z.et+1, z.alpha))
	return min(v, z.n-1)
}

// scrambled spreads the popular ranks over the key space (YCSB's
// ScrambledZipfianGenerator): rank -> FNV-1a(rank) mod n.
func (z *zipf) scrambled(r *rand.Rand) uint64 { return fnv64(z.next(r)) % z.n }

func fnv64(v uint64) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < 8; i++ {
		h ^= v & 0xff
		h *= 1099511628211
		v >>= 8
	}
	return h
}

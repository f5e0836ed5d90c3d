package main

import "math/bits"

func mul64(x, y uint64) (hi, lo uint64) { return bits.Mul64(x, y) }

// mod128 returns (hi<<64 | lo) mod n; hi < n since both factors are below n.
func mod128(hi, lo, n uint64) uint64 {
	_, r := bits.Div64(hi%n, lo, n)
	return r
}

package main

import (
	"math/bits"
	"time"
)

// hist is a latency histogram with logarithmic buckets: 32 linear steps per
// power of two, so a recorded value is known to within about 3%. A hist
// belongs to one goroutine; merge combines them.
type hist struct {
	counts [histBuckets]uint64
	total  uint64
	max    uint64
}

const (
	histSubBits = 5
	histSub     = 1 << histSubBits
	histBuckets = (64-histSubBits)*histSub + histSub
)

func histIndex(v uint64) int {
	shift := bits.Len64(v) - histSubBits - 1
	if shift <= 0 {
		return int(v)
	}
	return shift*histSub + int(v>>uint(shift))
}

// histValue is the middle of bucket i.
func histValue(i int) uint64 {
	if i < 2*histSub {
		return uint64(i)
	}
	shift := uint(i/histSub - 1)
	m := uint64(i - int(shift)*histSub)
	return m<<shift + (uint64(1)<<shift)/2
}

// recordN adds n values of d (a pipeline of n requests answered at once).
func (h *hist) recordN(d time.Duration, n int) {
	v := uint64(max(d, 0))
	h.counts[histIndex(v)] += uint64(n)
	h.total += uint64(n)
	h.max = max(h.max, v)
}

func (h *hist) merge(o *hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	h.max = max(h.max, o.max)
}

// quantile is the value at q (0 < q <= 1).
func (h *hist) quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := max(uint64(q*float64(h.total)+0.5), 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(histValue(i), h.max))
		}
	}
	return time.Duration(h.max)
}

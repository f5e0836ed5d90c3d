package main

import (
	"math/bits"
	"time"
)

// Hist is a log-bucketed latency histogram in the manner of HdrHistogram:
// 32 linear sub-buckets per power of two, so any recorded value is known to
// within about 3%. Recording is a few shifts and an increment; a Hist
// belongs to one goroutine, and Merge combines them.
type Hist struct {
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
		return int(v) // values below 2*histSub are exact
	}
	return shift*histSub + int(v>>uint(shift))
}

// histValue is the midpoint of bucket i.
func histValue(i int) uint64 {
	if i < 2*histSub {
		return uint64(i)
	}
	shift := uint(i/histSub - 1)
	m := uint64(i - int(shift)*histSub)
	return m<<shift + (uint64(1)<<shift)/2
}

// Record adds one duration.
func (h *Hist) Record(d time.Duration) {
	v := uint64(0)
	if d > 0 {
		v = uint64(d)
	}
	h.counts[histIndex(v)]++
	h.total++
	if v > h.max {
		h.max = v
	}
}

// Merge adds o's counts to h.
func (h *Hist) Merge(o *Hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
	h.max = max(h.max, o.max)
}

// Count is the number of recorded values.
func (h *Hist) Count() uint64 { return h.total }

// Quantile returns the value at quantile q (0 < q <= 1).
func (h *Hist) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(q*float64(h.total) + 0.5)
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(histValue(i), h.max))
		}
	}
	return time.Duration(h.max)
}

package sstable

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// BenchmarkFilterWriter: the filter writer alone over 100,000 distinct keys
// in order (add every key, then finish), with the bytes it kept per key
// reported as "kept-B/key". seq=N keys are N bytes ending in a 12-digit
// sequence number; random=16 keys are random bytes.
func BenchmarkFilterWriter(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, c := range []struct {
		name string
		size int
		rand bool
	}{{"seq=16", 16, false}, {"random=16", 16, true}, {"seq=64", 64, false}, {"seq=256", 256, false}} {
		ks := make([][]byte, 100000)
		for i := range ks {
			k := make([]byte, c.size)
			if c.rand {
				for j := range k {
					k[j] = byte(r.Uint32())
				}
			} else {
				copy(k[c.size-12:], fmt.Appendf(nil, "%012d", i))
			}
			ks[i] = k
		}
		slices.SortFunc(ks, bytes.Compare)
		b.Run(c.name, func(b *testing.B) {
			var kept int
			ct := startCPU(b)
			for i := 0; i < b.N; i++ {
				fw := filterWriter{bitsPerKey: 10}
				for _, k := range ks {
					fw.addUserKey(k, nil)
				}
				kept = 0
				for _, c := range fw.chunks {
					kept += len(c)
				}
				_ = fw.finish()
			}
			ct.stop(b)
			b.ReportMetric(float64(kept)/float64(len(ks)), "kept-B/key")
		})
	}
}

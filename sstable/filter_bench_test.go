package sstable

import (
	"fmt"
	"testing"
)

// BenchmarkFilterWriter: the filter writer alone over 100,000 distinct keys
// of a given size (add every key, then finish), with the bytes it kept per
// key reported as "kept-B/key".
func BenchmarkFilterWriter(b *testing.B) {
	for _, size := range []int{16, 64, 256} {
		ks := make([][]byte, 100000)
		for i := range ks {
			k := make([]byte, size)
			copy(k[size-12:], fmt.Appendf(nil, "%012d", i))
			ks[i] = k
		}
		b.Run(fmt.Sprintf("key=%d", size), func(b *testing.B) {
			var kept int
			ct := startCPU(b)
			for i := 0; i < b.N; i++ {
				fw := filterWriter{bitsPerKey: 10}
				for _, k := range ks {
					fw.addUserKey(k, nil)
				}
				kept = fw.chunkBytes
				_ = fw.finish()
			}
			ct.stop(b)
			b.ReportMetric(float64(kept)/float64(len(ks)), "kept-B/key")
		})
	}
}

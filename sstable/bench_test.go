package sstable

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/stratadb/strata/keys"
)

// cpuTimer reports the CPU time (user + system) of the process per
// operation as "cpu-ns/op", next to the wall-clock ns/op: on a loaded
// machine the wall clock also counts time spent waiting for a CPU.
type cpuTimer struct{ start time.Duration }

func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU(b *testing.B) *cpuTimer {
	b.ReportAllocs()
	b.ResetTimer()
	return &cpuTimer{cpuNow()}
}

func (c *cpuTimer) stop(b *testing.B) {
	b.StopTimer()
	b.ReportMetric(float64(cpuNow()-c.start)/float64(b.N), "cpu-ns/op")
}

// benchEntries returns n entries "user%012d" #1 SET with 100-byte values.
func benchEntries(n int) []kv {
	r := rand.New(rand.NewPCG(1, 1))
	es := make([]kv, n)
	for i := range es {
		v := make([]byte, 100)
		for j := range v {
			v[j] = byte('a' + r.IntN(8))
		}
		es[i] = kv{keys.MakeKey(nil, fmt.Appendf(nil, "user%012d", i), 1, keys.KindSet), v}
	}
	return es
}

func BenchmarkBlockSeek(b *testing.B) {
	var entries []kv
	for i := 0; i < 128; i++ {
		entries = append(entries, kv{keys.MakeKey(nil, fmt.Appendf(nil, "user%012d", i), 1, keys.KindSet), make([]byte, 16)})
	}
	raw := buildBlock(entries, 16)
	exp, _, _, err := expandBlock(raw, "b", 0)
	if err != nil {
		b.Fatal(err)
	}
	targets := make([][]byte, 1024)
	r := rand.New(rand.NewPCG(2, 2))
	for i := range targets {
		targets[i] = entries[r.IntN(len(entries))].key
	}
	for _, form := range []struct {
		name  string
		block []byte
	}{{"raw", raw}, {"expanded", exp}} {
		b.Run(form.name, func(b *testing.B) {
			var it blockIter
			if err := it.init(form.block, "b", 0); err != nil {
				b.Fatal(err)
			}
			ct := startCPU(b)
			for i := 0; i < b.N; i++ {
				if !it.SeekGE(targets[i&1023]) {
					b.Fatal("not found")
				}
			}
			ct.stop(b)
		})
	}
}

func BenchmarkBloomProbe(b *testing.B) {
	entries := benchEntries(100000)
	f := &memFile{}
	w := NewWriter(f, WriterOptions{})
	for _, e := range entries {
		_ = w.Add(e.key, e.value)
	}
	if _, err := w.Finish(); err != nil {
		b.Fatal(err)
	}
	rd := openTable(b, f.buf, ReaderOptions{})
	probes := make([][]byte, 1024)
	for i := range probes {
		probes[i] = fmt.Appendf(nil, "user%012d", i*197) // half present
	}
	ct := startCPU(b)
	for i := 0; i < b.N; i++ {
		rd.MayContain(probes[i&1023])
	}
	ct.stop(b)
}

func benchTable(b *testing.B, n int, c Compression) (*Reader, []kv) {
	entries := benchEntries(n)
	f := &memFile{}
	w := NewWriter(f, WriterOptions{Compression: c})
	for _, e := range entries {
		if err := w.Add(e.key, e.value); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := w.Finish(); err != nil {
		b.Fatal(err)
	}
	return openTable(b, f.buf, ReaderOptions{Cache: NewCache(256 << 20)}), entries
}

// BenchmarkGetCached measures a point read (LookupRef, its block released)
// on a warm block cache. With 10,000
// entries the table (1.3 MB) stays in the CPU caches, so the figure is the
// cost of the code; with 100,000 (13 MB) random probes mostly wait for
// memory.
func BenchmarkGetCached(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			rd, entries := benchTable(b, n, CompressionSnappy)
			type probe struct{ uk, sk []byte }
			probes := make([]probe, 4096)
			r := rand.New(rand.NewPCG(3, 3))
			for i := range probes {
				uk := keys.UserKey(entries[r.IntN(len(entries))].key)
				probes[i] = probe{uk, keys.SearchKey(nil, uk, keys.MaxSeq)}
			}
			for _, p := range probes { // warm the cache
				if _, _, found, err := rd.Get(p.uk, p.sk); !found || err != nil {
					b.Fatal("not found", err)
				}
			}
			ct := startCPU(b)
			for i := 0; i < b.N; i++ {
				p := probes[i&4095]
				_, _, ref, found, _ := rd.LookupRef(p.uk, p.sk)
				if !found {
					b.Fatal("not found")
				}
				ref.Release()
			}
			ct.stop(b)
		})
	}
}

func BenchmarkIterNext(b *testing.B) {
	rd, _ := benchTable(b, 100000, CompressionSnappy)
	it := rd.NewIter()
	for ok := it.First(); ok; ok = it.Next() {
	} // warm the cache
	it.First()
	ct := startCPU(b)
	for i := 0; i < b.N; i++ {
		if !it.Next() {
			it.First()
		}
	}
	ct.stop(b)
}

func BenchmarkWrite(b *testing.B) {
	entries := benchEntries(100000)
	var bytes int64
	for _, e := range entries {
		bytes += int64(len(e.key) + len(e.value))
	}
	for _, c := range []Compression{CompressionNone, CompressionSnappy, CompressionZstd} {
		b.Run(c.String(), func(b *testing.B) {
			b.SetBytes(bytes)
			ct := startCPU(b)
			for i := 0; i < b.N; i++ {
				f := &memFile{buf: make([]byte, 0, 16<<20)}
				w := NewWriter(f, WriterOptions{Compression: c})
				for _, e := range entries {
					if err := w.Add(e.key, e.value); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := w.Finish(); err != nil {
					b.Fatal(err)
				}
			}
			ct.stop(b)
		})
	}
}

// BenchmarkCacheGetParallel: block cache hits from every CPU at once, the
// read path's shared structure under concurrent readers.
func BenchmarkCacheGetParallel(b *testing.B) {
	c := NewCache(64 << 20)
	block := make([]byte, 4096)
	const blocks = 4096
	for i := uint64(0); i < blocks; i++ {
		c.Set(i%16, i*4096, block)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := uint64(rand.Uint32())
		for pb.Next() {
			i = i*6364136223846793005 + 1442695040888963407
			k := (i >> 33) % blocks
			ref, _, ok := c.acquire(k%16, k*4096, false)
			if !ok {
				b.Error("miss")
				return
			}
			ref.Release()
		}
	})
}

// BenchmarkCacheSetFull inserts new blocks into a full 4 MiB cache, the
// steady state of a data set larger than the cache: every insert evicts.
func BenchmarkCacheSetFull(b *testing.B) {
	c := NewCache(4 << 20)
	block := make([]byte, 4096)
	for i := uint64(0); i < 2048; i++ {
		c.Set(i%16, i*4096, block)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := uint64(0); i < uint64(b.N); i++ {
		k := 2048 + i
		c.Set(k%16, k*4096, block)
	}
}

// BenchmarkIndexSearch finds the data block of random keys in the index of
// a table of about 12,000 blocks (random 16-byte keys, as the benchmark
// harness writes): by a binary search over the index entries, as before
// the prefix array, and by the prefix array (indexSearch).
func BenchmarkIndexSearch(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 9))
	es := make([]kv, 400000)
	for i := range es {
		uk := make([]byte, 16)
		for j := range uk {
			uk[j] = byte(r.Uint32())
		}
		es[i] = kv{keys.MakeKey(nil, uk, 1, keys.KindSet), make([]byte, 100)}
	}
	slices.SortFunc(es, func(a, b kv) int { return keys.Compare(a.key, b.key) })
	data, props := writeTable(b, es, WriterOptions{Compression: CompressionNone})
	rd := openTable(b, data, ReaderOptions{})
	defer rd.Close()
	m := rd.mustIndex(b)
	targets := make([][]byte, 1<<16)
	for i := range targets {
		targets[i] = keys.SearchKey(nil, keys.UserKey(es[r.IntN(len(es))].key), keys.MaxSeq)
	}
	b.Logf("%d blocks, index %d KiB", props.NumDataBlocks, len(m.index)>>10)
	var it blockIter
	b.Run("entries", func(b *testing.B) {
		ct := startCPU(b)
		for i := 0; i < b.N; i++ {
			it.init(m.index, "t", 0)
			if !it.SeekGE(targets[i&(len(targets)-1)]) {
				b.Fatal("not found")
			}
		}
		ct.stop(b)
	})
	b.Run("prefixes", func(b *testing.B) {
		ct := startCPU(b)
		for i := 0; i < b.N; i++ {
			it.init(m.index, "t", 0)
			if m.indexSearch(&it, targets[i&(len(targets)-1)]) >= len(m.handles) {
				b.Fatal("not found")
			}
		}
		ct.stop(b)
	})
}

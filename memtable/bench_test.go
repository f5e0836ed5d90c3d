package memtable

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/stratadb/strata/keys"
)

const (
	benchKeyLen   = 16
	benchValueLen = 100
	benchEntries  = 1 << 20
)

// fillKey overwrites k with random bytes.
func fillKey(r *rand.PCG, k []byte) {
	for i := 0; i < len(k); i += 8 {
		v := r.Uint64()
		for j := i; j < len(k) && j < i+8; j++ {
			k[j] = byte(v)
			v >>= 8
		}
	}
}

// fillDecimalKey overwrites k with a random number below 10^7 in decimal,
// zero-padded to len(k): keys that share their first bytes, like most keys
// programs make ("user:000123", timestamps, the benchmark harness's keys).
func fillDecimalKey(r *rand.PCG, k []byte) {
	v := r.Uint64() % 10_000_000
	for i := len(k) - 1; i >= 0; i-- {
		k[i] = byte('0' + v%10)
		v /= 10
	}
}

// keyShapes are the key generators the memtable benchmarks run with.
var keyShapes = []struct {
	name string
	fill func(*rand.PCG, []byte)
}{
	{"binary", fillKey},
	{"decimal", fillDecimalKey},
}

// BenchmarkAdd inserts 16-byte random keys with 100-byte values, rotating
// to a fresh memtable (outside the timer) when one fills.
func BenchmarkAdd(b *testing.B) {
	for _, shape := range keyShapes {
		b.Run(shape.name, func(b *testing.B) {
			benchAdd(b, shape.fill, func() *Memtable { return New(256 << 20) })
		})
	}
}

// BenchmarkAddStaged compares the writer's cost per insert into a 64 MiB
// memtable (the DB's default), plain and staged with a 1 MiB front (the
// DB's default front), decimal keys. The staged one's copies run on another
// core; the writer waits for them only when two fronts are waiting. Each
// full memtable is finished and replaced outside the timer.
func BenchmarkAddStaged(b *testing.B) {
	b.Run("plain", func(b *testing.B) {
		benchAdd(b, fillDecimalKey, func() *Memtable { return New(64 << 20) })
	})
	b.Run("staged", func(b *testing.B) {
		benchAdd(b, fillDecimalKey, func() *Memtable { return NewStaged(64<<20, 1<<20) })
	})
}

// benchAdd adds keys from fill to memtables from newTable, finishing each
// full one and starting the next outside the timer.
func benchAdd(b *testing.B, fill func(*rand.PCG, []byte), newTable func() *Memtable) {
	b.ReportAllocs()
	r := rand.NewPCG(1, 2)
	ukey := make([]byte, benchKeyLen)
	value := make([]byte, benchValueLen)
	m := newTable()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fill(r, ukey)
		err := m.Add(ukey, keys.SeqNum(i+1), keys.KindSet, value)
		if errors.Is(err, ErrFull) {
			b.StopTimer()
			if err := m.Finish(); err != nil {
				b.Fatal(err)
			}
			m.Release() // off the heap: the collector would not free it
			m = newTable()
			b.StartTimer()
			err = m.Add(ukey, keys.SeqNum(i+1), keys.KindSet, value)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if err := m.Finish(); err != nil {
		b.Fatal(err)
	}
	m.Release()
}

type benchTable struct {
	once sync.Once
	m    *Memtable
	keys [][]byte // user keys in insertion order; seq of keys[i] is i+1
}

var benchTables = map[string]*benchTable{"binary": {}, "decimal": {}}

// benchMemtable returns a memtable of 1M entries (16-byte random keys,
// 100-byte values) with keys of the shape named by b's last name element
// ("binary" unless it is "decimal"), built once per process and shape.
func benchMemtable(b *testing.B) (*Memtable, [][]byte) {
	shape := keyShapes[0]
	if strings.HasSuffix(b.Name(), "/decimal") {
		shape = keyShapes[1]
	}
	t := benchTables[shape.name]
	t.once.Do(func() {
		r := rand.NewPCG(3, 4)
		value := make([]byte, benchValueLen)
		m := New(benchEntries * EntrySize(benchKeyLen, benchValueLen))
		ks := make([][]byte, benchEntries)
		for i := range ks {
			ks[i] = make([]byte, benchKeyLen)
			shape.fill(r, ks[i])
			if err := m.Add(ks[i], keys.SeqNum(i+1), keys.KindSet, value); err != nil {
				panic(err)
			}
		}
		t.m, t.keys = m, ks
	})
	return t.m, t.keys
}

// addRandom adds n random keys of benchKeyLen bytes with benchValueLen-byte
// values to m, at sequence numbers 1 to n, and returns the keys.
func addRandom(b *testing.B, m *Memtable, r *rand.PCG, n int) [][]byte {
	value := make([]byte, benchValueLen)
	ks := make([][]byte, n)
	for i := range ks {
		ks[i] = make([]byte, benchKeyLen)
		fillKey(r, ks[i])
		if err := m.Add(ks[i], keys.SeqNum(i+1), keys.KindSet, value); err != nil {
			b.Fatal(err)
		}
	}
	return ks
}

// BenchmarkGet looks up random present keys of a 1M-entry memtable.
func BenchmarkGet(b *testing.B) {
	for _, shape := range keyShapes {
		b.Run(shape.name, benchGet)
	}
}

func benchGet(b *testing.B) {
	m, ks := benchMemtable(b)
	r := rand.New(rand.NewPCG(5, 6))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, ok := m.Get(ks[r.IntN(len(ks))], keys.MaxSeq); !ok {
			b.Fatal("miss")
		}
	}
}

// BenchmarkGetCached looks up random present keys of a 16K-entry memtable
// that fits in the CPU caches: the cost of the comparisons alone, without
// BenchmarkGet's cache misses.
func BenchmarkGetCached(b *testing.B) {
	const n = 1 << 14
	m := New(n * EntrySize(benchKeyLen, benchValueLen))
	ks := addRandom(b, m, rand.NewPCG(9, 10), n)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, ok := m.Get(ks[i&(n-1)], keys.MaxSeq); !ok {
			b.Fatal("miss")
		}
	}
}

// BenchmarkSeekGE seeks to random present keys of a 1M-entry memtable.
func BenchmarkSeekGE(b *testing.B) {
	m, ks := benchMemtable(b)
	r := rand.New(rand.NewPCG(7, 8))
	sk := make([]byte, 0, benchKeyLen+keys.TrailerLen)
	it := m.NewIter()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sk = keys.SearchKey(sk[:0], ks[r.IntN(len(ks))], keys.MaxSeq)
		if !it.SeekGE(sk) {
			b.Fatal("seek failed")
		}
	}
}

// BenchmarkIterNext steps through a 1M-entry memtable, restarting at the
// end.
func BenchmarkIterNext(b *testing.B) {
	m, _ := benchMemtable(b)
	it := m.NewIter()
	it.First()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !it.Next() {
			it.First()
		}
	}
}

// BenchmarkIterPrev steps backwards through a 1M-entry memtable.
func BenchmarkIterPrev(b *testing.B) {
	m, _ := benchMemtable(b)
	it := m.NewIter()
	it.Last()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !it.Prev() {
			it.Last()
		}
	}
}

// BenchmarkFillRelease fills a 64 MiB memtable with 16-byte keys in order
// and 100-byte values, then releases it, as a DB's memtables come and go:
// each maps a new arena, faults its pages in as it fills, and unmaps it.
// Run with -benchtime=5x or so; per op is one memtable's life.
func BenchmarkFillRelease(b *testing.B) {
	value := make([]byte, 100)
	var k [16]byte
	defer reportCPU(b, processCPU())
	for i := 0; i < b.N; i++ {
		m := New(64 << 20)
		for j := uint64(1); ; j++ {
			binary.BigEndian.PutUint64(k[8:], j)
			if err := m.Add(k[:], keys.SeqNum(j), keys.KindSet, value); err != nil {
				break
			}
		}
		m.Release()
	}
}

// BenchmarkGetAbsent looks up keys a 1M-entry memtable does not hold (the
// usual case for a memtable in front of larger tables), with its key
// filter and with the filter turned off.
func BenchmarkGetAbsent(b *testing.B) {
	for _, on := range []bool{true, false} {
		b.Run(map[bool]string{true: "filter", false: "nofilter"}[on], func(b *testing.B) {
			m, ks := benchMemtable(b)
			f := m.filter
			if !on {
				m.filter = filter{}
				defer func() { m.filter = f }()
			}
			absent := make([][]byte, 4096)
			for i := range absent {
				absent[i] = append(append([]byte{}, ks[i]...), 'x')
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, _, ok := m.Get(absent[i%len(absent)], keys.MaxSeq); ok {
					b.Fatal("hit")
				}
			}
		})
	}
}

// BenchmarkGetStaged looks up random keys of the main list of a staged
// memtable (300k entries) while its front holds other keys: the lookups a
// filling memtable serves most, which pass the memtable's filter and must
// get past the front to the main list.
func BenchmarkGetStaged(b *testing.B) {
	const n = 300_000
	r := rand.NewPCG(11, 12)
	value := make([]byte, benchValueLen)
	m := NewStaged(64<<20, 1<<20)
	defer m.Release()
	ks := addRandom(b, m, r, n)
	if _, err := m.Prepare(m.stage.frontCap); err != nil { // copy every front into main
		b.Fatal(err)
	}
	k := make([]byte, benchKeyLen)
	for i := range 6000 { // most of a 1 MiB front
		fillKey(r, k)
		if err := m.Add(k, keys.SeqNum(n+i+1), keys.KindSet, value); err != nil {
			b.Fatal(err)
		}
	}
	rr := rand.New(rand.NewPCG(13, 14))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, ok := m.Get(ks[rr.IntN(n)], keys.MaxSeq); !ok {
			b.Fatal("miss")
		}
	}
	b.StopTimer()
	if err := m.Finish(); err != nil {
		b.Fatal(err)
	}
}

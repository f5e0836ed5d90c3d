package slab

import (
	"math/rand/v2"
	"testing"
)

// TestClasses: every size from 1 byte to MaxClass gets the smallest class
// that holds it, wasting at most 1/16 of the slot (256 bytes below 256).
func TestClasses(t *testing.T) {
	prev := -1
	for n := 1; n <= MaxClass; n++ {
		ci, size := classOf(n)
		if size < n || classSize(ci) != size {
			t.Fatalf("classOf(%d) = class %d of %d bytes (classSize says %d)", n, ci, size, classSize(ci))
		}
		if ci > 0 && classSize(ci-1) >= n {
			t.Fatalf("classOf(%d) = %d bytes, but class %d of %d bytes holds it", n, size, ci-1, classSize(ci-1))
		}
		if n > 256 && (size-n)*16 > size {
			t.Fatalf("classOf(%d) wastes %d of %d bytes", n, size-n, size)
		}
		if ci < prev || ci >= numClasses {
			t.Fatalf("classOf(%d) = %d: out of order or range", n, ci)
		}
		prev = ci
	}
	if _, size := classOf(4200); size != 4352 {
		t.Fatalf("a 4,200-byte block takes a %d-byte slot, want 4352", size)
	}
}

// TestAllocFree, for slabs and for separate mappings: buffers are as long
// as asked, do not overlap, keep what is written to them, and once all are
// freed and the allocator closed, it holds no memory.
func TestAllocFree(t *testing.T) {
	for _, separate := range []bool{false, true} {
		a := newAllocator(separate)
		r := rand.New(rand.NewPCG(1, 2))
		var bufs []Buf
		check := func(b Buf) {
			for i, c := range b.Bytes() {
				if c != byte(len(b.Bytes())+i) {
					t.Fatalf("separate=%v: buffer of %d bytes: byte %d is %d, overwritten", separate, len(b.Bytes()), i, c)
				}
			}
		}
		for round := 0; round < 4000; round++ {
			if len(bufs) > 0 && r.IntN(3) == 0 {
				i := r.IntN(len(bufs))
				check(bufs[i])
				a.Free(bufs[i])
				bufs[i] = bufs[len(bufs)-1]
				bufs = bufs[:len(bufs)-1]
				continue
			}
			n := 1 + r.IntN(9000)
			if r.IntN(50) == 0 {
				n = MaxClass + r.IntN(100000)
			}
			b, err := a.Alloc(n)
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Bytes()) != n || cap(b.Bytes()) < n {
				t.Fatalf("Alloc(%d): len %d cap %d", n, len(b.Bytes()), cap(b.Bytes()))
			}
			for i := range b.Bytes() {
				b.Bytes()[i] = byte(n + i)
			}
			bufs = append(bufs, b)
		}
		var want int64
		for _, b := range bufs {
			check(b)
			want += int64(cap(b.Bytes()))
		}
		if a.Live() != want {
			t.Fatalf("separate=%v: Live = %d, want %d", separate, a.Live(), want)
		}
		if a.Mapped() < a.Live() {
			t.Fatalf("separate=%v: Mapped %d below Live %d", separate, a.Mapped(), a.Live())
		}
		for _, b := range bufs {
			a.Free(b)
		}
		a.Close()
		if a.Live() != 0 || a.Mapped() != 0 {
			t.Fatalf("separate=%v: after freeing all and Close: Live %d, Mapped %d", separate, a.Live(), a.Mapped())
		}
	}
}

// TestSlabReuse: a freed slot is handed out again before a new slab is
// mapped, and a class keeps one empty slab, not more.
func TestSlabReuse(t *testing.T) {
	a := newAllocator(false)
	_, size := classOf(4200)
	perSlab := slabSize / size
	var bufs []Buf
	for i := 0; i < 3*perSlab; i++ {
		b, err := a.Alloc(4200)
		if err != nil {
			t.Fatal(err)
		}
		bufs = append(bufs, b)
	}
	mapped := a.Mapped()
	if want := int64(3 * perSlab * size); mapped != want {
		t.Fatalf("3 full slabs map %d bytes, want %d", mapped, want)
	}
	for round := 0; round < 100; round++ {
		a.Free(bufs[round%len(bufs)])
		b, err := a.Alloc(4100)
		if err != nil {
			t.Fatal(err)
		}
		bufs[round%len(bufs)] = b
	}
	if a.Mapped() != mapped {
		t.Fatalf("free then alloc mapped more: %d, was %d", a.Mapped(), mapped)
	}
	for _, b := range bufs {
		a.Free(b)
	}
	if want := int64(perSlab * size); a.Mapped() != want {
		t.Fatalf("all free: %d bytes mapped, want one spare slab (%d)", a.Mapped(), want)
	}
	a.Close()
	if a.Mapped() != 0 {
		t.Fatalf("after Close: %d bytes mapped", a.Mapped())
	}
}

// BenchmarkAllocFree: a 4 KiB block's slot taken and given back, as a
// cache at its capacity does per miss.
func BenchmarkAllocFree(b *testing.B) {
	for _, mode := range []struct {
		name     string
		separate bool
	}{{"slab", false}, {"mapping", true}} {
		b.Run(mode.name, func(b *testing.B) {
			a := newAllocator(mode.separate)
			ring := make([]Buf, 1024)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				j := i % len(ring)
				a.Free(ring[j])
				buf, err := a.Alloc(4200)
				if err != nil {
					b.Fatal(err)
				}
				buf.Bytes()[0], buf.Bytes()[4199] = 1, 2 // touch it, as a block copy does
				ring[j] = buf
			}
			for _, buf := range ring {
				a.Free(buf)
			}
			a.Close()
		})
	}
}

// TestSlabsFollowHolding: an allocator for a small holding maps small
// slabs (at least 8 slots), one for a large holding 128 KiB ones.
func TestSlabsFollowHolding(t *testing.T) {
	for _, c := range []struct {
		holding int64
		want    int64 // bytes mapped by one 4,200-byte buffer
	}{
		{1 << 20, 8 * 4352},   // 16 KiB slabs: 8 slots at least
		{4 << 20, 15 * 4352},  // 64 KiB
		{64 << 20, 30 * 4352}, // 128 KiB
		{0, 8 * 4352},         // no holding: the smallest
	} {
		a := New(c.holding)
		a.separate = false // slabs even in the invariants build
		b, err := a.Alloc(4200)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.Mapped(); got != c.want {
			t.Errorf("holding %d: one buffer maps %d bytes, want %d", c.holding, got, c.want)
		}
		a.Free(b)
		a.Close()
	}
}

// TestAllocLong: a long-lived buffer from LongFrom bytes up has a mapping
// of its own, exactly its size, and gives it all back when freed; a
// smaller one comes from a slab as Alloc's do. SizeLong is the memory
// each takes.
func TestAllocLong(t *testing.T) {
	a := New(64 << 20)
	a.separate = false // slabs even in the invariants build
	sizes := []int{LongFrom, LongFrom + 100, 20 << 10, 31 << 10, 40 << 10}
	var bufs []Buf
	for _, n := range sizes {
		b, err := a.AllocLong(n)
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Bytes()) != n {
			t.Fatalf("AllocLong(%d): %d bytes", n, len(b.Bytes()))
		}
		b.Bytes()[0], b.Bytes()[n-1] = 1, 2
		bufs = append(bufs, b)
	}
	var want int64
	for _, n := range sizes {
		want += int64(n)
		if got := SizeLong(n); got%pageSize != 0 || got < n || got-n >= pageSize {
			t.Errorf("SizeLong(%d) = %d, want n rounded up to pages", n, got)
		}
	}
	if a.Mapped() != want {
		t.Fatalf("%d long buffers map %d bytes, want %d (no slabs)", len(sizes), a.Mapped(), want)
	}
	for _, b := range bufs {
		a.Free(b)
	}
	if a.Mapped() != 0 || a.Live() != 0 {
		t.Fatalf("all freed: %d mapped, %d live", a.Mapped(), a.Live())
	}

	small, err := a.AllocLong(LongFrom - 1)
	if err != nil {
		t.Fatal(err)
	}
	_, slot := classOf(LongFrom - 1)
	if a.Mapped() <= int64(slot) {
		t.Fatalf("a buffer under LongFrom maps %d bytes: want a slab of several %d-byte slots", a.Mapped(), slot)
	}
	if SizeLong(LongFrom-1) != Size(LongFrom-1) {
		t.Errorf("SizeLong under LongFrom = %d, want Size's %d", SizeLong(LongFrom-1), Size(LongFrom-1))
	}
	a.Free(small)
	a.Close()
}

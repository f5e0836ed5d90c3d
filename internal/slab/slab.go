package slab

import (
	"fmt"
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/stratadb/strata/internal/invariants"
	"github.com/stratadb/strata/internal/offheap"
)

// Size classes: see the package doc.
const (
	minClassShift = 8 // 256 bytes
	maxClassShift = 15
	classSteps    = 16 // per doubling
	// MaxClass is the largest buffer served from a slab; larger ones get a
	// mapping of their own.
	MaxClass   = 1 << maxClassShift
	numClasses = (maxClassShift-minClassShift)*classSteps + 1
	// slabSize is the most bytes of a slab of small slots: 30 slots of
	// 4,352 bytes. Larger slabs map less often; smaller ones leave less
	// memory in the free slots of partly used slabs.
	slabSize = 128 << 10
	// minSlabSize is the least, for allocators of small holdings (see New).
	minSlabSize = 16 << 10
	// minSlots is the fewest slots a slab holds (slabs of slots above
	// slabSize/minSlots are larger than slabSize).
	minSlots = 8
)

// classOf returns the size class of an n-byte buffer (0 < n <= MaxClass)
// and its slot size.
func classOf(n int) (class, size int) {
	if n <= 1<<minClassShift {
		return 0, 1 << minClassShift
	}
	e := bits.Len(uint(n-1)) - 1 // 2^e < n <= 2^(e+1)
	step := 1 << e / classSteps
	k := (n - 1<<e + step - 1) / step // 1..classSteps
	return (e-minClassShift)*classSteps + k, 1<<e + k*step
}

// Size returns the bytes an n-byte buffer takes (n > 0): its slot's size,
// or n above MaxClass. It is the same in every build, so that what a cache
// charges for a buffer does not depend on how the build allocates it.
func Size(n int) int {
	if n > MaxClass {
		return n
	}
	_, size := classOf(n)
	return size
}

// LongFrom is the size from which AllocLong gives a buffer a mapping of its
// own.
const LongFrom = 8 << 10

// pageSize is what a mapping of its own is rounded up to.
const pageSize = 4 << 10

// SizeLong is Size for a buffer from AllocLong: from LongFrom up, n rounded
// up to whole pages, its mapping's size.
func SizeLong(n int) int {
	if n < LongFrom {
		return Size(n)
	}
	return (n + pageSize - 1) &^ (pageSize - 1)
}

// Buf is a buffer from an Allocator. The zero Buf holds nothing.
type Buf struct {
	b []byte
	s *slab // nil: a mapping of its own
}

// Bytes returns the buffer: as long as asked for, its capacity the bytes it
// takes (its slot's size). Nothing may use it after Free.
func (b Buf) Bytes() []byte { return b.b }

// Allocator hands out buffers outside the Go heap (see the package doc).
// It is safe for concurrent use. Each class's mutex guards its slabs and
// their free lists; mu guards own (the invariants build's record of
// buffers with mappings of their own).
type Allocator struct {
	separate bool // every buffer gets a mapping of its own
	slabSize int  // bytes of a slab (see New)
	classes  [numClasses]class
	live     atomic.Int64 // bytes of the buffers handed out, by capacity
	mapped   atomic.Int64 // bytes of slabs and own mappings held
	closed   atomic.Bool

	mu  sync.Mutex
	own map[*byte]int // invariants build: buffers with own mappings, by first byte
}

// class is one size class: its slabs with free slots (partial) and at most
// one slab with no slot in use (spare). mu guards every field but size.
type class struct {
	mu      sync.Mutex
	size    int
	partial []*slab
	spare   *slab
	_       [40]byte // keeps neighbouring classes' locks off one cache line
}

// slab is one mapping cut into slots of its class's size. Its class's mu
// guards every field.
type slab struct {
	mem  []byte
	size int      // slot size
	free []uint16 // slot numbers not in use, a stack
	used []uint64 // invariants build: a bit per slot in use
	at   int      // index in the class's partial list; -1 if not there
}

// poison fills a freed slot in the invariants build, so that a read after
// free sees bytes no writer wrote instead of the block that was there.
const poison = 0xdb

// New returns an Allocator for a caller that holds up to about holding
// bytes at once (a cache's capacity): its slabs are holding/64 bytes,
// between 16 and 128 KiB, so that the free slots of partly used slabs stay
// a small part of what a small cache holds. In the invariants build every
// buffer gets a mapping of its own (see the package doc).
func New(holding int64) *Allocator {
	a := newAllocator(invariants.Enabled)
	a.slabSize = int(min(max(holding/64, minSlabSize), slabSize))
	return a
}

func newAllocator(separate bool) *Allocator {
	a := &Allocator{separate: separate, slabSize: slabSize}
	for i := range a.classes {
		a.classes[i].size = classSize(i)
	}
	if invariants.Enabled {
		a.own = make(map[*byte]int)
	}
	return a
}

// classSize returns the slot size of class i.
func classSize(i int) int {
	if i == 0 {
		return 1 << minClassShift
	}
	e := minClassShift + (i-1)/classSteps
	k := (i-1)%classSteps + 1
	return 1<<e + k*(1<<e/classSteps)
}

// Alloc returns a buffer of n bytes (n > 0), not zeroed. It fails only if
// the system refuses memory.
func (a *Allocator) Alloc(n int) (Buf, error) {
	if n <= 0 {
		return Buf{}, fmt.Errorf("slab: allocation of %d bytes", n)
	}
	if a.separate || n > MaxClass {
		return a.allocOwn(n)
	}
	ci, size := classOf(n)
	c := &a.classes[ci]
	c.mu.Lock()
	if len(c.partial) == 0 {
		s := c.spare
		c.spare = nil
		if s == nil {
			var err error
			if s, err = a.newSlab(size); err != nil {
				c.mu.Unlock()
				return Buf{}, err
			}
		}
		s.at = len(c.partial)
		c.partial = append(c.partial, s)
	}
	s := c.partial[len(c.partial)-1]
	slot := int(s.free[len(s.free)-1])
	s.free = s.free[:len(s.free)-1]
	if len(s.free) == 0 {
		c.unlinkPartial(s)
	}
	if invariants.Enabled {
		if s.used[slot/64]&(1<<(slot%64)) != 0 {
			panic(fmt.Sprintf("slab: slot %d of class %d handed out twice", slot, size))
		}
		s.used[slot/64] |= 1 << (slot % 64)
	}
	c.mu.Unlock()
	a.live.Add(int64(size))
	off := slot * size
	return Buf{b: s.mem[off : off+n : off+size], s: s}, nil
}

// AllocLong is Alloc for a buffer that lives long and has few of its size
// beside it (a table's point index or filter, made when the table opens
// and freed when it goes): from LongFrom bytes up it gets a mapping of its
// own, of SizeLong(n) bytes (whole pages: at most a page more than n, a
// quarter of it on average from 8 KiB up). From a slab, a class holding
// one such buffer holds a whole slab (about 120 KiB from 8 KiB slots up),
// and each of the dozens of classes they spread over keeps an empty slab
// once its last buffer goes: in a 20M-key settle, 1.7 MiB of slabs held
// 0.25 MiB of point indexes.
func (a *Allocator) AllocLong(n int) (Buf, error) {
	if n >= LongFrom {
		return a.allocOwn(n)
	}
	return a.Alloc(n)
}

// allocOwn gives an n-byte buffer a mapping of its own.
func (a *Allocator) allocOwn(n int) (Buf, error) {
	b, err := offheap.Alloc(n)
	if err != nil {
		return Buf{}, err
	}
	a.mapped.Add(int64(n))
	a.live.Add(int64(n))
	if invariants.Enabled {
		a.mu.Lock()
		a.own[unsafe.SliceData(b)] = n
		a.mu.Unlock()
	}
	return Buf{b: b}, nil
}

// newSlab maps a slab of slots of size bytes.
func (a *Allocator) newSlab(size int) (*slab, error) {
	n := max(a.slabSize/size, minSlots)
	mem, err := offheap.AllocPopulated(n * size)
	if err != nil {
		return nil, err
	}
	a.mapped.Add(int64(len(mem)))
	s := &slab{mem: mem, size: size, free: make([]uint16, n), at: -1}
	for i := range s.free {
		s.free[i] = uint16(n - 1 - i) // slot 0 is handed out first
	}
	if invariants.Enabled {
		s.used = make([]uint64, (n+63)/64)
	}
	return s, nil
}

func (c *class) unlinkPartial(s *slab) {
	last := c.partial[len(c.partial)-1]
	c.partial[s.at] = last
	last.at = s.at
	c.partial[len(c.partial)-1] = nil
	c.partial = c.partial[:len(c.partial)-1]
	s.at = -1
}

// Free returns b to the allocator. Nothing may use b afterwards; freeing a
// buffer twice is a bug (the invariants build panics).
func (a *Allocator) Free(b Buf) {
	if b.b == nil {
		return
	}
	if b.s == nil {
		n := len(b.b)
		if invariants.Enabled {
			a.mu.Lock()
			_, ok := a.own[unsafe.SliceData(b.b)]
			delete(a.own, unsafe.SliceData(b.b))
			a.mu.Unlock()
			if !ok {
				panic("slab: Free of a buffer not allocated, or freed already")
			}
		}
		a.live.Add(-int64(n))
		a.mapped.Add(-int64(n))
		offheap.Free(b.b[:n:n])
		return
	}
	s := b.s
	size := s.size
	slot := int(uintptr(unsafe.Pointer(unsafe.SliceData(b.b)))-uintptr(unsafe.Pointer(unsafe.SliceData(s.mem)))) / size
	ci, _ := classOf(size)
	c := &a.classes[ci]
	c.mu.Lock()
	if invariants.Enabled {
		if s.used[slot/64]&(1<<(slot%64)) == 0 {
			c.mu.Unlock()
			panic(fmt.Sprintf("slab: slot %d of class %d freed twice", slot, size))
		}
		s.used[slot/64] &^= 1 << (slot % 64)
	}
	if invariants.Enabled {
		p := b.b[:size]
		for i := range p {
			p[i] = poison
		}
	}
	s.free = append(s.free, uint16(slot))
	var unmap *slab
	switch {
	case len(s.free) == len(s.mem)/size: // no slot in use
		c.unlinkPartial(s)
		if c.spare == nil && !a.closed.Load() {
			c.spare = s
		} else {
			unmap = s
		}
	case len(s.free) == 1: // was full
		s.at = len(c.partial)
		c.partial = append(c.partial, s)
	}
	c.mu.Unlock()
	a.live.Add(-int64(size))
	if unmap != nil {
		a.mapped.Add(-int64(len(unmap.mem)))
		offheap.Free(unmap.mem)
	}
}

// Close unmaps the empty slabs kept for reuse and keeps none from now on:
// once every buffer is freed, the allocator holds no memory. The allocator
// may still be used.
func (a *Allocator) Close() {
	a.closed.Store(true)
	for i := range a.classes {
		c := &a.classes[i]
		c.mu.Lock()
		s := c.spare
		c.spare = nil
		c.mu.Unlock()
		if s != nil {
			a.mapped.Add(-int64(len(s.mem)))
			offheap.Free(s.mem)
		}
	}
}

// Live returns the bytes of the buffers handed out and not freed, each
// counted by its capacity (its slot's size).
func (a *Allocator) Live() int64 { return a.live.Load() }

// Mapped returns the bytes of memory the allocator holds: its slabs, in use
// or not, and the buffers with mappings of their own.
func (a *Allocator) Mapped() int64 { return a.mapped.Load() }

package sstable

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/slab"
)

// sameShardKeys returns n (fileNum, offset) keys that land in one shard.
func sameShardKeys(c *Cache, n int) []cacheKey {
	var out []cacheKey
	want := c.shard(cacheKey{1, 0})
	for off := uint64(0); len(out) < n; off += 4096 {
		if k := (cacheKey{1, off}); c.shard(k) == want {
			out = append(out, k)
		}
	}
	return out
}

func TestCacheLRUEviction(t *testing.T) {
	const blockLen = 512 // a slot size (slab.Size): charged as it is
	charge := int64(blockLen + cacheEntryOverhead)
	c := NewCache(cacheShards * 5 * charge) // five blocks per shard
	require.Equal(t, cacheShards*5*charge, c.Capacity())
	ks := sameShardKeys(c, 7)
	block := func(i int) []byte { b := make([]byte, blockLen); b[0] = byte(i); return b }
	for i := 0; i < 5; i++ {
		c.Set(ks[i].fileNum, ks[i].offset, block(i))
	}
	require.Equal(t, 5*charge, c.Size())
	// Touch block 0: block 1 becomes the least recently used.
	b, ok := c.Get(ks[0].fileNum, ks[0].offset)
	require.True(t, ok)
	require.Equal(t, byte(0), b[0])
	c.Set(ks[5].fileNum, ks[5].offset, block(5))
	_, ok = c.Get(ks[1].fileNum, ks[1].offset)
	require.False(t, ok, "the least recently used block must go first")
	for _, i := range []int{0, 2, 3, 4, 5} {
		b, ok := c.Get(ks[i].fileNum, ks[i].offset)
		require.True(t, ok, "block %d", i)
		require.Equal(t, byte(i), b[0])
	}
	require.Equal(t, 5*charge, c.Size())
	require.Equal(t, int64(6), c.Hits())
	require.Equal(t, int64(1), c.Misses())

	// Replacing a block keeps one entry and recharges it.
	c.Set(ks[0].fileNum, ks[0].offset, make([]byte, 10))
	require.Equal(t, 4*charge+int64(slab.Size(10))+cacheEntryOverhead, c.Size(), "charged its slot's size")
	b, _ = c.Get(ks[0].fileNum, ks[0].offset)
	require.Len(t, b, 10)

	// A block larger than a shard is not cached, and drops the old one.
	c.Set(ks[0].fileNum, ks[0].offset, make([]byte, 10*blockLen))
	_, ok = c.Get(ks[0].fileNum, ks[0].offset)
	require.False(t, ok)
	require.Equal(t, 4*charge, c.Size())

	// A zero cache holds nothing.
	z := NewCache(0)
	z.Set(1, 0, []byte("x"))
	_, ok = z.Get(1, 0)
	require.False(t, ok)
	require.Zero(t, z.Size())
}

// TestCacheSetRefFrom: a block filled in the cache's own memory is cached
// as SetRef caches a copy (charged alike, found by GetRef, held by the
// reference returned); a failed fill caches nothing and returns its
// error; a block larger than a shard, or a closed cache, takes nothing,
// without calling fill for the first.
func TestCacheSetRefFrom(t *testing.T) {
	const blockLen = 512
	charge := int64(blockLen + cacheEntryOverhead)
	c := NewCache(cacheShards * 5 * charge)
	fill := func(b []byte) error {
		for i := range b {
			b[i] = byte(i)
		}
		return nil
	}
	ref, b, ok, err := c.SetRefFrom(1, 0, blockLen, fill)
	require.NoError(t, err)
	require.True(t, ok)
	require.Len(t, b, blockLen)
	require.Equal(t, byte(7), b[7])
	require.Equal(t, charge, c.Size())
	got, gb, ok := c.GetRef(1, 0)
	require.True(t, ok)
	require.Equal(t, b, gb)
	got.Release()
	c.EvictFile(1)
	require.Equal(t, byte(7), b[7], "the reference keeps the block")
	ref.Release()

	bad := fmt.Errorf("a short read")
	_, _, ok, err = c.SetRefFrom(1, 4096, blockLen, func([]byte) error { return bad })
	require.ErrorIs(t, err, bad)
	require.False(t, ok)
	_, ok = c.Get(1, 4096)
	require.False(t, ok)
	require.Zero(t, c.Size())

	called := false
	_, _, ok, err = c.SetRefFrom(1, 8192, 10*blockLen, func([]byte) error { called = true; return nil })
	require.NoError(t, err)
	require.False(t, ok, "larger than a shard")
	require.False(t, called)

	c.Close()
	_, _, ok, err = c.SetRefFrom(1, 0, blockLen, fill)
	require.NoError(t, err)
	require.False(t, ok, "closed")
}

// TestCacheSetCapacity: a smaller capacity evicts the least recently used
// blocks until the cache fits (a block a reader holds stays readable until
// its release), a larger one lets more in, and readers' metadata bound
// follows (TableCache.maxMeta).
func TestCacheSetCapacity(t *testing.T) {
	const blockLen = 512
	charge := int64(blockLen + cacheEntryOverhead)
	c := NewCache(cacheShards * 6 * charge) // six blocks per shard
	defer c.Close()
	ks := sameShardKeys(c, 8)
	for i := range 6 {
		b := make([]byte, blockLen)
		b[0] = byte(i)
		c.Set(ks[i].fileNum, ks[i].offset, b)
	}
	require.Equal(t, 6*charge, c.Size())
	held, b, ok := c.acquire(ks[0].fileNum, ks[0].offset, false) // the oldest, held
	require.True(t, ok)

	c.SetCapacity(cacheShards * 2 * charge)
	require.Equal(t, cacheShards*2*charge, c.Capacity())
	require.Equal(t, 2*charge, c.Size(), "evicted down to the new capacity")
	for i := range 6 {
		_, ok := c.Peek(ks[i].fileNum, ks[i].offset)
		require.Equal(t, i >= 4, ok, "block %d: the two most recently used stay", i)
	}
	require.Equal(t, byte(0), b[0], "a held block outlives its eviction")
	held.Release()

	c.SetCapacity(cacheShards * 4 * charge)
	for i := range 4 {
		c.Set(ks[i].fileNum, ks[i].offset, make([]byte, blockLen))
	}
	require.Equal(t, 4*charge, c.Size(), "a larger capacity lets more in")
	for i := range 6 {
		_, ok := c.Peek(ks[i].fileNum, ks[i].offset)
		require.Equal(t, i < 4, ok, "block %d", i)
	}

	tc := NewTableCache(nil, nil, 10, ReaderOptions{Cache: c})
	require.Equal(t, c.Capacity()*metaShare/4, tc.maxMeta())
	c.SetCapacity(cacheShards * charge)
	require.Equal(t, c.Capacity()*metaShare/4, tc.maxMeta(), "the readers' bound follows the cache")
	require.Equal(t, charge, c.Size())
}

func TestCacheEvictFile(t *testing.T) {
	c := NewCache(1 << 20)
	for f := uint64(1); f <= 3; f++ {
		for off := uint64(0); off < 50; off++ {
			c.Set(f, off*4096, []byte(fmt.Sprint(f, off)))
		}
	}
	before := c.Size()
	c.EvictFile(2)
	for off := uint64(0); off < 50; off++ {
		_, ok := c.Get(2, off*4096)
		require.False(t, ok)
		b, ok := c.Get(3, off*4096)
		require.True(t, ok)
		require.Equal(t, fmt.Sprint(3, off), string(b))
	}
	require.Equal(t, before*2/3, c.Size())
}

// TestCacheBoundUnderConcurrency: many goroutines setting, getting and
// evicting never push the cache over its capacity (run with -race).
func TestCacheBoundUnderConcurrency(t *testing.T) {
	const capacity = 64 << 10
	c := NewCache(capacity)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for i := 0; i < 3000; i++ {
				f, off := uint64(r.IntN(4)), uint64(r.IntN(200))*4096
				switch r.IntN(10) {
				case 0:
					c.EvictFile(f)
				case 1, 2, 3:
					b := make([]byte, 1+r.IntN(3000))
					b[0] = byte(f)
					c.Set(f, off, b)
				default:
					if b, ok := c.Get(f, off); ok && b[0] != byte(f) {
						t.Errorf("block of file %d holds %d", f, b[0])
					}
				}
				if s := c.Size(); s > capacity {
					t.Errorf("size %d over capacity %d", s, capacity)
				}
			}
		}(g)
	}
	wg.Wait()
	require.LessOrEqual(t, c.Size(), int64(capacity))
	require.Greater(t, c.Hits()+c.Misses(), int64(0))
}

// TestCacheLookupsTakeNoLock: a hit, a miss and a part's lookup return
// while every shard's mutex is held (by an insert, say), instead of
// waiting for it.
func TestCacheLookupsTakeNoLock(t *testing.T) {
	c := NewCache(1 << 20)
	c.Set(1, 0, []byte("block"))
	require.True(t, c.setPart(1, 4096, "part", 10, prioNone))
	for i := range c.shards {
		c.shards[i].mu.Lock()
	}
	type result struct {
		block   []byte
		hit     bool
		missHit bool
		part    any
	}
	done := make(chan result)
	go func() {
		var r result
		r.block, r.hit = c.Get(1, 0)
		_, r.missHit = c.Get(1, 8192)
		r.part, _ = c.getPart(1, 4096)
		done <- r
	}()
	select {
	case r := <-done:
		require.True(t, r.hit)
		require.Equal(t, "block", string(r.block))
		require.False(t, r.missHit)
		require.Equal(t, "part", r.part)
	case <-time.After(10 * time.Second):
		t.Fatal("a lookup waited for a shard's mutex")
	}
	for i := range c.shards {
		c.shards[i].mu.Unlock()
	}
	require.Equal(t, int64(1), c.Hits())
	require.Equal(t, int64(1), c.Misses())
}

// TestCacheLookupsUnderChurn: lookups without the lock, racing inserts
// that evict (reusing the entries they free for other keys), replace and
// drop blocks and grow the shards' tables, never return another key's
// block, and never miss a block that stays cached. Every block holds its
// key; the blocks of file 1 are set once, so one found cached after a
// lookup missed it was cached during the lookup.
func TestCacheLookupsUnderChurn(t *testing.T) {
	const stable = 32
	c := NewCache(2 << 20)
	block := func(f, off uint64, n int) []byte {
		b := make([]byte, 16+n)
		binary.LittleEndian.PutUint64(b, f)
		binary.LittleEndian.PutUint64(b[8:], off)
		return b
	}
	check := func(f, off uint64, b []byte) error {
		if len(b) < 16 || binary.LittleEndian.Uint64(b) != f || binary.LittleEndian.Uint64(b[8:]) != off {
			return fmt.Errorf("block (%d, %d) holds another key's block", f, off)
		}
		return nil
	}
	for i := range uint64(stable) {
		c.Set(1, i*4096, block(1, i*4096, 100))
	}
	rounds := 100000
	if raceEnabled {
		rounds = 20000
	}
	var wg, rwg sync.WaitGroup
	var stop atomic.Bool
	var lookups, falseMisses atomic.Int64
	errs := make(chan error, 16)
	report := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 2))
			for range rounds {
				f, off := uint64(2+r.IntN(4)), uint64(r.IntN(4096))*4096
				c.Set(f, off, block(f, off, 100+r.IntN(900)))
				if r.IntN(1000) == 0 {
					c.EvictFile(f)
				}
			}
		}()
	}
	for g := range 2 {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 3))
			for !stop.Load() {
				off := uint64(r.IntN(stable)) * 4096
				k := cacheKey{1, off}
				lookups.Add(1)
				if ref, b, ok := c.acquire(1, off, false); ok {
					if err := check(1, off, b); err != nil {
						report(err)
					}
					ref.Release()
				} else {
					s := c.shard(k)
					s.mu.Lock()
					e := s.table.Load().find(k)
					s.mu.Unlock()
					if e != nil {
						falseMisses.Add(1)
						report(fmt.Errorf("block (1, %d) missed while cached", off))
					}
				}
				f, off2 := uint64(2+r.IntN(4)), uint64(r.IntN(4096))*4096
				if ref, b, ok := c.acquire(f, off2, false); ok {
					if err := check(f, off2, b); err != nil {
						report(err)
					}
					ref.Release()
				}
			}
		}()
	}
	wg.Wait()
	stop.Store(true)
	rwg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d lookups of file 1, %d missed while cached", lookups.Load(), falseMisses.Load())
	require.Zero(t, c.HeldRefs())
	require.LessOrEqual(t, c.Size(), c.Capacity())
}

// TestCacheLookupOverlappingAChange: a lookup that finds nothing while an
// insert or eviction is changing the shard's table (here: halfway through,
// with the block's chain unlinked) does not report a miss, but looks again
// under the shard's mutex, once the change is done.
func TestCacheLookupOverlappingAChange(t *testing.T) {
	c := NewCache(1 << 20)
	c.Set(1, 0, []byte("block"))
	require.True(t, c.setPart(1, 4096, "part", 10, prioNone))
	for _, k := range []cacheKey{{1, 0}, {1, 4096}} {
		s := c.shard(k)
		s.mu.Lock()
		s.seq.Add(1) // a change begins
		b := s.table.Load().bucket(k)
		chain := b.Load()
		b.Store(nil)
		found := make(chan bool)
		go func() {
			if k.offset == 0 {
				ref, block, ok := c.acquire(k.fileNum, k.offset, false)
				found <- ok && string(block) == "block"
				ref.Release()
			} else {
				p, ok := c.getPart(k.fileNum, k.offset)
				found <- ok && p == "part"
			}
		}()
		select {
		case <-found:
			t.Fatalf("lookup of %v returned during a change of its chain", k)
		case <-time.After(100 * time.Millisecond):
		}
		b.Store(chain)
		s.seq.Add(1)
		s.mu.Unlock()
		require.True(t, <-found, "lookup of %v after the change", k)
	}
}

package sstable

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

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

package memtable

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/offheap"
	"github.com/stratadb/strata/keys"
)

// TestArenaPoolKeepsOneArena: Release gives an off-heap arena to the pool
// instead of the OS when the pool is empty, the next memtable of the same
// capacity takes it (one of another capacity does not), a second released
// arena goes back to the OS, and Close frees the kept one and every arena
// released after it.
func TestArenaPoolKeepsOneArena(t *testing.T) {
	if !offheap.OffHeap {
		t.Skip("arenas are on the Go heap here; the pool keeps none")
	}
	const capacity = 1 << 20
	var pool ArenaPool
	live := offheap.Live()
	grown := func() int64 { return offheap.Live() - live }

	a := NewFrom(&pool, capacity)
	b := NewStagedFrom(&pool, capacity, 64<<10)
	require.Equal(t, int64(2*capacity), grown())
	require.NoError(t, a.Add([]byte("k"), 1, keys.KindSet, []byte("v")))
	a.Release()
	require.Equal(t, int64(capacity), pool.Bytes(), "the first released arena is kept")
	require.Equal(t, int64(2*capacity), grown(), "and not unmapped")
	b.Release()
	require.Equal(t, int64(capacity), grown(), "a second one is unmapped: the pool keeps one")

	other := NewFrom(&pool, 2*capacity)
	require.Zero(t, pool.Reused(), "a memtable of another capacity allocates its own")
	c := NewFrom(&pool, capacity)
	require.Equal(t, int64(1), pool.Reused())
	require.Zero(t, pool.Bytes())
	require.Equal(t, int64(3*capacity), grown())
	require.True(t, c.Empty())
	_, _, ok := c.Get([]byte("k"), keys.MaxSeq)
	require.False(t, ok, "a reused arena holds an empty list")

	c.Release()
	require.Equal(t, int64(capacity), pool.Bytes())
	pool.Close()
	require.Zero(t, pool.Bytes())
	require.Equal(t, int64(2*capacity), grown(), "Close unmaps the kept arena")
	other.Release()
	require.Zero(t, grown(), "after Close a released arena is unmapped at once")
}

// TestReusedArenaIsNotReadBeforeWritten: a memtable on a reused arena whose
// every byte is garbage (as a kept arena is in builds with invariants)
// behaves as one on a new, zeroed arena: random inserts, plain and staged,
// concurrent or not, read back exactly as the model says.
func TestReusedArenaIsNotReadBeforeWritten(t *testing.T) {
	if !offheap.OffHeap {
		t.Skip("arenas are on the Go heap here; the pool keeps none")
	}
	seeds, perRound := modelSize()
	for seed := range seeds {
		for _, staged := range []bool{false, true} {
			t.Run(fmt.Sprintf("seed=%d/staged=%v", seed, staged), func(t *testing.T) {
				const capacity = 1 << 20
				r := rand.New(rand.NewPCG(uint64(seed), 7))
				var pool ArenaPool
				defer pool.Close()
				newTable := func() *Memtable {
					if staged {
						return NewStagedFrom(&pool, capacity, 16<<10)
					}
					return NewFrom(&pool, capacity)
				}
				first := newTable()
				for i := range 3000 {
					require.NoError(t, first.Add(fmt.Appendf(nil, "old%05d", i), keys.SeqNum(i+1), keys.KindSet, bytes.Repeat([]byte{'x'}, 100)))
				}
				first.Release()
				require.Equal(t, int64(capacity), pool.Bytes())
				for i := range pool.buf {
					pool.buf[i] = byte(r.Uint32())
				}

				m := newTable()
				require.Equal(t, int64(1), pool.Reused())
				var md model
				var seq keys.SeqNum
				for round := range 3 {
					for range perRound {
						ukey, kind, ikey := nextEntry(r, &seq)
						i := md.seekGE(ikey)
						if i < len(md) && bytes.Equal(md[i].ikey, ikey) {
							continue
						}
						value := randBytes(r, 40)
						var err error
						if round == 1 && !staged {
							err = m.AddConcurrent(ukey, seq, kind, value)
						} else {
							err = m.Add(ukey, seq, kind, value)
						}
						require.NoError(t, err)
						md = slices.Insert(md, i, entry{ikey, value})
					}
					require.NoError(t, m.Finish())
					checkAgainstModel(t, r, m, md, seq)
				}
				m.Release()
			})
		}
	}
}

// TestArenaPoolLimit: with a limit, the pool keeps a released arena only if
// the arenas still handed out and it fit in the limit.
func TestArenaPoolLimit(t *testing.T) {
	if !offheap.OffHeap {
		t.Skip("arenas are on the Go heap here; the pool keeps none")
	}
	const capacity = 1 << 20
	var pool ArenaPool
	defer pool.Close()
	pool.SetLimit(2 * capacity)
	a, b, c := NewFrom(&pool, capacity), NewFrom(&pool, capacity), NewFrom(&pool, capacity)
	a.Release() // b and c are out: keeping a would make three
	require.Zero(t, pool.Bytes())
	b.Release()
	require.Equal(t, int64(capacity), pool.Bytes(), "c and the kept arena make two")
	d := NewFrom(&pool, capacity)
	require.Equal(t, int64(1), pool.Reused())
	c.Release() // d is out
	require.Equal(t, int64(capacity), pool.Bytes())
	d.Release() // the pool already keeps one
	require.Equal(t, int64(capacity), pool.Bytes())
}

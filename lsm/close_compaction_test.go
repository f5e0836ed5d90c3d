package lsm

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/vfs"
)

// TestCloseFinishesRunningCompaction closes a DB while a compaction of its
// L0 tables into the base level runs, and opens it again: the compaction's
// result must be kept, so the next session's seeks read one table instead
// of one per L0 table. A compaction stopped by Close is thrown away and
// started over by the next Open: a DB used in sessions shorter than the
// compaction (here, one that ends as soon as the compaction starts) never
// pays its L0 debt down. The measure is the data blocks a seek loads (read
// from the file or found in the block cache), not a time.
func TestCloseFinishesRunningCompaction(t *testing.T) {
	fs := vfs.NewMem()
	opts := smallOpts(fs)
	opts.L0CompactionTrigger = 4
	// No write stalls: the compaction that would end one is held below.
	opts.L0SlowdownWrites, opts.L0StopWrites = 1000, 1000
	opts.BlockCacheSize = 8 << 20
	started := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	opts.EventListener = &EventListener{CompactionBegin: func(i CompactionInfo) {
		if i.Move {
			return
		}
		once.Do(func() { close(started) })
		<-release
	}}
	db := openMem(t, fs, opts)

	// Random keys, so that every L0 table spans the whole key range and
	// L0 goes to the base level by one rewrite of all of it.
	const n = 20_000
	rng := rand.New(rand.NewPCG(1, 2))
	val := make([]byte, 64)
	key := func(i int) []byte { return fmt.Appendf(nil, "key%08d", i) }
	written := 0
	for _, i := range rng.Perm(n) {
		select {
		case <-started:
		default:
			require.NoError(t, db.Put(key(i), val))
			written++
			continue
		}
		break
	}
	select {
	case <-started:
	default:
		t.Fatalf("no compaction started after %d writes", written)
	}
	require.NoError(t, db.Flush())
	before := db.Metrics().Levels[0].Tables
	require.GreaterOrEqual(t, before, opts.L0CompactionTrigger, "L0 tables when the compaction started")

	// Close while the compaction is held at its start; let it go once
	// Close has asked the background work to stop (or, with this change,
	// waits for the compaction to end).
	closed := make(chan error, 1)
	go func() { closed <- db.Close() }()
	for {
		db.mu.Lock()
		asked := db.mu.comp.closing || db.mu.bgStop
		db.mu.Unlock()
		if asked {
			break
		}
		runtime.Gosched()
	}
	close(release)
	require.NoError(t, <-closed)

	// Read-only: nothing compacts while the seeks are counted.
	ro := *opts
	ro.ReadOnly = true
	ro.EventListener = nil
	db2, err := Open("/db", &ro)
	require.NoError(t, err)
	defer db2.Close()
	m0 := db2.Metrics()
	// The compaction took every L0 table there was when it started (at
	// least the trigger's count); the tables flushed since stay in L0.
	require.LessOrEqual(t, m0.Levels[0].Tables, before-opts.L0CompactionTrigger,
		"L0 tables after reopening: the compaction running at Close was thrown away (%d before)", before)

	const seeks = 500
	for range seeks {
		it, err := db2.NewIter(nil)
		require.NoError(t, err)
		require.True(t, it.SeekGE(key(rng.IntN(written))))
		require.NoError(t, it.Close())
	}
	m1 := db2.Metrics()
	loads := (m1.DataBlocksRead - m0.DataBlocksRead) + (m1.BlockCacheHits - m0.BlockCacheHits)
	perSeek := float64(loads) / seeks
	t.Logf("L0 tables %d before Close, %d after; %.2f blocks per seek (read amp %d)", before, m0.Levels[0].Tables, perSeek, m0.ReadAmp)
	// Each seek loads one block per table it positions: one per L0 table
	// and one per level, and sometimes the next block of one of them.
	require.LessOrEqual(t, perSeek, float64(m0.ReadAmp)+0.5, "blocks per seek")
	require.Less(t, perSeek, float64(before), "blocks per seek with the compaction kept")
}

// TestCompactionReadsCountApart: Metrics' read counters (DataBlocksRead,
// DataBlockBytesRead, BlockCacheHits, BlockCacheMisses) count reads only:
// a compaction's block reads go to CompactionBlocksRead, so that blocks
// read per operation can be measured while compactions run.
func TestCompactionReadsCountApart(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, smallOpts(fs))
	rng := rand.New(rand.NewPCG(3, 4))
	val := make([]byte, 64)
	for _, i := range rng.Perm(5000) {
		require.NoError(t, db.Put(fmt.Appendf(nil, "key%08d", i), val))
	}
	require.NoError(t, db.Compact(nil, nil))
	m := db.Metrics()
	require.Positive(t, m.Compactions)
	require.Positive(t, m.CompactionBlocksRead, "blocks the compactions read")
	require.Positive(t, m.CompactionBlockBytesRead)
	require.Zero(t, m.DataBlocksRead, "compaction reads counted as reads")
	require.Zero(t, m.DataBlockBytesRead)
	require.Zero(t, m.BlockCacheHits+m.BlockCacheMisses, "compaction lookups counted as the block cache's")

	// A Get of a key on disk reads its one block and counts it.
	_, err := db.Get([]byte("key00000042"))
	require.NoError(t, err)
	m2 := db.Metrics()
	require.Equal(t, int64(1), m2.DataBlocksRead)
	require.Equal(t, int64(1), m2.BlockCacheMisses)
	require.Equal(t, m.CompactionBlocksRead, m2.CompactionBlocksRead)
}

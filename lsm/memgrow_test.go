package lsm

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/offheap"
	"github.com/stratadb/strata/manifest"
	"github.com/stratadb/strata/vfs"
)

// mutableCapacity returns the capacity of the DB's mutable memtable.
func mutableCapacity(db *DB) int64 {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.mu.mem.mt.Capacity()
}

// rotate writes one key and flushes, so the DB starts its next memtable,
// and waits until the flushed memtable is released.
func rotate(t *testing.T, db *DB, i int) {
	t.Helper()
	var k [16]byte
	putKey(k[:], uint64(i))
	require.NoError(t, db.Put(k[:], k[:]))
	require.NoError(t, db.Flush())
	for db.memHeld.Load() > mutableCapacity(db) {
		runtime.Gosched()
	}
}

// TestMemtableGrowth: after Open the memtables start at
// InitialMemtableSize (default 4 MiB, at most MemtableSize) and each
// rotation doubles the size up to MemtableSize, where it stays; a reopen
// starts again from the initial size. Metrics counts each arena at its
// real size (a grown-out arena is not kept), and the memory bound still
// counts every memtable at MemtableSize.
func TestMemtableGrowth(t *testing.T) {
	t.Setenv("GOGC", "")
	const KiB, MiB = 1 << 10, 1 << 20
	tests := []struct {
		name string
		opts Options
		want []int64 // capacities of the memtables from Open on, one per rotation
	}{
		{"default", Options{}, []int64{4 * MiB, 8 * MiB, 16 * MiB, 32 * MiB, 64 * MiB, 64 * MiB}},
		{"initial 3 MiB, cap 10 MiB", Options{MemtableSize: 10 * MiB, InitialMemtableSize: 3 * MiB}, []int64{3 * MiB, 6 * MiB, 10 * MiB, 10 * MiB}},
		{"MemtableSize under the default start", Options{MemtableSize: 256 * KiB}, []int64{256 * KiB, 256 * KiB, 256 * KiB}},
		{"disabled: initial = MemtableSize", Options{InitialMemtableSize: 64 * MiB}, []int64{64 * MiB, 64 * MiB, 64 * MiB}},
		{"disabled: initial over MemtableSize", Options{MemtableSize: 4 * MiB, InitialMemtableSize: 1 << 30}, []int64{4 * MiB, 4 * MiB}},
		{"MemoryLimit 256 MiB", Options{MemoryLimit: 256 * MiB}, []int64{4 * MiB, 8 * MiB, 16 * MiB, 256 * MiB / 4 / 3, 256 * MiB / 4 / 3}},
		{"MemoryLimit 64 MiB: MemtableSize under the default start", Options{MemoryLimit: 64 * MiB}, []int64{64 * MiB / 8 / 3, 64 * MiB / 8 / 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			liveBefore := offheap.Live()
			fs := vfs.NewMem()
			opts := tt.opts
			opts.TTLCompactionInterval = -1
			for reopen := range 2 {
				db := openMem(t, fs, &opts)
				full := db.opts.MemtableSize
				require.Equal(t, tt.want[len(tt.want)-1], full, "the sizes grow to MemtableSize")
				b := budgetOf(&db.opts)
				require.Equal(t, satMul(memtableSlots(&db.opts), full), b.Memtables, "the bound counts full-size memtables")
				if db.opts.MemoryLimit > 0 {
					require.LessOrEqual(t, db.Metrics().MemoryBound, db.opts.MemoryLimit)
				}
				for i, want := range tt.want {
					require.Equal(t, want, mutableCapacity(db), "reopen %d, memtable %d", reopen, i)
					m := db.Metrics()
					require.Equal(t, want, m.MemtableArenaBytes, "memtable %d: only its arena is held", i)
					require.Equal(t, b.Total(), m.MemoryBound)
					rotate(t, db, reopen*100+i)
				}
				require.NoError(t, db.Close())
			}
			require.Equal(t, liveBefore, offheap.Live(), "every arena freed")
		})
	}
}

// TestWALPreallocationFollowsMemtable: each WAL segment is preallocated
// for its own memtable (an eighth over its capacity, at least 1 MiB), not
// for MemtableSize.
func TestWALPreallocationFollowsMemtable(t *testing.T) {
	if _, ok := any(mustCreate(t)).(vfs.Mappable); !ok {
		t.Skip("the OS filesystem does not map files here; WAL segments are not preallocated")
	}
	const MiB = 1 << 20
	dir := t.TempDir()
	db, err := Open(dir, &Options{MemtableSize: 16 * MiB, InitialMemtableSize: 2 * MiB, TTLCompactionInterval: -1})
	require.NoError(t, err)
	defer db.Close()
	for i, want := range []int64{2 * MiB, 4 * MiB, 8 * MiB, 16 * MiB, 16 * MiB} {
		require.Equal(t, want, mutableCapacity(db))
		db.mu.Lock()
		num := db.mu.mem.walNum
		db.mu.Unlock()
		size, err := db.fs.Stat(manifest.MakeFilename(dir, manifest.FileTypeLog, num))
		require.NoError(t, err)
		require.Equal(t, want+want/8, size, fmt.Sprintf("segment %d", i))
		rotate(t, db, i)
	}
}

// mustCreate returns a file of the OS filesystem, closed at the end of the
// test.
func mustCreate(t *testing.T) vfs.File {
	f, err := vfs.Default.Create(t.TempDir() + "/probe")
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return f
}

// TestInitialMemtableSizeNegative: a negative InitialMemtableSize is
// ErrInvalidArgument, not a silent default.
func TestInitialMemtableSizeNegative(t *testing.T) {
	_, err := Open("/db", &Options{FS: vfs.NewMem(), InitialMemtableSize: -1})
	require.ErrorIs(t, err, ErrInvalidArgument)
}

// TestBlockCacheGivesWayToMemtables: with MemoryLimit sizing both, the
// block cache takes what the bound leaves beside the largest memtable
// held: more than BlockCacheSize while the memtables are small, exactly
// BlockCacheSize once they are full size, and back again when they shrink
// (memtables that fill slowly) and the larger ones are flushed. At every
// step the bound with the cache of the moment is within MemoryLimit.
func TestBlockCacheGivesWayToMemtables(t *testing.T) {
	t.Setenv("GOGC", "")
	const MiB = 1 << 20
	fs := vfs.NewMem()
	db := openMem(t, fs, &Options{MemoryLimit: 256 * MiB, TTLCompactionInterval: -1})
	defer db.Close()
	o := db.opts
	full, initial := o.MemtableSize, o.InitialMemtableSize
	require.Equal(t, int64(256*MiB/4/3), full, "a quarter of the limit for the memtables")
	require.True(t, o.elasticCache)

	withinBound := func(step string) {
		t.Helper()
		m := mutableCapacity(db)
		c := db.Metrics().BlockCacheCapacity
		require.Equal(t, elasticCacheSize(&o, m), c, "%s: the cache beside a %d-byte memtable", step, m)
		at := o
		at.MemtableSize, at.BlockCacheSize = m, c
		require.LessOrEqual(t, budgetOf(&at).Total(), o.MemoryLimit, "%s: the bound with the cache of the moment", step)
	}
	withinBound("open")
	small := db.Metrics().BlockCacheCapacity
	require.Greater(t, small, o.BlockCacheSize+20*MiB, "beside a 4 MiB memtable the cache has more")

	// Memtables that fill at once grow to full size; the cache gives way.
	for i, want := range []int64{8 * MiB, 16 * MiB, full, full} {
		rotate(t, db, i)
		require.Equal(t, want, mutableCapacity(db))
		withinBound(fmt.Sprintf("growth %d", i))
	}
	require.Equal(t, o.BlockCacheSize, db.Metrics().BlockCacheCapacity, "full-size memtables leave the cache its least")

	// Memtables that take long to fill shrink; the cache takes back what
	// the flushed larger ones held.
	defer func(d time.Duration) { memtableShrinkAge = d }(memtableShrinkAge)
	memtableShrinkAge = 0
	for i, want := range []int64{full / 2, full / 4, initial, initial} {
		rotate(t, db, 100+i)
		require.Equal(t, want, mutableCapacity(db))
		withinBound(fmt.Sprintf("shrink %d", i))
	}
	require.Equal(t, small, db.Metrics().BlockCacheCapacity, "back to the cache of the start")
}

// TestBlockCacheFixedWhenSized: a BlockCacheSize of the caller's, or a
// MemtableSize of the caller's beside a MemoryLimit, keeps the cache at
// one capacity however the memtables grow.
func TestBlockCacheFixedWhenSized(t *testing.T) {
	t.Setenv("GOGC", "")
	const MiB = 1 << 20
	for _, opts := range []Options{
		{MemoryLimit: 256 * MiB, BlockCacheSize: 40 * MiB},
		{MemoryLimit: 256 * MiB, MemtableSize: 16 * MiB},
		{BlockCacheSize: 8 * MiB},
	} {
		opts.TTLCompactionInterval = -1
		db := openMem(t, vfs.NewMem(), &opts)
		require.False(t, db.opts.elasticCache)
		want := db.opts.BlockCacheSize
		for i := range 4 {
			require.Equal(t, want, db.Metrics().BlockCacheCapacity, "rotation %d", i)
			rotate(t, db, i)
		}
		require.NoError(t, db.Close())
	}
}

package lsm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/memlimit"
	"github.com/stratadb/strata/internal/offheap"
	"github.com/stratadb/strata/vfs"
)

// TestMemoryStaysWithinBound fills a DB with many times its memtable and
// block cache sizes, under write stalls, with readers filling the cache,
// and checks at every step that each memory part Metrics reports stays
// within its bound from the formula in Options.MemoryLimit; at the end
// every memtable arena is freed. It runs with full-size memtables from
// the start, and with memtables that grow from 8 KiB after Open (the bound
// counts each at MemtableSize, the largest).
func TestMemoryStaysWithinBound(t *testing.T) {
	for _, initial := range []int64{128 << 10, 8 << 10} {
		t.Run(fmt.Sprintf("initial=%d", initial), func(t *testing.T) { testMemoryStaysWithinBound(t, initial) })
	}
}

func testMemoryStaysWithinBound(t *testing.T, initial int64) {
	liveBefore := offheap.Live()
	fs := vfs.NewMem()
	opts := &Options{
		FS:                    fs,
		MemtableSize:          128 << 10,
		InitialMemtableSize:   initial,
		BlockSize:             1 << 10,
		BlockCacheSize:        256 << 10,
		TargetFileSize:        32 << 10,
		BaseLevelSize:         128 << 10,
		L0CompactionTrigger:   2,
		L0SlowdownWrites:      3,
		L0StopWrites:          4,
		MaxImmutableMemtables: 1,
		TTLCompactionInterval: -1,
	}
	// Hold compactions back until the first stall, so the fill stalls
	// however fast the machine compacts.
	stalled := make(chan struct{})
	var once sync.Once
	opts.EventListener = &EventListener{
		StallBegin:      func(StallInfo) { once.Do(func() { close(stalled) }) },
		CompactionBegin: func(CompactionInfo) { <-stalled },
	}
	db := openMem(t, fs, opts)
	o := db.opts
	b := budgetOf(&o)

	const readers = 2
	n := 60_000 // about 13 MiB of entries: 100 memtables, 50 caches
	if testing.Short() || initial < opts.MemtableSize {
		n = 24_000 // the growth is over after the first five rotations
	}
	var written atomic.Int64
	// Table writers' bytes are also noted while a table is written (the
	// writer's own samples may all fall between flushes: always so with
	// one P).
	var writerSeen atomic.Int64
	var writes atomic.Int64
	fs.SetCrashHook(func(op vfs.Op) {
		if op == vfs.OpWrite && writes.Add(1)%16 == 0 {
			if n := db.Metrics().TableWriterBytes; n > writerSeen.Load() {
				writerSeen.Store(n)
			}
		}
	})
	defer fs.SetCrashHook(nil)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 7))
			var k [16]byte
			for {
				select {
				case <-stop:
					return
				default:
				}
				if w := written.Load(); w > 0 {
					putKey(k[:], uint64(rng.Int64N(w)))
					if _, err := db.Get(k[:]); err != nil && !errors.Is(err, ErrNotFound) {
						t.Error(err)
						return
					}
				}
			}
		}()
	}

	check := func(m Metrics, slack int64) {
		t.Helper()
		// Each read in flight may hold a read state listing up to
		// MaxImmutableMemtables+1 memtables flushed since: slack of them.
		require.LessOrEqual(t, m.MemtableArenaBytes, b.Memtables+slack*b.Memtables, "memtable arenas")
		require.LessOrEqual(t, m.MemtableFrontBytes, b.Fronts, "staged fronts")
		require.LessOrEqual(t, m.BlockCacheBytes+m.TableIndexFilterBytes, b.BlockCache, "block cache with index and filter blocks")
		require.LessOrEqual(t, m.TableWriterBytes, b.Writers, "table writers")
		require.LessOrEqual(t, m.MemoryHeld, b.Memtables*(1+slack)+b.heapParts(), "everything held, live bytes")
		require.Equal(t, b.Total(), m.MemoryBound)
	}

	val := make([]byte, 200)
	vr := rand.New(rand.NewPCG(9, 9))
	var k [16]byte
	seen := Metrics{}
	for i := range n {
		putKey(k[:], uint64(i))
		for j := 0; j < len(val); j += 8 {
			binary.LittleEndian.PutUint64(val[j:], vr.Uint64()) // incompressible
		}
		require.NoError(t, db.Put(k[:], val))
		written.Store(int64(i + 1))
		if i%500 == 0 {
			m := db.Metrics()
			check(m, readers)
			seen.MemtableFrontBytes = max(seen.MemtableFrontBytes, m.MemtableFrontBytes)
			seen.BlockCacheBytes = max(seen.BlockCacheBytes, m.BlockCacheBytes)
			seen.TableIndexFilterBytes = max(seen.TableIndexFilterBytes, m.TableIndexFilterBytes)
			seen.TableWriterBytes = max(seen.TableWriterBytes, m.TableWriterBytes)
		}
	}
	close(stop)
	wg.Wait()
	m := db.Metrics()
	check(m, 0)
	require.Positive(t, m.WriteStalls+m.WriteSlowdowns, "the fill must have stalled")
	require.Greater(t, m.DiskBytes, 10*(o.MemtableSize+o.BlockCacheSize), "filled far past the memtable and the cache")
	// The parts were really used, so the checks above could fail.
	require.Positive(t, seen.BlockCacheBytes)
	require.Positive(t, seen.TableIndexFilterBytes)
	require.Positive(t, max(seen.TableWriterBytes, writerSeen.Load()))
	require.Positive(t, m.MemtableArenaBytes)
	require.Contains(t, m.String(), "memory_bound:")

	require.NoError(t, db.Close())
	require.Equal(t, liveBefore, offheap.Live(), "every memtable arena is freed by Close")
}

// putKey writes the i-th key of a random-looking order into k (16 bytes),
// so that tables overlap and compactions cannot just move them.
func putKey(k []byte, i uint64) {
	binary.BigEndian.PutUint64(k, i*0x9e3779b97f4a7c15)
	binary.BigEndian.PutUint64(k[8:], i)
}

// TestMemoryLimitOptions: MemoryLimit sizes what is not set by its
// formula, keeps explicit sizes, and rejects nonsense.
func TestMemoryLimitOptions(t *testing.T) {
	t.Setenv("GOGC", "") // the default collector headroom, g = 2
	const MiB = 1 << 20
	tests := []struct {
		name string
		opts Options
		err  bool
	}{
		{"256MiB", Options{MemoryLimit: 256 * MiB}, false},
		{"1GiB", Options{MemoryLimit: 1 << 30}, false},
		{"minimum", Options{MemoryLimit: 32 * MiB}, false},
		{"explicit cache kept", Options{MemoryLimit: 256 * MiB, BlockCacheSize: 32 * MiB}, false},
		{"negative", Options{MemoryLimit: -1}, true},
		{"below minimum", Options{MemoryLimit: 32*MiB - 1}, true},
		{"explicit sizes over the limit", Options{MemoryLimit: 64 * MiB, MemtableSize: 64 * MiB}, true},
		{"explicit cache over the limit", Options{MemoryLimit: 256 * MiB, BlockCacheSize: 200 * MiB}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts.ensureDefaults()
			err := o.validate()
			if tt.err {
				require.ErrorIs(t, err, ErrInvalidArgument)
				return
			}
			require.NoError(t, err)
			b := budgetOf(&o)
			require.LessOrEqual(t, b.Total(), o.MemoryLimit, "the bound stays within the limit")
			if tt.opts.BlockCacheSize != 0 {
				require.Equal(t, tt.opts.BlockCacheSize, o.BlockCacheSize)
			} else {
				require.GreaterOrEqual(t, b.Total(), o.MemoryLimit-o.MemoryLimit/64, "the block cache takes the rest")
			}
			t.Logf("MemoryLimit %d MiB: MemtableSize %.1f MiB, TargetFileSize %.1f MiB, BlockCacheSize %.1f MiB, bound %.1f MiB",
				o.MemoryLimit/MiB, float64(o.MemtableSize)/MiB, float64(o.TargetFileSize)/MiB, float64(o.BlockCacheSize)/MiB, float64(b.Total())/MiB)
		})
	}
	// Without MemoryLimit, the defaults are unchanged.
	o := (&Options{}).ensureDefaults()
	require.Equal(t, int64(64*MiB), o.MemtableSize)
	require.Equal(t, int64(64*MiB), o.BlockCacheSize)
	require.Equal(t, int64(8*MiB), o.TargetFileSize)
}

// TestElasticCacheKeepsTheBound: with MemoryLimit sizing both the
// memtables and the block cache, the cache beside memtables of any size
// up to MemtableSize keeps the bound within the limit, the compactions'
// readahead counted at what they read with (it follows MemtableSize, not
// the memtables of the moment).
func TestElasticCacheKeepsTheBound(t *testing.T) {
	t.Setenv("GOGC", "")
	const MiB = 1 << 20
	for _, limit := range []int64{32 * MiB, 64 * MiB, 128 * MiB, 256 * MiB, 1 << 30} {
		o := (&Options{MemoryLimit: limit}).ensureDefaults()
		require.True(t, o.elasticCache)
		for _, m := range []int64{256 << 10, MiB, 4 * MiB, o.MemtableSize / 2, o.MemtableSize} {
			m = min(m, o.MemtableSize)
			held := o
			held.BlockCacheSize = elasticCacheSize(&o, m)
			b := budgetFor(&held, m)
			require.LessOrEqual(t, b.Total(), limit, "MemoryLimit %d MiB, memtables of %d KiB: cache %d KiB", limit/MiB, m>>10, held.BlockCacheSize>>10)
			require.GreaterOrEqual(t, held.BlockCacheSize, o.BlockCacheSize, "the cache beside smaller memtables is no smaller")
		}
	}
}

// TestCompactionReadaheadBudget: half the target table size, no more than
// a quarter of a memtable, between 1 and 4 MiB.
func TestCompactionReadaheadBudget(t *testing.T) {
	const MiB = 1 << 20
	for _, c := range []struct{ target, memtable, want int64 }{
		{8 * MiB, 64 * MiB, 4 * MiB}, // the defaults
		{16 * MiB, 64 * MiB, 4 * MiB},
		{4 * MiB, 64 * MiB, 2 * MiB},
		{2 * MiB, 64 * MiB, 1 * MiB},
		{8 * MiB, 8 * MiB, 2 * MiB},
		{8 * MiB, 4 * MiB, 1 * MiB},
		{8 * MiB, 256 << 10, 1 * MiB},
	} {
		o := Options{TargetFileSize: c.target, MemtableSize: c.memtable}
		require.Equal(t, c.want, compactionReadaheadBudget(&o), "TargetFileSize %d MiB, MemtableSize %d KiB", c.target/MiB, c.memtable>>10)
	}
}

// TestFlushedMemtableLivesWhileRead: an iterator opened before a flush
// still reads the flushed memtable (its arena is not freed under it), the
// arena is counted until the iterator closes, and freed then; a flushed
// memtable no reader holds is freed at once, and Close frees everything.
func TestFlushedMemtableLivesWhileRead(t *testing.T) {
	liveBefore := offheap.Live()
	fs := vfs.NewMem()
	db := openMem(t, fs, &Options{FS: fs, MemtableSize: 256 << 10, TTLCompactionInterval: -1})
	var k [16]byte
	for i := range 1000 {
		putKey(k[:], uint64(i))
		require.NoError(t, db.Put(k[:], k[:]))
	}
	it, err := db.NewIter(nil)
	require.NoError(t, err)
	require.Equal(t, db.opts.MemtableSize, db.Metrics().MemtableArenaBytes)
	require.NoError(t, db.Flush())
	for i := 1000; i < 2000; i++ { // the new memtable
		putKey(k[:], uint64(i))
		require.NoError(t, db.Put(k[:], k[:]))
	}
	require.NoError(t, db.Flush())
	m := db.Metrics()
	require.Zero(t, m.ImmutableMemtables)
	require.GreaterOrEqual(t, m.MemtableArenaBytes, 2*db.opts.MemtableSize,
		"the memtable flushed first is still held by the iterator, beside the mutable one")

	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		require.Equal(t, it.Key(), it.Value())
		n++
	}
	require.NoError(t, it.Error())
	require.Equal(t, 1000, n, "the iterator reads its memtable after the flush")
	// The memtable flushed second is released by the flusher just after
	// Flush returns.
	awaitMemtablesHeld(db, 2) // the one the iterator holds and the mutable one
	require.Equal(t, 2*db.opts.MemtableSize, db.Metrics().MemtableArenaBytes, "the one flushed second is freed")
	require.NoError(t, it.Close())
	require.Equal(t, db.opts.MemtableSize, db.Metrics().MemtableArenaBytes,
		"closing the iterator frees the flushed memtable: the mutable one is left")
	if offheap.OffHeap {
		// The block cache's memory aside: the point indexes, compactions' readahead.
		require.Equal(t, db.opts.MemtableSize, offheap.Live()-liveBefore-db.blockCache.OffHeap(), "freed, not kept")
	}
	require.NoError(t, db.Close())
	require.Equal(t, liveBefore, offheap.Live())
}

// TestRotationFreesReleasedArena: once a flushed memtable is released its
// arena goes back to the OS (none is kept for reuse, where it would stay
// resident beside the next memtable), so a steady load keeps only the
// memtables it holds mapped.
func TestRotationFreesReleasedArena(t *testing.T) {
	liveBefore := offheap.Live()
	fs := vfs.NewMem()
	db := openMem(t, fs, &Options{FS: fs, MemtableSize: 256 << 10, TTLCompactionInterval: -1})
	var k [16]byte
	for round := range 4 {
		for i := range 500 {
			putKey(k[:], uint64(round*500+i))
			require.NoError(t, db.Put(k[:], k[:]))
		}
		require.NoError(t, db.Flush())
		awaitMemtablesHeld(db, 1)
		require.Equal(t, db.opts.MemtableSize, db.Metrics().MemtableArenaBytes, "round %d", round)
		if offheap.OffHeap {
			require.Equal(t, db.opts.MemtableSize, offheap.Live()-liveBefore-db.blockCache.OffHeap(),
				"round %d: the mutable memtable alone, the block cache's memory aside", round)
		}
	}
	require.NoError(t, db.Close())
	require.Equal(t, liveBefore, offheap.Live())
}

// awaitMemtablesHeld waits until n memtables' arenas are held by the DB and
// its readers: a flushed memtable is released by the flusher just after
// Flush returns.
func awaitMemtablesHeld(db *DB, n int64) {
	for db.memHeld.Load() > n*db.opts.MemtableSize {
		runtime.Gosched()
	}
}

// TestZeroOptionsInAContainer: Open with Options that set no size, in a
// container whose memory cgroup (a fake cgroup tree, read by
// internal/memlimit) has a limit too small for the default sizes, sizes
// the DB from half that limit, as an explicit MemoryLimit would; with room
// for the defaults, without a limit, or with any size set, the options are
// as they were.
func TestZeroOptionsInAContainer(t *testing.T) {
	t.Setenv("GOGC", "") // the default collector headroom, g = 2
	const MiB = 1 << 20
	root := t.TempDir()
	for dir, limit := range map[string]string{
		"none": "max\n", "c40m": "41943040\n", "c512m": "536870912\n", "c1g": "1073741824\n",
		"c1g/task": "max\n", "c2g": "2147483648\n",
	} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, dir), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, dir, "memory.max"), []byte(limit), 0o644))
	}
	// The figure Options.MemoryLimit's comment gives for the defaults.
	d := (&Options{}).ensureDefaults()
	require.InDelta(t, 521*MiB, budgetOf(&d).Total(), MiB, "the default sizes' bound")
	explicit := func(limit int64) Options { return (&Options{MemoryLimit: limit}).ensureDefaults() }
	tests := []struct {
		name  string
		group string // the process's cgroup v2 path under root
		opts  Options
		// want: MemoryLimit and ContainerMemoryLimit in Metrics, and the
		// memtable and table sizes.
		limit, container, memtable, target int64
	}{
		{"no container", "", Options{}, 0, 0, 64 * MiB, 8 * MiB},
		{"unlimited group", "/none", Options{}, 0, 0, 64 * MiB, 8 * MiB},
		{"512 MiB: half of it", "/c512m", Options{}, 256 * MiB, 512 * MiB, 256 * MiB / 4 / 3, 4 * MiB},
		{"1 GiB, nested group set to max", "/c1g/task", Options{}, 512 * MiB, 1024 * MiB, 512 * MiB / 4 / 3, 8 * MiB},
		{"2 GiB: room for the defaults", "/c2g", Options{}, 0, 0, 64 * MiB, 8 * MiB},
		{"40 MiB: the minimum limit", "/c40m", Options{}, 32 * MiB, 40 * MiB, 32 * MiB / 8 / 3, 2 * MiB},
		{"explicit MemoryLimit wins", "/c512m", Options{MemoryLimit: 100 * MiB}, 100 * MiB, 0, 100 * MiB / 8 / 3, 2 * MiB},
		{"explicit MemtableSize: no derived limit", "/c512m", Options{MemtableSize: 2 * MiB}, 0, 0, 2 * MiB, 8 * MiB},
		{"explicit BlockCacheSize: no derived limit", "/c512m", Options{BlockCacheSize: 8 * MiB}, 0, 0, 64 * MiB, 8 * MiB},
		{"derived limit too small for the other options: defaults", "/c40m", Options{MaxImmutableMemtables: 100},
			0, 0, 64 * MiB, 8 * MiB},
	}
	defer func(f func() int64) { containerMemoryLimit = f }(containerMemoryLimit)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			self := ""
			if tt.group != "" {
				self = "0::" + tt.group + "\n"
			}
			containerMemoryLimit = func() int64 { return memlimit.Of(root, []byte(self)) }
			fs := vfs.NewMem()
			opts := tt.opts
			db := openMem(t, fs, &opts)
			require.Equal(t, tt.opts.MemoryLimit, opts.MemoryLimit, "the caller's Options are not changed")
			m := db.Metrics()
			require.Equal(t, tt.limit, m.MemoryLimit, "MemoryLimit")
			require.Equal(t, tt.container, m.ContainerMemoryLimit, "ContainerMemoryLimit")
			require.Equal(t, tt.memtable, db.opts.MemtableSize, "MemtableSize")
			require.Equal(t, tt.target, db.opts.TargetFileSize, "TargetFileSize")
			switch {
			case tt.opts.BlockCacheSize != 0:
				require.Equal(t, tt.opts.BlockCacheSize, m.BlockCacheCapacity)
			case tt.limit != 0:
				// The same sizes as the limit given explicitly.
				// The cache gives way to the memtables (it is larger
				// beside the first, small one than with full-size ones).
				e := explicit(tt.limit)
				require.Equal(t, e.BlockCacheSize, db.opts.BlockCacheSize)
				require.Equal(t, elasticCacheSize(&e, db.opts.InitialMemtableSize), m.BlockCacheCapacity)
				require.Equal(t, e.MemtableSize, db.opts.MemtableSize)
				require.LessOrEqual(t, m.MemoryBound, tt.limit)
			default:
				require.Equal(t, int64(64*MiB), m.BlockCacheCapacity)
			}
			require.Contains(t, m.String(), fmt.Sprintf("\nmemory_limit:%d\n", tt.limit))
		})
	}
}

// TestMaxOpenFilesDefault: the table cache keeps up to 10,000 readers open
// by default, half the open-file limit when that is lower, never fewer
// than 100; the default in use follows this process's own limit.
func TestMaxOpenFilesDefault(t *testing.T) {
	for _, c := range []struct {
		limit uint64
		known bool
		want  int
	}{
		{0, false, 10_000},
		{1 << 20, true, 10_000},
		{20_000, true, 10_000},
		{8192, true, 4096},
		{1024, true, 512},
		{150, true, 100},
		{0, true, 100},
	} {
		require.Equal(t, c.want, defaultMaxOpenFiles(c.limit, c.known), "limit %d (known %v)", c.limit, c.known)
	}
	require.Equal(t, defaultMaxOpenFiles(openFileLimit()), (&Options{}).ensureDefaults().MaxOpenFiles)
	require.Equal(t, 7, (&Options{MaxOpenFiles: 7}).ensureDefaults().MaxOpenFiles, "a value set is kept")
}

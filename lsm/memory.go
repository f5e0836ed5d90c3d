package lsm

import (
	"fmt"
	"math"
	"os"
	"strconv"

	"github.com/stratadb/strata/internal/memlimit"
	"github.com/stratadb/strata/memtable"
)

// The memory model. Everything a DB holds in memory is one of these parts,
// each bounded by Options (see Options.MemoryLimit for the formula):
//
//	part                  where     bound
//	memtable arenas       off heap  (MaxImmutableMemtables+1) x MemtableSize
//	staged fronts         Go heap   4 x (MaxImmutableMemtables+1) x
//	                                min(MemtableSize/16, 1 MiB) x 65/64
//	                                (each front's key filter on top)
//	block cache           off heap  BlockCacheSize, index and filter blocks
//	                      (data)    of open tables included (charged to it);
//	                      Go heap   the data blocks, filters and point
//	                      (parts)   indexes off the Go heap, the whole
//	                                indexes (for seeks that tie) on it
//	table writers         Go heap   MemtableSize (the flush) +
//	                                CompactionConcurrency x 2 x TargetFileSize
//	                                + (CompactionConcurrency+1) x writerFixed
//	                                + CompactionConcurrency x
//	                                min(TargetFileSize/2, MemtableSize/4)
//	                                (1 to 4 MiB: the inputs' readahead,
//	                                off the Go heap, in the block
//	                                cache's allocator)
//	commit, WAL, reads    Go heap   memoryFixed
//
// With MemoryLimit sizing both the memtables and the block cache, the
// cache gives way to them: its capacity is what the bound leaves beside
// the largest memtable held (DB.resizeCache), so that the bound holds at
// every moment while the memory moves between the two.
//
// The bound still counts the whole block cache with the collector's
// headroom: the share of its capacity that whole index blocks take varies
// (all of it, with enough tables open and seeks that tie), so only that
// worst case bounds it. With the data blocks, the filters and the point
// indexes off the heap, a cache of those costs about its capacity, not up
// to twice that.
//
// Outside the bound: what open iterators and snapshots pin (an iterator
// keeps the memtables of its moment and one block per table it reads, and
// up to 256 KiB of readahead per table it reads in order, and as much
// again for the table's values kept in the WAL, see walReadahead), and
// a memtable larger than MemtableSize made for a single batch that does
// not fit in one.

// compactionReadaheadBudget is what one compaction's input iterators may
// hold in readahead buffers together (see compactionInput): half the
// target table size, no more than a quarter of a memtable, between 1 and
// 4 MiB. Each input reads at most sstable.CompactionReadahead (64 KiB) at
// a time, so the budget binds only for compactions of more than 16 to 64
// inputs. An older measurement (a 20M-key DB in a 512 MiB memory cgroup,
// an L0 compaction of 19 tables reading 52 KiB at a time with a 1 MiB
// budget) took 15-25% longer than with 256 KiB reads; the settles of the
// same DB with 64 KiB reads, measured when that became the span, took no
// longer than with 256 KiB ones. Small memtables ask for a small DB: with
// 4 MiB ones (1M-key fills, three alternating runs) the 1 MiB budget held
// the fill's peak anonymous memory 0.9 MiB lower than 4 MiB did, at the
// same speed.
func compactionReadaheadBudget(o *Options) int64 {
	return min(max(o.TargetFileSize/2, 1<<20), 4<<20, max(o.MemtableSize/4, 1<<20))
}

// memoryFixed is the bound on the DB's small buffers: the commit pipeline's
// pooled records and the WAL writer's buffer, the pooled block read buffers
// and iterators, the table cache's entries.
const memoryFixed = 4 << 20

// writerFixed is what a table writer holds whatever the table's size: its
// 256 KiB output buffer and a few blocks (the one being built, its
// compressed form, the index's). A finished writer's output buffer and
// filter chunks wait in a pool for the next writer (sstable.Writer): there
// are never more of them than writers running at once, each counted here
// while its writer runs, and the collector drops those left unused.
func writerFixed(o *Options) int64 { return satAdd(256<<10, satMul(4, int64(o.BlockSize))) }

// maxFrontSizes is how many fronts a staged memtable may hold at once: the
// one taking inserts, two sealed, the spare (see memtable.NewStaged).
const maxFrontSizes = 4

// minMemoryLimit is the smallest MemoryLimit accepted: below it the block
// cache would get nothing.
const minMemoryLimit = 32 << 20

// memoryBudget is the bound of each part for a set of options, in bytes.
type memoryBudget struct {
	Memtables, Fronts, BlockCache, Writers, Fixed int64
	// HeapFactor is how much Go heap the heap parts may take per byte of
	// live data (see heapFactor).
	HeapFactor float64
}

// heapParts is the bound of the parts on the Go heap.
func (b memoryBudget) heapParts() int64 {
	return satAdd(satAdd(b.Fronts, b.BlockCache), satAdd(b.Writers, b.Fixed))
}

// Total is the bound on the memory the DB holds: the off-heap memtables
// plus the heap parts with the collector's headroom.
func (b memoryBudget) Total() int64 {
	heap := float64(b.heapParts()) * b.HeapFactor
	if heap >= math.MaxInt64 { // a float64 past int64 converts to anything
		return math.MaxInt64
	}
	return satAdd(b.Memtables, int64(heap))
}

// satAdd and satMul add and multiply non-negative sizes, saturating at
// math.MaxInt64: options near the int limits (MaxImmutableMemtables at
// math.MaxInt, say) would otherwise wrap a bound to a small or negative
// number that every MemoryLimit holds.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func satMul(a, b int64) int64 {
	if a != 0 && b > math.MaxInt64/a {
		return math.MaxInt64
	}
	return a * b
}

// memtableSlots is MaxImmutableMemtables+1, the memtables the bound
// counts, without wrapping at math.MaxInt.
func memtableSlots(o *Options) int64 { return satAdd(int64(o.MaxImmutableMemtables), 1) }

// frontSize is the front of a staged memtable of capacity bytes.
func frontSize(capacity int64) int64 { return min(capacity/16, stagedFrontSize) }

// budgetOf returns the bound of each part for o (defaults applied).
func budgetOf(o *Options) memoryBudget { return budgetFor(o, o.MemtableSize) }

// budgetFor is budgetOf with memtables of m bytes: their arenas, fronts
// and flush. The compactions' readahead follows o.MemtableSize whatever
// the memtables held at the moment (compactionReadaheadBudget).
func budgetFor(o *Options, m int64) memoryBudget {
	return memoryBudget{
		Memtables:  satMul(memtableSlots(o), m),
		Fronts:     satMul(satMul(maxFrontSizes, memtableSlots(o)), memtable.FrontBytes(frontSize(m))),
		BlockCache: o.BlockCacheSize,
		Writers: satAdd(satAdd(satAdd(m, satMul(satMul(int64(o.CompactionConcurrency), 2), o.TargetFileSize)),
			satMul(satAdd(int64(o.CompactionConcurrency), 1), writerFixed(o))),
			satMul(int64(o.CompactionConcurrency), compactionReadaheadBudget(o))),
		Fixed:      memoryFixed,
		HeapFactor: heapFactor(),
	}
}

// heapFactor is 1 + GOGC/100: the garbage collector lets the heap grow to
// that multiple of the live heap before it collects (GOGC defaults to 100,
// so the factor to 2). GOGC=off counts as the default: with collection off
// nothing is bounded.
func heapFactor() float64 {
	if p, err := strconv.Atoi(os.Getenv("GOGC")); err == nil && p >= 0 {
		return 1 + float64(p)/100
	}
	return 2
}

// applyMemoryLimit sizes what o leaves unset from o.MemoryLimit, after
// the other defaults; MemtableSize, TargetFileSize and BlockCacheSize are
// still zero where the caller did not set them. With both MemtableSize
// and BlockCacheSize left to it, the two share (see Options.elasticCache):
// the memtables may take a quarter of the limit instead of an eighth,
// and BlockCacheSize is the cache beside full-size memtables, its least.
func applyMemoryLimit(o *Options) {
	limit := o.MemoryLimit
	if o.TargetFileSize == 0 {
		o.TargetFileSize = min(max(limit/64, 2<<20), 8<<20)
	}
	elastic := o.MemtableSize == 0 && o.BlockCacheSize == 0
	if o.MemtableSize == 0 {
		o.MemtableSize = memtableSizeFor(o, memtableShare)
		// A larger share where the cache beside it keeps at least half
		// what it has beside the smaller one (not at small limits, where
		// the fixed parts leave the cache little either way).
		if m := memtableSizeFor(o, elasticMemtableShare); elastic && 2*cacheBeside(o, m) >= cacheBeside(o, o.MemtableSize) {
			o.MemtableSize = m
		}
	}
	if o.BlockCacheSize == 0 {
		// Not positive: validate reports the limit as too small.
		o.BlockCacheSize = cacheBeside(o, o.MemtableSize)
		if o.BlockCacheSize == 0 {
			o.BlockCacheSize = -1
		}
	}
	o.elasticCache = elastic
}

// memtableShare and elasticMemtableShare are the shares of MemoryLimit
// (1/n) the memtables take together at their full size, when the block
// cache's size is fixed and when it gives way to them.
//
// A quarter measured on a 20M-key fill in a 512 MiB container (derived
// MemoryLimit 256 MiB): 91k keys/s and 87 s of stalls on L0's depth
// against 63k and 196 s with an eighth, whose 10.7 MiB memtables flush
// into twice as many L0 tables. With the cache fixed that would cost the
// reads a third of it (78 -> 48 MiB); giving way, it costs them only
// while the memtables are large, which is while writes are heavy.
const (
	memtableShare        = 8
	elasticMemtableShare = 4
)

// memtableSizeFor is the MemtableSize at which the memtables take 1/share
// of MemoryLimit together, between 256 KiB and 64 MiB each.
func memtableSizeFor(o *Options, share int64) int64 {
	return min(max(o.MemoryLimit/share/memtableSlots(o), 256<<10), 64<<20)
}

// cacheBeside is the block cache the formula leaves beside memtables of
// size m (o's other sizes as they are, BlockCacheSize not counted): what
// makes the bound equal to MemoryLimit. m is either the MemtableSize
// considered or, for the elastic cache, the size of the memtables held
// while they grow to o.MemtableSize; the compactions' readahead is
// counted at the larger of the two, what they read with.
func cacheBeside(o *Options, m int64) int64 {
	t := *o
	t.MemtableSize, t.BlockCacheSize = max(o.MemtableSize, m), 0
	b := budgetFor(&t, m)
	heap := int64(float64(o.MemoryLimit-b.Memtables) / b.HeapFactor)
	return heap - b.heapParts()
}

// elasticCacheSize is the block cache's capacity while the largest
// memtable the DB holds (or is making) has size m: BlockCacheSize with
// full-size memtables, more beside smaller ones.
func elasticCacheSize(o *Options, m int64) int64 {
	return max(cacheBeside(o, min(m, o.MemtableSize)), o.BlockCacheSize)
}

// validateMemory rejects a MemoryLimit the options cannot keep.
func validateMemory(o *Options) error {
	if o.MemoryLimit == 0 {
		return nil
	}
	if o.MemoryLimit < minMemoryLimit {
		return fmt.Errorf("%w: option MemoryLimit %d is below the minimum of %d (32 MiB)", ErrInvalidArgument, o.MemoryLimit, int64(minMemoryLimit))
	}
	if o.BlockCacheSize < 1<<20 {
		return fmt.Errorf("%w: option MemoryLimit %d leaves %d bytes for the block cache (at least 1 MiB needed): raise it or lower MemtableSize, TargetFileSize or MaxImmutableMemtables",
			ErrInvalidArgument, o.MemoryLimit, max(o.BlockCacheSize, 0))
	}
	if b := budgetOf(o).Total(); b > o.MemoryLimit {
		return fmt.Errorf("%w: options need up to %d bytes of memory, over MemoryLimit %d", ErrInvalidArgument, b, o.MemoryLimit)
	}
	return nil
}

// containerMemoryLimit is the memory limit of the container (memory
// cgroup) the process runs in, 0 for none; a variable so that tests can
// stand in a limit of their own.
var containerMemoryLimit = memlimit.Self

// containerShare is the fraction of the container's memory limit the
// derived default MemoryLimit takes: half, leaving the rest to the Go
// runtime, the program's own heap and the page cache.
const containerShare = 2 // limit / containerShare

// defaultSizes are the sizes of the zero Options outside a container.
const (
	defaultMemtableSize = 64 << 20
	// defaultInitialMemtableSize is where memtables start after Open (see
	// Options.InitialMemtableSize).
	defaultInitialMemtableSize = 4 << 20
	defaultBlockCacheSize      = 64 << 20
	defaultTargetFileSize      = 8 << 20
)

// applyContainerLimit gives options that set neither MemoryLimit nor any
// size it derives (MemtableSize, BlockCacheSize, TargetFileSize) a
// MemoryLimit from the container's limit, when the default sizes would
// not fit in containerShare of it: max(container/2, 32 MiB), and the sizes
// follow from it as from an explicit MemoryLimit. In a container with room
// for the defaults, outside one, and when the derived limit cannot hold the
// other options (a large MaxImmutableMemtables), o is left as it was.
func applyContainerLimit(o *Options, container int64) {
	if container <= 0 || o.MemtableSize != 0 || o.BlockCacheSize != 0 || o.TargetFileSize != 0 ||
		o.MaxImmutableMemtables < 1 || o.CompactionConcurrency < 1 {
		return
	}
	limit := max(container/containerShare, minMemoryLimit)
	d := *o
	d.MemtableSize, d.BlockCacheSize, d.TargetFileSize = defaultMemtableSize, defaultBlockCacheSize, defaultTargetFileSize
	if budgetOf(&d).Total() <= limit {
		return
	}
	t := *o
	t.MemoryLimit = limit
	applyMemoryLimit(&t)
	if validateMemory(&t) != nil {
		return
	}
	t.containerLimit = container
	*o = t
}

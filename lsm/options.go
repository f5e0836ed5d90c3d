package lsm

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/stratadb/strata/sstable"
	"github.com/stratadb/strata/vfs"
)

// SyncMode says when the WAL is made durable, as Redis AOF's appendfsync.
type SyncMode int

// The sync modes. In every mode a write's WAL bytes reach the OS before the
// write returns, so it survives a crash of the process.
const (
	// SyncEverySec fsyncs the WAL once a second in the background: a power
	// loss loses at most the writes of the last ~2 seconds.
	SyncEverySec SyncMode = iota
	// SyncAlways fsyncs the WAL before a write returns; concurrent writers
	// share one fsync (group commit).
	SyncAlways
	// SyncNo never fsyncs the WAL (the OS writes it back when it chooses).
	SyncNo
)

// ParseSyncMode parses "always", "everysec" or "no".
func ParseSyncMode(s string) (SyncMode, error) {
	switch s {
	case "always":
		return SyncAlways, nil
	case "everysec":
		return SyncEverySec, nil
	case "no":
		return SyncNo, nil
	}
	return 0, fmt.Errorf("%w: sync mode %q (want always, everysec or no)", ErrInvalidArgument, s)
}

// String returns "always", "everysec" or "no".
func (m SyncMode) String() string {
	switch m {
	case SyncAlways:
		return "always"
	case SyncEverySec:
		return "everysec"
	case SyncNo:
		return "no"
	}
	return fmt.Sprintf("SyncMode(%d)", int(m))
}

// Compression is the compression of SSTable data blocks.
type Compression int

// The compressions.
const (
	// CompressionSnappy: the Snappy block format. Fast, modest ratio.
	CompressionSnappy Compression = iota
	// CompressionNone stores blocks as they are.
	CompressionNone
	// CompressionZstd: github.com/klauspost/compress/zstd. Better ratio,
	// slower.
	CompressionZstd
)

// String returns "snappy", "none" or "zstd".
func (c Compression) String() string {
	switch c {
	case CompressionSnappy:
		return "snappy"
	case CompressionNone:
		return "none"
	case CompressionZstd:
		return "zstd"
	}
	return fmt.Sprintf("Compression(%d)", int(c))
}

// Options configures a DB. The zero value of every field means its default,
// so a nil *Options and &Options{} open the same DB.
type Options struct {
	// Sync is the WAL durability mode. The default value is SyncEverySec.
	Sync SyncMode
	// MemtableSize is the size in bytes a memtable reaches before it is
	// rotated and flushed to an L0 table. The default value is 64 MiB, or
	// with MemoryLimit set, a share of it divided among the
	// MaxImmutableMemtables+1 memtables (at least 256 KiB, at most 64 MiB):
	// a quarter when BlockCacheSize is left to MemoryLimit too (the cache
	// then gives way to the memtables, see MemoryLimit) and the cache
	// beside full-size memtables keeps at least half what it would have
	// beside an eighth; an eighth otherwise.
	MemtableSize int64
	// InitialMemtableSize is the size of the first memtable after Open;
	// each memtable after it is twice the size of the one before, up to
	// MemtableSize, or half of it, down to InitialMemtableSize, when the
	// one before took a minute or more to fill (under a MiB a second of
	// writes, which small memtables serve as well). A small or young DB
	// (and one reopened for a few writes) then never holds full-size
	// memtables, while a heavy write load reaches MemtableSize after a few
	// rotations (with the defaults, 4, 8, 16, 32, 64 MiB: after 60 MiB
	// written) and a load that slows down gives the memory back. The default value is
	// 4 MiB, or MemtableSize if that is smaller. Set it to MemtableSize
	// (or more) to disable the growth: every memtable is then
	// MemtableSize from the start, as for a bulk load into a DB that was
	// just opened. The memory bound below counts every memtable at
	// MemtableSize, the largest.
	InitialMemtableSize int64
	// MemoryLimit is the bytes of memory the DB may hold: memtables,
	// caches and buffers. 0 means bounded by the other fields alone. The
	// default value is 0, except in a container too small for the default
	// sizes (below).
	//
	// Whatever MemoryLimit is, the DB holds at most
	//
	//	(MaxImmutableMemtables+1) x MemtableSize      memtable arenas, off the Go heap
	//	+ g x ( 4 x (MaxImmutableMemtables+1)
	//	          x min(MemtableSize/16, 1 MiB)       staged memtable fronts
	//	          x 65/64                             and their key filters
	//	      + BlockCacheSize                        data blocks, and the filters and
	//	                                              point indexes of open tables (off
	//	                                              the Go heap), and whole index blocks
	//	      + MemtableSize                          the flush's table writer
	//	      + CompactionConcurrency x 2 x TargetFileSize   compactions' table writers
	//	      + (CompactionConcurrency+1) x (256 KiB + 4 x BlockSize)   writers' buffers
	//	      + CompactionConcurrency x min(TargetFileSize/2, MemtableSize/4)
	//	          (1-4 MiB)                           input readahead (off the Go heap)
	//	      + 4 MiB )                               commit, WAL and read buffers
	//
	// where g = 1 + GOGC/100 (2 by default) is the Go collector's headroom:
	// the heap may grow to g times its live size before a collection. The
	// block cache's data blocks and the tables' filter blocks and point
	// indexes live off the Go heap (where the platform allows), so they
	// cost their size once; the bound still multiplies the whole cache by
	// g because whole index blocks (read for seeks whose target ties in a
	// point index), on the heap, may take any share of it. A cache of
	// mostly data blocks, filters and point indexes costs about
	// BlockCacheSize.
	// Metrics reports each part and the bound (MemoryBound). Not counted:
	// what open iterators pin (the memtables of their moment, one block per
	// table, the index of each table they read if the cache evicts it
	// meanwhile, and up to 256 KiB of readahead per table read in order,
	// and as much again for its values kept in the WAL), and a memtable made larger than MemtableSize for a single
	// batch that does not fit in one.
	//
	// With MemoryLimit set, the sizes left unset follow from it:
	// TargetFileSize is MemoryLimit/64 (2 to 8 MiB), MemtableSize as above,
	// and BlockCacheSize takes what the formula leaves. Explicit sizes whose
	// bound exceeds MemoryLimit, a MemoryLimit below 32 MiB, or one that
	// leaves the block cache under 1 MiB are ErrInvalidArgument.
	//
	// When MemoryLimit sizes both the memtables and the block cache, the
	// cache gives way to the memtables: its capacity is what the formula
	// leaves beside the largest memtable held at the moment (Metrics'
	// BlockCacheCapacity), and BlockCacheSize is its least, beside
	// full-size memtables. Memtables grow under heavy writes and take the
	// memory from the cache; read-mostly loads keep small memtables and a
	// larger cache. For 256 MiB with the defaults: 3 memtables of up to
	// 21.3 MiB, 4 MiB tables, a block cache of 48.1 MiB beside full-size
	// memtables and 100.5 MiB beside the first, 4 MiB ones.
	//
	// In a container. On Linux, when MemoryLimit and the three sizes it
	// derives (MemtableSize, BlockCacheSize, TargetFileSize) are all left
	// zero, Open reads the memory limit L of the process's cgroup (v2
	// memory.max, or v1 memory.limit_in_bytes; the smallest on the path up
	// to the root). If the default sizes' bound (about 521 MiB with GOGC
	// unset) exceeds L/2, MemoryLimit defaults to max(L/2, 32 MiB) and the
	// sizes follow from it as above: a 512 MiB container gets MemoryLimit
	// 256 MiB, a 1 GiB one 512 MiB, a 2 GiB one or no limit the default
	// sizes. The other half of L is left to the Go runtime, the program's
	// own heap and the page cache. Metrics reports the limit in use
	// (MemoryLimit) and the container's (ContainerMemoryLimit). Setting any
	// of the four fields turns this off; if the derived limit cannot hold
	// the other fields (say a large MaxImmutableMemtables), the defaults
	// stand. Elsewhere than Linux nothing is read.
	//
	// The Go runtime's own memory is outside MemoryLimit: the program's
	// code, goroutine stacks and the runtime's metadata, typically 10 to 30
	// MiB for a program that embeds Strata, plus the program's own heap
	// (times g). A container's limit must leave room for them. Setting
	// GOMEMLIMIT (debug.SetMemoryLimit) near the container's limit makes
	// the collector run before the heap reaches g times its live size, so
	// the heap parts then cost about their size once.
	MemoryLimit int64
	// BlockSize is the target uncompressed size of an SSTable data block,
	// at most 64 MiB. The default value is 4 KiB.
	BlockSize int
	// BlockCacheSize is the capacity of the block cache in bytes; the
	// index and filter blocks of open tables are charged to it (open tables
	// are closed to keep them within three quarters of it). The default
	// value is 64 MiB, or with MemoryLimit set, what the formula there
	// leaves.
	BlockCacheSize int64
	// Compression is the data-block compression. The default value is
	// CompressionSnappy.
	Compression Compression
	// BloomBitsPerKey sizes the per-table bloom filter, at most 100. The
	// default value is 10 (about 1% false positives); a negative value
	// disables filters.
	BloomBitsPerKey int
	// Clock is the clock TTLs are judged against. The default value is
	// time.Now.
	Clock func() time.Time
	// Logger receives the engine's events. The default value discards
	// everything below Warn.
	Logger *slog.Logger
	// ReadOnly opens the DB without writing anything; writes return
	// ErrReadOnly. The default value is false.
	ReadOnly bool

	// L0CompactionTrigger is the L0 depth that starts a compaction of L0.
	// L0's depth is its number of sublevels: L0 tables may overlap, and
	// each table sits one sublevel above the highest older table it
	// overlaps, so a Get reads at most one L0 table per sublevel (a flush
	// split into pieces that do not overlap adds one sublevel, not one per
	// piece). L0 also scores when this many of its tables overlap no other
	// L0 table (a sequential load's flushes), which then move down
	// unrewritten. The default value is 4: four keeps reads cheap while
	// letting a compaction merge enough data to be worth it.
	L0CompactionTrigger int
	// L0SlowdownWrites is the L0 depth (see L0CompactionTrigger) at which
	// every write is delayed by a millisecond so compaction can catch up.
	// The default value is 12.
	L0SlowdownWrites int
	// L0StopWrites is the L0 depth at which writes wait until compaction
	// brings L0 below it. The default value is 20.
	L0StopWrites int
	// MaxImmutableMemtables is the number of memtables waiting to be flushed
	// at which writes wait for a flush. The default value is 2, bounding
	// memtable memory at 3 x MemtableSize.
	MaxImmutableMemtables int
	// LevelMultiplier is the ratio of each level's target size to the one
	// above. The default value is 10.
	LevelMultiplier int
	// BaseLevelSize is the target size of the first level below L0. The
	// default value is 64 MiB.
	BaseLevelSize int64
	// TargetFileSize is the size at which compaction splits its output
	// tables. The default value is 8 MiB, or with MemoryLimit set,
	// MemoryLimit/64 between 2 and 8 MiB.
	TargetFileSize int64
	// CompactionConcurrency is the number of compactions that may run at
	// once. The default value is 1, suited to a small machine: flushes have
	// their own goroutine, and one compaction keeps up with them on two
	// cores.
	CompactionConcurrency int
	// TTLCompactionInterval is how often the engine looks for tables whose
	// data has mostly expired and compacts them. The default value is one
	// minute; a negative value disables TTL compactions.
	TTLCompactionInterval time.Duration
	// MaxOpenFiles bounds the table readers kept open. An open reader's
	// memory (about 1.5 KiB, plus its index and filter) is charged to the
	// block cache, which closes readers to keep their charges within three
	// quarters of it, so the count bound is there for file descriptors.
	// Reads of a table whose reader was closed open it again and read its
	// index and filter, so random reads over more tables than this reopen
	// tables all the time (measured: 127 tables and a bound of 50, 0.6
	// table opens per Get; 50M keys of 116 bytes, 4.7 GB of tables, are
	// 700 or more tables of at most 8 MiB). The default value is 10,000,
	// or half the process's open-file limit (RLIMIT_NOFILE) where that is
	// lower, and at least 100.
	MaxOpenFiles int
	// WALValueThreshold, when positive, keeps values of at least this many
	// bytes in the WAL segment that logged them: the memtable and then the
	// tables its flush writes hold a reference to each (its offset in the
	// segment, length and checksum, about 10 bytes) instead of a copy, so
	// such a value is written once instead of twice and never copied into
	// a memtable, and the segment is kept as long as a table refers to it.
	// A read of such a value reads it from the segment: a read that fills
	// the block cache reads and caches the whole 32 KiB block of the
	// segment that holds it (the values logged next to it come with it,
	// for reads in log order; a block the log still ends in is read value
	// by value until the log passes it), so reads scattered over more values than
	// the cache holds should pass GetOptions.NoFillCache, which reads the
	// value alone (raftstore does both). A memtable then
	// rotates when its segment reaches the memtable's size, as well as
	// when the memtable does. A compaction that rewrites the table copies
	// the values in, and a segment whose values are mostly deleted is let
	// go by rewriting the tables that still refer to it. For logs of large
	// entries that are appended in order and deleted from the head (a
	// Raft log); the references cost a byte per value (its tag) in
	// memtables and tables. The default value is 0: every value is copied
	// into memtables and tables. A DB opened later without it still reads
	// the references its tables hold.
	WALValueThreshold int
	// WALPrewrite, when set, writes the space of the next WAL segment with
	// zeros and syncs it in the background, before the memtable rotation
	// that takes the segment into use. A filesystem that allocates a
	// file's blocks at its first write to them (ext4 and XFS, also for
	// blocks reserved with fallocate, which stay marked unwritten until
	// written) records that in its journal at the next fsync, so each
	// fsync after an append into new blocks commits the journal beside the
	// data; an fsync after overwriting blocks written before flushes the
	// data alone. Measured on ext4 on a 2-core VM, write and fsync of 100
	// KiB took 230 us into written blocks against 430 us into new ones, of
	// 1 KiB 150 against 180 us. The cost is the zeros: each segment's
	// bytes are written twice, in the background, so a segment is written
	// ahead only after one whose syncs averaged under 256 KiB (a write
	// rate the fsyncs bound, not the disk's bandwidth); with larger syncs,
	// or none, segments are made as without it. A segment in use that was
	// not written ahead (the first after Open, or one after a segment
	// synced seldom) gets its zeros in steps instead, written a few MiB
	// ahead of its log by the appending call, once it has been synced 64
	// times at under 16 KiB a sync on average (the fsync that follows
	// writes them out; Metrics.WALZeroedAhead counts them). For logs
	// synced after each write (SyncAlways, or DB.Sync after each write, as
	// a Raft log store does). A filesystem whose files have no positioned
	// writes (io.WriterAt) leaves it off. The default value is false.
	WALPrewrite bool
	// FS is the filesystem the DB writes through. The default value is the
	// operating system's (vfs.Default); tests pass an in-memory or
	// error-injecting one.
	FS vfs.FS
	// EventListener receives callbacks on flushes, compactions, stalls and
	// background errors. The default value is none.
	EventListener *EventListener

	// containerLimit is the container's memory limit MemoryLimit was
	// derived from by ensureDefaults, 0 when it was not.
	containerLimit int64
	// elasticCache is set by ensureDefaults when MemoryLimit sized both
	// the memtables and the block cache: the cache then takes what the
	// memtables of the moment leave (see DB.resizeCache), BlockCacheSize
	// being its capacity beside full-size ones.
	elasticCache bool
}

// ensureDefaults returns a copy of o (nil allowed) with every zero field set
// to its default.
func (o *Options) ensureDefaults() Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.MaxImmutableMemtables == 0 {
		c.MaxImmutableMemtables = 2
	}
	if c.CompactionConcurrency == 0 {
		c.CompactionConcurrency = 1
	}
	if c.BlockSize == 0 {
		c.BlockSize = 4 << 10
	}
	if c.MemoryLimit > 0 && c.MaxImmutableMemtables > 0 && c.CompactionConcurrency > 0 {
		applyMemoryLimit(&c)
	} else if c.MemoryLimit == 0 {
		applyContainerLimit(&c, containerMemoryLimit())
	}
	if c.MemtableSize == 0 {
		c.MemtableSize = defaultMemtableSize
	}
	if c.InitialMemtableSize == 0 {
		c.InitialMemtableSize = defaultInitialMemtableSize
	}
	c.InitialMemtableSize = min(c.InitialMemtableSize, c.MemtableSize)
	if c.BlockCacheSize == 0 {
		c.BlockCacheSize = defaultBlockCacheSize
	}
	if c.BloomBitsPerKey == 0 {
		c.BloomBitsPerKey = 10
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.L0CompactionTrigger == 0 {
		c.L0CompactionTrigger = 4
	}
	if c.L0SlowdownWrites == 0 {
		c.L0SlowdownWrites = 12
	}
	if c.L0StopWrites == 0 {
		c.L0StopWrites = 20
	}
	if c.MaxImmutableMemtables == 0 {
		c.MaxImmutableMemtables = 2
	}
	if c.LevelMultiplier == 0 {
		c.LevelMultiplier = 10
	}
	if c.BaseLevelSize == 0 {
		c.BaseLevelSize = 64 << 20
	}
	if c.TargetFileSize == 0 {
		c.TargetFileSize = defaultTargetFileSize
	}
	if c.CompactionConcurrency == 0 {
		c.CompactionConcurrency = 1
	}
	if c.TTLCompactionInterval == 0 {
		c.TTLCompactionInterval = time.Minute
	}
	if c.MaxOpenFiles == 0 {
		c.MaxOpenFiles = defaultMaxOpenFiles(openFileLimit())
	}
	if c.FS == nil {
		c.FS = vfs.Default
	}
	if c.EventListener == nil {
		c.EventListener = &EventListener{}
	}
	return c
}

// validate rejects options that make no sense.
func (o *Options) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: option %s", ErrInvalidArgument, fmt.Sprintf(format, args...))
	}
	switch {
	case o.Sync < SyncEverySec || o.Sync > SyncNo:
		return bad("Sync %d", int(o.Sync))
	case o.Compression < CompressionSnappy || o.Compression > CompressionZstd:
		return bad("Compression %d", int(o.Compression))
	case o.MemtableSize < 0:
		return bad("MemtableSize %d", o.MemtableSize)
	case o.MemtableSize > 4<<30-1:
		return bad("MemtableSize %d over 4 GiB", o.MemtableSize)
	case o.InitialMemtableSize < 0:
		return bad("InitialMemtableSize %d", o.InitialMemtableSize)
	case o.BlockSize < 0, o.BlockSize > sstable.MaxBlockSize:
		return bad("BlockSize %d (at most %d)", o.BlockSize, sstable.MaxBlockSize)
	case o.BloomBitsPerKey > sstable.MaxBloomBitsPerKey:
		return bad("BloomBitsPerKey %d (at most %d)", o.BloomBitsPerKey, sstable.MaxBloomBitsPerKey)
	case o.BlockCacheSize < 0 && o.MemoryLimit == 0:
		return bad("BlockCacheSize %d", o.BlockCacheSize)
	case o.L0CompactionTrigger < 1, o.L0SlowdownWrites < o.L0CompactionTrigger, o.L0StopWrites < o.L0SlowdownWrites:
		return bad("L0 thresholds %d <= %d <= %d must hold", o.L0CompactionTrigger, o.L0SlowdownWrites, o.L0StopWrites)
	case o.MaxImmutableMemtables < 1:
		return bad("MaxImmutableMemtables %d", o.MaxImmutableMemtables)
	case o.LevelMultiplier < 2:
		return bad("LevelMultiplier %d", o.LevelMultiplier)
	case o.BaseLevelSize < 0, o.TargetFileSize < 0:
		return bad("sizes must not be negative")
	case o.CompactionConcurrency < 1:
		return bad("CompactionConcurrency %d", o.CompactionConcurrency)
	case o.MaxOpenFiles < 0:
		return bad("MaxOpenFiles %d", o.MaxOpenFiles)
	case o.MemoryLimit < 0:
		return bad("MemoryLimit %d", o.MemoryLimit)
	}
	return validateMemory(o)
}

// defaultMaxOpenFiles is MaxOpenFiles' default under an open-file limit of
// limit (ok false: none known): 10,000, or half the limit if that is lower,
// and at least 100, leaving the other half to the WAL, the MANIFEST, the
// program's own files and its sockets.
func defaultMaxOpenFiles(limit uint64, ok bool) int {
	n := 10_000
	if ok && limit/2 < uint64(n) {
		n = max(int(limit/2), 100)
	}
	return n
}

package lsm

import (
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/stratadb/strata/manifest"
)

// counters are the DB's running totals, updated atomically.
type counters struct {
	gets, userBytes, walBytes, walSyncs         atomic.Int64
	commitGroups, commitWrites, parallelApplies atomic.Int64
	flushes, flushBytes                         atomic.Int64
	compactions, trivialMoves, ttlCompacts      atomic.Int64
	compactRead, compactWritten                 atomic.Int64
	levelRead, levelWritten                     [manifest.NumLevels]atomic.Int64
	stalls, stallSlowdowns, stallNanos          atomic.Int64
	copyWaits, copyWaitNanos                    atomic.Int64
	expiredHidden, expiredDropped               atomic.Int64
	tombstonesDropped                           atomic.Int64
	conditionFailures                           atomic.Int64
	tablesSkippedByFilter                       atomic.Int64
	walValueReads                               atomic.Int64
	walPrewritten                               atomic.Int64
	walZeroedAhead                              atomic.Int64
	tablesSkippedByRangeDel                     atomic.Int64
	l0Probes                                    atomic.Int64
	rangeDelSkips                               atomic.Int64
	rangeDelsDropped, coveredDropped            atomic.Int64
	rangeDelFlushes                             atomic.Int64
	backgroundErrors                            atomic.Int64
}

// LevelMetrics describes one level.
type LevelMetrics struct {
	Tables int
	Bytes  int64
	// Score is the level's compaction urgency: above 1 it needs compacting.
	Score float64
	// BytesRead and BytesWritten count compaction input read from and output
	// written into this level (for L0, flushes count as written).
	BytesRead, BytesWritten int64
}

// Metrics is a snapshot of the DB's counters. String formats it as a report
// in sections, like Redis INFO.
type Metrics struct {
	// Server
	Dir      string
	SyncMode SyncMode
	ReadOnly bool

	// Memory: each part the DB holds, in bytes (see Options.MemoryLimit
	// for the bound of each). MemoryHeld is their sum; MemoryBound is the
	// formula's bound for the DB's options, the Go collector's headroom
	// included (the parts are live bytes; the heap ones may take up to
	// MemoryHeapFactor times that in the Go heap before a collection).
	MemtableBytes int64 // bytes in use in the mutable and immutable memtables
	// MemtableArenaBytes is the capacity of every memtable arena not yet
	// freed (off the Go heap where the platform allows): the mutable and
	// immutable memtables, and flushed ones a reader still holds. Only the
	// pages written to take memory.
	MemtableArenaBytes int64
	// MemtableFrontBytes is the staged fronts of the memtables (each
	// copied into its memtable's main list in the background).
	MemtableFrontBytes int64
	ImmutableMemtables int
	BlockCacheBytes    int64 // data blocks in the block cache
	// BlockCacheOffHeapBytes is the memory the block cache's data blocks
	// and tables' filter blocks and point indexes take off the Go heap,
	// with the running compactions' readahead buffers (its allocator's):
	// their slabs, slots in use or free (see BlockCacheBytes and
	// TableIndexFilterBytes for what is charged), and blocks readers still
	// hold after eviction. On platforms without off-heap memory the same
	// bytes are on the Go heap.
	BlockCacheOffHeapBytes int64
	BlockCacheCapacity     int64
	BlockCacheHits         int64
	BlockCacheMisses       int64
	// TableIndexFilterBytes is the index and filter blocks (and handles)
	// of tables in the block cache, as its entries or charged to it by the
	// open readers that keep them; TablesOpen is the open table readers.
	TableIndexFilterBytes int64
	TablesOpen            int
	// TableOpens counts the table readers opened since Open (each reads
	// the table's footer, properties, index and filter);
	// IndexBlocksRead and FilterBlocksRead count the index and filter
	// blocks read from files, by those opens and by block cache misses.
	TableOpens                        int64
	IndexBlocksRead, FilterBlocksRead int64
	// TableWriterBytes is what the flush and compactions hold for the
	// tables they are writing (keys for the filter, the index, buffers).
	TableWriterBytes int64
	// OpenIterators is the iterators not yet closed (each pins the
	// memtables of its moment and one block per table it reads).
	OpenIterators    int
	MemoryHeld       int64
	MemoryBound      int64
	MemoryHeapFactor float64
	// MemoryLimit is the limit the sizes were derived from:
	// Options.MemoryLimit, or the default derived from the container's
	// limit; 0 when there is none. ContainerMemoryLimit is the container's
	// memory limit that default was derived from, 0 when it was not.
	MemoryLimit          int64
	ContainerMemoryLimit int64

	// Persistence
	LastSeq         uint64
	WALBytesWritten int64
	WALSyncs        int64
	CommitGroups    int64 // groups the commit pipeline wrote, one WAL append each
	CommitWrites    int64 // writes (requests) in those groups
	ParallelApplies int64 // groups whose memtable inserts were shared by two goroutines
	Flushes         int64
	FlushBytes      int64
	BackgroundError string // empty when healthy

	// Stats
	Gets              int64
	UserBytesWritten  int64
	ConditionFailures int64
	ExpiredHidden     int64 // expired entries a read skipped
	ExpiredDropped    int64 // expired entries compaction removed or turned into tombstones
	TombstonesDropped int64
	// DataBlocksRead is the data blocks reads (Get, iterators) read from
	// files: their block cache misses. Like BlockCacheHits and
	// BlockCacheMisses, it leaves out compactions' reads
	// (CompactionBlocksRead).
	DataBlocksRead int64
	// DataBlockBytesRead is the bytes of those blocks, one positioned read
	// of one block (and its 5-byte trailer) per miss; TableBytesRead adds
	// the index, filter, properties and footer read when tables open.
	DataBlockBytesRead int64
	TableBytesRead     int64
	FilterSkips        int64 // point probes a bloom filter excluded
	// FilterBypasses counts the point probes that went without a table's
	// filter because the block cache had evicted it and reading it again
	// was not worth it yet (see sstable.Reader).
	FilterBypasses        int64
	TablesSkippedByFilter int64 // tables a query skipped by partition filter
	// WALValueReads counts values read from WAL segments because a table
	// refers to them there (Options.WALValueThreshold).
	WALValueReads int64
	// WALPrewritten counts the WAL segments taken into use already written
	// with zeros (Options.WALPrewrite).
	WALPrewritten int64
	// WALZeroedAhead is the bytes of zeros written ahead of the log in WAL
	// segments not written ahead (Options.WALPrewrite).
	WALZeroedAhead int64
	// WALValueSegments and WALValueBytes are the flushed WAL segments the
	// current tables refer to, and the bytes of values they refer to in
	// them (the rest of those segments is garbage until the segment goes).
	WALValueSegments int
	WALValueBytes    int64
	// TablesSkippedByRangeDel counts tables a point read skipped, without
	// reading them, because a newer range tombstone covers the key.
	TablesSkippedByRangeDel int64
	// RangeDelSkips counts the seeks iterators made past a span covered by
	// a range tombstone, instead of stepping over its keys.
	RangeDelSkips int64
	// RangeDelsDropped counts range tombstones compaction dropped once no
	// reader needed them; CoveredDropped the entries it dropped because a
	// range tombstone deleted them.
	RangeDelsDropped, CoveredDropped int64
	// RangeDelFlushes counts memtables flushed before they were full
	// because their range tombstones covered much table data.
	RangeDelFlushes int64
	WriteStalls     int64
	WriteSlowdowns  int64
	WriteStallTime  time.Duration
	// MemtableCopyWaits counts the writes that waited for the memtable's
	// background copy (two full fronts waiting for it, see
	// memtable.NewStaged); MemtableCopyWaitTime is their total wait.
	MemtableCopyWaits      int64
	MemtableCopyWaitTime   time.Duration
	Compactions            int64
	TrivialMoves           int64
	TTLCompactions         int64
	CompactionBytesRead    int64
	CompactionBytesWritten int64
	// CompactionBlocksRead is the data blocks compactions read from
	// files (the blocks they found in the block cache are not read again),
	// CompactionBlockBytesRead their bytes with the blocks read ahead.
	CompactionBlocksRead     int64
	CompactionBlockBytesRead int64
	BackgroundErrors         int64

	// Amplification
	// WriteAmp is bytes written to tables and WAL over user bytes written.
	WriteAmp float64
	// ReadAmp is the number of tables a Get may touch: one per L0
	// sublevel (L0Sublevels) plus one per non-empty level.
	ReadAmp int
	// L0Sublevels is L0's depth: the L0 tables a Get of one key may touch
	// (L0's tables are Levels[0].Tables). L0TablesProbed counts the L0
	// tables point reads have looked a key up in, for reads per Get.
	L0Sublevels    int
	L0TablesProbed int64

	// Keyspace
	Levels [manifest.NumLevels]LevelMetrics
	Tables int
	// DiskBytes is the size of every live table.
	DiskBytes int64
}

// Metrics returns a snapshot of the counters.
func (db *DB) Metrics() Metrics {
	m := Metrics{Dir: db.dir, SyncMode: db.opts.Sync, ReadOnly: db.opts.ReadOnly}
	c := &db.metrics
	m.BlockCacheCapacity = db.blockCache.Capacity()
	if db.blockCache != nil {
		m.BlockCacheBytes, m.TableIndexFilterBytes = db.blockCache.Usage()
		m.BlockCacheHits = db.blockCache.Hits()
		m.BlockCacheMisses = db.blockCache.Misses()
		m.BlockCacheOffHeapBytes = db.blockCache.OffHeap()
	}
	if db.tableCache != nil {
		m.TablesOpen = db.tableCache.Len()
		m.TableOpens = db.tableCache.Opens()
	}
	m.MemtableArenaBytes = db.memHeld.Load()
	m.TableWriterBytes = db.writerMem.Load()
	b := budgetOf(&db.opts)
	b.HeapFactor = db.heapFactor
	m.MemoryBound = b.Total()
	m.MemoryHeapFactor = db.heapFactor
	m.MemoryLimit = db.opts.MemoryLimit
	m.ContainerMemoryLimit = db.opts.containerLimit
	m.LastSeq = db.visibleSeq.Load()
	m.WALBytesWritten = c.walBytes.Load()
	m.WALSyncs = c.walSyncs.Load()
	m.CommitGroups = c.commitGroups.Load()
	m.CommitWrites = c.commitWrites.Load()
	m.ParallelApplies = c.parallelApplies.Load()
	m.Flushes = c.flushes.Load()
	m.FlushBytes = c.flushBytes.Load()
	m.Gets = c.gets.Load()
	m.UserBytesWritten = c.userBytes.Load()
	m.ConditionFailures = c.conditionFailures.Load()
	m.ExpiredHidden = c.expiredHidden.Load()
	m.ExpiredDropped = c.expiredDropped.Load()
	m.TombstonesDropped = c.tombstonesDropped.Load()
	m.DataBlocksRead = db.sstStats.DataBlocksRead.Load()
	m.DataBlockBytesRead = db.sstStats.DataBytesRead.Load()
	m.TableBytesRead = db.sstStats.BytesRead.Load()
	m.IndexBlocksRead = db.sstStats.IndexBlocksRead.Load()
	m.FilterBlocksRead = db.sstStats.FilterBlocksRead.Load()
	m.CompactionBlocksRead = db.compStats.DataBlocksRead.Load()
	m.CompactionBlockBytesRead = db.compStats.DataBytesRead.Load()
	m.FilterSkips = db.sstStats.FilterSkips.Load()
	m.FilterBypasses = db.sstStats.FilterBypasses.Load()
	m.TablesSkippedByFilter = c.tablesSkippedByFilter.Load()
	m.WALValueReads = c.walValueReads.Load()
	m.WALPrewritten = c.walPrewritten.Load()
	m.WALZeroedAhead = c.walZeroedAhead.Load()
	m.TablesSkippedByRangeDel = c.tablesSkippedByRangeDel.Load()
	m.L0TablesProbed = c.l0Probes.Load()
	m.RangeDelSkips = c.rangeDelSkips.Load()
	m.RangeDelsDropped = c.rangeDelsDropped.Load()
	m.CoveredDropped = c.coveredDropped.Load()
	m.RangeDelFlushes = c.rangeDelFlushes.Load()
	m.WriteStalls = c.stalls.Load()
	m.WriteSlowdowns = c.stallSlowdowns.Load()
	m.WriteStallTime = time.Duration(c.stallNanos.Load())
	m.MemtableCopyWaits = c.copyWaits.Load()
	m.MemtableCopyWaitTime = time.Duration(c.copyWaitNanos.Load())
	m.Compactions = c.compactions.Load()
	m.TrivialMoves = c.trivialMoves.Load()
	m.TTLCompactions = c.ttlCompacts.Load()
	m.CompactionBytesRead = c.compactRead.Load()
	m.CompactionBytesWritten = c.compactWritten.Load()
	m.BackgroundErrors = c.backgroundErrors.Load()
	if u := m.UserBytesWritten; u > 0 {
		m.WriteAmp = float64(m.WALBytesWritten+m.FlushBytes+m.CompactionBytesWritten) / float64(u)
	}

	db.mu.Lock()
	if db.mu.bgErr != nil {
		m.BackgroundError = db.mu.bgErr.Error()
	}
	m.OpenIterators = db.mu.iters
	rs := db.mu.rs
	if rs != nil {
		rs.refs.Add(1)
	}
	db.mu.Unlock()
	if rs == nil {
		return m
	}
	defer rs.release()
	m.MemtableFrontBytes = rs.mem.mt.StagingBytes()
	for _, im := range rs.imm {
		m.MemtableFrontBytes += im.mt.StagingBytes()
	}
	m.MemoryHeld = m.MemtableArenaBytes + m.MemtableFrontBytes + m.BlockCacheBytes +
		m.TableIndexFilterBytes + m.TableWriterBytes
	m.MemtableBytes = rs.mem.mt.Size()
	for _, im := range rs.imm {
		m.MemtableBytes += im.mt.Size()
	}
	m.ImmutableMemtables = len(rs.imm)
	segs := walRefBytes(rs.v)
	for _, n := range segs {
		m.WALValueBytes += int64(n)
	}
	m.WALValueSegments = len(segs)
	scores := db.levelScores(rs.v)
	for l := range m.Levels {
		lm := &m.Levels[l]
		lm.Tables = len(rs.v.Levels[l])
		lm.Bytes = int64(rs.v.LevelSize(l))
		lm.Score = scores[l]
		lm.BytesRead = c.levelRead[l].Load()
		lm.BytesWritten = c.levelWritten[l].Load()
		m.Tables += lm.Tables
		m.DiskBytes += lm.Bytes
		if l == 0 {
			m.L0Sublevels = rs.v.L0Depth()
			m.ReadAmp += m.L0Sublevels
		} else if lm.Tables > 0 {
			m.ReadAmp++
		}
	}
	m.Levels[0].BytesWritten += m.FlushBytes
	return m
}

// MetricField is one named figure of the report: its section, its
// snake_case name, and its value (a number, a bool, a string, a SyncMode or
// a time.Duration).
type MetricField struct {
	Section, Name string
	Value         any
}

// Fields returns the report's figures in order, per section, the levels
// excepted (see Levels). String prints them; kvctl's JSON report uses the
// same names, so the two cannot drift apart.
func (m Metrics) Fields() []MetricField {
	var out []MetricField
	sec := ""
	kv := func(k string, v any) { out = append(out, MetricField{sec, k, v}) }
	sec = "Server"
	kv("dir", m.Dir)
	kv("sync_mode", m.SyncMode)
	kv("read_only", m.ReadOnly)
	sec = "Memory"
	kv("memory_held", m.MemoryHeld)
	kv("memory_bound", m.MemoryBound)
	kv("memory_heap_factor", m.MemoryHeapFactor)
	kv("memory_limit", m.MemoryLimit)
	kv("container_memory_limit", m.ContainerMemoryLimit)
	kv("memtable_bytes", m.MemtableBytes)
	kv("memtable_arena_bytes", m.MemtableArenaBytes)
	kv("memtable_front_bytes", m.MemtableFrontBytes)
	kv("immutable_memtables", m.ImmutableMemtables)
	kv("block_cache_bytes", m.BlockCacheBytes)
	kv("block_cache_capacity", m.BlockCacheCapacity)
	kv("block_cache_offheap_bytes", m.BlockCacheOffHeapBytes)
	kv("table_index_filter_bytes", m.TableIndexFilterBytes)
	kv("tables_open", m.TablesOpen)
	kv("table_opens", m.TableOpens)
	kv("index_blocks_read", m.IndexBlocksRead)
	kv("filter_blocks_read", m.FilterBlocksRead)
	kv("table_writer_bytes", m.TableWriterBytes)
	kv("open_iterators", m.OpenIterators)
	kv("block_cache_hits", m.BlockCacheHits)
	kv("block_cache_misses", m.BlockCacheMisses)
	ratio := 0.0
	if t := m.BlockCacheHits + m.BlockCacheMisses; t > 0 {
		ratio = float64(m.BlockCacheHits) / float64(t)
	}
	kv("block_cache_hit_ratio", ratio)
	sec = "Persistence"
	kv("last_seq", m.LastSeq)
	kv("wal_bytes_written", m.WALBytesWritten)
	kv("wal_syncs", m.WALSyncs)
	kv("commit_groups", m.CommitGroups)
	kv("commit_writes", m.CommitWrites)
	kv("parallel_applies", m.ParallelApplies)
	kv("flushes", m.Flushes)
	kv("flush_bytes", m.FlushBytes)
	kv("background_errors", m.BackgroundErrors)
	if m.BackgroundError != "" {
		kv("background_error", m.BackgroundError)
	}
	sec = "Stats"
	kv("gets", m.Gets)
	kv("user_bytes_written", m.UserBytesWritten)
	kv("condition_failures", m.ConditionFailures)
	kv("expired_hidden", m.ExpiredHidden)
	kv("expired_dropped", m.ExpiredDropped)
	kv("tombstones_dropped", m.TombstonesDropped)
	kv("data_blocks_read", m.DataBlocksRead)
	kv("data_block_bytes_read", m.DataBlockBytesRead)
	kv("table_bytes_read", m.TableBytesRead)
	kv("filter_skips", m.FilterSkips)
	kv("filter_bypasses", m.FilterBypasses)
	kv("tables_skipped_by_filter", m.TablesSkippedByFilter)
	kv("wal_value_reads", m.WALValueReads)
	kv("wal_prewritten", m.WALPrewritten)
	kv("wal_zeroed_ahead", m.WALZeroedAhead)
	kv("wal_value_segments", m.WALValueSegments)
	kv("wal_value_bytes", m.WALValueBytes)
	kv("tables_skipped_by_rangedel", m.TablesSkippedByRangeDel)
	kv("rangedel_skips", m.RangeDelSkips)
	kv("rangedels_dropped", m.RangeDelsDropped)
	kv("covered_dropped", m.CoveredDropped)
	kv("rangedel_flushes", m.RangeDelFlushes)
	kv("write_stalls", m.WriteStalls)
	kv("write_slowdowns", m.WriteSlowdowns)
	kv("write_stall_time", m.WriteStallTime)
	kv("memtable_copy_waits", m.MemtableCopyWaits)
	kv("memtable_copy_wait_time", m.MemtableCopyWaitTime)
	kv("compactions", m.Compactions)
	kv("trivial_moves", m.TrivialMoves)
	kv("ttl_compactions", m.TTLCompactions)
	kv("compaction_bytes_read", m.CompactionBytesRead)
	kv("compaction_bytes_written", m.CompactionBytesWritten)
	kv("compaction_blocks_read", m.CompactionBlocksRead)
	kv("compaction_block_bytes_read", m.CompactionBlockBytesRead)
	kv("write_amplification", m.WriteAmp)
	kv("read_amplification", m.ReadAmp)
	kv("l0_sublevels", m.L0Sublevels)
	kv("l0_tables_probed", m.L0TablesProbed)
	sec = "Keyspace"
	kv("tables", m.Tables)
	kv("disk_bytes", m.DiskBytes)
	return out
}

// String formats the metrics as "name:value" lines in sections (Fields,
// then the levels). Ratios print with 2 decimals (4 for the cache hit
// ratio), durations in Go syntax.
func (m Metrics) String() string {
	var b strings.Builder
	sec := ""
	section := func(name string) {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "# %s\n", name)
		sec = name
	}
	for _, f := range m.Fields() {
		if f.Section != sec {
			section(f.Section)
		}
		v := f.Value
		switch x := v.(type) {
		case float64:
			if f.Name == "block_cache_hit_ratio" {
				v = fmt.Sprintf("%.4f", x)
			} else {
				v = fmt.Sprintf("%.2f", x)
			}
		}
		fmt.Fprintf(&b, "%s:%v\n", f.Name, v)
	}
	section("Levels")
	for l, lm := range m.Levels {
		fmt.Fprintf(&b, "L%d:tables=%d,bytes=%d,score=%.2f,read=%d,written=%d\n", l, lm.Tables, lm.Bytes, lm.Score, lm.BytesRead, lm.BytesWritten)
	}
	return b.String()
}

package lsm

import (
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/stratadb/strata/internal/manifest"
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
	tablesSkippedByRangeDel                     atomic.Int64
	rangeDelSkips                               atomic.Int64
	rangeDelsDropped, coveredDropped            atomic.Int64
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

	// Memory
	MemtableBytes      int64 // bytes in the mutable and immutable memtables
	ImmutableMemtables int
	BlockCacheBytes    int64
	BlockCacheCapacity int64
	BlockCacheHits     int64
	BlockCacheMisses   int64

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
	Gets                  int64
	UserBytesWritten      int64
	ConditionFailures     int64
	ExpiredHidden         int64 // expired entries a read skipped
	ExpiredDropped        int64 // expired entries compaction removed or turned into tombstones
	TombstonesDropped     int64
	DataBlocksRead        int64 // data blocks read from files (cache misses)
	FilterSkips           int64 // point probes a bloom filter excluded
	TablesSkippedByFilter int64 // tables a query skipped by partition filter
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
	WriteStalls                      int64
	WriteSlowdowns                   int64
	WriteStallTime                   time.Duration
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
	BackgroundErrors       int64

	// Amplification
	// WriteAmp is bytes written to tables and WAL over user bytes written.
	WriteAmp float64
	// ReadAmp is the number of tables a Get may touch: L0 tables plus one
	// per non-empty level.
	ReadAmp int

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
	m.BlockCacheCapacity = db.opts.BlockCacheSize
	if db.blockCache != nil {
		m.BlockCacheBytes = db.blockCache.Size()
		m.BlockCacheHits = db.blockCache.Hits()
		m.BlockCacheMisses = db.blockCache.Misses()
	}
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
	m.FilterSkips = db.sstStats.FilterSkips.Load()
	m.TablesSkippedByFilter = c.tablesSkippedByFilter.Load()
	m.TablesSkippedByRangeDel = c.tablesSkippedByRangeDel.Load()
	m.RangeDelSkips = c.rangeDelSkips.Load()
	m.RangeDelsDropped = c.rangeDelsDropped.Load()
	m.CoveredDropped = c.coveredDropped.Load()
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
	if db.bgErr != nil {
		m.BackgroundError = db.bgErr.Error()
	}
	rs := db.rs
	if rs != nil {
		rs.refs.Add(1)
	}
	db.mu.Unlock()
	if rs == nil {
		return m
	}
	defer rs.release()
	m.MemtableBytes = rs.mem.mt.Size()
	for _, im := range rs.imm {
		m.MemtableBytes += im.mt.Size()
	}
	m.ImmutableMemtables = len(rs.imm)
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
			m.ReadAmp += lm.Tables
		} else if lm.Tables > 0 {
			m.ReadAmp++
		}
	}
	m.Levels[0].BytesWritten += m.FlushBytes
	return m
}

// String formats the metrics as "name:value" lines in sections.
func (m Metrics) String() string {
	var b strings.Builder
	section := func(name string) {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "# %s\n", name)
	}
	kv := func(k string, v any) { fmt.Fprintf(&b, "%s:%v\n", k, v) }
	section("Server")
	kv("dir", m.Dir)
	kv("sync_mode", m.SyncMode)
	kv("read_only", m.ReadOnly)
	section("Memory")
	kv("memtable_bytes", m.MemtableBytes)
	kv("immutable_memtables", m.ImmutableMemtables)
	kv("block_cache_bytes", m.BlockCacheBytes)
	kv("block_cache_capacity", m.BlockCacheCapacity)
	kv("block_cache_hits", m.BlockCacheHits)
	kv("block_cache_misses", m.BlockCacheMisses)
	ratio := 0.0
	if t := m.BlockCacheHits + m.BlockCacheMisses; t > 0 {
		ratio = float64(m.BlockCacheHits) / float64(t)
	}
	kv("block_cache_hit_ratio", fmt.Sprintf("%.4f", ratio))
	section("Persistence")
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
	section("Stats")
	kv("gets", m.Gets)
	kv("user_bytes_written", m.UserBytesWritten)
	kv("condition_failures", m.ConditionFailures)
	kv("expired_hidden", m.ExpiredHidden)
	kv("expired_dropped", m.ExpiredDropped)
	kv("tombstones_dropped", m.TombstonesDropped)
	kv("data_blocks_read", m.DataBlocksRead)
	kv("filter_skips", m.FilterSkips)
	kv("tables_skipped_by_filter", m.TablesSkippedByFilter)
	kv("tables_skipped_by_rangedel", m.TablesSkippedByRangeDel)
	kv("rangedel_skips", m.RangeDelSkips)
	kv("rangedels_dropped", m.RangeDelsDropped)
	kv("covered_dropped", m.CoveredDropped)
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
	kv("write_amplification", fmt.Sprintf("%.2f", m.WriteAmp))
	kv("read_amplification", m.ReadAmp)
	section("Keyspace")
	kv("tables", m.Tables)
	kv("disk_bytes", m.DiskBytes)
	section("Levels")
	for l, lm := range m.Levels {
		kv(fmt.Sprintf("L%d", l), fmt.Sprintf("tables=%d,bytes=%d,score=%.2f,read=%d,written=%d", lm.Tables, lm.Bytes, lm.Score, lm.BytesRead, lm.BytesWritten))
	}
	return b.String()
}

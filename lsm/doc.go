// Package lsm is Strata: an embeddable LSM-tree key-value store with the
// patterns of Redis and DynamoDB built in.
//
// Open a directory, write and read keys, scan ranges, and take snapshots:
//
//	db, err := lsm.Open("data", nil) // nil: every default
//	if err != nil { ... }
//	defer db.Close()
//	err = db.Put([]byte("greeting"), []byte("hello"))
//	v, err := db.Get([]byte("greeting"))
//
// On top of plain keys: per-entry TTL (WithTTL, Expire, Expiry), composite
// partition/sort keys with DynamoDB-style queries (PutItem, Query), atomic
// conditional writes and counters (IfAbsent, IfPresent, IfValue,
// Increment), and all-or-nothing batches (NewBatch, Apply).
//
// # How a write travels
//
// A write is encoded once as a WAL record and handed to the commit pipeline
// (commit.go). Concurrent writers are grouped: one leader hands the group to
// the OS at once (a copy into the WAL segment, which is preallocated and
// memory-mapped on Linux, or one write call elsewhere) and, under
// SyncAlways, issues one fsync for all of it; it then inserts the group into
// the memtable (into its small front, which a background goroutine copies
// into the main list in key order: see memtable.NewStaged) and publishes its
// sequence numbers, so readers never see half a batch. Conditions and
// counters are judged by the leader against the latest state and the
// writes queued before them in its group, which makes them atomic with
// respect to every other write while they share the group's WAL write and
// fsync. A full memtable is rotated to a new WAL segment and flushed to L0
// in the background (flush.go), cut into tables at the base level's table
// boundaries (pieces of at least TargetFileSize/4, added in one MANIFEST
// edit); compaction merges tables down the levels (compaction_sched.go,
// package compaction), L0 a window of base-level tables at a time.
//
// With Options.WALValueThreshold, a value of that size or more is written
// once, by the WAL: the memtable and then the tables of its flush hold a
// reference to it in the segment (offset, length, checksum), the segment
// is kept while a table refers to it, and a compaction copies the values
// in (walvalues.go). With Options.WALPrewrite, the next segment is written
// with zeros in the background while the log is synced often, so an fsync
// after an append has no block allocation to commit (walprep.go); a
// segment not written so (the first after Open) gets its zeros a few MiB
// ahead of its log, once it has shown it is synced often and little
// (wal.Writer.ZeroAhead).
//
// # How a read travels
//
// Get looks in the mutable memtable, the immutable ones newest first, L0
// sublevel by sublevel newest first (a binary search finds the one table
// of a sublevel that may hold the key: manifest.L0Sublevels) and then one
// table per level, skipping tables whose
// key range or bloom filter excludes the key (read.go). A data block read
// from a table file goes into the block cache, except for GetAppend with
// GetOptions.NoFillCache, which reads it into pooled memory and copies the
// value out (for reads scattered over more data than the cache holds).
// Iterators merge the
// same sources, one level iterator per L0 sublevel, with a heap and show each live key once (iterator.go).
//
// # Range deletions
//
// DeleteRange writes one range tombstone (package rangedel),
// whatever the number of keys it covers: memtables keep tombstones beside
// their skiplist, tables in a range deletion block. A version is deleted
// when a tombstone visible to the reader, with a higher sequence number,
// covers its key. Get consults tombstones newest source first and skips,
// without reading it, a table older than a tombstone covering the key; an
// iterator that meets a covered key seeks every source older than the
// tombstone past its end, one seek instead of a step per dead key
// (rangedel.go, Merging.SkipForward). Compaction drops covered entries and
// then the tombstone, cuts tombstones at output boundaries, and the picker
// counts the bytes tombstones cover (for a flushed table, also those of
// older L0 tables and its own), so the space comes back on its own; a table
// whose tombstones cover data is rewritten, never moved. A tombstone still
// in the memtable cannot drop anything: every TTLCompactionInterval (one
// minute by default) the memtable is flushed early if its tombstones cover
// 1 MiB of tables or a quarter of them (Metrics.RangeDelFlushes), so on a
// DB that receives no more writes the space comes back within that interval
// plus a flush and a compaction (DeleteRange of 90% of 1M keys: back to
// 1.00x the live data in 51 s with the default minute).
// An input table that a tombstone deletes whole, for every reader, is
// dropped without being read (compaction.DropCovered): deleting the first
// 990,000 of 1,000,000 sequential keys costs reading the few tables the
// tombstone cuts through, not the gigabyte it covers.
//
// # Memory
//
// Everything the DB holds in memory is bounded by Options: the memtable
// arenas (off the Go heap), the block cache with the index and filter
// blocks of open tables (data and filter blocks off the Go heap), the
// table writers and a few fixed buffers
// (memory.go; Options.MemoryLimit has the formula, Metrics the parts).
// MemoryLimit sizes memtables, tables and the block cache from one figure.
// Left at zero with no size set, on Linux it defaults to half the memory
// limit of the process's cgroup (v2 or v1, read by internal/memlimit) when
// the default sizes, about 521 MiB in all, would not fit in that half:
// the zero Options then run in a 512 MiB container instead of being
// killed by it.
//
// # Durability
//
// In every SyncMode a write's WAL bytes reach the OS before the write
// returns, so a crash of the process loses nothing acknowledged. Against
// power loss: SyncAlways loses nothing acknowledged, SyncEverySec at most
// the last ~2 seconds, SyncNo whatever the OS had not written; recovery never
// leaves a hole, only a prefix of the acknowledged writes in commit order.
//
// # Files
//
// A DB directory holds:
//
//	LOCK            flock(2)ed while the DB is open
//	CURRENT         the name of the live MANIFEST, replaced atomically
//	MANIFEST-000005 the log of version edits (which tables are live, per level)
//	000007.log      WAL segments not yet flushed (package wal), and flushed
//	                ones whose large values tables refer to (walvalues.go)
//	000009.sst      tables (package sstable)
//	000011.tmp      a file written before its rename: CURRENT's next content,
//	                or a WAL segment written ahead with zeros (walprep.go);
//	                Open deletes any
//	000006.log.damaged  a WAL segment Repair moved aside: never replayed or deleted
//
// Every byte written is covered by a CRC-32C checksum; damage is reported as
// an error wrapping ErrCorruption naming the file and offset.
package lsm

package raftstore

import "github.com/stratadb/strata/lsm"

// Options configures a Store. The zero value (and a nil *Options) is the
// default: a Strata DB with its default options, every write fsynced.
type Options struct {
	// Engine is passed to lsm.Open for the DB under the store. Its Sync
	// field is ignored: the store writes with lsm.SyncNo and calls DB.Sync
	// itself after each write, so that each StoreLogs, DeleteRange, Set and
	// SetUint64 costs exactly one WAL fsync and the store can count and time
	// it. The default value is nil, the engine's defaults, except for five
	// fields the store sets when they are zero (and WALPrewrite, which it
	// sets unless NoWALPrewrite is set), the first three measured
	// side by side with the engine's default on the comparison's workloads
	// (bench/, the run in bench/RESULTS.md), the other two as they say:
	//
	//   - MemtableSize: DefaultMemtableSize (32 MiB), see there.
	//   - BloomBitsPerKey: -1, no filters. Every lookup the store makes is
	//     of a key that exists (GetLog checks the bounds first, and Raft
	//     leaves no holes), so a filter never spares a table read; it costs
	//     a probe per lookup and its blocks take block-cache room. Random
	//     GetLog over 200k entries of 1 KiB with an 8 MiB block cache took
	//     8.5 us of CPU per call without filters, 11 to 12.6 us with them.
	//   - FS: the operating system's filesystem with memory mapping hidden,
	//     so the engine appends to its WAL with write(2) rather than storing
	//     into a preallocated shared mapping. A store into a mapped page of a
	//     fresh segment takes a page fault, and the fsync then writes back
	//     the mapped pages; for the multi-megabyte batches of large entries
	//     that doubled the time of StoreLogs (100 KiB x 10: 24 ms a call
	//     written, 70 ms mapped), and a mapped segment holds its whole
	//     preallocation (1.125 memtables) on disk even when nearly empty.
	//     The files keep their preallocation (vfs.Preallocator) and early
	//     write-back (vfs.WriteBacker), so the WAL writer reserves its
	//     segment a MiB or so ahead of the log (an fsync then seldom makes
	//     a new file size durable: on a quiet machine 10-byte StoreLogs
	//     calls went from 1.43-1.76x raft-wal's time to 0.99-1.06x), and a
	//     flush's table goes to the disk as it is written.
	//   - WALValueThreshold: DefaultWALValueThreshold, see there.
	//   - L0CompactionTrigger: 1, so each flushed table is compacted at
	//     once. The log's keys only grow and a new store keeps its other keys
	//     below them (doc.go), so a flushed table overlaps nothing below it
	//     and the compaction is a move, a MANIFEST edit that rewrites
	//     nothing; four tables waiting in L0 would be merged together, a
	//     rewrite of every byte. Appending 200 MiB of 100 KiB entries (10 a
	//     call, 4 MiB memtable, no fsync) took 50 moves and no compaction
	//     bytes, and 0.85 s of CPU, against 187 to 238 MiB rewritten and 1.1
	//     to 1.3 s with the engine's default of 4 or with a key above the
	//     log (what a format 1 store has). Round 3 of bench/RESULTS.md
	//     measured random GetLog over moved tables slower than over
	//     rewritten ones; the profile put the difference in the first
	//     touch of the block copied for the cache, and since GetLog reads
	//     scattered entries without filling the cache (doc.go) moved
	//     tables read faster than rewritten ones (round 4).
	//
	// Compression stays the engine's Snappy: on the benchmark's
	// incompressible payloads CompressionNone was up to a third faster for
	// 100 KiB entries and the same for small ones, but Raft commands are
	// usually compressible (msgpack, JSON, protobuf), where Snappy saves
	// disk and the bytes flushes and compactions write. Stores whose
	// payloads are already compressed or encrypted may set
	// CompressionNone. BlockSize stays 4 KiB: 16 KiB blocks cost 15 us of
	// CPU per random GetLog against 11 to 12.6 us, and 1 KiB blocks made
	// the index too large for the cache (over 200 us).
	Engine *lsm.Options
	// NoSync skips the fsync after each write. A crash of the process loses
	// nothing (the bytes reached the OS), but a power loss may lose writes
	// that returned, which breaks Raft's promise to its peers: use it for
	// tests only. The default value is false.
	NoSync bool
	// NoWALPrewrite keeps the store from setting Engine.WALPrewrite, which
	// it does otherwise: the engine writes the next WAL segment's space
	// ahead with zeros, so that the fsync after each StoreLogs finds its
	// blocks already written and commits no block allocation to the
	// filesystem's journal (lsm.Options.WALPrewrite says what that
	// measured). Side by side (bench/, round 8 of bench/RESULTS.md),
	// StoreLogs calls of 10 to 100 KiB (1 KiB entries by 10 and 64, 100
	// KiB ones alone) took 13%-20% less time with it; calls of a MiB or
	// more leave it unused. Before the first memtable rotation after Open,
	// the first segment gets its zeros a few MiB ahead of its log instead,
	// once 64 calls have averaged under 16 KiB. The default value is false.
	NoWALPrewrite bool
	// TruncationFlushBytes is how many bytes of entries DeleteRange may
	// delete, in all since the last such flush, before the store flushes
	// the engine's memtable in the background. A range tombstone gives no
	// space back while it sits in the memtable: only once it is in a table
	// does the engine's compaction picker count the bytes it covers below
	// and compact them away. Raft's head truncations come after a snapshot,
	// and a quiet log may take minutes or hours to fill the memtable: in
	// the head-truncation benchmark (bench/RESULTS.md, 990,000 entries of 1
	// KiB dropped, then 200 appends/s) the space came back 34 s after the
	// truncation, when the memtable filled, and would never have at a lower
	// rate; with the flush it came back within seconds. The flush runs on
	// the store's own goroutine, never on the caller's: DeleteRange and
	// StoreLogs do not wait for it. The bytes are estimated from the mean
	// size of the entries appended (or of the tables, after a reopen). The
	// default value, 0, means the memtable size: a flush then writes at
	// most as many bytes as it lets the engine give back. A negative value
	// turns the flush off.
	TruncationFlushBytes int64
	// RecentEntries is the number of entries appended last that the store
	// keeps in memory, encoded, for GetLog (see DefaultRecentEntries). An
	// entry whose encoding passes 4 KiB is not kept, so the cache holds at
	// most RecentEntries x 4 KiB. Raft reads its newest entries most (the
	// leader replicates each entry just after appending it); a read of a
	// kept entry copies it from memory instead of looking it up in the
	// engine. The default value, 0, means DefaultRecentEntries (1,024
	// entries, at most 4 MiB); a negative value turns the cache off.
	RecentEntries int
}

// DefaultMemtableSize is the engine's memtable size under a store unless
// Options.Engine sets one. A batch of large entries fills a small memtable
// at once: with 8 MiB, StoreLogs of 100 KiB x 10 (1 MiB a call) rotated the
// memtable every eighth call and took 45 ms a call; 32 MiB took 24 ms and
// 64 MiB 18 ms in the same run, while a separate run found 32 and 64 MiB
// equal (22 ms). Small entries did not tell the sizes apart. The engine
// holds up to three memtables, so 32 MiB bounds them at 96 MiB instead of
// 192 MiB, and a reopen replays at most one memtable's worth of WAL. The
// WAL no longer costs disk for the size (see Options.Engine: it is
// preallocated a step at a time, not to the memtable's size), which is
// what had kept this at 8 MiB.
const DefaultMemtableSize = 32 << 20

// DefaultWALValueThreshold is the engine's lsm.Options.WALValueThreshold
// under a store unless Options.Engine sets one (a negative value turns it
// off): an entry whose encoding takes this many bytes or more is written
// to disk once, in the engine's WAL, whose segment the tables refer to,
// instead of a second time by the flush of its memtable. Raft appends in
// order and truncates from the head, so a segment goes when the entries
// logged in it are deleted (or, when fewer than half of them are left,
// once those are copied into tables).
const DefaultWALValueThreshold = 512

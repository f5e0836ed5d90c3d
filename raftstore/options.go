package raftstore

import "github.com/stratadb/strata/lsm"

// Options configures a Store. The zero value (and a nil *Options) is the
// default: a Strata DB with its default options, every write fsynced.
type Options struct {
	// Engine is passed to lsm.Open for the DB under the store. Its Sync
	// field is ignored: the store writes with lsm.SyncNo and calls DB.Sync
	// itself after each write, so that each StoreLogs, DeleteRange, Set and
	// SetUint64 costs exactly one WAL fsync and the store can count and time
	// it. The default value is nil, the engine's defaults, except for
	// MemtableSize, which the store sets to DefaultMemtableSize when it is
	// zero.
	Engine *lsm.Options
	// NoSync skips the fsync after each write. A crash of the process loses
	// nothing (the bytes reached the OS), but a power loss may lose writes
	// that returned, which breaks Raft's promise to its peers: use it for
	// tests only. The default value is false.
	NoSync bool
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
}

// DefaultMemtableSize is the engine's memtable size under a store unless
// Options.Engine sets one. The engine preallocates each WAL segment to 1.125
// times the memtable size, and a Raft log keeps few entries once a snapshot
// has dropped its head: with the engine's 64 MiB default the WAL alone (72
// MiB) was 6.5 times the 11 MiB of entries the head-truncation benchmark
// keeps (bench/RESULTS.md). 8 MiB brings that fixed cost to 9 MiB and
// shortens the open; StoreLogs of 1 KiB x 64 and 100 KiB x 10, run side by
// side with 8 and 64 MiB memtables, differed by less than the machine's noise.
const DefaultMemtableSize = 8 << 20

package raftstore

import (
	"fmt"
	"strings"
	"sync/atomic"
	"time"
)

// Metrics is a snapshot of a Store's counters.
type Metrics struct {
	// FirstIndex and LastIndex are the bounds of the log (0, 0 when empty).
	FirstIndex, LastIndex uint64
	// Entries is LastIndex-FirstIndex+1, the number of entries when the log
	// has no holes (Raft never makes one); 0 when the log is empty.
	Entries uint64
	// Appends is the number of StoreLogs calls that wrote entries, and
	// EntriesAppended the number of entries they wrote.
	Appends, EntriesAppended uint64
	// BytesAppended is the size of the encoded entries written (keys and
	// values), the bytes the log added to the engine.
	BytesAppended uint64
	// Truncations is the number of DeleteRange calls that deleted something.
	Truncations uint64
	// TruncationFlushes is the number of memtable flushes the store made
	// after truncations (Options.TruncationFlushBytes), and
	// TruncationFlushErrors the number that failed.
	TruncationFlushes, TruncationFlushErrors uint64
	// StableWrites is the number of Set and SetUint64 calls.
	StableWrites uint64
	// Fsyncs is the number of WAL fsyncs the store asked for (one per
	// write), FsyncTime their total duration and FsyncMax the longest.
	Fsyncs    uint64
	FsyncTime time.Duration
	FsyncMax  time.Duration
	// AppendTime is the total duration of the StoreLogs calls, fsync
	// included.
	AppendTime time.Duration
	// RecentHits is the number of GetLog calls answered from the cache of
	// recently appended entries (Options.RecentEntries) without an engine
	// lookup.
	RecentHits uint64
	// CursorReads is the number of GetLog calls answered by an iterator
	// kept from the call before, which read the entry before (a Raft
	// leader sending a follower a run of entries), without a lookup.
	CursorReads uint64
}

// String formats m as "name:value" lines, as lsm.Metrics does.
func (m Metrics) String() string {
	var b strings.Builder
	line := func(name string, v any) { fmt.Fprintf(&b, "%s:%v\n", name, v) }
	b.WriteString("# Raft log\n")
	line("raft_first_index", m.FirstIndex)
	line("raft_last_index", m.LastIndex)
	line("raft_entries", m.Entries)
	line("raft_appends", m.Appends)
	line("raft_entries_appended", m.EntriesAppended)
	line("raft_bytes_appended", m.BytesAppended)
	line("raft_truncations", m.Truncations)
	line("raft_truncation_flushes", m.TruncationFlushes)
	line("raft_truncation_flush_errors", m.TruncationFlushErrors)
	line("raft_stable_writes", m.StableWrites)
	line("raft_fsyncs", m.Fsyncs)
	line("raft_fsync_time_us", m.FsyncTime.Microseconds())
	line("raft_fsync_max_us", m.FsyncMax.Microseconds())
	if m.Fsyncs > 0 {
		line("raft_fsync_avg_us", (m.FsyncTime / time.Duration(m.Fsyncs)).Microseconds())
	}
	if m.Appends > 0 {
		line("raft_append_avg_us", (m.AppendTime / time.Duration(m.Appends)).Microseconds())
	}
	line("raft_recent_hits", m.RecentHits)
	line("raft_cursor_reads", m.CursorReads)
	return b.String()
}

// counters are the live counters behind Metrics; every field is atomic so
// Metrics needs no lock.
type counters struct {
	appends, entriesAppended, bytesAppended  atomic.Uint64
	truncations, stableWrites                atomic.Uint64
	truncationFlushes, truncationFlushErrors atomic.Uint64
	fsyncs, fsyncNanos, fsyncMaxNanos        atomic.Uint64
	appendNanos                              atomic.Uint64
	recentHits, cursorReads                  atomic.Uint64
}

// observeFsync records one fsync of duration d. Only writers (holding
// Store.mu) call it, so the max needs no compare-and-swap loop.
func (c *counters) observeFsync(d time.Duration) {
	c.fsyncs.Add(1)
	c.fsyncNanos.Add(uint64(d))
	if uint64(d) > c.fsyncMaxNanos.Load() {
		c.fsyncMaxNanos.Store(uint64(d))
	}
}

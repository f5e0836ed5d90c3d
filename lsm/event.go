package lsm

import "time"

// FlushInfo describes a flush.
type FlushInfo struct {
	// TableNum is the number of the (first) L0 table written (0 at the
	// start). A flush is cut into several L0 tables at the base level's
	// table boundaries; Tables is how many.
	TableNum uint64
	Tables   int
	// Entries and Bytes written to the tables.
	Entries  uint64
	Bytes    uint64
	Duration time.Duration
	Err      error
}

// CompactionInfo describes a compaction.
type CompactionInfo struct {
	// Reason is why it ran: "L0" (L0's table count, or the data its range
	// tombstones cover), "size" (a level over its target), "ttl" (expired
	// data or mostly tombstones), "read" (reads paying for L0's overlap) or
	// "manual" (DB.Compact). Package compaction's documentation has the
	// details.
	Reason string
	// Move is true for a trivial move: one table moved down a level by a
	// MANIFEST edit alone, nothing read or written.
	Move        bool
	Level       int
	OutputLevel int
	// Inputs and Outputs are table counts; the byte counts are their sizes.
	Inputs, Outputs         int
	BytesRead, BytesWritten uint64
	Duration                time.Duration
	Err                     error
}

// StallInfo describes a write stall.
type StallInfo struct {
	// Reason is "memtables" (flushes fell behind), "l0-stop" or "l0-slowdown".
	Reason   string
	Duration time.Duration
}

// EventListener receives the engine's events. Every field is optional.
// Callbacks run on the engine's goroutines: they must return quickly and
// must not call back into the DB.
type EventListener struct {
	FlushBegin      func(FlushInfo)
	FlushEnd        func(FlushInfo)
	CompactionBegin func(CompactionInfo)
	CompactionEnd   func(CompactionInfo)
	StallBegin      func(StallInfo)
	StallEnd        func(StallInfo)
	BackgroundError func(error)
}

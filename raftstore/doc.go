// Package raftstore is a hashicorp/raft LogStore and StableStore on a Strata
// DB, in place of raft-boltdb or raft-wal:
//
//	store, err := raftstore.New(filepath.Join(dataDir, "raft"), nil)
//	if err != nil { ... }
//	defer store.Close()
//	r, err := raft.NewRaft(conf, fsm, store, store, snaps, transport)
//
// # Writes and durability
//
// StoreLogs puts every entry of the call into one Strata batch, applies it
// and then fsyncs the WAL once: after a crash, or a power loss, a call's
// entries are all there or none is, and what survives of a sequence of calls
// is a prefix of it (the engine's recovery never leaves a hole). DeleteRange,
// Set and SetUint64 are fsynced the same way. The DB is opened with
// lsm.SyncNo and the store calls DB.Sync itself, so it can count and time
// each fsync (Metrics). Unless Options.Engine names a filesystem, the engine
// appends to its WAL with write(2) instead of a memory mapping (Options says
// what that measured).
//
// An entry whose encoding takes 512 bytes or more (DefaultWALValueThreshold)
// is written to disk once and never copied into the engine's memtable: the
// memtable, and the tables its flush writes, refer to the entry where the
// WAL segment logged it (lsm.Options.WALValueThreshold), and the segment
// stays until the entries
// logged in it are deleted. A segment whose tables refer to less than half
// of what they did after a head truncation goes too, once the entries left
// are copied into tables.
//
// DeleteRange(min, max), inclusive as Raft calls it, is one range tombstone
// over [key(min), key(max+1)): dropping the head of a million-entry log after
// a snapshot costs what dropping one entry does, and compaction gives the
// space back. The engine's compaction counts the bytes a tombstone covers
// only once the tombstone is in a table, so when the truncations since the
// last one add up to Options.TruncationFlushBytes (the memtable size by
// default) the store's flusher goroutine flushes the memtable: the space
// comes back within seconds instead of when writes next fill the memtable,
// which on a quiet log may be never. The compaction drops the tables the
// tombstone deletes whole without reading them: after dropping 990,000 of
// 1,000,000 entries of 1 KiB it read 37 MiB, and the disk held under twice
// the retained entries 1.8 s after DeleteRange returned (bench/RESULTS.md).
//
// GetLog reads the entries appended last from memory: the store keeps the
// encodings of the last Options.RecentEntries entries (1,024 by default,
// those of up to 4 KiB each), filled by StoreLogs and cleared by
// DeleteRange, because Raft reads its newest entries most (a leader
// replicates each entry right after appending it). Older entries are one
// engine lookup. A lookup of an index that does not continue a run read
// lately and lies farther back than the tail of the log half the block
// cache would hold (a scattered read of old entries) leaves the engine's
// block cache alone (lsm.GetOptions.NoFillCache): the block is read into
// pooled memory and only the entry is copied out, where filling the cache
// cost a fresh block per read, its first-touch page faults, and the
// eviction of a block another reader wanted. Any read of that tail fills
// the cache. A run of consecutive indexes, as Raft reads to replicate to a
// follower, is read from its third call on by an engine iterator kept
// from one call to the next (a cursor, up to four at once, cursor.go):
// each entry is a step of the iterator, not a lookup in every level, and
// the iterator reads the entries' WAL segment ahead in buffers of its
// own, leaving the block cache to the reads that come back. A cursor answers only for the log as
// it was when it opened: DeleteRange and a StoreLogs over existing entries
// retire every cursor, and a cursor is reopened every 1,024 entries and
// closed once idle, so it never holds old tables and segments for long.
//
// FirstIndex and LastIndex are answered from memory: the bounds are found on
// open with one seek to the first and one to the last entry, and kept up to
// date by the writers; after a head or tail truncation one seek finds the new
// bound.
//
// # Keys
//
// Every key starts with a one-byte prefix, so the log, the stable store and
// the metadata never mix. A log key carries the index big-endian, so entries
// sort by index and a range of indexes is a range of keys. The other keys
// sort below the log: the log's keys only grow, so a table the engine
// flushes overlaps no older log table, and it moves down the tree by a
// MANIFEST edit instead of being merged (Options.Engine).
//
//	format        "Hformat" -> "strata-raftstore\x02"  (the name and the
//	                                                    format version; New
//	                                                    refuses any other)
//
//	stable key    +------+--------------------------------+
//	              | 'K'  | the caller's key, as given     |
//	              +------+--------------------------------+
//	               0x4B
//
//	log entry     +------+-------------------------------+
//	              | 'L'  | index, uint64 big-endian       |   9 bytes
//	              +------+-------------------------------+
//	               0x4C   8 bytes
//
// Example: the key of entry 258 is
//
//	4C 00 00 00 00 00 00 01 02
//
// Format 1, which stores written before format 2 keep, differs only in the
// metadata and stable keys, which sort above the log: "Mformat" ->
// "strata-raftstore\x01" and 'S' (0x53) + the caller's key. New opens such
// a store in its own format; it reads and writes its stable keys there.
//
// SetUint64 stores its value as 8 bytes big-endian; GetUint64 refuses a value
// of another length with an error wrapping lsm.ErrCorruption.
//
// # Log entries
//
// The value of a log key is the entry without its index (the key holds it):
//
//	+------+------+-------+-------------+--------------+------+
//	| 0x01 | type | flags | term        | data length  | data | ...
//	+------+------+-------+-------------+--------------+------+
//	 1 B    1 B    1 B     uvarint       uvarint        bytes
//
//	... +-------------+------------+-----------------+-------------------+
//	    | ext length  | extensions | AppendedAt secs | AppendedAt nanos  |
//	    +-------------+------------+-----------------+-------------------+
//	     uvarint       bytes        varint            uvarint (< 1e9)
//	     \_ present if flags & 0x01 _/ \____ present if flags & 0x02 ____/
//
//	byte 0   format version, 0x01; any other value is refused
//	byte 1   raft.LogType (0 command, 1 noop, 4 barrier, 5 configuration, ...)
//	byte 2   flags: 0x01 extensions follow (only when non-empty),
//	               0x02 AppendedAt follows (only when not the zero time);
//	               any other bit is refused
//	term     the entry's term
//	data     the entry's Data; length 0 reads back as nil
//	AppendedAt  seconds since 1970 (signed) and nanoseconds, read back as
//	            time.Unix(secs, nanos), in the local zone
//
// The encoding uses no reflection and no per-field tags: a command entry of
// term 3 with the 5-byte payload "hello" and no AppendedAt is 10 bytes:
//
//	01 00 00 03 05 68 65 6C 6C 6F
//	|  |  |  |  |  \_ "hello"
//	|  |  |  |  \_ data length 5
//	|  |  |  \_ term 3
//	|  |  \_ flags: none
//	|  \_ type 0, LogCommand
//	\_ version 1
//
// The same entry with AppendedAt 2024-01-02T03:04:05.000000006Z adds flag
// 0x02 and the tail CA F4 9B D9 0C 06 (seconds 1704164645 as a zig-zag
// varint, then nanoseconds 6).
//
// A decoder error (short input, bad varint, length past the end, unknown
// version or flag, nanoseconds out of range, trailing bytes) wraps
// lsm.ErrCorruption and names the index and the byte offset. The decoder has
// a fuzz target, FuzzDecodeLog.
//
// # Errors Raft depends on
//
// GetLog of an index not stored returns raft.ErrLogNotFound. Get and
// GetUint64 of a key never set return ErrKeyNotFound, whose message is
// exactly "not found": Raft compares the message with that string when it
// reads its current term and last vote (the behaviour raft-boltdb has).
package raftstore

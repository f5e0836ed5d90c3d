// Package compaction chooses what to compact (the leveled policy) and runs a
// compaction (merge the inputs, drop what no reader can see, split the
// output into tables).
//
// Who may use it: package lsm, which schedules compactions and commits
// their results, and tests or tools that ask what the policy would pick
// for a manifest.Version. Its exported API is self-contained (versions and
// table metadata from package manifest, keys from package keys), but a
// Compaction must only be Run by the owner of the DB's lock, since its
// inputs are marked compacting in that DB's version.
//
// # Levels
//
// L0 holds tables in flush order; they may overlap. L1..L6 each hold sorted,
// non-overlapping tables. L0 is read as a stack of sublevels
// (manifest.L0Sublevels): each L0 table sits one sublevel above the
// highest older L0 table it overlaps, so the tables of a sublevel do not
// overlap, and a read of one key looks at one table per sublevel at most.
// L0's depth, its number of sublevels, is its read amplification. A flush
// is cut into pieces at the base level's table boundaries, so the pieces of
// one flush share a sublevel and each lies over a few base-level tables:
//
//	base level:  [a....f] [g....m] [n....s] [t....z]
//	flush 3:     [a..........m] [n..q]  [u.....z]      sublevel 2
//	flush 2:     [b....f] [g..........s] [t....y]      sublevel 1
//	flush 1:     [a....f] [h....m] [n...........z]     sublevel 0
//
// Each level's target size is LevelMultiplier times the one above, and the
// targets are computed from the bottom up (dynamic level sizes): the bottom level L6 is the largest, so it holds about 90% of
// the data with the default multiplier of 10. The base level, where L0
// compacts into, is the highest level whose target is still at least
// BaseLevelSize; the levels above it stay empty. A small DB therefore
// compacts L0 straight into L6 and grows upward only as it needs to:
//
//	L6 holds 5 GiB; multiplier 10; BaseLevelSize 64 MiB:
//	  L6 target 5 GiB
//	  L5 target 512 MiB   <- base level: L0 compacts into L5
//	  (L4 would be 51 MiB, below 64 MiB, so L1..L4 stay empty)
//
// # Scores
//
// L0 scores its depth over L0CompactionTrigger, or, if more, the number of
// its tables that overlap no other L0 table nor the base level (a
// sequential load's flushes, side by side past the data below: they add
// no depth, and move down by a MANIFEST edit). lsm stalls writes by depth
// too (L0SlowdownWrites, L0StopWrites). A level from the base level down
// to L5 scores its size over its target; L6 is never compacted for size.
// The picker takes the highest score of at least 1.
//
// L0 never compacts past a level that holds data (its data is newer, and
// reads look top-down): if the DB shrank and the computed base level moved
// below a level that still holds data, that level is the base level, with a
// target below its size, until it drains.
//
// # Why a compaction runs
//
// Each Compaction carries its Reason, the word logs and lsm's
// CompactionInfo.Reason use:
//
//	L0      Pick: L0 scores 1 or more (its depth, its tables apart from
//	        everything, or the bytes its range tombstones cover below)
//	size    Pick: a level from the base level down to L5 scores 1 or more
//	        (its size, range tombstone coverage included, over its target)
//	ttl     PickTTL: a table whose expiring entries have all expired, or
//	        (above the bottom) whose entries are mostly tombstones
//	read    PickRead: reads keep paying for L0's overlap (LevelDB's
//	        seek-triggered compaction, for L0's deepest window)
//	manual  PickManual: DB.Compact
//	wal-values  PickRewrite: a table refers to values in a WAL segment
//	        whose tables now refer to less than half of what they did
//	        (lsm's Options.WALValueThreshold); the rewrite copies them in
//
// and its Kind: a rewrite, or a trivial move (L0, size and read only: a
// move keeps every entry, which ttl, manual and wal-values compactions
// exist to drop or copy).
//
// # Choosing inputs
//
// An L0 compaction (Pick) takes part of L0: the tables over a window of
// base-level tables, with every older L0 table they overlap, and the
// base-level tables all of those overlap. Reads stay correct because an L0
// table left behind that overlaps a taken one is newer than it, and reads
// look at L0 before the base level. The window starts at the base table
// with the most L0 tables over it (of equal depth, the most L0 bytes);
// window w runs from base table w's smallest key to base table w+1's, the
// cuts flushes are made at. It grows to its deeper neighbour while the
// compaction stays under 16 target files of input. A table is blocked, and
// so are the newer tables over it, while it is busy; a window whose base
// tables are busy, or whose key range meets that of a compaction running
// into the base level (PickConcurrent), is passed over for the next. Two
// L0 compactions of disjoint windows may therefore run at once. With the
// base level empty, every L0 table that is not blocked is taken. A read
// compaction (PickRead) picks a window the same way, if at least two L0
// tables lie over it; TTL and manual compactions of L0 (PickTTL,
// PickManual) take all of L0.
//
//	window [n, t): takes the tables over it, flush 3's [n..q], flush 2's
//	[g..........s] and flush 1's [n...........z], then flush 1's [h....m]
//	(older, under flush 2's), with the base tables [g....m] [n....s]
//	[t....z]; flush 3's [u.....z] and flush 2's [t....y] stay in L0: they
//	are newer than every taken table they overlap.
//
// A compaction of level n takes the table of level n whose overlap
// with level n+1 is smallest relative to its own size (the least write
// amplification), plus those overlapping tables. A table that overlaps
// nothing below moves by a MANIFEST edit alone (a trivial move), and so do
// L0 tables that overlap nothing below nor each other (a sequential load's
// flushes, each after the last), all at once. Inputs are
// widened to clean user-key boundaries, and no table is the input of two
// running compactions.
//
// # What a compaction keeps
//
// For each user key, the newest version, plus the newest version visible to
// each open snapshot. An expired value is rewritten as a tombstone (it must
// still shadow what is older). A tombstone is dropped when nothing older of
// its key can exist below the output level and no snapshot needs it to hide
// an older version this compaction keeps. Outputs are split at the target
// file size and where they would overlap too much of the level below the
// output level (the grandparents), always between two user keys.
//
// An input table whose user keys all lie in one fragment of the inputs'
// range tombstones, deleted by a tombstone newer than all its entries with
// no snapshot in between, holds nothing any reader can see: DropCovered
// takes it out of the inputs unread, and the edit deletes it with them.
package compaction

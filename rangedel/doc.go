// Package rangedel holds range tombstones: a DeleteRange(start, end) at
// sequence number s deletes every version below s of every user key in
// [start, end).
//
// Who may use it: Strata's engine packages (lsm, memtable, sstable,
// compaction) and tools that read tables. It is public because those
// packages' exported APIs hand a List in and out (a memtable's and a
// table's tombstones, a compaction's). A program that only stores keys uses
// lsm.DB.DeleteRange instead.
//
// Tombstones overlap freely when they are written. Readers and tables use
// them fragmented (Build): the key space is cut at every start and end, and
// each piece carries the sequence numbers of every tombstone covering it,
// newest first. Fragments do not overlap, so a reader finds the one
// covering a key by binary search, and the newest sequence number it may see
// (the first one at or below its own) decides: a version with a lower
// sequence number is deleted. Snapshots keep working because every sequence
// number is kept, not only the newest.
//
// Worked example: tombstones [b, f) #7 and [d, h) #5 fragment into
//
//	[b, d) {7}   [d, f) {7, 5}   [f, h) {5}
//
// A reader at sequence number 6 sees key "e" as covered by #5, one at 9 by
// #7, one at 4 by nothing.
//
// # Encoding (a table's range deletion block)
//
// A List is encoded as (uvarints are unsigned LEB128, as encoding/binary):
//
//	+----------------+-------------+-------------+-----+
//	| count uvarint  | fragment 0  | fragment 1  | ... |
//	+----------------+-------------+-------------+-----+
//
//	fragment:
//	+--------------+-------+------------+-----+-------------+--------------+
//	| len(start)   | start | len(end)   | end | n uvarint   | n sequence   |
//	| uvarint      |       | uvarint    |     | (>= 1)      | numbers,     |
//	|              |       |            |     |             | uvarint each |
//	+--------------+-------+------------+-----+-------------+--------------+
//
// Fragments are in key order and do not overlap (end <= next start), each
// has start < end, and its sequence numbers are strictly descending, each in
// [1, keys.MaxSeq). For the example above:
//
//	03                         3 fragments
//	01 62 01 64 01 07          "b" "d" {7}
//	01 64 01 66 02 07 05       "d" "f" {7, 5}
//	01 66 01 68 01 05          "f" "h" {5}
//
// The layout is part of the table format (see package sstable) and never
// changes.
//
// # Bounds of a table
//
// A table's smallest key may be a fragment start (with the fragment's newest
// sequence number and keys.KindRangeDelete) and its largest key the end of
// its last fragment as the sentinel keys.RangeDelSentinel, which sorts
// before every real version of that user key: the end is exclusive, so the
// next table of a level may start at it.
package rangedel

// Package batchrepr is the encoding of a batch as one WAL record ("repr"),
// shared by the DB (which writes and replays it) and kvctl (which dumps
// it). A batch's repr is encoded as its operations are added (the header
// and the expiries of entries with a TTL are written at commit); the commit
// writes it to the WAL and inserts the memtable entries from it (Reader),
// so it is never re-encoded.
//
// # Layout
//
// All fixed-width integers are little-endian; uvarints are unsigned LEB128
// (encoding/binary).
//
//	+-------------+---------------+-------------------------------+
//	| seq (8)     | count (4)     | count entries                 |
//	+-------------+---------------+-------------------------------+
//
//	entry, by kind (the first byte, a keys.Kind):
//	  0 DEL       | 00 | uvarint len(key)   | key   |
//	  1 SET       | 01 | uvarint len(key)   | key   | uvarint len(value) | value |
//	  2 SETX      | 02 | uvarint len(key)   | key   | uvarint len(value) | expiry (8) value |
//	  3 RANGEDEL  | 03 | uvarint len(start) | start | uvarint len(end)   | end   |
//
// The entries take the sequence numbers seq, seq+1, ... in order: each
// entry one, a range deletion included, however many keys it covers. A
// SETX value starts with its absolute expiry (Unix nanoseconds, int64 LE)
// and is at least 8 bytes long. A RANGEDEL deletes every version older than
// its own sequence number of every key in [start, end), and needs start <
// end (bytewise). The kinds are the wire constants of package keys; a
// reader that meets any other kind reports corruption.
//
// Worked example: seq 7, Put("a", "x") then DeleteRange("b", "d"):
//
//	07 00 00 00 00 00 00 00   seq 7
//	02 00 00 00               count 2
//	01 01 61 01 78            SET "a" = "x"         (seq 7)
//	03 01 62 01 64            RANGEDEL ["b", "d")   (seq 8)
//
// A WAL written before range deletions existed holds only kinds 0-2 and
// reads the same. This layout is part of the on-disk format (every WAL
// record is one) and never changes.
package batchrepr

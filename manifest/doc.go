// Package manifest keeps track of which tables are live at which level: the
// Version, the VersionEdit that turns one version into the next, the
// MANIFEST log the edits are recorded in, and the CURRENT file that names
// the live MANIFEST.
//
// Who may use it: package lsm, which owns the VersionSet of an open DB;
// package compaction, whose pickers read a Version; and tools that read a
// DB directory offline, such as kvctl dump. It is public
// because compaction's exported API takes a Version and FileMetas. Writing
// edits to a DB that another process has open corrupts it: only the
// owner of the DB's lock may call LogAndApply. File names (Filename,
// MakeFilename, ParseFilename) are built here and only here.
//
// # Files of a DB directory
//
// One counter, NextFileNum, numbers WAL segments, tables and MANIFESTs, so a
// number names at most one file:
//
//	000012.log        WAL segment 12
//	000013.sst        table 13
//	MANIFEST-000014   MANIFEST 14
//	000014.tmp        a file being written before an atomic rename
//	CURRENT           "MANIFEST-000014\n": the live MANIFEST
//	LOCK              held while the DB is open
//
// Numbers are printed with at least six digits; ParseFilename accepts only
// the canonical form.
//
// # Versions
//
// A Version lists the tables of each of the NumLevels (7) levels. L0 holds
// tables in flush order, by LargestSeq ascending (oldest first; ties by file
// number); their key ranges may overlap. Each of L1..L6 is sorted by
// smallest key, and a level's tables do not overlap in user keys: a table's
// largest user key is strictly below the next table's smallest, so a user
// key lives in at most one table per level and a Get reads one table per
// level (Version.FindFile). Compaction outputs must never split one user
// key's versions across two tables of a level.
//
// Versions are immutable and reference counted: applying an edit makes a
// new version sharing unchanged level slices and every FileMeta. A table
// may be deleted only when no referenced version holds it
// (VersionSet.LiveFiles).
//
// # Version edit encoding
//
// An edit is a sequence of tagged fields, each a uvarint tag followed by its
// payload. Deletions apply before additions, so one edit can move a table
// between levels. Zero counters are omitted (zero means unchanged).
//
//	+-----+---------+-----+---------+-- ... --+-----+---------+
//	| tag | payload | tag | payload |         | tag | payload |
//	+-----+---------+-----+---------+-- ... --+-----+---------+
//
//	tag  field         payload
//	  1  LogNum        uvarint (WAL segments below it are obsolete)
//	  2  NextFileNum   uvarint
//	  3  LastSeq       uvarint (<= keys.MaxSeq)
//	  4  DeletedFile   uvarint level, uvarint file number
//	  5  NewFile       uvarint level, uvarint file number, uvarint size,
//	                   uvarint len + smallest internal key,
//	                   uvarint len + largest internal key,
//	                   uvarint smallest seq, uvarint largest seq,
//	                   varint earliest expiry, varint latest expiry (Unix ns),
//	                   uvarint entries, uvarint deletions
//	>=64 reserved      uvarint len + bytes: skipped by a reader that does not
//	                   know the tag (for fields an older reader may ignore)
//
// The tags are part of the on-disk format and never change. Any other
// unknown tag, a repeated tag 1-3, a level >= 7, file number 0, a key
// shorter than the 8-byte trailer, a length running past the end or a
// truncated varint is corruption. Decode checks every length against the
// bytes left before slicing or allocating, and copies keys out of the input.
//
// A worked example: the edit that sets LogNum 9 and LastSeq 20, deletes
// table 5 from L0 and adds table 7 (4096 bytes, keys "ab"#20 SET to
// "cd"#10 DEL, seqs 10-20, 300 entries, 2 deletions) to L1:
//
//	01 09                      LogNum = 9
//	03 14                      LastSeq = 20
//	04 00 05                   DeletedFile L0 #5
//	05 01 07 80 20             NewFile L1 #7, size 4096
//	   0a 61 62 01 14 00 00 00 00 00 00   smallest "ab" + trailer (20<<8 | SET)
//	   0a 63 64 00 0a 00 00 00 00 00 00   largest  "cd" + trailer (10<<8 | DEL)
//	   0a 14                   seqs 10..20
//	   00 00                   no expiring entries
//	   ac 02 02                300 entries, 2 deletions
//
// # The MANIFEST log
//
// A MANIFEST is a log in the record format of package wal (32 KiB blocks,
// CRC-32C checksummed chunks, the wal file header). Its records are:
//
//	+------------------------------+----------------------+--------+--------+--
//	| header: "STRATAMF" | version | snapshot edit        | edit 1 | edit 2 | ...
//	|  8 bytes           | u32 LE  | (the whole version)  |        |        |
//	+------------------------------+----------------------+--------+--------+--
//
// The header record carries the magic "STRATAMF" and the format version
// (1); both are part of the on-disk format and never change. The second
// record is a snapshot: an edit adding every table of the version, with
// LogNum, NextFileNum and LastSeq. Replaying the records in order from an
// empty version gives the current version and counters.
//
// # CURRENT
//
// CURRENT holds the name of the live MANIFEST followed by a newline:
// "MANIFEST-000014\n". A CURRENT that is missing, lacks the newline, holds
// anything else or names a missing file is corruption.
//
// # Crash safety
//
//   - Every edit is appended and fsynced before LogAndApply installs it, so
//     nothing acts on an edit that could vanish. Callers create, fsync and
//     directory-fsync a table or WAL segment before an edit names it, and
//     delete a file only after the edit that obsoletes it was acknowledged.
//   - A new MANIFEST (at Create, after Recover, and when the MANIFEST grows
//     past MaxManifestSize) is written in full, fsynced and its directory
//     fsynced before CURRENT names it; CURRENT is replaced atomically (write
//     NNNNNN.tmp, fsync, rename over CURRENT, fsync the directory); only
//     then is the old MANIFEST removed. A crash at any point leaves CURRENT
//     naming a whole MANIFEST.
//   - A write or fsync failure is latched: the MANIFEST's state on disk is
//     unknown, so every later LogAndApply fails until the DB is reopened.
//   - At recovery a torn or damaged last record (a crash during its write)
//     is dropped only if the version recovered without it is whole: every
//     table exists with its recorded size and the WAL segment LogNum names
//     exists. If not, the damage hit an acknowledged edit whose effects (a
//     deleted WAL, deleted tables) are already on disk, and dropping it would
//     lose data silently: that is corruption, naming the MANIFEST and the
//     record's offset. Damage anywhere before the last record, a damaged
//     header or snapshot, and an edit that does not apply are corruption too.
//   - Recovery marks every file number found in the directory as used, so a
//     WAL segment created before the edit naming it is never overwritten.
package manifest

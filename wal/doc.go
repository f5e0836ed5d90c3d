// Package wal implements Strata's log format: the write-ahead log, and the
// record framing the MANIFEST reuses. A Writer frames records into chunks in
// memory and hands them to the file with one Write per Flush; a Reader reads
// them back and tells a torn tail (the mark of a crash) from corruption.
//
// Who may use it: package lsm (the WAL), package manifest (the MANIFEST,
// which is a log of this format), and tools that read either offline. It
// frames opaque records; what a record holds is its user's format. The
// framing is the only one in Strata: nothing else writes chunk headers.
//
// # File layout
//
// A log is a sequence of 32 KiB blocks; the last one may be short. A record
// is stored as one or more chunks, and a chunk never crosses a block
// boundary. When fewer than 7 bytes (a chunk header) remain in a block, they
// are zero padding and the next chunk starts the next block.
//
//	 offset 0                                                   32768
//	+------------+---------+---------+-------+--------------------+
//	| hdr chunk  | chunk   | chunk   |  ...  | chunk (first) |pad |  block 0
//	+------------+---------+---------+-------+--------------------+
//	| chunk (middle: fills the whole block)                       |  block 1
//	+-------------------------------------------------------------+
//	| chunk (last) | chunk (full) | ...                              block 2 (short)
//	+-----------------------------+
//
// Every chunk is a 7-byte header followed by its payload:
//
//	+----------+----------+------+-------------------------+
//	| CRC (4)  | len (2)  | type | payload (len bytes)     |
//	+----------+----------+------+-------------------------+
//	  uint32 LE  uint16 LE  uint8
//
// CRC is the CRC-32C (Castagnoli) of the type byte followed by the payload,
// masked as LevelDB does: ((c >> 15) | (c << 17)) + 0xa282ead8 (mod 2^32).
// Masking keeps the checksum of data that itself holds checksums from being
// degenerate. The chunk types are:
//
//	0  zero         never written by the writer: preallocated or lost bytes
//	1  full         a whole record
//	2  first        the first fragment of a record that spans chunks
//	3  middle       an interior fragment
//	4  last         the final fragment
//	5  file header  the chunk at offset 0, and only there
//
// A record of n bytes is cut into as many chunks as it needs; an empty record
// is one full chunk of length 0. If exactly 7 bytes remain in a block, a
// record starts there with a first chunk of length 0.
//
// # File header
//
// Every log starts with a file header chunk (type 5, 19 bytes in all) whose
// 12-byte payload is the magic "STRATLOG" followed by the format version,
// uint32 LE, currently 1. Being a chunk, it is covered by a checksum and read
// by the same code as every other chunk. A log with a different magic or
// version is reported as corruption.
//
// # Worked example
//
// A log holding the single record "hello" is 31 bytes:
//
//	offset  bytes                                        meaning
//	0       5d 22 d4 10  0c 00  05                       header chunk: CRC, len 12, type 5
//	7       53 54 52 41 54 4c 4f 47  01 00 00 00          "STRATLOG", version 1
//	19      0b b9 57 58  05 00  01                       chunk: CRC, len 5, type 1 (full)
//	26      68 65 6c 6c 6f                               "hello"
//
// A 40,000-byte record appended to that log starts at offset 31 as a first
// chunk carrying 32,730 bytes (32768 - 31 - 7), and ends with a last chunk at
// offset 32768 carrying the remaining 7,270 bytes. A record that would start
// at offset 32763 (5 bytes before the block end) starts at 32768 instead, after
// 5 zero bytes of padding.
//
// # Torn tail or corruption
//
// Next returns io.EOF when the file ends at a chunk boundary, or when every
// byte from a chunk boundary to the end of the file is zero (a preallocated
// or zero-extended file), provided no record is left incomplete.
//
// A chunk is bad when its checksum does not match, its length runs past the
// end of its block or of the file, its type is unknown, it is a middle or last
// chunk without a first, or it is a non-zero block padding or a header cut by
// the end of the file. For a bad chunk the reader scans the rest of the file
// for a valid record start: a full or first chunk whose checksum matches.
//
//   - If there is none, the damage is a torn tail: Next returns a *TornError
//     (wrapping ErrTorn) whose Offset is where the intact prefix ends.
//   - If there is one, acknowledged data lies beyond the damage: Next returns
//     an error wrapping keys.ErrCorruption naming the file and the bad
//     chunk's offset.
//
// Only valid record starts count as evidence. Valid middle or last chunks
// after the damage can only belong to the damaged record itself (no record
// starts after it), and that record is the last one, so losing it is a torn
// tail.
//
// The scan rule. Bytes inside a chunk's payload are the user's and may hold
// anything, even a copy of a valid chunk, so the scan avoids reading them as
// chunks where it can. In the bad chunk's own block:
//
//   - if the chunk's checksum matches once one bit of its length field is
//     flipped back, the length was the damaged part: scan from the repaired
//     end of the chunk;
//   - else, if the stored length fits the file, scan from the chunk's end;
//   - else, if the chunk fits its block but the file ends inside it, it was
//     cut short (a truncated tail): nothing follows it in this block;
//   - else (a length no writer produces, non-zero padding, a cut header)
//     scan from the byte after the bad chunk's start.
//
// Scanning tries every byte position. In each later block, chunk headers are
// followed from the block's start, since a writer starts a chunk at every
// block boundary, for as long as their lengths fit the block.
//
// So truncation at any offset is never corruption, and a single flipped bit
// anywhere is always detected and classed exactly (torn when it lies in the
// last record, corruption before it). What the rule cannot class exactly is
// a length field garbled in several bits: valid records later in the same
// block may then be missed (a torn tail is reported, and a caller that knows
// the log was synced past the torn offset must treat it as corruption), or,
// when the garbled length is impossible, a chunk copied inside a payload may
// be taken for one.
//
// A zeroed chunk header (7 zero bytes) followed by anything but zeros is a
// torn tail, whatever follows: the operating system may write a file's pages
// out of order, so a crash can leave a zero-filled gap before later data.
// A first or middle chunk followed by a valid full or first chunk is
// corruption. A file that ends, or turns to zeros, inside a record is a torn
// tail.
//
// Recovery treats ErrTorn as the end of the log only for the newest WAL
// segment, and as corruption anywhere else; that decision is the caller's.
//
// Reader.End is where the intact prefix read so far ends; the file cut
// there is a whole log. Reader.Skip resumes after corruption at the valid
// record start the scan found, so a repair can count the records it drops;
// recovery never skips.
//
// # Writing
//
//	w := wal.NewWriter(f)
//	_ = w.AddRecord(batch) // frames into memory
//	if err := w.Flush(); err != nil { // one Write: the bytes reach the OS
//		return err // latched: every later call fails too
//	}
//	err := w.Sync() // fsync; may run concurrently from a background syncer
//
// A record that takes the buffer past 1 MiB is handed to the file in pieces
// of about 1 MiB while AddRecord frames it, so the buffer stays that size
// whatever the record's: a record of many megabytes costs no allocation of
// its size. A crash in the middle leaves a torn tail, as a torn write does.
//
// # Reading a record's bytes in place
//
// The chunk layout is a function of where a record starts: its first chunk
// runs to the end of that block, and every later chunk starts a block. So
// byte i of a record that starts at offset s lies at PayloadOffset(s, i),
// and ReadPayload reads a run of a record's bytes with one positioned read
// of the span, cutting out the chunk headers at the block starts inside it.
// It checks no chunk checksum (the run is part of a chunk's payload): the
// caller keeps a checksum of the bytes it will read. Strata's engine keeps
// large values in the segment that logged them this way.
//
// NewMappedWriter writes a WAL segment through a shared memory mapping of the
// file, preallocated (fallocate) to about a memtable's worth: Flush is then a
// memory copy into the page cache instead of a write system call. The bytes
// are the OS's either way, so they survive a crash of the process; Sync makes
// them durable. The file's preallocated tail is zeros, which read as a clean
// end of the log, and Close cuts it off. A file that cannot be mapped falls
// back to write(2). A flush of 4 KiB or more (a large batch, a big commit
// group) goes to the file with pwrite(2) at the log's end instead: the
// first store to each page of a shared mapping is a page fault, which costs
// more than the system call once a flush spans a page, and pages written so
// are not mapped into the process, so they do not swell its resident set.
// For the same reason a mapped writer drops the pages behind the log's end
// from the process every 1 MiB it copies (madvise MADV_DONTNEED; their
// bytes stay in the page cache): the process keeps about 1 MiB of each
// segment mapped, not the segment.
//
// Writer.ZeroAhead makes a writer write zeros into its file a few MiB past
// the log's end, once the log has been synced often and little (64 syncs
// or more, under a given size a sync on average): preallocated blocks are
// marked unwritten, and the fsync after the first write into one commits
// the change to the filesystem's journal, where an fsync of bytes that
// overwrite written blocks flushes the data alone. The zeros read as the
// log's clean end, as a preallocated tail does.
package wal

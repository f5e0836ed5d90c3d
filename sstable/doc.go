// Package sstable implements Strata's on-disk sorted table: an immutable file
// of internal keys (see package keys) and their values, in keys.Compare
// order, with an index, a bloom filter and properties.
//
// A Writer builds a table sequentially; a Reader opens it from an
// io.ReaderAt, answers point lookups (Get) and hands out two-level
// Iterators; a Cache holds uncompressed data blocks shared by every reader;
// a TableCache keeps a bounded number of readers open.
//
// Who may use it: package lsm (flushes, compactions, reads; it writes a
// compaction's output tables behind compaction.Output), and tools that read
// tables offline, such as kvctl dump. Its exported API is self-contained: keys, sequence numbers and
// tombstone lists come from the public packages keys and rangedel.
//
// # File layout
//
//	+--------------------+  offset 0
//	| data block 0       |  entries, prefix-compressed, maybe compressed
//	| trailer (5 bytes)  |
//	+--------------------+
//	| data block 1       |
//	| trailer            |
//	+--------------------+
//	| ...                |
//	+--------------------+  Properties.DataSize
//	| filter block       |  absent when BloomBitsPerKey < 0
//	| trailer            |
//	+--------------------+
//	| index block        |  one entry per data block
//	| trailer            |
//	+--------------------+
//	| range del block    |  format version 2 only: the range tombstones
//	| trailer            |
//	+--------------------+
//	| properties block   |
//	| trailer            |
//	+--------------------+  file size - 64
//	| footer (64 bytes)  |
//	+--------------------+
//
// The blocks lie back to back, in this order, with no padding: every byte of
// the file belongs to a block, a trailer or the footer, and is covered by a
// CRC-32C (Castagnoli).
//
// # Block trailer
//
// Every block is followed by a 5-byte trailer:
//
//	+------------------+--------------------------------------------+
//	| compression (1)  | CRC-32C of (stored block bytes, compression |
//	|                  | byte), uint32 little-endian (4)             |
//	+------------------+--------------------------------------------+
//
// Compression values (wire constants, never change):
//
//	0  none    the block as built
//	1  snappy  the Snappy block format (written with klauspost/compress/s2's
//	           Snappy-compatible encoder, read with github.com/golang/snappy)
//	2  zstd    a single github.com/klauspost/compress/zstd frame, with
//	           its content size in the frame header
//
// A compressed block that does not save at least 1/8 of its size is stored
// uncompressed. Only data blocks are ever compressed; the filter, index,
// range deletion and properties blocks are always stored with compression 0. A block handle
// (offset, length) names the stored bytes, trailer excluded; in the index it
// is encoded as two uvarints.
//
// # Blocks
//
// Data and index blocks share one format (all integers little-endian):
//
//	+---------+---------+-----+-----------+-----------+-----+----------+
//	| entry 0 | entry 1 | ... | restart 0 | restart 1 | ... | count    |
//	|         |         |     | uint32    | uint32    |     | uint32   |
//	+---------+---------+-----+-----------+-----------+-----+----------+
//
//	entry:
//	+-------------+---------------+-------------+-------------+-------+
//	| shared      | unshared      | value len   | key suffix  | value |
//	| uvarint     | uvarint       | uvarint     | (unshared)  |       |
//	+-------------+---------------+-------------+-------------+-------+
//
// An entry's key is the first "shared" bytes of the previous entry's key
// followed by its suffix. Every RestartInterval-th entry (16 by default) is a
// restart point: it stores its whole key (shared = 0) and its offset is
// listed in the restart array, which a seek binary-searches before scanning
// forward. An empty block is just a count of 0. A data block is cut when its
// size reaches BlockSize (4096 by default).
//
// Worked example, restart interval 2, keys shown by user key and trailer
// (seq 5 SET is the trailer 01 05 00 00 00 00 00 00):
//
//	key                   shared unshared  bytes stored for the key
//	"apple"    #5 SET     0      13        "apple" 01 05 00 00 00 00 00 00  (restart 0)
//	"applet"   #4 SET     5      9         "t" 01 04 00 00 00 00 00 00
//	"apply"    #9 DEL     0      13        "apply" 00 09 00 ...             (restart 1)
//	"apricot"  #2 SET     2      13        "ricot" 01 02 00 ...
//
// The restart array is then [0, offset of "apply"] and the count 2.
//
// The index block has one entry per data block, in order. Its key is an
// internal key >= every key of the block and < every key of the next block,
// shortened where possible: the last key "the quick" #7 of a block followed
// by "the who" #3 gives the user key "the r" with the trailer
// (keys.MaxSeq, keys.KindMax), which sorts before every real version of
// "the r". The last block's key may be a short successor ("the quick" gives
// "u"). When no shorter key fits, the block's last key is used as is. Its
// value is the block handle. The data blocks tile the data region: block i+1
// starts where block i's trailer ends.
//
// Reader cache form: data blocks are cached decompressed, in their on-disk
// form; a seek in one binary-searches the restart points, then decodes at
// most a restart interval of entries, rebuilding keys in the iterator's
// buffer. The index, read once per table open and searched by every Get, is
// checked entry by entry and rewritten in memory with a restart point at
// every entry (the same format with restart interval 1, and bit 31 of the
// restart count set to say so; that bit is never set in a file, where it is
// corruption), so its search is a binary search over whole keys. Beside it
// the reader keeps, per index entry, the 8 bytes of its user key that
// follow the prefix all index keys share (the last excepted), as a
// big-endian number: a seek binary-searches that dense array and compares
// whole keys only among entries with the same 8 bytes (none or one, on
// keys that differ there), touching far less memory than a search over the
// entries themselves. An index
// whose expanded form would exceed 8 times its size plus 4 KiB (long keys
// sharing long prefixes) stays in its on-disk form. Data blocks were once
// expanded the same way; on a data set larger than the cache that cost more
// on every miss (a pass over the block and a bigger cache entry) than it
// saved on hits. An iterator from NewCompactionIter uses cached blocks but
// adds none: a compaction reads every block of tables it is about to delete.
//
// The expanded index (with its block handles and prefixes), a point index
// made from it (per data block the 8-byte prefix and the block's end: 12
// bytes, against about 50 for the expanded index) and the filter block are
// block cache entries of their own, keyed by their block's offset (the
// point index by the index block's plus one). The filter is kept as
// stored, in the cache's memory outside the Go heap as a data block is, and
// probed in place under a reference; the indexes are Go values. Point
// reads and iterators find their block by the point index. A target whose
// prefix equals an index key's (a tie) needs the whole keys: a point read
// or an iterator's SeekGE uses the expanded index if the cache holds it or
// more than two blocks tie, and otherwise seeks the data blocks from the
// tied one on (at most four); SeekLT reads the expanded index. Opening a
// table caches its point index alone (the whole index only for a table
// without one); a compaction's input iterator evicts its table's indexes
// when it closes (Iterator.DropPartsOnClose), the table being about to go.
// Eviction passes over an
// unused point index twice more than over a data block, over a filter once
// more, over the expanded index as over a data block. When the metadata of
// every table does not fit in the cache, a read that misses a part re-reads
// that block alone and the table's reader stays open; a filter is read
// again only after as many reads of the table went without it as it has
// data blocks' worth of bytes. A part too large for a cache shard stays
// with the reader, charged to the cache.
//
// Reads: a cache miss reads its one block with one positioned read. An
// iterator reading a table's blocks in file order reads ahead instead: a
// compaction's iterators read 64 KiB of whole blocks at a time from the
// first miss; other iterators, after four blocks read in order, 32 KiB
// doubling to 256 KiB (a short scan reads exactly its blocks). Blocks taken
// from the readahead buffer are checked, decompressed and cached as any
// other; the buffer is dropped when the iterator closes.
//
// # Filter block
//
//	+-------------------+------------------+-----------------------------+
//	| m bits, uint64    | k hashes, uint32 | ceil(m/64) words, uint64 LE |
//	+-------------------+------------------+-----------------------------+
//
// The bits of a github.com/bits-and-blooms/bloom/v3 filter with m bits and k
// hash functions (m = keys*BloomBitsPerKey, at least 64; k =
// round(ln2*BloomBitsPerKey), 1..30) over every distinct user key of the
// table and, with WriterOptions.Prefix, every distinct prefix it returns. The
// reader checks that the block holds exactly ceil(m/64) words, and that
// 1 <= k <= 64, before it allocates anything.
//
// # Range deletion block
//
// A table holding range tombstones (DeleteRange) has a range deletion block
// between the index and the properties, and format version 2 in its footer;
// a table without any is written exactly as before, format version 1, and a
// reader reads both. The block is the encoding of a rangedel.List (see
// package rangedel for the byte layout and a worked example): the
// tombstones fragmented, so that fragments do not overlap and each carries
// the sequence numbers of every tombstone over it, newest first. Overlapping
// tombstones resolve by sequence number, and a snapshot reader picks the
// newest one it may see. The properties locate the block (RangeDelOffset,
// RangeDelSize with its trailer) and count its tombstones; the reader checks
// that it lies exactly between the index and the properties, that its
// checksum holds, that it decodes with every invariant, and that the count
// matches, and keeps the list in memory for the reader's life. Data blocks
// never hold range tombstones (kind keys.KindRangeDelete is invalid there);
// the table's bounds in the MANIFEST include the tombstones' extents.
//
// Worked example: a table with the point key "a" and DeleteRange("b", "f")
// at sequence number 7 has, after its index, the block
//
//	01 01 62 01 66 01 07        1 fragment: "b" "f" {7}
//	00 xx xx xx xx              trailer: compression 0, CRC-32C
//
// and the properties 19 = 1, 20 = its offset, 21 = 11.
//
// # Properties block
//
// A sequence of tagged fields: a uvarint tag (id<<3 | wire type) followed by
// a uvarint (wire type 0), a zigzag varint (1), or a uvarint length and that
// many bytes (2). Readers skip ids they do not know. The ids (wire
// constants):
//
//	id  field           wire type  meaning
//	1   NumEntries      uvarint    entries of every kind
//	2   NumDeletions    uvarint    KindDelete entries
//	3   NumExpiring     uvarint    KindSetExpiry entries
//	4   RawKeySize      uvarint    sum of internal key lengths
//	5   RawValueSize    uvarint    sum of value lengths
//	6   SmallestKey     bytes      first internal key
//	7   LargestKey      bytes      last internal key
//	8   SmallestSeq     uvarint
//	9   LargestSeq      uvarint
//	10  EarliestExpiry  varint     Unix nanos; 0 when no KindSetExpiry
//	11  LatestExpiry    varint     Unix nanos; 0 when no KindSetExpiry
//	12  DataSize        uvarint    bytes of data blocks with trailers
//	13  IndexSize       uvarint    bytes of the index block with trailer
//	14  FilterSize      uvarint    bytes of the filter block with trailer
//	15  NumDataBlocks   uvarint
//	16  Compression     uvarint    the writer's data block compression
//	17  CreationTime    varint     Unix nanos
//	18  MaxBlockSize    uvarint    largest uncompressed data block
//	19  NumRangeDels    uvarint    range tombstones (per fragment and seq)
//	20  RangeDelOffset  uvarint    offset of the range deletion block
//	21  RangeDelSize    uvarint    its size, trailer included
//
// Fields 19-21 are written only with a range deletion block (format version
// 2); in a version 1 table they are corruption.
//
// MaxBlockSize, the largest uncompressed data block, bounds every
// decompression: a block that claims to decompress to more is corrupt.
//
// # Footer
//
//	offset  size  field
//	 0      8     index block offset       uint64 LE
//	 8      8     index block length       uint64 LE
//	16      8     filter block offset      uint64 LE  (0, 0: no filter)
//	24      8     filter block length      uint64 LE
//	32      8     properties block offset  uint64 LE
//	40      8     properties block length  uint64 LE
//	48      4     format version           uint32 LE: 1, or 2 with a range
//	                                       deletion block
//	52      8     magic                    f7 73 74 72 61 74 61 5b ("\xf7strata[")
//	60      4     CRC-32C of bytes 0..59   uint32 LE
//
// # Errors
//
// Every checksum or format failure, wherever it is found (NewReader, Get,
// an Iterator, Verify), is an error wrapping keys.ErrCorruption whose
// message names the file and the byte offset of the damaged block. No
// content, however damaged, makes the reader panic, read out of range, or
// allocate more than the file size (or, for a compressed block,
// MaxBlockSize).
package sstable

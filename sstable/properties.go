package sstable

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/stratadb/strata/keys"
)

// Properties describe a table. They are stored in the table's properties
// block and returned by Writer.Finish and Reader.Properties.
type Properties struct {
	NumEntries     uint64      // entries of every kind
	NumDeletions   uint64      // KindDelete entries
	NumExpiring    uint64      // KindSetExpiry entries
	RawKeySize     uint64      // sum of the internal key lengths
	RawValueSize   uint64      // sum of the value lengths
	SmallestKey    []byte      // first internal key (nil for an empty table)
	LargestKey     []byte      // last internal key (nil for an empty table)
	SmallestSeq    keys.SeqNum // smallest sequence number of any entry
	LargestSeq     keys.SeqNum // largest sequence number of any entry
	EarliestExpiry int64       // smallest expiry (Unix nanos) of KindSetExpiry values; 0 when none
	LatestExpiry   int64       // largest expiry (Unix nanos) of KindSetExpiry values; 0 when none
	DataSize       uint64      // bytes of data blocks, trailers included
	IndexSize      uint64      // bytes of the index block, trailer included
	FilterSize     uint64      // bytes of the filter block, trailer included (0: no filter)
	NumDataBlocks  uint64      // number of data blocks
	Compression    Compression // the compression the writer was asked for
	CreationTime   int64       // when the writer finished, Unix nanos
	MaxBlockSize   uint64      // largest uncompressed data block; bounds decompression
	// NumRangeDeletions counts the range tombstones of the range deletion
	// block (one per fragment and sequence number); RangeDelOffset and
	// RangeDelSize locate that block (its size with trailer). All 0 for a
	// table without one.
	NumRangeDeletions uint64
	RangeDelOffset    uint64
	RangeDelSize      uint64
	// FileSize is the size of the table file. It is not stored in the
	// properties block: Finish and NewReader fill it in.
	FileSize uint64
}

// Property field tags: tag = id<<3 | wire type. Part of the on-disk format;
// they never change. A reader skips ids it does not know, so new
// properties can be added with new ids.
//
//	wire type 0: uvarint
//	wire type 1: zigzag varint (signed)
//	wire type 2: uvarint length, then that many bytes
const (
	wireUvarint = 0
	wireVarint  = 1
	wireBytes   = 2

	propNumEntries     = 1
	propNumDeletions   = 2
	propNumExpiring    = 3
	propRawKeySize     = 4
	propRawValueSize   = 5
	propSmallestKey    = 6
	propLargestKey     = 7
	propSmallestSeq    = 8
	propLargestSeq     = 9
	propEarliestExpiry = 10
	propLatestExpiry   = 11
	propDataSize       = 12
	propIndexSize      = 13
	propFilterSize     = 14
	propNumDataBlocks  = 15
	propCompression    = 16
	propCreationTime   = 17
	propMaxBlockSize   = 18
	// Format version 2 (tables with a range deletion block):
	propNumRangeDels = 19
	propRangeDelOff  = 20
	propRangeDelSize = 21
)

// propWireType returns the wire type of a known property id.
func propWireType(id uint64) (wt uint64, known bool) {
	switch id {
	case propSmallestKey, propLargestKey:
		return wireBytes, true
	case propEarliestExpiry, propLatestExpiry, propCreationTime:
		return wireVarint, true
	}
	return wireUvarint, id >= propNumEntries && id <= propRangeDelSize
}

func (p *Properties) encode() []byte {
	var b []byte
	u := func(id int, v uint64) {
		b = binary.AppendUvarint(b, uint64(id)<<3|wireUvarint)
		b = binary.AppendUvarint(b, v)
	}
	s := func(id int, v int64) {
		b = binary.AppendUvarint(b, uint64(id)<<3|wireVarint)
		b = binary.AppendVarint(b, v)
	}
	bs := func(id int, v []byte) {
		b = binary.AppendUvarint(b, uint64(id)<<3|wireBytes)
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	u(propNumEntries, p.NumEntries)
	u(propNumDeletions, p.NumDeletions)
	u(propNumExpiring, p.NumExpiring)
	u(propRawKeySize, p.RawKeySize)
	u(propRawValueSize, p.RawValueSize)
	bs(propSmallestKey, p.SmallestKey)
	bs(propLargestKey, p.LargestKey)
	u(propSmallestSeq, uint64(p.SmallestSeq))
	u(propLargestSeq, uint64(p.LargestSeq))
	s(propEarliestExpiry, p.EarliestExpiry)
	s(propLatestExpiry, p.LatestExpiry)
	u(propDataSize, p.DataSize)
	u(propIndexSize, p.IndexSize)
	u(propFilterSize, p.FilterSize)
	u(propNumDataBlocks, p.NumDataBlocks)
	u(propCompression, uint64(p.Compression))
	s(propCreationTime, p.CreationTime)
	u(propMaxBlockSize, p.MaxBlockSize)
	if p.RangeDelSize != 0 {
		u(propNumRangeDels, p.NumRangeDeletions)
		u(propRangeDelOff, p.RangeDelOffset)
		u(propRangeDelSize, p.RangeDelSize)
	}
	return b
}

// decodeProperties decodes a properties block whose checksum has been
// verified; off is the block's file offset.
func decodeProperties(b []byte, name string, off int64) (Properties, error) {
	var p Properties
	pos := 0
	bad := func(format string, args ...any) (Properties, error) {
		return Properties{}, keys.CorruptionError(name, off, "properties byte %d: "+format, append([]any{pos}, args...)...)
	}
	for pos < len(b) {
		tag, n := binary.Uvarint(b[pos:])
		if n <= 0 {
			return bad("bad tag")
		}
		pos += n
		id, wt := tag>>3, tag&7
		var uv uint64
		var sv int64
		var bv []byte
		switch wt {
		case wireUvarint:
			uv, n = binary.Uvarint(b[pos:])
		case wireVarint:
			sv, n = binary.Varint(b[pos:])
		case wireBytes:
			var l uint64
			l, n = binary.Uvarint(b[pos:])
			if n > 0 {
				if l > uint64(len(b)-pos-n) {
					return bad("field %d of %d bytes overruns the block", id, l)
				}
				bv = append([]byte(nil), b[pos+n:pos+n+int(l)]...)
				n += int(l)
			}
		default:
			return bad("field %d has unknown wire type %d", id, wt)
		}
		if n <= 0 {
			return bad("bad value of field %d", id)
		}
		pos += n
		if w, known := propWireType(id); known && w != wt {
			return bad("field %d has wire type %d", id, wt)
		}
		switch id {
		case propNumEntries:
			p.NumEntries = uv
		case propNumDeletions:
			p.NumDeletions = uv
		case propNumExpiring:
			p.NumExpiring = uv
		case propRawKeySize:
			p.RawKeySize = uv
		case propRawValueSize:
			p.RawValueSize = uv
		case propSmallestKey:
			p.SmallestKey = bv
		case propLargestKey:
			p.LargestKey = bv
		case propSmallestSeq:
			p.SmallestSeq = keys.SeqNum(uv)
		case propLargestSeq:
			p.LargestSeq = keys.SeqNum(uv)
		case propEarliestExpiry:
			p.EarliestExpiry = sv
		case propLatestExpiry:
			p.LatestExpiry = sv
		case propDataSize:
			p.DataSize = uv
		case propIndexSize:
			p.IndexSize = uv
		case propFilterSize:
			p.FilterSize = uv
		case propNumDataBlocks:
			p.NumDataBlocks = uv
		case propCompression:
			if uv > uint64(CompressionZstd) {
				return bad("unknown compression %d", uv)
			}
			p.Compression = Compression(uv)
		case propCreationTime:
			p.CreationTime = sv
		case propMaxBlockSize:
			if uv > maxBlockLimit {
				return bad("largest block of %d bytes exceeds the limit of %d", uv, maxBlockLimit)
			}
			p.MaxBlockSize = uv
		case propNumRangeDels:
			p.NumRangeDeletions = uv
		case propRangeDelOff:
			p.RangeDelOffset = uv
		case propRangeDelSize:
			p.RangeDelSize = uv
		}
	}
	if len(p.SmallestKey) == 0 {
		p.SmallestKey = nil
	}
	if len(p.LargestKey) == 0 {
		p.LargestKey = nil
	}
	return p, nil
}

// String renders the properties one "name: value" per line.
func (p Properties) String() string {
	var sb strings.Builder
	line := func(name string, v any) { fmt.Fprintf(&sb, "%s: %v\n", name, v) }
	line("entries", p.NumEntries)
	line("deletions", p.NumDeletions)
	line("expiring", p.NumExpiring)
	line("raw-key-size", p.RawKeySize)
	line("raw-value-size", p.RawValueSize)
	if p.SmallestKey != nil {
		line("smallest", keys.Format(p.SmallestKey))
		line("largest", keys.Format(p.LargestKey))
	}
	line("seqnums", fmt.Sprintf("[%d, %d]", p.SmallestSeq, p.LargestSeq))
	line("expiry", fmt.Sprintf("[%d, %d]", p.EarliestExpiry, p.LatestExpiry))
	line("data-size", p.DataSize)
	line("index-size", p.IndexSize)
	line("filter-size", p.FilterSize)
	line("data-blocks", p.NumDataBlocks)
	line("max-block-size", p.MaxBlockSize)
	if p.RangeDelSize != 0 {
		line("range-deletions", p.NumRangeDeletions)
		line("range-del-size", p.RangeDelSize)
	}
	line("compression", p.Compression)
	line("creation-time", p.CreationTime)
	line("file-size", p.FileSize)
	return sb.String()
}

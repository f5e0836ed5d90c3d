package wal

import (
	"encoding/binary"
	"hash/crc32"
)

// The constants below are part of the on-disk format and never change. A log
// written by any version of Strata must stay readable by every later one; a
// new layout gets a new formatVersion instead.
const (
	// blockSize is the size of a block. Chunks never cross a block boundary;
	// a block tail shorter than headerSize is zero padding.
	blockSize = 32 * 1024

	// headerSize is the size of a chunk header:
	// checksum (4 bytes LE) | payload length (2 bytes LE) | chunk type (1 byte).
	headerSize = 7

	// crcMaskDelta is added to the rotated CRC to mask it (see maskCRC).
	crcMaskDelta = 0xa282ead8
)

// BlockSize is the size of the log's blocks: no chunk crosses a multiple
// of it, so a record's payload bytes that lie between two multiples are
// contiguous in the file.
const BlockSize = blockSize

// Chunk types. Part of the on-disk format; never change or reuse a value.
//
//	value  name        meaning
//	0      zero        never written: a zero-filled (preallocated or lost) region
//	1      full        the whole record
//	2      first       the first fragment of a record that spans chunks
//	3      middle      an interior fragment
//	4      last        the final fragment
//	5      fileHeader  the file header; only ever the chunk at offset 0
const (
	chunkZero       byte = 0
	chunkFull       byte = 1
	chunkFirst      byte = 2
	chunkMiddle     byte = 3
	chunkLast       byte = 4
	chunkFileHeader byte = 5
)

// The file header is the payload of the fileHeader chunk at offset 0:
// fileMagic (8 bytes) followed by the format version (4 bytes LE). Part of the
// on-disk format; never change.
const (
	fileMagic         = "STRATLOG"
	formatVersion     = uint32(1)
	fileHeaderPayload = len(fileMagic) + 4
	// fileHeaderSize is the size of the whole header chunk on disk.
	fileHeaderSize = headerSize + fileHeaderPayload
)

// crcTable is the Castagnoli (CRC-32C) table, hardware accelerated on amd64
// and arm64.
var crcTable = crc32.MakeTable(crc32.Castagnoli)

// typeCRC[t] is the unmasked CRC-32C of the single byte t, the starting
// point of the checksum of a chunk of type t.
var typeCRC = func() (t [256]uint32) {
	for i := range t {
		t[i] = crc32.Checksum([]byte{byte(i)}, crcTable)
	}
	return t
}()

// maskCRC masks a CRC the way LevelDB does (rotate right by 15 bits, add a
// constant), so that the checksum of bytes that themselves contain a CRC is
// not a degenerate value.
func maskCRC(c uint32) uint32 {
	return (c>>15 | c<<17) + crcMaskDelta
}

// chunkCRC returns the masked checksum stored in the header of a chunk of
// type t carrying payload.
func chunkCRC(t byte, payload []byte) uint32 {
	return maskCRC(crc32.Update(typeCRC[t], crcTable, payload))
}

// putHeader writes the header of a chunk of type t carrying payload into
// h[:headerSize].
func putHeader(h []byte, t byte, payload []byte) {
	_ = h[headerSize-1]
	binary.LittleEndian.PutUint32(h[0:4], chunkCRC(t, payload))
	binary.LittleEndian.PutUint16(h[4:6], uint16(len(payload)))
	h[6] = t
}

// allZero reports whether every byte of b is zero.
func allZero(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b) != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

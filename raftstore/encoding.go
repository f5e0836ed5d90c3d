package raftstore

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stratadb/strata/lsm"
)

// Key prefixes and format constants. They are part of the on-disk format and
// never change; doc.go draws them.
//
//	prefix  meaning
//	'H'     store metadata: 'H' + name ("format" is the only one)
//	'K'     a stable-store key: 'K' + the caller's key bytes
//	'L'     a log entry: 'L' + big-endian uint64 index (9 bytes)
//
// Format 1 stores (written before format 2) keep their metadata under 'M'
// and their stable keys under 'S', above the log; the store reads and
// writes them there.
const (
	prefixLog    = 'L'
	prefixMeta   = 'H'
	prefixStable = 'K'

	prefixMetaV1   = 'M'
	prefixStableV1 = 'S'

	logKeyLen = 9

	// entryVersion is the first byte of every encoded entry.
	entryVersion = 0x01

	// Flag bits of an entry's third byte. Any other bit set is corruption.
	flagExtensions = 0x01 // an extensions field follows the data
	flagAppendedAt = 0x02 // an AppendedAt time follows
	flagsKnown     = flagExtensions | flagAppendedAt

	// formatMagic is the value of the metadata key "Hformat": a name and the
	// format version, so a store refuses a directory it cannot read.
	formatMagic = "strata-raftstore\x02"
	// formatMagicV1 is the value of a format 1 store's "Mformat".
	formatMagicV1 = "strata-raftstore\x01"
)

var (
	metaFormatKey   = []byte{prefixMeta, 'f', 'o', 'r', 'm', 'a', 't'}
	metaFormatKeyV1 = []byte{prefixMetaV1, 'f', 'o', 'r', 'm', 'a', 't'}
	logLower        = []byte{prefixLog}
	logUpper        = []byte{prefixLog + 1}
)

// putLogKey writes the key of index idx into dst, which must hold 9 bytes.
func putLogKey(dst []byte, idx uint64) {
	dst[0] = prefixLog
	binary.BigEndian.PutUint64(dst[1:logKeyLen], idx)
}

// parseLogKey returns the index of a log key.
func parseLogKey(k []byte) (uint64, error) {
	if len(k) != logKeyLen || k[0] != prefixLog {
		return 0, fmt.Errorf("raftstore: log key %x: %w: want %d bytes starting with 'L'", k, lsm.ErrCorruption, logKeyLen)
	}
	return binary.BigEndian.Uint64(k[1:]), nil
}

// encodedLen returns an upper bound of the size of l's encoding.
func encodedLen(l *raft.Log) int {
	n := 3 + binary.MaxVarintLen64*2 + len(l.Data)
	if len(l.Extensions) > 0 {
		n += binary.MaxVarintLen64 + len(l.Extensions)
	}
	if !l.AppendedAt.IsZero() {
		n += binary.MaxVarintLen64 * 2
	}
	return n
}

// appendLog appends the encoding of l (every field but Index, which the key
// holds) to dst and returns the extended slice.
func appendLog(dst []byte, l *raft.Log) []byte {
	var flags byte
	if len(l.Extensions) > 0 {
		flags |= flagExtensions
	}
	if !l.AppendedAt.IsZero() {
		flags |= flagAppendedAt
	}
	dst = append(dst, entryVersion, byte(l.Type), flags)
	dst = binary.AppendUvarint(dst, l.Term)
	dst = binary.AppendUvarint(dst, uint64(len(l.Data)))
	dst = append(dst, l.Data...)
	if flags&flagExtensions != 0 {
		dst = binary.AppendUvarint(dst, uint64(len(l.Extensions)))
		dst = append(dst, l.Extensions...)
	}
	if flags&flagAppendedAt != 0 {
		dst = binary.AppendVarint(dst, l.AppendedAt.Unix())
		dst = binary.AppendUvarint(dst, uint64(l.AppendedAt.Nanosecond()))
	}
	return dst
}

// decodeLog fills l from the encoding b of the entry at index idx. Data and
// Extensions alias b. Every malformed input returns an error wrapping
// lsm.ErrCorruption that names the index and the byte offset.
func decodeLog(idx uint64, b []byte, l *raft.Log) error {
	corrupt := func(off int, what string) error {
		return fmt.Errorf("raftstore: log entry %d at byte %d: %w: %s", idx, off, lsm.ErrCorruption, what)
	}
	if len(b) < 3 {
		return corrupt(0, fmt.Sprintf("%d bytes, shorter than the 3-byte header", len(b)))
	}
	if b[0] != entryVersion {
		return corrupt(0, fmt.Sprintf("entry version %d, want %d", b[0], entryVersion))
	}
	flags := b[2]
	if flags&^flagsKnown != 0 {
		return corrupt(2, fmt.Sprintf("unknown flags %#x", flags))
	}
	off := 3
	term, n := binary.Uvarint(b[off:])
	if n <= 0 {
		return corrupt(off, "bad term varint")
	}
	off += n
	data, n := readBytes(b[off:])
	if n <= 0 {
		return corrupt(off, "bad data length or data past the end")
	}
	off += n
	var ext []byte
	if flags&flagExtensions != 0 {
		ext, n = readBytes(b[off:])
		if n <= 0 || len(ext) == 0 {
			return corrupt(off, "bad extensions length or extensions past the end")
		}
		off += n
	}
	var at time.Time
	if flags&flagAppendedAt != 0 {
		sec, n := binary.Varint(b[off:])
		if n <= 0 {
			return corrupt(off, "bad AppendedAt seconds varint")
		}
		off += n
		nsec, n := binary.Uvarint(b[off:])
		if n <= 0 || nsec >= 1e9 {
			return corrupt(off, "bad AppendedAt nanoseconds")
		}
		off += n
		at = time.Unix(sec, int64(nsec))
		if at.IsZero() {
			return corrupt(off, "AppendedAt flag set on the zero time")
		}
	}
	if off != len(b) {
		return corrupt(off, fmt.Sprintf("%d trailing bytes", len(b)-off))
	}
	*l = raft.Log{
		Index:      idx,
		Term:       term,
		Type:       raft.LogType(b[1]),
		Data:       data,
		Extensions: ext,
		AppendedAt: at,
	}
	return nil
}

// readBytes reads a uvarint length and that many bytes. It returns the
// number of bytes consumed, or 0 if b is malformed. An empty field is nil.
func readBytes(b []byte) ([]byte, int) {
	size, n := binary.Uvarint(b)
	if n <= 0 || size > uint64(len(b)-n) {
		return nil, 0
	}
	if size == 0 {
		return nil, n
	}
	end := n + int(size)
	return b[n:end:end], end
}

package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/stratadb/strata/keys"
)

// ErrTorn is wrapped by the error Next returns at a torn tail: the log ends
// with an incomplete or damaged record after which no valid record follows,
// the mark a crash leaves on a log whose last write did not fully reach the
// disk. Whether that ends the log (the newest WAL segment) or is corruption
// (any other log) is the caller's decision.
var ErrTorn = errors.New("wal: torn tail")

// TornError is the error Next returns at a torn tail. It wraps ErrTorn.
type TornError struct {
	// File is the name given to NewReader.
	File string
	// Offset is where the intact prefix of the log ends: the file offset of
	// the first byte of the incomplete record or damaged chunk. Every record
	// Next returned lies before it.
	Offset int64
	// Reason says what was found at the tail.
	Reason string
}

// Error implements error.
func (e *TornError) Error() string {
	return fmt.Sprintf("%v: %s at offset %d: %s", ErrTorn, e.File, e.Offset, e.Reason)
}

// Unwrap returns ErrTorn.
func (e *TornError) Unwrap() error { return ErrTorn }

// chunkStop is readChunk's internal signal that no chunk can be returned.
type chunkStop struct {
	kind   stopKind
	off    int64  // file offset where the stop was found
	reason string // for stopBad
}

type stopKind int

const (
	stopEnd     stopKind = iota // the file ends here, or only zero bytes remain
	stopZeroGap                 // a zeroed header followed by non-zero bytes
	stopBad                     // a bad chunk: the evidence scan decides torn or corrupt
)

func (s *chunkStop) Error() string { return s.reason }

// Reader reads the records of a log written by Writer. It reads its source
// sequentially, one block at a time, and never seeks. A Reader belongs to one
// goroutine.
type Reader struct {
	r    io.Reader
	name string

	buf    []byte // the current block, blockSize long
	n      int    // bytes of buf holding file data; < blockSize only in the final block
	pos    int    // offset in buf of the next chunk header
	base   int64  // file offset of buf[0]
	loaded bool   // buf has been filled at least once
	header bool   // the file header has been read and checked

	rec    []byte // assembly buffer for records that span chunks
	recOff int64  // file offset of the first chunk of the last record returned
	end    int64  // file offset just past the last record returned, or the file header
	err    error  // sticky: returned by every Next after the first error

	// After a corruption error with a valid record start found beyond the
	// damage, resume is that start's file offset (in the current block),
	// for Skip; -1 otherwise.
	resume int64
}

// NewReader reads records from r; name is used in error messages.
func NewReader(r io.Reader, name string) *Reader {
	return &Reader{r: r, name: name, buf: make([]byte, blockSize), resume: -1}
}

// Next returns the next record. The slice is valid until the next call.
// At a clean end of the log it returns io.EOF.
// At a torn tail it returns an error wrapping ErrTorn (with the offset).
// On corruption it returns an error wrapping keys.ErrCorruption naming the
// file and byte offset of the bad chunk.
// An error reading the source is returned as is (wrapped). After any error,
// every later call returns the same error.
func (r *Reader) Next() ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	rec, err := r.next()
	if err != nil {
		r.err = err
		return nil, err
	}
	r.end = r.base + int64(r.pos)
	return rec, nil
}

// Offset returns the file offset where the last record returned by Next began
// (the offset of its first chunk's header), or 0 before the first record.
func (r *Reader) Offset() int64 { return r.recOff }

// End returns the file offset where the intact log read so far ends: just
// past the last chunk of the last record Next returned, or past the file
// header before the first record, or 0 if the file header was not read.
// The file's first End bytes are a whole log, which reads back as exactly
// those records followed by a clean end.
func (r *Reader) End() int64 { return r.end }

// NextStart returns the file offset where a record written after the last
// one Next returned begins: End, moved past the block's tail when that is
// too short for a chunk header (the writer pads it). A reader that stops
// at damage names this offset as where the damaged record starts; a writer
// appending to the first End bytes would put its next record here.
func (r *Reader) NextStart() int64 {
	if left := blockSize - r.end%blockSize; left < headerSize {
		return r.end + left
	}
	return r.end
}

// Skip moves past damage, for tools that count what lies beyond it
// (recovery never skips). After Next returned an error wrapping
// keys.ErrCorruption because a valid record start follows the damage, Skip
// clears the error and positions the reader at that record start, returning
// its file offset: the next Next returns that record. After any other error
// (a torn tail, which by definition has no valid record after it, an I/O
// error, a bad file header with nothing valid after it), or none, it returns
// false and changes nothing.
func (r *Reader) Skip() (int64, bool) {
	if r.err == nil || r.resume < 0 {
		return 0, false
	}
	off := r.resume
	r.pos = int(off - r.base)
	r.header = true
	r.err, r.resume = nil, -1
	return off, true
}

func (r *Reader) next() ([]byte, error) {
	if !r.header {
		if err := r.readFileHeader(); err != nil {
			return nil, err
		}
		r.header = true
		r.end = r.base + int64(r.pos)
	}
	inRec := false // a first chunk was read and its last chunk not yet
	var start int64
	r.rec = r.rec[:0]
	for {
		t, p, off, err := r.readChunk()
		if err != nil {
			return nil, r.classify(err, inRec, start)
		}
		switch t {
		case chunkFull, chunkFirst:
			if inRec {
				// This chunk is valid and starts a record, so the damage
				// cannot be a torn tail.
				r.resume = off
				return nil, keys.CorruptionError(r.name, start,
					"record has no last chunk: a new record starts at offset %d", off)
			}
			if t == chunkFull {
				r.recOff = off
				return p[:len(p):len(p)], nil
			}
			inRec, start = true, off
			r.rec = append(r.rec, p...)
		case chunkMiddle, chunkLast:
			if !inRec {
				return nil, r.classify(&chunkStop{kind: stopBad, off: off,
					reason: fmt.Sprintf("chunk of type %d without a first chunk", t)}, false, 0)
			}
			r.rec = append(r.rec, p...)
			if t == chunkLast {
				r.recOff = start
				return r.rec, nil
			}
		default: // chunkFileHeader anywhere but offset 0
			return nil, r.classify(&chunkStop{kind: stopBad, off: off,
				reason: "file header chunk inside the log"}, inRec, start)
		}
	}
}

// readFileHeader reads and checks the chunk at offset 0.
func (r *Reader) readFileHeader() error {
	t, p, off, err := r.readChunk()
	if err != nil {
		return r.classify(err, false, 0)
	}
	if t != chunkFileHeader {
		return keys.CorruptionError(r.name, off, "missing file header: first chunk has type %d", t)
	}
	if len(p) != fileHeaderPayload || string(p[:len(fileMagic)]) != fileMagic {
		return keys.CorruptionError(r.name, off, "bad file header: not a Strata log")
	}
	if v := binary.LittleEndian.Uint32(p[len(fileMagic):]); v != formatVersion {
		return keys.CorruptionError(r.name, off, "unsupported log format version %d (this build reads %d)", v, formatVersion)
	}
	return nil
}

// classify turns readChunk's stop signal into Next's error. inRec and start
// describe a record in progress, whose first byte is where a torn tail begins.
func (r *Reader) classify(err error, inRec bool, start int64) error {
	var s *chunkStop
	if !errors.As(err, &s) {
		return err // I/O error
	}
	tornAt := s.off
	if inRec {
		tornAt = start
	}
	switch s.kind {
	case stopEnd:
		if inRec {
			return &TornError{File: r.name, Offset: start,
				Reason: fmt.Sprintf("the log ends at offset %d inside the record", s.off)}
		}
		return io.EOF
	case stopZeroGap:
		return &TornError{File: r.name, Offset: tornAt,
			Reason: fmt.Sprintf("zeroed chunk header at offset %d followed by non-zero bytes", s.off)}
	}
	found, ok, ioErr := r.findRecordStart(s.off)
	if ioErr != nil {
		return ioErr
	}
	if ok {
		r.resume = found
		return keys.CorruptionError(r.name, s.off, "%s (a valid record follows at offset %d)", s.reason, found)
	}
	return &TornError{File: r.name, Offset: tornAt,
		Reason: fmt.Sprintf("%s at offset %d, and no valid record follows", s.reason, s.off)}
}

// load reads the next block into buf. At the end of the source n is short
// (possibly 0).
func (r *Reader) load() error {
	if r.loaded {
		r.base += int64(r.n)
	}
	r.loaded = true
	r.pos = 0
	n, err := io.ReadFull(r.r, r.buf)
	r.n = n
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		r.n = 0
		return fmt.Errorf("wal: read %s at offset %d: %w", r.name, r.base+int64(n), err)
	}
	return nil
}

// readChunk returns the next chunk whose header and checksum are intact. It
// returns a *chunkStop when there is none: at the end of the file (or of
// its non-zero bytes), at a zeroed header followed by data, or at a bad chunk.
// Type-level rules (sequence of types) are the caller's.
func (r *Reader) readChunk() (t byte, payload []byte, off int64, err error) {
	for {
		if !r.loaded {
			if err := r.load(); err != nil {
				return 0, nil, 0, err
			}
			continue
		}
		if r.n-r.pos >= headerSize {
			break
		}
		tail := r.buf[r.pos:r.n]
		off = r.base + int64(r.pos)
		if r.n == blockSize {
			// A full block's tail too short for a header is padding.
			if !allZero(tail) {
				return 0, nil, off, &chunkStop{kind: stopBad, off: off, reason: "non-zero block padding"}
			}
			if err := r.load(); err != nil {
				return 0, nil, 0, err
			}
			continue
		}
		// The final block: the file ends within headerSize bytes.
		if allZero(tail) {
			return 0, nil, off, &chunkStop{kind: stopEnd, off: off}
		}
		return 0, nil, off, &chunkStop{kind: stopBad, off: off, reason: "file ends inside a chunk header"}
	}

	h := r.buf[r.pos : r.pos+headerSize]
	off = r.base + int64(r.pos)
	if allZero(h) {
		zero, err := r.restZero(r.pos + headerSize)
		if err != nil {
			return 0, nil, off, err
		}
		if zero {
			return 0, nil, off, &chunkStop{kind: stopEnd, off: off}
		}
		return 0, nil, off, &chunkStop{kind: stopZeroGap, off: off}
	}
	length := int(binary.LittleEndian.Uint16(h[4:6]))
	t = h[6]
	end := r.pos + headerSize + length
	if end > r.n {
		reason := fmt.Sprintf("chunk length %d runs past the end of the file", length)
		if end > blockSize {
			reason = fmt.Sprintf("chunk length %d runs past the end of its block", length)
		}
		return 0, nil, off, &chunkStop{kind: stopBad, off: off, reason: reason}
	}
	payload = r.buf[r.pos+headerSize : end]
	if binary.LittleEndian.Uint32(h[0:4]) != chunkCRC(t, payload) {
		return 0, nil, off, &chunkStop{kind: stopBad, off: off, reason: "chunk checksum mismatch"}
	}
	if t == chunkZero || t > chunkFileHeader {
		return 0, nil, off, &chunkStop{kind: stopBad, off: off, reason: fmt.Sprintf("unknown chunk type %d", t)}
	}
	r.pos = end
	return t, payload, off, nil
}

// restZero reports whether buf[from:n] and every later byte of the file are
// zero. It consumes the source.
func (r *Reader) restZero(from int) (bool, error) {
	if !allZero(r.buf[min(from, r.n):r.n]) {
		return false, nil
	}
	for r.n == blockSize {
		if err := r.load(); err != nil {
			return false, err
		}
		if !allZero(r.buf[:r.n]) {
			return false, nil
		}
	}
	return true, nil
}

// findRecordStart looks for a valid chunk that starts a record (a full or
// first chunk with a correct checksum that fits its block) after the bad
// chunk at file offset bad, which lies in the current block. It consumes
// the source. The scan rule, in the bad chunk's own block:
//
//   - if the bad chunk's checksum matches with its length field changed in
//     one bit, the length was what was damaged: scan from the repaired end;
//   - else, if its stored length fits the file, trust it and scan from its
//     end (bytes inside a payload are the user's, and may even hold a copy
//     of a valid chunk);
//   - else, if the chunk fits its block but the file ends inside it, it was
//     cut short by the end of the file: nothing follows it in this block;
//   - else (a length no writer produces, block padding, a partial header)
//     scan from the byte after the bad chunk's start.
//
// Scanning tries every byte position. In each later block, chunk headers are
// followed from the block's start (a writer starts a chunk at every block
// boundary) while their lengths fit, whether their checksums match or not.
func (r *Reader) findRecordStart(bad int64) (int64, bool, error) {
	x := int(bad - r.base)
	from := r.scanStart(x)
	// Candidates are the positions whose type byte says full or first;
	// IndexByte finds them far faster than trying every position.
	for _, t := range [...]byte{chunkFull, chunkFirst} {
		for q := from + headerSize - 1; q < r.n; q++ {
			i := bytes.IndexByte(r.buf[q:r.n], t)
			if i < 0 {
				break
			}
			q += i
			if p := q - (headerSize - 1); r.validStart(p) {
				return r.base + int64(p), true, nil
			}
		}
	}
	for r.n == blockSize {
		if err := r.load(); err != nil {
			return 0, false, err
		}
		for p := 0; p+headerSize <= r.n; {
			end := p + headerSize + int(binary.LittleEndian.Uint16(r.buf[p+4:p+6]))
			if end > r.n {
				break
			}
			if r.validStart(p) {
				return r.base + int64(p), true, nil
			}
			p = end
		}
	}
	return 0, false, nil
}

// scanStart returns where, in the current block, the search for a valid
// record start after the bad chunk at buf[x:] begins (see findRecordStart).
func (r *Reader) scanStart(x int) int {
	if x+headerSize > r.n {
		return x + 1 // padding or a partial header
	}
	h := r.buf[x : x+headerSize]
	length, t := int(binary.LittleEndian.Uint16(h[4:6])), h[6]
	sum := binary.LittleEndian.Uint32(h[0:4])
	for k := range 16 {
		alt := length ^ 1<<k
		if end := x + headerSize + alt; end <= r.n && sum == chunkCRC(t, r.buf[x+headerSize:end]) {
			return end
		}
	}
	switch end := x + headerSize + length; {
	case end <= r.n:
		return end
	case end <= blockSize:
		return r.n
	default:
		return x + 1
	}
}

// validStart reports whether buf[p:] begins a full or first chunk that fits
// in the data of the current block and whose checksum matches.
func (r *Reader) validStart(p int) bool {
	h := r.buf[p : p+headerSize]
	t := h[6]
	if t != chunkFull && t != chunkFirst {
		return false
	}
	end := p + headerSize + int(binary.LittleEndian.Uint16(h[4:6]))
	if end > r.n {
		return false
	}
	return binary.LittleEndian.Uint32(h[0:4]) == chunkCRC(t, r.buf[p+headerSize:end])
}

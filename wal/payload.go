package wal

import (
	"fmt"
	"io"
)

// A record's bytes sit in the file in chunk payloads, with a chunk header at
// the start of every block they cross (see the package documentation). A
// reader that knows where a record starts can find any of its bytes without
// reading the chunks before them, and read a run of them back, skipping the
// headers in between: the engine keeps large values in the WAL segment that
// logged them and reads them back this way.

// PayloadOffset returns the file offset of byte i of the record whose first
// chunk header is at file offset start (Reader.Offset after the record was
// read). The caller keeps i below the record's length.
func PayloadOffset(start, i int64) int64 {
	blockEnd := (start/blockSize + 1) * blockSize
	// The first chunk's payload runs from its header to the block's end; it
	// is empty when the header takes the block's last headerSize bytes.
	if avail := blockEnd - (start + headerSize); i < avail {
		return start + headerSize + i
	} else {
		i -= avail
	}
	const per = blockSize - headerSize // payload bytes of a whole block
	return blockEnd + i/per*blockSize + headerSize + i%per
}

// PayloadSpan returns how many bytes of the file n bytes of a record's
// payload take when they begin at file offset off: n, plus a chunk header
// for every block boundary they cross.
func PayloadSpan(off int64, n int) int64 {
	first := blockSize - off%blockSize
	if int64(n) <= first {
		return int64(n)
	}
	const per = blockSize - headerSize
	rest := int64(n) - first
	return int64(n) + (rest+per-1)/per*headerSize
}

// ReadPayload reads n bytes of a record's payload beginning at file offset
// off (as PayloadOffset gives it) into dst's memory, growing it if needed,
// and returns them: one positioned read of the span, the chunk headers at
// block starts cut out. It checks no checksum (the caller knows what the
// bytes should be); a read that comes up short is an error naming name and
// off.
func ReadPayload(r io.ReaderAt, name string, off int64, n int, dst []byte) ([]byte, error) {
	if off < 0 || n < 0 || off%blockSize < headerSize && n > 0 {
		return dst[:0], fmt.Errorf("wal: %s: no payload starts at offset %d", name, off)
	}
	span := PayloadSpan(off, n)
	if int64(cap(dst)) < span {
		dst = make([]byte, span)
	}
	buf := dst[:span]
	if m, err := r.ReadAt(buf, off); int64(m) < span {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return dst[:0], fmt.Errorf("wal: %s: read %d bytes at offset %d: %w", name, span, off, err)
	}
	// Move each later block's payload down over the headers before it.
	w := int(blockSize - off%blockSize)
	if w >= n {
		return buf[:n], nil
	}
	for rd := w + headerSize; w < n; rd += blockSize {
		w += copy(buf[w:n], buf[rd:min(rd+blockSize-headerSize, len(buf))])
	}
	return buf[:n], nil
}

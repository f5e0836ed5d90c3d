package server

import (
	"math"
	"strconv"
	"strings"
)

// replyWriter appends replies to a buffer in the connection's protocol.
// RESP2 has no map, set, double, null or boolean: each is written as the
// RESP2 shape Redis 7.0 uses for it (see doc.go). A replyWriter belongs to
// one goroutine.
type replyWriter struct {
	b     []byte
	proto int // 2 or 3

	// errors counts the error replies written; the dispatcher compares it
	// before and after a command to count failed calls.
	errors int
	// lastErr is the code of the last error written ("ERR", "WRONGTYPE").
	lastErr string
	// scratch is a buffer a handler may read a value into before it
	// writes it (GET), kept between commands up to maxScratch.
	scratch []byte
}

// maxScratch is the largest scratch buffer a replyWriter keeps.
const maxScratch = 64 << 10

// keepScratch keeps b's array as the scratch buffer, unless it is larger
// than maxScratch.
func (w *replyWriter) keepScratch(b []byte) {
	if cap(b) <= maxScratch && cap(b) > cap(w.scratch) {
		w.scratch = b[:0]
	}
}

func (w *replyWriter) len() int { return len(w.b) }

func (w *replyWriter) reset() { w.b = w.b[:0] }

func (w *replyWriter) line(prefix byte, s string) {
	w.b = append(w.b, prefix)
	w.b = append(w.b, s...)
	w.b = append(w.b, '\r', '\n')
}

func (w *replyWriter) header(prefix byte, n int64) {
	w.b = append(w.b, prefix)
	w.b = strconv.AppendInt(w.b, n, 10)
	w.b = append(w.b, '\r', '\n')
}

// simple writes a status reply: +OK.
func (w *replyWriter) simple(s string) { w.line('+', s) }

func (w *replyWriter) ok() { w.b = append(w.b, "+OK\r\n"...) }

// err writes an error reply. msg starts with its code ("ERR syntax
// error"); a message starting with '-' is written as is. Newlines become
// spaces, as a RESP error is one line.
func (w *replyWriter) err(msg string) {
	msg = strings.TrimPrefix(msg, "-")
	if strings.ContainsAny(msg, "\r\n") {
		msg = strings.NewReplacer("\r", " ", "\n", " ").Replace(msg)
	}
	w.errors++
	code := msg
	if i := strings.IndexByte(msg, ' '); i >= 0 {
		code = msg[:i]
	}
	w.lastErr = code
	w.line('-', msg)
}

func (w *replyWriter) int(n int64) { w.header(':', n) }

func (w *replyWriter) bulk(b []byte) {
	w.header('$', int64(len(b)))
	w.b = append(w.b, b...)
	w.b = append(w.b, '\r', '\n')
}

func (w *replyWriter) bulkString(s string) {
	w.header('$', int64(len(s)))
	w.b = append(w.b, s...)
	w.b = append(w.b, '\r', '\n')
}

func (w *replyWriter) bulkInt(n int64) {
	var tmp [24]byte
	w.bulk(strconv.AppendInt(tmp[:0], n, 10))
}

// null is the absent bulk string: $-1 in RESP2, _ in RESP3.
func (w *replyWriter) null() {
	if w.proto == 3 {
		w.b = append(w.b, "_\r\n"...)
		return
	}
	w.b = append(w.b, "$-1\r\n"...)
}

// nullArray is the absent array: *-1 in RESP2, _ in RESP3.
func (w *replyWriter) nullArray() {
	if w.proto == 3 {
		w.b = append(w.b, "_\r\n"...)
		return
	}
	w.b = append(w.b, "*-1\r\n"...)
}

func (w *replyWriter) array(n int) { w.header('*', int64(n)) }

// mapHeader starts a map of n pairs: %n in RESP3, an array of 2n in RESP2.
func (w *replyWriter) mapHeader(n int) {
	if w.proto == 3 {
		w.header('%', int64(n))
		return
	}
	w.header('*', int64(2*n))
}

// setHeader starts a set: ~n in RESP3, an array in RESP2.
func (w *replyWriter) setHeader(n int) {
	if w.proto == 3 {
		w.header('~', int64(n))
		return
	}
	w.header('*', int64(n))
}

// double writes a float as Redis 7.0 does: %.17g, inf and -inf; a bulk
// string in RESP2, a double (,) in RESP3.
func (w *replyWriter) double(f float64) {
	var tmp [32]byte
	s := appendDouble(tmp[:0], f)
	if w.proto == 3 {
		w.b = append(w.b, ',')
		w.b = append(w.b, s...)
		w.b = append(w.b, '\r', '\n')
		return
	}
	w.bulk(s)
}

// boolean writes #t/#f in RESP3 and :1/:0 in RESP2.
func (w *replyWriter) boolean(v bool) {
	switch {
	case w.proto == 3 && v:
		w.b = append(w.b, "#t\r\n"...)
	case w.proto == 3:
		w.b = append(w.b, "#f\r\n"...)
	case v:
		w.b = append(w.b, ":1\r\n"...)
	default:
		w.b = append(w.b, ":0\r\n"...)
	}
}

// verbatim writes text as a verbatim string (=len txt:...) in RESP3 and a
// bulk string in RESP2, as Redis does for INFO and CLIENT LIST.
func (w *replyWriter) verbatim(s string) {
	if w.proto != 3 {
		w.bulkString(s)
		return
	}
	w.header('=', int64(len(s)+4))
	w.b = append(w.b, "txt:"...)
	w.b = append(w.b, s...)
	w.b = append(w.b, '\r', '\n')
}

// raw appends bytes already encoded.
func (w *replyWriter) raw(b []byte) { w.b = append(w.b, b...) }

// formatDouble is C's "%.17g" with Redis's inf spelling.
func formatDouble(f float64) string {
	var tmp [32]byte
	return string(appendDouble(tmp[:0], f))
}

// appendDouble appends formatDouble(f) to dst (no allocation for a reply).
func appendDouble(dst []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	case math.IsNaN(f):
		return append(dst, "nan"...)
	}
	return strconv.AppendFloat(dst, f, 'g', 17, 64)
}

// Replies shared by many commands.
const (
	msgSyntax      = "ERR syntax error"
	msgNotInt      = "ERR value is not an integer or out of range"
	msgNotFloat    = "ERR value is not a valid float"
	msgWrongType   = "WRONGTYPE Operation against a key holding the wrong kind of value"
	msgNoSuchKey   = "ERR no such key"
	msgOverflow    = "ERR increment or decrement would overflow"
	msgNoAuth      = "NOAUTH Authentication required."
	msgStringLimit = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
)

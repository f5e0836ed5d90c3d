package server

import (
	"bytes"
	"errors"
	"io"
	"strconv"
)

// Request framing limits, as Redis 7.0 sets them. They are part of the wire
// behaviour: a client over one gets Redis's error and is disconnected.
const (
	// inlineMaxSize bounds an inline request line and the header line of a
	// multibulk request or of one of its bulk strings (PROTO_INLINE_MAX_SIZE).
	inlineMaxSize = 64 * 1024
	// unauthMaxMultibulk and unauthMaxBulk bound the requests of a client
	// that must still authenticate, so a stranger cannot make the server
	// buffer much.
	unauthMaxMultibulk = 10
	unauthMaxBulk      = 16384
)

// protocolError is a malformed request: the client gets "-ERR Protocol
// error: <msg>" and is disconnected.
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return "Protocol error: " + e.msg }

// errQueryBufferLimit is returned when a client's unprocessed input grows
// past the query buffer limit. Redis closes such a client without a reply.
var errQueryBufferLimit = errors.New("query buffer limit reached")

// reqReader frames requests out of a byte stream, the way Redis's
// processInputBuffer does: a request starting with '*' is a multibulk
// array of bulk strings; anything else is an inline (telnet) line split
// by sdssplitargs' rules. See doc.go for the byte layout.
//
// Parsing resumes where it stopped when more bytes arrive, so a large
// request arriving in small reads costs linear time. The argument slices
// returned by next point into the buffer and stay valid until the next
// call of fill; a caller that keeps them copies them.
//
// A reqReader belongs to one goroutine.
type reqReader struct {
	rd  io.Reader
	buf []byte
	r   int // start of the request being parsed
	w   int // end of the bytes read

	// State of a multibulk request in progress. pos is where parsing
	// resumes (absolute); offs holds start/end pairs relative to r.
	pos      int
	argsLeft int // bulk strings still to read; 0: no multibulk in progress
	bulkLen  int // length of the bulk being read; -1: header not read yet
	offs     []int
	argv     [][]byte

	maxBulk   int64       // proto-max-bulk-len
	maxMulti  int64       // multibulk length limit
	maxQuery  int         // query buffer limit (unprocessed bytes)
	needsAuth func() bool // whether the client must still authenticate
	minBuf    int         // initial and idle buffer size
	peak      int         // largest pending input seen since the last shrink
	nread     int64       // bytes read since the owner last collected them
}

const readerMinBuf = 16 * 1024

func newReqReader(rd io.Reader) *reqReader {
	return &reqReader{
		rd:       rd,
		buf:      make([]byte, readerMinBuf),
		bulkLen:  -1,
		maxBulk:  512 << 20,
		maxMulti: 1 << 20,
		maxQuery: 1 << 30,
		minBuf:   readerMinBuf,
	}
}

// pending is the number of bytes read but not yet consumed.
func (rd *reqReader) pending() int { return rd.w - rd.r }

// next returns the next complete request, nil if more bytes are needed, or
// a *protocolError. An empty request (an empty inline line, "*0") is
// skipped.
func (rd *reqReader) next() ([][]byte, error) {
	for rd.r < rd.w {
		var argv [][]byte
		var err error
		if rd.argsLeft > 0 || rd.buf[rd.r] == '*' {
			argv, err = rd.multibulk()
		} else {
			argv, err = rd.inline()
		}
		if err != nil || argv == nil {
			return nil, err
		}
		if len(argv) > 0 {
			return argv, nil
		}
	}
	return nil, nil
}

func (rd *reqReader) multibulk() ([][]byte, error) {
	if rd.argsLeft == 0 {
		line, end, err := rd.headerLine(rd.r, "too big mbulk count string")
		if err != nil || line == nil {
			return nil, err
		}
		n, ok := parseInt64(line[1:])
		if !ok || n > rd.maxMulti {
			return nil, &protocolError{"invalid multibulk length"}
		}
		if n > unauthMaxMultibulk && rd.needsAuth != nil && rd.needsAuth() {
			return nil, &protocolError{"unauthenticated multibulk length"}
		}
		if n <= 0 {
			rd.r = end
			return [][]byte{}, nil
		}
		rd.argsLeft, rd.pos, rd.bulkLen = int(n), end, -1
		rd.offs = rd.offs[:0]
	}
	for rd.argsLeft > 0 {
		if rd.bulkLen < 0 {
			line, end, err := rd.headerLine(rd.pos, "too big bulk count string")
			if err != nil || line == nil {
				return nil, err
			}
			if c := rd.buf[rd.pos]; c != '$' { // line may be empty: c is then '\r'
				return nil, &protocolError{"expected '$', got '" + string(c) + "'"}
			}
			n, ok := parseInt64(line[1:])
			if !ok || n < 0 || n > rd.maxBulk {
				return nil, &protocolError{"invalid bulk length"}
			}
			if n > unauthMaxBulk && rd.needsAuth != nil && rd.needsAuth() {
				return nil, &protocolError{"unauthenticated bulk length"}
			}
			rd.bulkLen, rd.pos = int(n), end
		}
		// The two bytes after the bulk are skipped unread, as Redis does.
		if int64(rd.w-rd.pos) < int64(rd.bulkLen)+2 {
			return nil, nil
		}
		rd.offs = append(rd.offs, rd.pos-rd.r, rd.pos-rd.r+rd.bulkLen)
		rd.pos += rd.bulkLen + 2
		rd.bulkLen = -1
		rd.argsLeft--
	}
	rd.argv = rd.argv[:0]
	for i := 0; i < len(rd.offs); i += 2 {
		s, e := rd.r+rd.offs[i], rd.r+rd.offs[i+1]
		rd.argv = append(rd.argv, rd.buf[s:e:e])
	}
	rd.r = rd.pos
	return rd.argv, nil
}

// headerLine finds the line starting at from and ending in "\r\n" (Redis
// looks for the '\r' and skips one more byte whatever it is). It returns
// nil when the line is not complete yet, and the position after it.
func (rd *reqReader) headerLine(from int, tooBig string) ([]byte, int, error) {
	i := bytes.IndexByte(rd.buf[from:rd.w], '\r')
	if i < 0 {
		if rd.w-from > inlineMaxSize {
			return nil, 0, &protocolError{tooBig}
		}
		return nil, 0, nil
	}
	if from+i+2 > rd.w { // the byte after '\r' has not arrived
		return nil, 0, nil
	}
	return rd.buf[from : from+i], from + i + 2, nil
}

func (rd *reqReader) inline() ([][]byte, error) {
	i := bytes.IndexByte(rd.buf[rd.r:rd.w], '\n')
	if i < 0 {
		if rd.w-rd.r > inlineMaxSize {
			return nil, &protocolError{"too big inline request"}
		}
		return nil, nil
	}
	line := rd.buf[rd.r : rd.r+i]
	line = bytes.TrimSuffix(line, []byte{'\r'})
	args, ok := splitArgs(line)
	if !ok {
		return nil, &protocolError{"unbalanced quotes in request"}
	}
	rd.r += i + 1
	if args == nil {
		args = [][]byte{} // an empty line: skipped, not "need more"
	}
	return args, nil
}

// fill reads more bytes, compacting or growing the buffer first. It fails
// with errQueryBufferLimit when the unprocessed input would pass the limit.
func (rd *reqReader) fill() error {
	if rd.r == rd.w && rd.argsLeft == 0 {
		rd.r, rd.w, rd.pos = 0, 0, 0
		if len(rd.buf) > 8*rd.minBuf && rd.peak < len(rd.buf)/4 {
			rd.buf = make([]byte, rd.minBuf) // give back a large buffer once idle
		}
		rd.peak = 0
	}
	if rd.w == len(rd.buf) {
		if rd.r > 0 {
			n := copy(rd.buf, rd.buf[rd.r:rd.w])
			rd.pos -= rd.r
			rd.r, rd.w = 0, n
		}
		if rd.w == len(rd.buf) {
			if rd.w >= rd.maxQuery {
				return errQueryBufferLimit
			}
			size := 2 * len(rd.buf)
			// A bulk string being read says how much room it needs: take
			// it at once, up to a bound, instead of doubling step by step.
			if rd.argsLeft > 0 && rd.bulkLen >= 0 {
				if need := rd.pos + rd.bulkLen + 2; need > size && need-rd.w <= 64<<20 {
					size = need
				}
			}
			if size > rd.maxQuery+1 {
				size = rd.maxQuery + 1
			}
			nb := make([]byte, size)
			copy(nb, rd.buf[:rd.w])
			rd.buf = nb
		}
	}
	n, err := rd.rd.Read(rd.buf[rd.w:])
	rd.w += n
	rd.nread += int64(n)
	if rd.w-rd.r > rd.peak {
		rd.peak = rd.w - rd.r
	}
	if n > 0 && rd.w-rd.r > rd.maxQuery {
		return errQueryBufferLimit
	}
	if n > 0 {
		return nil
	}
	return err
}

// parseInt64 parses a decimal int64 the way Redis's string2ll does: an
// optional '-', digits, no leading zeros (except "0"), no spaces or '+'.
func parseInt64(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	if len(b) == 1 && b[0] == '0' {
		return 0, true
	}
	neg := b[0] == '-'
	d := b
	if neg {
		d = b[1:]
	}
	if len(d) == 0 || d[0] < '1' || d[0] > '9' {
		return 0, false
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, false
	}
	return v, true
}

// splitArgs splits an inline request line as Redis's sdssplitargs does:
// blanks separate arguments; "double quotes" take \n \r \t \b \a \xHH and
// \<char> escapes; 'single quotes' take \' only; a closing quote must be
// followed by a blank or the end. A NUL byte ends the line, as the C
// string it is in Redis.
func splitArgs(line []byte) ([][]byte, bool) {
	if i := bytes.IndexByte(line, 0); i >= 0 {
		line = line[:i]
	}
	var args [][]byte
	p, n := 0, len(line)
	at := func(i int) byte {
		if i < n {
			return line[i]
		}
		return 0
	}
	for {
		for p < n && isSpace(line[p]) {
			p++
		}
		if p >= n {
			return args, true
		}
		cur := []byte{}
		inq, insq, done := false, false, false
		for !done {
			c := at(p)
			switch {
			case inq:
				switch {
				case c == '\\' && at(p+1) == 'x' && isHex(at(p+2)) && isHex(at(p+3)):
					cur = append(cur, unhex(at(p+2))<<4|unhex(at(p+3)))
					p += 3
				case c == '\\' && at(p+1) != 0:
					p++
					e := at(p)
					switch e {
					case 'n':
						e = '\n'
					case 'r':
						e = '\r'
					case 't':
						e = '\t'
					case 'b':
						e = '\b'
					case 'a':
						e = '\a'
					}
					cur = append(cur, e)
				case c == '"':
					if p+1 < n && !isSpace(at(p+1)) {
						return nil, false
					}
					done = true
				case c == 0:
					return nil, false
				default:
					cur = append(cur, c)
				}
			case insq:
				switch {
				case c == '\\' && at(p+1) == '\'':
					p++
					cur = append(cur, '\'')
				case c == '\'':
					if p+1 < n && !isSpace(at(p+1)) {
						return nil, false
					}
					done = true
				case c == 0:
					return nil, false
				default:
					cur = append(cur, c)
				}
			default:
				switch c {
				case ' ', '\n', '\r', '\t', 0:
					done = true
				case '"':
					inq = true
				case '\'':
					insq = true
				default:
					cur = append(cur, c)
				}
			}
			if p < n {
				p++
			}
		}
		args = append(args, cur)
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

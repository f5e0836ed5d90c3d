package server

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// chunkReader hands out its data n bytes per Read.
type chunkReader struct {
	data []byte
	n    int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := min(r.n, len(p), len(r.data))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// readAll frames every request of data read n bytes at a time, and the
// error that stopped it (io.EOF at a clean end).
func readAll(data []byte, n int, maxBulk int64, auth bool) ([]string, error) {
	rd := newReqReader(&chunkReader{data: data, n: n})
	rd.maxBulk = maxBulk
	rd.needsAuth = func() bool { return auth }
	var out []string
	for {
		argv, err := rd.next()
		if err != nil {
			return out, err
		}
		if argv != nil {
			parts := make([]string, len(argv))
			for i, a := range argv {
				parts[i] = fmt.Sprintf("%q", a)
			}
			out = append(out, strings.Join(parts, " "))
			continue
		}
		if err := rd.fill(); err != nil {
			return out, err
		}
	}
}

func TestReaderFraming(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
		err      string // "" for a clean EOF
	}{
		{"multibulk", "*2\r\n$3\r\nGET\r\n$1\r\na\r\n", []string{`"GET" "a"`}, ""},
		{"pipeline", "*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", []string{`"PING"`, `"ECHO" ""`}, ""},
		{"binary", "*1\r\n$3\r\n\x00\r\n\r\n", []string{`"\x00\r\n"`}, ""},
		{"inline", "SET a b\r\nGET a\n", []string{`"SET" "a" "b"`, `"GET" "a"`}, ""},
		{"inline quotes", `SET "a b" 'c\'d' "\x41\n"` + "\r\n", []string{`"SET" "a b" "c'd" "A\n"`}, ""},
		{"inline quote mid token", `ECHO a"b c"` + "\r\n", []string{`"ECHO" "ab c"`}, ""},
		{"empty lines skipped", "\r\n\n   \nPING\n", []string{`"PING"`}, ""},
		{"zero and negative counts skipped", "*0\r\n*-1\r\nPING\r\n", []string{`"PING"`}, ""},
		{"trailing bytes after a bulk are not checked", "*1\r\n$4\r\nPINGxx", []string{`"PING"`}, ""},
		{"incomplete at EOF", "*2\r\n$3\r\nGET\r\n", nil, ""},
		{"bad count", "*x\r\n", nil, "Protocol error: invalid multibulk length"},
		{"count over the limit", "*1048577\r\n", nil, "Protocol error: invalid multibulk length"},
		{"bad bulk length", "*1\r\n$-1\r\n", nil, "Protocol error: invalid bulk length"},
		{"bulk over the limit", "*1\r\n$2000000\r\n", nil, "Protocol error: invalid bulk length"},
		{"leading zero", "*1\r\n$04\r\nPING\r\n", nil, "Protocol error: invalid bulk length"},
		{"plus sign", "*+1\r\n", nil, "Protocol error: invalid multibulk length"},
		{"expected dollar", "*1\r\n:1\r\n", nil, "Protocol error: expected '$', got ':'"},
		{"unbalanced", "GET \"a\r\n", nil, "Protocol error: unbalanced quotes in request"},
		{"closing quote then text", "GET \"a\"b\r\n", nil, "Protocol error: unbalanced quotes in request"},
		{"inline too big", strings.Repeat("a", inlineMaxSize+1), nil, "Protocol error: too big inline request"},
		{"count line too big", "*" + strings.Repeat("1", inlineMaxSize+1), nil, "Protocol error: too big mbulk count string"},
		{"bulk line too big", "*1\r\n$" + strings.Repeat("1", inlineMaxSize+1), nil, "Protocol error: too big bulk count string"},
		{"command before an error", "PING\r\n*x\r\n", []string{`"PING"`}, "Protocol error: invalid multibulk length"},
	}
	for _, tc := range tests {
		for _, n := range []int{1, 3, 1 << 20} {
			t.Run(fmt.Sprintf("%s/%d", tc.name, n), func(t *testing.T) {
				got, err := readAll([]byte(tc.in), n, 1<<20, false)
				if fmt.Sprint(got) != fmt.Sprint(tc.want) {
					t.Errorf("commands: got %v, want %v", got, tc.want)
				}
				switch {
				case tc.err == "" && !errors.Is(err, io.EOF):
					t.Errorf("error: got %v, want EOF", err)
				case tc.err != "" && (err == nil || err.Error() != tc.err):
					t.Errorf("error: got %v, want %q", err, tc.err)
				}
			})
		}
	}
}

func TestReaderUnauthenticatedLimits(t *testing.T) {
	_, err := readAll([]byte("*11\r\n"), 64, 1<<20, true)
	if err == nil || err.Error() != "Protocol error: unauthenticated multibulk length" {
		t.Errorf("got %v", err)
	}
	_, err = readAll([]byte("*1\r\n$16385\r\n"), 64, 1<<20, true)
	if err == nil || err.Error() != "Protocol error: unauthenticated bulk length" {
		t.Errorf("got %v", err)
	}
	got, err := readAll([]byte("*2\r\n$4\r\nAUTH\r\n$3\r\npwd\r\n"), 64, 1<<20, true)
	if len(got) != 1 || !errors.Is(err, io.EOF) {
		t.Errorf("got %v, %v", got, err)
	}
}

func TestReaderQueryBufferLimit(t *testing.T) {
	rd := newReqReader(&chunkReader{data: []byte("*1\r\n$1000000\r\n" + strings.Repeat("x", 1000000)), n: 4096})
	rd.maxQuery = 64 * 1024
	for {
		argv, err := rd.next()
		if err != nil {
			t.Fatal(err)
		}
		if argv != nil {
			t.Fatal("a request over the query buffer limit came through")
		}
		if err := rd.fill(); err != nil {
			if !errors.Is(err, errQueryBufferLimit) {
				t.Fatalf("got %v, want the query buffer limit", err)
			}
			if rd.w > rd.maxQuery+1 {
				t.Fatalf("buffered %d bytes over a limit of %d", rd.w, rd.maxQuery)
			}
			return
		}
	}
}

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pat, s string
		want   bool
	}{
		{"*", "", false}, // as Redis: the loop never starts
		{"*", "abc", true}, {"a*", "abc", true}, {"a*", "bac", false},
		{"?", "a", true}, {"?", "", false}, {"a?c", "abc", true},
		{"[abc]", "b", true}, {"[^abc]", "b", false}, {"[^abc]", "d", true},
		{"[a-c]x", "bx", true}, {"[c-a]x", "bx", true}, {"[a-c]x", "dx", false},
		{`\*`, "*", true}, {`\*`, "a", false}, {`[\]]`, "]", true},
		{"a[", "a[", false}, {"a[b", "ab", true}, {"*a*b*c*d*e*f*g*h*i*j*k*l*m*n", strings.Repeat("a", 60), false},
		{"h*llo", "heeeello", true}, {"h*llo", "hllo", true}, {"*.txt", "a.txt", true},
	}
	for _, tc := range tests {
		if got := globMatch([]byte(tc.pat), []byte(tc.s), false); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tc.pat, tc.s, got, tc.want)
		}
	}
	if !globMatch([]byte("GET*"), []byte("getrange"), true) {
		t.Error("nocase match failed")
	}
}

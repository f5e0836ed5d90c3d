package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/lsm"
	"github.com/stratadb/strata/wal"
)

// Every bad line stops the import with exit 2 and its line number; the
// lines before it are written and counted; nothing is skipped silently.
func TestImportStopsAtTheFirstBadLine(t *testing.T) {
	base := t.TempDir()
	good := `{"key":"a","value":"1"}` + "\n" + `{"key_base64":"AP8=","value":"2"}` + "\n"
	for i, c := range []struct {
		line, why string
	}{
		{"", "blank line"},
		{"   ", "blank line"},
		{`{"key":"k","value":`, "not a JSON object"},
		{`["k","v"]`, "not a JSON object"},
		{`{"key":"","value":"x"}`, "empty key"},
		{`{"key_base64":"","value":"x"}`, "empty key"},
		{`{"key":"` + strings.Repeat("k", lsm.MaxKeySize+1) + `","value":"x"}`, "key of 65537 bytes is over the limit of 65536"},
		{`{"key_base64":"!!!","value":"x"}`, `field "key_base64": bad base64`},
		{`{"key":"k","value_base64":"AP8"}`, `field "value_base64": bad base64`},
		{`{"value":"x"}`, "no key"},
		{`{"key":"k"}`, "no value"},
		{`{"key":"k","value":null}`, `field "value": want a string, got null`},
		{`{"key":7,"value":"x"}`, `field "key": want a string, got 7`},
		{`{"key":"k","key_base64":"aw==","value":"x"}`, `both "key" and "key_base64"`},
		{`{"key":"k","value":"v","ttl":60}`, `unknown field "ttl"`},
		{`{"key":"k","value":"v","expires_at_ms":"soon"}`, "expires_at_ms"},
		{`{"key":"k","value":"v","expires_at_ms":0}`, "expires_at_ms 0 is not a time"},
		{`{"key":"k","value":"v","expires_at_ms":-99999999999999999999}`, "expires_at_ms -99999999999999999999 is not a time"},
		{`{"key":"k","value":"v","expires_at_ms":null}`, "expires_at_ms is null (omit the field for no expiry)"},
		{`{"key":"k","value":"v","expires_at_ms":1.5e12}`, "expires_at_ms 1.5e12 is not a whole number of milliseconds"},
		// A decoder keeps the last of two fields of one name: the first
		// would be skipped silently.
		{`{"key":"k","value":"v","key":"k2"}`, `field "key" given twice`},
		{`{"key":"k","value":"v","expires_at_ms":1,"expires_at_ms":2}`, `field "expires_at_ms" given twice`},
		// A decoder turns bytes that are not UTF-8, and half a surrogate
		// pair, into U+FFFD: the key written would not be the one given.
		{"{\"key\":\"k\xff\",\"value\":\"v\"}", "not UTF-8"},
		{`{"key":"k\ud800","value":"v"}`, `a \u escape of half a surrogate pair`},
		{`{"key":"k","value":"\udc00"}`, `a \u escape of half a surrogate pair`},
		{`{"key":"k","value":"\ud800\u0041"}`, `a \u escape of half a surrogate pair`},
		{`null`, "not a JSON object"},
	} {
		db := filepath.Join(base, fmt.Sprint(i))
		in := good + c.line + "\n" + `{"key":"after","value":"3"}` + "\n"
		r := kv(t, db, []byte(in), "import", "-")
		require.Equal(t, 2, r.code, "line %q: %s", c.line, r.stderr)
		require.Contains(t, r.stderr, "line 3: "+c.why, "line %q", c.line)
		require.Contains(t, r.stderr, "imported 2 keys, from the lines before line 3\n")
		r = kv(t, db, nil, "scan")
		require.Equal(t, "\"\\x00\\xff\"\t2\na\t1\n", r.stdout, "line %q: the lines before are written, none after", c.line)
	}
}

// A bad line after more lines than one batch holds: every line before it is
// written, those of the unfinished batch included.
func TestImportWritesEveryLineBeforeABadOne(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	var in strings.Builder
	for i := range 1500 {
		fmt.Fprintf(&in, `{"key":"k%04d","value":"v"}`+"\n", i)
	}
	in.WriteString(`{"key":"","value":"v"}` + "\n")
	r := kv(t, db, []byte(in.String()), "import", "-")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "imported 1500 keys, from the lines before line 1501\n")
	require.Contains(t, r.stderr, "line 1501: empty key")
	r = kv(t, db, nil, "scan", "--keys-only")
	require.Equal(t, 1500, strings.Count(r.stdout, "\n"))
}

// The count goes to standard error on success too, not only on a terminal,
// with the keys skipped because they had expired.
func TestImportReportsItsCount(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	in := `{"key":"a","value":"1"}` + "\n" +
		`{"key":"old","value":"x","expires_at_ms":1000}` + "\n" +
		fmt.Sprintf(`{"key":"b","value":"2","expires_at_ms":%d}`, time.Now().Add(time.Hour).UnixMilli()) + "\n"
	r := kv(t, db, []byte(in), "import", "-")
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, "imported 2 keys, skipped 1 already expired\n", r.stderr)
	require.Empty(t, r.stdout)
	require.Equal(t, "a\nb\n", kv(t, db, nil, "scan", "--keys-only").stdout)
}

// countingReader serves n bytes and counts what was taken.
type countingReader struct{ left, served int64 }

func (r *countingReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	n := int64(len(p))
	n = min(n, r.left)
	clear(p[:n])
	r.left -= n
	r.served += n
	return int(n), nil
}

// put KEY - stops reading standard input one byte past the value limit.
func TestPutFromStdinStopsAtTheLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("pipes 256 MiB")
	}
	db := filepath.Join(t.TempDir(), "db")
	const extra = 64 << 20
	for _, args := range [][]string{{"put", "big", "-"}, {"put-item", "p", "big", "-"}} {
		in := &countingReader{left: lsm.MaxValueSize + extra}
		cmd := exec.Command(kvctlBin, append([]string{"--db", db}, args...)...)
		cmd.Stdin = in
		var errb bytes.Buffer
		cmd.Stderr = &errb
		err := cmd.Run()
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee)
		require.Equal(t, 2, ee.ExitCode())
		// What the process read, plus at most what the pipe and one copy
		// buffer held when it exited.
		require.Less(t, in.served, int64(lsm.MaxValueSize+1+4<<20), "kvctl %s read on past the limit", strings.Join(args, " "))
		require.Contains(t, errb.String(), "over the limit of 268435456 bytes")
		require.Equal(t, "absent", listing(t, db), "nothing was opened or written")
	}
}

// Escapes that are characters are kept: a surrogate pair, and an escaped
// backslash before "u".
func TestImportKeepsEscapedCharacters(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	in := `{"key":"\ud83d\ude00","value":"\\ud800 \u00e9"}` + "\n"
	r := kv(t, db, []byte(in), "import", "-")
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, "\U0001F600\t\\ud800 \u00e9\n", kv(t, db, nil, "scan").stdout)
}

// Each key expires at its expires_at_ms, however long the import took to
// read the lines before its batch was written: the TTL is reckoned when the
// batch is written, not when the import began. (Reckoned at the start, a key
// read 2 s into the import expired 2 s late.)
func TestImportExpiryIsTheLines(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	at := time.Now().Add(time.Hour).UnixMilli()
	cmd := exec.Command(kvctlBin, "--db", db, "import", "-")
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	require.NoError(t, cmd.Start())
	_, err = fmt.Fprintf(stdin, `{"key":"a","value":"1","expires_at_ms":%d}`+"\n", at)
	require.NoError(t, err)
	time.Sleep(2 * time.Second) // a slow source: the rest of the lines come later
	_, err = fmt.Fprintf(stdin, `{"key":"b","value":"2","expires_at_ms":%d}`+"\n", at)
	require.NoError(t, err)
	require.NoError(t, stdin.Close())
	require.NoError(t, cmd.Wait(), errb.String())
	r := kv(t, db, nil, "--json", "scan")
	var got []int64
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var obj struct {
			At int64 `json:"expires_at_ms"`
		}
		require.NoError(t, json.Unmarshal([]byte(l), &obj))
		got = append(got, obj.At)
	}
	require.Len(t, got, 2)
	for _, g := range got {
		// The batch's write follows the clock reading by microseconds;
		// the second of slack is for a machine that stalls in between.
		require.GreaterOrEqual(t, g, at)
		require.Less(t, g, at+1000, "an expiry %d ms after the line's", g-at)
	}
}

// A batch holds at most 16 MiB of keys and values, not only 1000 keys:
// three values of 9 MiB are two WAL records, not one of 27 MiB (a thousand
// large values in one batch would need gigabytes of memory).
func TestImportBatchesByBytes(t *testing.T) {
	if testing.Short() {
		t.Skip("pipes 27 MiB")
	}
	db := filepath.Join(t.TempDir(), "db")
	var in bytes.Buffer
	big := strings.Repeat("v", 9<<20)
	for i := range 3 {
		fmt.Fprintf(&in, `{"key":"k%d","value":"%s"}`+"\n", i, big)
	}
	// A limit large enough for 64 MiB memtables, whatever the container's:
	// no memtable is flushed (and its WAL segment deleted) mid-import.
	r := kv(t, db, in.Bytes(), "--memory-limit", "2GiB", "import", "-")
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, "imported 3 keys\n", r.stderr)
	logs, _ := filepath.Glob(filepath.Join(db, "*.log"))
	records := 0
	for _, l := range logs {
		f, err := os.Open(l)
		require.NoError(t, err)
		r := wal.NewReader(f, l)
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
			records++
		}
		require.NoError(t, f.Close())
	}
	require.Equal(t, 2, records)
}

package main

import (
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/lsm"
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

package main

import (
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Any key scan shows, and any sort key query shows, pasted as it is into a
// shell line, names that key.
func TestShellReadsBackTheKeysScanShows(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	keys := []string{
		"plain", "user:1#x", "two words", `say "hi"`, `back\slash`, `back\nslash`, "it's",
		`"quoted"`, "tab\there", "nl\nhere", "\x00\x01\xff", "ünïcode", "é\u00e9", "\x7f", "\\", `\"`,
	}
	var in strings.Builder
	for i, k := range keys {
		fmt.Fprintf(&in, `{"key_base64":%q,"value":"v%d"}`+"\n", base64.StdEncoding.EncodeToString([]byte(k)), i)
	}
	r := kv(t, db, []byte(in.String()), "import", "-")
	require.Equal(t, 0, r.code, r.stderr)
	for i, k := range keys {
		if !strings.Contains(k, "\x00") { // an argument cannot hold a NUL byte
			require.Equal(t, 0, kv(t, db, nil, "put-item", "p", k, fmt.Sprintf("i%d", i)).code, "sort key %q", k)
		}
	}

	for _, c := range []struct{ list, get string }{
		{"scan", "get %s\n"},
		{"query p", "get-item p %s\n"},
	} {
		lines := strings.Split(strings.TrimSuffix(kv(t, db, nil, strings.Fields(c.list)...).stdout, "\n"), "\n")
		require.GreaterOrEqual(t, len(lines), len(keys)-1)
		var script, want strings.Builder
		for _, l := range lines {
			key, value, ok := strings.Cut(l, "\t")
			require.True(t, ok, l)
			fmt.Fprintf(&script, c.get, key)
			want.WriteString(value + "\n")
		}
		r = kv(t, db, []byte(script.String()), "shell")
		require.Equal(t, 0, r.code, "%s; script:\n%s\nstderr: %s", c.list, script.String(), r.stderr)
		require.Equal(t, want.String(), r.stdout, c.list)
	}
}

// Double quotes take Go escapes; single quotes are literal; bad quoting is
// an error for that line.
func TestShellQuoting(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	script := strings.Join([]string{
		`put "a\x01\nb\"c\\" one`,
		`put 'lit\n"' two`,
		`put bare\ word three`,
		`put "\u00e9\303\251" four`,
		`put "unterminated x`,
		`put "bad\q" x`,
		`put trailing\`,
		`scan`,
	}, "\n") + "\n"
	r := kv(t, db, []byte(script), "shell")
	require.Equal(t, 2, r.code)
	require.Equal(t, "\"a\\x01\\nb\\\"c\\\\\"\tone\n\"bare word\"\tthree\n\"lit\\\\n\\\"\"\ttwo\néé\tfour\n", r.stdout)
	require.Contains(t, r.stderr, "unterminated double quote")
	require.Contains(t, r.stderr, `bad escape in "bad\q"`)
	require.Contains(t, r.stderr, "backslash at the end")
	require.Contains(t, r.stderr, "3 command(s) failed")
}

// The global flags that open the database are refused on a shell line,
// wherever they are on it; --json given to the shell holds on every line,
// and may be given on one line.
func TestShellRefusesGlobalFlagsOnALine(t *testing.T) {
	dir := t.TempDir()
	db, other := filepath.Join(dir, "db"), filepath.Join(dir, "other")
	require.Equal(t, 0, kv(t, other, nil, "put", "k", "other").code)
	for _, line := range []string{
		"--db " + other + " get k", "get k --db " + other, "--sync always put k v", "put k v --sync=no",
		"--read-only get k", "get k --wait 1s", "get k --memory-limit 1GiB", "--memory-limit=64MiB get k",
	} {
		r := kv(t, db, []byte("put k mine\n"+line+"\n"), "shell")
		require.Equal(t, 2, r.code, "line %q", line)
		require.Contains(t, r.stderr, "on a shell line: it applies to the whole shell", "line %q", line)
		require.Empty(t, r.stdout, "line %q ran", line)
	}
	r := kv(t, db, []byte("get k\n--json get k\n"), "shell")
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, "mine\n{\"key\":\"k\",\"value\":\"mine\"}\n", r.stdout)
	r = kv(t, db, []byte("get k\n"), "--json", "shell")
	require.Equal(t, "{\"key\":\"k\",\"value\":\"mine\"}\n", r.stdout)
}

// A line that would read standard input (a VALUE of "-", import -) is
// refused: the shell reads its own commands there, so the value would be
// the lines after it, or whatever of them the shell had not buffered yet.
// repair is refused too: it needs the database closed, and the shell holds
// it open. The lines after each refusal run as written.
func TestShellRefusesLinesThatWouldReadItsInputOrCloseTheDB(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	for _, c := range []struct{ line, why string }{
		{"put b -", `a VALUE of "-" reads standard input, which is the shell's own`},
		{"put-item p s -", `a VALUE of "-" reads standard input, which is the shell's own`},
		{"import -", "import - reads standard input, which is the shell's own"},
		{"repair", "repair is not available inside the shell"},
	} {
		script := "put k v\n" + c.line + "\nget k\nput after 1\nget after\n"
		r := kv(t, db, []byte(script), "shell")
		require.Equal(t, 2, r.code, "line %q", c.line)
		require.Contains(t, r.stderr, c.why, "line %q", c.line)
		require.Contains(t, r.stderr, "1 command(s) failed", "line %q", c.line)
		require.Equal(t, "v\n1\n", r.stdout, "line %q: the lines after it run, on the open database", c.line)
	}
	r := kv(t, db, nil, "scan")
	require.Equal(t, "after\t1\nk\tv\n", r.stdout, "no key b, no item: nothing was written from the script")
}

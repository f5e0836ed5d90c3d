package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// --between A B, wherever it stands among the arguments, is the range of the
// partition named; --from and --to give each bound; a reversed range is an
// error, as DynamoDB's BETWEEN.
func TestQueryRanges(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	// A partition named like a sort key of the other, so a swapped argument
	// would query the wrong partition rather than fail.
	for _, sk := range []string{"a", "b", "c", "d"} {
		require.Equal(t, 0, kv(t, db, nil, "put-item", "p", sk, "p-"+sk).code)
		require.Equal(t, 0, kv(t, db, nil, "put-item", "c", sk, "c-"+sk).code)
	}
	const bc = "b\tp-b\nc\tp-c\n"
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"query", "p", "--between", "b", "c"}, bc},
		{[]string{"query", "--between", "b", "c", "p"}, bc},
		{[]string{"query", "--between=b", "c", "p"}, bc},
		{[]string{"query", "--limit", "5", "--between", "b", "c", "p", "--reverse"}, "c\tp-c\nb\tp-b\n"},
		{[]string{"query", "p", "--from", "b", "--to", "c"}, bc},
		{[]string{"query", "--to", "c", "--from", "b", "p"}, bc},
		{[]string{"query", "p", "--from", "c"}, "c\tp-c\nd\tp-d\n"},
		{[]string{"query", "p", "--to", "b"}, "a\tp-a\nb\tp-b\n"},
		{[]string{"query", "p", "--from", "b", "--to", "b"}, "b\tp-b\n"},
		{[]string{"--json", "query", "--between", "b", "b", "c"}, `{"pk":"c","sk":"b","value":"c-b"}` + "\n"},
	} {
		r := kv(t, db, nil, c.args...)
		require.Equal(t, 0, r.code, "kvctl %s: %s", strings.Join(c.args, " "), r.stderr)
		require.Equal(t, c.want, r.stdout, "kvctl %s", strings.Join(c.args, " "))
	}
	// The shell takes --between the same way.
	r := kv(t, db, []byte("query --between b c p\n"), "shell")
	require.Equal(t, bc, r.stdout, r.stderr)

	for _, c := range []struct {
		args []string
		why  string
	}{
		{[]string{"query", "p", "--between", "c", "b"}, "the range is reversed: c (from) sorts after b (to)"},
		{[]string{"query", "p", "--from", "d", "--to", "a"}, "the range is reversed: d (from) sorts after a (to)"},
		{[]string{"query", "p", "--between", "b"}, "--between takes two sort keys"},
		{[]string{"query", "p", "--between", "a", "b", "--to", "c"}, "--between A B is --from A --to B: give one or the other"},
		{[]string{"query", "p", "--between", "a", "b", "c"}, "query takes 1 argument(s), got 2"},
		{[]string{"query", "--from", "a"}, "query takes 1 argument(s), got 0"},
		// The parser keeps the last of a repeated flag: a second range
		// would replace the first silently.
		{[]string{"query", "p", "--between", "b", "c", "--between", "a", "b"}, "--between given twice: give one range"},
		{[]string{"query", "--between=b", "c", "p", "--between=a", "b"}, "--between given twice: give one range"},
		// Only the query command's --between is two words: "query" as the
		// value of --db is not the command.
		{[]string{"--sync", "no", "get", "query", "--between", "a", "b"}, "unknown flag: --between\n"},
	} {
		r := kv(t, db, nil, c.args...)
		require.Equal(t, 2, r.code, "kvctl %s", strings.Join(c.args, " "))
		require.Contains(t, r.stderr, c.why, "kvctl %s", strings.Join(c.args, " "))
		require.Empty(t, r.stdout)
	}
}

// get --raw and get-item --raw write the value byte for byte, so a
// redirection to a file gives the file back.
func TestGetRawRoundTripsAFile(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	for _, val := range [][]byte{
		{0xFF, 0xD8, 0xFF, 0xE0, 0, 1, 2, '\n', 0x80, '\r', '\n'}, // ends in a newline
		[]byte("text without a newline"),
		{'\n'},
		{},
	} {
		require.Equal(t, 0, kv(t, db, val, "put", "photo:1", "-").code)
		require.Equal(t, 0, kv(t, db, val, "put-item", "user#1", "avatar", "-").code)
		for _, args := range [][]string{{"get", "photo:1", "--raw"}, {"get-item", "user#1", "avatar", "--raw"}} {
			out := filepath.Join(dir, "out")
			f, err := os.Create(out)
			require.NoError(t, err)
			cmd := exec.Command(kvctlBin, append([]string{"--db", db}, args...)...)
			cmd.Stdout = f
			require.NoError(t, cmd.Run())
			require.NoError(t, f.Close())
			got, err := os.ReadFile(out)
			require.NoError(t, err)
			require.True(t, bytes.Equal(val, got), "kvctl %s: want %q, got %q", strings.Join(args, " "), val, got)
		}
		// Without --raw, a newline follows.
		require.Equal(t, string(val)+"\n", kv(t, db, nil, "get", "photo:1").stdout)
	}
	r := kv(t, db, nil, "--json", "get", "photo:1", "--raw")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "--raw and --json exclude each other")
	r = kv(t, db, nil, "get", "absent", "--raw")
	require.Equal(t, 1, r.code)
	require.Empty(t, r.stdout)
}

// scan and compact refuse a reversed --start/--end as query refuses a
// reversed range: an empty answer would look like no keys, not a typo.
func TestScanAndCompactRefuseAReversedRange(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	require.Equal(t, 0, kv(t, db, []byte("put a 1\nput b 2\n"), "shell").code)
	for _, args := range [][]string{
		{"scan", "--start", "b", "--end", "a"}, {"scan", "--end", "a", "--start", "b", "--reverse"},
		{"compact", "--start", "b", "--end", "a"},
	} {
		r := kv(t, db, nil, args...)
		require.Equal(t, 2, r.code, "kvctl %s", strings.Join(args, " "))
		require.Contains(t, r.stderr, "the range is reversed: b (--start) sorts after a (--end)")
		require.Empty(t, r.stdout)
	}
	// An empty range [a, a) is not reversed; a range in order works.
	r := kv(t, db, nil, "scan", "--start", "a", "--end", "a")
	require.Equal(t, 0, r.code, r.stderr)
	require.Empty(t, r.stdout)
	require.Equal(t, "a\t1\n", kv(t, db, nil, "scan", "--start", "a", "--end", "b").stdout)
	require.Equal(t, 0, kv(t, db, nil, "compact", "--start", "a", "--end", "b").code)
}

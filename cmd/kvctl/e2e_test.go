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

// kvctlBin is the binary built once for the end-to-end tests.
var kvctlBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kvctl-e2e-")
	if err != nil {
		panic(err)
	}
	kvctlBin = filepath.Join(dir, "kvctl")
	out, err := exec.Command("go", "build", "-o", kvctlBin, ".").CombinedOutput()
	if err != nil {
		os.Stderr.Write(out)
		os.RemoveAll(dir)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// kv runs the built kvctl as a user types it, with stdin, against db.
func kv(t *testing.T, db string, stdin []byte, args ...string) result {
	t.Helper()
	cmd := exec.Command(kvctlBin, append([]string{"--db", db}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return result{out.String(), errb.String(), code}
}

func TestPutFromAPipeAndGet(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	r := kv(t, db, []byte("line one\nline two\n"), "put", "note", "-")
	require.Equal(t, 0, r.code, r.stderr)
	r = kv(t, db, nil, "get", "note")
	require.Equal(t, 0, r.code)
	require.Equal(t, "line one\nline two\n\n", r.stdout, "stdin is kept byte for byte, newline included")
}

func TestBinaryValueRoundTrip(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	val := make([]byte, 4096)
	for i := range val {
		val[i] = byte(i * 7)
	}
	require.Equal(t, 0, kv(t, db, val, "put", "blob", "-").code)
	r := kv(t, db, nil, "get", "blob")
	require.Equal(t, 0, r.code)
	require.Equal(t, append(append([]byte{}, val...), '\n'), []byte(r.stdout))
	r = kv(t, db, nil, "scan")
	require.Contains(t, r.stdout, "blob\t\"\\x00\\a\\x0e", "binary values are Go-quoted in scan")
}

func TestExportThenImportGivesTheSameScan(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	require.Equal(t, 0, kv(t, src, nil, "put", "a", "1").code)
	require.Equal(t, 0, kv(t, src, nil, "put", "b", "two words", "--ttl", "1h").code)
	require.Equal(t, 0, kv(t, src, []byte{0, 0xFF, 1}, "put", "bin", "-").code)
	require.Equal(t, 0, kv(t, src, nil, "put-item", "user#1", "order#1", "x").code)
	file := filepath.Join(dir, "dump.jsonl")
	r := kv(t, src, nil, "export", file)
	require.Equal(t, 0, r.code, r.stderr)
	r = kv(t, dst, nil, "import", file)
	require.Equal(t, 0, r.code, r.stderr)
	a, b := kv(t, src, nil, "scan"), kv(t, dst, nil, "scan")
	require.Equal(t, a.stdout, b.stdout)
	require.Equal(t, 4, strings.Count(a.stdout, "\n"))
	ttl := kv(t, dst, nil, "ttl", "b")
	require.Equal(t, 0, ttl.code)
	require.NotEqual(t, "-1\n", ttl.stdout, "the TTL travels with the key")
	// JSON output of the same scan.
	j := kv(t, src, nil, "--json", "scan")
	require.Contains(t, j.stdout, `"value_base64":"AP8B"`)
	require.Contains(t, j.stdout, `"key":"a","value":"1"`)
}

func TestShellDrivenThroughStdin(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	script := "put greeting \"hello world\"\nget greeting\nincr n --by 5\nincr n\nget missing\nquery p\nexit\nget greeting\n"
	r := kv(t, db, []byte(script), "shell")
	require.Equal(t, "hello world\n5\n6\n", r.stdout)
	require.Contains(t, r.stderr, "not found")
	require.Equal(t, 2, r.code, "a failed command inside the shell makes it exit 2")
	r = kv(t, db, []byte("get greeting\n"), "shell")
	require.Equal(t, 0, r.code)
	require.Equal(t, "hello world\n", r.stdout)
}

func TestExitStatuses(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"put", "k", "v"}, 0},
		{[]string{"get", "k"}, 0},
		{[]string{"get", "absent"}, 1},
		{[]string{"put", "k", "v2", "--nx"}, 1},
		{[]string{"put", "new", "v", "--xx"}, 1},
		{[]string{"del", "absent"}, 1},
		{[]string{"del", "k"}, 0},
		{[]string{"ttl", "absent"}, 1},
		{[]string{"expire", "absent", "1m"}, 1},
		{[]string{"get-item", "p", "s"}, 1},
		{[]string{"del-item", "p", "s"}, 1},
		{[]string{"put", "k"}, 2},                       // missing argument
		{[]string{"put", "k", "v", "--ttl", "soon"}, 2}, // bad flag value
		{[]string{"frobnicate"}, 2},                     // unknown command
		{[]string{"--sync", "sometimes", "get", "k"}, 2},
		{[]string{"put", "k", "v", "--nx", "--xx"}, 2},
		{[]string{"dump", "sst", filepath.Join(db, "missing.sst")}, 2},
		{[]string{"check"}, 0},
		{[]string{"stats"}, 0},
		{[]string{"flush"}, 0},
		{[]string{"compact"}, 0},
	} {
		r := kv(t, db, nil, c.args...)
		require.Equal(t, c.code, r.code, "kvctl %s: stderr %q", strings.Join(c.args, " "), r.stderr)
		if c.code != 0 {
			require.NotEmpty(t, r.stderr, "a failure says why")
		}
	}
	r := kv(t, db, nil, "put", "k")
	require.Contains(t, r.stderr, "Usage:", "a bad argument prints the usage")
}

func TestCheckReportsCorruptionWithFileAndOffset(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	for i := 0; i < 50; i++ {
		require.Equal(t, 0, kv(t, db, nil, "put", "key"+strings.Repeat("x", i), strings.Repeat("v", 100)).code)
	}
	require.Equal(t, 0, kv(t, db, nil, "flush").code)
	tables, _ := filepath.Glob(filepath.Join(db, "*.sst"))
	require.NotEmpty(t, tables)
	data, err := os.ReadFile(tables[0])
	require.NoError(t, err)
	data[20] ^= 0x40 // inside the first data block
	require.NoError(t, os.WriteFile(tables[0], data, 0o644))
	r := kv(t, db, nil, "check")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, filepath.Base(tables[0]))
	require.Contains(t, r.stderr, "offset")
}

func TestDumpEachFileKind(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	require.Equal(t, 0, kv(t, db, nil, "put", "alpha", "1").code)
	require.Equal(t, 0, kv(t, db, nil, "put", "beta", "2", "--ttl", "1h").code)
	require.Equal(t, 0, kv(t, db, nil, "flush").code)
	require.Equal(t, 0, kv(t, db, nil, "put", "gamma", "3").code)
	for kind, pattern := range map[string]string{"sst": "*.sst", "wal": "*.log", "manifest": "MANIFEST-*"} {
		files, _ := filepath.Glob(filepath.Join(db, pattern))
		require.NotEmpty(t, files, kind)
		var r result
		for _, f := range files {
			one := kv(t, db, nil, "dump", kind, f)
			require.Equal(t, 0, one.code, "%s: %s", kind, one.stderr)
			r.stdout += one.stdout
		}
		switch kind {
		case "sst":
			require.Contains(t, r.stdout, "alpha #")
			require.Contains(t, r.stdout, "expires")
		case "wal":
			require.Contains(t, r.stdout, "gamma #")
		case "manifest":
			require.Contains(t, r.stdout, "@")
		}
	}
}

func TestQueryAndItems(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	for _, sk := range []string{"order#1", "order#2", "order#3", "profile"} {
		require.Equal(t, 0, kv(t, db, nil, "put-item", "user#1", sk, "v-"+sk).code)
	}
	r := kv(t, db, nil, "query", "user#1", "--begins-with", "order#", "--reverse", "--limit", "2")
	require.Equal(t, "order#3\tv-order#3\norder#2\tv-order#2\n", r.stdout)
	r = kv(t, db, nil, "query", "user#1", "--between", "order#2", "order#3")
	require.Equal(t, "order#2\tv-order#2\norder#3\tv-order#3\n", r.stdout)
	r = kv(t, db, nil, "query", "user#1", "--after", "order#3")
	require.Equal(t, "profile\tv-profile\n", r.stdout)
	r = kv(t, db, nil, "get-item", "user#1", "profile")
	require.Equal(t, "v-profile\n", r.stdout)
}

func TestDemoRuns(t *testing.T) {
	r := kv(t, filepath.Join(t.TempDir(), "unused"), nil, "demo")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "Done in")
}

package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// listing returns the names and sizes of the files in dir, or "absent".
func listing(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return "absent"
	}
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		fi, err := e.Info()
		require.NoError(t, err)
		out = append(out, e.Name()+":"+strconv.FormatInt(fi.Size(), 10))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// Every command that needs an existing database, given a directory that
// holds none (a typo in --db, or an empty directory), exits 2 naming the
// directory and leaves it as it was: no empty database is created.
func TestCommandsNeverCreateADatabase(t *testing.T) {
	base := t.TempDir()
	empty := filepath.Join(base, "empty")
	require.NoError(t, os.Mkdir(empty, 0o755))
	for _, dir := range []string{filepath.Join(base, "typo"), empty} {
		before := listing(t, dir)
		for _, args := range [][]string{
			{"check"}, {"get", "k"}, {"--json", "get", "k"}, {"get-item", "p", "s"}, {"scan"},
			{"query", "p"}, {"ttl", "k"}, {"stats"}, {"--json", "stats"}, {"export"},
			{"del", "k"}, {"del-item", "p", "s"}, {"expire", "k", "1m"}, {"flush"}, {"compact"},
			{"checkpoint", filepath.Join(base, "backup")}, {"repair"},
			{"type", "k"}, {"keys"}, {"hget", "h", "f"}, {"hgetall", "h"}, {"lrange", "l", "0", "-1"},
			{"smembers", "s"}, {"zrange", "z", "0", "-1"},
			{"--read-only", "put", "k", "v"}, {"--read-only", "import", "-"}, {"--read-only", "shell"},
		} {
			r := kv(t, dir, nil, args...)
			require.Equal(t, 2, r.code, "kvctl --db %s %s: %q", dir, strings.Join(args, " "), r.stderr)
			require.Contains(t, r.stderr, "no database in "+dir)
			require.Empty(t, r.stdout)
			require.Equal(t, before, listing(t, dir), "kvctl %s created files", strings.Join(args, " "))
		}
		// dump reads one file and never opens --db at all.
		r := kv(t, dir, nil, "dump", "sst", filepath.Join(base, "none.sst"))
		require.Equal(t, 2, r.code)
		require.Equal(t, before, listing(t, dir))
		require.Equal(t, "absent", listing(t, filepath.Join(base, "backup")), "no half-made checkpoint")
	}
	// The commands that write create the database.
	r := kv(t, filepath.Join(base, "new"), nil, "put", "k", "v")
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, "v\n", kv(t, filepath.Join(base, "new"), nil, "get", "k").stdout)
}

// Reading commands open the database read-only: they change nothing in it
// (a writable open would flush the WAL it replays into a new table).
func TestReadingCommandsChangeNothing(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	require.Equal(t, 0, kv(t, db, nil, "put", "a", "1").code)
	require.Equal(t, 0, kv(t, db, nil, "put", "b", "2", "--ttl", "1h").code)
	require.Equal(t, 0, kv(t, db, nil, "put-item", "p", "s", "3").code)
	before := listing(t, db)
	require.Contains(t, before, ".log:", "the writes are still only in the WAL")
	for _, args := range [][]string{
		{"get", "a"}, {"get-item", "p", "s"}, {"scan"}, {"query", "p"}, {"ttl", "b"},
		{"stats"}, {"check"}, {"export"}, {"--read-only", "get", "a"},
	} {
		r := kv(t, db, nil, args...)
		require.Equal(t, 0, r.code, "kvctl %s: %s", strings.Join(args, " "), r.stderr)
		require.Equal(t, before, listing(t, db), "kvctl %s changed the database", strings.Join(args, " "))
	}
	require.Contains(t, kv(t, db, nil, "stats").stdout, "read_only:true")

	// --read-only refuses every write with exit 2.
	for _, args := range [][]string{
		{"put", "a", "x"}, {"del", "a"}, {"incr", "n"}, {"expire", "a", "1m"}, {"flush"}, {"compact"},
		{"repair"}, {"del", "--prefix", "a"}, {"put-item", "p", "s", "x"}, {"del-item", "p", "s"},
	} {
		r := kv(t, db, nil, append([]string{"--read-only"}, args...)...)
		require.Equal(t, 2, r.code, "kvctl --read-only %s: %q", strings.Join(args, " "), r.stderr)
		require.Contains(t, r.stderr, "read-only")
	}
	require.Equal(t, before, listing(t, db))
	require.Equal(t, "1\n", kv(t, db, nil, "get", "a").stdout)

	// A checkpoint of a read-only open copies what it replayed from the WAL,
	// and changes nothing in the source.
	cp := filepath.Join(t.TempDir(), "cp")
	r := kv(t, db, nil, "--read-only", "checkpoint", cp)
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, before, listing(t, db))
	require.Equal(t, "1\n", kv(t, cp, nil, "get", "a").stdout)
}

// startKV starts kvctl in the background with pipes to its standard streams.
func startKV(t *testing.T, db string, args ...string) (*exec.Cmd, io.WriteCloser, *bufio.Reader, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command(kvctlBin, append([]string{"--db", db}, args...)...)
	in, err := cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	errp, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, in, bufio.NewReader(out), bufio.NewReader(errp)
}

// A database open in another process is an exit-2 error that says how to
// wait for it; --wait waits until the other process lets go.
func TestLockedDatabaseAndWait(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	require.Equal(t, 0, kv(t, db, nil, "put", "a", "1").code)

	// A shell holds the database open until its input ends.
	shell, shellIn, shellOut, _ := startKV(t, db, "shell")
	_, err := io.WriteString(shellIn, "put b 2\nget b\n")
	require.NoError(t, err)
	line, err := shellOut.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "2\n", line, "the shell has the database open")

	for _, args := range [][]string{{"get", "a"}, {"put", "c", "3"}, {"--read-only", "scan"}, {"repair"}} {
		r := kv(t, db, nil, args...)
		require.Equal(t, 2, r.code, "kvctl %s", strings.Join(args, " "))
		require.Contains(t, r.stderr, db+" is locked by another process (use --wait 5s to wait for it)")
	}
	for _, args := range [][]string{{"get", "a"}, {"repair"}} {
		r := kv(t, db, nil, append([]string{"--wait", "100ms"}, args...)...)
		require.Equal(t, 2, r.code)
		require.Contains(t, r.stderr, "still locked by another process after waiting 100ms", "kvctl %s", strings.Join(args, " "))
	}
	r := kv(t, db, nil, "--wait", "-1s", "repair")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "--wait must not be negative")
	r = kv(t, db, nil, "--wait", "-1s", "get", "a")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "--wait")

	// A waiting reader says it waits, then gets in once the shell exits.
	waiter, _, waiterOut, waiterErr := startKV(t, db, "--wait", "10m", "get", "b")
	line, err = waiterErr.ReadString('\n')
	require.NoError(t, err)
	require.Contains(t, line, "is locked by another process; waiting up to 10m0s")
	require.NoError(t, shellIn.Close())
	require.NoError(t, shell.Wait())
	out, err := io.ReadAll(waiterOut)
	require.NoError(t, err)
	require.NoError(t, waiter.Wait())
	require.Equal(t, "2\n", string(out))
}

// An empty --db (a script's --db "$DIR" with DIR unset) is an error, not
// the default ./kvdata; a --db that is a file is no database.
func TestEmptyDBFlagAndAFileAsDB(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir) // where ./kvdata would be made
	for _, args := range [][]string{
		{"--db", "", "put", "k", "v"}, {"--db=", "check"}, {"get", "k", "--db", ""}, {"--db", "", "import", "-"},
	} {
		cmd := exec.Command(kvctlBin, args...)
		cmd.Env = append(os.Environ(), "KVCTL_DB=")
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "kvctl %s", strings.Join(args, " "))
		require.Equal(t, 2, ee.ExitCode())
		require.Contains(t, string(out), "--db: an empty directory name", "kvctl %s", strings.Join(args, " "))
	}
	require.Equal(t, "", listing(t, dir), "no ./kvdata was made")
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
	for _, args := range [][]string{{"check"}, {"get", "k"}, {"del", "k"}, {"repair"}} {
		r := kv(t, file, nil, args...)
		require.Equal(t, 2, r.code, "kvctl %s", strings.Join(args, " "))
		require.Equal(t, "kvctl: no database in "+file+" (not a directory)\n", r.stderr)
	}
}

package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// stats --json has the names of the text report, each with the same value:
// numbers as numbers, the sync mode by name, durations in seconds, and the
// levels of the L lines as a list.
func TestStatsJSONMatchesTheTextReport(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	for i := range 20 {
		require.Equal(t, 0, kv(t, db, nil, "put", "k"+strconv.Itoa(i), strings.Repeat("v", 100)).code)
	}
	require.Equal(t, 0, kv(t, db, nil, "flush").code)
	require.Equal(t, 0, kv(t, db, nil, "put", "late", "x").code)

	// Both reports from one process with a read-only database, where
	// nothing changes between them (memtable sizes differ from one replay
	// of the WAL to the next).
	r := kv(t, db, []byte("stats\n--json stats\n"), "--sync", "always", "--read-only", "shell")
	require.Equal(t, 0, r.code, r.stderr)
	i := strings.LastIndex(r.stdout, "\n{")
	require.Positive(t, i, r.stdout)
	text := result{stdout: r.stdout[:i+1]}
	var obj map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout[i+1:]), &obj), "one JSON object on the last line")

	levelLine := regexp.MustCompile(`^L(\d)$`)
	seen := map[string]bool{"levels": true}
	var levels []map[string]string
	for _, line := range strings.Split(text.stdout, "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		if levelLine.MatchString(name) {
			fields := map[string]string{"level": name[1:]}
			for _, f := range strings.Split(value, ",") {
				k, v, _ := strings.Cut(f, "=")
				fields[k] = v
			}
			levels = append(levels, fields)
			continue
		}
		seen[name] = true
		got, ok := obj[name]
		require.True(t, ok, "%s is in the text report, not in the JSON", name)
		switch g := got.(type) {
		case string:
			require.Equal(t, value, g, name)
		case bool:
			require.Equal(t, value, strconv.FormatBool(g), name)
		case float64:
			if d, err := time.ParseDuration(value); err == nil && strings.HasSuffix(name, "_time") {
				require.InDelta(t, d.Seconds(), g, 1e-9, "%s: %s is %v s", name, value, g)
				continue
			}
			want, err := strconv.ParseFloat(value, 64)
			require.NoError(t, err, "%s: %q", name, value)
			require.InDelta(t, want, g, 0.00005+want*1e-9, name)
		default:
			t.Fatalf("%s: JSON value %v of type %T", name, got, got)
		}
	}
	for name := range obj {
		require.True(t, seen[name], "%s is in the JSON, not in the text report", name)
	}
	require.Equal(t, "always", obj["sync_mode"])
	require.Contains(t, text.stdout, "sync_mode:always")

	jl, ok := obj["levels"].([]any)
	require.True(t, ok)
	require.Len(t, jl, len(levels))
	for i, l := range jl {
		lm := l.(map[string]any)
		require.Len(t, lm, len(levels[i]))
		for k, v := range levels[i] {
			want, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err)
			require.InDelta(t, want, lm[k], 0.005, "L%d %s", i, k)
		}
	}
	require.Positive(t, obj["tables"], "the flushed tables")
}

// dump manifest prints a table's expiry bounds as dump sst does.
func TestDumpManifestPrintsExpiriesAsDumpSST(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	r := kv(t, db, []byte("put a 1 --ttl 1h\nput b 2 --ttl 2h\nflush\n"), "shell")
	require.Equal(t, 0, r.code, r.stderr)
	tables, _ := filepath.Glob(filepath.Join(db, "*.sst"))
	require.Len(t, tables, 1)
	sst := kv(t, db, nil, "dump", "sst", tables[0])
	require.Equal(t, 0, sst.code, sst.stderr)
	m := regexp.MustCompile(`(?m)^expiry: (\S+) \.\. (\S+)$`).FindStringSubmatch(sst.stdout)
	require.NotNil(t, m, sst.stdout)
	from, err := time.Parse(time.RFC3339, m[1])
	require.NoError(t, err)
	to, err := time.Parse(time.RFC3339, m[2])
	require.NoError(t, err)
	require.InDelta(t, time.Hour.Seconds(), to.Sub(from).Seconds(), 60)

	manifests, _ := filepath.Glob(filepath.Join(db, "MANIFEST-*"))
	var out string
	for _, f := range manifests {
		r = kv(t, db, nil, "dump", "manifest", f)
		require.Equal(t, 0, r.code, r.stderr)
		out += r.stdout
	}
	require.Contains(t, out, "expiry: "+m[1]+" .. "+m[2])
	require.NotContains(t, out, "expiry=[")
}

// With --json a command prints JSON or refuses: del of a range says its
// count as an object, and dump, which prints text only, exits 2 rather than
// hand a script text it would fail to parse.
func TestJSONOutputOrARefusal(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	r := kv(t, db, []byte("put a1 1\nput a2 2\nput b 3\n"), "shell")
	require.Equal(t, 0, r.code, r.stderr)
	r = kv(t, db, nil, "--json", "del", "--prefix", "a")
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, `{"deleted":2}`+"\n", r.stdout)
	r = kv(t, db, nil, "del", "--start", "a", "--end", "c")
	require.Equal(t, "deleted 1 keys\n", r.stdout)
	logs, _ := filepath.Glob(filepath.Join(db, "*.log"))
	require.NotEmpty(t, logs)
	r = kv(t, db, nil, "--json", "dump", "wal", logs[0])
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "dump prints text only: leave out --json")
	require.Empty(t, r.stdout)
	// demo has no JSON form either: it refuses --json, before or after
	// the command word, and runs nothing.
	for _, args := range [][]string{{"--json", "demo"}, {"demo", "--json"}} {
		r = kv(t, db, nil, args...)
		require.Equal(t, 2, r.code, "kvctl %s", strings.Join(args, " "))
		require.Contains(t, r.stderr, "demo prints text only: leave out --json")
		require.Empty(t, r.stdout)
	}
}

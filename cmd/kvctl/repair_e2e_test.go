package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRepairADamagedWAL: one flipped bit in the middle of the WAL makes
// every command refuse the DB; repair keeps the writes before the damage,
// says what it dropped, and leaves a DB that opens and checks clean.
func TestRepairADamagedWAL(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	// One process writes the WAL: import commits a batch per 1000 lines, so
	// the segment holds 20 records.
	const n = 20_000
	var lines strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&lines, `{"key":"key%05d","value":"%s"}`+"\n", i, strings.Repeat("v", 80))
	}
	file := filepath.Join(dir, "in.jsonl")
	require.NoError(t, os.WriteFile(file, []byte(lines.String()), 0o644))
	r := kv(t, db, nil, "import", file)
	require.Equal(t, 0, r.code, r.stderr)
	logs, _ := filepath.Glob(filepath.Join(db, "*.log"))
	require.Len(t, logs, 1)
	data, err := os.ReadFile(logs[0])
	require.NoError(t, err)
	require.Greater(t, len(data), 1_000_000)
	data[len(data)/2] ^= 0x20
	require.NoError(t, os.WriteFile(logs[0], data, 0o644))

	for _, args := range [][]string{{"get", "key00000"}, {"check"}, {"scan"}} {
		r := kv(t, db, nil, args...)
		require.Equal(t, 2, r.code, "%v refuses the damaged DB", args)
		require.Contains(t, r.stderr, "corruption")
	}
	// --json reports the same on a copy, with snake_case names.
	dbCopy := filepath.Join(dir, "copy")
	require.NoError(t, os.CopyFS(dbCopy, os.DirFS(db)))
	r = kv(t, dbCopy, nil, "--json", "repair")
	require.Equal(t, 0, r.code, r.stderr)
	var rep struct {
		Damaged     bool   `json:"damaged"`
		Segment     string `json:"segment"`
		Offset      int64  `json:"offset"`
		KeptRecords int    `json:"kept_records"`
		Dropped     []struct {
			Segment string `json:"segment"`
			MovedTo string `json:"moved_to"`
			From    int64  `json:"from"`
			Bytes   int64  `json:"bytes"`
			Records int    `json:"records"`
			Writes  int    `json:"writes"`
		} `json:"dropped"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep), r.stdout)
	for _, name := range []string{"damaged", "segment", "offset", "reason", "kept_records", "last_seq", "dropped", "moved_to", "writes"} {
		require.Contains(t, r.stdout, `"`+name+`":`)
	}
	require.True(t, rep.Damaged)
	require.Equal(t, filepath.Join(dbCopy, filepath.Base(logs[0])), rep.Segment)
	require.Positive(t, rep.KeptRecords)
	require.Len(t, rep.Dropped, 1)
	d := rep.Dropped[0]
	require.Equal(t, filepath.Base(logs[0]), d.Segment)
	require.Equal(t, rep.Offset, d.From)
	require.Equal(t, int64(len(data))-d.From, d.Bytes)
	require.Equal(t, d.Records*1000, d.Writes, "whole batches of 1000 writes")
	require.Equal(t, filepath.Join(dbCopy, filepath.Base(logs[0]))+".damaged", d.MovedTo)

	r = kv(t, db, nil, "repair")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "damaged WAL segment "+logs[0])
	require.Contains(t, r.stdout, "dropped "+filepath.Base(logs[0])+" from offset")
	require.Contains(t, r.stdout, filepath.Base(logs[0])+".damaged")
	aside, err := os.ReadFile(logs[0] + ".damaged")
	require.NoError(t, err)
	require.Equal(t, data, aside, "the damaged segment is kept aside, unchanged")

	require.Equal(t, 0, kv(t, db, nil, "check").code)
	scan := kv(t, db, nil, "scan", "--keys-only")
	require.Equal(t, 0, scan.code, scan.stderr)
	keys := strings.Fields(scan.stdout)
	require.NotEmpty(t, keys)
	require.Less(t, len(keys), n, "the writes after the damage are gone")
	require.Zero(t, len(keys)%1000, "whole batches: a batch is all or nothing")
	for i, k := range keys {
		require.Equal(t, fmt.Sprintf("key%05d", i), k, "a prefix of the writes, without a hole")
	}

	// A second repair finds nothing to do and changes nothing; --json says
	// so with the snake_case names stats --json uses.
	r = kv(t, db, nil, "--json", "repair")
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, `{"damaged":false,"dropped":[]}`+"\n", r.stdout)
	r = kv(t, db, nil, "repair")
	require.Equal(t, "no damaged WAL segment: nothing changed\n", r.stdout)
}

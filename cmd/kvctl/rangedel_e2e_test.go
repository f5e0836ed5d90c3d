package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stratadb/strata/lsm"
	"github.com/stretchr/testify/require"
)

// TestDelRangeAndPrefix deletes a prefix and a range as a user types it,
// and finds the range tombstone in the WAL dump, then in the table dump.
func TestDelRangeAndPrefix(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	for _, k := range []string{"user:1", "user:2", "user:3", "usex", "a1", "b1", "c1"} {
		require.Equal(t, 0, kv(t, db, nil, "put", k, "v").code)
	}
	r := kv(t, db, nil, "del", "--prefix", "user:")
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, "deleted 3 keys\n", r.stdout)
	require.Equal(t, 1, kv(t, db, nil, "get", "user:2").code)
	require.Equal(t, 0, kv(t, db, nil, "get", "usex").code)

	r = kv(t, db, nil, "del", "--start", "a", "--end", "c")
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, "deleted 2 keys\n", r.stdout)

	wals, _ := filepath.Glob(filepath.Join(db, "*.log"))
	var dump string
	for _, f := range wals {
		dump += kv(t, db, nil, "dump", "wal", f).stdout
	}
	require.Contains(t, dump, "[a, c) #")
	require.Contains(t, dump, "RANGEDEL")
	// The command is one WAL record of one tombstone, no delete per key
	// (the WAL holds what the last command wrote: each run ends with Close).
	require.Equal(t, 1, strings.Count(dump, "RANGEDEL"), dump)
	require.Contains(t, dump, "1 records", dump)
	require.NotContains(t, dump, " DEL", dump)
	r = kv(t, db, nil, "scan", "--keys-only")
	require.Equal(t, "c1\nusex\n", r.stdout)

	require.Equal(t, 0, kv(t, db, nil, "flush").code)
	r = kv(t, db, nil, "scan", "--keys-only")
	require.Equal(t, "c1\nusex\n", r.stdout, "after the flush")

	// A table that keeps its range tombstone: the DB above may compact
	// its flushed table with the older ones at any moment and then drop
	// the tombstone with the keys it covers, so the dump is checked on a
	// table written with compactions held off: L0 far from its trigger,
	// and the tombstone over too little of the DB (a table of unrelated
	// data flushed first) for the picker to count it.
	tdb := filepath.Join(t.TempDir(), "tombstone")
	d, err := lsm.Open(tdb, &lsm.Options{L0CompactionTrigger: 100, L0SlowdownWrites: 100, L0StopWrites: 100})
	require.NoError(t, err)
	for i := 0; i < 50; i++ {
		require.NoError(t, d.Put([]byte(fmt.Sprintf("z%03d", i)), []byte(strings.Repeat("v", 1000))))
	}
	require.NoError(t, d.Flush())
	filler, _ := filepath.Glob(filepath.Join(tdb, "*.sst"))
	require.Len(t, filler, 1)
	for _, k := range []string{"a1", "b1", "c1"} {
		require.NoError(t, d.Put([]byte(k), []byte("v")))
	}
	require.NoError(t, d.DeleteRange([]byte("a"), []byte("c")))
	require.NoError(t, d.Flush())
	require.NoError(t, d.Close())
	ssts, _ := filepath.Glob(filepath.Join(tdb, "*.sst"))
	require.Len(t, ssts, 2)
	if ssts[0] == filler[0] {
		ssts = ssts[1:]
	}
	one := kv(t, tdb, nil, "dump", "sst", ssts[0])
	require.Equal(t, 0, one.code, one.stderr)
	require.Contains(t, one.stdout, "range tombstones:")
	require.Contains(t, one.stdout, "[a, c) #")
	require.Contains(t, one.stdout, "range-del")

	for _, bad := range [][]string{
		{"del", "x", "--prefix", "p"},
		{"del", "--start", "a"},
		{"del", "--prefix", "p", "--end", "q"},
		{"del", "--start", "b", "--end", "a"},
	} {
		r := kv(t, db, nil, bad...)
		require.NotEqual(t, 0, r.code, "%v", bad)
		require.NotEmpty(t, r.stderr, "%v", bad)
	}
}

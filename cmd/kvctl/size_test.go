package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseBytes(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		err  bool
	}{
		{"65536", 65536, false},
		{"256MiB", 256 << 20, false},
		{"256mb", 256 << 20, false},
		{"1G", 1 << 30, false},
		{"2GiB", 2 << 30, false},
		{"100B", 100, false},
		{"", 0, true},
		{"MiB", 0, true},
		{"-1", 0, true},
		{"1.5G", 0, true},
		{"99999999999TiB", 0, true},
	} {
		got, err := parseBytes(c.in)
		if c.err {
			require.Error(t, err, c.in)
			continue
		}
		require.NoError(t, err, c.in)
		require.Equal(t, c.want, got, c.in)
	}
}

// TestMemoryLimitFlag: --memory-limit reaches the DB (stats shows the bound
// it implies) and nonsense is a usage error.
func TestMemoryLimitFlag(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	require.Equal(t, 0, kv(t, db, nil, "--memory-limit", "64MiB", "put", "k", "v").code)
	r := kv(t, db, nil, "--memory-limit", "64MiB", "stats")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "memory_bound:")
	require.Contains(t, r.stdout, "table_bytes_read:")
	r = kv(t, db, nil, "--memory-limit", "lots", "get", "k")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "--memory-limit")
	r = kv(t, db, nil, "--memory-limit", "1MiB", "get", "k")
	require.Equal(t, 2, r.code, "a limit too small to operate is refused")
	require.Contains(t, r.stderr, "MemoryLimit")
}

package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTTLFarInTheFutureKeepsTheKey: a TTL or an expires_at_ms beyond the year
// 2262 is clamped to the latest time the DB stores, so the key stays, where
// it used to vanish at once after a reported success.
func TestTTLFarInTheFutureKeepsTheKey(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	ok := func(args ...string) result {
		t.Helper()
		r := kv(t, db, nil, args...)
		require.Equal(t, 0, r.code, "kvctl %s: %s", strings.Join(args, " "), r.stderr)
		return r
	}
	ok("put", "long", "v1", "--ttl", "2200000h")
	ok("put", "old", "v2") // an existing key, given a huge TTL by expire
	ok("expire", "old", "2562047h")
	ok("incr", "counter", "--ttl", "2562047h")
	ok("put-item", "pk", "sk", "v3", "--ttl", "2562047h")
	lines := `{"key":"imported","value":"v4","expires_at_ms":99999999999999999}
{"key":"imported-max","value":"v5","expires_at_ms":9223372036854775807}
{"key":"imported-past-int64","value":"v6","expires_at_ms":9223372036854775808}
{"key":"imported-30-digits","value":"v7","expires_at_ms":123456789012345678901234567890}
`
	file := filepath.Join(dir, "in.jsonl")
	require.NoError(t, os.WriteFile(file, []byte(lines), 0o644))
	ok("import", file)

	for key, want := range map[string]string{"long": "v1", "old": "v2", "counter": "1", "imported": "v4", "imported-max": "v5", "imported-past-int64": "v6", "imported-30-digits": "v7"} {
		r := kv(t, db, nil, "get", key)
		require.Equal(t, 0, r.code, "get %s: the key must not vanish: %s", key, r.stderr)
		require.Equal(t, want+"\n", r.stdout)
		r = ok("ttl", key)
		secs, err := strconv.ParseInt(strings.TrimSpace(r.stdout), 10, 64)
		require.NoError(t, err)
		require.Greater(t, secs, int64(200*365*24*3600), "ttl %s: the expiry is in 2262", key)
	}
	r := ok("get-item", "pk", "sk")
	require.Equal(t, "v3\n", r.stdout)
	r = ok("--json", "scan")
	require.Equal(t, 8, strings.Count(r.stdout, `"expires_at_ms":9223372036854,`), "every key and the item expire at the clamp: %s", r.stdout)
	ok("check")
}

// TestDurationPastTheLimitNamesIt: a duration past Go's limit (2562048h) is
// refused with exit 2 by every flag and argument that takes one, naming the
// limit rather than calling the duration invalid, and changes nothing.
func TestDurationPastTheLimitNamesIt(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	require.Equal(t, 0, kv(t, db, nil, "put", "k", "v").code)
	for _, args := range [][]string{
		{"put", "k", "v2", "--ttl", "2562048h"},
		{"put", "k", "v2", "--ttl=-2562048h"},
		{"incr", "n", "--ttl", "2562048h"},
		{"put-item", "p", "s", "v", "--ttl", "2562048h"},
		{"expire", "k", "2562048h"},
		{"expire", "k", "99999999999999999999s"},
		{"--wait", "2562048h", "get", "k"},
	} {
		r := kv(t, db, nil, args...)
		require.Equal(t, 2, r.code, "kvctl %s: %s", strings.Join(args, " "), r.stderr)
		require.Contains(t, r.stderr, "out of range: the maximum duration is 2562047h47m16s (about 292 years)", "kvctl %s", strings.Join(args, " "))
		require.NotContains(t, r.stderr, "invalid duration")
		require.Empty(t, r.stdout)
	}
	r := kv(t, db, nil, "scan")
	require.Equal(t, "k\tv\n", r.stdout)
	require.Equal(t, "-1\n", kv(t, db, nil, "ttl", "k").stdout)
	// A malformed duration still gets Go's own words.
	r = kv(t, db, nil, "put", "k", "v", "--ttl", "1x")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, `unknown unit "x"`)
}

package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// kvctl with no command prints the usage on stderr and exits 2; asking for
// help is not an error.
func TestNoCommandIsAUsageError(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	for _, args := range [][]string{{}, {"--json"}, {"--sync", "no"}} {
		r := kv(t, db, nil, args...)
		require.Equal(t, 2, r.code, "kvctl %s", strings.Join(args, " "))
		require.Empty(t, r.stdout)
		require.Contains(t, r.stderr, "no command given")
		require.Contains(t, r.stderr, "Usage:")
		require.Contains(t, r.stderr, "Available Commands:")
	}
	for _, args := range [][]string{{"help", "foo"}, {"help", "get", "foo"}} {
		r := kv(t, db, nil, args...)
		require.Equal(t, 2, r.code, "kvctl %s", strings.Join(args, " "))
		require.Contains(t, r.stderr, "help: unknown command")
		require.Empty(t, r.stdout)
	}
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"get", "--help"}, {"help", "get"}, {"help", "dump"}} {
		r := kv(t, db, nil, args...)
		require.Equal(t, 0, r.code, "kvctl %s", strings.Join(args, " "))
		require.Contains(t, r.stdout, "Usage:")
	}
	require.Equal(t, "absent", listing(t, db))
}

// A mistyped global flag is reported as an unknown flag, not as an unknown
// command (the parser takes an unknown flag to want the next word).
func TestMistypedGlobalFlagIsAnUnknownFlag(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	require.Equal(t, 0, kv(t, db, nil, "put", "k", "v").code)
	for _, c := range []struct {
		args []string
		flag string
	}{
		{[]string{"--jsn", "get", "k"}, "--jsn"},
		{[]string{"--readonly", "get", "k"}, "--readonly"},
		{[]string{"--dbb=x", "get", "k"}, "--dbb=x"},
		{[]string{"--sync", "no", "--jason", "get", "k"}, "--jason"},
		{[]string{"-j", "get", "k"}, "-j"},
		{[]string{"get", "k", "--jsn"}, "--jsn"},
		{[]string{"---json", "get", "k"}, "---json"},
		{[]string{"-help", "get", "k"}, "-help"},
	} {
		r := kv(t, db, nil, c.args...)
		require.Equal(t, 2, r.code, "kvctl %s", strings.Join(c.args, " "))
		require.Contains(t, r.stderr, "unknown flag: "+c.flag, "kvctl %s", strings.Join(c.args, " "))
		require.NotContains(t, r.stderr, "unknown command")
		require.Empty(t, r.stdout)
	}
	// Known global flags, with their values in either form, still work.
	for _, args := range [][]string{
		{"--json", "get", "k"}, {"--sync", "no", "get", "k"}, {"--sync=no", "--read-only", "get", "k"},
		{"--wait", "1s", "get", "k"}, {"--json=false", "get", "k"},
	} {
		r := kv(t, db, nil, args...)
		require.Equal(t, 0, r.code, "kvctl %s: %s", strings.Join(args, " "), r.stderr)
	}
	r := kv(t, db, []byte("--jsn get k\n"), "shell")
	require.Contains(t, r.stderr, "unknown flag: --jsn")
}

// --ttl 0 (or negative) is an error, as WithTTL(0) is, for every command
// that takes --ttl, and writes nothing; no expiry is said by leaving it out.
func TestTTLMustBePositive(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	require.Equal(t, 0, kv(t, db, nil, "put", "k", "v").code)
	for _, args := range [][]string{
		{"put", "a", "v", "--ttl", "0"}, {"put", "a", "v", "--ttl", "-5s"}, {"put", "a", "-", "--ttl", "0s"},
		{"incr", "a", "--ttl", "0"}, {"incr", "a", "--ttl", "-1m"},
		{"put-item", "p", "s", "v", "--ttl", "0"},
	} {
		r := kv(t, db, []byte("v"), args...)
		require.Equal(t, 2, r.code, "kvctl %s", strings.Join(args, " "))
		require.Contains(t, r.stderr, "a TTL must be positive; leave --ttl out for no expiry")
	}
	r := kv(t, db, nil, "scan")
	require.Equal(t, "k\tv\n", r.stdout, "nothing was written")
	// import says the same of an expires_at_ms that is not a time.
	r = kv(t, db, []byte(`{"key":"a","value":"v","expires_at_ms":0}`+"\n"), "import", "-")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "line 1: expires_at_ms 0 is not a time (omit the field for no expiry)")
	// Leaving --ttl out is no expiry.
	require.Equal(t, 0, kv(t, db, nil, "put", "a", "v").code)
	require.Equal(t, "-1\n", kv(t, db, nil, "ttl", "a").stdout)
}

// Every command on a missing key or item says so the same way, exit 1.
func TestMissingKeyMessages(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	require.Equal(t, 0, kv(t, db, nil, "put", "k", "v").code)
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"get", "nope"}, "kvctl: key nope not found\n"},
		{[]string{"get", "nope", "--raw"}, "kvctl: key nope not found\n"},
		{[]string{"--json", "get", "nope"}, "kvctl: key nope not found\n"},
		{[]string{"del", "nope"}, "kvctl: key nope not found\n"},
		{[]string{"ttl", "nope"}, "kvctl: key nope not found\n"},
		{[]string{"expire", "nope", "1m"}, "kvctl: key nope not found\n"},
		{[]string{"get", "two words"}, "kvctl: key \"two words\" not found\n"},
		{[]string{"get-item", "p", "s"}, "kvctl: item (p, s) not found\n"},
		{[]string{"del-item", "p", "s"}, "kvctl: item (p, s) not found\n"},
	} {
		r := kv(t, db, nil, c.args...)
		require.Equal(t, 1, r.code, "kvctl %s", strings.Join(c.args, " "))
		require.Equal(t, c.msg, r.stderr, "kvctl %s", strings.Join(c.args, " "))
		require.Empty(t, r.stdout)
	}
}

// A key or value starting with "-" reads as a flag; the error says to put
// it after "--", which works.
func TestADashValueGoesAfterDoubleDash(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	r := kv(t, db, nil, "put", "temp", "-5")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, `unknown shorthand flag: '5' in -5 (a key or value starting with "-" goes after "--", as in kvctl put temp -- -5)`)
	require.Equal(t, "absent", listing(t, db))
	require.Equal(t, 0, kv(t, db, nil, "put", "temp", "--", "-5").code)
	require.Equal(t, "-5\n", kv(t, db, nil, "get", "temp").stdout)
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A command that may create a database, pointed at a directory that holds
// other files and no database (a home directory), exits 2 naming it and
// leaves it as it was; in a new or empty directory, in an existing
// database, and in one whose creating open was interrupted (LOCK and a
// MANIFEST but no CURRENT) it writes as before.
func TestCreatingCommandsRefuseAForeignDirectory(t *testing.T) {
	base := t.TempDir()
	home := filepath.Join(base, "home")
	require.NoError(t, os.MkdirAll(filepath.Join(home, "projects"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(home, "notes.txt"), []byte("mine\n"), 0o644))
	before := listing(t, home)
	for _, c := range []struct {
		args  []string
		stdin string
	}{
		{[]string{"put", "k", "v"}, ""},
		{[]string{"put", "k", "-"}, "v"},
		{[]string{"incr", "n"}, ""},
		{[]string{"put-item", "p", "s", "v"}, ""},
		{[]string{"import", "-"}, `{"key":"k","value":"v"}` + "\n"},
		{[]string{"shell"}, "put k v\n"},
	} {
		r := kv(t, home, []byte(c.stdin), c.args...)
		require.Equal(t, 2, r.code, "kvctl --db %s %s: %q", home, strings.Join(c.args, " "), r.stderr)
		require.Contains(t, r.stderr, home+" is not empty and holds no database: give a new or empty directory")
		require.Equal(t, before, listing(t, home), "kvctl %s wrote among the other files", strings.Join(c.args, " "))
	}

	empty := filepath.Join(base, "empty")
	require.NoError(t, os.Mkdir(empty, 0o755))
	interrupted := filepath.Join(base, "interrupted")
	require.NoError(t, os.Mkdir(interrupted, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(interrupted, "LOCK"), nil, 0o644))
	// A fresh filesystem's root and a directory of hidden files only count
	// as empty.
	mount := filepath.Join(base, "mount")
	require.NoError(t, os.MkdirAll(filepath.Join(mount, "lost+found"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(mount, ".gitkeep"), nil, 0o644))
	for _, dir := range []string{filepath.Join(base, "new"), empty, interrupted, mount} {
		r := kv(t, dir, nil, "put", "k", "v")
		require.Equal(t, 0, r.code, "%s: %s", dir, r.stderr)
		r = kv(t, dir, nil, "put", "k2", "v2") // an existing database
		require.Equal(t, 0, r.code, "%s: %s", dir, r.stderr)
		r = kv(t, dir, nil, "get", "k")
		require.Equal(t, "v\n", r.stdout, "%s: %s", dir, r.stderr)
	}

	// An open interrupted after the first MANIFEST (LOCK and MANIFEST, no
	// CURRENT) is a database too: the next open creates it afresh.
	db := filepath.Join(base, "db")
	require.Equal(t, 0, kv(t, db, nil, "put", "k", "v").code)
	partial := filepath.Join(base, "partial")
	require.NoError(t, os.Mkdir(partial, 0o755))
	for _, name := range []string{"LOCK", "MANIFEST-000001"} {
		b, err := os.ReadFile(filepath.Join(db, name))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(partial, name), b, 0o644))
	}
	r := kv(t, partial, nil, "put", "k", "v")
	require.Equal(t, 0, r.code, r.stderr)
}

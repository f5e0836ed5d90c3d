package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// --read-only works on a database directory the user cannot write.
func TestReadOnlyOnADirectoryTheUserCannotWrite(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run kvctl as another user")
	}
	base := t.TempDir()
	db := filepath.Join(base, "db")
	require.Equal(t, 0, kv(t, db, nil, "put", "a", "1").code)
	require.Equal(t, 0, kv(t, db, nil, "flush").code)
	require.Equal(t, 0, kv(t, db, nil, "put", "b", "2").code)
	// Let the other user reach the binary and the database, not write them.
	for _, d := range []string{filepath.Dir(kvctlBin), filepath.Dir(base), base} {
		require.NoError(t, os.Chmod(d, 0o755))
	}
	before := listing(t, db)
	asNobody := func(args ...string) result {
		cmd := exec.Command(kvctlBin, append([]string{"--db", db}, args...)...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		var out, errb strings.Builder
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
	r := asNobody("--read-only", "scan")
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, "a\t1\nb\t2\n", r.stdout)
	r = asNobody("check")
	require.Equal(t, 0, r.code, r.stderr)
	r = asNobody("put", "c", "3")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "permission denied")
	require.Equal(t, before, listing(t, db))
}

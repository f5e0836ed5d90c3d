package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
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

// openPTY returns the two ends of a new pseudo-terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	require.NoError(t, unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0))
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	require.NoError(t, err)
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	require.NoError(t, err)
	return m, s
}

// runOnTerminal runs kvctl with a terminal for its standard streams and
// HOME set to home, typing each line after the prompt shows, and returns
// what the terminal showed.
func runOnTerminal(t *testing.T, db, home string, lines []string, args ...string) string {
	t.Helper()
	master, slave := openPTY(t)
	defer master.Close()
	cmd := exec.Command(kvctlBin, append([]string{"--db", db}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.Env = append(os.Environ(), "HOME="+home)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	require.NoError(t, cmd.Start())
	slave.Close()
	var shown bytes.Buffer
	buf := make([]byte, 4096)
	prompts := 0
	for _, l := range append(lines, "exit") {
		// Wait for the next prompt, then type the line.
		for strings.Count(shown.String(), "kvctl> ") <= prompts {
			n, err := master.Read(buf)
			shown.Write(buf[:n])
			require.NoError(t, err, "terminal so far: %q", shown.String())
		}
		prompts++
		_, err := io.WriteString(master, l+"\r")
		require.NoError(t, err)
	}
	for {
		n, err := master.Read(buf)
		shown.Write(buf[:n])
		if err != nil {
			break // EIO: the shell exited and closed the terminal
		}
	}
	require.NoError(t, cmd.Wait(), "terminal: %q", shown.String())
	return shown.String()
}

// The interactive shell keeps its history (values typed included) in a
// file only its owner can read, and makes an existing one so.
func TestShellHistoryIsPrivate(t *testing.T) {
	home := t.TempDir()
	db := filepath.Join(t.TempDir(), "db")
	shown := runOnTerminal(t, db, home, []string{"put token s3cret", "get token"}, "shell")
	require.Contains(t, shown, "s3cret")
	name := filepath.Join(home, ".kvctl_history")
	fi, err := os.Stat(name)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	data, err := os.ReadFile(name)
	require.NoError(t, err)
	require.Equal(t, "put token s3cret\nget token\nexit\n", string(data))

	// An existing history file readable by others is made private, and its
	// lines are kept.
	require.NoError(t, os.Chmod(name, 0o644))
	runOnTerminal(t, db, home, []string{"del token"}, "shell")
	fi, err = os.Stat(name)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	data, err = os.ReadFile(name)
	require.NoError(t, err)
	require.Equal(t, "put token s3cret\nget token\nexit\ndel token\nexit\n", string(data))
}

// Without a home directory (HOME empty) the shell keeps no history, and
// says so, rather than write one into the current directory.
func TestShellWithoutAHomeKeepsNoHistory(t *testing.T) {
	cwd := t.TempDir()
	t.Chdir(cwd)
	db := filepath.Join(t.TempDir(), "db")
	shown := runOnTerminal(t, db, "", []string{"put token s3cret", "get token"}, "shell")
	require.Contains(t, shown, "s3cret")
	require.Contains(t, shown, "no history")
	require.Equal(t, "", listing(t, cwd), "no history file in the current directory")
}

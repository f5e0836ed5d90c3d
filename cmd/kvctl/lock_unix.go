//go:build !windows

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/stratadb/strata/internal/vfs"
)

// readOnlyFS is the OS filesystem for a read-only open. Its Lock takes the
// same exclusive flock(2) on LOCK as a writable open, but when the user may
// not open LOCK for writing (a database directory of another user, a
// read-only mount) it takes the lock through a read-only descriptor, which
// flock(2) allows: --read-only then works where the user can only read.
type readOnlyFS struct{ vfs.FS }

func readOnlyFileSystem() vfs.FS { return readOnlyFS{vfs.Default} }

func (fs readOnlyFS) Lock(name string) (io.Closer, error) {
	c, err := fs.FS.Lock(name)
	if err == nil || !errors.Is(err, os.ErrPermission) {
		return c, err
	}
	f, oerr := os.Open(name)
	if oerr != nil {
		return nil, err // the first error says more: it is about write access
	}
	if ferr := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); ferr != nil {
		f.Close()
		if errors.Is(ferr, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", vfs.ErrLocked, name)
		}
		return nil, fmt.Errorf("lock %s: %w", name, ferr)
	}
	return f, nil
}

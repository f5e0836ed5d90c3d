//go:build !windows

package vfs

import (
	"errors"
	"os"
	"syscall"
)

// SyncDir implements FS by fsyncing the directory.
func (osFS) SyncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	serr := f.Sync()
	cerr := f.Close()
	if serr != nil {
		return serr
	}
	return cerr
}

// lockFile takes an exclusive flock on f without waiting; held reports
// that another holder has it.
func lockFile(f *os.File) (held bool, err error) {
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	return errors.Is(err, syscall.EWOULDBLOCK), err
}

// errReadOnlyFS is the error of a write open on a read-only mount.
var errReadOnlyFS = syscall.EROFS

//go:build windows

package vfs

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// SyncDir implements FS. Windows cannot fsync a directory; NTFS journals
// directory entries itself, so there is nothing to do.
func (osFS) SyncDir(dir string) error {
	_, err := os.Stat(dir)
	return err
}

// lockFile takes an exclusive LockFileEx lock on f without waiting; held
// reports that another holder has it.
func lockFile(f *os.File) (held bool, err error) {
	var ol windows.Overlapped
	err = windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
	return errors.Is(err, windows.ERROR_LOCK_VIOLATION), err
}

// errReadOnlyFS is the error of a write open on read-only media.
var errReadOnlyFS = windows.ERROR_WRITE_PROTECT

//go:build linux

package vfs

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

var _ WriteBacker = osFile{}

// WriteBack implements WriteBacker with sync_file_range(2), asking only to
// start the write-out (as RocksDB's bytes_per_sync does): waiting for the
// earlier write-out as well would put the disk's latency on the writer at
// every interval. A filesystem without the call does nothing.
func (f osFile) WriteBack(end int64) error {
	if end <= 0 {
		return nil
	}
	err := unix.SyncFileRange(int(f.Fd()), 0, end, unix.SYNC_FILE_RANGE_WRITE)
	if err == nil || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ESPIPE) {
		return nil
	}
	return fmt.Errorf("vfs: sync_file_range %s: %w", f.Name(), err)
}

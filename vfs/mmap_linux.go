//go:build linux

package vfs

import (
	"fmt"

	"golang.org/x/sys/unix"
)

var (
	_ Mappable     = osFile{}
	_ Preallocator = osFile{}
)

// Preallocate implements Mappable with fallocate(2).
func (f osFile) Preallocate(size int64) error {
	if err := unix.Fallocate(int(f.Fd()), 0, 0, size); err != nil {
		return fmt.Errorf("vfs: fallocate %s: %w", f.Name(), err)
	}
	return nil
}

// Map implements Mappable with mmap(2), MAP_SHARED.
func (f osFile) Map(size int64) ([]byte, error) {
	b, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("vfs: mmap %s: %w", f.Name(), err)
	}
	return b, nil
}

// Unmap implements Mappable with munmap(2).
func (f osFile) Unmap(b []byte) error { return unix.Munmap(b) }

// Truncate implements Mappable.
func (f osFile) Truncate(size int64) error { return f.File.Truncate(size) }

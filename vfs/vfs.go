package vfs

import (
	"errors"
	"io"
	"os"
)

// File is an open file. Files created with Create are written sequentially
// with Write; files opened with Open are read with Read and ReadAt. A File
// belongs to one goroutine at a time, except that ReadAt may be called
// concurrently on a file opened for reading, and Sync may be called
// concurrently with Write.
type File interface {
	io.Reader
	io.ReaderAt
	io.Writer
	io.Closer
	// Sync makes every byte written so far durable.
	Sync() error
	// Size returns the current size of the file in bytes.
	Size() (int64, error)
}

// FS is the filesystem every package writes through. Paths are joined with
// path/filepath. Nothing a file operation does is durable until the file is
// synced, and no directory entry (create, rename, remove, link) is durable
// until its directory is synced with SyncDir.
type FS interface {
	// Create creates the named file for writing, truncating it if it exists.
	Create(name string) (File, error)
	// Open opens the named file for reading.
	Open(name string) (File, error)
	// Remove removes the named file or empty directory.
	Remove(name string) error
	// Rename atomically replaces newname with oldname.
	Rename(oldname, newname string) error
	// Link creates newname as a hard link to oldname. Filesystems that cannot
	// link return an error wrapping ErrUnsupported; callers then copy.
	Link(oldname, newname string) error
	// MkdirAll creates a directory and its parents.
	MkdirAll(dir string, perm os.FileMode) error
	// List returns the names (not paths) of the entries of dir, sorted.
	List(dir string) ([]string, error)
	// Stat returns the size of the named file, or an error wrapping
	// os.ErrNotExist if it does not exist.
	Stat(name string) (size int64, err error)
	// SyncDir makes the directory entries of dir durable.
	SyncDir(dir string) error
	// Lock takes an exclusive lock on the named file, creating it if needed.
	// It fails at once, with an error wrapping ErrLocked, if the lock is
	// held, by this process or another. Closing the returned Closer releases
	// the lock.
	Lock(name string) (io.Closer, error)
}

// WriteBacker is implemented by files that can start writing their bytes
// to storage without waiting for them to be durable (sync_file_range(2) on
// Linux). It is an addition to Sync, never a replacement: WriteBack makes
// nothing durable. A writer of a large file calls it every few hundred KiB
// so that the file's dirty pages are written as they are made, not all at
// the final Sync: the page cache (and a memory cgroup's share of it) then
// never holds a whole table's worth of dirty pages, whose writeback would
// stall the writer, or whoever needs the memory, at once.
type WriteBacker interface {
	// WriteBack starts the write-out of the dirty bytes among [0, end),
	// without waiting for it to complete.
	WriteBack(end int64) error
}

// Preallocator is implemented by files that can reserve disk space ahead
// of their writes and extend their size over it (fallocate(2) on Linux,
// the filesystem's unwritten extents: they read as zeros). A file written
// by appends then changes its size only when it passes the reserved
// space, and an fsync of the appended bytes has no new size to make
// durable: measured on ext4 (a 2-core VM), a 120-byte append and fsync
// took 245-262 us on a growing file and 161-183 us inside the reserve.
// The OS filesystem's files implement it on Linux, also through Mappable,
// which has the same two methods.
type Preallocator interface {
	// Preallocate reserves disk space for the first size bytes of the
	// file and extends it with zeros to that size.
	Preallocate(size int64) error
	// Truncate sets the file's size.
	Truncate(size int64) error
}

// ErrLocked is wrapped by Lock's error when the lock is held elsewhere.
var ErrLocked = errors.New("vfs: lock held")

// ErrUnsupported is wrapped by errors of operations an FS cannot perform.
var ErrUnsupported = errors.New("vfs: unsupported operation")

// Mappable is implemented by files that can be written through a shared
// memory mapping (the OS filesystem on Linux). Bytes stored into the mapping
// are in the OS page cache at once, like bytes given to write(2): they
// survive a crash of the process, and Sync makes them durable.
type Mappable interface {
	// Preallocate reserves disk space for the first size bytes of the file
	// and extends it with zeros to that size, so stores through a mapping
	// never need to allocate (and cannot fail for lack of space).
	Preallocate(size int64) error
	// Map maps the first size bytes of the file, shared and writable.
	Map(size int64) ([]byte, error)
	// Unmap releases a mapping returned by Map.
	Unmap(b []byte) error
	// Truncate sets the file's size.
	Truncate(size int64) error
}

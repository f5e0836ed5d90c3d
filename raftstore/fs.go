package raftstore

import (
	"fmt"
	"io"

	"github.com/stratadb/strata/vfs"
)

// writeFS is the filesystem a store gives the engine unless Options.Engine
// names one: the operating system's, with its files' memory mapping
// hidden. The engine maps a WAL segment only when the file offers it
// (vfs.Mappable); without, it appends with write(2), and the segment takes
// on disk only the bytes written. Options.Engine says why.
type writeFS struct{ vfs.FS }

// Create returns the new file wrapped, so that it is not a vfs.Mappable.
// It keeps the file's other abilities: preallocation (vfs.Preallocator),
// which the engine's WAL writer then uses ahead of its appends, a MiB or
// so at a time, so that an fsync seldom has a new file size to make
// durable, without a mapped segment's whole preallocation on disk; and
// early write-back (vfs.WriteBacker), which table writers use so that a
// flush's pages go to the disk as they are written rather than all at its
// final fsync, in front of the WAL's.
func (fs writeFS) Create(name string) (vfs.File, error) {
	f, err := fs.FS.Create(name)
	if err != nil {
		return nil, err
	}
	p, canPrealloc := f.(vfs.Preallocator)
	wb, canWriteBack := f.(vfs.WriteBacker)
	switch {
	case canPrealloc && canWriteBack:
		return preallocWriteBackFile{preallocFile{f, p}, wb}, nil
	case canPrealloc:
		return preallocFile{f, p}, nil
	case canWriteBack:
		return writeBackFile{f, wb}, nil
	}
	return plainFile{f}, nil
}

// Every wrapper offers positioned writes (io.WriterAt), which the engine
// writes a WAL segment's zeros ahead with (lsm.Options.WALPrewrite), when
// the file has them; a file without fails them.
func writeAt(f vfs.File, p []byte, off int64) (int, error) {
	if w, ok := f.(io.WriterAt); ok {
		return w.WriteAt(p, off)
	}
	return 0, fmt.Errorf("raftstore: %w: positioned writes", vfs.ErrUnsupported)
}

func (f plainFile) WriteAt(p []byte, off int64) (int, error)     { return writeAt(f.File, p, off) }
func (f preallocFile) WriteAt(p []byte, off int64) (int, error)  { return writeAt(f.File, p, off) }
func (f writeBackFile) WriteAt(p []byte, off int64) (int, error) { return writeAt(f.File, p, off) }

// plainFile offers a vfs.File's methods and no other.
type plainFile struct{ vfs.File }

// preallocFile offers a vfs.File's methods and vfs.Preallocator's.
type preallocFile struct {
	vfs.File
	p vfs.Preallocator
}

func (f preallocFile) Preallocate(size int64) error { return f.p.Preallocate(size) }
func (f preallocFile) Truncate(size int64) error    { return f.p.Truncate(size) }

// writeBackFile offers a vfs.File's methods and vfs.WriteBacker's.
type writeBackFile struct {
	vfs.File
	wb vfs.WriteBacker
}

func (f writeBackFile) WriteBack(end int64) error { return f.wb.WriteBack(end) }

// preallocWriteBackFile offers both.
type preallocWriteBackFile struct {
	preallocFile
	wb vfs.WriteBacker
}

func (f preallocWriteBackFile) WriteBack(end int64) error { return f.wb.WriteBack(end) }

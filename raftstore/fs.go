package raftstore

import "github.com/stratadb/strata/vfs"

// writeFS is the filesystem a store gives the engine unless Options.Engine
// names one: the operating system's, with its files' memory mapping
// hidden. The engine maps a WAL segment only when the file offers it
// (vfs.Mappable); without, it appends with write(2), and the segment takes
// on disk only the bytes written. Options.Engine says why.
type writeFS struct{ vfs.FS }

// Create returns the new file wrapped, so that it is not a vfs.Mappable.
func (fs writeFS) Create(name string) (vfs.File, error) {
	f, err := fs.FS.Create(name)
	if err != nil {
		return nil, err
	}
	return plainFile{f}, nil
}

// plainFile offers a vfs.File's methods and no other.
type plainFile struct{ vfs.File }

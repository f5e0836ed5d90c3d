package manifest

import (
	"github.com/stratadb/strata/vfs"
	"github.com/stratadb/strata/wal"
)

// WriteSnapshot writes a new MANIFEST numbered num in dir holding the header
// and one edit (the whole version of a copy of a DB, as Checkpoint makes),
// fsyncs it and its directory, and then points CURRENT at it atomically. The
// result opens with Recover.
func WriteSnapshot(fs vfs.FS, dir string, num uint64, snap *VersionEdit) error {
	name := MakeFilename(dir, FileTypeManifest, num)
	f, err := fs.Create(name)
	if err != nil {
		return err
	}
	w := wal.NewWriter(f)
	err = w.AddRecord(appendHeader(nil))
	if err == nil {
		err = w.AddRecord(snap.Encode(nil))
	}
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = w.Sync()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fs.SyncDir(dir)
	}
	if err != nil {
		_ = fs.Remove(name)
		return err
	}
	return setCurrent(fs, dir, num)
}

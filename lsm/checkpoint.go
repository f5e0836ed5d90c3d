package lsm

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/stratadb/strata/manifest"
	"github.com/stratadb/strata/vfs"
)

// Checkpoint writes a consistent, openable copy of the DB into dir, which
// must not exist yet. Tables are hard-linked where the filesystem allows and
// copied otherwise; the WAL segments still needed are copied, so the copy
// holds every write acknowledged before the call. Everything in dir is
// fsynced before Checkpoint returns. An empty dir, or one inside the DB's
// own directory (symbolic links and relative paths resolved), is
// ErrInvalidArgument.
func (db *DB) Checkpoint(dir string) error {
	if db.closed.Load() {
		return ErrClosed
	}
	if dir == "" {
		return fmt.Errorf("%w: empty checkpoint directory", ErrInvalidArgument)
	}
	if within(resolvePath(db.fs, db.dir), resolvePath(db.fs, dir)) {
		return fmt.Errorf("%w: checkpoint directory %s is inside the DB directory %s", ErrInvalidArgument, dir, db.dir)
	}
	if _, err := db.fs.Stat(dir); err == nil {
		return fmt.Errorf("%w: checkpoint directory %s already exists", ErrInvalidArgument, dir)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("strata: checkpoint: %w", err)
	}
	if err := db.fs.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("strata: checkpoint: %w", err)
	}
	if err := db.checkpoint(dir); err != nil {
		removeAll(db.fs, dir) // leave no half-made copy behind
		return err
	}
	return nil
}

// removeAll removes dir and the files directly in it, as far as it can.
func removeAll(fs vfs.FS, dir string) {
	names, _ := fs.List(dir)
	for _, n := range names {
		fs.Remove(filepath.Join(dir, n))
	}
	fs.Remove(dir)
}

// checkpoint fills the new, empty directory dir.
func (db *DB) checkpoint(dir string) error {
	// Hold off version edits and WAL deletions while we copy.
	db.manifestMu.Lock()
	defer db.manifestMu.Unlock()
	// Every write acknowledged before this point has its WAL bytes in the
	// OS, so the copies below include it; later writes may or may not be.
	db.mu.Lock()
	rs := db.mu.rs
	rs.refs.Add(1)
	var walNums []uint64
	walSizes := map[uint64]int64{} // the logical size of each open segment; -1: copy it all
	if db.opts.ReadOnly {
		// The memtables were replayed from segments that are still on
		// disk, whole and unchanged.
		for _, n := range db.replayedWALs {
			walNums = append(walNums, n)
			walSizes[n] = -1
		}
	} else {
		for _, m := range append(append([]*memTable(nil), rs.imm...), rs.mem) {
			walNums = append(walNums, m.walNum)
			walSizes[m.walNum] = -1
			if m.wal != nil {
				walSizes[m.walNum] = m.wal.Size()
			}
		}
	}
	db.mu.Unlock()
	defer rs.release()

	v := rs.v
	logNum := db.vs.LogNum()
	if len(walNums) > 0 {
		logNum = walNums[0]
	}
	edit := &manifest.VersionEdit{LogNum: logNum, NextFileNum: db.vs.NewFileNum() + 1}
	edit.LastSeq = db.vs.LastSeq()
	for level, files := range v.Levels {
		for _, f := range files {
			src := manifest.MakeFilename(db.dir, manifest.FileTypeTable, f.FileNum)
			dst := manifest.MakeFilename(dir, manifest.FileTypeTable, f.FileNum)
			if err := linkOrCopy(db.fs, src, dst); err != nil {
				return fmt.Errorf("strata: checkpoint table %d: %w", f.FileNum, err)
			}
			edit.Added = append(edit.Added, manifest.NewFile{Level: level, Meta: f})
		}
	}
	// Flushed segments the tables refer to values in: whole, and never
	// written again.
	for n := range walRefBytes(v) {
		src := manifest.MakeFilename(db.dir, manifest.FileTypeLog, n)
		dst := manifest.MakeFilename(dir, manifest.FileTypeLog, n)
		if err := linkOrCopy(db.fs, src, dst); err != nil {
			return fmt.Errorf("strata: checkpoint WAL %d that tables refer to: %w", n, err)
		}
	}
	for _, n := range walNums {
		src := manifest.MakeFilename(db.dir, manifest.FileTypeLog, n)
		dst := manifest.MakeFilename(dir, manifest.FileTypeLog, n)
		if err := copyFile(db.fs, src, dst, walSizes[n]); err != nil {
			return fmt.Errorf("strata: checkpoint WAL %d: %w", n, err)
		}
	}
	manNum := edit.NextFileNum
	edit.NextFileNum = manNum + 1
	if err := manifest.WriteSnapshot(db.fs, dir, manNum, edit); err != nil {
		return fmt.Errorf("strata: checkpoint MANIFEST: %w", err)
	}
	return db.fs.SyncDir(dir)
}

// resolvePath returns p absolute and clean, with the symbolic links of its
// longest existing prefix resolved on the operating system's filesystem.
func resolvePath(fs vfs.FS, p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		abs = filepath.Clean(p)
	}
	if fs != vfs.Default {
		return abs
	}
	rest := ""
	for cur := abs; ; {
		if r, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(r, rest)
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return abs
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		cur = parent
	}
}

// within reports whether path is dir or lies under it; both are resolved
// paths.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	if err != nil {
		return false
	}
	return rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// linkOrCopy hard-links src to dst, or copies it where links are not
// possible.
func linkOrCopy(fs vfs.FS, src, dst string) error {
	if err := fs.Link(src, dst); err == nil {
		return nil
	}
	return copyFile(fs, src, dst, -1)
}

// copyFile copies the first n bytes of src (all of it if n < 0; a WAL
// segment is preallocated beyond its log) to dst and fsyncs dst.
func copyFile(fs vfs.FS, src, dst string, n int64) error {
	in, err := fs.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := fs.Create(dst)
	if err != nil {
		return err
	}
	var r io.Reader = in
	if n >= 0 {
		r = io.LimitReader(in, n)
	}
	if _, err := io.Copy(out, r); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

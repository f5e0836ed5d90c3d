package vfs

import (
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// MemFS is an in-memory FS that models power loss. It is safe for concurrent
// use by many goroutines.
//
// Every file is an inode holding its current bytes and the length of the
// prefix made durable by its last File.Sync. Every directory holds its current
// entries and its durable entries (name to inode, copied at its last SyncDir).
// Create, Rename, Remove, Link and Lock (when it creates its file) change only
// the current entries; a rename across directories becomes durable in each
// directory when that directory is synced. Directories made by MkdirAll are
// durable at once. CrashClone returns the filesystem as a power loss would
// leave it now.
//
// Paths are cleaned with path/filepath; relative paths are relative to the
// root, and "", "." and "/" all name the root.
//
// Files returned by Create are written sequentially with Write, which
// appends, and at offsets with WriteAt (io.WriterAt), which may overwrite.
// A file only ever appended to never changes the bytes below its length,
// and CrashClone shares them. The first overwrite gives the file bytes of
// its own and a separate durable copy (memNode.durable), which Sync brings
// up to date by copying the range written since, so a power loss still
// leaves exactly what the last Sync made durable.
type MemFS struct {
	// mu guards root and everything reachable from it (every memNode), locks,
	// and the fields of every memFile and memLock of this MemFS. Read-only
	// operations (ReadAt, Size, Stat, List, String) take it shared.
	mu    sync.RWMutex
	root  *memNode
	locks map[string]bool // cleaned absolute path -> held

	// hook is the crash hook; it is read without mu so it can be called
	// without holding mu.
	hook atomic.Pointer[func(Op)]
}

// memNode is a file (inode) or a directory. Its fields are guarded by the
// owning MemFS's mu.
type memNode struct {
	dir bool

	// Files. Until the first overwrite (overwritten false) data only
	// grows by appending and the durable content is data[:synced]. After
	// it, the durable content is fileDurable, a copy Sync updates from
	// dirtyLo up to the end of data.
	data        []byte
	synced      int
	overwritten bool
	fileDurable []byte
	dirtyLo     int // the lowest offset written since the last Sync

	// Directories. durable is a copy of entries taken at the last SyncDir
	// (plus directories made by MkdirAll, durable at once).
	entries map[string]*memNode
	durable map[string]*memNode
}

func newMemDir() *memNode {
	return &memNode{dir: true, entries: map[string]*memNode{}, durable: map[string]*memNode{}}
}

// NewMem returns an empty in-memory filesystem holding only its root
// directory.
func NewMem() *MemFS {
	return &MemFS{root: newMemDir(), locks: map[string]bool{}}
}

var _ FS = (*MemFS)(nil)

// SetCrashHook installs fn to be called before every mutating operation, with
// its kind: OpCreate, OpWrite, OpSync, OpRename, OpRemove, OpLink, OpMkdir,
// OpDirSync and OpLock. fn runs without any MemFS lock held, so it may call
// CrashClone (which then shows the state before the operation) or any other
// method, or panic to abort the workload at that point. Operations from
// several goroutines call fn concurrently. A nil fn removes the hook.
func (fs *MemFS) SetCrashHook(fn func(op Op)) {
	if fn == nil {
		fs.hook.Store(nil)
		return
	}
	fs.hook.Store(&fn)
}

func (fs *MemFS) callHook(op Op) {
	if fn := fs.hook.Load(); fn != nil {
		(*fn)(op)
	}
}

// CrashClone returns a new MemFS as this one would be after a power loss at
// this instant: only durable directory entries, each file cut back to the
// bytes it had at its last Sync. The clone has no locks, no crash hook and no
// open files; this MemFS and its open files keep working unchanged, and
// nothing done to either filesystem afterwards affects the other. Hard links
// that are durable stay shared in the clone.
func (fs *MemFS) CrashClone() *MemFS {
	fs.mu.RLock()
	defer fs.mu.RUnlock()
	seen := map[*memNode]*memNode{}
	var clone func(n *memNode) *memNode
	clone = func(n *memNode) *memNode {
		if c, ok := seen[n]; ok {
			return c
		}
		if !n.dir {
			if n.overwritten {
				d := append([]byte(nil), n.fileDurable...)
				c := &memNode{data: d, synced: len(d)}
				seen[n] = c
				return c
			}
			// The first n.synced bytes never change again; cap the slice so
			// that any append to the clone copies.
			c := &memNode{data: n.data[:n.synced:n.synced], synced: n.synced}
			seen[n] = c
			return c
		}
		c := newMemDir()
		seen[n] = c
		for name, child := range n.durable {
			cc := clone(child)
			c.entries[name] = cc
			c.durable[name] = cc
		}
		return c
	}
	return &MemFS{root: clone(fs.root), locks: map[string]bool{}}
}

// splitPath returns the components of the cleaned name below the root.
func splitPath(name string) []string {
	p := filepath.ToSlash(filepath.Clean(name))
	p = strings.TrimLeft(p, "/")
	if p == "" || p == "." {
		return nil
	}
	var out []string
	for _, c := range strings.Split(p, "/") {
		switch c {
		case "", ".":
		case "..":
			// After Clean, ".." only leads a relative path; the parent of
			// the root is the root.
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, c)
		}
	}
	return out
}

func pathErr(op, name string, err error) error {
	return &os.PathError{Op: op, Path: name, Err: err}
}

// errno returns the cause inside a *os.PathError made by pathErr.
func errno(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// walk returns the directory named by parts. mu must be held.
func (fs *MemFS) walk(op, name string, parts []string) (*memNode, error) {
	d := fs.root
	for _, c := range parts {
		n := d.entries[c]
		if n == nil {
			return nil, pathErr(op, name, syscall.ENOENT)
		}
		if !n.dir {
			return nil, pathErr(op, name, syscall.ENOTDIR)
		}
		d = n
	}
	return d, nil
}

// parent returns the directory holding name and name's last component. mu
// must be held.
func (fs *MemFS) parent(op, name string) (*memNode, string, error) {
	parts := splitPath(name)
	if len(parts) == 0 {
		return nil, "", pathErr(op, name, syscall.EINVAL)
	}
	d, err := fs.walk(op, name, parts[:len(parts)-1])
	if err != nil {
		return nil, "", err
	}
	return d, parts[len(parts)-1], nil
}

// lookup returns the node named by name. mu must be held.
func (fs *MemFS) lookup(op, name string) (*memNode, error) {
	parts := splitPath(name)
	if len(parts) == 0 {
		return fs.root, nil
	}
	d, err := fs.walk(op, name, parts[:len(parts)-1])
	if err != nil {
		return nil, err
	}
	n := d.entries[parts[len(parts)-1]]
	if n == nil {
		return nil, pathErr(op, name, syscall.ENOENT)
	}
	return n, nil
}

// Create creates name as a fresh, empty inode, replacing any file of that
// name. The entry is durable only after SyncDir of its directory. The
// returned File can be both written and read.
func (fs *MemFS) Create(name string) (File, error) {
	fs.callHook(OpCreate)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	d, base, err := fs.parent("open", name)
	if err != nil {
		return nil, err
	}
	if old := d.entries[base]; old != nil && old.dir {
		return nil, pathErr("open", name, syscall.EISDIR)
	}
	n := &memNode{}
	d.entries[base] = n
	return &memFile{fs: fs, n: n, name: name, writable: true}, nil
}

// Open opens the named file for reading.
func (fs *MemFS) Open(name string) (File, error) {
	fs.mu.RLock()
	defer fs.mu.RUnlock()
	n, err := fs.lookup("open", name)
	if err != nil {
		return nil, err
	}
	if n.dir {
		return nil, pathErr("open", name, syscall.EISDIR)
	}
	return &memFile{fs: fs, n: n, name: name}, nil
}

// Remove removes the named file or empty directory from the current entries
// of its directory. Open files of it keep working.
func (fs *MemFS) Remove(name string) error {
	fs.callHook(OpRemove)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	d, base, err := fs.parent("remove", name)
	if err != nil {
		return err
	}
	n := d.entries[base]
	if n == nil {
		return pathErr("remove", name, syscall.ENOENT)
	}
	if n.dir && len(n.entries) > 0 {
		return pathErr("remove", name, syscall.ENOTEMPTY)
	}
	delete(d.entries, base)
	return nil
}

// Rename atomically replaces newname with oldname in the current entries.
// Each directory's change becomes durable when that directory is synced.
func (fs *MemFS) Rename(oldname, newname string) error {
	fs.callHook(OpRename)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	lerr := func(err error) error {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err}
	}
	od, obase, err := fs.parent("rename", oldname)
	if err != nil {
		return lerr(errno(err))
	}
	n := od.entries[obase]
	if n == nil {
		return lerr(syscall.ENOENT)
	}
	nd, nbase, err := fs.parent("rename", newname)
	if err != nil {
		return lerr(errno(err))
	}
	target := nd.entries[nbase]
	if target == n {
		// Same name, or two links to one inode: nothing to do, as POSIX says.
		return nil
	}
	if target != nil {
		switch {
		case target.dir && !n.dir:
			return lerr(syscall.EISDIR)
		case !target.dir && n.dir:
			return lerr(syscall.ENOTDIR)
		case target.dir && len(target.entries) > 0:
			return lerr(syscall.ENOTEMPTY)
		}
	}
	if n.dir {
		op, np := splitPath(oldname), splitPath(newname)
		if len(np) > len(op) && slices.Equal(np[:len(op)], op) {
			return lerr(syscall.EINVAL) // into its own subtree
		}
	}
	delete(od.entries, obase)
	nd.entries[nbase] = n
	return nil
}

// Link creates newname as a second name of oldname's inode. The new entry is
// durable only after SyncDir of its directory.
func (fs *MemFS) Link(oldname, newname string) error {
	fs.callHook(OpLink)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	lerr := func(err error) error {
		return &os.LinkError{Op: "link", Old: oldname, New: newname, Err: err}
	}
	n, err := fs.lookup("link", oldname)
	if err != nil {
		return lerr(errno(err))
	}
	if n.dir {
		return lerr(syscall.EPERM)
	}
	d, base, err := fs.parent("link", newname)
	if err != nil {
		return lerr(errno(err))
	}
	if d.entries[base] != nil {
		return lerr(syscall.EEXIST)
	}
	d.entries[base] = n
	return nil
}

// MkdirAll creates dir and any missing parents. The directories it creates
// are durable at once. perm is ignored.
func (fs *MemFS) MkdirAll(dir string, perm os.FileMode) error {
	fs.callHook(OpMkdir)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	d := fs.root
	for _, c := range splitPath(dir) {
		n := d.entries[c]
		if n == nil {
			n = newMemDir()
			d.entries[c] = n
			d.durable[c] = n
		} else if !n.dir {
			return pathErr("mkdir", dir, syscall.ENOTDIR)
		}
		d = n
	}
	return nil
}

// List returns the sorted names of the current entries of dir.
func (fs *MemFS) List(dir string) ([]string, error) {
	fs.mu.RLock()
	defer fs.mu.RUnlock()
	d, err := fs.walk("open", dir, splitPath(dir))
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(d.entries))
	for name := range d.entries {
		names = append(names, name)
	}
	slices.Sort(names)
	return names, nil
}

// Stat returns the current size of the named file (0 for a directory).
func (fs *MemFS) Stat(name string) (int64, error) {
	fs.mu.RLock()
	defer fs.mu.RUnlock()
	n, err := fs.lookup("stat", name)
	if err != nil {
		return 0, err
	}
	return int64(len(n.data)), nil
}

// SyncDir makes the current entries of dir durable.
func (fs *MemFS) SyncDir(dir string) error {
	fs.callHook(OpDirSync)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	d, err := fs.walk("sync", dir, splitPath(dir))
	if err != nil {
		return err
	}
	d.durable = maps.Clone(d.entries)
	return nil
}

// Lock takes the lock on the cleaned path of name within this MemFS, creating
// the file if it is missing. While the returned Closer is open, a second Lock
// of the same path fails with an error wrapping ErrLocked.
func (fs *MemFS) Lock(name string) (io.Closer, error) {
	fs.callHook(OpLock)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	d, base, err := fs.parent("open", name)
	if err != nil {
		return nil, err
	}
	key := "/" + strings.Join(splitPath(name), "/")
	if fs.locks[key] {
		return nil, fmt.Errorf("%w: %s", ErrLocked, name)
	}
	switch n := d.entries[base]; {
	case n == nil:
		d.entries[base] = &memNode{}
	case n.dir:
		return nil, pathErr("open", name, syscall.EISDIR)
	}
	fs.locks[key] = true
	return &memLock{fs: fs, key: key, name: name}, nil
}

// memLock is a held lock. Its closed field is guarded by fs.mu.
type memLock struct {
	fs     *MemFS
	key    string
	name   string
	closed bool
}

func (l *memLock) Close() error {
	l.fs.mu.Lock()
	defer l.fs.mu.Unlock()
	if l.closed {
		return pathErr("close", l.name, os.ErrClosed)
	}
	l.closed = true
	delete(l.fs.locks, l.key)
	return nil
}

// memFile is an open file of a MemFS. Its fields are guarded by fs.mu (rpos
// and closed are written under the exclusive lock).
type memFile struct {
	fs       *MemFS
	n        *memNode
	name     string
	rpos     int64 // offset of the next Read
	wpos     int64 // offset of the next Write
	writable bool  // opened by Create
	closed   bool
}

func (f *memFile) Read(p []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return 0, pathErr("read", f.name, os.ErrClosed)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if f.rpos >= int64(len(f.n.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.n.data[f.rpos:])
	f.rpos += int64(n)
	return n, nil
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.RLock()
	defer f.fs.mu.RUnlock()
	if f.closed {
		return 0, pathErr("read", f.name, os.ErrClosed)
	}
	if off < 0 {
		return 0, pathErr("readat", f.name, syscall.EINVAL)
	}
	if off >= int64(len(f.n.data)) {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	n := copy(p, f.n.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Write(p []byte) (int, error) { return f.write(p, -1) }

// WriteAt writes p at offset off, overwriting or extending the file (with
// zeros up to off if it is shorter); it leaves the offset of Write alone.
func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, pathErr("writeat", f.name, syscall.EINVAL)
	}
	return f.write(p, off)
}

// write writes p at off, or, if off is negative, at the offset of Write,
// which it advances.
func (f *memFile) write(p []byte, off int64) (int, error) {
	f.fs.callHook(OpWrite)
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return 0, pathErr("write", f.name, os.ErrClosed)
	}
	if !f.writable {
		return 0, pathErr("write", f.name, syscall.EBADF)
	}
	if off < 0 {
		off = f.wpos
		f.wpos += int64(len(p))
	}
	f.n.writeAt(p, off)
	return len(p), nil
}

// writeAt writes p at off (see memNode). Called with the MemFS's mu held.
func (n *memNode) writeAt(p []byte, off int64) {
	d := n.data
	if off < int64(len(d)) && !n.overwritten {
		// The first overwrite: the bytes so far may be shared with crash
		// clones and are the durable copy's; write into bytes of its own.
		n.overwritten = true
		n.fileDurable = append([]byte(nil), d[:n.synced]...)
		n.dirtyLo = n.synced
		d = append(make([]byte, 0, max(cap(d), 512)), d...)
	}
	end := int(off) + len(p)
	if end > cap(d) {
		// Double, rather than append's gentler growth for large slices:
		// a log written in small pieces is copied about once, not ~4 times.
		nd := make([]byte, len(d), max(end, 2*cap(d), 512))
		copy(nd, d)
		d = nd
	}
	if end > len(d) {
		old := len(d)
		d = d[:end]
		if int(off) > old {
			clear(d[old:off]) // zeros between the old end and off
		}
	}
	copy(d[off:], p)
	n.data = d
	if n.overwritten {
		n.dirtyLo = min(n.dirtyLo, int(off))
	}
}

func (f *memFile) Sync() error {
	f.fs.callHook(OpSync)
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return pathErr("sync", f.name, os.ErrClosed)
	}
	n := f.n
	if n.overwritten {
		// Bring the durable copy up to date from the lowest byte written
		// since the last Sync.
		lo := min(n.dirtyLo, len(n.fileDurable), len(n.data))
		n.fileDurable = append(n.fileDurable[:lo], n.data[lo:]...)
		n.dirtyLo = len(n.data)
	}
	n.synced = len(n.data)
	return nil
}

func (f *memFile) Size() (int64, error) {
	f.fs.mu.RLock()
	defer f.fs.mu.RUnlock()
	if f.closed {
		return 0, pathErr("stat", f.name, os.ErrClosed)
	}
	return int64(len(f.n.data)), nil
}

func (f *memFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return pathErr("close", f.name, os.ErrClosed)
	}
	f.closed = true
	return nil
}

// String lists every current entry, one a line, sorted by path: directories
// end in "/", files show their current and synced sizes, and an entry that a
// power loss would drop or change is marked "(entry not synced)". It is meant
// for debugging tests.
func (fs *MemFS) String() string {
	fs.mu.RLock()
	defer fs.mu.RUnlock()
	var b strings.Builder
	b.WriteString("/\n")
	seen := map[*memNode]bool{fs.root: true}
	var walk func(d *memNode, prefix string)
	walk = func(d *memNode, prefix string) {
		for _, name := range slices.Sorted(maps.Keys(d.entries)) {
			n := d.entries[name]
			mark := ""
			if d.durable[name] != n {
				mark = " (entry not synced)"
			}
			p := prefix + name
			if n.dir {
				fmt.Fprintf(&b, "%s/%s\n", p, mark)
				if !seen[n] { // a clone may hold a directory twice
					seen[n] = true
					walk(n, p+"/")
				}
				continue
			}
			fmt.Fprintf(&b, "%s %d bytes, %d synced%s\n", p, len(n.data), n.synced, mark)
		}
	}
	walk(fs.root, "/")
	return b.String()
}

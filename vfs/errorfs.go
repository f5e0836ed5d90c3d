package vfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"syscall"
)

// Op is a kind of filesystem call, as counted by ErrorFS and reported to a
// MemFS crash hook.
type Op int

// The kinds of call. File.Read and File.ReadAt are both OpRead; File.Size is
// OpStat, like FS.Stat; closing a File or a lock is OpClose.
const (
	OpCreate Op = iota
	OpOpen
	OpWrite
	OpSync
	OpRead
	OpRename
	OpRemove
	OpLink
	OpMkdir
	OpList
	OpStat
	OpDirSync
	OpLock
	OpClose
	numOps
)

var opNames = [numOps]string{
	OpCreate:  "create",
	OpOpen:    "open",
	OpWrite:   "write",
	OpSync:    "sync",
	OpRead:    "read",
	OpRename:  "rename",
	OpRemove:  "remove",
	OpLink:    "link",
	OpMkdir:   "mkdir",
	OpList:    "list",
	OpStat:    "stat",
	OpDirSync: "dirsync",
	OpLock:    "lock",
	OpClose:   "close",
}

// String returns the lower-case name of the kind, such as "write", or
// "Op(n)" for a value that is not a kind.
func (o Op) String() string {
	if o >= 0 && o < numOps {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// ErrInjected is wrapped by every error an IndexInjector returns by default,
// and by ErrNoSpace.
var ErrInjected = errors.New("vfs: injected error")

// errIO is an IndexInjector's default error: errors.Is finds both
// ErrInjected and syscall.EIO in it.
var errIO = fmt.Errorf("%w: %w", ErrInjected, syscall.EIO)

// ErrNoSpace is an injected "no space left on device": errors.Is finds both
// ErrInjected and syscall.ENOSPC in it. Use it with IndexInjector.WithError.
var ErrNoSpace = fmt.Errorf("%w: %w", ErrInjected, syscall.ENOSPC)

// Injector decides whether a call fails. ErrorFS calls MaybeError once per
// call, before delegating, possibly from many goroutines at once; a non-nil
// result is returned to the caller (wrapped in an *os.PathError naming the
// kind and path) and the call is not made, except that a Close is always
// made. path is the name the call was given; for Rename and Link it is the
// new name.
type Injector interface {
	MaybeError(op Op, path string) error
}

// InjectorFunc adapts a function to the Injector interface.
type InjectorFunc func(op Op, path string) error

// MaybeError returns f(op, path).
func (f InjectorFunc) MaybeError(op Op, path string) error { return f(op, path) }

// IndexInjector fails the call with a given index among the calls of chosen
// kinds. It is safe for concurrent use: every field is atomic or set once
// by OnIndex.
type IndexInjector struct {
	n          int64
	kinds      uint64 // bit k set: Op k matches; ignored if all
	all        bool
	persistent atomic.Bool
	err        atomic.Pointer[error]
	count      atomic.Int64
	fired      atomic.Bool
	cleared    atomic.Bool
}

// OnIndex returns an injector that fails the n-th (0-based) call whose kind is
// one of kinds (any kind if kinds is empty), once. A negative n never fails,
// so OnIndex(-1, ...) counts calls: run a workload once to learn Count, then
// run it again with n = 0 .. Count-1.
func OnIndex(n int64, kinds ...Op) *IndexInjector {
	i := &IndexInjector{n: n, all: len(kinds) == 0}
	for _, k := range kinds {
		if k >= 0 && k < numOps {
			i.kinds |= 1 << uint(k)
		}
	}
	return i
}

// Persistent makes every matching call from the n-th on fail, not just the
// n-th. It returns i.
func (i *IndexInjector) Persistent() *IndexInjector {
	i.persistent.Store(true)
	return i
}

// WithError sets the error injected calls return. The default wraps both
// ErrInjected and syscall.EIO. It returns i.
func (i *IndexInjector) WithError(err error) *IndexInjector {
	i.err.Store(&err)
	return i
}

// Count returns how many matching calls the injector has seen, failed or not.
func (i *IndexInjector) Count() int64 { return i.count.Load() }

// Fired reports whether the injector has failed at least one call.
func (i *IndexInjector) Fired() bool { return i.fired.Load() }

// Clear stops the injector from failing any later call. Calls are still
// counted.
func (i *IndexInjector) Clear() { i.cleared.Store(true) }

// MaybeError counts the call if its kind matches and returns the injected
// error if it is the chosen one.
func (i *IndexInjector) MaybeError(op Op, path string) error {
	if !i.all && (op < 0 || op >= numOps || i.kinds&(1<<uint(op)) == 0) {
		return nil
	}
	idx := i.count.Add(1) - 1
	if i.n < 0 || i.cleared.Load() {
		return nil
	}
	if idx != i.n && !(i.persistent.Load() && idx > i.n) {
		return nil
	}
	i.fired.Store(true)
	if p := i.err.Load(); p != nil {
		return *p
	}
	return errIO
}

// ErrorFS wraps an FS and, before every call of the FS and of the Files it
// returns, asks an Injector whether the call should fail. A failed call does
// nothing (a failed Write writes no byte), except that a failed Close still
// closes the inner file or lock, as close(2) releases the descriptor even
// when it reports an error. ErrorFS holds no state of its own and is safe for
// concurrent use as far as its inner FS and Injector are.
type ErrorFS struct {
	inner FS
	inj   Injector
}

var _ FS = (*ErrorFS)(nil)

// NewErrorFS returns inner wrapped so that inj can fail any call.
func NewErrorFS(inner FS, inj Injector) *ErrorFS {
	return &ErrorFS{inner: inner, inj: inj}
}

func (e *ErrorFS) check(op Op, path string) error {
	if err := e.inj.MaybeError(op, path); err != nil {
		return &os.PathError{Op: op.String(), Path: path, Err: err}
	}
	return nil
}

// Create is inner's Create unless the injector fails OpCreate.
func (e *ErrorFS) Create(name string) (File, error) {
	if err := e.check(OpCreate, name); err != nil {
		return nil, err
	}
	f, err := e.inner.Create(name)
	if err != nil {
		return nil, err
	}
	return &errorFile{fs: e, name: name, f: f}, nil
}

// Open is inner's Open unless the injector fails OpOpen.
func (e *ErrorFS) Open(name string) (File, error) {
	if err := e.check(OpOpen, name); err != nil {
		return nil, err
	}
	f, err := e.inner.Open(name)
	if err != nil {
		return nil, err
	}
	return &errorFile{fs: e, name: name, f: f}, nil
}

// Remove is inner's Remove unless the injector fails OpRemove.
func (e *ErrorFS) Remove(name string) error {
	if err := e.check(OpRemove, name); err != nil {
		return err
	}
	return e.inner.Remove(name)
}

// Rename is inner's Rename unless the injector fails OpRename (asked with
// newname).
func (e *ErrorFS) Rename(oldname, newname string) error {
	if err := e.check(OpRename, newname); err != nil {
		return err
	}
	return e.inner.Rename(oldname, newname)
}

// Link is inner's Link unless the injector fails OpLink (asked with
// newname).
func (e *ErrorFS) Link(oldname, newname string) error {
	if err := e.check(OpLink, newname); err != nil {
		return err
	}
	return e.inner.Link(oldname, newname)
}

// MkdirAll is inner's MkdirAll unless the injector fails OpMkdir.
func (e *ErrorFS) MkdirAll(dir string, perm os.FileMode) error {
	if err := e.check(OpMkdir, dir); err != nil {
		return err
	}
	return e.inner.MkdirAll(dir, perm)
}

// List is inner's List unless the injector fails OpList.
func (e *ErrorFS) List(dir string) ([]string, error) {
	if err := e.check(OpList, dir); err != nil {
		return nil, err
	}
	return e.inner.List(dir)
}

// Stat is inner's Stat unless the injector fails OpStat.
func (e *ErrorFS) Stat(name string) (int64, error) {
	if err := e.check(OpStat, name); err != nil {
		return 0, err
	}
	return e.inner.Stat(name)
}

// SyncDir is inner's SyncDir unless the injector fails OpDirSync.
func (e *ErrorFS) SyncDir(dir string) error {
	if err := e.check(OpDirSync, dir); err != nil {
		return err
	}
	return e.inner.SyncDir(dir)
}

// Lock is inner's Lock unless the injector fails OpLock. Closing the returned
// Closer is OpClose.
func (e *ErrorFS) Lock(name string) (io.Closer, error) {
	if err := e.check(OpLock, name); err != nil {
		return nil, err
	}
	c, err := e.inner.Lock(name)
	if err != nil {
		return nil, err
	}
	return &errorCloser{fs: e, name: name, c: c}, nil
}

// errorCloser wraps a lock's Closer. It is immutable.
type errorCloser struct {
	fs   *ErrorFS
	name string
	c    io.Closer
}

func (c *errorCloser) Close() error {
	ierr := c.fs.check(OpClose, c.name)
	if err := c.c.Close(); err != nil {
		return err
	}
	return ierr
}

// errorFile wraps a File of the inner FS. It is immutable; concurrency is the
// inner File's.
type errorFile struct {
	fs   *ErrorFS
	name string
	f    File
}

func (f *errorFile) Read(p []byte) (int, error) {
	if err := f.fs.check(OpRead, f.name); err != nil {
		return 0, err
	}
	return f.f.Read(p)
}

func (f *errorFile) ReadAt(p []byte, off int64) (int, error) {
	if err := f.fs.check(OpRead, f.name); err != nil {
		return 0, err
	}
	return f.f.ReadAt(p, off)
}

func (f *errorFile) Write(p []byte) (int, error) {
	if err := f.fs.check(OpWrite, f.name); err != nil {
		return 0, err
	}
	return f.f.Write(p)
}

// WriteAt is a write at an offset (io.WriterAt), injected as OpWrite; a
// file without positioned writes fails it with ErrUnsupported.
func (f *errorFile) WriteAt(p []byte, off int64) (int, error) {
	if err := f.fs.check(OpWrite, f.name); err != nil {
		return 0, err
	}
	w, ok := f.f.(io.WriterAt)
	if !ok {
		return 0, fmt.Errorf("vfs: %s: %w: positioned writes", f.name, ErrUnsupported)
	}
	return w.WriteAt(p, off)
}

func (f *errorFile) Sync() error {
	if err := f.fs.check(OpSync, f.name); err != nil {
		return err
	}
	return f.f.Sync()
}

func (f *errorFile) Size() (int64, error) {
	if err := f.fs.check(OpStat, f.name); err != nil {
		return 0, err
	}
	return f.f.Size()
}

func (f *errorFile) Close() error {
	ierr := f.fs.check(OpClose, f.name)
	if err := f.f.Close(); err != nil {
		return err
	}
	return ierr
}

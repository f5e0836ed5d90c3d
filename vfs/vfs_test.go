package vfs

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// fsCase is a filesystem under test and a directory to work in.
type fsCase struct {
	name string
	new  func(t *testing.T) (FS, string)
}

var fsCases = []fsCase{
	{"Default", func(t *testing.T) (FS, string) { return Default, t.TempDir() }},
	{"MemFS", func(t *testing.T) (FS, string) { return NewMem(), "/tmp/db" }},
	{"MemFSRelative", func(t *testing.T) (FS, string) { return NewMem(), "db" }},
	{"ErrorFSOverMemFS", func(t *testing.T) (FS, string) {
		return NewErrorFS(NewMem(), OnIndex(-1)), "/db"
	}},
}

// forEachFS runs fn against every FS implementation.
func forEachFS(t *testing.T, fn func(t *testing.T, fs FS, dir string)) {
	for _, c := range fsCases {
		t.Run(c.name, func(t *testing.T) {
			fs, dir := c.new(t)
			require.NoError(t, fs.MkdirAll(dir, 0o755))
			fn(t, fs, dir)
		})
	}
}

func writeFile(t *testing.T, fs FS, name string, data string) {
	t.Helper()
	f, err := fs.Create(name)
	require.NoError(t, err)
	n, err := f.Write([]byte(data))
	require.NoError(t, err)
	require.Equal(t, len(data), n)
	require.NoError(t, f.Sync())
	require.NoError(t, f.Close())
}

func readFile(t *testing.T, fs FS, name string) string {
	t.Helper()
	f, err := fs.Open(name)
	require.NoError(t, err)
	defer f.Close()
	b, err := io.ReadAll(f)
	require.NoError(t, err)
	return string(b)
}

func TestConformanceWriteRead(t *testing.T) {
	forEachFS(t, func(t *testing.T, fs FS, dir string) {
		name := filepath.Join(dir, "a")
		f, err := fs.Create(name)
		require.NoError(t, err)
		for _, s := range []string{"hello", "", "world"} {
			n, err := f.Write([]byte(s))
			require.NoError(t, err)
			require.Equal(t, len(s), n)
		}
		size, err := f.Size()
		require.NoError(t, err)
		require.EqualValues(t, 10, size)
		// A file from Create can be read back with ReadAt.
		buf := make([]byte, 3)
		n, err := f.ReadAt(buf, 4)
		require.NoError(t, err)
		require.Equal(t, "owo", string(buf[:n]))
		require.NoError(t, f.Sync())
		require.NoError(t, f.Close())
		require.Error(t, f.Close(), "second Close")
		_, err = f.Write([]byte("x"))
		require.Error(t, err, "Write after Close")
		require.Error(t, f.Sync(), "Sync after Close")

		size, err = fs.Stat(name)
		require.NoError(t, err)
		require.EqualValues(t, 10, size)

		r, err := fs.Open(name)
		require.NoError(t, err)
		size, err = r.Size()
		require.NoError(t, err)
		require.EqualValues(t, 10, size)
		// Read walks the read offset.
		n, err = r.Read(buf)
		require.NoError(t, err)
		require.Equal(t, "hel", string(buf[:n]))
		rest, err := io.ReadAll(r)
		require.NoError(t, err)
		require.Equal(t, "loworld", string(rest))
		n, err = r.Read(buf)
		require.Equal(t, 0, n)
		require.ErrorIs(t, err, io.EOF)
		// ReadAt: in range, short at the end, at and past the end.
		n, err = r.ReadAt(buf, 0)
		require.NoError(t, err)
		require.Equal(t, "hel", string(buf[:n]))
		n, err = r.ReadAt(buf, 8)
		require.ErrorIs(t, err, io.EOF)
		require.Equal(t, "ld", string(buf[:n]))
		n, err = r.ReadAt(buf, 10)
		require.ErrorIs(t, err, io.EOF)
		require.Equal(t, 0, n)
		n, err = r.ReadAt(buf, 100)
		require.ErrorIs(t, err, io.EOF)
		require.Equal(t, 0, n)
		_, err = r.ReadAt(buf, -1)
		require.Error(t, err)
		// A file from Open is read-only.
		_, err = r.Write([]byte("x"))
		require.Error(t, err)
		require.NoError(t, r.Close())
		require.Error(t, r.Close())
		_, err = r.ReadAt(buf, 0)
		require.Error(t, err, "ReadAt after Close")

		// Create of an existing name truncates.
		f, err = fs.Create(name)
		require.NoError(t, err)
		require.NoError(t, f.Close())
		size, err = fs.Stat(name)
		require.NoError(t, err)
		require.EqualValues(t, 0, size)
	})
}

func TestConformanceNotExist(t *testing.T) {
	forEachFS(t, func(t *testing.T, fs FS, dir string) {
		missing := filepath.Join(dir, "missing")
		_, err := fs.Open(missing)
		require.ErrorIs(t, err, os.ErrNotExist)
		_, err = fs.Stat(missing)
		require.ErrorIs(t, err, os.ErrNotExist)
		require.ErrorIs(t, fs.Remove(missing), os.ErrNotExist)
		require.ErrorIs(t, fs.Rename(missing, filepath.Join(dir, "x")), os.ErrNotExist)
		require.ErrorIs(t, fs.Link(missing, filepath.Join(dir, "x")), os.ErrNotExist)
		_, err = fs.Create(filepath.Join(missing, "f"))
		require.ErrorIs(t, err, os.ErrNotExist)
		_, err = fs.List(missing)
		require.ErrorIs(t, err, os.ErrNotExist)
		require.ErrorIs(t, fs.SyncDir(missing), os.ErrNotExist)
		_, err = fs.Lock(filepath.Join(missing, "LOCK"))
		require.ErrorIs(t, err, os.ErrNotExist)
	})
}

func TestConformanceNamespace(t *testing.T) {
	forEachFS(t, func(t *testing.T, fs FS, dir string) {
		p := func(name string) string { return filepath.Join(dir, name) }
		writeFile(t, fs, p("a"), "alpha")
		writeFile(t, fs, p("b"), "beta")
		require.NoError(t, fs.MkdirAll(p("sub/deeper"), 0o755))
		require.NoError(t, fs.MkdirAll(p("sub"), 0o755), "MkdirAll of an existing dir")
		require.Error(t, fs.MkdirAll(p("a/x"), 0o755), "MkdirAll through a file")

		names, err := fs.List(dir)
		require.NoError(t, err)
		require.Equal(t, []string{"a", "b", "sub"}, names)
		names, err = fs.List(p("sub/deeper"))
		require.NoError(t, err)
		require.Empty(t, names)

		// Rename replaces an existing name atomically.
		require.NoError(t, fs.Rename(p("a"), p("b")))
		_, err = fs.Stat(p("a"))
		require.ErrorIs(t, err, os.ErrNotExist)
		require.Equal(t, "alpha", readFile(t, fs, p("b")))
		// Rename into a subdirectory.
		require.NoError(t, fs.Rename(p("b"), p("sub/c")))
		require.Equal(t, "alpha", readFile(t, fs, p("sub/c")))
		// Rename a file onto itself is a no-op.
		require.NoError(t, fs.Rename(p("sub/c"), p("sub/c")))
		require.Equal(t, "alpha", readFile(t, fs, p("sub/c")))

		// Link: two names, one file.
		require.NoError(t, fs.Link(p("sub/c"), p("d")))
		require.Equal(t, "alpha", readFile(t, fs, p("d")))
		require.Error(t, fs.Link(p("sub/c"), p("d")), "Link onto an existing name")
		require.NoError(t, fs.Remove(p("sub/c")))
		require.Equal(t, "alpha", readFile(t, fs, p("d")))

		// Remove: files and empty directories, not full ones.
		require.Error(t, fs.Remove(p("sub")))
		require.NoError(t, fs.Remove(p("sub/deeper")))
		require.NoError(t, fs.Remove(p("sub")))
		names, err = fs.List(dir)
		require.NoError(t, err)
		require.Equal(t, []string{"d"}, names)
		require.NoError(t, fs.SyncDir(dir))
	})
}

func TestConformanceOpenFileOutlivesName(t *testing.T) {
	forEachFS(t, func(t *testing.T, fs FS, dir string) {
		name := filepath.Join(dir, "f")
		writeFile(t, fs, name, "payload")
		r, err := fs.Open(name)
		require.NoError(t, err)
		require.NoError(t, fs.Rename(name, filepath.Join(dir, "g")))
		require.NoError(t, fs.Remove(filepath.Join(dir, "g")))
		buf := make([]byte, 7)
		n, err := r.ReadAt(buf, 0)
		require.NoError(t, err)
		require.Equal(t, "payload", string(buf[:n]))
		require.NoError(t, r.Close())

		// A writer keeps writing to its inode after the name is removed.
		w, err := fs.Create(name)
		require.NoError(t, err)
		require.NoError(t, fs.Remove(name))
		_, err = w.Write([]byte("more"))
		require.NoError(t, err)
		size, err := w.Size()
		require.NoError(t, err)
		require.EqualValues(t, 4, size)
		require.NoError(t, w.Close())
		_, err = fs.Stat(name)
		require.ErrorIs(t, err, os.ErrNotExist)
	})
}

func TestConformanceLock(t *testing.T) {
	forEachFS(t, func(t *testing.T, fs FS, dir string) {
		name := filepath.Join(dir, "LOCK")
		l1, err := fs.Lock(name)
		require.NoError(t, err)
		_, err = fs.Stat(name)
		require.NoError(t, err, "Lock creates its file")

		// Same process, second open: must conflict.
		l2, err := fs.Lock(name)
		require.ErrorIs(t, err, ErrLocked)
		require.Nil(t, l2)
		// A different file is a different lock.
		l3, err := fs.Lock(filepath.Join(dir, "OTHER"))
		require.NoError(t, err)

		require.NoError(t, l1.Close())
		l2, err = fs.Lock(name)
		require.NoError(t, err, "Lock after the holder closed")
		_, err = fs.Lock(name)
		require.ErrorIs(t, err, ErrLocked)
		require.NoError(t, l2.Close())
		require.NoError(t, l3.Close())
		require.Error(t, l3.Close(), "second Close of a lock")
	})
}

func TestConformanceConcurrentReadAt(t *testing.T) {
	forEachFS(t, func(t *testing.T, fs FS, dir string) {
		name := filepath.Join(dir, "f")
		data := make([]byte, 4096)
		for i := range data {
			data[i] = byte(i * 7)
		}
		writeFile(t, fs, name, string(data))
		r, err := fs.Open(name)
		require.NoError(t, err)
		defer r.Close()
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := range 8 {
			wg.Go(func() {
				buf := make([]byte, 64)
				for off := int64(g); off+64 <= int64(len(data)); off += 61 {
					if _, err := r.ReadAt(buf, off); err != nil {
						errs <- err
						return
					}
					if string(buf) != string(data[off:off+64]) {
						errs <- errors.New("wrong bytes")
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
	})
}

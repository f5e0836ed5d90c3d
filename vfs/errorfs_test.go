package vfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOpString(t *testing.T) {
	seen := map[string]bool{}
	for op := OpCreate; op <= OpClose; op++ {
		s := op.String()
		require.NotEmpty(t, s)
		require.NotContains(t, s, "Op(", "kind %d has no name", int(op))
		require.False(t, seen[s], "duplicate name %q", s)
		seen[s] = true
	}
	require.Len(t, seen, 14)
	require.Equal(t, "write", OpWrite.String())
	require.Equal(t, "Op(99)", Op(99).String())
	require.Equal(t, "Op(-1)", Op(-1).String())
}

// workload uses every kind of call once or more and returns the first error.
// Close errors count too.
func workload(fs FS) (err error) {
	try := func(e error) {
		if err == nil && e != nil {
			err = e
		}
	}
	if e := fs.MkdirAll("/db", 0o755); e != nil {
		return e
	}
	l, e := fs.Lock("/db/LOCK")
	if e != nil {
		return e
	}
	defer func() { try(l.Close()) }()
	f, e := fs.Create("/db/a.tmp")
	if e != nil {
		return e
	}
	if _, e := f.Write([]byte("hello ")); e != nil {
		f.Close()
		return e
	}
	if _, e := f.Write([]byte("world")); e != nil {
		f.Close()
		return e
	}
	if e := f.Sync(); e != nil {
		f.Close()
		return e
	}
	if e := f.Close(); e != nil {
		return e
	}
	if e := fs.Rename("/db/a.tmp", "/db/a"); e != nil {
		return e
	}
	if e := fs.SyncDir("/db"); e != nil {
		return e
	}
	r, e := fs.Open("/db/a")
	if e != nil {
		return e
	}
	buf := make([]byte, 5)
	if _, e := r.ReadAt(buf, 6); e != nil {
		r.Close()
		return e
	}
	if _, e := r.Read(buf); e != nil {
		r.Close()
		return e
	}
	if _, e := r.Size(); e != nil {
		r.Close()
		return e
	}
	if e := r.Close(); e != nil {
		return e
	}
	if _, e := fs.Stat("/db/a"); e != nil {
		return e
	}
	if _, e := fs.List("/db"); e != nil {
		return e
	}
	if e := fs.Link("/db/a", "/db/b"); e != nil {
		return e
	}
	if e := fs.Remove("/db/a"); e != nil {
		return e
	}
	return nil
}

// recorder is an Injector that records every call and fails none.
type recorder struct {
	mu    sync.Mutex
	ops   []Op
	paths []string
}

func (r *recorder) MaybeError(op Op, path string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ops = append(r.ops, op)
	r.paths = append(r.paths, path)
	return nil
}

func TestErrorFSEveryIndex(t *testing.T) {
	rec := &recorder{}
	require.NoError(t, workload(NewErrorFS(NewMem(), rec)))
	counter := OnIndex(-1)
	require.NoError(t, workload(NewErrorFS(NewMem(), counter)))
	require.False(t, counter.Fired())
	require.EqualValues(t, len(rec.ops), counter.Count())
	// The workload covers every kind.
	kinds := map[Op]bool{}
	for _, op := range rec.ops {
		kinds[op] = true
	}
	require.Len(t, kinds, int(numOps), "kinds used: %v", rec.ops)

	for n := int64(0); n < counter.Count(); n++ {
		t.Run(fmt.Sprintf("%d-%s", n, rec.ops[n]), func(t *testing.T) {
			inj := OnIndex(n)
			err := workload(NewErrorFS(NewMem(), inj))
			require.True(t, inj.Fired())
			require.ErrorIs(t, err, ErrInjected)
			require.ErrorIs(t, err, syscall.EIO)
			var pe *os.PathError
			require.ErrorAs(t, err, &pe)
			require.Equal(t, rec.ops[n].String(), pe.Op, "the n-th call failed")
			require.Equal(t, rec.paths[n], pe.Path)
		})
	}
}

func TestErrorFSEveryIndexOfOneKind(t *testing.T) {
	for _, kind := range []Op{OpWrite, OpSync, OpRead, OpClose} {
		counter := OnIndex(-1, kind)
		require.NoError(t, workload(NewErrorFS(NewMem(), counter)))
		require.Positive(t, counter.Count())
		for n := int64(0); n < counter.Count(); n++ {
			inj := OnIndex(n, kind)
			err := workload(NewErrorFS(NewMem(), inj))
			require.ErrorIs(t, err, ErrInjected, "%s #%d", kind, n)
			var pe *os.PathError
			require.ErrorAs(t, err, &pe)
			require.Equal(t, kind.String(), pe.Op)
		}
		// Past the last call of the kind nothing fails.
		inj := OnIndex(counter.Count(), kind)
		require.NoError(t, workload(NewErrorFS(NewMem(), inj)))
		require.False(t, inj.Fired())
	}
}

func TestErrorFSPersistentAndClear(t *testing.T) {
	inj := OnIndex(2, OpWrite).Persistent()
	fs := NewErrorFS(NewMem(), inj)
	f, err := fs.Create("/f")
	require.NoError(t, err)
	for i := range 5 {
		_, err := f.Write([]byte{'a' + byte(i)})
		if i < 2 {
			require.NoError(t, err, "write %d", i)
		} else {
			require.ErrorIs(t, err, ErrInjected, "write %d", i)
		}
		require.NoError(t, f.Sync(), "other kinds are not matched")
	}
	require.True(t, inj.Fired())
	require.EqualValues(t, 5, inj.Count())
	inj.Clear()
	_, err = f.Write([]byte("z"))
	require.NoError(t, err)
	require.EqualValues(t, 6, inj.Count(), "calls are counted after Clear")
	size, err := f.Size()
	require.NoError(t, err)
	require.EqualValues(t, 3, size, "ab and z")
	require.NoError(t, f.Close())
}

func TestErrorFSOnceFiresOnce(t *testing.T) {
	inj := OnIndex(1, OpStat)
	mem := NewMem()
	writeFile(t, mem, "/f", "x")
	fs := NewErrorFS(mem, inj)
	var errs int
	for range 10 {
		if _, err := fs.Stat("/f"); err != nil {
			require.ErrorIs(t, err, ErrInjected)
			errs++
		}
	}
	require.Equal(t, 1, errs)
}

func TestErrorFSFailedWriteWritesNothing(t *testing.T) {
	mem := NewMem()
	fs := NewErrorFS(mem, OnIndex(1, OpWrite))
	f, err := fs.Create("/f")
	require.NoError(t, err)
	n, err := f.Write([]byte("aaa"))
	require.NoError(t, err)
	require.Equal(t, 3, n)
	n, err = f.Write([]byte("bbb"))
	require.ErrorIs(t, err, syscall.EIO)
	require.Equal(t, 0, n)
	n, err = f.Write([]byte("ccc"))
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.NoError(t, f.Close())
	require.Equal(t, "aaaccc", readFile(t, mem, "/f"))
}

func TestErrorFSFailedCallsDoNothing(t *testing.T) {
	mem := NewMem()
	writeFile(t, mem, "/a", "a")
	fs := NewErrorFS(mem, InjectorFunc(func(op Op, path string) error {
		if op == OpClose {
			return nil
		}
		return ErrInjected
	}))
	_, err := fs.Create("/b")
	require.Error(t, err)
	require.Error(t, fs.Rename("/a", "/c"))
	require.Error(t, fs.Link("/a", "/d"))
	require.Error(t, fs.Remove("/a"))
	require.Error(t, fs.MkdirAll("/dir", 0o755))
	_, err = fs.Lock("/LOCK")
	require.Error(t, err)
	names, err := mem.List("/")
	require.NoError(t, err)
	require.Equal(t, []string{"a"}, names)
}

func TestErrorFSWithError(t *testing.T) {
	fs := NewErrorFS(NewMem(), OnIndex(0, OpCreate).WithError(ErrNoSpace))
	_, err := fs.Create("/f")
	require.ErrorIs(t, err, syscall.ENOSPC)
	require.ErrorIs(t, err, ErrInjected)
	require.NotErrorIs(t, err, syscall.EIO)

	custom := errors.New("custom")
	fs = NewErrorFS(NewMem(), OnIndex(0).WithError(custom))
	require.ErrorIs(t, fs.MkdirAll("/x", 0o755), custom)
}

func TestErrorFSPathFilter(t *testing.T) {
	mem := NewMem()
	fs := NewErrorFS(mem, InjectorFunc(func(op Op, path string) error {
		if op == OpRename && path == "/CURRENT" {
			return ErrNoSpace
		}
		return nil
	}))
	writeFile(t, fs, "/CURRENT.tmp", "x")
	writeFile(t, fs, "/other.tmp", "y")
	require.ErrorIs(t, fs.Rename("/CURRENT.tmp", "/CURRENT"), syscall.ENOSPC)
	require.NoError(t, fs.Rename("/other.tmp", "/other"))
	names, err := mem.List("/")
	require.NoError(t, err)
	require.Equal(t, []string{"CURRENT.tmp", "other"}, names)
}

func TestErrorFSFailedCloseStillCloses(t *testing.T) {
	mem := NewMem()
	fs := NewErrorFS(mem, OnIndex(0, OpClose).Persistent())
	l, err := fs.Lock("/LOCK")
	require.NoError(t, err)
	require.ErrorIs(t, l.Close(), ErrInjected)
	l2, err := mem.Lock("/LOCK")
	require.NoError(t, err, "the lock was released despite the error")
	require.NoError(t, l2.Close())

	f, err := fs.Create("/f")
	require.NoError(t, err)
	require.ErrorIs(t, f.Close(), ErrInjected)
	err = f.Close()
	require.Error(t, err)
	require.ErrorIs(t, err, os.ErrClosed, "the inner file was closed by the first Close")
}

func TestErrorFSConcurrentCounting(t *testing.T) {
	mem := NewMem()
	writeFile(t, mem, "/f", "data")
	inj := OnIndex(500, OpRead)
	fs := NewErrorFS(mem, inj)
	r, err := fs.Open("/f")
	require.NoError(t, err)
	defer r.Close()
	const goroutines, calls = 10, 100
	var failed sync.Map
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			buf := make([]byte, 4)
			for i := range calls {
				if _, err := r.ReadAt(buf, 0); err != nil && !errors.Is(err, io.EOF) {
					failed.Store(fmt.Sprint(g, i), err)
				}
				_, _ = fs.Stat("/f")
			}
		})
	}
	wg.Wait()
	n := 0
	failed.Range(func(_, v any) bool {
		require.ErrorIs(t, v.(error), ErrInjected)
		n++
		return true
	})
	require.Equal(t, 1, n)
	require.EqualValues(t, goroutines*calls, inj.Count(), "Stat calls are not counted")
}

func BenchmarkErrorFSWrite(b *testing.B) {
	fs := NewErrorFS(NewMem(), OnIndex(-1, OpSync))
	f, err := fs.Create("/f")
	require.NoError(b, err)
	buf := make([]byte, 4096)
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for i := 0; b.Loop(); i++ {
		if i%1024 == 0 {
			f, _ = fs.Create("/f")
		}
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
}

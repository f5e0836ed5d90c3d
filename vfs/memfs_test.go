package vfs

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// state reads every file below dir (one level) into a map, for comparing
// filesystems after a crash.
func state(t *testing.T, fs FS, dir string) map[string]string {
	t.Helper()
	names, err := fs.List(dir)
	require.NoError(t, err)
	m := map[string]string{}
	for _, n := range names {
		m[n] = readFile(t, fs, dir+"/"+n)
	}
	return m
}

func create(t *testing.T, fs FS, name string) File {
	t.Helper()
	f, err := fs.Create(name)
	require.NoError(t, err)
	return f
}

func write(t *testing.T, f File, s string) {
	t.Helper()
	_, err := f.Write([]byte(s))
	require.NoError(t, err)
}

func TestMemFSCrash(t *testing.T) {
	tests := []struct {
		name string
		// run works on a fresh MemFS that holds a durable /db.
		run  func(t *testing.T, fs *MemFS)
		want map[string]string // files in /db of the crash clone
	}{
		{
			name: "unsynced bytes vanish",
			run: func(t *testing.T, fs *MemFS) {
				f := create(t, fs, "/db/f")
				require.NoError(t, fs.SyncDir("/db"))
				write(t, f, "lost")
			},
			want: map[string]string{"f": ""},
		},
		{
			name: "synced bytes stay, later bytes vanish",
			run: func(t *testing.T, fs *MemFS) {
				f := create(t, fs, "/db/f")
				require.NoError(t, fs.SyncDir("/db"))
				write(t, f, "kept")
				require.NoError(t, f.Sync())
				write(t, f, "lost")
			},
			want: map[string]string{"f": "kept"},
		},
		{
			name: "sync after close of another handle still counts",
			run: func(t *testing.T, fs *MemFS) {
				f := create(t, fs, "/db/f")
				write(t, f, "kept")
				require.NoError(t, f.Close())
				r, err := fs.Open("/db/f")
				require.NoError(t, err)
				require.NoError(t, r.Sync())
				require.NoError(t, fs.SyncDir("/db"))
			},
			want: map[string]string{"f": "kept"},
		},
		{
			name: "create without dir sync vanishes though the file was synced",
			run: func(t *testing.T, fs *MemFS) {
				f := create(t, fs, "/db/f")
				write(t, f, "data")
				require.NoError(t, f.Sync())
				require.NoError(t, f.Close())
			},
			want: map[string]string{},
		},
		{
			name: "dir sync before file sync keeps the name, not the bytes",
			run: func(t *testing.T, fs *MemFS) {
				f := create(t, fs, "/db/f")
				write(t, f, "data")
				require.NoError(t, fs.SyncDir("/db"))
			},
			want: map[string]string{"f": ""},
		},
		{
			name: "rename without dir sync is undone",
			run: func(t *testing.T, fs *MemFS) {
				f := create(t, fs, "/db/old")
				write(t, f, "durable")
				require.NoError(t, f.Sync())
				require.NoError(t, fs.SyncDir("/db"))
				write(t, f, "-lost")
				require.NoError(t, fs.Rename("/db/old", "/db/new"))
			},
			want: map[string]string{"old": "durable"},
		},
		{
			name: "rename with dir sync is kept",
			run: func(t *testing.T, fs *MemFS) {
				f := create(t, fs, "/db/old")
				write(t, f, "durable")
				require.NoError(t, f.Sync())
				require.NoError(t, fs.SyncDir("/db"))
				require.NoError(t, fs.Rename("/db/old", "/db/new"))
				require.NoError(t, fs.SyncDir("/db"))
			},
			want: map[string]string{"new": "durable"},
		},
		{
			name: "rename over an existing name without dir sync keeps the old target",
			run: func(t *testing.T, fs *MemFS) {
				writeFile(t, fs, "/db/CURRENT", "v1")
				writeFile(t, fs, "/db/CURRENT.tmp", "v2")
				require.NoError(t, fs.SyncDir("/db"))
				require.NoError(t, fs.Rename("/db/CURRENT.tmp", "/db/CURRENT"))
			},
			want: map[string]string{"CURRENT": "v1", "CURRENT.tmp": "v2"},
		},
		{
			name: "remove without dir sync is undone",
			run: func(t *testing.T, fs *MemFS) {
				writeFile(t, fs, "/db/f", "back")
				require.NoError(t, fs.SyncDir("/db"))
				require.NoError(t, fs.Remove("/db/f"))
			},
			want: map[string]string{"f": "back"},
		},
		{
			name: "remove with dir sync is kept",
			run: func(t *testing.T, fs *MemFS) {
				writeFile(t, fs, "/db/f", "gone")
				require.NoError(t, fs.SyncDir("/db"))
				require.NoError(t, fs.Remove("/db/f"))
				require.NoError(t, fs.SyncDir("/db"))
			},
			want: map[string]string{},
		},
		{
			name: "link without dir sync vanishes, with it both names stay",
			run: func(t *testing.T, fs *MemFS) {
				writeFile(t, fs, "/db/a", "shared")
				require.NoError(t, fs.Link("/db/a", "/db/b"))
				require.NoError(t, fs.SyncDir("/db"))
				require.NoError(t, fs.Link("/db/a", "/db/c"))
			},
			want: map[string]string{"a": "shared", "b": "shared"},
		},
		{
			name: "create over an existing name without dir sync brings the old inode back",
			run: func(t *testing.T, fs *MemFS) {
				writeFile(t, fs, "/db/f", "old")
				require.NoError(t, fs.SyncDir("/db"))
				writeFile(t, fs, "/db/f", "new")
			},
			want: map[string]string{"f": "old"},
		},
		{
			name: "lock file is an ordinary entry",
			run: func(t *testing.T, fs *MemFS) {
				l, err := fs.Lock("/db/LOCK")
				require.NoError(t, err)
				require.NoError(t, fs.SyncDir("/db"))
				_, err = fs.Lock("/db/LOCK2")
				require.NoError(t, err)
				_ = l
			},
			want: map[string]string{"LOCK": ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := NewMem()
			require.NoError(t, fs.MkdirAll("/db", 0o755))
			tt.run(t, fs)
			before := fs.String()
			clone := fs.CrashClone()
			require.Equal(t, tt.want, state(t, clone, "/db"), "clone:\n%s\noriginal:\n%s", clone, before)
			require.Equal(t, before, fs.String(), "CrashClone changed the original")
		})
	}
}

func TestMemFSRenameAcrossDirs(t *testing.T) {
	setup := func(t *testing.T) *MemFS {
		fs := NewMem()
		require.NoError(t, fs.MkdirAll("/a", 0o755))
		require.NoError(t, fs.MkdirAll("/b", 0o755))
		writeFile(t, fs, "/a/f", "x")
		require.NoError(t, fs.SyncDir("/a"))
		require.NoError(t, fs.Rename("/a/f", "/b/f"))
		return fs
	}
	for _, tt := range []struct {
		sync         []string
		wantA, wantB []string
	}{
		{nil, []string{"f"}, []string{}},
		{[]string{"/a"}, []string{}, []string{}},
		{[]string{"/b"}, []string{"f"}, []string{"f"}},
		{[]string{"/a", "/b"}, []string{}, []string{"f"}},
	} {
		t.Run(fmt.Sprint(tt.sync), func(t *testing.T) {
			fs := setup(t)
			for _, d := range tt.sync {
				require.NoError(t, fs.SyncDir(d))
			}
			c := fs.CrashClone()
			a, err := c.List("/a")
			require.NoError(t, err)
			b, err := c.List("/b")
			require.NoError(t, err)
			require.Equal(t, tt.wantA, a)
			require.Equal(t, tt.wantB, b)
		})
	}
}

func TestMemFSMkdirAllIsDurable(t *testing.T) {
	fs := NewMem()
	require.NoError(t, fs.MkdirAll("/x/y/z", 0o755))
	c := fs.CrashClone()
	names, err := c.List("/x/y")
	require.NoError(t, err)
	require.Equal(t, []string{"z"}, names)
}

func TestMemFSCloneIndependent(t *testing.T) {
	fs := NewMem()
	require.NoError(t, fs.MkdirAll("/db", 0o755))
	w := create(t, fs, "/db/f")
	require.NoError(t, fs.SyncDir("/db"))
	write(t, w, "abc")
	require.NoError(t, w.Sync())

	c := fs.CrashClone()
	// Writes to the original after the clone: same inode, new name, removal.
	write(t, w, "def")
	require.NoError(t, w.Sync())
	writeFile(t, fs, "/db/g", "g")
	require.NoError(t, fs.SyncDir("/db"))
	require.Equal(t, map[string]string{"f": "abc"}, state(t, c, "/db"))

	// Writes to the clone do not reach the original.
	cw := create(t, c, "/db/f")
	write(t, cw, "clone")
	require.NoError(t, cw.Close())
	writeFile(t, c, "/db/h", "h")
	require.Equal(t, map[string]string{"f": "abcdef", "g": "g"}, state(t, fs, "/db"))
	require.Equal(t, map[string]string{"f": "clone", "h": "h"}, state(t, c, "/db"))

	// The original's open writer keeps working and a second clone sees it.
	write(t, w, "ghi")
	require.NoError(t, w.Sync())
	require.Equal(t, "abcdefghi", readFile(t, fs.CrashClone(), "/db/f"))
	require.Equal(t, "clone", readFile(t, c, "/db/f"))
}

func TestMemFSCloneDropsLocksAndSharesLinks(t *testing.T) {
	fs := NewMem()
	require.NoError(t, fs.MkdirAll("/db", 0o755))
	_, err := fs.Lock("/db/LOCK")
	require.NoError(t, err)
	w := create(t, fs, "/db/a")
	require.NoError(t, fs.Link("/db/a", "/db/b"))
	require.NoError(t, fs.SyncDir("/db"))
	write(t, w, "both")
	require.NoError(t, w.Sync())

	c := fs.CrashClone()
	l, err := c.Lock("/db/LOCK")
	require.NoError(t, err, "locks are not carried into the clone")
	require.NoError(t, l.Close())
	_, err = fs.Lock("/db/LOCK")
	require.ErrorIs(t, err, ErrLocked, "the original still holds its lock")
	require.Equal(t, map[string]string{"LOCK": "", "a": "both", "b": "both"}, state(t, c, "/db"))
}

func TestMemFSPaths(t *testing.T) {
	fs := NewMem()
	require.NoError(t, fs.MkdirAll("db/sub", 0o755))
	writeFile(t, fs, "db/f", "rel")
	require.Equal(t, "rel", readFile(t, fs, "/db/f"))
	require.Equal(t, "rel", readFile(t, fs, "/db/sub/../f"))
	require.Equal(t, "rel", readFile(t, fs, "./db//f"))
	require.Equal(t, "rel", readFile(t, fs, "../db/f"))
	for _, root := range []string{"", ".", "/", "//"} {
		names, err := fs.List(root)
		require.NoError(t, err, "List(%q)", root)
		require.Equal(t, []string{"db"}, names)
	}
	// The lock key is the cleaned path.
	l, err := fs.Lock("/db/LOCK")
	require.NoError(t, err)
	_, err = fs.Lock("db/sub/../LOCK")
	require.ErrorIs(t, err, ErrLocked)
	require.NoError(t, l.Close())

	_, err = fs.Create("/")
	require.Error(t, err)
	_, err = fs.Create("/db/sub")
	require.Error(t, err, "Create over a directory")
	_, err = fs.Open("/db")
	require.Error(t, err, "Open of a directory")
	_, err = fs.Create("/db/f/x")
	require.Error(t, err, "Create below a file")
	require.Error(t, fs.Rename("/db", "/db/sub/db"), "rename into its own subtree")
	require.Error(t, fs.Rename("/db/f", "/db/sub"), "rename a file over a directory")
	require.Error(t, fs.Link("/db/sub", "/db/sub2"), "link a directory")
	require.Error(t, fs.Remove("/"))
}

func TestMemFSCrashHook(t *testing.T) {
	fs := NewMem()
	var ops []Op
	var clones []*MemFS
	fs.SetCrashHook(func(op Op) {
		ops = append(ops, op)
		clones = append(clones, fs.CrashClone())
	})
	require.NoError(t, fs.MkdirAll("/db", 0o755))
	f := create(t, fs, "/db/f")
	write(t, f, "x")
	require.NoError(t, f.Sync())
	require.NoError(t, fs.SyncDir("/db"))
	size, err := fs.Stat("/db/f") // not mutating: no hook
	require.NoError(t, err)
	require.EqualValues(t, 1, size)
	require.NoError(t, fs.Rename("/db/f", "/db/g"))
	require.NoError(t, fs.Link("/db/g", "/db/h"))
	require.NoError(t, fs.Remove("/db/g"))
	l, err := fs.Lock("/db/LOCK")
	require.NoError(t, err)
	require.NoError(t, l.Close())
	require.NoError(t, f.Close())

	require.Equal(t, []Op{OpMkdir, OpCreate, OpWrite, OpSync, OpDirSync, OpRename, OpLink, OpRemove, OpLock}, ops)
	// Each clone shows the state before its operation.
	require.Equal(t, "/\n", clones[0].String())
	require.Equal(t, map[string]string{}, state(t, clones[4], "/db"), "before the SyncDir")
	require.Equal(t, map[string]string{"f": "x"}, state(t, clones[5], "/db"), "after the SyncDir")

	// A hook may panic to stop a workload; the MemFS stays usable.
	fs.SetCrashHook(func(op Op) {
		if op == OpWrite {
			panic("crash")
		}
	})
	w := create(t, fs, "/db/w")
	require.PanicsWithValue(t, "crash", func() { _, _ = w.Write([]byte("x")) })
	size, err = w.Size()
	require.NoError(t, err)
	require.EqualValues(t, 0, size)
	fs.SetCrashHook(nil)
	write(t, w, "y")
}

func TestMemFSString(t *testing.T) {
	fs := NewMem()
	require.NoError(t, fs.MkdirAll("/db", 0o755))
	writeFile(t, fs, "/db/f", "12345")
	w := create(t, fs, "/db/g")
	require.NoError(t, fs.SyncDir("/db"))
	write(t, w, "ab")
	writeFile(t, fs, "/db/h", "")
	s := fs.String()
	require.Equal(t, strings.Join([]string{
		"/",
		"/db/",
		"/db/f 5 bytes, 5 synced",
		"/db/g 2 bytes, 0 synced",
		"/db/h 0 bytes, 0 synced (entry not synced)",
		"",
	}, "\n"), s)
}

// TestMemFSConcurrent runs writers, readers, namespace changes and crash
// clones at once; run with -race.
func TestMemFSConcurrent(t *testing.T) {
	fs := NewMem()
	require.NoError(t, fs.MkdirAll("/db", 0o755))
	const goroutines, rounds = 8, 50
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range rounds {
				name := fmt.Sprintf("/db/%d-%d", g, i)
				f, err := fs.Create(name)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = f.Write([]byte(name))
				_ = f.Sync()
				_ = fs.SyncDir("/db")
				buf := make([]byte, len(name))
				if n, err := f.ReadAt(buf, 0); err != nil || string(buf[:n]) != name {
					t.Errorf("ReadAt %s: %q %v", name, buf[:n], err)
				}
				_ = f.Close()
				_ = fs.Rename(name, name+".r")
				_, _ = fs.List("/db")
				if i%10 == 0 {
					c := fs.CrashClone()
					_, _ = c.List("/db")
				}
			}
		})
	}
	wg.Wait()
	names, err := fs.List("/db")
	require.NoError(t, err)
	require.Len(t, names, goroutines*rounds)
	for _, n := range names {
		require.True(t, strings.HasSuffix(n, ".r"), n)
		require.Equal(t, "/db/"+strings.TrimSuffix(n, ".r"), readFile(t, fs, "/db/"+n))
	}
	// Every file was synced before its directory: a clone after one more
	// SyncDir holds them all.
	require.NoError(t, fs.SyncDir("/db"))
	require.Len(t, state(t, fs.CrashClone(), "/db"), goroutines*rounds)
}

func BenchmarkMemFSWrite(b *testing.B) {
	fs := NewMem()
	f, err := fs.Create("/f")
	require.NoError(b, err)
	buf := make([]byte, 4096)
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for i := 0; b.Loop(); i++ {
		if i%1024 == 0 {
			// Start a fresh file so the benchmark does not hold gigabytes.
			f, _ = fs.Create("/f")
		}
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMemFSReadAt(b *testing.B) {
	fs := NewMem()
	f, err := fs.Create("/f")
	require.NoError(b, err)
	_, err = f.Write(make([]byte, 1<<20))
	require.NoError(b, err)
	buf := make([]byte, 4096)
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for i := 0; b.Loop(); i++ {
		if _, err := f.ReadAt(buf, int64(i%255)*4096); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMemFSCrashClone(b *testing.B) {
	fs := NewMem()
	require.NoError(b, fs.MkdirAll("/db", 0o755))
	for i := range 100 {
		f, err := fs.Create(fmt.Sprintf("/db/%06d.sst", i))
		require.NoError(b, err)
		_, _ = f.Write(make([]byte, 64<<10))
		_ = f.Sync()
	}
	require.NoError(b, fs.SyncDir("/db"))
	b.ReportAllocs()
	for b.Loop() {
		_ = fs.CrashClone()
	}
}

// Positioned writes: WriteAt overwrites or extends (with zeros up to its
// offset) and leaves Write's offset alone; Write continues from its own.
// A power loss keeps what the last Sync made durable, also of bytes
// overwritten since (in the synced part or past it), and a crash clone
// taken before an overwrite never sees it.
func TestMemFSPositionedWrites(t *testing.T) {
	fs := NewMem()
	require.NoError(t, fs.MkdirAll("/db", 0o755))
	f := create(t, fs, "/db/f")
	require.NoError(t, fs.SyncDir("/db"))
	wa := f.(interface {
		WriteAt([]byte, int64) (int, error)
	})
	at := func(s string, off int64) {
		t.Helper()
		n, err := wa.WriteAt([]byte(s), off)
		require.NoError(t, err)
		require.Equal(t, len(s), n)
	}
	at("0000000000", 0) // zeros written ahead, as a WAL segment's
	require.NoError(t, f.Sync())
	before := fs.CrashClone()
	write(t, f, "abc") // Write starts at offset 0: over the zeros
	require.Equal(t, "abc0000000", readFile(t, fs, "/db/f"))
	require.Equal(t, "0000000000", readFile(t, fs.CrashClone(), "/db/f"), "nothing synced since")
	require.NoError(t, f.Sync())
	write(t, f, "de")
	at("XY", 12) // past the end: zeros between
	require.Equal(t, "abcde00000\x00\x00XY", readFile(t, fs, "/db/f"))
	require.Equal(t, "abc0000000", readFile(t, fs.CrashClone(), "/db/f"))
	require.NoError(t, f.Sync())
	mid := fs.CrashClone()
	at("Q", 1)
	require.Equal(t, "aQcde00000\x00\x00XY", readFile(t, fs, "/db/f"))
	require.Equal(t, "abcde00000\x00\x00XY", readFile(t, fs.CrashClone(), "/db/f"))
	require.NoError(t, f.Sync())
	require.Equal(t, "aQcde00000\x00\x00XY", readFile(t, fs.CrashClone(), "/db/f"))
	// Clones taken earlier keep what they saw.
	require.Equal(t, "0000000000", readFile(t, before, "/db/f"))
	require.Equal(t, "abcde00000\x00\x00XY", readFile(t, mid, "/db/f"))
	// A file only appended to is unchanged by all this.
	g := create(t, fs, "/db/g")
	write(t, g, "12")
	require.NoError(t, g.Sync())
	write(t, g, "34")
	require.NoError(t, fs.SyncDir("/db"))
	require.Equal(t, "12", readFile(t, fs.CrashClone(), "/db/g"))
}

package wal

import (
	"bytes"
	"io"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/vfs"
)

// fileBytes reads the whole of file name of fs.
func fileBytes(t *testing.T, fs vfs.FS, name string) []byte {
	t.Helper()
	f, err := fs.Open(name)
	require.NoError(t, err)
	defer f.Close()
	size, err := f.Size()
	require.NoError(t, err)
	data := make([]byte, size)
	_, err = f.ReadAt(data, 0)
	if err != io.EOF {
		require.NoError(t, err)
	}
	return data
}

// TestZeroAhead: a writer told to write zeros ahead (ZeroAhead) writes
// none until it has been synced 64 times, then keeps the file written
// with zeros at least half a step past the log's end, a step at first and
// about half a step at a time after; the zeros read as the log's clean end
// (as after a crash); Close cuts them where the file can be truncated.
// A log synced at 16 KiB or more a sync on average, or whose file was
// zero-filled before, gets none.
func TestZeroAhead(t *testing.T) {
	for _, fsName := range []string{"os", "mem"} {
		t.Run(fsName, func(t *testing.T) {
			var fs vfs.FS = vfs.Default
			dir := t.TempDir()
			if fsName == "mem" {
				fs, dir = vfs.NewMem(), "/"
			}
			open := func(t *testing.T, name string, maxPerSync, written int64, expect ...int64) (*Writer, *atomic.Int64) {
				f, err := fs.Create(filepath.Join(dir, name))
				require.NoError(t, err)
				size := int64(32 << 20)
				if len(expect) > 0 {
					size = expect[0]
				}
				w := NewMappedWriter(f, size)
				count := new(atomic.Int64)
				w.ZeroAhead(maxPerSync, written, count)
				return w, count
			}
			add := func(t *testing.T, w *Writer, want *[][]byte, rec []byte) {
				t.Helper()
				*want = append(*want, rec)
				require.NoError(t, w.AddRecord(rec))
				require.NoError(t, w.Flush())
				require.NoError(t, w.Sync())
			}

			t.Run("small syncs", func(t *testing.T) {
				w, count := open(t, "small.log", 16<<10, 0)
				var want [][]byte
				for i := range zeroAheadMinSyncs {
					add(t, w, &want, bytes.Repeat([]byte{byte(i + 1)}, 1000))
				}
				require.Zero(t, count.Load(), "no zeros before %d syncs", zeroAheadMinSyncs)
				add(t, w, &want, bytes.Repeat([]byte{0xee}, 1000))
				require.Equal(t, int64(zeroAheadStep), count.Load(), "the first zeros: a step past the log's end")
				end := w.FlushedSize()
				data := fileBytes(t, fs, filepath.Join(dir, "small.log"))
				require.GreaterOrEqual(t, int64(len(data)), end+zeroAheadStep, "zeros a step past the log")
				recs, err := readAll(data)
				require.Equal(t, io.EOF, err, "the zeros read as the log's clean end")
				require.Equal(t, want, recs)

				for i := 0; w.Size() < 7<<20; i++ {
					add(t, w, &want, bytes.Repeat([]byte{byte(i)}, 500+i%3000))
					require.GreaterOrEqual(t, w.zeroed, w.FlushedSize()+zeroAheadStep/2, "written ahead at least half a step")
				}
				require.GreaterOrEqual(t, count.Load(), w.FlushedSize())
				require.Less(t, count.Load(), w.FlushedSize()+zeroAheadStep)
				recs, err = readAll(fileBytes(t, fs, filepath.Join(dir, "small.log")))
				require.Equal(t, io.EOF, err)
				require.Equal(t, want, recs)

				size := w.FlushedSize()
				require.NoError(t, w.Close())
				data = fileBytes(t, fs, filepath.Join(dir, "small.log"))
				if _, ok := fsFile(t, fs, dir).(truncater); ok {
					require.Equal(t, size, int64(len(data)), "Close cut the zeros")
				}
				recs, err = readAll(data)
				require.Equal(t, io.EOF, err)
				require.Equal(t, want, recs)
			})

			t.Run("large syncs", func(t *testing.T) {
				w, count := open(t, "large.log", 16<<10, 0)
				var want [][]byte
				for i := range 2 * zeroAheadMinSyncs {
					add(t, w, &want, bytes.Repeat([]byte{byte(i)}, 16<<10))
				}
				require.Zero(t, count.Load(), "a log synced every 16 KiB gets no zeros")
				require.NoError(t, w.Close())
			})

			t.Run("not past the expected size", func(t *testing.T) {
				w, count := open(t, "bounded.log", 16<<10, 0, 2<<20)
				var want [][]byte
				for i := range zeroAheadMinSyncs + 1 {
					add(t, w, &want, bytes.Repeat([]byte{byte(i)}, 1000))
				}
				zeroed := count.Load()
				require.Equal(t, 2<<20-w.FlushedSize(), zeroed, "zeros up to the expected size")
				for w.Size() < 3<<20 {
					add(t, w, &want, bytes.Repeat([]byte{2}, 1000))
				}
				require.Equal(t, zeroed, count.Load(), "none past it")
				require.NoError(t, w.Close())
				recs, err := readAll(fileBytes(t, fs, filepath.Join(dir, "bounded.log")))
				require.Equal(t, io.EOF, err)
				require.Equal(t, want, recs)
			})

			t.Run("written before", func(t *testing.T) {
				w, count := open(t, "prewritten.log", 16<<10, 8<<20)
				var want [][]byte
				for i := 0; w.Size() < 8<<20-zeroAheadStep/2-(4<<10); i++ {
					add(t, w, &want, bytes.Repeat([]byte{byte(i)}, 4<<10))
				}
				require.Zero(t, count.Load(), "nothing to write inside the zeros written before")
				for w.Size() < 8<<20 {
					add(t, w, &want, bytes.Repeat([]byte{1}, 4<<10))
				}
				require.Positive(t, count.Load(), "zeros once the log comes near their end")
				require.NoError(t, w.Close())
			})
		})
	}
}

// fsFile returns a file of fs, to learn what its files implement.
func fsFile(t *testing.T, fs vfs.FS, dir string) vfs.File {
	t.Helper()
	f, err := fs.Create(filepath.Join(dir, "probe"))
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return f
}

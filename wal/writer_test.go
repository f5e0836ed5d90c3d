package wal

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/vfs"
)

// memFile is an in-memory vfs.File for tests. Write and Sync may be called
// concurrently; mu guards every field. failWrite and failSync inject errors.
type memFile struct {
	mu        sync.Mutex
	data      []byte
	synced    int // len(data) at the last successful Sync
	writes    int
	syncs     int
	closed    bool
	failWrite error
	failSync  error
	shortBy   int // Write reports this many bytes fewer than it was given, without error
}

var _ vfs.File = (*memFile)(nil)

func (f *memFile) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return 0, errors.New("memFile: write after close")
	}
	f.writes++
	if f.failWrite != nil {
		// Like a real failing write: part of the data may land.
		f.data = append(f.data, p[:len(p)/2]...)
		return len(p) / 2, f.failWrite
	}
	n := len(p) - f.shortBy
	f.data = append(f.data, p[:n]...)
	return n, nil
}

func (f *memFile) Sync() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return errors.New("memFile: sync after close")
	}
	f.syncs++
	if f.failSync != nil {
		return f.failSync
	}
	f.synced = len(f.data)
	return nil
}

func (f *memFile) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return errors.New("memFile: double close")
	}
	f.closed = true
	return nil
}

func (f *memFile) Read([]byte) (int, error) { return 0, io.EOF }

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if off >= int64(len(f.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Size() (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return int64(len(f.data)), nil
}

func (f *memFile) bytes() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return bytes.Clone(f.data)
}

func TestWriterSizes(t *testing.T) {
	f := &memFile{}
	w := NewWriter(f)
	require.EqualValues(t, fileHeaderSize, w.Size())
	require.Zero(t, w.SyncedSize())

	require.NoError(t, w.AddRecord([]byte("hello")))
	require.EqualValues(t, fileHeaderSize+headerSize+5, w.Size())
	require.Empty(t, f.bytes(), "AddRecord must not write")

	require.NoError(t, w.Flush())
	require.Equal(t, 1, f.writes)
	require.EqualValues(t, w.Size(), len(f.bytes()))
	require.Zero(t, w.SyncedSize(), "Flush does not sync")

	require.NoError(t, w.Flush())
	require.Equal(t, 1, f.writes, "an empty Flush does not Write")

	require.NoError(t, w.Sync())
	require.Equal(t, w.Size(), w.SyncedSize())

	require.NoError(t, w.AddRecord(make([]byte, 100)))
	require.NoError(t, w.Sync())
	require.Less(t, w.SyncedSize(), w.Size(), "Sync covers only flushed bytes")
	require.EqualValues(t, len(f.bytes()), w.SyncedSize())

	require.NoError(t, w.Close())
	require.True(t, f.closed)
	require.EqualValues(t, w.Size(), len(f.bytes()), "Close flushes")
	require.Less(t, w.SyncedSize(), w.Size(), "Close does not sync")
	require.Equal(t, 2, f.syncs)
}

func TestWriterOneWritePerFlush(t *testing.T) {
	f := &memFile{}
	w := NewWriter(f)
	for i := range 50 {
		require.NoError(t, w.AddRecord(bytes.Repeat([]byte{byte(i)}, 3000)))
	}
	require.NoError(t, w.Flush())
	require.Equal(t, 1, f.writes)
	require.EqualValues(t, w.Size(), len(f.bytes()))
	require.Greater(t, w.Size(), int64(4*blockSize))
}

func TestWriterLatchesWriteError(t *testing.T) {
	errDisk := errors.New("injected EIO")
	f := &memFile{}
	w := NewWriter(f)
	require.NoError(t, w.AddRecord([]byte("a")))
	require.NoError(t, w.Flush())

	f.failWrite = errDisk
	require.NoError(t, w.AddRecord([]byte("b")))
	err := w.Flush()
	require.ErrorIs(t, err, errDisk)

	// The fault clears, but the writer never trusts the log again.
	f.failWrite = nil
	writes := f.writes
	require.Equal(t, err, w.AddRecord([]byte("c")))
	require.Equal(t, err, w.Flush())
	require.Equal(t, err, w.Sync())
	require.Equal(t, writes, f.writes, "no Write after the failure")
	require.Equal(t, 0, f.syncs, "no Sync after the failure")
	require.Equal(t, err, w.Close())
	require.True(t, f.closed, "Close closes the file even when latched")
	require.ErrorIs(t, w.Close(), ErrClosed)
}

func TestWriterLatchesShortWrite(t *testing.T) {
	f := &memFile{shortBy: 1}
	w := NewWriter(f)
	require.NoError(t, w.AddRecord([]byte("abc")))
	err := w.Flush()
	require.ErrorIs(t, err, io.ErrShortWrite)
	require.Equal(t, err, w.AddRecord([]byte("d")))
}

func TestWriterLatchesSyncError(t *testing.T) {
	errSync := errors.New("injected fsync failure")
	f := &memFile{failSync: errSync}
	w := NewWriter(f)
	require.NoError(t, w.AddRecord([]byte("a")))
	require.NoError(t, w.Flush())
	err := w.Sync()
	require.ErrorIs(t, err, errSync)
	require.Zero(t, w.SyncedSize())

	f.failSync = nil
	writes := f.writes
	require.Equal(t, err, w.AddRecord([]byte("b")))
	require.Equal(t, err, w.Flush())
	require.Equal(t, err, w.Sync())
	require.Equal(t, writes, f.writes)
	require.Zero(t, w.SyncedSize())
}

func TestWriterClose(t *testing.T) {
	f := &memFile{}
	w := NewWriter(f)
	require.NoError(t, w.AddRecord([]byte("x")))
	require.NoError(t, w.Close())
	require.ErrorIs(t, w.Close(), ErrClosed)
	require.ErrorIs(t, w.AddRecord([]byte("y")), ErrClosed)
	require.ErrorIs(t, w.Flush(), ErrClosed)
	require.ErrorIs(t, w.Sync(), ErrClosed)

	recs, err := readAll(f.bytes())
	require.Equal(t, io.EOF, err)
	require.Equal(t, [][]byte{[]byte("x")}, recs)
}

func TestWriterEmptyLog(t *testing.T) {
	f := &memFile{}
	w := NewWriter(f)
	require.NoError(t, w.Close())
	require.Len(t, f.bytes(), fileHeaderSize)
	recs, err := readAll(f.bytes())
	require.Equal(t, io.EOF, err)
	require.Empty(t, recs)
}

// TestSyncConcurrent runs a background syncer against AddRecord and Flush,
// as SyncEverySec does; run it under -race.
func TestSyncConcurrent(t *testing.T) {
	f := &memFile{}
	w := NewWriter(f)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	syncErr := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		var last int64
		for {
			select {
			case <-stop:
				syncErr <- nil
				return
			default:
			}
			if err := w.Sync(); err != nil {
				syncErr <- err
				return
			}
			s := w.SyncedSize()
			if s < last || s > w.Size() {
				syncErr <- errors.New("SyncedSize went backwards or past Size")
				return
			}
			last = s
		}
	}()
	var want [][]byte
	for i := range 2000 {
		rec := bytes.Repeat([]byte{byte(i)}, i%700)
		want = append(want, rec)
		require.NoError(t, w.AddRecord(rec))
		if i%7 == 0 {
			require.NoError(t, w.Flush())
		}
		_ = w.Size()
	}
	require.NoError(t, w.Flush())
	close(stop)
	wg.Wait()
	require.NoError(t, <-syncErr)
	require.NoError(t, w.Sync())
	require.Equal(t, w.Size(), w.SyncedSize())
	f.mu.Lock()
	require.Equal(t, len(f.data), f.synced)
	f.mu.Unlock()
	require.NoError(t, w.Close())

	recs, err := readAll(f.bytes())
	require.Equal(t, io.EOF, err)
	require.Equal(t, want, recs)
}

// TestSyncConcurrentWithClose checks that Close waits for a Sync in flight
// and a Sync after Close fails cleanly instead of syncing a closed file.
func TestSyncConcurrentWithClose(t *testing.T) {
	for range 50 {
		f := &memFile{}
		w := NewWriter(f)
		require.NoError(t, w.AddRecord([]byte("r")))
		require.NoError(t, w.Flush())
		done := make(chan error)
		go func() {
			var err error
			for err == nil {
				err = w.Sync()
			}
			done <- err
		}()
		require.NoError(t, w.Close())
		require.ErrorIs(t, <-done, ErrClosed)
	}
}

func TestAddRecordDoesNotAllocate(t *testing.T) {
	w := NewWriter(&memFile{})
	rec := make([]byte, 100)
	// Warm the buffer up to its steady-state size.
	for range 1000 {
		require.NoError(t, w.AddRecord(rec))
	}
	require.NoError(t, w.Flush())
	allocs := testing.AllocsPerRun(1000, func() {
		if err := w.AddRecord(rec); err != nil {
			t.Fatal(err)
		}
		if w.Size()-w.flushed.Load() > 64<<10 {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	})
	require.Zero(t, allocs)
}

func TestWriterReleasesHugeBuffer(t *testing.T) {
	f := &memFile{}
	w := NewWriter(f)
	require.NoError(t, w.AddRecord(make([]byte, 2*maxRetainedBuf)))
	require.NoError(t, w.Flush())
	require.LessOrEqual(t, cap(w.buf), maxRetainedBuf)
	require.NoError(t, w.AddRecord([]byte("after")))
	require.NoError(t, w.Close())
	recs, err := readAll(f.bytes())
	require.Equal(t, io.EOF, err)
	require.Len(t, recs, 2)
	require.Len(t, recs[0], 2*maxRetainedBuf)
	require.Equal(t, []byte("after"), recs[1])
}

// TestLargeRecordStreams: a record of many megabytes goes to the file in
// pieces while it is framed, through a buffer that never grows past about
// streamAt, and reads back whole, alone or among other records.
func TestLargeRecordStreams(t *testing.T) {
	for _, tc := range []struct {
		name string
		recs []int
	}{
		{"one 10 MiB record", []int{10 << 20}},
		{"small, large, small", []int{100, 3<<20 + 12345, 200}},
		{"records just over streamAt", []int{streamAt + 1, streamAt + 1, streamAt + 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &memFile{}
			w := NewWriter(f)
			var want [][]byte
			for i, n := range tc.recs {
				rec := bytes.Repeat([]byte{byte('a' + i)}, n)
				rec[0], rec[n-1] = 0xAB, 0xCD
				want = append(want, rec)
				require.NoError(t, w.AddRecord(rec))
				require.LessOrEqual(t, cap(w.buf), streamAt+2*blockSize, "buffer capacity after a %d-byte record", n)
				require.Equal(t, int64(len(f.bytes()))+int64(len(w.buf)), w.Size())
			}
			// What is left in the buffer is under streamAt plus a block:
			// the rest already reached the file.
			total := 0
			for _, n := range tc.recs {
				total += n
			}
			require.GreaterOrEqual(t, len(f.bytes()), total-streamAt-blockSize)
			require.NoError(t, w.Flush())
			require.NoError(t, w.Close())
			recs, err := readAll(f.bytes())
			require.Equal(t, io.EOF, err)
			require.Equal(t, want, recs)
		})
	}
}

// TestMappedWriterMixedFlushes: a mapped writer copies small flushes into
// its mapping and hands flushes of pwriteMin bytes or more to the file
// with a positioned write; mixed, and past the preallocated size (so the
// mapping grows), they read back as one log of every record in order, and
// Close cuts the file at the log's end.
func TestMappedWriterMixedFlushes(t *testing.T) {
	name := filepath.Join(t.TempDir(), "000001.log")
	f, err := vfs.Default.Create(name)
	require.NoError(t, err)
	w := NewMappedWriter(f, 1<<20)
	if _, ok := f.(vfs.Mappable); ok {
		require.NotNil(t, w.mapper, "a mappable file is written through a mapping")
		require.NotNil(t, w.writeAt, "a mapped writer has the file's WriteAt for large flushes")
	}
	sizes := []int{100, pwriteMin, 3, 200 << 10, 120, pwriteMin - 200, 1 << 20, 50, 1500, 600 << 10, 7}
	var want [][]byte
	for round := 0; round < 3; round++ {
		for i, n := range sizes {
			rec := bytes.Repeat([]byte{byte(round*len(sizes) + i)}, n)
			want = append(want, rec)
			require.NoError(t, w.AddRecord(rec))
			if i%3 != 1 { // some flushes carry two records
				require.NoError(t, w.Flush())
			}
		}
	}
	require.NoError(t, w.Flush())
	size := w.Size()
	require.Greater(t, size, int64(1<<20), "the log outgrew the preallocation")
	require.NoError(t, w.Close())
	require.Equal(t, size, requireFileLog(t, name, want), "Close cut the file at the log's end")
}

// TestCopyAscending: the piecewise copy into the mapping copies every byte
// of every size, around and across its piece size, and no byte past it.
func TestCopyAscending(t *testing.T) {
	for _, n := range []int{0, 1, 15, 16, 255, 256, 257, 511, 512, 2047, 2049, 4095, 4096, 10000} {
		src := make([]byte, n)
		for i := range src {
			src[i] = byte(i*7 + 1)
		}
		dst := make([]byte, n+8)
		if got := copyAscending(dst, src); got != n {
			t.Fatalf("size %d: copied %d", n, got)
		}
		if !bytes.Equal(dst[:n], src) {
			t.Fatalf("size %d: the copy differs", n)
		}
		if !bytes.Equal(dst[n:], make([]byte, 8)) {
			t.Fatalf("size %d: bytes past the copy written", n)
		}
	}
}

//go:build linux

package wal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/vfs"
)

// unmapped hides a file's vfs.Mappable, keeping its vfs.Preallocator (as
// raftstore's filesystem does).
type unmapped struct {
	vfs.File
	p        vfs.Preallocator
	failFrom int     // Preallocate calls from this one on fail (0: none)
	sizes    []int64 // every Preallocate's size
	truncate int64   // the last Truncate's size, -1 for none
}

func (u *unmapped) Preallocate(size int64) error {
	if u.failFrom > 0 && len(u.sizes)+1 >= u.failFrom {
		return errors.New("no space left")
	}
	u.sizes = append(u.sizes, size)
	return u.p.Preallocate(size)
}

func (u *unmapped) Truncate(size int64) error {
	u.truncate = size
	return u.p.Truncate(size)
}

// newSteppedWriter returns a writer of a new file on the OS filesystem
// that is not mappable but preallocates (its Preallocate calls failing
// from the failFrom-th on, if failFrom is positive), the file's wrapper
// and its name.
func newSteppedWriter(t *testing.T, failFrom int) (*Writer, *unmapped, string) {
	t.Helper()
	name := filepath.Join(t.TempDir(), "000001.log")
	f, err := vfs.Default.Create(name)
	require.NoError(t, err)
	u := &unmapped{File: f, p: f.(vfs.Preallocator), truncate: -1, failFrom: failFrom}
	return NewMappedWriter(u, 32<<20), u, name
}

// TestSteppedPreallocation: a writer on a file that is not mappable but
// can preallocate writes with write(2) and reserves the file ahead of the
// log's end, a step at a time (one Preallocate per preallocStep of small
// appends, a larger step for a large flush); the file's zero tail reads
// as the log's clean end, as after a crash; Close cuts it.
func TestSteppedPreallocation(t *testing.T) {
	w, u, name := newSteppedWriter(t, 0)
	require.Nil(t, w.mapped, "not mapped")
	require.NotNil(t, w.prealloc, "stepped")

	var want [][]byte
	add := func(rec []byte) {
		t.Helper()
		want = append(want, rec)
		require.NoError(t, w.AddRecord(rec))
		before, reserved := w.FlushedSize(), w.allocated
		require.NoError(t, w.Flush())
		after := w.FlushedSize()
		if after > reserved {
			n := after - before
			require.Equal(t, after+max(preallocStep, 8*n), w.allocated, "a flush of %d bytes past the reserve", n)
		} else {
			require.Equal(t, reserved, w.allocated, "a flush inside the reserve")
		}
		st, err := os.Stat(name)
		require.NoError(t, err)
		require.Equal(t, w.allocated, st.Size(), "the file's size is the reserve")
	}
	for i := 0; w.Size() < 3<<20; i++ {
		add(bytes.Repeat([]byte{byte(i)}, 100+i%300))
	}
	require.Len(t, u.sizes, 3, "about 3 MiB of small appends, a reserve per MiB: %v", u.sizes)
	// A large record (written in pieces of about 1 MiB as it is framed)
	// reserves more than a step: eight times its pieces.
	add(bytes.Repeat([]byte{7}, 2<<20))
	require.Len(t, u.sizes, 4)
	require.Greater(t, w.allocated-w.FlushedSize(), int64(4*preallocStep))

	// The file as a crash would leave it: the log, then zeros.
	require.Greater(t, requireFileLog(t, name, want), w.FlushedSize())

	require.NoError(t, w.Close())
	require.Equal(t, w.FlushedSize(), u.truncate, "Close cuts the reserve")
	require.Equal(t, w.FlushedSize(), requireFileLog(t, name, want))
}

// TestSteppedWriterReservesNothingWrittenBefore: a stepped writer told
// that the first bytes of its file are written already (ZeroAhead's
// written: a segment zero-filled before its use) preallocates nothing
// until the log passes them, then reserves as usual.
func TestSteppedWriterReservesNothingWrittenBefore(t *testing.T) {
	w, u, name := newSteppedWriter(t, 0)
	require.NotNil(t, w.prealloc, "stepped")
	w.ZeroAhead(16<<10, 2<<20, nil)
	var want [][]byte
	for i := 0; w.Size() < 2<<20-(8<<10); i++ {
		rec := bytes.Repeat([]byte{byte(i)}, 4000)
		want = append(want, rec)
		require.NoError(t, w.AddRecord(rec))
		require.NoError(t, w.Flush())
	}
	require.Empty(t, u.sizes, "nothing reserved inside the bytes written before")
	for w.Size() < 3<<20 {
		rec := bytes.Repeat([]byte{1}, 4000)
		want = append(want, rec)
		require.NoError(t, w.AddRecord(rec))
		require.NoError(t, w.Flush())
	}
	require.NotEmpty(t, u.sizes, "reserving past them")
	require.NoError(t, w.Close())
	require.Equal(t, w.FlushedSize(), requireFileLog(t, name, want))
}

// TestSteppedPreallocationFailure: once a Preallocate fails (a full disk),
// the writer stops reserving and goes on writing past the earlier reserve;
// the file ends where the log does, and the log reads back whole.
func TestSteppedPreallocationFailure(t *testing.T) {
	w, u, name := newSteppedWriter(t, 2)
	var want [][]byte
	for i := 0; w.Size() < 3<<20; i++ {
		rec := bytes.Repeat([]byte{byte(i)}, 1000)
		want = append(want, rec)
		require.NoError(t, w.AddRecord(rec))
		require.NoError(t, w.Flush())
	}
	require.Len(t, u.sizes, 1, "one reserve, then the failure")
	require.True(t, w.preallocOff)
	require.NoError(t, w.Close())
	require.Equal(t, w.FlushedSize(), requireFileLog(t, name, want))
}

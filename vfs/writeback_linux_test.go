//go:build linux

package vfs

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// The OS filesystem's files start write-back of what they hold, at any
// end (past the bytes written too), without changing the file; Sync after
// it still works.
func TestOSFileWriteBack(t *testing.T) {
	name := filepath.Join(t.TempDir(), "f")
	f, err := Default.Create(name)
	require.NoError(t, err)
	wb, ok := f.(WriteBacker)
	require.True(t, ok, "the OS filesystem's files must implement WriteBacker")
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	for _, end := range []int64{0, 512 << 10, 1 << 20, 2 << 20} {
		_, err := f.Write(data[:256<<10])
		require.NoError(t, err)
		require.NoError(t, wb.WriteBack(end), "end %d", end)
	}
	require.NoError(t, f.Sync())
	require.NoError(t, f.Close())
	got, err := os.ReadFile(name)
	require.NoError(t, err)
	require.Equal(t, data, got)
}

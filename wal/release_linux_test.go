//go:build linux

package wal

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/smaps"
	"github.com/stratadb/strata/vfs"
)

// TestMappedWriterReleasesPages: a mapped writer fed small flushes (each a
// copy into the mapping) keeps about releaseEvery bytes of the log
// resident in the process, not the whole log, and the log reads back
// whole: the released pages kept their bytes in the page cache.
func TestMappedWriterReleasesPages(t *testing.T) {
	name := filepath.Join(t.TempDir(), "000001.log")
	f, err := vfs.Default.Create(name)
	require.NoError(t, err)
	w := NewMappedWriter(f, 16<<20)
	require.NotNil(t, w.mapped, "the OS filesystem's file is mapped")
	var want [][]byte
	for i := 0; w.Size() < 12<<20; i++ {
		rec := bytes.Repeat([]byte{byte(i)}, 100+i%300)
		want = append(want, rec)
		require.NoError(t, w.AddRecord(rec))
		require.NoError(t, w.Flush())
	}
	rss, err := mappingRss(uintptr(unsafe.Pointer(&w.mapped[0])))
	require.NoError(t, err)
	require.LessOrEqual(t, rss, int64(releaseEvery+64<<10), "resident bytes of the mapping after a %d-byte log", w.Size())
	require.NoError(t, w.Close())
	data, err := os.ReadFile(name)
	require.NoError(t, err)
	recs, err := readAll(data)
	require.Equal(t, io.EOF, err)
	require.Equal(t, len(want), len(recs))
	require.Equal(t, want, recs)
}

// mappingRss returns the Rss of the mapping that holds addr, in bytes.
func mappingRss(addr uintptr) (int64, error) {
	v, err := smaps.Field(addr, "Rss")
	if err != nil {
		return 0, err
	}
	var kb int64
	if _, err := fmt.Sscanf(v, "%d kB", &kb); err != nil {
		return 0, err
	}
	return kb << 10, nil
}

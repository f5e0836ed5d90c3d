package sstable

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/keys"
	"github.com/stratadb/strata/internal/vfs"
)

// TestMappedTable: a table on the OS filesystem is read through a read-only
// mapping (on Linux), answers like the model, and a file cut short after it
// was mapped gives an error naming the table, not a crash.
func TestMappedTable(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 21))
	entries := genEntries(r, 3000)
	data, _ := writeTable(t, entries, WriterOptions{Compression: CompressionSnappy})
	path := filepath.Join(t.TempDir(), "000007.sst")
	require.NoError(t, os.WriteFile(path, data, 0o644))
	f, err := vfs.Default.Open(path)
	require.NoError(t, err)
	rd, err := NewReader(f, int64(len(data)), 7, path, ReaderOptions{}) // no cache: every Get reads the file
	require.NoError(t, err)
	if runtime.GOOS == "linux" {
		require.NotNil(t, rd.mapped, "tables on the OS filesystem are mapped on Linux")
	}
	for _, e := range entries {
		p, _ := keys.Parse(e.key)
		tr, v, found, err := rd.Lookup(p.UserKey, e.key)
		require.NoError(t, err)
		require.True(t, found, "%s", fmtKey(e.key))
		require.Equal(t, keys.TrailerOf(e.key), tr)
		require.Equal(t, string(e.value), string(v))
	}
	require.NoError(t, rd.Verify())

	// Cut the file in half under the open reader: the blocks past the cut
	// now lie beyond the file's end.
	require.NoError(t, os.Truncate(path, int64(len(data)/2)))
	last := entries[len(entries)-1].key
	p, _ := keys.Parse(last)
	_, _, _, err = rd.Lookup(p.UserKey, last)
	require.ErrorIs(t, err, keys.ErrCorruption)
	require.Contains(t, err.Error(), path)
	if rd.mapped != nil {
		require.Contains(t, err.Error(), "memory fault")
	}
	first := entries[0].key
	p, _ = keys.Parse(first)
	_, _, found, err := rd.Lookup(p.UserKey, first)
	require.NoError(t, err, "blocks before the cut still read")
	require.True(t, found)
	require.NoError(t, rd.Close())
}

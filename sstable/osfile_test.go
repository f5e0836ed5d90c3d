package sstable

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/vfs"
)

// TestOSFileTable: a table on the OS filesystem answers like the model,
// each cache miss reads exactly its one block (with its trailer) from the
// file, and a file cut short after it was opened gives an error naming the
// table, not a crash.
func TestOSFileTable(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 21))
	entries := genEntries(r, 3000)
	data, _ := writeTable(t, entries, WriterOptions{Compression: CompressionSnappy})
	path := filepath.Join(t.TempDir(), "000007.sst")
	require.NoError(t, os.WriteFile(path, data, 0o644))
	f, err := vfs.Default.Open(path)
	require.NoError(t, err)
	var st Stats
	rd, err := NewReader(f, int64(len(data)), 7, path, ReaderOptions{Stats: &st}) // no cache: every Get reads the file
	require.NoError(t, err)
	for _, e := range entries {
		p, _ := keys.Parse(e.key)
		blocks, bytes := st.DataBlocksRead.Load(), st.DataBytesRead.Load()
		total := st.BytesRead.Load()
		tr, v, found, err := rd.Lookup(p.UserKey, e.key)
		require.NoError(t, err)
		require.True(t, found, "%s", fmtKey(e.key))
		require.Equal(t, keys.TrailerOf(e.key), tr)
		require.Equal(t, string(e.value), string(v))
		// One block read, and only its bytes.
		require.Equal(t, blocks+1, st.DataBlocksRead.Load())
		h := rd.blockFor(t, e.key)
		require.Equal(t, int64(h.length+blockTrailerLen), st.DataBytesRead.Load()-bytes)
		require.Equal(t, int64(h.length+blockTrailerLen), st.BytesRead.Load()-total)
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
	first := entries[0].key
	p, _ = keys.Parse(first)
	_, _, found, err := rd.Lookup(p.UserKey, first)
	require.NoError(t, err, "blocks before the cut still read")
	require.True(t, found)
	require.NoError(t, rd.Close())
}

// blockFor returns the handle of the data block the index sends ikey to.
func (r *Reader) blockFor(t *testing.T, ikey []byte) blockHandle {
	t.Helper()
	var it blockIter
	require.NoError(t, it.init(r.mustIndex(t).index, r.name, 0))
	require.True(t, it.SeekGE(ikey))
	h, ok := decodeHandle(it.val)
	require.True(t, ok)
	return h
}

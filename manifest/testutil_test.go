package manifest

import (
	"fmt"
	"io"
	"testing"

	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/vfs"
	"github.com/stretchr/testify/require"
)

// ukey returns the test user key for i: "k0042".
func ukey(i int) []byte { return fmt.Appendf(nil, "k%04d", i) }

// meta returns a table holding user keys [lo, hi] with sequence numbers
// [sseq, lseq].
func meta(num uint64, lo, hi int, sseq, lseq keys.SeqNum) *FileMeta {
	return &FileMeta{
		FileNum:     num,
		Size:        100 + num%997,
		Smallest:    keys.MakeKey(nil, ukey(lo), lseq, keys.KindSet),
		Largest:     keys.MakeKey(nil, ukey(hi), sseq, keys.KindDelete),
		SmallestSeq: sseq,
		LargestSeq:  lseq,
		NumEntries:  uint64(hi-lo) + 1,
	}
}

// fileNums returns the file numbers of a level, in order.
func fileNums(files []*FileMeta) []uint64 {
	var out []uint64
	for _, f := range files {
		out = append(out, f.FileNum)
	}
	return out
}

// writeFile creates name holding size bytes, fsyncs it and its directory,
// as the engine does before any edit names the file.
func writeFile(t testing.TB, fs vfs.FS, dir, name string, size uint64) {
	t.Helper()
	f, err := fs.Create(name)
	require.NoError(t, err)
	_, err = f.Write(make([]byte, size))
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	require.NoError(t, f.Close())
	require.NoError(t, fs.SyncDir(dir))
}

// readAll returns the contents of name.
func readAll(t testing.TB, fs vfs.FS, name string) []byte {
	t.Helper()
	f, err := fs.Open(name)
	require.NoError(t, err)
	defer f.Close()
	b, err := io.ReadAll(f)
	require.NoError(t, err)
	return b
}

// replaceFile rewrites name with b, durably.
func replaceFile(t testing.TB, fs vfs.FS, dir, name string, b []byte) {
	t.Helper()
	f, err := fs.Create(name)
	require.NoError(t, err)
	_, err = f.Write(b)
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	require.NoError(t, f.Close())
	require.NoError(t, fs.SyncDir(dir))
}

// newMemDir returns a MemFS holding an empty directory /db.
func newMemDir(t testing.TB) (*vfs.MemFS, string) {
	t.Helper()
	fs := vfs.NewMem()
	require.NoError(t, fs.MkdirAll("/db", 0o755))
	return fs, "/db"
}

package lsm

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/manifest"
	"github.com/stratadb/strata/vfs"
)

// prewriteOpts are the options of the WALPrewrite tests: small memtables
// that rotate every few hundred writes, each write synced.
func prewriteOpts(fs vfs.FS) *Options {
	return &Options{
		FS: fs, Sync: SyncAlways, WALPrewrite: true,
		MemtableSize: 256 << 10, InitialMemtableSize: 256 << 10,
		TTLCompactionInterval: -1,
	}
}

func prewriteValue(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 100+i%50) }

// requirePrewriteValues checks that keys 0 to n-1 read back their
// prewriteValue.
func requirePrewriteValues(t *testing.T, db *DB, n int) {
	t.Helper()
	for i := range n {
		v, err := db.Get(fmt.Appendf(nil, "k%06d", i))
		require.NoError(t, err, "key %d", i)
		require.Equal(t, prewriteValue(i), v, "key %d", i)
	}
}

// waitPrewritten waits until db has a segment written ahead and ready.
func waitPrewritten(t *testing.T, db *DB) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		db.walPrep.mu.Lock()
		ready := db.walPrep.f != nil
		db.walPrep.mu.Unlock()
		if ready {
			return
		}
		require.True(t, time.Now().Before(deadline), "no WAL segment written ahead")
		time.Sleep(time.Millisecond)
	}
}

// filesOfType returns the names of the files of type ft in dir.
func filesOfType(t *testing.T, dir string, ft manifest.FileType) []string {
	t.Helper()
	names, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range names {
		if got, _, ok := manifest.ParseFilename(e.Name()); ok && got == ft {
			out = append(out, e.Name())
		}
	}
	return out
}

// copyFiles copies every file of dir into a new directory, as a process
// killed at that moment leaves them to the next Open (the bytes written
// are in the OS's hands).
func copyFiles(t *testing.T, dir string) string {
	t.Helper()
	to := t.TempDir()
	names, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range names {
		if e.Name() == "LOCK" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(to, e.Name()), b, 0o644))
	}
	return to
}

// After a rotation of a segment synced at each write, the next segment is
// written ahead with zeros; the rotation after takes it, and the log
// written over its zeros replays whole: after a close, and from the files
// as a killed process leaves them (a segment ending in zeros, maybe a
// temporary file being written ahead). Close leaves no temporary file.
func TestWALPrewriteOnTheOSFilesystem(t *testing.T) {
	dir := t.TempDir()
	opts := prewriteOpts(vfs.Default)
	db, err := Open(dir, opts)
	require.NoError(t, err)
	n := 0
	put := func(until func() bool) {
		for !until() {
			require.NoError(t, db.Put(fmt.Appendf(nil, "k%06d", n), prewriteValue(n)))
			n++
		}
	}
	put(func() bool { return db.Metrics().Flushes >= 1 })
	waitPrewritten(t, db)
	put(func() bool { return db.Metrics().Flushes >= 2 })
	require.Equal(t, int64(1), db.Metrics().WALPrewritten, "the second rotation takes the segment written ahead")
	// The segment in use was written ahead: it is longer than its log,
	// the rest zeros.
	segs := filesOfType(t, dir, manifest.FileTypeLog)
	fi, err := os.Stat(filepath.Join(dir, segs[len(segs)-1]))
	require.NoError(t, err)
	require.Greater(t, fi.Size(), db.mu.mem.wal.Size(), "the segment holds its zeros past the log")
	put(func() bool { return n%500 == 7 }) // a few more, into the middle of the segment

	killed := copyFiles(t, dir)
	db2, err := Open(killed, &Options{TTLCompactionInterval: -1})
	require.NoError(t, err)
	requirePrewriteValues(t, db2, n)
	require.Empty(t, filesOfType(t, killed, manifest.FileTypeTemp), "Open deletes a segment being written ahead")
	require.NoError(t, db2.Close())

	require.NoError(t, db.Close())
	require.Empty(t, filesOfType(t, dir, manifest.FileTypeTemp), "Close deletes a segment written ahead and not used")
	db, err = Open(dir, opts)
	require.NoError(t, err)
	requirePrewriteValues(t, db, n)
	require.NoError(t, db.Verify())
	require.NoError(t, db.Close())
}

// The first segment after Open is not written ahead: once it has been
// synced 64 times at a few hundred bytes a sync, zeros are written ahead
// of its log instead (none without WALPrewrite), and the log written over
// them replays whole, from the files as a killed process leaves them and
// after a close.
func TestWALZeroAheadOnTheOSFilesystem(t *testing.T) {
	for _, prewrite := range []bool{true, false} {
		t.Run(fmt.Sprintf("prewrite=%v", prewrite), func(t *testing.T) {
			dir := t.TempDir()
			opts := prewriteOpts(vfs.Default)
			opts.MemtableSize, opts.InitialMemtableSize = 8<<20, 8<<20
			opts.WALPrewrite = prewrite
			db, err := Open(dir, opts)
			require.NoError(t, err)
			const n = 300
			for i := range n {
				require.NoError(t, db.Put(fmt.Appendf(nil, "k%06d", i), prewriteValue(i)))
			}
			m := db.Metrics()
			require.Zero(t, m.Flushes, "all in the first segment")
			if !prewrite {
				require.Zero(t, m.WALZeroedAhead)
				require.NoError(t, db.Close())
				return
			}
			require.Positive(t, m.WALZeroedAhead, "zeros written ahead of the first segment's log")
			require.LessOrEqual(t, m.WALZeroedAhead, int64(9<<20), "not past the segment's expected size")
			killed := copyFiles(t, dir)
			db2, err := Open(killed, &Options{TTLCompactionInterval: -1})
			require.NoError(t, err)
			requirePrewriteValues(t, db2, n)
			require.NoError(t, db2.Close())
			require.NoError(t, db.Close())
			db, err = Open(dir, opts)
			require.NoError(t, err)
			requirePrewriteValues(t, db, n)
			require.NoError(t, db.Close())
		})
	}
}

// No segment is written ahead after one that was never synced, or synced
// once per 256 KiB or more (the disk's bandwidth, not the fsyncs, bounds
// such writes).
func TestWALPrewriteOnlyForFrequentSyncs(t *testing.T) {
	for _, c := range []struct {
		name  string
		sync  SyncMode
		batch int // values of 100 bytes per write
	}{
		{"never-synced", SyncNo, 1},
		{"large-syncs", SyncAlways, 3000},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := vfs.NewMem()
			opts := prewriteOpts(fs)
			opts.Sync = c.sync
			db := openMem(t, fs, opts)
			for i := 0; db.Metrics().Flushes < 4; i++ {
				b := db.NewBatch()
				for j := range c.batch {
					b.Put(fmt.Appendf(nil, "k%06d-%04d", i, j), prewriteValue(j))
				}
				require.NoError(t, db.Apply(b))
			}
			// A segment written ahead is started at the rotation itself.
			db.walPrep.mu.Lock()
			started := db.walPrep.running || db.walPrep.f != nil
			db.walPrep.mu.Unlock()
			require.False(t, started)
			require.Zero(t, db.Metrics().WALPrewritten)
			require.Zero(t, db.Metrics().WALZeroedAhead, "no zeros ahead of a log synced seldom")
		})
	}
}

// Where the filesystem's files have no positioned writes, the first try
// turns the writing ahead off.
func TestWALPrewriteOffWithoutPositionedWrites(t *testing.T) {
	fs := noWriteAtFS{vfs.NewMem()}
	db := openMem(t, fs, prewriteOpts(fs))
	for i := 0; db.Metrics().Flushes < 3; i++ {
		require.NoError(t, db.Put(fmt.Appendf(nil, "k%06d", i), prewriteValue(i)))
	}
	require.Eventually(t, func() bool {
		db.walPrep.mu.Lock()
		defer db.walPrep.mu.Unlock()
		return db.walPrep.off && !db.walPrep.running
	}, 30*time.Second, time.Millisecond)
	require.Zero(t, db.Metrics().WALPrewritten)
	require.Zero(t, db.Metrics().WALZeroedAhead, "nor zeros ahead of a log")
}

// noWriteAtFS hides its files' positioned writes.
type noWriteAtFS struct{ *vfs.MemFS }

func (fs noWriteAtFS) Create(name string) (vfs.File, error) {
	f, err := fs.MemFS.Create(name)
	return struct{ vfs.File }{f}, err
}

package sstable

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/vfs"
)

// countingFS counts the files open through it.
type countingFS struct {
	vfs.FS
	open  atomic.Int64
	opens atomic.Int64
}

type countedFile struct {
	vfs.File
	fs     *countingFS
	closed atomic.Bool
}

func (f *countedFile) Close() error {
	if f.closed.Swap(true) {
		return fmt.Errorf("double close")
	}
	f.fs.open.Add(-1)
	return f.File.Close()
}

func (fs *countingFS) Open(name string) (vfs.File, error) {
	f, err := fs.FS.Open(name)
	if err != nil {
		return nil, err
	}
	fs.open.Add(1)
	fs.opens.Add(1)
	return &countedFile{File: f, fs: fs}, nil
}

// tableNames names the tables of dir for a TableCache, as the tests'
// makeTables writes them.
func tableNames(dir string) func(uint64) string {
	return func(n uint64) string { return filepath.Join(dir, fmt.Sprintf("t%d.table", n)) }
}

// makeTables writes n tables; table i holds the keys "t<i>-k<j>".
func makeTables(t *testing.T, dir string, n int) map[uint64]int64 {
	sizes := map[uint64]int64{}
	for i := 1; i <= n; i++ {
		f, err := vfs.Default.Create(tableNames(dir)(uint64(i)))
		require.NoError(t, err)
		w := NewWriter(f, WriterOptions{BlockSize: 256})
		for j := 0; j < 100; j++ {
			require.NoError(t, w.Add(keys.MakeKey(nil, fmt.Appendf(nil, "t%d-k%03d", i, j), 1, keys.KindSet), fmt.Appendf(nil, "v%d-%d", i, j)))
		}
		props, err := w.Finish()
		require.NoError(t, err)
		sizes[uint64(i)] = int64(props.FileSize)
	}
	return sizes
}

func checkTableReader(t *testing.T, rd *Reader, i int) {
	uk := fmt.Appendf(nil, "t%d-k%03d", i, 42)
	_, v, found, err := rd.Get(uk, keys.SearchKey(nil, uk, keys.MaxSeq))
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, fmt.Sprintf("v%d-42", i), string(v))
}

// TestTableCacheBoundAndRefcount: at most maxOpen readers stay open once
// released; an evicted reader in use keeps working and closes on its last
// release.
func TestTableCacheBoundAndRefcount(t *testing.T) {
	dir := t.TempDir()
	sizes := makeTables(t, dir, 10)
	fs := &countingFS{FS: vfs.Default}
	bc := NewCache(1 << 20)
	tc := NewTableCache(fs, tableNames(dir), 3, ReaderOptions{Cache: bc})

	held, release1, err := tc.Get(1, sizes[1])
	require.NoError(t, err)
	checkTableReader(t, held, 1)
	for i := 2; i <= 10; i++ {
		rd, release, err := tc.Get(uint64(i), sizes[uint64(i)])
		require.NoError(t, err)
		checkTableReader(t, rd, i)
		release.Release()
		require.LessOrEqual(t, tc.Len(), 3)
		// The cached readers plus the held, evicted one.
		require.LessOrEqual(t, fs.open.Load(), int64(4))
	}
	// Table 1 was evicted long ago but is still in use.
	require.Equal(t, int64(4), fs.open.Load())
	checkTableReader(t, held, 1)
	release1.Release()
	require.Equal(t, int64(3), fs.open.Load(), "the evicted reader closes on its last release")

	// A cached table is shared: no new open.
	opens := fs.opens.Load()
	rd, release, err := tc.Get(10, sizes[10])
	require.NoError(t, err)
	checkTableReader(t, rd, 10)
	require.Equal(t, opens, fs.opens.Load())

	// Evict (file deleted) while in use: still readable until released, and
	// its blocks leave the block cache.
	cached := func(f uint64) int {
		n := 0
		for off := uint64(0); off < uint64(sizes[f]); off++ {
			if _, ok := bc.Get(f, off); ok {
				n++
			}
		}
		return n
	}
	require.Positive(t, cached(10))
	tc.Evict(10)
	require.Zero(t, cached(10))
	checkTableReader(t, rd, 10)
	release.Release()
	require.Equal(t, int64(2), fs.open.Load())

	// A missing table is an error and is not cached.
	_, _, err = tc.Get(99, 1000)
	require.Error(t, err)
	_, _, err = tc.Get(99, 1000)
	require.Error(t, err)
	// A damaged size is a corruption error.
	_, _, err = tc.Get(5, sizes[5]-1)
	require.ErrorIs(t, err, keys.ErrCorruption)

	rd, release, err = tc.Get(5, sizes[5])
	require.NoError(t, err)
	require.NoError(t, tc.Close())
	require.Error(t, tc.Close())
	_, _, err = tc.Get(5, sizes[5])
	require.Error(t, err, "Get after Close")
	checkTableReader(t, rd, 5)
	require.Equal(t, int64(1), fs.open.Load())
	release.Release()
	require.Zero(t, fs.open.Load(), "every file closed")
}

// TestTableCacheConcurrent: goroutines getting, reading, releasing and
// evicting tables concurrently (run with -race) never see a closed reader,
// never exceed the bound by more than the readers in use, and leave no file
// open after Close.
func TestTableCacheConcurrent(t *testing.T) {
	dir := t.TempDir()
	const n = 12
	sizes := makeTables(t, dir, n)
	fs := &countingFS{FS: vfs.Default}
	const maxOpen, workers = 4, 8
	tc := NewTableCache(fs, tableNames(dir), maxOpen, ReaderOptions{Cache: NewCache(256 << 10)})
	var wg sync.WaitGroup
	for g := 0; g < workers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 2))
			for i := 0; i < 300; i++ {
				f := uint64(1 + r.IntN(n))
				if r.IntN(20) == 0 {
					tc.Evict(f)
					continue
				}
				rd, release, err := tc.Get(f, sizes[f])
				if err != nil {
					t.Errorf("Get(%d): %v", f, err)
					return
				}
				uk := fmt.Appendf(nil, "t%d-k%03d", f, r.IntN(100))
				if _, _, found, err := rd.Get(uk, keys.SearchKey(nil, uk, keys.MaxSeq)); err != nil || !found {
					t.Errorf("table %d: found=%v err=%v", f, found, err)
				}
				if open := fs.open.Load(); open > maxOpen+workers {
					t.Errorf("%d files open", open)
				}
				release.Release()
			}
		}(g)
	}
	wg.Wait()
	require.LessOrEqual(t, fs.open.Load(), int64(maxOpen))
	require.NoError(t, tc.Close())
	require.Zero(t, fs.open.Load())
}

// TestTableCacheSecondChance: a table used (through the lock-free path)
// since the eviction scan last passed it is spared once; the least recently
// used of the others goes instead.
func TestTableCacheSecondChance(t *testing.T) {
	dir := t.TempDir()
	sizes := makeTables(t, dir, 3)
	fs := &countingFS{FS: vfs.Default}
	tc := NewTableCache(fs, tableNames(dir), 2, ReaderOptions{})
	get := func(f uint64) {
		rd, h, err := tc.Get(f, sizes[f])
		require.NoError(t, err)
		checkTableReader(t, rd, int(f))
		h.Release()
	}
	get(1)
	get(2) // LRU order: 2, 1
	opens := fs.opens.Load()
	get(1) // a hit: marks 1 recent without moving it
	require.Equal(t, opens, fs.opens.Load(), "a hit opens nothing")
	get(3) // over the bound: 1 is spared, 2 goes
	require.Equal(t, 2, tc.Len())
	opens = fs.opens.Load()
	get(1)
	get(3)
	require.Equal(t, opens, fs.opens.Load(), "1 and 3 stayed open")
	get(2)
	require.Equal(t, opens+1, fs.opens.Load(), "2 was evicted and opens again")
	require.NoError(t, tc.Close())
	require.Zero(t, fs.open.Load())
}

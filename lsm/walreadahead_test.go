package lsm

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/manifest"
	"github.com/stratadb/strata/vfs"
)

// A scan of values kept in the WAL, logged in key order, reads the
// segment ahead in windows of its own (walReadahead): a few large reads
// in all, and the block cache is left to the reads that come back.
func TestWALValuesScanReadsAhead(t *testing.T) {
	fs := vfs.NewMem()
	opts := walValueOpts(fs)
	opts.MemtableSize = 4 << 20
	db := openMem(t, fs, opts)
	const n = 2000
	value := func(i int) []byte { return bytes.Repeat([]byte{byte(i), byte(i >> 8)}, 500) }
	for i := range n {
		require.NoError(t, db.Put(walKey(i), value(i)))
	}
	require.NoError(t, db.Flush())
	require.NoError(t, db.Close())

	db = openMem(t, fs, opts) // a cold cache
	defer db.Close()
	m0 := db.Metrics()
	scanEach(t, db, n, value)
	m := db.Metrics()
	// 2 MB of values: the first walReadaheadAfter through the cache, then
	// windows doubling from walReadaheadMin to walReadaheadMax.
	reads := m.WALValueReads - m0.WALValueReads
	most := int64(n*1024/walReadaheadMax + 2*walReadaheadAfter)
	t.Logf("a scan of %d values of 1 KiB read the segment %d times; the block cache grew by %d bytes", n, reads, m.BlockCacheBytes-m0.BlockCacheBytes)
	require.LessOrEqual(t, reads, most, "a scan reads the segment ahead")
	require.Less(t, m.BlockCacheBytes-m0.BlockCacheBytes, int64(n*1000/8), "a scan's windows stay out of the block cache")

	// Backwards, each value is read alone or through the cache: right,
	// only slower.
	it, err := db.NewIter(nil)
	require.NoError(t, err)
	i := n
	for ok := it.Last(); ok; ok = it.Prev() {
		i--
		require.Equal(t, value(i), it.Value(), "key %d", i)
	}
	require.Zero(t, i)
	require.NoError(t, it.Close())
}

// Values still in the memtable are read ahead only as far as the log was
// handed to the file: a scan over a memtable that grows meanwhile (its
// segment written ahead with zeros) sees the values logged before it
// opened, each right, and none after.
func TestWALValuesOfTheMemtableReadAhead(t *testing.T) {
	fs := vfs.NewMem()
	opts := walValueOpts(fs)
	opts.MemtableSize, opts.InitialMemtableSize = 8<<20, 8<<20 // no flush here
	opts.Sync, opts.WALPrewrite = SyncAlways, true
	db := openMem(t, fs, opts)
	defer db.Close()
	value := func(i int) []byte { return bytes.Repeat([]byte{byte(i), byte(i >> 8), 7}, 333) }
	const n = 1000
	for i := range n {
		require.NoError(t, db.Put(walKey(i), value(i)))
	}
	before := db.Metrics().WALValueReads
	it, err := db.NewIter(nil)
	require.NoError(t, err)
	i := 0
	for ok := it.First(); ok; ok = it.Next() {
		require.Equal(t, walKey(i), it.Key())
		require.Equal(t, value(i), it.Value(), "key %d", i)
		if i%100 == 0 { // more values logged behind the scan
			for j := range 20 {
				require.NoError(t, db.Put(walKey(n+i+j), value(n+i+j)))
			}
		}
		i++
	}
	require.NoError(t, it.Close())
	require.Equal(t, n, i, "the scan saw only what was logged before it opened")
	require.Zero(t, db.Metrics().Flushes)
	require.Positive(t, db.Metrics().WALZeroedAhead, "zeros were written past the log")
	require.LessOrEqual(t, db.Metrics().WALValueReads-before, int64(n*1000/walReadaheadMax+2*walReadaheadAfter+n/32),
		"the scan read the memtable's segment ahead")
}

// A damaged value met while reading ahead fails the scan with
// ErrCorruption naming the segment, as a read of the value alone does.
func TestWALValuesReadAheadFindsDamage(t *testing.T) {
	fs := vfs.NewMem()
	opts := walValueOpts(fs)
	opts.MemtableSize = 4 << 20
	skipCheck(t, "the test damages the DB")
	db := openMem(t, fs, opts)
	value := func(i int) []byte { return bytes.Repeat([]byte{byte(i), byte(i >> 8), 3}, 333) }
	const n, bad = 500, 300
	for i := range n {
		require.NoError(t, db.Put(walKey(i), value(i)))
	}
	require.NoError(t, db.Flush())
	require.NoError(t, db.Close())
	seg := manifest.MakeFilename("/db", manifest.FileTypeLog, logFiles(t, fs)[0])
	damageSegmentValue(t, fs, seg, value(bad), 100)

	db, err := Open("/db", opts)
	require.NoError(t, err)
	defer db.Close()
	it, err := db.NewIter(nil)
	require.NoError(t, err)
	i := 0
	for ok := it.First(); ok; ok = it.Next() {
		require.Equal(t, value(i), it.Value(), "key %d", i)
		i++
	}
	require.Equal(t, bad, i, "the scan stops at the damaged value")
	require.ErrorIs(t, it.Error(), ErrCorruption)
	require.ErrorContains(t, it.Error(), seg)
	require.Error(t, it.Close())
}

package lsm

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/manifest"
	"github.com/stratadb/strata/vfs"
)

// walValueOpts are small options that keep values of 100 bytes or more in
// the WAL.
func walValueOpts(fs vfs.FS) *Options {
	o := smallOpts(fs)
	o.WALValueThreshold = 100
	o.L0CompactionTrigger = 100 // compactions only when a test asks
	o.L0SlowdownWrites, o.L0StopWrites = 200, 400
	return o
}

// walValue returns key i's value: every third one under the threshold.
func walValue(i, gen int) []byte {
	n := 100 + (i*37)%900
	if i%3 == 0 {
		n = i % 100
	}
	v := make([]byte, n)
	for j := range v {
		v[j] = byte(i*7 + j + gen)
	}
	return v
}

func walKey(i int) []byte { return fmt.Appendf(nil, "key%06d", i) }

// logFiles returns the WAL segment numbers in /db, oldest first.
func logFiles(t *testing.T, fs vfs.FS) []uint64 {
	t.Helper()
	var out []uint64
	for _, p := range walSegments(t, fs) {
		_, num, _ := manifest.ParseFilename(filepath.Base(p))
		out = append(out, num)
	}
	return out
}

// requireWALValues checks every key below n reads back as generation gen
// by Get, GetAppend without filling the cache, and a forward and a
// backward scan.
func requireWALValues(t *testing.T, db *DB, n, gen int) {
	t.Helper()
	for i := range n {
		v, err := db.Get(walKey(i))
		require.NoError(t, err, "key %d", i)
		require.Equal(t, walValue(i, gen), v, "key %d", i)
		v, err = db.GetAppend([]byte("x"), walKey(i), &GetOptions{NoFillCache: true})
		require.NoError(t, err, "key %d", i)
		require.Equal(t, append([]byte("x"), walValue(i, gen)...), v, "key %d", i)
	}
	it, err := db.NewIter(nil)
	require.NoError(t, err)
	i := 0
	for ok := it.First(); ok; ok = it.Next() {
		require.Equal(t, walKey(i), it.Key())
		require.Equal(t, walValue(i, gen), it.Value(), "key %d", i)
		i++
	}
	require.Equal(t, n, i)
	for ok := it.Last(); ok; ok = it.Prev() {
		i--
		require.Equal(t, walKey(i), it.Key())
		require.Equal(t, walValue(i, gen), it.Value(), "key %d", i)
	}
	require.Equal(t, 0, i)
	require.NoError(t, it.Close())
}

// A flush leaves large values in the WAL: the tables refer to them, the
// segment outlives the flush, and every read path returns the values, also
// after a reopen. A compaction copies them in and lets the segments go.
func TestWALValuesFlushReadCompact(t *testing.T) {
	fs := vfs.NewMem()
	opts := walValueOpts(fs)
	db := openMem(t, fs, opts)
	const n = 300
	for i := range n {
		require.NoError(t, db.Put(walKey(i), walValue(i, 0)))
	}
	require.NoError(t, db.Flush())
	m := db.Metrics()
	require.Positive(t, m.WALValueSegments)
	var want int64
	for i := range n {
		if v := walValue(i, 0); len(v) >= 100 {
			want += int64(len(v))
		}
	}
	require.Equal(t, want, m.WALValueBytes, "every value of 100 bytes or more is left in the WAL")
	require.Less(t, uint64(m.Levels[0].Bytes), uint64(want)/4, "the tables hold references, not the values")
	kept := logFiles(t, fs)
	require.GreaterOrEqual(t, len(kept), 2, "the flushed segment stays beside the new one")

	before := db.Metrics().WALValueReads
	requireWALValues(t, db, n, 0)
	read := db.Metrics().WALValueReads
	require.Greater(t, read, before)
	requireWALValues(t, db, n, 0)
	// Gets find the values they read once in the block cache; the scan
	// reads ahead in windows of its own (walReadahead), a few reads.
	require.LessOrEqual(t, db.Metrics().WALValueReads-read, int64(n/30), "values read once are in the block cache, or read ahead")

	require.NoError(t, db.Close())
	db = openMem(t, fs, opts)
	requireWALValues(t, db, n, 0)
	require.Subset(t, logFiles(t, fs), kept[:len(kept)-1], "Open keeps the segments tables refer to")

	require.NoError(t, db.Compact(nil, nil))
	m = db.Metrics()
	require.Zero(t, m.WALValueSegments)
	require.Zero(t, m.WALValueBytes)
	for _, num := range logFiles(t, fs) {
		require.NotContains(t, kept[:len(kept)-1], num, "a segment no table refers to is deleted")
	}
	requireWALValues(t, db, n, 0)
}

// Head truncation, as a Raft log does it: a range tombstone over the old
// entries, then compaction, lets go of the segments that held them.
func TestWALValuesLetGoAfterDeleteRange(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, walValueOpts(fs))
	const n = 600
	for i := range n {
		require.NoError(t, db.Put(walKey(i), walValue(i, 1)))
		if i%200 == 199 {
			require.NoError(t, db.Flush())
		}
	}
	require.GreaterOrEqual(t, db.Metrics().WALValueSegments, 3)
	require.NoError(t, db.DeleteRange(walKey(0), walKey(n)))
	require.NoError(t, db.Flush())
	require.NoError(t, db.Compact(nil, nil))
	require.Zero(t, db.Metrics().WALValueSegments)
	require.Len(t, logFiles(t, fs), 1, "only the live memtable's segment is left")
	it, err := db.NewIter(nil)
	require.NoError(t, err)
	require.False(t, it.First())
	require.NoError(t, it.Close())
}

// Overwrites and deletes mixed with large values: the DB reads as a map
// of the writes at every step, through flushes, compactions and reopens.
func TestWALValuesModel(t *testing.T) {
	fs := vfs.NewMem()
	opts := walValueOpts(fs)
	opts.L0CompactionTrigger = 2
	opts.L0SlowdownWrites, opts.L0StopWrites = 6, 10
	db := openMem(t, fs, opts)
	model := map[string][]byte{}
	rng := rand.New(rand.NewPCG(3, 4))
	segs, reads := 0, int64(0)
	for step := range 4000 {
		k := walKey(rng.IntN(200))
		switch r := rng.IntN(10); {
		case r < 7:
			v := walValue(rng.IntN(1000), step)
			require.NoError(t, db.Put(k, v))
			model[string(k)] = v
		case r < 9:
			require.NoError(t, db.Delete(k))
			delete(model, string(k))
		default:
			b := db.NewBatch()
			for j := range 5 {
				kk := walKey(rng.IntN(200))
				v := walValue(j*101, step)
				b.Put(kk, v)
				model[string(kk)] = v
			}
			require.NoError(t, db.Apply(b))
		}
		if step%500 == 499 {
			m := db.Metrics()
			segs = max(segs, m.WALValueSegments)
			reads += m.WALValueReads
			require.NoError(t, db.Close())
			db = openMem(t, fs, opts)
		}
		if step%250 == 0 {
			for i := range 200 {
				got, err := db.Get(walKey(i))
				if want, ok := model[string(walKey(i))]; ok {
					require.NoError(t, err)
					require.True(t, bytes.Equal(want, got), "step %d key %d", step, i)
				} else {
					require.ErrorIs(t, err, ErrNotFound, "step %d key %d", step, i)
				}
			}
		}
	}
	require.Positive(t, segs, "tables referred to the WAL")
	require.Positive(t, reads, "reads resolved references")
}

// A power loss right after a flush loses nothing the flush made durable,
// even when the writes themselves were never synced (SyncNo): the flush
// syncs the segment its tables refer to before it records them.
func TestWALValuesSurvivePowerLossAfterFlush(t *testing.T) {
	fs := vfs.NewMem()
	opts := walValueOpts(fs)
	opts.Sync = SyncNo
	db := openMem(t, fs, opts)
	const n = 120 // one memtable's worth: a single flush
	for i := range n {
		require.NoError(t, db.Put(walKey(i), walValue(i, 2)))
	}
	require.NoError(t, db.Flush())
	require.Positive(t, db.Metrics().WALValueSegments)
	crashed := fs.CrashClone()
	o := *opts
	o.FS = crashed
	db2, err := Open("/db", &o)
	require.NoError(t, err)
	requireWALValues(t, db2, n, 2)
	require.NoError(t, db2.Verify())
	require.NoError(t, db2.Close())
}

// A checkpoint carries the segments its tables refer to.
func TestWALValuesCheckpoint(t *testing.T) {
	fs := vfs.NewMem()
	opts := walValueOpts(fs)
	db := openMem(t, fs, opts)
	const n = 120
	for i := range n {
		require.NoError(t, db.Put(walKey(i), walValue(i, 3)))
	}
	require.NoError(t, db.Flush())
	require.Positive(t, db.Metrics().WALValueSegments)
	require.NoError(t, db.Checkpoint("/cp"))
	// The source lets its segments go; the checkpoint must not need them.
	require.NoError(t, db.Compact(nil, nil))
	require.Zero(t, db.Metrics().WALValueSegments)
	o := *opts
	cp, err := Open("/cp", &o)
	require.NoError(t, err)
	requireWALValues(t, cp, n, 3)
	require.Positive(t, cp.Metrics().WALValueSegments)
	require.NoError(t, cp.Close())
}

// A Raft log: entries appended in key order, each flush moved down whole
// (its tables keep their references), the head truncated by a range
// tombstone. Segments whose entries are all deleted go with their tables;
// a segment whose tables now refer to less than half of what they did is
// let go by rewriting the tables still referring to it, so the space of
// the deleted entries comes back.
func TestWALValuesHeadTruncationLetsSegmentsGo(t *testing.T) {
	fs := vfs.NewMem()
	opts := walValueOpts(fs)
	opts.L0CompactionTrigger = 1
	db := openMem(t, fs, opts)
	val := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 200+i%50) }
	const perSeg, segs = 100, 4
	for s := range segs {
		for i := s * perSeg; i < (s+1)*perSeg; i++ {
			require.NoError(t, db.Put(walKey(i), val(i)))
		}
		require.NoError(t, db.Flush())
		waitCompactions(db)
	}
	m := db.Metrics()
	require.Equal(t, segs, m.WALValueSegments)
	require.Positive(t, m.TrivialMoves, "flushed tables moved down whole, references and all")
	require.Zero(t, m.Compactions)

	// Keep the last 30 entries of the third segment and the fourth.
	require.NoError(t, db.DeleteRange(walKey(0), walKey(3*perSeg-30)))
	require.NoError(t, db.Flush())
	waitCompactions(db)
	m = db.Metrics()
	require.Equal(t, 1, m.WALValueSegments, "only the fourth segment is still referred to")
	var want int64
	for i := 3 * perSeg; i < segs*perSeg; i++ {
		want += int64(len(val(i)))
	}
	require.Equal(t, want, m.WALValueBytes)
	for i := 3*perSeg - 30; i < segs*perSeg; i++ {
		v, err := db.Get(walKey(i))
		require.NoError(t, err)
		require.Equal(t, val(i), v)
	}
	_, err := db.Get(walKey(3*perSeg - 31))
	require.ErrorIs(t, err, ErrNotFound)
	require.Len(t, logFiles(t, fs), 2, "the fourth segment and the live one")
}

// A segment its tables now refer to less than half of (as when a range
// tombstone deleted some of its tables whole and left others untouched)
// is let go: the tables still referring to it are rewritten, holding the
// values themselves.
func TestWALValuesMostlyDeadSegmentIsRewritten(t *testing.T) {
	fs := vfs.NewMem()
	opts := walValueOpts(fs)
	opts.L0CompactionTrigger = 1
	db := openMem(t, fs, opts)
	val := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 200+i%50) }
	for s := range 3 {
		for i := s * 100; i < (s+1)*100; i++ {
			require.NoError(t, db.Put(walKey(i), val(i)))
		}
		require.NoError(t, db.Flush())
		waitCompactions(db)
	}
	m := db.Metrics()
	require.Equal(t, 3, m.WALValueSegments)
	require.Zero(t, m.Compactions, "every flushed table was moved down whole")
	segs := logFiles(t, fs)[:3]

	// The first segment's tables refer to what they did, the second's to
	// a third of what they did at their flush.
	db.mu.Lock()
	db.mu.walValueBytes[segs[1]] *= 3
	db.maybeScheduleCompactionLocked()
	db.mu.Unlock()
	waitCompactions(db)
	m = db.Metrics()
	require.EqualValues(t, 1, m.Compactions)
	require.Equal(t, 2, m.WALValueSegments)
	require.NotContains(t, logFiles(t, fs), segs[1])
	require.Subset(t, logFiles(t, fs), []uint64{segs[0], segs[2]})
	requireVals := func() {
		for i := range 300 {
			v, err := db.Get(walKey(i))
			require.NoError(t, err)
			require.Equal(t, val(i), v)
		}
	}
	requireVals()
	require.NoError(t, db.Close())
	db = openMem(t, fs, opts)
	requireVals()
}

// Damage to a value kept in the WAL is found by Verify and by a read of
// it, each naming the segment; a kept segment that is missing fails Open.
func TestWALValuesDamageAndLoss(t *testing.T) {
	fs := vfs.NewMem()
	opts := walValueOpts(fs)
	skipCheck(t, "the test damages the DB")
	db := openMem(t, fs, opts)
	for i := range 50 {
		require.NoError(t, db.Put(walKey(i), walValue(i, 4)))
	}
	require.NoError(t, db.Flush())
	require.NoError(t, db.Verify())
	require.NoError(t, db.Close())
	seg := manifest.MakeFilename("/db", manifest.FileTypeLog, logFiles(t, fs)[0])

	// Flip a byte in the middle of key 7's value.
	damageSegmentValue(t, fs, seg, walValue(7, 4), len(walValue(7, 4))/2)

	db, err := Open("/db", opts)
	require.NoError(t, err)
	err = db.Verify()
	require.ErrorIs(t, err, ErrCorruption)
	require.ErrorContains(t, err, seg)
	_, err = db.Get(walKey(7))
	require.ErrorIs(t, err, ErrCorruption)
	v, err := db.Get(walKey(8))
	require.NoError(t, err, "the other values read")
	require.Equal(t, walValue(8, 4), v)
	// Key 8's read cached the WAL block key 7's value lies in: the cached
	// block is checked value by value too.
	_, err = db.Get(walKey(7))
	require.ErrorIs(t, err, ErrCorruption)
	require.NoError(t, db.Close())

	require.NoError(t, fs.Remove(seg))
	_, err = Open("/db", opts)
	require.ErrorIs(t, err, ErrCorruption)
	require.ErrorContains(t, err, seg)
}

// damageSegmentValue flips a bit of the byte at offset at of value in WAL
// segment seg, rewriting the file.
func damageSegmentValue(t *testing.T, fs vfs.FS, seg string, value []byte, at int) {
	t.Helper()
	f, err := fs.Open(seg)
	require.NoError(t, err)
	size, err := f.Size()
	require.NoError(t, err)
	data := make([]byte, size)
	_, err = f.ReadAt(data, 0)
	require.NoError(t, err)
	f.Close()
	i := bytes.Index(data, value)
	require.Positive(t, i, "the value is in the segment")
	data[i+at] ^= 0x10
	w, err := fs.Create(seg)
	require.NoError(t, err)
	_, err = w.Write(data)
	require.NoError(t, err)
	require.NoError(t, w.Sync())
	require.NoError(t, w.Close())
}

// getEach reads walKey(0) to walKey(n-1) in order with GetAppend and opts
// and checks each against value.
func getEach(t *testing.T, db *DB, n int, value func(int) []byte, opts *GetOptions) {
	t.Helper()
	for i := range n {
		v, err := db.GetAppend(nil, walKey(i), opts)
		require.NoError(t, err)
		require.Equal(t, value(i), v, "key %d", i)
	}
}

// scanEach scans db and checks that it holds walKey(0) to walKey(n-1)
// with their values, and nothing else.
func scanEach(t *testing.T, db *DB, n int, value func(int) []byte) {
	t.Helper()
	it, err := db.NewIter(nil)
	require.NoError(t, err)
	i := 0
	for ok := it.First(); ok; ok = it.Next() {
		require.Equal(t, value(i), it.Value(), "key %d", i)
		i++
	}
	require.Equal(t, n, i)
	require.NoError(t, it.Close())
}

// Reads that fill the cache read a value's whole WAL block and cache it,
// so reading the values in the order they were logged reads each block
// once (and a value across two blocks alone), by Get or by a scan; reads
// that leave the cache alone read each value.
func TestWALValuesReadByBlock(t *testing.T) {
	fs := vfs.NewMem()
	opts := walValueOpts(fs)
	db := openMem(t, fs, opts)
	const n = 300
	value := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 1000) }
	for i := range n {
		require.NoError(t, db.Put(walKey(i), value(i)))
	}
	require.NoError(t, db.Flush())
	require.NoError(t, db.Close())
	// n values of about 1 KiB: about 10 WAL blocks, and as many values
	// across two blocks.
	const most = 2 * (n*1024/walWindowSize + 2)

	reads := func(read func(db *DB)) int64 {
		t.Helper()
		db := openMem(t, fs, opts) // a cold cache
		defer db.Close()
		before := db.Metrics().WALValueReads
		read(db)
		return db.Metrics().WALValueReads - before
	}
	byGet := reads(func(db *DB) { getEach(t, db, n, value, nil) })
	require.Positive(t, byGet)
	require.LessOrEqual(t, byGet, int64(most), "Get in order reads by block")
	byScan := reads(func(db *DB) { scanEach(t, db, n, value) })
	require.LessOrEqual(t, byScan, int64(most), "a scan reads by block")
	noFill := reads(func(db *DB) { getEach(t, db, n, value, &GetOptions{NoFillCache: true}) })
	t.Logf("reads of the WAL for %d values: %d by Get in order, %d by a scan, %d without filling the cache", n, byGet, byScan, noFill)
	require.Equal(t, int64(n), noFill, "without filling the cache, a read per value")
}

// Values still in the memtable read as a table's do: a read that fills
// the cache reads the WAL block that holds the value once the block is
// wholly logged, so reads in order cost a read of the WAL per block; a
// block the log still ends in is never cached (its bytes past the log are
// not the values logged there later), so values logged into it after a
// read of it read back; reads that leave the cache alone read each value.
func TestWALValuesOfTheMemtableReadByBlock(t *testing.T) {
	opts := func(fs vfs.FS) *Options {
		o := walValueOpts(fs)
		o.MemtableSize, o.InitialMemtableSize = 1<<20, 1<<20 // no flush here
		// Each write synced, so zeros are written ahead of the log: the
		// segment holds bytes past the log's end that a read can see.
		o.Sync, o.WALPrewrite = SyncAlways, true
		return o
	}
	value := func(i int) []byte { return bytes.Repeat([]byte{byte(i), byte(i >> 8)}, 500) }
	const n = 300
	fill := func(t *testing.T, db *DB) {
		for i := range n {
			require.NoError(t, db.Put(walKey(i), value(i)))
		}
	}
	// n values of about 1 KiB: about 10 WAL blocks, as many values across
	// two blocks, and the values of the block the log ends in.
	const most = 3 * (n*1024/walWindowSize + 2)
	reads := func(db *DB, read func()) int64 {
		before := db.Metrics().WALValueReads
		read()
		return db.Metrics().WALValueReads - before
	}

	fs := vfs.NewMem()
	db := openMem(t, fs, opts(fs))
	fill(t, db)
	byGet := reads(db, func() { getEach(t, db, n, value, nil) })
	require.Positive(t, byGet)
	require.LessOrEqual(t, byGet, int64(most), "Get in order reads by block")
	// The block the log ends in, read, then logged into further.
	for i := n; i < n+100; i++ {
		require.NoError(t, db.Put(walKey(i), value(i)))
		for _, j := range []int{i - 1, i} {
			v, err := db.Get(walKey(j))
			require.NoError(t, err, "key %d", j)
			require.Equal(t, value(j), v, "key %d", j)
		}
	}
	byScan := reads(db, func() { scanEach(t, db, n+100, value) })
	require.LessOrEqual(t, byScan, int64(most), "a scan after the reads finds the blocks cached")
	require.Zero(t, db.Metrics().Flushes, "the values were read from the memtable")
	require.Positive(t, db.Metrics().WALZeroedAhead, "zeros were written past the log")
	require.NoError(t, db.Close())

	fs = vfs.NewMem()
	db = openMem(t, fs, opts(fs))
	defer db.Close()
	fill(t, db)
	noFill := reads(db, func() { getEach(t, db, n, value, &GetOptions{NoFillCache: true}) })
	t.Logf("reads of the WAL for %d values in the memtable: %d by Get in order, %d by a scan after, %d without filling the cache", n, byGet, byScan, noFill)
	require.Equal(t, int64(n), noFill, "without filling the cache, a read per value")
}

// A flush that copies a memtable's values into its tables, its segment
// holding under half large values, deletes the segment and drops the
// blocks of it that reads of the memtable cached: no table refers to them.
func TestWALValuesBlocksOfASegmentNotKeptLeaveTheCache(t *testing.T) {
	fs := vfs.NewMem()
	o := walValueOpts(fs)
	o.MemtableSize, o.InitialMemtableSize = 1<<20, 1<<20
	db := openMem(t, fs, o)
	defer db.Close()
	big := bytes.Repeat([]byte("v"), 1000)
	require.NoError(t, db.Put(walKey(0), big))
	for i := 1; i < 2000; i++ { // small values: most of the segment
		require.NoError(t, db.Put(walKey(i), []byte("small")))
	}
	rs, _ := db.loadReadState()
	num := rs.mem.walNum
	rs.release()
	v, err := db.Get(walKey(0))
	require.NoError(t, err)
	require.Equal(t, big, v)
	cached := func() bool {
		b, _, ok := db.blockCache.GetRef(num, 0)
		b.Release()
		return ok
	}
	require.True(t, cached(), "the read cached the value's block")
	require.NoError(t, db.Flush())
	require.NotContains(t, logFiles(t, fs), num, "the segment was not kept")
	require.False(t, cached(), "its cached block went with it")
	v, err = db.Get(walKey(0))
	require.NoError(t, err)
	require.Equal(t, big, v)
}

// A segment opened for reading while its writer still held zeros ahead of
// the log, which the writer cuts when it closes, is shorter than the size
// noted at the open: a read whose window would pass the segment's end
// reads the value alone, every value reads back, and the size noted is
// corrected to the segment's end.
func TestWALValuesWindowPastTheSegmentsEnd(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, walValueOpts(fs))
	value := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 1000) }
	const n = 10
	for i := range n {
		require.NoError(t, db.Put(walKey(i), value(i)))
	}
	require.NoError(t, db.Flush())
	// A read that leaves the cache alone opens the segment; then note a
	// size 64 KiB past its end, as a writer's cut leaves it.
	v, err := db.GetAppend(nil, walKey(0), &GetOptions{NoFillCache: true})
	require.NoError(t, err)
	require.Equal(t, value(0), v)
	var num uint64
	db.walSegs.mu.Lock()
	require.Len(t, db.walSegs.files, 1)
	for k, seg := range db.walSegs.files {
		seg.size += 64 << 10
		db.walSegs.files[k], num = seg, k
	}
	db.walSegs.mu.Unlock()
	for i := range n {
		v, err := db.Get(walKey(i))
		require.NoError(t, err, "key %d", i)
		require.Equal(t, value(i), v, "key %d", i)
	}
	size, err := fs.Stat(manifest.MakeFilename("/db", manifest.FileTypeLog, num))
	require.NoError(t, err)
	db.walSegs.mu.Lock()
	require.Equal(t, size, db.walSegs.files[num].size, "the short read corrected the size noted")
	db.walSegs.mu.Unlock()
	require.NoError(t, db.Close())
}

// On the operating system's filesystem the WAL is written through a
// shared mapping of a preallocated segment (wal.NewMappedWriter): the
// places noted as the leader appends hold there too, through flushes, a
// reopen and Verify.
func TestWALValuesOnTheOSFilesystem(t *testing.T) {
	dir := t.TempDir()
	opts := &Options{MemtableSize: 256 << 10, WALValueThreshold: 100, TTLCompactionInterval: -1}
	db, err := Open(dir, opts)
	require.NoError(t, err)
	const n = 3000
	for i := range n {
		require.NoError(t, db.Put(walKey(i), walValue(i, 5)))
	}
	require.NoError(t, db.Flush())
	require.Positive(t, db.Metrics().WALValueSegments)
	requireWALValues(t, db, n, 5)
	require.NoError(t, db.Verify())
	require.NoError(t, db.Close())
	db, err = Open(dir, opts)
	require.NoError(t, err)
	requireWALValues(t, db, n, 5)
	require.NoError(t, db.Verify())
	require.NoError(t, db.Close())
}

// A memtable does not copy the values it leaves in the WAL: its arena
// holds keys and references, every read path resolves them from the
// segment before any flush, and the memtable rotates when its segment is
// full, not its arena. Batches large enough for the apply helper's
// concurrent inserts, in and out of key order, go the same way.
func TestWALValuesStayOutOfTheMemtable(t *testing.T) {
	fs := vfs.NewMem()
	opts := walValueOpts(fs)
	opts.MemtableSize = 1 << 20
	opts.InitialMemtableSize = 1 << 20
	db := openMem(t, fs, opts)
	empty := db.Metrics().MemtableBytes // the head, key filter and index
	const n = 600
	var large int64
	b := db.NewBatch()
	for _, i := range rand.New(rand.NewPCG(1, 2)).Perm(n) {
		v := walValue(i, 0)
		if len(v) >= opts.WALValueThreshold {
			large += int64(len(v))
		}
		b.Put(walKey(i), v)
		if b.Len() == 50 {
			require.NoError(t, db.Apply(b))
			b = db.NewBatch()
		}
	}
	require.NoError(t, db.Apply(b))
	m := db.Metrics()
	require.Zero(t, m.Flushes, "everything is still in the first memtable")
	require.Less(t, m.MemtableBytes-empty, large/2, "the arena holds references, not the values")
	before := m.WALValueReads
	requireWALValues(t, db, n, 0)
	require.Greater(t, db.Metrics().WALValueReads, before, "the values are read from the segment")

	// Overwrites in ascending batches (the leader's in-order insert): the
	// segments fill past the memtable size and rotate although the arenas
	// hold a fraction of it.
	for gen := 1; gen <= 6; gen++ {
		b := db.NewBatch()
		for i := range n {
			b.Put(walKey(i), walValue(i, gen))
			if b.Len() == 100 {
				require.NoError(t, db.Apply(b))
				b = db.NewBatch()
			}
		}
		require.NoError(t, db.Apply(b))
		requireWALValues(t, db, n, gen)
	}
	require.Positive(t, db.Metrics().Flushes, "segments full of values rotate their memtables")
	for _, p := range walSegments(t, fs) {
		f, err := fs.Open(p)
		require.NoError(t, err)
		size, err := f.Size()
		require.NoError(t, err)
		require.NoError(t, f.Close())
		require.LessOrEqual(t, size, opts.MemtableSize+64<<10, "segment %s", p)
	}
	require.NoError(t, db.Close())
	db = openMem(t, fs, opts)
	requireWALValues(t, db, n, 6)
}

// A reader that holds a memtable reads its values from its segment even
// after the flush deleted the segment (its values were too few to keep
// it): the memtable holds the segment open until its last reader lets go.
func TestWALValuesOfAFlushedMemtableStayReadable(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, walValueOpts(fs))
	for i := range 200 {
		require.NoError(t, db.Put(walKey(i), []byte("small")))
	}
	big := bytes.Repeat([]byte("B"), 1000)
	require.NoError(t, db.Put(walKey(200), big))
	segs := logFiles(t, fs)
	it, err := db.NewIter(nil)
	require.NoError(t, err)
	require.NoError(t, db.Flush())
	require.NotContains(t, logFiles(t, fs), segs[len(segs)-1], "a segment mostly not values is not kept")
	require.Zero(t, db.Metrics().WALValueSegments)
	require.True(t, it.SeekGE(walKey(200)))
	require.Equal(t, big, it.Value())
	require.NoError(t, it.Close())
	v, err := db.Get(walKey(200))
	require.NoError(t, err)
	require.Equal(t, big, v, "the table holds the value")
}

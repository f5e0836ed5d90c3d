package lsm

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/manifest"
	"github.com/stratadb/strata/vfs"
	"github.com/stratadb/strata/wal"
)

// repairKey and repairValue are the n-th write of a repair test: one key per
// write, so the DB's contents tell exactly which writes it holds.
func repairKey(n int) []byte { return []byte(fmt.Sprintf("key%05d", n)) }
func repairValue(n int) []byte {
	return []byte(fmt.Sprintf("value %05d %s", n, strings.Repeat("v", 150)))
}

// multiSegmentDB returns a durable DB image (a crash clone) whose WAL has at
// least four segments still to replay, holding writes 0..n-1 in order: the
// flusher is held back, so memtables and their segments pile up.
func multiSegmentDB(t *testing.T) (fs *vfs.MemFS, n int) {
	t.Helper()
	fs = vfs.NewMem()
	release := make(chan struct{})
	opts := &Options{FS: fs, Sync: SyncAlways, MemtableSize: 16 << 10, MaxImmutableMemtables: 8,
		TTLCompactionInterval: -1,
		EventListener:         &EventListener{FlushBegin: func(FlushInfo) { <-release }}}
	db, err := Open("/db", opts)
	require.NoError(t, err)
	for len(walSegments(t, fs)) < 4 {
		require.NoError(t, db.Put(repairKey(n), repairValue(n)))
		n++
	}
	for range 20 { // a few writes into the newest segment too
		require.NoError(t, db.Put(repairKey(n), repairValue(n)))
		n++
	}
	clone := fs.CrashClone()
	close(release)
	require.NoError(t, db.Close())
	return clone, n
}

// walSegments returns the paths of the WAL segments in /db, oldest first.
func walSegments(t *testing.T, fs vfs.FS) []string {
	t.Helper()
	names, err := fs.List("/db")
	require.NoError(t, err)
	var segs []string
	for _, n := range names {
		if ft, _, ok := manifest.ParseFilename(n); ok && ft == manifest.FileTypeLog {
			segs = append(segs, filepath.Join("/db", n))
		}
	}
	slices.Sort(segs)
	return segs
}

// ropts are the options of a repair test: a small memtable, so that every
// Open is cheap.
func ropts(fs vfs.FS) *Options { return &Options{FS: fs, MemtableSize: 64 << 10} }

// flipBit flips one bit of a file, durably.
func flipBit(t *testing.T, fs vfs.FS, name string, off int) {
	t.Helper()
	data := readFile(t, fs, name)
	data[off] ^= 0x08
	rewrite(t, fs, name, data)
}

// heldWrites opens the DB and returns how many writes it holds, requiring
// them to be exactly writes 0..k-1 (a prefix, no hole), and Verify to pass.
func heldWrites(t *testing.T, fs vfs.FS, n int) int {
	t.Helper()
	db, err := Open("/db", ropts(fs))
	require.NoError(t, err)
	defer func() { require.NoError(t, db.Close()) }()
	require.NoError(t, db.Verify())
	got := dbScan(t, db)
	for i, e := range got {
		require.Equal(t, string(repairKey(i)), e.k, "the DB holds a prefix of the writes, without a hole")
		require.Equal(t, string(repairValue(i)), e.v)
	}
	require.LessOrEqual(t, len(got), n)
	return len(got)
}

// fileSet returns every file of dir with its bytes.
func fileSet(t *testing.T, fs vfs.FS, dir string) map[string]string {
	t.Helper()
	names, err := fs.List(dir)
	require.NoError(t, err)
	out := map[string]string{}
	for _, n := range names {
		if n == "LOCK" {
			continue
		}
		out[n] = string(readFile(t, fs, filepath.Join(dir, n)))
	}
	return out
}

func TestRepairKeepsThePrefixBeforeAFlippedBit(t *testing.T) {
	base, n := multiSegmentDB(t)
	segs := walSegments(t, base)
	require.GreaterOrEqual(t, len(segs), 4)
	// Writes per segment, from a clean replay of each prefix of segments.
	for victim := 0; victim < len(segs); victim++ {
		t.Run(fmt.Sprintf("segment %d of %d", victim+1, len(segs)), func(t *testing.T) {
			fs := base.CrashClone()
			seg := segs[victim]
			data := readFile(t, fs, seg)
			off := len(data) / 2
			flipBit(t, fs, seg, off)
			damaged := readFile(t, fs, seg)
			_, err := Open("/db", ropts(fs.CrashClone())) // a copy: a failed Open may write a MANIFEST
			require.ErrorIs(t, err, ErrCorruption, "a flipped bit mid-segment is refused")

			rep, err := Repair("/db", ropts(fs))
			require.NoError(t, err)
			require.True(t, rep.Damaged)
			require.Equal(t, seg, rep.Segment)
			require.Less(t, rep.Offset, int64(off), "the intact prefix ends before the flipped bit")
			require.Greater(t, rep.Offset, int64(0))
			require.Contains(t, rep.Reason, "offset")
			require.Len(t, rep.Dropped, len(segs)-victim, "the damaged segment and every later one")
			require.Equal(t, seg, rep.Dropped[0].Path)
			require.Equal(t, rep.Offset, rep.Dropped[0].From)
			require.Equal(t, int64(len(damaged))-rep.Offset, rep.Dropped[0].Bytes)
			for i, d := range rep.Dropped[1:] {
				require.Equal(t, segs[victim+1+i], d.Path)
				require.Zero(t, d.From)
				require.Equal(t, int64(len(readFile(t, base, d.Path))), d.Bytes)
				require.Equal(t, d.Path+".damaged", d.MovedTo)
				require.Equal(t, readFile(t, base, d.Path), readFile(t, fs, d.MovedTo), "moved aside unchanged")
			}
			require.Equal(t, seg+".damaged", rep.Dropped[0].MovedTo)
			require.Equal(t, damaged, readFile(t, fs, rep.Dropped[0].MovedTo), "the damaged segment is kept aside unchanged")
			require.Contains(t, rep.String(), filepath.Base(seg))

			noReuse := func() {
				t.Helper()
				names, err := fs.List("/db")
				require.NoError(t, err)
				for _, d := range rep.Dropped {
					_, num, _ := manifest.ParseFilename(filepath.Base(d.Path))
					for _, name := range names {
						// WAL segments and tables; a MANIFEST takes its number
						// before Open lists the directory, as it may beside
						// any WAL segment, under another name.
						if ft, other, ok := manifest.ParseFilename(name); ok && ft != manifest.FileTypeManifest {
							require.NotEqual(t, num, other, "%s reuses the number of %s", name, d.MovedTo)
						}
					}
				}
			}
			noReuse()
			k := heldWrites(t, fs, n)
			require.EqualValues(t, k, rep.LastSeq, "one write per sequence number, from 1")
			dropped := 0
			for _, d := range rep.Dropped {
				require.Equal(t, d.Records, d.Entries, "one write per record here")
				dropped += d.Records
			}
			require.Equal(t, n-k-1, dropped, "every write is kept or counted as dropped, but the one the flip destroyed")

			// The repaired DB takes writes and keeps them, and never gives
			// a new file the number of a segment moved aside.
			db, err := Open("/db", &Options{FS: fs, MemtableSize: 16 << 10})
			require.NoError(t, err)
			for i := k; i < k+300; i++ {
				require.NoError(t, db.Put(repairKey(i), repairValue(i)))
			}
			require.NoError(t, db.Flush())
			require.NoError(t, db.Close())
			require.Equal(t, k+300, heldWrites(t, fs, n+300))
			noReuse()
		})
	}
}

func TestRepairOfAHealthyDBChangesNothing(t *testing.T) {
	multi, n := multiSegmentDB(t)
	closed := vfs.NewMem()
	db := openMem(t, closed, nil)
	for i := range 100 {
		require.NoError(t, db.Put(repairKey(i), repairValue(i)))
	}
	require.NoError(t, db.Close())
	torn := multi.CrashClone() // a torn tail in the newest segment is no damage
	segs := walSegments(t, torn)
	last := readFile(t, torn, segs[len(segs)-1])
	rewrite(t, torn, segs[len(segs)-1], last[:len(last)-3])
	for name, fs := range map[string]*vfs.MemFS{"several segments": multi, "closed": closed, "torn newest segment": torn} {
		before := fileSet(t, fs, "/db")
		rep, err := Repair("/db", ropts(fs))
		require.NoError(t, err, name)
		require.False(t, rep.Damaged, name)
		require.Equal(t, RepairReport{}, rep, name)
		require.Equal(t, before, fileSet(t, fs, "/db"), "%s: not a byte changed", name)
		require.Equal(t, "no damaged WAL segment: nothing changed\n", rep.String())
	}
	require.Equal(t, n, heldWrites(t, multi, n))
}

func TestRepairRefusesAnOpenDBAndAMissingOne(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, nil)
	_, err := Repair("/db", ropts(fs))
	require.ErrorIs(t, err, ErrLocked)
	require.NoError(t, db.Close())
	_, err = Repair("/nothing", ropts(fs))
	require.ErrorIs(t, err, ErrNoDatabase)
	_, err = Repair("/db", &Options{FS: fs, ReadOnly: true})
	require.ErrorIs(t, err, ErrInvalidArgument)
}

// TestRepairDropsSegmentsAfterMissingRecords: a segment cut at a record
// boundary reads as a clean end, so the loss shows only as a gap in the
// sequence numbers of the next segment. Repair drops from the gap on.
func TestRepairDropsSegmentsAfterMissingRecords(t *testing.T) {
	fs, n := multiSegmentDB(t)
	segs := walSegments(t, fs)
	// Cut the second segment after its header and first record.
	data := readFile(t, fs, segs[1])
	r := wal.NewReader(bytes.NewReader(data), segs[1])
	_, err := r.Next()
	require.NoError(t, err)
	rewrite(t, fs, segs[1], data[:r.End()])
	_, err = Open("/db", ropts(fs))
	require.ErrorIs(t, err, ErrCorruption)
	rep, err := Repair("/db", ropts(fs))
	require.NoError(t, err)
	require.Equal(t, segs[2], rep.Segment, "the gap shows at the start of the next segment")
	require.Equal(t, int64(19), rep.Offset)
	require.Zero(t, rep.KeptRecords)
	require.Contains(t, rep.Reason, "missing")
	k := heldWrites(t, fs, n)
	require.EqualValues(t, k, rep.LastSeq)
	dropped := 0
	for _, d := range rep.Dropped {
		dropped += d.Records
	}
	require.Less(t, k+dropped, n, "the cut writes are neither kept nor counted")
	require.Equal(t, segs[2]+".damaged", rep.Dropped[0].MovedTo)
}

// TestRepairIsCrashSafe interrupts Repair at every filesystem operation
// (power loss: only synced data and directory entries survive), then runs
// it again: the result is always the same prefix, and the damaged segment's
// bytes are never lost.
func TestRepairIsCrashSafe(t *testing.T) {
	base, n := multiSegmentDB(t)
	segs := walSegments(t, base)
	seg := segs[1]
	flipBit(t, base, seg, len(readFile(t, base, seg))/2)
	damaged := readFile(t, base, seg)

	// The uninterrupted run, counting the operations.
	fs := base.CrashClone()
	ops := 0
	fs.SetCrashHook(func(vfs.Op) { ops++ })
	rep, err := Repair("/db", ropts(fs))
	require.NoError(t, err)
	fs.SetCrashHook(nil)
	want := heldWrites(t, fs, n)
	require.EqualValues(t, want, rep.LastSeq)
	require.Greater(t, ops, 5)

	checked := 0
	for k := 1; k <= ops; k++ {
		fs := base.CrashClone()
		var image *vfs.MemFS
		var count atomic.Int64
		fs.SetCrashHook(func(vfs.Op) {
			if count.Add(1) == int64(k) {
				image = fs.CrashClone() // a power loss here; the run goes on regardless
			}
		})
		_, err := Repair("/db", ropts(fs))
		require.NoError(t, err)
		fs.SetCrashHook(nil)
		if image == nil {
			continue // this run did fewer operations
		}
		checked++
		// The damaged bytes survive the crash, in place or aside.
		found := false
		for _, data := range fileSet(t, image, "/db") {
			found = found || data == string(damaged)
		}
		require.True(t, found, "crash point %d: the damaged segment is still somewhere", k)
		_, err = Repair("/db", ropts(image))
		require.NoError(t, err, "crash point %d: Repair runs again", k)
		require.Equal(t, want, heldWrites(t, image, n), "crash point %d: the same prefix", k)
		found = false
		for name, data := range fileSet(t, image, "/db") {
			found = found || (data == string(damaged) && strings.Contains(name, ".damaged"))
		}
		require.True(t, found, "crash point %d: the damaged segment is kept aside", k)
	}
	require.Greater(t, checked, ops*9/10, "crash points checked, of %d", ops)
	t.Logf("%d crash points of %d operations", checked, ops)
}

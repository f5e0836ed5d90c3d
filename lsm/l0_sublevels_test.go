package lsm

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/manifest"
	"github.com/stratadb/strata/vfs"
)

// checkL0Order checks what reads of L0 rely on: of two L0 tables that
// overlap, the one later in L0 order holds only newer entries.
func checkL0Order(t testing.TB, v *manifest.Version) {
	t.Helper()
	l0 := v.Levels[0]
	for i, a := range l0 {
		for _, b := range l0[i+1:] {
			if manifest.FilesOverlap(a, b) {
				require.Less(t, a.LargestSeq, b.SmallestSeq, "L0 table %s overlaps newer %s but is not older", a, b)
			}
		}
	}
}

// splitOpts are options whose flushes split into several pieces over a
// base level of a few tables, and whose L0 stays put for a few flushes.
func splitOpts(fs vfs.FS, flushes *[]FlushInfo, mu *sync.Mutex) *Options {
	o := smallOpts(fs)
	o.MemtableSize = 256 << 10
	o.TargetFileSize = 16 << 10
	o.L0CompactionTrigger = 8
	o.L0SlowdownWrites = 16
	o.L0StopWrites = 20
	o.EventListener = &EventListener{FlushEnd: func(i FlushInfo) {
		mu.Lock()
		*flushes = append(*flushes, i)
		mu.Unlock()
	}}
	return o
}

func splitKey(i int) []byte { return fmt.Appendf(nil, "key%06d", i) }

// TestFlushSplitsAtBaseBoundaries flushes a memtable over a base level of
// several tables: the flush writes several L0 tables, each cut at a base
// table's smallest key, none but the last below the minimum piece, in one
// MANIFEST edit; a range tombstone across the cuts is clipped into each
// piece and still deletes; every key reads back.
func TestFlushSplitsAtBaseBoundaries(t *testing.T) {
	fs := vfs.NewMem()
	var mu sync.Mutex
	var flushes []FlushInfo
	db := openMem(t, fs, splitOpts(fs, &flushes, &mu))
	model := map[string]string{}
	const n = 4000
	rng := rand.New(rand.NewPCG(3, 4))
	value := func() []byte { // incompressible, so tables have their size
		b := make([]byte, 60)
		for i := range b {
			b[i] = byte('a' + rng.IntN(26))
		}
		return b
	}
	for i := range n {
		val := value()
		require.NoError(t, db.Put(splitKey(i), val))
		model[string(splitKey(i))] = string(val)
	}
	require.NoError(t, db.Compact(nil, nil))
	v := db.vs.Current()
	base := v.Levels[manifest.NumLevels-1]
	v.Unref()
	require.GreaterOrEqual(t, len(base), 6, "the base level needs several tables")
	require.Equal(t, 1, flushes[0].Tables, "a flush with no base level writes one table")

	// One flush over the whole range, with a range tombstone over the
	// middle base tables.
	for range 1500 {
		i := rng.IntN(n)
		val := value()
		require.NoError(t, db.Put(splitKey(i), val))
		model[string(splitKey(i))] = string(val)
	}
	lo, hi := n/4, 3*n/4
	require.NoError(t, db.DeleteRange(splitKey(lo), splitKey(hi)))
	for i := lo; i < hi; i++ {
		delete(model, string(splitKey(i)))
	}
	mu.Lock()
	before := len(flushes)
	mu.Unlock()
	require.NoError(t, db.Flush())
	mu.Lock()
	info := flushes[len(flushes)-1]
	require.Equal(t, before+1, len(flushes), "one flush")
	mu.Unlock()
	t.Logf("base tables %d, flush pieces %d", len(base), info.Tables)
	require.Greater(t, info.Tables, 2, "the flush splits")

	v = db.vs.Current()
	defer v.Unref()
	var pieces []*manifest.FileMeta
	for _, f := range v.Levels[0] {
		if f.FileNum >= info.TableNum {
			pieces = append(pieces, f)
		}
	}
	require.Len(t, pieces, info.Tables, "the pieces are in L0 (no compaction yet)")
	sub := manifest.ComputeL0Sublevels(pieces)
	require.Equal(t, 1, sub.Depth(), "the pieces do not overlap")
	sorted := sub.Levels[0]
	var bounds [][]byte
	for _, f := range base[1:] {
		bounds = append(bounds, f.SmallestUserKey())
	}
	minPiece := db.flushPieceMin()
	for i := 1; i < len(sorted); i++ {
		p, q := sorted[i-1], sorted[i]
		cut := false
		for _, b := range bounds {
			if p.EndsBefore(b) && bytes.Compare(q.SmallestUserKey(), b) >= 0 {
				cut = true
			}
		}
		require.True(t, cut, "no base boundary between pieces %s and %s", p, q)
		require.GreaterOrEqual(t, p.Size, minPiece, "piece %s below the minimum", p)
	}
	rdPieces := 0
	for _, f := range sorted {
		if f.NumRangeDels > 0 {
			rdPieces++
		}
	}
	require.Greater(t, rdPieces, 1, "the tombstone is clipped into several pieces")

	// One edit added them all.
	names, err := fs.List("/db")
	require.NoError(t, err)
	found := false
	for _, name := range names {
		if ft, _, ok := manifest.ParseFilename(name); !ok || ft != manifest.FileTypeManifest {
			continue
		}
		require.NoError(t, manifest.ReadEdits(fs, "/db/"+name, func(_ int64, e *manifest.VersionEdit) error {
			added := map[uint64]bool{}
			for _, a := range e.Added {
				added[a.Meta.FileNum] = true
			}
			if !added[pieces[0].FileNum] {
				return nil
			}
			found = true
			for _, p := range pieces {
				require.True(t, added[p.FileNum], "piece %d not in the edit of piece %d", p.FileNum, pieces[0].FileNum)
			}
			return nil
		}))
	}
	require.True(t, found, "no MANIFEST edit adds the pieces")

	checkL0Order(t, v)
	got := dbScan(t, db)
	require.Len(t, got, len(model))
	for _, e := range got {
		require.Equal(t, model[e.k], e.v, "key %s", e.k)
	}
	for i := 0; i < n; i += 7 {
		v, err := db.Get(splitKey(i))
		if want, ok := model[string(splitKey(i))]; ok {
			require.NoError(t, err)
			require.Equal(t, want, string(v))
		} else {
			require.ErrorIs(t, err, ErrNotFound)
		}
	}
}

// TestGetProbesOneTablePerSublevel builds a compaction debt (several
// flushes over a base level, L0 not yet compacted: many pieces in a few
// sublevels) and reads it: a Get looks a key up in at most one L0 table per
// sublevel, far fewer than L0's table count, and every read (Get, forward
// and backward iteration, seeks) agrees with a model. Then L0 compacts
// (partially, window by window) and the reads still agree.
func TestGetProbesOneTablePerSublevel(t *testing.T) {
	fs := vfs.NewMem()
	var mu sync.Mutex
	var flushes []FlushInfo
	o := splitOpts(fs, &flushes, &mu)
	db := openMem(t, fs, o)
	rng := rand.New(rand.NewPCG(5, 6))
	model := map[string]string{}
	const n = 4000
	put := func(i int) {
		b := make([]byte, 60)
		for j := range b {
			b[j] = byte('a' + rng.IntN(26))
		}
		require.NoError(t, db.Put(splitKey(i), b))
		model[string(splitKey(i))] = string(b)
	}
	for i := range n {
		put(i)
	}
	require.NoError(t, db.Compact(nil, nil))
	const rounds = 6 // below the trigger of 8: L0 stays
	for r := range rounds {
		for range 1200 {
			put(rng.IntN(n))
		}
		if r == 2 {
			lo := rng.IntN(n / 2)
			require.NoError(t, db.DeleteRange(splitKey(lo), splitKey(lo+n/5)))
			for i := lo; i < lo+n/5; i++ {
				delete(model, string(splitKey(i)))
			}
		}
		require.NoError(t, db.Flush())
	}
	m0 := db.Metrics()
	t.Logf("L0: %d tables in %d sublevels", m0.Levels[0].Tables, m0.L0Sublevels)
	require.Equal(t, rounds, m0.L0Sublevels)
	require.Greater(t, m0.Levels[0].Tables, 3*m0.L0Sublevels, "the flushes were cut into pieces")

	check := func() {
		t.Helper()
		before := db.Metrics()
		gets := 0
		for i := 0; i < n; i += 3 {
			got, err := db.Get(splitKey(i))
			gets++
			if want, ok := model[string(splitKey(i))]; ok {
				require.NoError(t, err)
				require.Equal(t, want, string(got))
			} else {
				require.ErrorIs(t, err, ErrNotFound)
			}
		}
		after := db.Metrics()
		probes := after.L0TablesProbed - before.L0TablesProbed
		t.Logf("%.2f L0 tables probed per Get (L0: %d tables, %d sublevels)", float64(probes)/float64(gets), after.Levels[0].Tables, after.L0Sublevels)
		require.LessOrEqual(t, probes, int64(gets*max(after.L0Sublevels, before.L0Sublevels)), "more than one table per sublevel")
		// Forward, backward, and seeks.
		want := make([]string, 0, len(model))
		for k := range model {
			want = append(want, k)
		}
		slices.Sort(want)
		got := dbScan(t, db)
		require.Len(t, got, len(want))
		for i, e := range got {
			require.Equal(t, want[i], e.k)
			require.Equal(t, model[e.k], e.v)
		}
		it, err := db.NewIter(nil)
		require.NoError(t, err)
		i := len(want) - 1
		for ok := it.Last(); ok; ok = it.Prev() {
			require.Equal(t, want[i], string(it.Key()))
			i--
		}
		require.Equal(t, -1, i)
		for range 200 {
			k := splitKey(rng.IntN(n + 10))
			j := sort.SearchStrings(want, string(k))
			if it.SeekGE(k) {
				require.Equal(t, want[j], string(it.Key()))
			} else {
				require.Equal(t, len(want), j)
			}
		}
		require.NoError(t, it.Close())
	}
	check()
	require.Less(t, float64(db.Metrics().L0TablesProbed), float64(m0.Levels[0].Tables*n/3), "fewer tables per Get than L0 holds")

	// More flushes pass the trigger: L0 compacts window by window while
	// reads go on.
	for range 4 {
		for range 1200 {
			put(rng.IntN(n))
		}
		require.NoError(t, db.Flush())
		check()
	}
	v := db.vs.Current()
	checkL0Order(t, v)
	v.Unref()
}

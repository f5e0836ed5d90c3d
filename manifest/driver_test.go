package manifest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/vfs"
	"github.com/stretchr/testify/require"
)

// driver plays the engine's part against a VersionSet: it creates (and
// fsyncs) table and WAL files before an edit names them, logs flushes,
// compactions, trivial moves and counter updates, and deletes obsolete
// files only after the edit that obsoletes them was acknowledged.
type driver struct {
	t     testing.TB
	files vfs.FS // the engine's own file operations (never fault-injected)
	dir   string
	vs    *VersionSet
	r     *rand.Rand
	seq   keys.SeqNum
	log   uint64 // the live WAL segment

	// keepObsolete leaves obsolete tables and WALs on disk, so that every
	// earlier version stays whole.
	keepObsolete bool

	// states[k] is the state after k acknowledged edits; states[0] is the
	// state Create left.
	states []string
	edits  []*VersionEdit // edits[k-1] produced states[k]
	err    error          // the first LogAndApply failure
	// failedState is the state the failed edit would have produced: after
	// a failure, recovery may find either it or the last acked state.
	failedState string
}

func newDriver(t testing.TB, files vfs.FS, dir string, vs *VersionSet, seed uint64) *driver {
	d := &driver{t: t, files: files, dir: dir, vs: vs, r: rand.New(rand.NewPCG(seed, 7))}
	d.states = []string{setState(vs)}
	return d
}

// setState renders what recovery must reproduce: the counters that the
// MANIFEST records and the version.
func setState(vs *VersionSet) string {
	v := vs.Current()
	defer v.Unref()
	return fmt.Sprintf("log=%d seq=%d\n%s", vs.LogNum(), vs.LastSeq(), v)
}

// apply logs e and, on success, records the new state and runs after.
func (d *driver) apply(e *VersionEdit, after func()) bool {
	if d.err != nil {
		return false
	}
	if err := d.vs.LogAndApply(e); err != nil {
		require.False(d.t, errors.Is(err, ErrBadEdit), "the driver built a bad edit: %v", err)
		d.err = err
		v := d.vs.Current()
		defer v.Unref()
		nv, aerr := v.Apply(e)
		require.NoError(d.t, aerr)
		logNum := d.vs.LogNum()
		if e.LogNum != 0 {
			logNum = e.LogNum
		}
		// LogAndApply filled e.LastSeq before writing.
		d.failedState = fmt.Sprintf("log=%d seq=%d\n%s", logNum, e.LastSeq, nv)
		return false
	}
	d.states = append(d.states, setState(d.vs))
	d.edits = append(d.edits, e)
	if after != nil && !d.keepObsolete {
		after()
	}
	return true
}

func (d *driver) remove(ft FileType, num uint64) {
	require.NoError(d.t, d.files.Remove(MakeFilename(d.dir, ft, num)))
}

// newTable allocates a number and writes a table holding [lo, hi].
func (d *driver) newTable(lo, hi int, sseq, lseq keys.SeqNum) *FileMeta {
	m := meta(d.vs.NewFileNum(), lo, hi, sseq, lseq)
	writeFile(d.t, d.files, d.dir, MakeFilename(d.dir, FileTypeTable, m.FileNum), m.Size)
	return m
}

// flush writes an L0 table and switches to a new WAL segment.
func (d *driver) flush() bool {
	lo := d.r.IntN(900)
	d.seq += 10
	m := d.newTable(lo, lo+d.r.IntN(100), d.seq-9, d.seq)
	newLog := d.vs.NewFileNum()
	writeFile(d.t, d.files, d.dir, MakeFilename(d.dir, FileTypeLog, newLog), 0)
	oldLog := d.log
	return d.apply(&VersionEdit{LogNum: newLog, LastSeq: d.seq, Added: []NewFile{{0, m}}}, func() {
		d.log = newLog
		if oldLog != 0 {
			d.remove(FileTypeLog, oldLog)
		}
	})
}

// compact merges all of L0 and L1 into new L1 tables.
func (d *driver) compact() bool {
	v := d.vs.Current()
	defer v.Unref()
	inputs := append(slices.Clone(v.Levels[0]), v.Levels[1]...)
	if len(inputs) == 0 {
		return d.flush()
	}
	lo, hi := 1<<30, -1
	e := &VersionEdit{}
	for i, f := range inputs {
		lo = min(lo, parseKey(f.Smallest))
		hi = max(hi, parseKey(f.Largest))
		lvl := 0
		if i >= len(v.Levels[0]) {
			lvl = 1
		}
		e.Deleted = append(e.Deleted, DeletedFile{lvl, f.FileNum})
	}
	// Split the output into up to three tables with disjoint ranges.
	parts := 1 + d.r.IntN(3)
	step := (hi-lo)/parts + 1
	for start := lo; start <= hi; start += step {
		e.Added = append(e.Added, NewFile{1, d.newTable(start, min(start+step-1, hi), 1, d.seq)})
	}
	return d.apply(e, func() {
		for _, del := range e.Deleted {
			d.remove(FileTypeTable, del.FileNum)
		}
	})
}

// move moves an L1 table to L2 when nothing in L2 overlaps it.
func (d *driver) move() bool {
	v := d.vs.Current()
	defer v.Unref()
	for _, f := range v.Levels[1] {
		if len(v.Overlaps(2, f.SmallestUserKey(), f.LargestUserKey())) == 0 {
			return d.apply(&VersionEdit{Deleted: []DeletedFile{{1, f.FileNum}}, Added: []NewFile{{2, f}}}, nil)
		}
	}
	return d.flush()
}

// bumpSeq records a new last sequence number through SetLastSeq.
func (d *driver) bumpSeq() bool {
	d.seq += 3
	d.vs.SetLastSeq(d.seq)
	return d.apply(&VersionEdit{}, nil)
}

// step runs one random operation; false once an edit failed.
func (d *driver) step() bool {
	switch n := d.r.IntN(10); {
	case n < 4:
		return d.flush()
	case n < 6:
		return d.compact()
	case n < 8:
		return d.move()
	default:
		return d.bumpSeq()
	}
}

// run runs n steps, stopping at the first failure.
func (d *driver) run(n int) {
	for range n {
		if !d.step() {
			return
		}
	}
}

// requireRecovered checks that a recovered state is the last acked one or,
// after a failure, possibly the failed edit's.
func (d *driver) requireRecovered(got string, msgAndArgs ...any) {
	d.t.Helper()
	want := d.states[len(d.states)-1]
	if got == want || (d.err != nil && got == d.failedState) {
		return
	}
	require.Equal(d.t, want, got, msgAndArgs...)
}

// requireWhole checks that every table of the set's current version exists
// with its size, and so does the WAL segment LogNum names.
func requireWhole(t testing.TB, fs vfs.FS, dir string, vs *VersionSet) {
	t.Helper()
	v := vs.Current()
	defer v.Unref()
	require.NoError(t, v.CheckInvariants())
	require.NoError(t, vs.checkWhole(v, vs.LogNum()))
}

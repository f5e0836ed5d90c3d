package compaction

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/manifest"
	"github.com/stratadb/strata/rangedel"
)

// Output is a table a compaction writes.
type Output interface {
	Add(ikey, value []byte) error
	// SetRangeDels sets the table's range tombstones (see
	// sstable.Writer.SetRangeDels); called at most once, before Finish.
	SetRangeDels(l rangedel.List) error
	EstimatedSize() uint64
	// Finish completes the table (durably) and returns its metadata.
	Finish() (*manifest.FileMeta, error)
	// Abort abandons the table and removes its file.
	Abort()
}

// Env is what a compaction needs from the DB.
type Env struct {
	// NewOutput starts a new output table.
	NewOutput func() (Output, error)
	// Snapshots are the sequence numbers of the open snapshots, ascending.
	Snapshots []keys.SeqNum
	// Now is the time expiry is judged at, in Unix nanoseconds.
	Now int64
	// Version is the version the compaction was picked from; its levels
	// below the output level decide whether a key can have older versions
	// there.
	Version *manifest.Version
	// Stopped, if set, is polled between keys; when it returns true the
	// compaction abandons its outputs and returns ErrStopped.
	Stopped func() bool
	// RangeDels are the range tombstones of every input table, fragmented
	// together (rangedel.Merge of their lists).
	RangeDels rangedel.List
}

// ErrStopped is returned by Run when Env.Stopped asked it to stop.
var ErrStopped = errors.New("compaction: stopped")

// Result reports what a compaction did.
type Result struct {
	Outputs           []*manifest.FileMeta
	EntriesIn         int64
	EntriesOut        int64
	ExpiredRewritten  int64 // expired values turned into tombstones or dropped
	TombstonesDropped int64
	ShadowedDropped   int64
	// CoveredDropped counts entries dropped because a range tombstone
	// deletes them for every reader; RangeDelsDropped counts range
	// tombstones (per fragment and sequence number) no reader needs.
	CoveredDropped   int64
	RangeDelsDropped int64
}

// BytesWritten returns the total size of the outputs.
func (r *Result) BytesWritten() uint64 { return manifest.TotalSize(r.Outputs) }

type version struct {
	seq   keys.SeqNum
	kind  keys.Kind
	value []byte
}

// Run merges the compaction's inputs (in, a merging iterator over every
// input table in internal-key order) into new tables. It closes in.
func Run(c *Compaction, in keys.Iterator, env Env) (res Result, err error) {
	defer func() {
		if cerr := in.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	j := job{c: c, env: env}
	j.rdels = j.keptRangeDels(&res)
	defer func() {
		if err != nil {
			j.abort()
			res.Outputs = nil
		}
	}()
	var (
		ukey    []byte
		kept    []version
		scratch []byte
	)
	now := keys.NowAt(env.Now)
	ok := in.First()
	for ok {
		if env.Stopped != nil && env.Stopped() {
			return res, ErrStopped
		}
		p, valid := keys.Parse(in.Key())
		if !valid {
			return res, c.inputCorruption(fmt.Errorf("%w: internal key of %d bytes, shorter than its trailer", keys.ErrCorruption, len(in.Key())))
		}
		ukey = append(ukey[:0], p.UserKey...)
		kept, scratch = kept[:0], scratch[:0]
		lastStripe := -1
		for ; ok; ok = in.Next() {
			p, valid = keys.Parse(in.Key())
			if !valid || !bytes.Equal(p.UserKey, ukey) {
				break
			}
			res.EntriesIn++
			stripe := sort.Search(len(env.Snapshots), func(i int) bool { return env.Snapshots[i] >= p.Seq })
			if stripe == lastStripe {
				res.ShadowedDropped++ // an older version no reader can see
				continue
			}
			lastStripe = stripe
			if j.covered(ukey, p.Seq, stripe) {
				res.CoveredDropped++
				continue
			}
			kind, value := p.Kind, in.Value()
			switch j := keys.Judge(kind, value, &now); {
			case j.Err != nil:
				return res, c.inputCorruption(fmt.Errorf("key %s: %w", keys.Quote(ukey), j.Err))
			case j.Verdict == keys.VerdictExpired:
				// It must still shadow what is older: a tombstone.
				kind, value = keys.KindDelete, nil
				res.ExpiredRewritten++
			}
			off := len(scratch)
			scratch = append(scratch, value...)
			kept = append(kept, version{seq: p.Seq, kind: kind, value: scratch[off:len(scratch):len(scratch)]})
		}
		if err := in.Error(); err != nil {
			return res, err
		}
		// The values in kept alias scratch, which may have moved as it grew.
		off := 0
		for i := range kept {
			n := len(kept[i].value)
			kept[i].value = scratch[off : off+n : off+n]
			off += n
		}
		// Drop tombstones that hide nothing: the oldest kept version, when
		// it is a tombstone and no older version of the key can be below.
		for len(kept) > 0 && kept[len(kept)-1].kind == keys.KindDelete && j.bottomFor(ukey) {
			kept = kept[:len(kept)-1]
			res.TombstonesDropped++
		}
		if len(kept) == 0 {
			continue
		}
		if err := j.startKey(ukey); err != nil {
			return res, err
		}
		for _, v := range kept {
			j.ikey = keys.MakeKey(j.ikey[:0], ukey, v.seq, v.kind)
			if err := j.out.Add(j.ikey, v.value); err != nil {
				return res, err
			}
			res.EntriesOut++
		}
	}
	if err := in.Error(); err != nil {
		return res, err
	}
	if j.out == nil && len(j.rdels.Clip(j.lower, nil)) > 0 {
		// Tombstones after the last key (or a compaction of tombstones
		// only) still need a table.
		out, err := j.env.NewOutput()
		if err != nil {
			return res, err
		}
		j.out = out
	}
	if err := j.finishOutput(nil); err != nil {
		return res, err
	}
	res.Outputs = j.outputs
	return res, nil
}

// inputCorruption names the compaction's input tables in err, damage that
// the table readers (which check every entry, naming the table and the
// offset) let through: the merged input cannot tell which table an entry
// came from.
func (c *Compaction) inputCorruption(err error) error {
	var names []string
	for _, f := range c.AllInputs() {
		names = append(names, manifest.Filename(manifest.FileTypeTable, f.FileNum))
	}
	return fmt.Errorf("compaction input (one of %s): %w", strings.Join(names, ", "), err)
}

// stripeOf returns the snapshot stripe of seq: how many open snapshots are
// older than it. Two versions in the same stripe are seen together by every
// reader.
func (j *job) stripeOf(seq keys.SeqNum) int {
	s := j.env.Snapshots
	return sort.Search(len(s), func(i int) bool { return s[i] >= seq })
}

// covered reports whether a range tombstone of the inputs deletes the
// version (ukey, seq) for every reader: one newer than seq in the same
// snapshot stripe covers ukey. Keys arrive in increasing order, so the
// search resumes where the last one stopped.
func (j *job) covered(ukey []byte, seq keys.SeqNum, stripe int) bool {
	l := j.env.RangeDels
	for j.rdIdx < len(l) && bytes.Compare(l[j.rdIdx].End, ukey) <= 0 {
		j.rdIdx++
	}
	if j.rdIdx >= len(l) || bytes.Compare(l[j.rdIdx].Start, ukey) > 0 {
		return false
	}
	seqs := l[j.rdIdx].Seqs // descending
	// The oldest tombstone newer than seq decides: any newer one is in the
	// same stripe or a later one.
	i := sort.Search(len(seqs), func(i int) bool { return seqs[i] <= seq }) - 1
	return i >= 0 && j.stripeOf(seqs[i]) == stripe
}

// keptRangeDels returns the input tombstones the outputs must keep: in
// each fragment, the newest sequence number of each snapshot stripe, less
// those that every reader sees (no snapshot is older) where no level below
// the output may hold a key of the fragment: the compaction drops what they
// cover, and nothing else is left for them to delete.
func (j *job) keptRangeDels(res *Result) rangedel.List {
	var out rangedel.List
	for _, f := range j.env.RangeDels {
		var seqs []keys.SeqNum
		last := -1
		bottom := j.bottomForRange(f.Start, f.End)
		for _, s := range f.Seqs {
			st := j.stripeOf(s)
			if st == last || (st == 0 && bottom) {
				res.RangeDelsDropped++
				last = st
				continue
			}
			last = st
			seqs = append(seqs, s)
		}
		if len(seqs) > 0 {
			out = append(out, rangedel.Fragment{Start: f.Start, End: f.End, Seqs: seqs})
		}
	}
	return out
}

// bottomForRange reports whether no level below the output level may hold a
// key in [start, end).
func (j *job) bottomForRange(start, end []byte) bool {
	v := j.env.Version
	if v == nil {
		return false
	}
	for level := j.c.OutputLevel + 1; level < NumLevels; level++ {
		for _, f := range v.Overlaps(level, start, end) {
			if bytes.Compare(f.SmallestUserKey(), end) < 0 {
				return false
			}
		}
	}
	return true
}

// job is the output side of a running compaction.
type job struct {
	c       *Compaction
	env     Env
	out     Output
	outputs []*manifest.FileMeta
	ikey    []byte

	rdels rangedel.List // the tombstones the outputs keep
	rdIdx int           // next fragment of env.RangeDels not below the keys seen
	lower []byte        // where the current output's tombstones start (nil: unbounded)

	gpIdx        int   // next grandparent not yet passed
	gpOverlap    int64 // grandparent bytes the current output overlaps
	seenKey      bool  // the current output holds a key
	bottomLevels [NumLevels]int
}

// startKey makes sure an output is open for a new user key, first closing
// the current one if it is full or overlaps too many grandparents.
func (j *job) startKey(ukey []byte) error {
	gp := j.c.Grandparents
	for j.gpIdx < len(gp) && gp[j.gpIdx].EndsBefore(ukey) {
		if j.seenKey {
			j.gpOverlap += int64(gp[j.gpIdx].Size)
		}
		j.gpIdx++
	}
	if j.out != nil && (int64(j.out.EstimatedSize()) >= j.c.MaxOutputSize || j.gpOverlap > j.c.MaxGrandparentOverlap) {
		if err := j.finishOutput(ukey); err != nil {
			return err
		}
	}
	if j.out == nil {
		out, err := j.env.NewOutput()
		if err != nil {
			return err
		}
		j.out, j.gpOverlap = out, 0
	}
	j.seenKey = true
	return nil
}

// finishOutput completes the current output, giving it the tombstones
// between the previous split and split (nil: all that remain): a tombstone
// that spans a split is cut there, so the outputs' key ranges stay
// disjoint.
func (j *job) finishOutput(split []byte) error {
	if j.out == nil {
		return nil
	}
	if rd := j.rdels.Clip(j.lower, split); len(rd) > 0 {
		if err := j.out.SetRangeDels(rd); err != nil {
			return err
		}
	}
	if split != nil {
		j.lower = append([]byte(nil), split...)
	}
	meta, err := j.out.Finish()
	j.out, j.seenKey = nil, false
	if err != nil {
		return err
	}
	if meta != nil {
		j.outputs = append(j.outputs, meta)
	}
	return nil
}

func (j *job) abort() {
	if j.out != nil {
		j.out.Abort()
		j.out = nil
	}
}

// bottomFor reports whether no level below the output level may hold ukey.
// Keys arrive in increasing order, so each level's search resumes where the
// last one stopped.
func (j *job) bottomFor(ukey []byte) bool {
	v := j.env.Version
	if v == nil {
		return false
	}
	for level := j.c.OutputLevel + 1; level < NumLevels; level++ {
		files := v.Levels[level]
		i := j.bottomLevels[level]
		for i < len(files) && files[i].EndsBefore(ukey) {
			i++
		}
		j.bottomLevels[level] = i
		if i < len(files) && bytes.Compare(files[i].SmallestUserKey(), ukey) <= 0 {
			return false
		}
	}
	return true
}

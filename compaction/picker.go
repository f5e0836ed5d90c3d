package compaction

import (
	"bytes"
	"fmt"
	"math"
	"slices"

	"github.com/stratadb/strata/manifest"
)

// NumLevels is the number of levels, L0..L6.
const NumLevels = manifest.NumLevels

// Bottom is the index of the bottom level.
const Bottom = NumLevels - 1

// Options are the knobs of the leveled policy; lsm fills them from its own
// Options, where each default is documented.
type Options struct {
	L0Trigger       int   // L0 depth (sublevels) that scores 1
	LevelMultiplier int   // ratio of adjacent level targets
	BaseLevelSize   int64 // the smallest target a base level may have
	TargetFileSize  int64 // output tables are split at this size
}

// Reason says why a compaction was picked.
type Reason uint8

// The reasons (the package documentation says when each applies). String
// gives the word logs and events use.
const (
	ReasonL0        Reason = iota + 1 // L0 scores 1 or more (Pick)
	ReasonSize                        // a level scores 1 or more (Pick)
	ReasonTTL                         // expired data or mostly tombstones (PickTTL)
	ReasonRead                        // reads keep paying for L0's overlap (PickRead)
	ReasonManual                      // DB.Compact (PickManual)
	ReasonWALValues                   // a table refers to values in a mostly dead WAL segment (PickRewrite)
)

// String returns "L0", "size", "ttl", "read" or "manual".
func (r Reason) String() string {
	switch r {
	case ReasonL0:
		return "L0"
	case ReasonSize:
		return "size"
	case ReasonTTL:
		return "ttl"
	case ReasonRead:
		return "read"
	case ReasonManual:
		return "manual"
	case ReasonWALValues:
		return "wal-values"
	}
	return fmt.Sprintf("Reason(%d)", uint8(r))
}

// Kind is how a compaction does its work.
type Kind uint8

// The kinds.
const (
	// KindRewrite merges the inputs and writes new tables, dropping what is
	// dead.
	KindRewrite Kind = iota
	// KindMove moves Inputs[0], tables that overlap nothing in OutputLevel
	// nor each other, by a MANIFEST edit alone (a trivial move).
	KindMove
)

// String returns "rewrite" or "move".
func (k Kind) String() string {
	if k == KindMove {
		return "move"
	}
	return "rewrite"
}

// Compaction is one unit of compaction work.
type Compaction struct {
	Reason      Reason
	Kind        Kind
	Level       int
	OutputLevel int
	// Inputs[0] are the tables of Level, Inputs[1] those of OutputLevel
	// (empty when Level == OutputLevel).
	Inputs [2][]*manifest.FileMeta
	// Grandparents are the tables of the level below OutputLevel that the
	// compaction overlaps; outputs split to bound their overlap.
	Grandparents []*manifest.FileMeta
	// MaxOutputSize and MaxGrandparentOverlap bound each output table.
	MaxOutputSize         int64
	MaxGrandparentOverlap int64
}

// AllInputs returns every input table.
func (c *Compaction) AllInputs() []*manifest.FileMeta {
	return append(append([]*manifest.FileMeta(nil), c.Inputs[0]...), c.Inputs[1]...)
}

// InputBytes returns the total size of the inputs.
func (c *Compaction) InputBytes() uint64 {
	var n uint64
	for _, in := range c.Inputs {
		n += manifest.TotalSize(in)
	}
	return n
}

// Targets returns the base level and each level's target size, computed from
// the bottom up (see the package documentation).
func Targets(v *manifest.Version, o Options) (base int, targets [NumLevels]int64) {
	bottomSize := int64(v.LevelSize(Bottom))
	for l := 1; l < Bottom; l++ {
		// Data above the bottom counts as if it were there, so that a DB
		// whose data still sits in upper levels gets sensible targets.
		bottomSize = max(bottomSize, int64(v.LevelSize(l)))
	}
	mult := int64(o.LevelMultiplier)
	base = Bottom
	t := max(bottomSize, o.BaseLevelSize)
	targets[Bottom] = t
	for base > 1 && t/mult >= o.BaseLevelSize {
		t /= mult
		base--
		targets[base] = t
	}
	// L0 must never compact past a level that holds data: its data is
	// newer than everything below it, and reads look top-down. If a level
	// above the computed base holds data (the base moved down as the DB
	// shrank), it is the base until it drains.
	for l := 1; l < base; l++ {
		if v.LevelSize(l) > 0 {
			for base > l {
				base--
				targets[base] = max(targets[base+1]/mult, 1)
			}
			break
		}
	}
	return base, targets
}

// Scores returns each level's compaction score. A level's size counts, for
// each table, the bytes below that its range tombstones cover
// (FileMeta.RangeDelBytes): a level of tombstones over much data scores high,
// so the deleted data is compacted away and its space comes back. Covered
// bytes also score on their own against the smaller of the level's target
// and half the DB: in a DB smaller than its base level's target, tombstones
// over half of it are reason enough. (L0, otherwise scored by its depth,
// uses the base level's target.)
func Scores(v *manifest.Version, o Options) (scores [NumLevels]float64) {
	base, targets := Targets(v, o)
	var total uint64
	for l := range NumLevels {
		total += v.LevelSize(l)
	}
	rdScore := func(rd uint64, target int64) float64 {
		return float64(rd) / float64(max(min(uint64(max(target, 1)), total/2), 1))
	}
	scores[0] = float64(max(v.L0Depth(), l0Apart(v, base))) / float64(o.L0Trigger)
	if rd := rangeDelBytes(v.Levels[0]); rd > 0 && base < NumLevels {
		scores[0] = max(scores[0], rdScore(rd, targets[base]))
	}
	for l := 1; l < Bottom; l++ {
		rd := rangeDelBytes(v.Levels[l])
		size := float64(v.LevelSize(l) + rd)
		if size > 0 {
			scores[l] = size / float64(targets[l])
		}
		if rd > 0 {
			scores[l] = max(scores[l], rdScore(rd, targets[l]))
		}
	}
	return scores
}

// l0Apart counts the L0 tables that overlap no other L0 table nor any table
// of the base level: a sequential load's flushes, side by side beyond the
// data below. They add no depth, yet they belong below L0, and a trivial
// move takes them there.
func l0Apart(v *manifest.Version, base int) int {
	sub := v.L0Sublevels()
	if sub.Isolated == 0 {
		return 0
	}
	n := 0
	for i, f := range v.Levels[0] {
		if sub.Alone[i] && len(v.Overlaps(base, f.SmallestUserKey(), f.LargestUserKey())) == 0 {
			n++
		}
	}
	return n
}

// rangeDelBytes sums the bytes the tables' range tombstones cover below.
func rangeDelBytes(files []*manifest.FileMeta) uint64 {
	var n uint64
	for _, f := range files {
		n += f.RangeDelBytes
	}
	return n
}

// Pick returns the most urgent compaction of v, or nil if none is due or
// every candidate's tables are busy. Files with Compacting set are busy;
// the caller marks the chosen inputs. It is PickConcurrent with no
// compaction running.
func Pick(v *manifest.Version, o Options) *Compaction {
	return PickConcurrent(v, o, nil)
}

// PickConcurrent is Pick while the compactions running (picked from v or
// an older version, their inputs marked Compacting) run: an L0 compaction
// it picks has a key range disjoint from that of every running compaction
// into the same level.
func PickConcurrent(v *manifest.Version, o Options, running []*Compaction) *Compaction {
	scores := Scores(v, o)
	base, _ := Targets(v, o)
	for {
		best, bestScore := -1, 1.0
		for l, s := range scores {
			if s >= bestScore && s > 0 {
				best, bestScore = l, s
			}
		}
		if best < 0 {
			return nil
		}
		var c *Compaction
		if best == 0 {
			c = pickL0Partial(v, o, base, running, ReasonL0, 1)
		} else {
			c = pickLevel(v, o, best)
		}
		if c != nil {
			return c
		}
		scores[best] = 0 // busy: try the next level
	}
}

func anyBusy(files []*manifest.FileMeta) bool {
	for _, f := range files {
		if f.Compacting {
			return true
		}
	}
	return false
}

// keyRange returns the user-key range covered by files.
func keyRange(files []*manifest.FileMeta) (lo, hi []byte) {
	for _, f := range files {
		if lo == nil || bytes.Compare(f.SmallestUserKey(), lo) < 0 {
			lo = f.SmallestUserKey()
		}
		if hi == nil || bytes.Compare(f.LargestUserKey(), hi) > 0 {
			hi = f.LargestUserKey()
		}
	}
	return lo, hi
}

func pickL0(v *manifest.Version, o Options, base int, reason Reason) *Compaction {
	l0 := v.Levels[0]
	if len(l0) == 0 || anyBusy(l0) {
		return nil
	}
	return newCompaction(v, o, reason, 0, base, append([]*manifest.FileMeta(nil), l0...))
}

func pickLevel(v *manifest.Version, o Options, level int) *Compaction {
	var best *manifest.FileMeta
	bestRatio := 0.0
	for _, f := range v.Levels[level] {
		if f.Compacting {
			continue
		}
		over := v.Overlaps(level+1, f.SmallestUserKey(), f.LargestUserKey())
		if anyBusy(over) {
			continue
		}
		// Tables whose tombstones cover much data below go first.
		ratio := float64(manifest.TotalSize(over)) / float64(max(f.Size+f.RangeDelBytes, 1))
		if best == nil || ratio < bestRatio {
			best, bestRatio = f, ratio
		}
	}
	if best == nil {
		return nil
	}
	return newCompaction(v, o, ReasonSize, level, level+1, []*manifest.FileMeta{best})
}

// newCompaction completes a compaction from its first inputs: it widens them
// to clean user-key boundaries, adds the overlapping tables of the output
// level and the grandparents, and detects a trivial move. It returns nil if
// a needed table is busy.
func newCompaction(v *manifest.Version, o Options, reason Reason, level, out int, inputs []*manifest.FileMeta) *Compaction {
	if level > 0 {
		inputs = widen(v, level, inputs)
		if inputs == nil {
			return nil
		}
	}
	c := &Compaction{
		Reason: reason, Level: level, OutputLevel: out,
		MaxOutputSize:         o.TargetFileSize,
		MaxGrandparentOverlap: grandparentBound(o.TargetFileSize),
	}
	c.Inputs[0] = inputs
	lo, hi := keyRange(inputs)
	if out != level {
		c.Inputs[1] = v.Overlaps(out, lo, hi)
		if anyBusy(c.Inputs[1]) {
			return nil
		}
		if len(c.Inputs[1]) > 0 {
			lo, hi = keyRange(c.AllInputs())
		}
	}
	if out+1 < NumLevels {
		c.Grandparents = v.Overlaps(out+1, lo, hi)
	}
	// A move keeps every entry, so it suits only the reasons that want the
	// data lower, not those that want dead entries gone, nor a table whose
	// range tombstones cover data (it may hold that data itself: a flushed
	// memtable with the keys and their DeleteRange).
	if out != level && disjoint(c.Inputs[0]) && noRangeDelBytes(c.Inputs[0]) && len(c.Inputs[1]) == 0 &&
		int64(manifest.TotalSize(c.Grandparents)) <= c.MaxGrandparentOverlap &&
		(reason == ReasonL0 || reason == ReasonSize || reason == ReasonRead) {
		c.Kind = KindMove
	}
	return c
}

// disjoint reports whether files overlap no two in user keys, so they can
// sit side by side in a level: one table always can. Several are the L0
// tables of a sequential load, each flushed memtable holding keys after
// the last's, which move to the base level together instead of being
// rewritten.
func disjoint(files []*manifest.FileMeta) bool {
	if len(files) <= 1 {
		return len(files) == 1
	}
	s := slices.Clone(files)
	slices.SortFunc(s, func(a, b *manifest.FileMeta) int { return bytes.Compare(a.SmallestUserKey(), b.SmallestUserKey()) })
	for i := 1; i < len(s); i++ {
		if !s[i-1].EndsBefore(s[i].SmallestUserKey()) {
			return false
		}
	}
	return true
}

// grandparentBound returns how much grandparent data an output table may
// overlap: ten target files, saturated at math.MaxInt64 for a huge
// TargetFileSize (the product would wrap to a negative bound, splitting
// outputs at every key).
func grandparentBound(target int64) int64 {
	if target > math.MaxInt64/10 {
		return math.MaxInt64
	}
	return 10 * target
}

// widen extends inputs of a level >= 1 with the neighbouring tables that
// share a boundary user key, so that every version of a user key moves
// together. It returns nil if a needed table is busy.
func widen(v *manifest.Version, level int, inputs []*manifest.FileMeta) []*manifest.FileMeta {
	files := v.Levels[level]
	lo, hi := keyRange(inputs)
	first, last := -1, -1
	for i, f := range files {
		if !f.EndsBefore(lo) && bytes.Compare(f.SmallestUserKey(), hi) <= 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return inputs
	}
	for first > 0 && !files[first-1].EndsBefore(files[first].SmallestUserKey()) {
		first--
	}
	for last+1 < len(files) && !files[last].EndsBefore(files[last+1].SmallestUserKey()) {
		last++
	}
	out := append([]*manifest.FileMeta(nil), files[first:last+1]...)
	if anyBusy(out) {
		return nil
	}
	return out
}

// PickManual returns a compaction of the tables of level overlapping the
// user-key range [lo, hi] (nil = unbounded) into the next level down (into
// the base level from L0, or into itself at the bottom), or nil if level
// holds none.
func PickManual(v *manifest.Version, o Options, level int, lo, hi []byte) *Compaction {
	inputs := v.Overlaps(level, lo, hi)
	if len(inputs) == 0 {
		return nil
	}
	out := level + 1
	switch level {
	case 0:
		// Take every L0 table the range touches and every older one they
		// overlap, which for simplicity is all of L0.
		inputs = append([]*manifest.FileMeta(nil), v.Levels[0]...)
		out, _ = Targets(v, o)
	case Bottom:
		out = Bottom
	}
	return newCompaction(v, o, ReasonManual, level, out, append([]*manifest.FileMeta(nil), inputs...))
}

// PickTTL returns a compaction of a table whose expiring entries have all
// expired by now (Unix nanos), or whose entries are mostly tombstones, so
// that their space comes back without waiting for writes; nil if none.
func PickTTL(v *manifest.Version, o Options, now int64) *Compaction {
	base, _ := Targets(v, o)
	for level := NumLevels - 1; level >= 1; level-- {
		for _, f := range v.Levels[level] {
			if f.Compacting {
				continue
			}
			expired := f.LatestExpiry != 0 && f.LatestExpiry <= now
			// Tombstones sink to the bottom, where they are dropped.
			tombstones := level < Bottom && f.NumDeletions > 0 && f.NumDeletions*2 >= f.NumEntries
			if !expired && !tombstones {
				continue
			}
			out := min(level+1, Bottom)
			if c := newCompaction(v, o, ReasonTTL, level, out, []*manifest.FileMeta{f}); c != nil {
				return c
			}
		}
	}
	// L0 tables go down with the rest of L0.
	for _, f := range v.Levels[0] {
		if f.LatestExpiry != 0 && f.LatestExpiry <= now {
			if c := pickL0(v, o, base, ReasonTTL); c != nil {
				return c
			}
			break
		}
	}
	return nil
}

// PickRewrite returns a compaction that rewrites f, a table of level 1 or
// below, into the level under it (its own at the bottom), with the
// tables it overlaps there; nil if one of them is busy. It never moves f
// whole: the point is to write its entries again (lsm rewrites a table
// that refers to values in a WAL segment so the segment can go).
func PickRewrite(v *manifest.Version, o Options, reason Reason, level int, f *manifest.FileMeta) *Compaction {
	if level < 1 || f.Compacting {
		return nil
	}
	return newCompaction(v, o, reason, level, min(level+1, Bottom), []*manifest.FileMeta{f})
}

// PickRead returns a compaction of part of L0 into the base level, for a
// DB whose reads keep paying for L0's overlap (a read looks at a table of
// each sublevel over its key), or nil: the window of base-level tables with
// the most L0 tables over it, if at least two, picked as Pick picks an L0
// compaction (see the package documentation) whatever L0's score. It is
// LevelDB's seek-triggered compaction, applied to L0 a window at a time: a
// compaction of all of L0 and the base level under it would hold the
// compaction slot for long after a large fill. It is PickReadConcurrent
// with no compaction running.
func PickRead(v *manifest.Version, o Options) *Compaction {
	return PickReadConcurrent(v, o, nil)
}

// PickReadConcurrent is PickRead while the compactions running run (see
// PickConcurrent).
func PickReadConcurrent(v *manifest.Version, o Options, running []*Compaction) *Compaction {
	if len(v.Levels[0]) < 2 {
		return nil
	}
	base, _ := Targets(v, o)
	return pickL0Partial(v, o, base, running, ReasonRead, 2)
}

// noRangeDelBytes reports whether no table of ts has range tombstones
// covering data.
func noRangeDelBytes(ts []*manifest.FileMeta) bool {
	for _, t := range ts {
		if t.RangeDelBytes != 0 {
			return false
		}
	}
	return true
}

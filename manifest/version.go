package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/stratadb/strata/internal/invariants"
	"github.com/stratadb/strata/keys"
)

// ErrBadEdit is wrapped by the error of an edit that does not apply to a
// version: a table added twice, the delete of an absent table, a bad level,
// overlapping tables in L1+, or counters that go backwards. During recovery
// the same failure is reported as corruption of the MANIFEST instead.
var ErrBadEdit = errors.New("manifest: version edit does not apply")

// Version is an immutable snapshot of the live tables, per level. Applying an
// edit makes a new Version; the level slices and FileMeta pointers of an old
// one are never changed, so readers holding a reference need no lock.
//
// Levels[0] holds overlapping tables ordered by LargestSeq ascending (oldest
// first, ties by FileNum). Levels[1..6] each hold tables sorted by Smallest
// whose user-key ranges do not overlap: the largest user key of a table is
// strictly below the smallest user key of the next (or equal to it when the
// largest key is the exclusive end of a range tombstone, see
// keys.RangeDelSentinel), so a user key lives in at most one table per
// level.
//
// The reference count is atomic; Ref and Unref are safe for concurrent use.
// vs is set once, before the version is published, and never changes.
type Version struct {
	Levels [NumLevels][]*FileMeta

	refs atomic.Int32
	vs   *VersionSet // notified when refs drops to zero; nil if not installed

	// l0Sub caches L0Sublevels, computed once per version on first use.
	l0Sub atomic.Pointer[l0Cache]
}

// Ref takes a reference: the tables of v will not be deleted until Unref.
// Under the invariants build a Ref of an installed version whose last
// reference is gone panics.
func (v *Version) Ref() {
	if n := v.refs.Add(1); invariants.Enabled && n <= 1 && v.vs != nil {
		panic("manifest: Ref of a dead version")
	}
}

// Unref releases a reference. When the last one goes, the version set that
// installed v stops counting v's tables as live (see LiveFiles). Under the
// invariants build an Unref without a Ref panics.
func (v *Version) Unref() {
	n := v.refs.Add(-1)
	if n < 0 && invariants.Enabled {
		panic("manifest: Unref without Ref")
	}
	if n == 0 && v.vs != nil {
		v.vs.versionDied(v)
	}
}

// Refs returns the current reference count, for tests and debugging.
func (v *Version) Refs() int32 { return v.refs.Load() }

// NumFiles returns the number of tables in level (0 for a bad level).
func (v *Version) NumFiles(level int) int {
	if level < 0 || level >= NumLevels {
		return 0
	}
	return len(v.Levels[level])
}

// LevelSize returns the total size in bytes of the tables in level.
func (v *Version) LevelSize(level int) uint64 {
	if level < 0 || level >= NumLevels {
		return 0
	}
	return TotalSize(v.Levels[level])
}

// TotalSize returns the total size in bytes of files: a level's, a
// compaction's inputs or outputs.
func TotalSize(files []*FileMeta) uint64 {
	var n uint64
	for _, f := range files {
		n += f.Size
	}
	return n
}

// FindFile returns, for level >= 1, the index of the first table whose
// largest user key is >= ukey (> ukey when that largest key is an exclusive
// range tombstone end; binary search), or NumFiles(level) if there
// is none. The table at the index is the only one of the level that can hold
// ukey, and does if its smallest user key is <= ukey. For L0 (unsorted by
// key) the result means nothing.
func (v *Version) FindFile(level int, ukey []byte) int {
	if level < 0 || level >= NumLevels {
		return 0
	}
	return FindInSublevel(v.Levels[level], ukey)
}

// Overlaps returns the tables of level whose user-key range intersects
// [smallest, largest], both inclusive user keys; a nil bound is unbounded.
// For L0 it returns every overlapping table in L0 order, without widening
// the range transitively. For L1+ the result is a sub-slice of the level
// with its capacity capped: the caller must not modify its elements, and an
// append copies.
func (v *Version) Overlaps(level int, smallest, largest []byte) []*FileMeta {
	if level < 0 || level >= NumLevels {
		return nil
	}
	files := v.Levels[level]
	if level == 0 {
		var out []*FileMeta
		for _, f := range files {
			if overlaps(f, smallest, largest) {
				out = append(out, f)
			}
		}
		return out
	}
	i := 0
	if smallest != nil {
		i = v.FindFile(level, smallest)
	}
	j := i
	for j < len(files) && (largest == nil || bytes.Compare(keys.UserKey(files[j].Smallest), largest) <= 0) {
		j++
	}
	if i == j {
		return nil
	}
	return files[i:j:j]
}

func overlaps(f *FileMeta, smallest, largest []byte) bool {
	if smallest != nil && f.EndsBefore(smallest) {
		return false
	}
	if largest != nil && bytes.Compare(keys.UserKey(f.Smallest), largest) > 0 {
		return false
	}
	return true
}

// l0Less orders L0 tables: LargestSeq ascending, then FileNum.
func l0Less(a, b *FileMeta) bool {
	if a.LargestSeq != b.LargestSeq {
		return a.LargestSeq < b.LargestSeq
	}
	return a.FileNum < b.FileNum
}

// levelLess orders L1+ tables by Smallest.
func levelLess(a, b *FileMeta) bool { return keys.Compare(a.Smallest, b.Smallest) < 0 }

// checkFile checks the invariants of one table on its own.
func checkFile(level int, f *FileMeta) error {
	if f == nil {
		return fmt.Errorf("L%d: nil table", level)
	}
	if f.FileNum == 0 {
		return fmt.Errorf("L%d: table with file number 0", level)
	}
	if len(f.Smallest) < keys.TrailerLen || len(f.Largest) < keys.TrailerLen {
		return fmt.Errorf("L%d: table %06d has a key shorter than an internal key", level, f.FileNum)
	}
	if keys.Compare(f.Smallest, f.Largest) > 0 {
		return fmt.Errorf("L%d: table %06d has smallest %s > largest %s",
			level, f.FileNum, keys.Format(f.Smallest), keys.Format(f.Largest))
	}
	if f.SmallestSeq > f.LargestSeq {
		return fmt.Errorf("L%d: table %06d has smallest seq %d > largest seq %d",
			level, f.FileNum, f.SmallestSeq, f.LargestSeq)
	}
	return nil
}

// checkLevel checks the order (and for L1+ the disjointness) of a level.
func checkLevel(level int, files []*FileMeta) error {
	for i, f := range files {
		if err := checkFile(level, f); err != nil {
			return err
		}
		if i == 0 {
			continue
		}
		prev := files[i-1]
		if level == 0 {
			if !l0Less(prev, f) {
				return fmt.Errorf("L0: table %06d (largest seq %d) is out of order after %06d (largest seq %d)",
					f.FileNum, f.LargestSeq, prev.FileNum, prev.LargestSeq)
			}
			continue
		}
		if !prev.EndsBefore(keys.UserKey(f.Smallest)) {
			return fmt.Errorf("L%d: table %06d [%s..%s] overlaps or precedes table %06d [%s..%s]",
				level, f.FileNum, keys.Format(f.Smallest), keys.Format(f.Largest),
				prev.FileNum, keys.Format(prev.Smallest), keys.Format(prev.Largest))
		}
	}
	return nil
}

// CheckInvariants returns an error describing the first broken invariant:
// a table with a bad key range or sequence range, a file number that appears
// twice (in one level or across levels), L0 out of LargestSeq order, or L1+
// tables unsorted or overlapping in user keys.
func (v *Version) CheckInvariants() error {
	seen := make(map[uint64]int)
	for level, files := range v.Levels {
		if err := checkLevel(level, files); err != nil {
			return err
		}
		for _, f := range files {
			if l, dup := seen[f.FileNum]; dup {
				return fmt.Errorf("table %06d appears in L%d and L%d", f.FileNum, l, level)
			}
			seen[f.FileNum] = level
		}
	}
	return nil
}

// Apply returns the version that results from applying e to v: deletions
// first, then additions. v is not changed; unchanged levels share their
// slices with v and every FileMeta pointer is shared. An edit that does not
// apply returns an error wrapping ErrBadEdit. The new version has no
// references.
func (v *Version) Apply(e *VersionEdit) (*Version, error) {
	nv := &Version{Levels: v.Levels}
	var changed [NumLevels]bool
	var dels map[DeletedFile]bool
	if len(e.Deleted) > 0 {
		dels = make(map[DeletedFile]bool, len(e.Deleted))
		for _, d := range e.Deleted {
			if d.Level < 0 || d.Level >= NumLevels {
				return nil, fmt.Errorf("%w: delete of table %06d from bad level %d", ErrBadEdit, d.FileNum, d.Level)
			}
			if _, dup := dels[d]; dup {
				return nil, fmt.Errorf("%w: table %06d deleted twice from L%d", ErrBadEdit, d.FileNum, d.Level)
			}
			dels[d] = false // becomes true when found
			changed[d.Level] = true
		}
	}
	var added map[uint64]int
	if len(e.Added) > 0 {
		added = make(map[uint64]int, len(e.Added))
		for _, a := range e.Added {
			if a.Level < 0 || a.Level >= NumLevels {
				num := uint64(0)
				if a.Meta != nil {
					num = a.Meta.FileNum
				}
				return nil, fmt.Errorf("%w: table %06d added to bad level %d", ErrBadEdit, num, a.Level)
			}
			if err := checkFile(a.Level, a.Meta); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrBadEdit, err)
			}
			if _, dup := added[a.Meta.FileNum]; dup {
				return nil, fmt.Errorf("%w: table %06d added twice", ErrBadEdit, a.Meta.FileNum)
			}
			added[a.Meta.FileNum] = a.Level
			changed[a.Level] = true
		}
	}
	for level := range NumLevels {
		if !changed[level] {
			// A table added elsewhere must not already live here.
			if len(added) > 0 {
				for _, f := range v.Levels[level] {
					if _, dup := added[f.FileNum]; dup {
						return nil, fmt.Errorf("%w: table %06d added but already in L%d", ErrBadEdit, f.FileNum, level)
					}
				}
			}
			continue
		}
		old := v.Levels[level]
		files := make([]*FileMeta, 0, len(old)+len(e.Added))
		for _, f := range old {
			key := DeletedFile{Level: level, FileNum: f.FileNum}
			if _, del := dels[key]; del {
				dels[key] = true
				continue
			}
			if _, dup := added[f.FileNum]; dup {
				return nil, fmt.Errorf("%w: table %06d added but already in L%d", ErrBadEdit, f.FileNum, level)
			}
			files = append(files, f)
		}
		kept := len(files)
		for _, a := range e.Added {
			if a.Level == level {
				files = append(files, a.Meta)
			}
		}
		if len(files) > kept {
			less := levelLess
			if level == 0 {
				less = l0Less
			}
			// Kept tables are sorted; sort the new ones and merge.
			newer := files[kept:]
			sort.Slice(newer, func(i, j int) bool { return less(newer[i], newer[j]) })
			merged := make([]*FileMeta, 0, len(files))
			i, j := 0, kept
			for i < kept && j < len(files) {
				if less(files[j], files[i]) {
					merged = append(merged, files[j])
					j++
				} else {
					merged = append(merged, files[i])
					i++
				}
			}
			merged = append(merged, files[i:kept]...)
			merged = append(merged, files[j:]...)
			files = merged
		}
		if err := checkLevel(level, files); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadEdit, err)
		}
		if len(files) == 0 {
			files = nil
		}
		nv.Levels[level] = slices.Clip(files)
	}
	for d, found := range dels {
		if !found {
			return nil, fmt.Errorf("%w: delete of table %06d absent from L%d", ErrBadEdit, d.FileNum, d.Level)
		}
	}
	return nv, nil
}

// snapshotEdit returns an edit that adds every table of v: applied to an
// empty version it yields v.
func (v *Version) snapshotEdit() *VersionEdit {
	e := &VersionEdit{}
	for level, files := range v.Levels {
		for _, f := range files {
			e.Added = append(e.Added, NewFile{Level: level, Meta: f})
		}
	}
	return e
}

// String lists the levels and their tables, for kvctl and debugging.
// Empty levels are omitted.
func (v *Version) String() string {
	var b strings.Builder
	for level, files := range v.Levels {
		if len(files) == 0 {
			continue
		}
		fmt.Fprintf(&b, "L%d: %d tables, %d bytes\n", level, len(files), v.LevelSize(level))
		for _, f := range files {
			fmt.Fprintf(&b, "  %s\n", f)
		}
	}
	if b.Len() == 0 {
		return "(no tables)\n"
	}
	return b.String()
}

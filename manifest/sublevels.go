package manifest

import (
	"bytes"
	"slices"

	"github.com/stratadb/strata/keys"
)

// L0Sublevels is L0 seen as a stack of sublevels: each L0 table, taken
// oldest first (L0 order), sits one sublevel above the highest sublevel of
// an older L0 table it overlaps in user keys, or in sublevel 0 if it
// overlaps none. The tables of one sublevel do not overlap each other, so a
// sublevel is searched and iterated like a level L1+; and of two L0 tables
// that overlap, the one in the higher sublevel is the newer (it was placed
// after the other, above it). A read of one user key therefore looks at no
// more than one table per sublevel, newest sublevel first.
//
//	L0 order (oldest first): 1[a-k] 2[a-c] 3[d-f] 4[b-e] 5[m-p]
//	sublevel 2:        4[b-e]
//	sublevel 1:  2[a-c] 3[d-f]
//	sublevel 0:  1[a-k]             5[m-p]
//
// Depth, the number of sublevels, is L0's read amplification. An
// L0Sublevels is immutable once built.
type L0Sublevels struct {
	// Levels holds the tables of each sublevel (0 = the lowest, oldest),
	// sorted by smallest user key.
	Levels [][]*FileMeta
	// MaxSeq is the newest sequence number of each sublevel.
	MaxSeq []keys.SeqNum
	// Of is the sublevel of each table of the L0 slice the sublevels were
	// built from, by index.
	Of []int
	// Alone says, per table by index as Of, whether it overlaps no other
	// L0 table; Isolated counts them.
	Alone    []bool
	Isolated int
}

// Depth returns the number of sublevels (0 for an empty L0).
func (s *L0Sublevels) Depth() int { return len(s.Levels) }

// FilesOverlap reports whether the user-key ranges of a and b intersect
// (an exclusive range tombstone end does not count as a key of its table).
func FilesOverlap(a, b *FileMeta) bool {
	return !a.EndsBefore(b.SmallestUserKey()) && !b.EndsBefore(a.SmallestUserKey())
}

// ComputeL0Sublevels assigns each table of files, which must be in L0 order
// (LargestSeq ascending, oldest first), to its sublevel. It costs, per
// table, one binary search per sublevel it passes and an insertion into a
// sorted slice.
func ComputeL0Sublevels(files []*FileMeta) *L0Sublevels {
	s := &L0Sublevels{Of: make([]int, len(files)), Alone: make([]bool, len(files))}
	for i, f := range files {
		// The highest sublevel holding a table that overlaps f: nothing
		// above it overlaps f, so f goes just above it.
		sub := 0
		for l := len(s.Levels) - 1; l >= 0; l-- {
			if overlapIndex(s.Levels[l], f) >= 0 {
				sub = l + 1
				break
			}
		}
		if sub == len(s.Levels) {
			s.Levels = append(s.Levels, nil)
			s.MaxSeq = append(s.MaxSeq, 0)
		}
		lvl := s.Levels[sub]
		at := sort0(lvl, f)
		s.Levels[sub] = slices.Insert(lvl, at, f)
		s.MaxSeq[sub] = max(s.MaxSeq[sub], f.LargestSeq)
		s.Of[i] = sub
	}
	for l := range s.Levels {
		s.Levels[l] = slices.Clip(s.Levels[l])
	}
	// A sublevel-0 table overlaps no older one; it is isolated if no newer
	// one (in any higher sublevel) overlaps it either. Tables above
	// sublevel 0 overlap an older one by construction.
	for i, f := range files {
		if s.Of[i] != 0 {
			continue
		}
		alone := true
		for l := 1; l < len(s.Levels) && alone; l++ {
			alone = overlapIndex(s.Levels[l], f) < 0
		}
		if alone {
			s.Alone[i] = true
			s.Isolated++
		}
	}
	return s
}

// sort0 returns where f goes in a sublevel sorted by smallest user key.
func sort0(lvl []*FileMeta, f *FileMeta) int {
	lo, hi := 0, len(lvl)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if bytes.Compare(lvl[mid].SmallestUserKey(), f.SmallestUserKey()) < 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// overlapIndex returns the index of a table of the sublevel lvl (sorted,
// disjoint) that overlaps f, or -1.
func overlapIndex(lvl []*FileMeta, f *FileMeta) int {
	i := FindInSublevel(lvl, f.SmallestUserKey())
	if i < len(lvl) && FilesOverlap(lvl[i], f) {
		return i
	}
	return -1
}

// FindInSublevel returns the index of the first table of files (sorted by
// key, disjoint: a level L1+ or an L0 sublevel) that does not end before
// ukey, or len(files): the only table that can hold ukey.
func FindInSublevel(files []*FileMeta, ukey []byte) int {
	lo, hi := 0, len(files)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if files[mid].EndsBefore(ukey) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// L0Sublevels returns L0's sublevels, computed on the first call and kept
// with v (a Version is immutable). Safe for concurrent use: two first calls
// at once may both compute it, with the same result.
//
// (The cache is tied to the L0 slice it was built from: a test that builds
// a Version by hand and then sets Levels[0] anew gets fresh sublevels.)
func (v *Version) L0Sublevels() *L0Sublevels {
	l0 := v.Levels[0]
	if c := v.l0Sub.Load(); c != nil && len(c.files) == len(l0) && (len(l0) == 0 || &c.files[0] == &l0[0]) {
		return c.s
	}
	s := ComputeL0Sublevels(l0)
	v.l0Sub.Store(&l0Cache{files: l0, s: s})
	return s
}

// l0Cache is a Version's L0Sublevels and the L0 slice it describes.
type l0Cache struct {
	files []*FileMeta
	s     *L0Sublevels
}

// L0Depth returns the number of L0 sublevels: the L0 tables a read of one
// key may have to look at.
func (v *Version) L0Depth() int { return v.L0Sublevels().Depth() }

package compaction

import (
	"bytes"
	"slices"

	"github.com/stratadb/strata/manifest"
)

// maxL0CompactionFiles is the size of an L0 compaction, in target files
// (inputs of L0 and of the base level together), past which its key window
// stops growing; a window of one base-level table is taken whatever its
// size.
const maxL0CompactionFiles = 16

// l0Picker holds what a partial L0 pick computes once per version: each L0
// table's index and whether it may be taken.
type l0Picker struct {
	v       *manifest.Version
	l0      []*manifest.FileMeta
	sub     *manifest.L0Sublevels
	index   map[*manifest.FileMeta]int
	blocked []bool
	reason  Reason // of the compactions try builds
}

func newL0Picker(v *manifest.Version) *l0Picker {
	p := &l0Picker{v: v, l0: v.Levels[0], sub: v.L0Sublevels()}
	p.index = make(map[*manifest.FileMeta]int, len(p.l0))
	for i, f := range p.l0 {
		p.index[f] = i
	}
	// Oldest first: a table is blocked if it is busy or an older table it
	// overlaps (in a lower sublevel) is blocked, since taking it would
	// require taking that one too.
	p.blocked = make([]bool, len(p.l0))
	for i, f := range p.l0 {
		if f.Compacting {
			p.blocked[i] = true
			continue
		}
		p.older(i, func(j int) bool {
			if p.blocked[j] {
				p.blocked[i] = true
				return false
			}
			return true
		})
	}
	return p
}

// older calls fn with the index of every older L0 table that overlaps table
// i (every overlapping table of a lower sublevel), until fn returns false.
func (p *l0Picker) older(i int, fn func(j int) bool) {
	f := p.l0[i]
	for l := 0; l < p.sub.Of[i]; l++ {
		lvl := p.sub.Levels[l]
		for k := manifest.FindInSublevel(lvl, f.SmallestUserKey()); k < len(lvl) && manifest.FilesOverlap(lvl[k], f); k++ {
			if !fn(p.index[lvl[k]]) {
				return
			}
		}
	}
}

// take returns, in L0 order, the unblocked L0 tables overlapping the
// user-key window [lo, hi) (nil: unbounded) and every older table they
// overlap, transitively: the set a compaction may move below L0 while
// reads stay correct, since every L0 table left that overlaps a taken one
// is newer than it, and reads look at L0 before the base level.
func (p *l0Picker) take(lo, hi []byte) []*manifest.FileMeta {
	taken := make([]bool, len(p.l0))
	var stack []int
	for i, f := range p.l0 {
		if !p.blocked[i] && inWindow(f, lo, hi) {
			taken[i] = true
			stack = append(stack, i)
		}
	}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		p.older(i, func(j int) bool {
			if !taken[j] {
				taken[j] = true // not blocked, since i is not
				stack = append(stack, j)
			}
			return true
		})
	}
	var out []*manifest.FileMeta
	for i, f := range p.l0 {
		if taken[i] {
			out = append(out, f)
		}
	}
	return out
}

// inWindow reports whether f overlaps the user-key window [lo, hi).
func inWindow(f *manifest.FileMeta, lo, hi []byte) bool {
	if lo != nil && f.EndsBefore(lo) {
		return false
	}
	return hi == nil || bytes.Compare(f.SmallestUserKey(), hi) < 0
}

// pickL0Partial picks an L0 compaction of part of L0 for reason: the
// tables over a window of base-level tables (see the package
// documentation) with at least minDepth L0 tables over it, or, with the
// base level empty, every table that may be taken (if at least minDepth).
// It returns nil if nothing may be taken.
func pickL0Partial(v *manifest.Version, o Options, base int, running []*Compaction, reason Reason, minDepth int) *Compaction {
	if len(v.Levels[0]) == 0 {
		return nil
	}
	p := newL0Picker(v)
	p.reason = reason
	baseFiles := v.Levels[base]
	if len(baseFiles) == 0 {
		if c := p.try(o, base, nil, nil, running); c != nil && len(c.Inputs[0]) >= minDepth {
			return c
		}
		return nil
	}
	// Window w is [smallest of base table w, smallest of base table w+1),
	// the first unbounded below and the last above: flushes split at these
	// boundaries, so an L0 piece lies in one window or a few neighbours.
	n := len(baseFiles)
	bound := func(w int) (lo, hi []byte) {
		if w > 0 {
			lo = baseFiles[w].SmallestUserKey()
		}
		if w+1 < n {
			hi = baseFiles[w+1].SmallestUserKey()
		}
		return lo, hi
	}
	// Each window's depth: the unblocked L0 tables over it.
	depth := make([]int, n)
	l0Bytes := make([]uint64, n)
	for i, f := range p.l0 {
		if p.blocked[i] {
			continue
		}
		first := 0
		if k := sortSearchBase(baseFiles, f.SmallestUserKey()); k > 0 {
			first = k - 1
		}
		for w := first; w < n; w++ {
			lo, hi := bound(w)
			if lo != nil && f.EndsBefore(lo) {
				break
			}
			if inWindow(f, lo, hi) {
				depth[w]++
				l0Bytes[w] += f.Size
			}
		}
	}
	order := make([]int, 0, n)
	for w := range n {
		if depth[w] >= max(minDepth, 1) {
			order = append(order, w)
		}
	}
	// Deepest first; of equal depth, the most L0 bytes.
	slices.SortStableFunc(order, func(a, b int) int {
		if depth[a] != depth[b] {
			return depth[b] - depth[a]
		}
		switch {
		case l0Bytes[a] > l0Bytes[b]:
			return -1
		case l0Bytes[a] < l0Bytes[b]:
			return 1
		}
		return 0
	})
	limit := uint64(maxL0CompactionFiles) * uint64(max(o.TargetFileSize, 1))
	for _, w := range order {
		first, last := w, w
		lo, _ := bound(first)
		_, hi := bound(last)
		c := p.try(o, base, lo, hi, running)
		if c == nil {
			continue
		}
		// Grow the window while the compaction stays small, towards the
		// deeper neighbour.
		for c.InputBytes() < limit {
			next := -1
			if first > 0 && depth[first-1] > 0 {
				next = first - 1
			}
			if last+1 < n && depth[last+1] > 0 && (next < 0 || depth[last+1] > depth[next]) {
				next = last + 1
			}
			if next < 0 {
				break
			}
			f2, l2 := min(first, next), max(last, next)
			lo, _ := bound(f2)
			_, hi := bound(l2)
			wider := p.try(o, base, lo, hi, running)
			if wider == nil || wider.InputBytes() > limit {
				break
			}
			c, first, last = wider, f2, l2
		}
		return c
	}
	return nil
}

// sortSearchBase returns the number of base tables whose smallest user key
// is <= ukey.
func sortSearchBase(files []*manifest.FileMeta, ukey []byte) int {
	lo, hi := 0, len(files)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if bytes.Compare(files[mid].SmallestUserKey(), ukey) <= 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// try builds the compaction of the L0 tables taken for the window [lo, hi),
// or returns nil if none may be taken, a base table it needs is busy, or
// its key range meets that of a running compaction into the same level
// (their outputs would overlap there).
func (p *l0Picker) try(o Options, base int, lo, hi []byte, running []*Compaction) *Compaction {
	taken := p.take(lo, hi)
	if len(taken) == 0 {
		return nil
	}
	c := newCompaction(p.v, o, p.reason, 0, base, taken)
	if c == nil {
		return nil
	}
	clo, chi := keyRange(c.AllInputs())
	for _, r := range running {
		if r.OutputLevel != base {
			continue
		}
		rlo, rhi := keyRange(r.AllInputs())
		if bytes.Compare(clo, rhi) <= 0 && bytes.Compare(rlo, chi) <= 0 {
			return nil
		}
	}
	return c
}

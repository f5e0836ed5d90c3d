package compaction

import (
	"bytes"
	"sort"

	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/manifest"
	"github.com/stratadb/strata/rangedel"
)

// DropCovered splits off the input tables of a rewrite that a range
// tombstone of the inputs deletes entirely, for every reader: the
// compaction would read each of their entries only to drop it (Run's
// covered rule), so they can go by the MANIFEST edit alone, unread. This is
// what makes a range deletion of most of a DB give its space back for the
// price of the few tables it cuts through, not of all it covers.
//
// A table is dropped when one fragment of rdels (the tombstones of every
// input, fragmented together) spans all of its user keys, a tombstone of
// that fragment is newer than every entry of the table, and no snapshot
// lies between the table's oldest entry and the oldest such tombstone (a
// reader of that snapshot would still see the entries). A table holding
// range tombstones itself is kept: they may delete data outside the
// compaction. It returns c unchanged when nothing is dropped; otherwise a
// copy of c without the dropped tables, and the dropped tables. The caller
// still deletes every input of c, dropped ones included.
func DropCovered(c *Compaction, rdels rangedel.List, snapshots []keys.SeqNum) (*Compaction, []*manifest.FileMeta) {
	if c.Kind != KindRewrite || len(rdels) == 0 {
		return c, nil
	}
	stripe := func(seq keys.SeqNum) int {
		return sort.Search(len(snapshots), func(i int) bool { return snapshots[i] >= seq })
	}
	covered := func(f *manifest.FileMeta) bool {
		if f.NumRangeDels != 0 {
			return false
		}
		lo, hi := f.SmallestUserKey(), f.LargestUserKey()
		i := sort.Search(len(rdels), func(i int) bool { return bytes.Compare(rdels[i].End, lo) > 0 })
		if i == len(rdels) || bytes.Compare(rdels[i].Start, lo) > 0 || bytes.Compare(hi, rdels[i].End) >= 0 {
			return false
		}
		seqs := rdels[i].Seqs // descending
		// The oldest tombstone newer than every entry of the table.
		j := sort.Search(len(seqs), func(j int) bool { return seqs[j] <= f.LargestSeq }) - 1
		return j >= 0 && stripe(seqs[j]) == stripe(f.SmallestSeq)
	}
	var dropped []*manifest.FileMeta
	var kept [2][]*manifest.FileMeta
	for i, in := range c.Inputs {
		for _, f := range in {
			if covered(f) {
				dropped = append(dropped, f)
			} else {
				kept[i] = append(kept[i], f)
			}
		}
	}
	if len(dropped) == 0 {
		return c, nil
	}
	out := *c
	out.Inputs = kept
	return &out, dropped
}

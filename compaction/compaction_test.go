package compaction

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/manifest"
	"github.com/stratadb/strata/rangedel"
)

// entry is an input entry of a test compaction.
type entry struct {
	ukey  string
	seq   keys.SeqNum
	kind  keys.Kind
	value string
}

type sliceIter struct {
	ks, vs [][]byte
	pos    int
}

func newSliceIter(es []entry) *sliceIter {
	sort.Slice(es, func(i, j int) bool {
		return keys.Compare(keys.MakeKey(nil, []byte(es[i].ukey), es[i].seq, es[i].kind),
			keys.MakeKey(nil, []byte(es[j].ukey), es[j].seq, es[j].kind)) < 0
	})
	it := &sliceIter{pos: -1}
	for _, e := range es {
		it.ks = append(it.ks, keys.MakeKey(nil, []byte(e.ukey), e.seq, e.kind))
		it.vs = append(it.vs, []byte(e.value))
	}
	return it
}

func (s *sliceIter) SeekGE([]byte) bool { panic("unused") }
func (s *sliceIter) SeekLT([]byte) bool { panic("unused") }
func (s *sliceIter) First() bool        { s.pos = 0; return s.Valid() }
func (s *sliceIter) Last() bool         { s.pos = len(s.ks) - 1; return s.Valid() }
func (s *sliceIter) Next() bool         { s.pos++; return s.Valid() }
func (s *sliceIter) Prev() bool         { s.pos--; return s.Valid() }
func (s *sliceIter) Valid() bool        { return s.pos >= 0 && s.pos < len(s.ks) }
func (s *sliceIter) Key() []byte        { return s.ks[s.pos] }
func (s *sliceIter) Value() []byte      { return s.vs[s.pos] }
func (s *sliceIter) Error() error       { return nil }
func (s *sliceIter) Close() error       { return nil }

// memOutput records what a compaction writes.
type memOutput struct {
	entries []string
	size    uint64
	sink    *[][]string
	num     uint64
	first   []byte
	last    []byte
}

func (m *memOutput) Add(ikey, value []byte) error {
	p, _ := keys.Parse(ikey)
	m.entries = append(m.entries, fmt.Sprintf("%s#%d%s=%s", p.UserKey, p.Seq, p.Kind, value))
	m.size += uint64(len(ikey) + len(value))
	if m.first == nil {
		m.first = append([]byte{}, ikey...)
	}
	m.last = append(m.last[:0], ikey...)
	return nil
}
func (m *memOutput) EstimatedSize() uint64 { return m.size }
func (m *memOutput) SetRangeDels(l rangedel.List) error {
	for _, f := range l {
		m.entries = append(m.entries, fmt.Sprintf("[%s,%s)%v", f.Start, f.End, f.Seqs))
	}
	return nil
}
func (m *memOutput) Abort() {}
func (m *memOutput) Finish() (*manifest.FileMeta, error) {
	*m.sink = append(*m.sink, m.entries)
	return &manifest.FileMeta{FileNum: m.num, Size: m.size, Smallest: m.first, Largest: m.last}, nil
}

func run(t *testing.T, c *Compaction, es []entry, env Env) ([][]string, Result) {
	t.Helper()
	var tables [][]string
	n := uint64(100)
	env.NewOutput = func() (Output, error) { n++; return &memOutput{sink: &tables, num: n}, nil }
	if c == nil {
		c = &Compaction{Level: 1, OutputLevel: 2, MaxOutputSize: 1 << 30, MaxGrandparentOverlap: 1 << 30}
	}
	res, err := Run(c, newSliceIter(es), env)
	require.NoError(t, err)
	return tables, res
}

func flat(tables [][]string) string {
	var all []string
	for _, t := range tables {
		all = append(all, t...)
	}
	return strings.Join(all, " ")
}

func TestRunKeepsNewestVersionPerSnapshotStripe(t *testing.T) {
	es := []entry{
		{"a", 9, keys.KindSet, "a9"}, {"a", 7, keys.KindSet, "a7"}, {"a", 5, keys.KindSet, "a5"},
		{"a", 3, keys.KindSet, "a3"}, {"a", 1, keys.KindSet, "a1"},
		{"b", 2, keys.KindSet, "b2"},
	}
	tables, res := run(t, nil, es, Env{})
	require.Equal(t, "a#9SET=a9 b#2SET=b2", flat(tables), "no snapshots: newest only")
	require.Equal(t, int64(4), res.ShadowedDropped)

	tables, _ = run(t, nil, es, Env{Snapshots: []keys.SeqNum{4, 7}})
	require.Equal(t, "a#9SET=a9 a#7SET=a7 a#3SET=a3 b#2SET=b2", flat(tables),
		"snapshot 7 sees a7, snapshot 4 sees a3")
}

func TestRunDropsTombstonesOnlyWhereNothingOlderIsBelow(t *testing.T) {
	es := []entry{{"a", 5, keys.KindDelete, ""}, {"a", 3, keys.KindSet, "old"}, {"b", 4, keys.KindDelete, ""}}
	// Nothing below the output level: both tombstones and what they hide go.
	v := &manifest.Version{}
	tables, res := run(t, nil, es, Env{Version: v})
	require.Equal(t, "", flat(tables))
	require.Equal(t, int64(2), res.TombstonesDropped)

	// A table below holds "a": its tombstone must stay, b's may go.
	v.Levels[4] = []*manifest.FileMeta{{FileNum: 1, Smallest: keys.MakeKey(nil, []byte("a"), 1, keys.KindSet), Largest: keys.MakeKey(nil, []byte("a"), 1, keys.KindSet)}}
	tables, _ = run(t, nil, es, Env{Version: v})
	require.Equal(t, "a#5DEL=", flat(tables))

	// A snapshot between the tombstone and the value keeps both.
	v.Levels[4] = nil
	tables, _ = run(t, nil, es, Env{Version: v, Snapshots: []keys.SeqNum{4}})
	require.Equal(t, "a#5DEL= a#3SET=old", flat(tables))
}

func TestRunRewritesExpiredValuesAsTombstones(t *testing.T) {
	exp := func(at int64, v string) string { return string(keys.AppendExpiryValue(nil, at, []byte(v))) }
	es := []entry{
		{"a", 5, keys.KindSetExpiry, exp(100, "gone")}, {"a", 3, keys.KindSet, "shadowed"},
		{"b", 4, keys.KindSetExpiry, exp(300, "live")},
	}
	v := &manifest.Version{}
	v.Levels[5] = []*manifest.FileMeta{{FileNum: 1, Smallest: keys.MakeKey(nil, []byte("a"), 1, keys.KindSet), Largest: keys.MakeKey(nil, []byte("a"), 1, keys.KindSet)}}
	tables, res := run(t, nil, es, Env{Version: v, Now: 200})
	require.Equal(t, "a#5DEL= b#4SETX="+exp(300, "live"), flat(tables), "the expired value still shadows what is below")
	require.Equal(t, int64(1), res.ExpiredRewritten)

	v.Levels[5] = nil
	tables, _ = run(t, nil, es, Env{Version: v, Now: 200})
	require.Equal(t, "b#4SETX="+exp(300, "live"), flat(tables), "at the bottom the expired key disappears")
}

// TestRunReportsEntriesItCannotJudge: an entry whose kind is no point
// entry's, or an expiring value without its expiry, fails the compaction
// with a corruption error naming the input tables, instead of being
// written out (an unknown kind) or read as a deletion.
func TestRunReportsEntriesItCannotJudge(t *testing.T) {
	c := &Compaction{Level: 1, OutputLevel: 2, MaxOutputSize: 1 << 30, MaxGrandparentOverlap: 1 << 30}
	c.Inputs[0] = []*manifest.FileMeta{{FileNum: 12}}
	c.Inputs[1] = []*manifest.FileMeta{{FileNum: 9}, {FileNum: 10}}
	for _, bad := range []entry{
		{"b", 4, 7, "v"},
		{"b", 4, keys.KindRangeDelete, "end"},
		{"b", 4, keys.KindSetExpiry, "short"},
	} {
		es := []entry{{"a", 5, keys.KindSet, "a"}, bad, {"c", 3, keys.KindSet, "c"}}
		n := uint64(100)
		var tables [][]string
		_, err := Run(c, newSliceIter(es), Env{NewOutput: func() (Output, error) { n++; return &memOutput{sink: &tables, num: n}, nil }})
		require.ErrorIs(t, err, keys.ErrCorruption, "kind %s", bad.kind)
		require.Contains(t, err.Error(), "000012.sst, 000009.sst, 000010.sst", "kind %s", bad.kind)
		require.Contains(t, err.Error(), "key b", "kind %s", bad.kind)
		require.Empty(t, tables, "kind %s: nothing is written", bad.kind)
	}
}

func TestRunSplitsOutputsBetweenUserKeys(t *testing.T) {
	var es []entry
	for i := 0; i < 50; i++ {
		k := fmt.Sprintf("k%02d", i)
		es = append(es, entry{k, keys.SeqNum(100 + i), keys.KindSet, "xxxxxxxxxx"}, entry{k, keys.SeqNum(i + 1), keys.KindSet, "yyyyyyyyyy"})
	}
	c := &Compaction{Level: 1, OutputLevel: 2, MaxOutputSize: 60, MaxGrandparentOverlap: 1 << 30}
	tables, _ := run(t, c, es, Env{Snapshots: []keys.SeqNum{60}})
	require.Greater(t, len(tables), 5)
	seen := map[string]int{}
	for i, tbl := range tables {
		for _, e := range tbl {
			k := e[:3]
			if j, ok := seen[k]; ok {
				require.Equal(t, i, j, "user key %s split across outputs", k)
			}
			seen[k] = i
		}
	}
	require.Len(t, seen, 50)
}

func fm(num uint64, lo, hi string, size uint64) *manifest.FileMeta {
	return &manifest.FileMeta{FileNum: num, Size: size,
		Smallest: keys.MakeKey(nil, []byte(lo), 1, keys.KindSet), Largest: keys.MakeKey(nil, []byte(hi), 1, keys.KindSet)}
}

func TestTargetsGrowUpwardFromTheBottom(t *testing.T) {
	o := Options{L0Trigger: 4, LevelMultiplier: 10, BaseLevelSize: 64, TargetFileSize: 8}
	v := &manifest.Version{}
	base, _ := Targets(v, o)
	require.Equal(t, Bottom, base, "an empty DB compacts L0 straight to the bottom")

	v.Levels[6] = []*manifest.FileMeta{fm(1, "a", "z", 6400)}
	base, targets := Targets(v, o)
	require.Equal(t, 4, base)
	require.Equal(t, int64(6400), targets[6])
	require.Equal(t, int64(640), targets[5])
	require.Equal(t, int64(64), targets[4])
}

func TestPickPrefersL0AndTrivialMoves(t *testing.T) {
	o := Options{L0Trigger: 2, LevelMultiplier: 10, BaseLevelSize: 1000, TargetFileSize: 100}
	require.Nil(t, Pick(&manifest.Version{}, o))
	v := &manifest.Version{}
	v.Levels[0] = []*manifest.FileMeta{fm(1, "a", "c", 10), fm(2, "b", "d", 10)}
	c := Pick(v, o)
	require.NotNil(t, c)
	require.Equal(t, 0, c.Level)
	require.Equal(t, Bottom, c.OutputLevel)
	require.Len(t, c.Inputs[0], 2)
	require.Equal(t, KindRewrite, c.Kind)

	// Busy inputs are never picked twice, nor the newer tables over them.
	v.Levels[0][0].Compacting = true
	require.Nil(t, Pick(v, o))
	v.Levels[0][0].Compacting = false

	// One L0 table overlapping nothing moves.
	v = &manifest.Version{}
	v.Levels[0] = []*manifest.FileMeta{fm(3, "x", "y", 10)}
	o.L0Trigger = 1
	v.Levels[6] = []*manifest.FileMeta{fm(4, "a", "m", 10)}
	c = Pick(v, o)
	require.NotNil(t, c)
	require.Equal(t, KindMove, c.Kind)
	require.Equal(t, ReasonL0, c.Reason)

	// L0 tables side by side (a sequential load's flushes) move together;
	// one overlap among them, or with the level below, makes a rewrite.
	o.L0Trigger = 3
	v = &manifest.Version{Levels: v.Levels}
	v.Levels[0] = []*manifest.FileMeta{fm(7, "u", "v", 10), fm(5, "n", "p", 10), fm(6, "q", "t", 10)}
	c = Pick(v, o)
	require.NotNil(t, c)
	require.Equal(t, KindMove, c.Kind)
	require.Len(t, c.Inputs[0], 3)
	require.Empty(t, c.Inputs[1])
	// (A Version is immutable: each change makes a new one.)
	o.L0Trigger = 2
	v = &manifest.Version{Levels: v.Levels}
	v.Levels[0] = []*manifest.FileMeta{fm(7, "u", "v", 10), fm(5, "n", "p", 10), fm(6, "p", "t", 10)} // 6 shares "p" with table 5
	require.Equal(t, KindRewrite, Pick(v, o).Kind)
	v = &manifest.Version{Levels: v.Levels}
	v.Levels[0] = []*manifest.FileMeta{fm(7, "u", "v", 10), fm(5, "n", "p", 10), fm(6, "q", "t", 10)}
	v.Levels[6] = []*manifest.FileMeta{fm(4, "a", "m", 10), fm(8, "r", "s", 10)}
	c = Pick(v, o)
	require.Equal(t, KindRewrite, c.Kind, "table 6 overlaps table 8 below")
	require.Len(t, c.Inputs[1], 1)
}

func TestWidenTakesNeighboursSharingAUserKey(t *testing.T) {
	v := &manifest.Version{}
	v.Levels[3] = []*manifest.FileMeta{fm(1, "a", "c", 10), fm(2, "c", "e", 10), fm(3, "f", "g", 10)}
	got := widen(v, 3, []*manifest.FileMeta{v.Levels[3][1]})
	require.Len(t, got, 2)
	require.Equal(t, uint64(1), got[0].FileNum)
}

func TestPickTTLFindsExpiredTables(t *testing.T) {
	o := Options{L0Trigger: 4, LevelMultiplier: 10, BaseLevelSize: 1000, TargetFileSize: 100}
	v := &manifest.Version{}
	f := fm(1, "a", "b", 10)
	f.LatestExpiry = 500
	v.Levels[6] = []*manifest.FileMeta{f}
	require.Nil(t, PickTTL(v, o, 499))
	c := PickTTL(v, o, 500)
	require.NotNil(t, c)
	require.Equal(t, Bottom, c.OutputLevel)
	require.Equal(t, KindRewrite, c.Kind)
}

func TestL0NeverCompactsPastALevelWithData(t *testing.T) {
	o := Options{L0Trigger: 1, LevelMultiplier: 10, BaseLevelSize: 100, TargetFileSize: 100}
	v := &manifest.Version{}
	// A small bottom (base level would be L6) but data left in L4.
	v.Levels[6] = []*manifest.FileMeta{fm(1, "a", "z", 150)}
	v.Levels[4] = []*manifest.FileMeta{fm(2, "c", "d", 50)}
	v.Levels[0] = []*manifest.FileMeta{fm(3, "c", "c", 10)}
	base, targets := Targets(v, o)
	require.Equal(t, 4, base)
	c := pickL0(v, o, base, ReasonL0)
	require.NotNil(t, c)
	require.Equal(t, 4, c.OutputLevel, "L0 must land above the older data in L4")
	// L4 holds more than its target, so it drains toward L6 first.
	require.Greater(t, float64(v.LevelSize(4)), float64(targets[4]))
	c = Pick(v, o)
	require.NotNil(t, c)
	require.Equal(t, 4, c.Level)
	require.Equal(t, 5, c.OutputLevel)
}

// TestHugeTargetFileSizeDoesNotOverflow: the grandparent bound is ten target
// files; with TargetFileSize near math.MaxInt64 the product used to wrap to
// a negative bound, so no move was trivial and every key split an output.
func TestHugeTargetFileSizeDoesNotOverflow(t *testing.T) {
	for _, size := range []int64{math.MaxInt64, math.MaxInt64 / 10, math.MaxInt64/10 + 1, 1 << 62} {
		o := Options{L0Trigger: 4, LevelMultiplier: 10, BaseLevelSize: 100, TargetFileSize: size}
		v := &manifest.Version{}
		v.Levels[4] = []*manifest.FileMeta{fm(1, "a", "b", 10)}
		v.Levels[6] = []*manifest.FileMeta{fm(2, "a", "z", 100)}
		c := newCompaction(v, o, ReasonSize, 4, 5, v.Levels[4])
		require.NotNil(t, c)
		require.GreaterOrEqual(t, c.MaxGrandparentOverlap, size, "TargetFileSize %d", size)
		require.Equal(t, KindMove, c.Kind, "TargetFileSize %d", size)
	}
}

func rdList(spec ...any) rangedel.List {
	var ts []rangedel.Tombstone
	for i := 0; i < len(spec); i += 3 {
		ts = append(ts, rangedel.Tombstone{Start: []byte(spec[i].(string)), End: []byte(spec[i+1].(string)), Seq: keys.SeqNum(spec[i+2].(int))})
	}
	return rangedel.Build(ts)
}

func TestRunRangeDels(t *testing.T) {
	es := []entry{
		{"a", 1, keys.KindSet, "a1"}, {"c", 2, keys.KindSet, "c2"}, {"c", 8, keys.KindSet, "c8"},
		{"d", 3, keys.KindSet, "d3"}, {"g", 4, keys.KindSet, "g4"},
	}
	rd := rdList("b", "f", 5)
	cases := []struct {
		name  string
		env   Env
		below bool // a table below the output level overlaps the tombstone
		want  string
	}{
		{"bottom, no snapshot: covered keys and the tombstone go", Env{}, false, "a#1SET=a1 c#8SET=c8 g#4SET=g4"},
		{"data below: the tombstone stays", Env{}, true, "a#1SET=a1 c#8SET=c8 g#4SET=g4 [b,f)[5]"},
		{"snapshot 3 sees c2 and d3: everything stays", Env{Snapshots: []keys.SeqNum{3}}, false,
			"a#1SET=a1 c#8SET=c8 c#2SET=c2 d#3SET=d3 g#4SET=g4 [b,f)[5]"},
		{"snapshot 6 sees the tombstone too", Env{Snapshots: []keys.SeqNum{6}}, false, "a#1SET=a1 c#8SET=c8 g#4SET=g4"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := &manifest.Version{}
			if c.below {
				v.Levels[5] = []*manifest.FileMeta{{FileNum: 1, Smallest: keys.MakeKey(nil, []byte("e"), 1, keys.KindSet), Largest: keys.MakeKey(nil, []byte("e"), 1, keys.KindSet)}}
			}
			c.env.Version, c.env.RangeDels = v, rd
			tables, _ := run(t, nil, es, c.env)
			require.Equal(t, c.want, flat(tables))
		})
	}
}

// A tombstone spanning an output split is cut there: each output holds the
// part within its own key range.
func TestRunRangeDelsSplitAtOutputs(t *testing.T) {
	var es []entry
	for i := 0; i < 6; i++ {
		es = append(es, entry{string(rune('a' + 2*i)), 10, keys.KindSet, "v"})
	}
	c := &Compaction{Level: 1, OutputLevel: 2, MaxOutputSize: 1, MaxGrandparentOverlap: 1 << 30}
	v := &manifest.Version{}
	v.Levels[5] = []*manifest.FileMeta{{FileNum: 1, Smallest: keys.MakeKey(nil, []byte("a"), 1, keys.KindSet), Largest: keys.MakeKey(nil, []byte("z"), 1, keys.KindSet)}}
	tables, _ := run(t, c, es, Env{Version: v, RangeDels: rdList("b", "f", 5, "j", "q", 6)})
	var got []string
	for _, tb := range tables {
		got = append(got, strings.Join(tb, " "))
	}
	require.Equal(t, []string{
		"a#10SET=v [b,c)[5]",
		"c#10SET=v [c,e)[5]",
		"e#10SET=v [e,f)[5]",
		"g#10SET=v",
		"i#10SET=v [j,k)[6]",
		"k#10SET=v [k,q)[6]",
	}, got)
	// Tombstones past the last key, or alone, still get a table.
	tables, _ = run(t, nil, nil, Env{Version: v, RangeDels: rdList("x", "y", 3)})
	require.Equal(t, "[x,y)[3]", flat(tables))
}

// TestDropCovered: the input tables a tombstone of the inputs deletes whole,
// for every reader, are split off unread; every other table stays an input.
func TestDropCovered(t *testing.T) {
	table := func(num uint64, lo, hi string, minSeq, maxSeq int) *manifest.FileMeta {
		f := fm(num, lo, hi, 100)
		f.SmallestSeq, f.LargestSeq = keys.SeqNum(minSeq), keys.SeqNum(maxSeq)
		return f
	}
	withRangeDels := func(f *manifest.FileMeta) *manifest.FileMeta { f.NumRangeDels = 1; return f }
	for _, tc := range []struct {
		name    string
		inputs  [2][]*manifest.FileMeta
		rdels   rangedel.List
		snaps   []keys.SeqNum
		dropped []uint64
	}{
		{"wholly inside an older tombstone's range, newer tombstone",
			[2][]*manifest.FileMeta{{withRangeDels(table(1, "a", "z", 90, 90))}, {table(2, "b", "c", 1, 10), table(3, "d", "f", 11, 20), table(4, "x", "y", 21, 30)}},
			rdList("a", "g", 90), nil, []uint64{2, 3}},
		{"cut by the tombstone's end (exclusive)",
			[2][]*manifest.FileMeta{{withRangeDels(table(1, "a", "z", 90, 90))}, {table(2, "b", "g", 1, 10)}},
			rdList("a", "g", 90), nil, nil},
		{"starts before the tombstone",
			[2][]*manifest.FileMeta{{withRangeDels(table(1, "a", "z", 90, 90))}, {table(2, "a", "c", 1, 10)}},
			rdList("b", "g", 90), nil, nil},
		{"an entry newer than the tombstone",
			[2][]*manifest.FileMeta{{withRangeDels(table(1, "a", "z", 50, 50))}, {table(2, "b", "c", 40, 60)}},
			rdList("a", "g", 50), nil, nil},
		{"a snapshot still sees the entries",
			[2][]*manifest.FileMeta{{withRangeDels(table(1, "a", "z", 90, 90))}, {table(2, "b", "c", 1, 10), table(3, "d", "f", 11, 20)}},
			rdList("a", "g", 90), []keys.SeqNum{15}, []uint64{}},
		{"a snapshot older than the table does not",
			[2][]*manifest.FileMeta{{withRangeDels(table(1, "a", "z", 90, 90))}, {table(2, "b", "c", 20, 30)}},
			rdList("a", "g", 90), []keys.SeqNum{15}, []uint64{2}},
		{"an older tombstone of the fragment newer than the table decides",
			[2][]*manifest.FileMeta{{withRangeDels(table(1, "a", "z", 40, 90))}, {table(2, "b", "c", 20, 30)}},
			rdList("a", "g", 90, "a", "g", 40), []keys.SeqNum{50}, []uint64{2}},
		{"a table with range tombstones of its own",
			[2][]*manifest.FileMeta{{withRangeDels(table(1, "a", "z", 90, 90))}, {withRangeDels(table(2, "b", "c", 1, 10))}},
			rdList("a", "g", 90), nil, nil},
		{"spanning two fragments",
			[2][]*manifest.FileMeta{{withRangeDels(table(1, "a", "z", 90, 90))}, {table(2, "b", "e", 1, 10)}},
			rdList("a", "g", 90, "d", "g", 80), nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Compaction{Kind: KindRewrite, Level: 0, OutputLevel: 6, Inputs: tc.inputs}
			run, dropped := DropCovered(c, tc.rdels, tc.snaps)
			var got []uint64
			for _, f := range dropped {
				got = append(got, f.FileNum)
			}
			require.ElementsMatch(t, tc.dropped, got)
			if len(dropped) == 0 {
				require.Same(t, c, run)
				return
			}
			require.Equal(t, len(c.AllInputs()), len(run.AllInputs())+len(dropped))
			for _, f := range run.AllInputs() {
				require.NotContains(t, got, f.FileNum)
			}
			require.Len(t, c.AllInputs(), len(tc.inputs[0])+len(tc.inputs[1]), "c itself is unchanged")
		})
	}
	// A move reads nothing anyway.
	mv := &Compaction{Kind: KindMove, Inputs: [2][]*manifest.FileMeta{{table(2, "b", "c", 1, 10)}}}
	run, dropped := DropCovered(mv, rdList("a", "g", 90), nil)
	require.Same(t, mv, run)
	require.Empty(t, dropped)
}

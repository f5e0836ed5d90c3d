package memtable

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/keys"
)

// entry is one model entry: an internal key and its value.
type entry struct {
	ikey  []byte
	value []byte
}

// model is the sorted reference the memtable is checked against.
type model []entry

func (md model) sort() {
	sort.Slice(md, func(i, j int) bool { return keys.Compare(md[i].ikey, md[j].ikey) < 0 })
}

// seekGE returns the index of the first entry >= sk (len(md) if none). A
// search key shorter than a trailer stands for a bare user key, before all
// its versions.
func (md model) seekGE(sk []byte) int {
	if len(sk) < keys.TrailerLen {
		return sort.Search(len(md), func(i int) bool { return bytes.Compare(keys.UserKey(md[i].ikey), sk) >= 0 })
	}
	return sort.Search(len(md), func(i int) bool { return keys.Compare(md[i].ikey, sk) >= 0 })
}

// versions indexes the model by user key, for get.
func (md model) versions() map[string]model {
	byKey := make(map[string]model)
	for _, e := range md {
		k := string(keys.UserKey(e.ikey))
		byKey[k] = append(byKey[k], e)
	}
	return byKey
}

// get returns the newest version of ukey with seq <= seq, by a scan of the
// versions of ukey (vs from model.versions) for the largest trailer.
func get(vs map[string]model, ukey []byte, seq keys.SeqNum) (entry, bool) {
	var best entry
	var bestT uint64
	found := false
	for _, e := range vs[string(ukey)] {
		p, _ := keys.Parse(e.ikey)
		if p.Seq > seq {
			continue
		}
		if t := keys.TrailerOf(e.ikey); !found || t > bestT {
			best, bestT, found = e, t, true
		}
	}
	return best, found
}

var alphabet = []byte{0x00, 0x01, 'a', 'b', 0xFE, 0xFF}

// stemLens are lengths of a shared stem some random keys start with: keys
// that share long prefixes, around the longest a link tag records (63).
var stemLens = []int{5, 60, 61, 62, 63, 64, 66}

func randUserKey(r *rand.Rand) []byte {
	var b []byte
	if r.IntN(3) == 0 {
		b = bytes.Repeat([]byte{'a'}, stemLens[r.IntN(len(stemLens))])
	}
	for range r.IntN(5) { // includes the empty key
		b = append(b, alphabet[r.IntN(len(alphabet))])
	}
	return b
}

func randBytes(r *rand.Rand, maxLen int) []byte {
	b := make([]byte, r.IntN(maxLen+1))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// iterForward collects every entry from First to the end.
func iterForward(it *Iterator) model {
	var got model
	for ok := it.First(); ok; ok = it.Next() {
		got = append(got, entry{it.Key(), it.Value()})
	}
	return got
}

// iterBackward collects every entry from Last to the start, then reverses.
func iterBackward(it *Iterator) model {
	var got model
	for ok := it.Last(); ok; ok = it.Prev() {
		got = append(got, entry{it.Key(), it.Value()})
	}
	slices.Reverse(got)
	return got
}

func requireSameEntries(t *testing.T, want, got model, msg string) {
	t.Helper()
	require.Equal(t, len(want), len(got), msg)
	for i := range want {
		if bytes.Equal(want[i].ikey, got[i].ikey) && bytes.Equal(want[i].value, got[i].value) {
			continue // fast path; require below reports the difference
		}
		require.Equal(t, want[i].ikey, got[i].ikey, "%s: entry %d", msg, i)
		require.Equal(t, want[i].value, got[i].value, "%s: value of %s", msg, keys.Format(want[i].ikey))
	}
}

// randSearchKey returns a search key near the model's keys: an existing key,
// a random internal key, or a key too short to hold a trailer.
func randSearchKey(r *rand.Rand, md model, maxSeq keys.SeqNum) []byte {
	switch r.IntN(4) {
	case 0:
		if len(md) > 0 {
			return md[r.IntN(len(md))].ikey
		}
	case 1:
		return randBytes(r, keys.TrailerLen-1)
	}
	return keys.MakeKey(nil, randUserKey(r), keys.SeqNum(r.Uint64N(uint64(maxSeq)+2)), keys.Kind(r.IntN(3)))
}

// checkAgainstModel verifies full scans, seeks with random walks and Gets.
func checkAgainstModel(t *testing.T, r *rand.Rand, m *Memtable, md model, maxSeq keys.SeqNum) {
	t.Helper()
	require.Equal(t, int64(len(md)), m.Count())
	require.Equal(t, len(md) == 0, m.Empty())
	it := m.NewIter()
	defer func() { require.NoError(t, it.Close()) }()
	requireSameEntries(t, md, iterForward(it), "forward scan")
	requireSameEntries(t, md, iterBackward(it), "backward scan")

	for range 300 {
		sk := randSearchKey(r, md, maxSeq)
		var i int
		var ok bool
		if r.IntN(2) == 0 {
			i, ok = md.seekGE(sk), it.SeekGE(sk)
		} else {
			i, ok = md.seekGE(sk)-1, it.SeekLT(sk)
		}
		for step := 0; ; step++ {
			valid := i >= 0 && i < len(md)
			if valid != ok || valid != it.Valid() {
				t.Fatalf("seek %x step %d: valid %v, want %v", sk, step, ok, valid)
			}
			if !valid {
				require.Nil(t, it.Key())
				require.Nil(t, it.Value())
				require.False(t, it.Next())
				require.False(t, it.Prev())
				break
			}
			if !bytes.Equal(md[i].ikey, it.Key()) || !bytes.Equal(md[i].value, it.Value()) {
				t.Fatalf("seek %x step %d: at %s = %x, want %s = %x", sk, step,
					keys.Format(it.Key()), it.Value(), keys.Format(md[i].ikey), md[i].value)
			}
			if step == 20 {
				break
			}
			if r.IntN(2) == 0 {
				i, ok = i+1, it.Next()
			} else {
				i, ok = i-1, it.Prev()
			}
		}
	}

	checkGets(t, r, m, md, maxSeq)
}

// checkGets compares 300 Gets of random keys (mostly present ones) at random
// sequence numbers with the model.
func checkGets(t *testing.T, r *rand.Rand, m *Memtable, md model, maxSeq keys.SeqNum) {
	t.Helper()
	vs := md.versions()
	for range 300 {
		var ukey []byte
		if len(md) > 0 && r.IntN(4) != 0 {
			ukey = keys.UserKey(md[r.IntN(len(md))].ikey)
		} else {
			ukey = randUserKey(r)
		}
		seq := keys.SeqNum(r.Uint64N(uint64(maxSeq) + 2))
		want, wantOK := get(vs, ukey, seq)
		kind, value, ok := m.Get(ukey, seq)
		require.Equal(t, wantOK, ok, "Get(%x, %d)", ukey, seq)
		if ok {
			p, _ := keys.Parse(want.ikey)
			require.Equal(t, p.Kind, kind)
			require.True(t, bytes.Equal(want.value, value), "Get(%x, %d) = %x", ukey, seq, value)
		}
	}
}

// modelSize returns how many seeds a model test runs and how many entries
// it adds per round.
func modelSize() (seeds, perRound int) {
	if testing.Short() {
		return 2, 300
	}
	return 6, 800
}

// nextEntry draws a random entry: a user key, a kind, and usually a new
// sequence number (sometimes the same one, for another key or kind), with
// the internal key they make.
func nextEntry(r *rand.Rand, seq *keys.SeqNum) (ukey []byte, kind keys.Kind, ikey []byte) {
	if r.IntN(3) != 0 {
		*seq += keys.SeqNum(1 + r.IntN(3))
	}
	ukey, kind = randUserKey(r), keys.Kind(r.IntN(3))
	return ukey, kind, keys.MakeKey(nil, ukey, *seq, kind)
}

// TestModel inserts random entries in several rounds and checks iteration,
// seeks, walks and Gets against a sorted model after each round.
func TestModel(t *testing.T) {
	seeds, perRound := modelSize()
	for seed := range seeds {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(seed), 42))
			m := New(1 << 20)
			var md model
			var seq keys.SeqNum
			checkAgainstModel(t, r, m, md, seq)
			for range 4 {
				for range perRound {
					ukey, kind, ikey := nextEntry(r, &seq)
					i := md.seekGE(ikey)
					if i < len(md) && bytes.Equal(md[i].ikey, ikey) {
						size := m.Size()
						require.ErrorIs(t, m.Add(ukey, seq, kind, []byte("other")), ErrDuplicateKey)
						require.Equal(t, size, m.Size())
						continue
					}
					value := randBytes(r, 24)
					require.NoError(t, m.Add(ukey, seq, kind, value))
					md = slices.Insert(md, i, entry{ikey, value})
				}
				checkAgainstModel(t, r, m, md, seq)
			}
		})
	}
}

// TestErrFull fills minimum-size arenas until nothing fits: a rejected entry
// changes nothing, every accepted entry uses at most EntrySize bytes,
// smaller entries still fit after a larger one was rejected, and everything
// accepted stays readable. Each run uses another large-value size, so the
// room left at the first rejection varies.
func TestErrFull(t *testing.T) {
	smallAfterReject := 0
	for run := range 12 {
		smallAfterReject += fillUntilFull(t, uint64(run), 1000+run)
	}
	require.Positive(t, smallAfterReject, "no run left room for a small entry after a rejection")
}

// fillUntilFull runs one TestErrFull case: entries with a random key of up
// to 40 bytes and a value of valueLen bytes until one is rejected, then empty entries until
// they are too. It returns the number of empty entries that fitted.
func fillUntilFull(t *testing.T, seed uint64, valueLen int) int {
	r := rand.New(rand.NewPCG(seed, 7))
	m := New(0)
	m.list.rng.Seed(seed, 4) // reproducible tower heights
	require.Equal(t, int64(minCapacity), m.Capacity())
	var md model
	seq := keys.SeqNum(0)
	add := func(ukey, value []byte) error {
		seq++
		before, count := m.Size(), m.Count()
		err := m.Add(ukey, seq, keys.KindSet, value)
		used := m.Size() - before
		if err != nil {
			require.ErrorIs(t, err, ErrFull)
			require.Zero(t, used, "a rejected entry must not use space")
			require.Equal(t, count, m.Count())
			require.Greater(t, EntrySize(len(ukey), len(value)), m.Capacity()-before,
				"ErrFull although the worst case fits")
			return err
		}
		require.LessOrEqual(t, used, EntrySize(len(ukey), len(value)))
		require.GreaterOrEqual(t, used, nodeSize(1, int64(len(ukey))+keys.TrailerLen)+int64(len(value)))
		nodes, _ := m.list.arena.usage()
		require.Zero(t, nodes%align, "nodes stay aligned")
		md = append(md, entry{keys.MakeKey(nil, ukey, seq, keys.KindSet), value})
		return nil
	}
	for add(randBytes(r, 40), bytes.Repeat([]byte{byte(seq)}, valueLen)) == nil {
	}
	room := m.Capacity() - m.Size()
	small := 0
	for add(nil, nil) == nil {
		small++
	}
	if room >= EntrySize(0, 0) {
		require.GreaterOrEqual(t, int64(small), room/EntrySize(0, 0), "room %d", room)
	}
	require.LessOrEqual(t, m.Size(), m.Capacity())
	require.Less(t, m.Capacity()-m.Size(), EntrySize(0, 0))
	require.ErrorIs(t, m.Add([]byte("x"), seq+1, keys.KindSet, make([]byte, 1<<20)), ErrFull)

	md.sort()
	it := m.NewIter()
	requireSameEntries(t, md, iterForward(it), "forward scan after ErrFull")
	requireSameEntries(t, md, iterBackward(it), "backward scan after ErrFull")
	for _, e := range md {
		p, _ := keys.Parse(e.ikey)
		kind, value, ok := m.Get(p.UserKey, p.Seq)
		require.True(t, ok)
		require.Equal(t, keys.KindSet, kind)
		require.True(t, bytes.Equal(e.value, value))
	}
	return small
}

func TestCapacityClamp(t *testing.T) {
	require.Equal(t, int64(4<<10), clampCapacity(-1))
	require.Equal(t, int64(4<<10), clampCapacity(100))
	require.Equal(t, int64(1<<20), clampCapacity(1<<20))
	require.Equal(t, int64(math.MaxUint32), clampCapacity(1<<40))
	m := New(100 << 10)
	require.Equal(t, int64(100<<10), m.Capacity())
	require.True(t, m.Empty())
	require.Equal(t, nodeSize(maxHeight, 0), m.Size(), "an empty table holds only its head")
}

func TestEmptyMemtable(t *testing.T) {
	m := New(0)
	_, _, ok := m.Get(nil, keys.MaxSeq)
	require.False(t, ok)
	it := m.NewIter()
	require.False(t, it.Valid())
	require.False(t, it.First())
	require.False(t, it.Last())
	require.False(t, it.SeekGE(keys.MakeKey(nil, nil, 1, keys.KindSet)))
	require.False(t, it.SeekLT(keys.MakeKey(nil, []byte{0xFF}, 1, keys.KindSet)))
	require.False(t, it.Next())
	require.False(t, it.Prev())
	require.Nil(t, it.Key())
	require.NoError(t, it.Error())
}

func TestAddRejectsInvalidEntries(t *testing.T) {
	m := New(0)
	require.Error(t, m.Add([]byte("k"), keys.MaxSeq+1, keys.KindSet, nil))
	require.Error(t, m.Add([]byte("k"), 1, keys.KindMax+1, nil))
	require.True(t, m.Empty())
	require.Equal(t, nodeSize(maxHeight, 0), m.Size())

	require.NoError(t, m.Add([]byte("k"), keys.MaxSeq, keys.KindSet, []byte("v")))
	require.ErrorIs(t, m.Add([]byte("k"), keys.MaxSeq, keys.KindSet, []byte("w")), ErrDuplicateKey)
	require.NoError(t, m.Add([]byte("k"), keys.MaxSeq, keys.KindDelete, nil), "same seq, other kind")
	require.Equal(t, int64(2), m.Count())
	kind, value, ok := m.Get([]byte("k"), math.MaxUint64) // clamped to MaxSeq
	require.True(t, ok)
	require.Equal(t, keys.KindSet, kind)
	require.Equal(t, []byte("v"), value)
}

// TestGetVersions checks Get picks the newest version at or below seq and
// never a neighbouring user key.
func TestGetVersions(t *testing.T) {
	m := New(0)
	require.NoError(t, m.Add([]byte("a"), 5, keys.KindSet, []byte("a5")))
	require.NoError(t, m.Add([]byte("b"), 3, keys.KindSet, []byte("b3")))
	require.NoError(t, m.Add([]byte("b"), 7, keys.KindDelete, nil))
	require.NoError(t, m.Add([]byte("b"), 9, keys.KindSetExpiry, []byte("b9")))
	require.NoError(t, m.Add([]byte("c"), 1, keys.KindSet, []byte("c1")))
	for _, tc := range []struct {
		key  string
		seq  keys.SeqNum
		ok   bool
		kind keys.Kind
		val  string
	}{
		{"a", 4, false, 0, ""},
		{"a", 5, true, keys.KindSet, "a5"},
		{"b", 2, false, 0, ""},
		{"b", 3, true, keys.KindSet, "b3"},
		{"b", 6, true, keys.KindSet, "b3"},
		{"b", 7, true, keys.KindDelete, ""},
		{"b", 8, true, keys.KindDelete, ""},
		{"b", 100, true, keys.KindSetExpiry, "b9"},
		{"bb", 100, false, 0, ""},
		{"", 100, false, 0, ""},
		{"d", 100, false, 0, ""},
	} {
		kind, value, ok := m.Get([]byte(tc.key), tc.seq)
		require.Equal(t, tc.ok, ok, "%q@%d", tc.key, tc.seq)
		if ok {
			require.Equal(t, tc.kind, kind, "%q@%d", tc.key, tc.seq)
			require.Equal(t, tc.val, string(value), "%q@%d", tc.key, tc.seq)
		}
	}
}

// TestLayoutMatchesDoc checks the worked example of doc.go byte for byte.
func TestLayoutMatchesDoc(t *testing.T) {
	m := New(0)
	require.Equal(t, int64(176), m.Size())
	require.Equal(t, uint32(160), m.list.head)
	// Pick a seed whose first draw is height 1, as the example assumes.
	for s := uint64(0); ; s++ {
		m.list.rng.Seed(s, 0)
		if m.list.randomHeight() == 1 {
			m.list.rng.Seed(s, 0)
			break
		}
	}
	require.NoError(t, m.Add([]byte("apple"), 9, keys.KindSet, []byte("red")))
	require.Equal(t, int64(219), m.Size())
	require.Equal(t, int64(195), EntrySize(5, 3))
	it := m.NewIter()
	require.True(t, it.First())
	require.Equal(t, uint32(184), it.nd)
	buf := m.list.arena.buf
	word := func(off int) uint32 { return binary.NativeEndian.Uint32(buf[off:]) }
	require.Equal(t, uint64(0), binary.NativeEndian.Uint64(buf[176:]), "link[0]")
	require.Equal(t, uint32(160), word(184), "prev")
	require.Equal(t, uint32(13), word(188), "keyLen")
	require.Equal(t, uint32(3), word(192), "valLen")
	require.Equal(t, []byte{0x61, 0x70, 0x70, 0x6c, 0x65, 0x01, 0x09, 0, 0, 0, 0, 0, 0}, buf[200:213])
	require.Equal(t, uint32(4093), word(196), "valOff")
	require.Equal(t, []byte("red"), buf[4093:4096], "the value at the arena's end")
	require.Equal(t, uint64(0x03617070)<<32|184, binary.NativeEndian.Uint64(buf[152:]), "head link[0]")
}

// TestPrevCorrectsLaggingHint simulates a reader that sees a node linked at
// level 0 before the writer has updated its successor's prev hint: Prev must
// still return the true predecessor.
func TestPrevCorrectsLaggingHint(t *testing.T) {
	m := New(0)
	for i, k := range []string{"a", "c", "b"} {
		require.NoError(t, m.Add([]byte(k), keys.SeqNum(i+1), keys.KindSet, nil))
	}
	it := m.NewIter()
	require.True(t, it.SeekGE(keys.SearchKey(nil, []byte("c"), keys.MaxSeq)))
	c := it.nd
	require.True(t, it.SeekGE(keys.SearchKey(nil, []byte("a"), keys.MaxSeq)))
	a := it.nd
	m.list.arena.setPrev(c, a) // the hint from before "b" was inserted
	require.True(t, it.SeekGE(keys.SearchKey(nil, []byte("c"), keys.MaxSeq)))
	require.True(t, it.Prev())
	require.Equal(t, "b", string(keys.UserKey(it.Key())))
	require.True(t, it.Prev())
	require.Equal(t, "a", string(keys.UserKey(it.Key())))
	require.False(t, it.Prev())
}

// TestKeyAndValueCannotClobberArena checks returned slices are capped, so an
// append by the caller copies instead of overwriting the next entry.
func TestKeyAndValueCannotClobberArena(t *testing.T) {
	m := New(0)
	require.NoError(t, m.Add([]byte("a"), 1, keys.KindSet, []byte("1")))
	require.NoError(t, m.Add([]byte("b"), 2, keys.KindSet, []byte("2")))
	it := m.NewIter()
	require.True(t, it.First())
	_ = append(it.Key(), 'X', 'X', 'X', 'X')
	_ = append(it.Value(), 'Y', 'Y', 'Y', 'Y')
	_, v, _ := m.Get([]byte("a"), 1)
	_ = append(v, 'Z', 'Z', 'Z', 'Z')
	requireSameEntries(t, model{
		{keys.MakeKey(nil, []byte("a"), 1, keys.KindSet), []byte("1")},
		{keys.MakeKey(nil, []byte("b"), 2, keys.KindSet), []byte("2")},
	}, iterForward(it), "after appends")
}

func TestIteratorClose(t *testing.T) {
	m := New(0)
	require.NoError(t, m.Add([]byte("a"), 1, keys.KindSet, []byte("1")))
	it := m.NewIter()
	require.True(t, it.First())
	require.NoError(t, it.Close())
	require.False(t, it.Valid())
	require.Nil(t, it.Key())
	for _, f := range []func() bool{it.First, it.Last, it.Next, it.Prev,
		func() bool { return it.SeekGE(nil) }, func() bool { return it.SeekLT([]byte{0xFF}) }} {
		require.False(t, f())
	}
	require.NoError(t, it.Close(), "double Close")
}

// TestRandomHeightDistribution checks p = 1/2 per level: level counts of
// 1M draws fall within a band around n/2^(h-1).
func TestRandomHeightDistribution(t *testing.T) {
	var s skiplist
	s.rng.Seed(1, 2)
	const n = 1 << 20
	var atLeast [maxHeight + 1]int
	for range n {
		h := s.randomHeight()
		if h < 1 || h > maxHeight {
			t.Fatalf("height %d out of [1, %d]", h, maxHeight)
		}
		for l := 1; l <= h; l++ {
			atLeast[l]++
		}
	}
	for l := 1; l <= 10; l++ {
		want := float64(n) / math.Pow(2, float64(l-1))
		require.InDelta(t, want, float64(atLeast[l]), want*0.05+50, "level %d", l)
	}
}

func TestMakeSearchKey(t *testing.T) {
	sk := makeSearchKey(keys.MakeKey(nil, []byte("ab"), 3, keys.KindSet))
	require.Equal(t, []byte("ab"), sk.ukey)
	require.Equal(t, keys.Trailer(3, keys.KindSet), sk.trailer)
	sk = makeSearchKey([]byte{1, 2})
	require.Equal(t, []byte{1, 2}, sk.ukey)
	require.Equal(t, uint64(math.MaxUint64), sk.trailer)
}

// TestAscendingInsertsUseTheSplice checks that inserts in ascending order
// (which take the splice of the previous insert) and in descending and
// random order build the same list.
func TestAscendingInsertsUseTheSplice(t *testing.T) {
	orders := map[string]func(i, n int) int{
		"ascending":  func(i, n int) int { return i },
		"descending": func(i, n int) int { return n - 1 - i },
		"zigzag":     func(i, n int) int { return (i * 7919) % n },
	}
	for name, order := range orders {
		m := New(8 << 20)
		const n = 20000
		for i := 0; i < n; i++ {
			j := order(i, n)
			k := []byte(fmt.Sprintf("key%06d", j/2)) // two versions per user key
			require.NoError(t, m.Add(k, keys.SeqNum(j+1), keys.KindSet, k), name)
		}
		var got [][]byte
		it := m.NewIter()
		for ok := it.First(); ok; ok = it.Next() {
			got = append(got, append([]byte(nil), it.Key()...))
		}
		require.Len(t, got, n, name)
		for i := 1; i < len(got); i++ {
			require.Less(t, keys.Compare(got[i-1], got[i]), 0, "%s: %s then %s", name, keys.Format(got[i-1]), keys.Format(got[i]))
		}
		for j := 0; j < n; j += 97 {
			k := []byte(fmt.Sprintf("key%06d", j/2))
			kind, v, ok := m.Get(k, keys.SeqNum(j+1))
			require.True(t, ok)
			require.Equal(t, keys.KindSet, kind)
			require.Equal(t, k, v)
		}
	}
}

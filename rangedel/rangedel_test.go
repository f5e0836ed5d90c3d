package rangedel

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/keys"
)

func ts(spec ...any) []Tombstone {
	var out []Tombstone
	for i := 0; i < len(spec); i += 3 {
		out = append(out, Tombstone{Start: []byte(spec[i].(string)), End: []byte(spec[i+1].(string)), Seq: keys.SeqNum(spec[i+2].(int))})
	}
	return out
}

func render(l List) string {
	s := ""
	for _, f := range l {
		s += fmt.Sprintf("[%s,%s)%v ", f.Start, f.End, f.Seqs)
	}
	return s
}

func TestBuild(t *testing.T) {
	cases := []struct {
		in   []Tombstone
		want string
	}{
		{nil, ""},
		{ts("b", "f", 7, "d", "h", 5), "[b,d)[7] [d,f)[7 5] [f,h)[5] "},
		{ts("a", "c", 3, "c", "e", 3), "[a,e)[3] "}, // touching, same seqs: joined
		{ts("a", "c", 3, "e", "g", 4), "[a,c)[3] [e,g)[4] "},
		{ts("a", "z", 1, "m", "n", 9, "m", "n", 9), "[a,m)[1] [m,n)[9 1] [n,z)[1] "},
		{ts("b", "a", 1, "c", "c", 2), ""}, // empty ranges are ignored
	}
	for _, c := range cases {
		l := Build(c.in)
		require.Equal(t, c.want, render(l), "%v", c.in)
		require.Equal(t, "", l.Check())
	}
}

// TestBuildMatchesBruteForce compares Covering on random tombstones with
// a direct scan over them, at random read sequence numbers.
func TestBuildMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	key := func() []byte { return []byte{byte('a' + rng.IntN(12))} }
	for iter := 0; iter < 300; iter++ {
		var in []Tombstone
		for i := rng.IntN(8); i > 0; i-- {
			in = append(in, Tombstone{Start: key(), End: key(), Seq: keys.SeqNum(1 + rng.IntN(20))})
		}
		l := Build(in)
		require.Equal(t, "", l.Check())
		for k := byte('a'); k <= 'm'; k++ {
			for r := keys.SeqNum(0); r <= 21; r++ {
				var want keys.SeqNum
				for _, t := range in {
					if string(t.Start) <= string(k) && string(k) < string(t.End) && t.Seq <= r {
						want = max(want, t.Seq)
					}
				}
				got, lo, hi := l.Covering([]byte{k}, r)
				require.Equal(t, want, got, "key %c read %d in %v", k, r, render(l))
				require.Equal(t, want, l.MaxSeq([]byte{k}, r))
				require.True(t, lo == nil || string(lo) <= string(k))
				require.True(t, hi == nil || string(k) < string(hi))
			}
		}
		// Encoding round trip, and Merge of halves equals the whole.
		dec, err := Decode(l.Encode(nil), "t", 0)
		require.NoError(t, err)
		require.Equal(t, render(l), render(dec))
		h := len(in) / 2
		require.Equal(t, render(l), render(Merge(Build(in[:h]), Build(in[h:]))))
	}
}

func TestClipAndOverlaps(t *testing.T) {
	l := Build(ts("b", "f", 7, "d", "h", 5))
	require.Equal(t, "[c,d)[7] [d,e)[7 5] ", render(l.Clip([]byte("c"), []byte("e"))))
	require.Equal(t, "[f,h)[5] ", render(l.Clip([]byte("f"), nil)))
	require.Equal(t, "", render(l.Clip([]byte("h"), nil)))
	require.Equal(t, "", render(l.Clip(nil, []byte("b"))))
	require.True(t, l.Overlaps([]byte("a"), []byte("b")))
	require.False(t, l.Overlaps([]byte("h"), nil))
	require.False(t, l.Overlaps(nil, []byte("a")))
	require.Equal(t, 4, l.Count())
	require.True(t, keys.IsRangeDelSentinel(l.Largest(nil)))
	require.Equal(t, "h", string(keys.UserKey(l.Largest(nil))))
	require.Equal(t, "b #7 RANGEDEL", keys.Format(l.Smallest(nil)))
}

// TestEncodingExample is the worked example of the package documentation.
func TestEncodingExample(t *testing.T) {
	l := Build(ts("b", "f", 7, "d", "h", 5))
	want := []byte{3, 1, 'b', 1, 'd', 1, 7, 1, 'd', 1, 'f', 2, 7, 5, 1, 'f', 1, 'h', 1, 5}
	require.Equal(t, want, l.Encode(nil))
}

func TestDecodeRejects(t *testing.T) {
	good := Build(ts("b", "f", 7, "d", "h", 5)).Encode(nil)
	for i := range good {
		_, err := Decode(good[:i], "t", 100)
		require.ErrorIs(t, err, keys.ErrCorruption, "prefix %d", i)
	}
	bad := map[string][]byte{
		"start >= end":      {1, 1, 'b', 1, 'b', 1, 7},
		"seqs ascending":    {1, 1, 'a', 1, 'b', 2, 5, 7},
		"zero seq":          {1, 1, 'a', 1, 'b', 1, 0},
		"no seqs":           {1, 1, 'a', 1, 'b', 0, 0, 0},
		"overlap":           {2, 1, 'a', 1, 'c', 1, 7, 1, 'b', 1, 'd', 1, 7},
		"trailing":          {1, 1, 'a', 1, 'b', 1, 7, 0},
		"huge count":        {0xff, 0xff, 0xff, 0xff, 0x0f},
		"max seq sentinel":  append([]byte{1, 1, 'a', 1, 'b', 1}, uv(uint64(keys.MaxSeq))...),
		"key past the end":  {1, 9, 'a'},
		"count past blocks": {2, 1, 'a', 1, 'b', 1, 7},
	}
	for name, b := range bad {
		_, err := Decode(b, "t", 0)
		require.ErrorIs(t, err, keys.ErrCorruption, name)
	}
}

func uv(v uint64) []byte {
	var b []byte
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

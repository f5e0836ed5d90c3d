package keys

import (
	"bytes"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCompareOrdersUserKeyThenNewestFirst(t *testing.T) {
	ks := [][]byte{
		MakeKey(nil, []byte("apricot"), 7, KindSetExpiry),
		MakeKey(nil, []byte("apple"), 4, KindDelete),
		MakeKey(nil, []byte("apple"), 9, KindSet),
		MakeKey(nil, []byte(""), 1, KindSet),
	}
	sort.Slice(ks, func(i, j int) bool { return Compare(ks[i], ks[j]) < 0 })
	var got []string
	for _, k := range ks {
		got = append(got, Format(k))
	}
	require.Equal(t, []string{" #1 SET", "apple #9 SET", "apple #4 DEL", "apricot #7 SETX"}, got)
}

func TestSearchKeyLandsOnNewestVisible(t *testing.T) {
	v9 := MakeKey(nil, []byte("k"), 9, KindSet)
	v4 := MakeKey(nil, []byte("k"), 4, KindDelete)
	require.Less(t, Compare(SearchKey(nil, []byte("k"), 9), v9)+1, 2) // <= 0
	require.Greater(t, Compare(SearchKey(nil, []byte("k"), 8), v9), 0)
	require.Less(t, Compare(SearchKey(nil, []byte("k"), 8), v4), 0)
}

func TestParseRoundTrip(t *testing.T) {
	k := MakeKey(nil, []byte("user"), MaxSeq, KindSetExpiry)
	p, ok := Parse(k)
	require.True(t, ok)
	require.Equal(t, []byte("user"), p.UserKey)
	require.Equal(t, MaxSeq, p.Seq)
	require.Equal(t, KindSetExpiry, p.Kind)
	_, ok = Parse([]byte("short"))
	require.False(t, ok)
	require.NotPanics(t, func() { Compare([]byte("a"), MakeKey(nil, []byte("a"), 1, KindSet)) })
}

func TestExpiryValueRoundTrip(t *testing.T) {
	v := AppendExpiryValue(nil, -5, []byte("val"))
	e, u, ok := SplitExpiryValue(v)
	require.True(t, ok)
	require.Equal(t, int64(-5), e)
	require.Equal(t, []byte("val"), u)
	_, _, ok = SplitExpiryValue([]byte{1, 2})
	require.False(t, ok)
}

func randBytes(r *rand.Rand) []byte {
	n := r.IntN(5)
	b := make([]byte, n)
	alphabet := []byte{0x00, 0x01, 0x02, 0xFE, 0xFF, 'a'}
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return b
}

func TestItemKeyOrderAndBounds(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		pk1, sk1, pk2, sk2 := randBytes(r), randBytes(r), randBytes(r), randBytes(r)
		k1, k2 := ItemKey(nil, pk1, sk1), ItemKey(nil, pk2, sk2)
		want := bytes.Compare(pk1, pk2)
		if want == 0 {
			want = bytes.Compare(sk1, sk2)
		}
		require.Equal(t, want, bytes.Compare(k1, k2), "pk1=%x sk1=%x pk2=%x sk2=%x", pk1, sk1, pk2, sk2)

		gpk, gsk, ok := SplitItemKey(k1)
		require.True(t, ok)
		require.Equal(t, pk1, gpk)
		require.Equal(t, sk1, gsk)
		require.Equal(t, len(AppendPartitionPrefix(nil, pk1)), PartitionPrefixLen(k1))

		lo, hi := PartitionBounds(pk1)
		in := bytes.Compare(k2, lo) >= 0 && bytes.Compare(k2, hi) < 0
		require.Equal(t, bytes.Equal(pk1, pk2), in, "pk1=%x pk2=%x", pk1, pk2)
	}
}

func TestSplitItemKeyRejectsNonItems(t *testing.T) {
	for _, k := range [][]byte{nil, []byte("plain"), {0}, {'a', 0, 7}} {
		_, _, ok := SplitItemKey(k)
		require.False(t, ok, "%x", k)
	}
}

func TestExpiryAtSaturates(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	for _, c := range []struct {
		name string
		now  time.Time
		ttl  time.Duration
		want int64
	}{
		{"an ordinary TTL", now, time.Minute, now.Add(time.Minute).UnixNano()},
		{"250 years", now, 250 * 365 * 24 * time.Hour, MaxExpiry},
		{"the largest Duration", now, math.MaxInt64, MaxExpiry},
		{"one nanosecond short of the limit", time.Unix(0, math.MaxInt64-10), 9, math.MaxInt64 - 1},
		{"exactly the limit", time.Unix(0, math.MaxInt64-10), 10, MaxExpiry},
		{"one nanosecond past the limit", time.Unix(0, math.MaxInt64-10), 11, MaxExpiry},
		{"a clock past 2262", time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), time.Second, MaxExpiry},
		{"a clock before 1678", time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), time.Second, math.MinInt64},
		{"due exactly at the epoch", time.Unix(-1, 0), time.Second, -1},
	} {
		got := ExpiryAt(c.now, c.ttl)
		require.Equal(t, c.want, got, c.name)
		require.True(t, Expired(got, c.now.Add(c.ttl)), "%s: expired at now + ttl", c.name)
		if c.want != MaxExpiry && c.want != math.MinInt64 {
			require.False(t, Expired(got, c.now), "%s: not expired at now", c.name)
		}
	}
	require.Equal(t, int64(math.MaxInt64), UnixNano(time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)))
	require.Equal(t, int64(math.MinInt64), UnixNano(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)))
	require.Equal(t, int64(math.MinInt64), UnixNano(time.Unix(0, math.MinInt64)))
}

// TestSharedPrefixLen checks the word-at-a-time comparison against a byte
// loop: at every length around the 8-byte steps, with the first difference
// at every position, and on random keys over a small alphabet (long shared
// prefixes).
func TestSharedPrefixLen(t *testing.T) {
	naive := func(a, b []byte) int {
		i := 0
		for i < len(a) && i < len(b) && a[i] == b[i] {
			i++
		}
		return i
	}
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "a", 0},
		{"abc", "abd", 2},
		{"abcdefgh", "abcdefgh", 8},
		{"abcdefghi", "abcdefgh", 8},
		{"abcdefghijklmnop", "abcdefghijklmnoq", 15},
		{"the quick", "the who", 4},
	} {
		require.Equal(t, tc.want, SharedPrefixLen([]byte(tc.a), []byte(tc.b)), "%q %q", tc.a, tc.b)
	}
	for n := 0; n <= 20; n++ {
		a := bytes.Repeat([]byte{'x'}, n)
		require.Equal(t, n, SharedPrefixLen(a, a))
		for d := 0; d < n; d++ {
			b := bytes.Clone(a)
			b[d] ^= 0x80
			require.Equal(t, d, SharedPrefixLen(a, b), "n=%d d=%d", n, d)
			require.Equal(t, d, SharedPrefixLen(b[:d+1], a), "n=%d d=%d", n, d)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	key := func() []byte {
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = 'a' + byte(r.IntN(2))
		}
		return b
	}
	for range 10000 {
		a, b := key(), key()
		require.Equal(t, naive(a, b), SharedPrefixLen(a, b), "%q %q", a, b)
	}
}

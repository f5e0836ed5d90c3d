package sstable

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/keys"
)

func TestSeparator(t *testing.T) {
	ik := func(uk string, seq keys.SeqNum) []byte { return keys.MakeKey(nil, []byte(uk), seq, keys.KindSet) }
	sk := func(uk string) []byte { return keys.MakeKey(nil, []byte(uk), keys.MaxSeq, keys.KindMax) }
	cases := []struct {
		a, b, want []byte
	}{
		{ik("the quick", 7), ik("the who", 3), sk("the r")},
		{ik("abc", 1), ik("abd", 1), ik("abc", 1)},                  // nothing shorter between
		{ik("abcdef", 1), ik("abd", 1), sk("abce")},                 // 'c'+1 == 'd': increment a later byte
		{ik("apple", 5), ik("apple", 4), ik("apple", 5)},            // same user key
		{ik("app", 5), ik("apple", 4), ik("app", 5)},                // a is a prefix of b
		{ik("", 5), ik("a", 4), ik("", 5)},                          // empty user key
		{ik("a\xff\xff", 1), ik("b", 1), ik("a\xff\xff", 1)},        // cannot increment
		{ik("axyz", 1), ik("b", 1), sk("ay")},                       // 'a'+1 == 'b': increment 'x'
		{ik("aaaaaaa", 1), ik("zzz", 1), sk("b")},                   // first byte
		{ik("ab\xff\xffxyz", 1), ik("ac", 1), sk("ab\xff\xffy")},    // skips 0xff
		{ik("user000123", 9), ik("user000200", 9), sk("user00013")}, // '1'+1 == '2': increment the next digit
	}
	for _, c := range cases {
		got := separator(nil, c.a, c.b)
		require.Equal(t, fmtKey(c.want), fmtKey(got), "separator(%s, %s)", fmtKey(c.a), fmtKey(c.b))
		require.LessOrEqual(t, keys.Compare(c.a, got), 0)
		require.Less(t, keys.Compare(got, c.b), 0)
	}
}

func TestSuccessor(t *testing.T) {
	ik := func(uk string) []byte { return keys.MakeKey(nil, []byte(uk), 3, keys.KindSet) }
	sk := func(uk string) []byte { return keys.MakeKey(nil, []byte(uk), keys.MaxSeq, keys.KindMax) }
	cases := []struct{ a, want []byte }{
		{ik("the quick"), sk("u")},
		{ik("\xff\xffab"), sk("\xff\xffb")},
		{ik("\xff\xff"), ik("\xff\xff")},
		{ik(""), ik("")},
		{ik("a"), ik("a")}, // "b" is no shorter
	}
	for _, c := range cases {
		got := successor(nil, c.a)
		require.Equal(t, fmtKey(c.want), fmtKey(got), "successor(%s)", fmtKey(c.a))
		require.LessOrEqual(t, keys.Compare(c.a, got), 0)
	}
}

// TestSeparatorProperties checks the separator contract on random pairs: a
// <= s < b, s no longer than a, and either s == a or its user key lies
// strictly between those of a and b.
func TestSeparatorProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for i := 0; i < 20000; i++ {
		a := keys.MakeKey(nil, randomUserKey(r), keys.SeqNum(r.IntN(100)), keys.KindSet)
		b := keys.MakeKey(nil, randomUserKey(r), keys.SeqNum(r.IntN(100)), keys.KindSet)
		if c := keys.Compare(a, b); c == 0 {
			continue
		} else if c > 0 {
			a, b = b, a
		}
		s := separator(nil, a, b)
		require.LessOrEqual(t, keys.Compare(a, s), 0)
		require.Less(t, keys.Compare(s, b), 0)
		require.LessOrEqual(t, len(s), len(a))
		if !bytes.Equal(s, a) {
			us := keys.UserKey(s)
			require.Less(t, bytes.Compare(keys.UserKey(a), us), 0)
			require.Less(t, bytes.Compare(us, keys.UserKey(b)), 0)
		}
		su := successor(nil, a)
		require.LessOrEqual(t, keys.Compare(a, su), 0)
		require.LessOrEqual(t, len(su), len(a))
	}
}

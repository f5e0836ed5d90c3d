package collections

import (
	"errors"
	"testing"
)

// TestZDiffInterCardRangeStore checks ZDiff, ZDiffStore, ZInterCard and
// ZRangeStore on the Store and inside a Tx: sets as inputs, absent keys,
// wrong types, limits, and that a store replaces dst whatever it held.
func TestZDiffInterCardRangeStore(t *testing.T) {
	s, _ := openTestStore(t)
	b := func(x string) []byte { return []byte(x) }
	ks := func(xs ...string) [][]byte {
		out := make([][]byte, len(xs))
		for i, x := range xs {
			out[i] = b(x)
		}
		return out
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.ZAdd(b("a"), ZAddArgs{}, Z{1, b("x")}, Z{2, b("y")}, Z{3, b("z")}, Z{-1, b("w")})
	must(err)
	_, err = s.ZAdd(b("b"), ZAddArgs{}, Z{9, b("y")})
	must(err)
	_, err = s.SAdd(b("s"), b("w"))
	must(err)
	_, err = s.LPush(b("l"), b("e"))
	must(err)

	zs, err := s.ZDiff(ks("a", "b", "s", "absent"))
	must(err)
	if got := zstr(zs); got != `"x":1 "z":3 ` {
		t.Fatalf("ZDiff: %s", got)
	}
	zs, err = s.ZDiff(ks("s", "b"))
	must(err)
	if got := zstr(zs); got != `"w":1 ` {
		t.Fatalf("ZDiff of a set: %s", got)
	}
	if _, err := s.ZDiff(ks("absent", "l")); !errors.Is(err, ErrWrongType) {
		t.Fatalf("ZDiff with a list: %v", err)
	}

	must(s.Set(b("d"), b("string")))
	n, err := s.ZDiffStore(b("d"), ks("a", "b"))
	must(err)
	if n != 3 {
		t.Fatalf("ZDiffStore: %d", n)
	}
	if typ, _ := s.Type(b("d")); typ != TypeZSet {
		t.Fatalf("ZDiffStore left %v", typ)
	}
	n, err = s.ZDiffStore(b("d"), ks("absent"))
	must(err)
	if typ, _ := s.Type(b("d")); n != 0 || typ != TypeNone {
		t.Fatalf("ZDiffStore of nothing: %d, dst %v", n, typ)
	}

	for _, c := range []struct {
		limit int64
		keys  []string
		want  int64
	}{
		{0, []string{"a", "b"}, 1},
		{0, []string{"a"}, 4},
		{2, []string{"a"}, 2},
		{0, []string{"a", "s"}, 1},
		{0, []string{"a", "absent"}, 0},
	} {
		n, err := s.ZInterCard(c.limit, ks(c.keys...)...)
		if err != nil || n != c.want {
			t.Fatalf("ZInterCard(%d, %v) = %d, %v; want %d", c.limit, c.keys, n, err, c.want)
		}
	}
	if _, err := s.ZInterCard(0, ks("absent", "l")...); !errors.Is(err, ErrWrongType) {
		t.Fatalf("ZInterCard with a list after an absent key: %v", err)
	}

	n, err = s.ZRangeStore(b("r"), b("a"), ZRangeArgs{By: ByScore, Score: ScoreRange{Min: 1, Max: 2}})
	must(err)
	got, err := s.ZRange(b("r"), 0, -1)
	must(err)
	if n != 2 || zstr(got) != `"x":1 "y":2 ` {
		t.Fatalf("ZRangeStore by score: %d %s", n, zstr(got))
	}
	if _, err := s.ZRangeStore(b("r"), b("s"), ZRangeArgs{Start: 0, Stop: -1}); !errors.Is(err, ErrWrongType) {
		t.Fatalf("ZRangeStore from a set: %v", err)
	}
	err = s.Update(func(tx *Tx) error {
		n, err := tx.ZRangeStore(b("r"), b("a"), ZRangeArgs{Start: -1, Stop: -1})
		if err != nil || n != 1 {
			t.Errorf("ZRangeStore in a Tx: %d %v", n, err)
		}
		return err
	})
	must(err)
	got, err = s.ZRange(b("r"), 0, -1)
	must(err)
	if zstr(got) != `"z":3 ` {
		t.Fatalf("after the Tx: %s", zstr(got))
	}
}

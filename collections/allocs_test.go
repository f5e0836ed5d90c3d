package collections

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stratadb/strata/lsm"
	"github.com/stratadb/strata/vfs"
)

// TestCounterPathAllocatesNothing: IncrBy on an existing counter allocates
// nothing, and creating a counter allocates only the engine's error for its
// failed IfPresent increment (formatted at once, that error was four
// allocations, and the metadata probe's key one more: six in all).
func TestCounterPathAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	s, _ := openTestStore(t)
	const runs = 500
	key := []byte("counter")
	if _, err := s.IncrBy(key, 1); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(runs, func() {
		if _, err := s.IncrBy(key, 1); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("IncrBy of an existing counter allocates %v", n)
	}
	fresh := make([][]byte, runs+1)
	for i := range fresh {
		fresh[i] = fmt.Appendf(nil, "new:%08d", i)
	}
	i := 0
	if n := testing.AllocsPerRun(runs, func() {
		got, err := s.IncrBy(fresh[i], 5)
		if err != nil || got != 5 {
			t.Fatalf("IncrBy of a new counter = %d, %v; want 5", got, err)
		}
		i++
	}); n > 1 {
		t.Errorf("IncrBy creating a counter allocates %v, want at most 1", n)
	}
}

// TestStringWriteAllocatesNothing: SET of a string through the Store reuses
// its pooled Tx's overlay node (key, value and level buffers), so a write
// allocates nothing once warm; a fresh node per write was four allocations.
func TestStringWriteAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	s, _ := openTestStore(t)
	keys := make([][]byte, 501)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "key:%08d", i)
	}
	val := []byte("a value of some bytes")
	_ = s.Set(keys[0], val)
	i := 0
	if n := testing.AllocsPerRun(len(keys)-1, func() {
		if err := s.Set(keys[i], val); err != nil {
			t.Fatal(err)
		}
		i++
	}); n != 0 {
		t.Errorf("Set allocates %v", n)
	}
}

// TestOverlayReuse: an overlay reset and filled again (as a pooled Tx's is)
// holds exactly its new writes, in order both ways, whatever its reused
// nodes held before: other keys, longer keys and values, more levels, and
// deletes.
func TestOverlayReuse(t *testing.T) {
	var o overlay
	type kv struct{ k, v string }
	for round, writes := range [][]kv{
		{{"m", "1"}, {"a", "22"}, {"z", "333"}, {"q", ""}, {"b", "long value to be cut"}},
		{{"c", "x"}, {"a", "y"}},
		{{"zz", "1"}, {"yy", "2"}, {"xx", "3"}, {"ww", "4"}, {"vv", "5"}, {"uu", "6"}, {"tt", "7"}},
		{},
		{{"k", string(make([]byte, 3*ovKeepVal))}, {"j", "small"}},
		{{"j", "again"}},
	} {
		o.reset()
		want := map[string]string{}
		for i, w := range writes {
			if i == 1 {
				o.del([]byte(w.k)) // a delete first, then the put over it
			}
			o.put([]byte(w.k), []byte(w.v), int64(round))
			want[w.k] = w.v
		}
		if o.n != len(want) {
			t.Fatalf("round %d: %d nodes, want %d", round, o.n, len(want))
		}
		var fwd []string
		var last *ovNode
		for n := o.first(); n != nil; n = n.next[0] {
			if n.prev != last {
				t.Fatalf("round %d: %q's prev is not the node before it", round, n.key)
			}
			if n.del || n.covered || n.expAt != int64(round) || string(n.val) != want[string(n.key)] {
				t.Fatalf("round %d: node %q = (%q, del %v, covered %v, exp %d), want %q", round, n.key, n.val, n.del, n.covered, n.expAt, want[string(n.key)])
			}
			fwd = append(fwd, string(n.key))
			last = n
		}
		if len(fwd) != len(want) || !sort.StringsAreSorted(fwd) {
			t.Fatalf("round %d: keys %q, want the %d written, sorted", round, fwd, len(want))
		}
		for _, k := range []string{"m", "a", "z", "c", "zz", "k", "j", "nope"} {
			_, written := want[k]
			if got := o.find([]byte(k)) != nil; got != written {
				t.Errorf("round %d: find(%q) = %v, want %v", round, k, got, written)
			}
		}
	}
}

// TestCollectionReadsAllocateNothing: the metadata, header and score reads
// of ZSCORE, and of HSET replacing a field, go into the Tx's own buffers:
// neither allocates once warm (each metadata, header or score read was a
// copy of its value, and each header key one more). The metadata comes
// from the Store's cache, with the string probe (the default) and without
// it (Options.SoleWriter); SISMEMBER likewise.
func TestCollectionReadsAllocateNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	for _, sole := range []bool{false, true} {
		t.Run(fmt.Sprintf("sole=%v", sole), func(t *testing.T) { collectionReadsAllocateNothing(t, sole) })
	}
}

func collectionReadsAllocateNothing(t *testing.T, sole bool) {
	s, _ := openCacheStore(t, 0, sole)
	set := []byte("s")
	if _, err := s.SAdd(set, []byte("member")); err != nil {
		t.Fatal(err)
	}
	z, h, m, f, v := []byte("z"), []byte("h"), []byte("member"), []byte("field"), []byte("value")
	if _, err := s.ZAdd(z, ZAddArgs{}, Z{Score: 2.5, Member: m}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.HSet(h, f, v); err != nil {
		t.Fatal(err)
	}
	str, buf := []byte("str"), make([]byte, 0, 64)
	if err := s.Set(str, v); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		op   func() error
	}{
		{"ZSCORE", func() error {
			got, err := s.ZScore(z, m)
			if err == nil && got != 2.5 {
				err = fmt.Errorf("score %v, want 2.5", got)
			}
			return err
		}},
		{"SISMEMBER", func() error {
			ok, err := s.SIsMember(set, m)
			if err == nil && !ok {
				err = fmt.Errorf("SISMEMBER = false, want true")
			}
			return err
		}},
		{"HSET of an existing field", func() error {
			n, err := s.HSet(h, f, v)
			if err == nil && n != 0 {
				err = fmt.Errorf("%d fields added, want 0", n)
			}
			return err
		}},
		{"GET into a buffer", func() error {
			got, err := s.GetAppend(buf[:0], str)
			if err == nil && !bytes.Equal(got, v) {
				err = fmt.Errorf("GetAppend = %q, want %q", got, v)
			}
			return err
		}},
		{"HGET into a buffer", func() error {
			got, err := s.HGetAppend(buf[:0], h, f)
			if err == nil && !bytes.Equal(got, v) {
				err = fmt.Errorf("HGetAppend = %q, want %q", got, v)
			}
			return err
		}},
		{"GET of a missing string into a buffer", func() error {
			if _, err := s.GetAppend(buf[:0], []byte("missing")); !errors.Is(err, ErrNotFound) {
				return fmt.Errorf("GetAppend of a missing key: %v, want ErrNotFound", err)
			}
			return nil
		}},
	} {
		if n := testing.AllocsPerRun(500, func() {
			if err := c.op(); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%s allocates %v", c.name, n)
		}
	}
	// Get returns a value of its own: that copy is its one allocation (a
	// read-only Tx notes no string read, which copied key and value).
	if n := testing.AllocsPerRun(500, func() {
		if _, err := s.Get(str); err != nil {
			t.Fatal(err)
		}
	}); n != 1 {
		t.Errorf("GET allocates %v, want 1 (the value)", n)
	}
}

// TestGetAppend: GetAppend and HGetAppend append a string's or a field's
// value to dst and leave dst as it was when there is none, or when the
// name holds another type, as Get and HGet answer.
func TestGetAppend(t *testing.T) {
	s, clock := openTestStore(t)
	if err := s.Set([]byte("str"), []byte("value")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.HSet([]byte("hash"), []byte("f"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetArgs([]byte("gone"), []byte("v"), SetArgs{TTL: time.Second}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Second)
	for _, c := range []struct {
		key     string
		want    string
		wantErr error
	}{
		{"str", "prefix:value", nil},
		{"missing", "prefix:", ErrNotFound},
		{"hash", "prefix:", ErrWrongType},
		{"gone", "prefix:", ErrNotFound},
	} {
		got, err := s.GetAppend([]byte("prefix:"), []byte(c.key))
		if !errors.Is(err, c.wantErr) || string(got) != c.want {
			t.Errorf("GetAppend(%q) = %q, %v; want %q, %v", c.key, got, err, c.want, c.wantErr)
		}
		v, err := s.Get([]byte(c.key))
		if !errors.Is(err, c.wantErr) || (err == nil && "prefix:"+string(v) != c.want) {
			t.Errorf("Get(%q) = %q, %v; GetAppend disagrees", c.key, v, err)
		}
	}
	for _, c := range []struct {
		key, field string
		want       string
		wantErr    error
	}{
		{"hash", "f", "prefix:v", nil},
		{"hash", "missing", "prefix:", ErrNotFound},
		{"missing", "f", "prefix:", ErrNotFound},
		{"str", "f", "prefix:", ErrWrongType},
	} {
		got, err := s.HGetAppend([]byte("prefix:"), []byte(c.key), []byte(c.field))
		if !errors.Is(err, c.wantErr) || string(got) != c.want {
			t.Errorf("HGetAppend(%q, %q) = %q, %v; want %q, %v", c.key, c.field, got, err, c.want, c.wantErr)
		}
		v, err := s.HGet([]byte(c.key), []byte(c.field))
		if !errors.Is(err, c.wantErr) || (err == nil && "prefix:"+string(v) != c.want) {
			t.Errorf("HGet(%q, %q) = %q, %v; HGetAppend disagrees", c.key, c.field, v, err)
		}
	}
}

// TestTxReadsClockOnlyWhenNeeded: a Tx reads the Store's clock the first
// time it judges an expiry, not when it begins (an INCR or a GET, which the
// engine judges, reads it never), and once read its time stands still.
func TestTxReadsClockOnlyWhenNeeded(t *testing.T) {
	clock := newFakeClock()
	db, err := lsm.Open("/db", smallDBOptions(vfs.NewMem(), clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	var reads atomic.Int64
	s := NewWithOptions(db, &Options{ReclaimInterval: -1, Clock: func() time.Time {
		reads.Add(1)
		return clock.Now()
	}})
	t.Cleanup(func() {
		s.Close()
		db.Close()
	})
	if _, err := s.IncrBy([]byte("n"), 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Set([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	reads.Store(0)
	if _, err := s.IncrBy([]byte("n"), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get([]byte("k")); err != nil {
		t.Fatal(err)
	}
	if n := reads.Load(); n != 0 {
		t.Errorf("INCR and GET read the clock %d times, want 0", n)
	}
	err = s.Update(func(tx *Tx) error {
		t0 := tx.Now()
		clock.Advance(time.Hour)
		if t1 := tx.Now(); !t1.Equal(t0) {
			t.Errorf("the Tx's time moved from %v to %v", t0, t1)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := reads.Load(); n != 1 {
		t.Errorf("a Tx asking its time twice read the clock %d times, want 1", n)
	}
}

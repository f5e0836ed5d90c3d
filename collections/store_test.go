package collections

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/lsm"
	"github.com/stratadb/strata/vfs"
)

// openTouchStore is openTestStore with an OnTouch that records each call.
func openTouchStore(t *testing.T) (*Store, *fakeClock, func() [][]string) {
	clock := newFakeClock()
	db, err := lsm.Open("/db", smallDBOptions(vfs.NewMem(), clock.Now))
	require.NoError(t, err)
	var mu sync.Mutex
	var calls [][]string
	s := NewWithOptions(db, &Options{Clock: clock.Now, ReclaimInterval: -1, OnTouch: func(keys [][]byte) {
		var c []string
		for _, k := range keys {
			c = append(c, string(k))
		}
		sort.Strings(c)
		mu.Lock()
		calls = append(calls, c)
		mu.Unlock()
	}})
	t.Cleanup(func() {
		s.Close()
		db.Close()
	})
	return s, clock, func() [][]string {
		mu.Lock()
		defer mu.Unlock()
		c := calls
		calls = nil
		return c
	}
}

// TestOnTouch: every write that changes something reports the names it
// changed, once per operation or Update; writes that change nothing and
// Updates that fail report nothing.
func TestOnTouch(t *testing.T) {
	s, _, calls := openTouchStore(t)
	k := func(s string) []byte { return []byte(s) }
	steps := []struct {
		name string
		do   func() error
		want [][]string
	}{
		{"hset", func() error { _, err := s.HSet(k("h"), k("f"), k("v")); return err }, [][]string{{"h"}}},
		{"hset same value still writes", func() error { _, err := s.HSet(k("h"), k("f"), k("v")); return err }, [][]string{{"h"}}},
		{"hdel missing", func() error { _, err := s.HDel(k("h"), k("nope")); return err }, nil},
		{"sadd", func() error { _, err := s.SAdd(k("s"), k("a")); return err }, [][]string{{"s"}}},
		{"sadd existing", func() error { _, err := s.SAdd(k("s"), k("a")); return err }, nil},
		{"lpush", func() error { _, err := s.LPush(k("l"), k("x")); return err }, [][]string{{"l"}}},
		{"lmove", func() error { _, err := s.LMove(k("l"), k("l2"), true, true); return err }, [][]string{{"l", "l2"}}},
		{"rpop empty", func() error { _, err := s.RPop(k("l")); return ignore(err, ErrNotFound) }, nil},
		{"zadd", func() error { _, err := s.ZAdd(k("z"), ZAddArgs{}, Z{1, k("m")}); return err }, [][]string{{"z"}}},
		{"zadd nx existing", func() error { _, err := s.ZAdd(k("z"), ZAddArgs{NX: true}, Z{2, k("m")}); return err }, nil},
		{"set", func() error { return s.Set(k("str"), k("v")) }, [][]string{{"str"}}},
		{"incr", func() error { _, err := s.IncrBy(k("n"), 1); return err }, [][]string{{"n"}}},
		{"expire", func() error { _, err := s.Expire(k("h"), time.Hour); return err }, [][]string{{"h"}}},
		{"expire missing", func() error { _, err := s.Expire(k("nope"), time.Hour); return err }, nil},
		{"del two", func() error { _, err := s.Delete(k("h"), k("s"), k("nope")); return err }, [][]string{{"h", "s"}}},
		{"rename", func() error { return s.Rename(k("z"), k("z2")) }, [][]string{{"z", "z2"}}},
		{"update", func() error {
			return s.Update(func(tx *Tx) error {
				if _, err := tx.HSet(k("a"), k("f"), k("v")); err != nil {
					return err
				}
				_, err := tx.RPush(k("b"), k("x"))
				return err
			})
		}, [][]string{{"a", "b"}}},
		{"failed update", func() error {
			err := s.Update(func(tx *Tx) error {
				if _, err := tx.HSet(k("c"), k("f"), k("v")); err != nil {
					return err
				}
				return errAbort
			})
			return ignore(err, errAbort)
		}, nil},
		{"wrong type", func() error { _, err := s.HSet(k("str"), k("f"), k("v")); return ignore(err, ErrWrongType) }, nil},
	}
	for _, st := range steps {
		require.NoError(t, st.do(), st.name)
		require.Equal(t, st.want, calls(), st.name)
	}
}

func ignore(err, want error) error {
	if errors.Is(err, want) {
		return nil
	}
	return err
}

// TestOnTouchBeforeUnlock: OnTouch runs before the write releases its
// locks, so an Update (MULTI/EXEC) that starts after the write began sees
// the mark OnTouch made: nothing can slip between a write and its mark.
func TestOnTouchBeforeUnlock(t *testing.T) {
	clock := newFakeClock()
	db, err := lsm.Open("/db", smallDBOptions(vfs.NewMem(), clock.Now))
	require.NoError(t, err)
	defer db.Close()
	inTouch := make(chan struct{})
	var mu sync.Mutex
	marked := false
	s := NewWithOptions(db, &Options{Clock: clock.Now, ReclaimInterval: -1, OnTouch: func([][]byte) {
		close(inTouch)
		time.Sleep(20 * time.Millisecond) // give the Update every chance to slip in
		mu.Lock()
		marked = true
		mu.Unlock()
	}})
	defer s.Close()
	go s.Set([]byte("k"), []byte("v"))
	<-inTouch
	require.NoError(t, s.Update(func(tx *Tx) error {
		mu.Lock()
		defer mu.Unlock()
		if !marked {
			return errors.New("the Update ran between the write and its OnTouch")
		}
		return nil
	}))
}

// TestUpdateKeys: a Tx of UpdateKeys may touch only its keys (anything else
// is ErrTxKey and the Tx writes nothing), and it does not stop operations
// on other keys from running meanwhile.
func TestUpdateKeys(t *testing.T) {
	s, _ := openTestStore(t)
	a := []byte("a")
	var other []byte
	for i := 0; other == nil; i++ {
		if k := []byte(fmt.Sprint("other", i)); s.stripeOf(k) != s.stripeOf(a) {
			other = k
		}
	}
	err := s.UpdateKeys([][]byte{a}, func(tx *Tx) error {
		if _, err := tx.HSet(a, []byte("f"), []byte("v")); err != nil {
			return err
		}
		_, err := tx.HSet(other, []byte("f"), []byte("v"))
		return err
	})
	require.ErrorIs(t, err, ErrTxKey)
	n, err := s.Exists(a, other)
	require.NoError(t, err)
	require.Zero(t, n)

	done := make(chan error)
	err = s.UpdateKeys([][]byte{a}, func(tx *Tx) error {
		if _, err := tx.RPush(a, []byte("x")); err != nil {
			return err
		}
		// Another key's operation completes while this Tx holds a.
		go func() { _, err := s.SAdd(other, []byte("m")); done <- err }()
		return <-done
	})
	require.NoError(t, err)
	v, err := s.LRange(a, 0, -1)
	require.NoError(t, err)
	require.Equal(t, [][]byte{[]byte("x")}, v)
}

// TestUpdateSeesOwnWrites: reads and iterators inside Update see the
// Update's earlier writes, deletes included, before anything is committed.
func TestUpdateSeesOwnWrites(t *testing.T) {
	s, _ := openTestStore(t)
	_, err := s.HSet([]byte("h"), []byte("a"), []byte("1"), []byte("b"), []byte("2"))
	require.NoError(t, err)
	err = s.Update(func(tx *Tx) error {
		if _, err := tx.HSet([]byte("h"), []byte("c"), []byte("3")); err != nil {
			return err
		}
		if _, err := tx.HDel([]byte("h"), []byte("a")); err != nil {
			return err
		}
		all, err := tx.HGetAll([]byte("h"))
		if err != nil {
			return err
		}
		require.Equal(t, bs("b", "2", "c", "3"), all)
		if _, err := tx.Delete([]byte("h")); err != nil {
			return err
		}
		typ, err := tx.Type([]byte("h"))
		require.Equal(t, TypeNone, typ)
		if err != nil {
			return err
		}
		if _, err := tx.ZAdd([]byte("h"), ZAddArgs{}, Z{3, []byte("x")}, Z{1, []byte("y")}); err != nil {
			return err
		}
		zs, err := tx.ZRange([]byte("h"), 0, -1)
		require.Equal(t, []Z{{1, []byte("y")}, {3, []byte("x")}}, zs)
		return err
	})
	require.NoError(t, err)
	typ, err := s.Type([]byte("h"))
	require.NoError(t, err)
	require.Equal(t, TypeZSet, typ)
}

// dataKeys counts the engine keys of collections' data.
func dataKeys(t testing.TB, db *lsm.DB) int {
	return prefixKeys(t, db, []byte{reservedByte, tagData})
}

// prefixKeys counts the engine keys under prefix.
func prefixKeys(t testing.TB, db *lsm.DB, prefix []byte) int {
	lo, hi := lsm.PrefixBounds(prefix)
	it, err := db.NewIter(&lsm.IterOptions{LowerBound: lo, UpperBound: hi})
	require.NoError(t, err)
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	require.NoError(t, it.Close())
	return n
}

// TestExpiryReclaimed: a collection whose TTL passes is gone at once (the
// engine hides its metadata), and ReclaimExpired then deletes its data;
// a TTL that was extended, removed or moved by RENAME is not reclaimed
// early.
func TestExpiryReclaimed(t *testing.T) {
	s, clock := openTestStore(t)
	for i := 0; i < 500; i++ {
		_, err := s.HSet([]byte("big"), []byte(fmt.Sprint("f", i)), []byte("v"))
		require.NoError(t, err)
	}
	_, err := s.SAdd([]byte("kept"), []byte("m"))
	require.NoError(t, err)
	_, err = s.RPush([]byte("moved"), []byte("e"))
	require.NoError(t, err)
	for _, k := range []string{"big", "kept", "moved"} {
		ok, err := s.Expire([]byte(k), time.Minute)
		require.NoError(t, err)
		require.True(t, ok)
	}
	_, err = s.Expire([]byte("kept"), time.Hour) // extended
	require.NoError(t, err)
	require.NoError(t, s.Rename([]byte("moved"), []byte("there")))
	_, err = s.Persist([]byte("there"))
	require.NoError(t, err)
	before := dataKeys(t, s.DB())

	clock.Advance(2 * time.Minute)
	typ, err := s.Type([]byte("big"))
	require.NoError(t, err)
	require.Equal(t, TypeNone, typ)
	n, err := s.ReclaimExpired(100)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, before-501, dataKeys(t, s.DB())) // 500 fields and the header
	for _, k := range []string{"kept", "there"} {
		c, err := s.Exists([]byte(k))
		require.NoError(t, err)
		require.Equal(t, 1, c, k)
	}
	clock.Advance(2 * time.Hour)
	n, err = s.ReclaimExpired(100)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	all, err := s.LRange([]byte("there"), 0, -1)
	require.NoError(t, err)
	require.Equal(t, bs("e"), all)
}

// TestNamespace: strings and collections never collide, whatever bytes the
// names hold; a string written with db.Put is a string here, and the other
// way round; names that are empty or start with 0xFF work but are kept out
// of the raw keyspace.
func TestNamespace(t *testing.T) {
	s, _ := openTestStore(t)
	db := s.DB()
	require.NoError(t, db.Put([]byte("raw"), []byte("from lsm")))
	v, err := s.Get([]byte("raw"))
	require.NoError(t, err)
	require.Equal(t, "from lsm", string(v))
	typ, err := s.Type([]byte("raw"))
	require.NoError(t, err)
	require.Equal(t, TypeString, typ)
	_, err = s.HSet([]byte("raw"), []byte("f"), []byte("v"))
	require.ErrorIs(t, err, ErrWrongType)

	_, err = s.SetArgs([]byte("ttl"), []byte("x"), SetArgs{TTL: time.Minute})
	require.NoError(t, err)
	at, err := db.Expiry([]byte("ttl"))
	require.NoError(t, err)
	require.False(t, at.IsZero())

	// Names that look like the package's own keys are just names.
	for _, name := range []string{"", "\xff", "\xffm", "\xffd\x00\x00", "\xff\xff", "m", "d"} {
		_, err := s.HSet([]byte(name), []byte("f"), []byte(name))
		require.NoError(t, err, "%q", name)
	}
	for _, name := range []string{"", "\xff", "\xffm", "\xffd\x00\x00", "\xff\xff", "m", "d"} {
		v, err := s.HGet([]byte(name), []byte("f"))
		require.NoError(t, err)
		require.Equal(t, name, string(v))
		_, err = s.Delete([]byte(name))
		require.NoError(t, err)
		require.NoError(t, s.Set([]byte(name), []byte("s"+name)))
		v, err = s.Get([]byte(name))
		require.NoError(t, err)
		require.Equal(t, "s"+name, string(v))
	}
	// Only names that are empty or start with 0xFF left the raw keyspace.
	_, err = db.Get([]byte("m"))
	require.NoError(t, err)
	_, err = db.Get([]byte("\xff"))
	require.ErrorIs(t, err, lsm.ErrNotFound)
	ki, err := s.Keys(nil)
	require.NoError(t, err)
	var names []string
	for ki.Next() {
		names = append(names, fmt.Sprintf("%q:%s", ki.Name(), ki.Type()))
	}
	require.NoError(t, ki.Close())
	want := []string{`"":string`, `"d":string`, `"m":string`, `"raw":string`, `"ttl":string`, `"\xff":string`, `"\xffd\x00\x00":string`, `"\xffm":string`, `"\xff\xff":string`}
	require.Equal(t, want, names)

	// A raw Put over a collection makes it a string, as SET would.
	_, err = s.SAdd([]byte("coll"), []byte("m"))
	require.NoError(t, err)
	require.NoError(t, db.Put([]byte("coll"), []byte("now a string")))
	typ, err = s.Type([]byte("coll"))
	require.NoError(t, err)
	require.Equal(t, TypeString, typ)
	_, err = s.SMembers([]byte("coll"))
	require.ErrorIs(t, err, ErrWrongType)
	_, err = s.Delete([]byte("coll"))
	require.NoError(t, err)
	typ, err = s.Type([]byte("coll"))
	require.NoError(t, err)
	require.Equal(t, TypeNone, typ, "Delete removes the string and the stale collection")
}

// TestScanCursor: SCAN pages cover every key once, with TYPE and prefix
// filters, and resume after the cursor.
func TestScanCursor(t *testing.T) {
	s, _ := openTestStore(t)
	var want []string
	for i := 0; i < 40; i++ {
		k := []byte(fmt.Sprintf("k%02d", i))
		switch i % 4 {
		case 0:
			require.NoError(t, s.Set(k, []byte("v")))
		case 1:
			_, err := s.HSet(k, []byte("f"), []byte("v"))
			require.NoError(t, err)
		case 2:
			_, err := s.RPush(k, []byte("v"))
			require.NoError(t, err)
		default:
			_, err := s.ZAdd(k, ZAddArgs{}, Z{1, []byte("v")})
			require.NoError(t, err)
		}
		want = append(want, string(k))
	}
	require.NoError(t, s.Set([]byte("other"), []byte("v")))
	for _, opts := range []*KeysOptions{{Prefix: []byte("k")}, {Prefix: []byte("k"), Type: TypeList}} {
		var got []string
		var cursor []byte
		for {
			names, types, next, err := s.Scan(cursor, 7, opts)
			require.NoError(t, err)
			for i, n := range names {
				got = append(got, string(n))
				if opts.Type != TypeNone {
					require.Equal(t, opts.Type, types[i])
				}
			}
			if next == nil {
				break
			}
			cursor = next
		}
		w := want
		if opts.Type == TypeList {
			w = nil
			for i, k := range want {
				if i%4 == 2 {
					w = append(w, k)
				}
			}
		}
		require.Equal(t, w, got)
	}
	n, err := s.DBSize()
	require.NoError(t, err)
	require.EqualValues(t, 41, n)
	seen := map[string]bool{}
	for i := 0; i < 300; i++ {
		k, err := s.RandomKey()
		require.NoError(t, err)
		seen[string(k)] = true
	}
	require.Greater(t, len(seen), 10, "RANDOMKEY should spread over the keys")
	for k := range seen {
		require.True(t, slices.Contains(append(want, "other"), k), k)
	}
}

// TestUpdateIsOneWrite: an Update of many operations on many keys, range
// deletes included, reaches the engine as one write (one batch, one WAL
// record), so a crash keeps all of it or none (TestPowerLossCollections
// checks that end to end); an Update whose function fails writes nothing.
func TestUpdateIsOneWrite(t *testing.T) {
	s, _ := openTestStore(t)
	db := s.DB()
	fill(t, s, []byte("big"), TypeHash, 2*rangeDeleteMin) // also reserves a block of IDs
	writes := func() int64 { return db.Metrics().CommitWrites }
	before, seq := writes(), db.Metrics().LastSeq
	err := s.Update(func(tx *Tx) error {
		for i := 0; i < 50; i++ {
			if _, err := tx.HSet([]byte(fmt.Sprint("h", i%5)), []byte(fmt.Sprint("f", i)), []byte("v")); err != nil {
				return err
			}
			if _, err := tx.ZAdd([]byte("z"), ZAddArgs{}, Z{Score: float64(i), Member: []byte(fmt.Sprint("m", i))}); err != nil {
				return err
			}
			if _, err := tx.RPush([]byte("l"), []byte(fmt.Sprint("e", i))); err != nil {
				return err
			}
		}
		if _, err := tx.Delete([]byte("big")); err != nil {
			return err
		}
		return tx.Set([]byte("s"), []byte("v"))
	})
	require.NoError(t, err)
	require.Equal(t, before+1, writes(), "one write")
	require.Greater(t, db.Metrics().LastSeq-seq, uint64(150), "of many operations")
	n, err := s.Exists([]byte("h0"), []byte("z"), []byte("l"), []byte("s"), []byte("big"))
	require.NoError(t, err)
	require.Equal(t, 4, n)

	before = writes()
	err = s.Update(func(tx *Tx) error {
		if _, err := tx.Delete([]byte("z"), []byte("l")); err != nil {
			return err
		}
		return errAbort
	})
	require.ErrorIs(t, err, errAbort)
	require.Equal(t, before, writes(), "a failed Update writes nothing")
	n, err = s.Exists([]byte("z"), []byte("l"))
	require.NoError(t, err)
	require.Equal(t, 2, n)
}

// TestRandomCountOutOfRange: HRANDFIELD, SRANDMEMBER and ZRANDMEMBER refuse
// a count of -2^63, whose negation does not fit, with Redis 7.0's error.
func TestRandomCountOutOfRange(t *testing.T) {
	s, _ := openTestStore(t)
	_, err := s.HSet([]byte("h"), []byte("f"), []byte("v"))
	require.NoError(t, err)
	_, err = s.SAdd([]byte("s"), []byte("m"))
	require.NoError(t, err)
	_, err = s.ZAdd([]byte("z"), ZAddArgs{}, Z{Score: 1, Member: []byte("m")})
	require.NoError(t, err)
	_, err = s.HRandField([]byte("h"), math.MinInt64, false)
	require.ErrorIs(t, err, ErrCountOutOfRange)
	_, err = s.SRandMember([]byte("s"), math.MinInt64)
	require.ErrorIs(t, err, ErrCountOutOfRange)
	_, err = s.ZRandMember([]byte("z"), math.MinInt64)
	require.ErrorIs(t, err, ErrCountOutOfRange)
	got, err := s.SRandMember([]byte("s"), -3)
	require.NoError(t, err)
	require.Equal(t, bs("m", "m", "m"), got)
}

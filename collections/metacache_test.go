package collections

import (
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/stratadb/strata/lsm"
	"github.com/stratadb/strata/vfs"
	"github.com/stretchr/testify/require"
)

// openCacheStore opens a Store on an in-memory DB with a fake clock and
// the given metadata cache options.
func openCacheStore(t testing.TB, size int64, sole bool) (*Store, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	db, err := lsm.Open("/db", smallDBOptions(vfs.NewMem(), clock.Now))
	require.NoError(t, err)
	s := NewWithOptions(db, &Options{Clock: clock.Now, ReclaimInterval: -1, MetaCacheSize: size, SoleWriter: sole})
	t.Cleanup(func() {
		s.Close()
		db.Close()
	})
	return s, clock
}

// lookupsOf returns the engine point reads fn makes in a Tx.
func lookupsOf(t *testing.T, s *Store, fn func(tx *Tx)) int {
	t.Helper()
	n := -1
	require.NoError(t, s.Update(func(tx *Tx) error {
		fn(tx)
		n = tx.lookups
		return nil
	}))
	return n
}

// TestCollectionReadsCostOneLookupLessCached: SISMEMBER, HGET and ZSCORE
// cost three engine lookups without the metadata cache (the probe of a
// string of the name, the metadata, the element), two once the metadata is
// cached, and one, the element's, when the Store is the DB's sole writer.
// The first read after the write that made the collection already hits:
// the commit put the metadata in the cache.
func TestCollectionReadsCostOneLookupLessCached(t *testing.T) {
	for _, c := range []struct {
		name string
		size int64
		sole bool
		want int
	}{
		{"no cache", -1, false, 3},
		{"cache", 0, false, 2},
		{"cache, sole writer", 0, true, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, _ := openCacheStore(t, c.size, c.sole)
			_, err := s.SAdd([]byte("s"), []byte("m"))
			require.NoError(t, err)
			_, err = s.HSet([]byte("h"), []byte("f"), []byte("v"))
			require.NoError(t, err)
			_, err = s.ZAdd([]byte("z"), ZAddArgs{}, Z{Score: 1, Member: []byte("m")})
			require.NoError(t, err)
			for i := 0; i < 2; i++ { // the second time from a filled cache
				require.Equal(t, c.want, lookupsOf(t, s, func(tx *Tx) {
					ok, err := tx.SIsMember([]byte("s"), []byte("m"))
					require.NoError(t, err)
					require.True(t, ok)
				}), "SISMEMBER")
				require.Equal(t, c.want, lookupsOf(t, s, func(tx *Tx) {
					v, err := tx.HGet([]byte("h"), []byte("f"))
					require.NoError(t, err)
					require.Equal(t, "v", string(v))
				}), "HGET")
				require.Equal(t, c.want, lookupsOf(t, s, func(tx *Tx) {
					f, err := tx.ZScore([]byte("z"), []byte("m"))
					require.NoError(t, err)
					require.Equal(t, 1.0, f)
				}), "ZSCORE")
			}
		})
	}
}

// TestCacheFillsOnRead: a collection the Store did not write since it
// opened (a reopened DB) is cached by its first read, which reads the
// metadata; the reads after it do not.
func TestCacheFillsOnRead(t *testing.T) {
	fs := vfs.NewMem()
	clock := newFakeClock()
	db, err := lsm.Open("/db", smallDBOptions(fs, clock.Now))
	require.NoError(t, err)
	s := NewWithOptions(db, &Options{Clock: clock.Now, ReclaimInterval: -1})
	_, err = s.SAdd([]byte("s"), []byte("m"))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, db.Close())

	db, err = lsm.Open("/db", smallDBOptions(fs, clock.Now))
	require.NoError(t, err)
	defer db.Close()
	s = NewWithOptions(db, &Options{Clock: clock.Now, ReclaimInterval: -1})
	defer s.Close()
	require.Equal(t, 0, s.metaLen())
	read := func(tx *Tx) {
		ok, err := tx.SIsMember([]byte("s"), []byte("m"))
		require.NoError(t, err)
		require.True(t, ok)
	}
	require.Equal(t, 3, lookupsOf(t, s, read))
	require.Equal(t, 1, s.metaLen())
	require.Equal(t, 2, lookupsOf(t, s, read))
}

// TestCollectionsWithATTLAreNotCached: a collection with a TTL is read
// from the engine every time, so that it disappears at its expiry however
// often it was read; PERSIST makes it cacheable, EXPIRE uncacheable again.
func TestCollectionsWithATTLAreNotCached(t *testing.T) {
	s, clock := openCacheStore(t, 0, true)
	k := []byte("h")
	_, err := s.HSet(k, []byte("f"), []byte("v"))
	require.NoError(t, err)
	ok, err := s.Expire(k, 10*time.Second)
	require.NoError(t, err)
	require.True(t, ok)
	read := func(tx *Tx) {
		v, err := tx.HGet(k, []byte("f"))
		require.NoError(t, err)
		require.Equal(t, "v", string(v))
	}
	require.Equal(t, 3, lookupsOf(t, s, read), "a TTL'd collection: string probe, metadata, element")
	require.Equal(t, 3, lookupsOf(t, s, read))
	require.Equal(t, 0, s.metaLen())

	ok, err = s.Persist(k)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 1, lookupsOf(t, s, read), "persisted: cached by the commit")
	ok, err = s.Expire(k, 10*time.Second)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 3, lookupsOf(t, s, read), "a TTL again: not cached")
	clock.Advance(11 * time.Second)
	_, err = s.HGet(k, []byte("f"))
	require.ErrorIs(t, err, ErrNotFound)
	typ, err := s.Type(k)
	require.NoError(t, err)
	require.Equal(t, TypeNone, typ)
}

// TestCacheOffReadsTheEngine: a negative MetaCacheSize turns the cache off.
func TestCacheOffReadsTheEngine(t *testing.T) {
	s, _ := openCacheStore(t, -1, true)
	_, err := s.SAdd([]byte("s"), []byte("m"))
	require.NoError(t, err)
	_, err = s.SIsMember([]byte("s"), []byte("m"))
	require.NoError(t, err)
	require.Equal(t, 0, s.metaLen())
}

// TestCacheStaysWithinItsSize: the cache holds no more entries than its
// budget allows (metaEntryBytes each) however many collections are read,
// and every read stays right; a name too long to be cached is read from
// the engine every time.
func TestCacheStaysWithinItsSize(t *testing.T) {
	const size = metaShards * 4 * metaEntryBytes // four entries a shard
	s, _ := openCacheStore(t, size, true)
	const n = 2000
	for i := 0; i < n; i++ {
		_, err := s.SAdd([]byte(fmt.Sprintf("s:%06d", i)), []byte(fmt.Sprint(i)))
		require.NoError(t, err)
	}
	for round := 0; round < 2; round++ {
		for i := 0; i < n; i++ {
			ok, err := s.SIsMember([]byte(fmt.Sprintf("s:%06d", i)), []byte(fmt.Sprint(i)))
			require.NoError(t, err)
			require.True(t, ok)
		}
	}
	for i := range s.mc.shards {
		require.LessOrEqual(t, s.mc.shards[i].len(), 4, "shard %d", i)
	}
	require.Greater(t, s.metaLen(), metaShards)
	require.LessOrEqual(t, s.metaLen(), metaShards*4)

	long := []byte(strings.Repeat("n", metaNameMax+1))
	_, err := s.SAdd(long, []byte("m"))
	require.NoError(t, err)
	for i := 0; i < 2; i++ {
		require.Equal(t, 3, lookupsOf(t, s, func(tx *Tx) {
			ok, err := tx.SIsMember(long, []byte("m"))
			require.NoError(t, err)
			require.True(t, ok)
		}), "a long name: probe, metadata and element")
	}
	require.NoError(t, s.Rename(long, []byte("short")))
	typ, err := s.Type(long)
	require.NoError(t, err)
	require.Equal(t, TypeNone, typ)
}

// metaWrite is a write that changes or removes the metadata of the
// collection "k" (a set {a} before it) and what must hold after it.
type metaWrite struct {
	name string
	// sole runs it only with the sole-writer promise off: it writes the
	// DB itself.
	raw   bool
	write func(t *testing.T, s *Store, clock *fakeClock)
	// typ is what "k" holds after the write.
	typ Type
}

// metaWrites covers every way a write reaches a collection's metadata:
// each Store write that empties or replaces a collection, EXPIRE, PERSIST,
// RENAME from and onto it, a transaction, FLUSHALL, and an expiry.
func metaWrites() []metaWrite {
	k, a := []byte("k"), []byte("a")
	noErr := func(t *testing.T, err error) { t.Helper(); require.NoError(t, err) }
	return []metaWrite{
		{name: "SREM of the last member", typ: TypeNone, write: func(t *testing.T, s *Store, _ *fakeClock) {
			_, err := s.SRem(k, a)
			noErr(t, err)
		}},
		{name: "SPOP", typ: TypeNone, write: func(t *testing.T, s *Store, _ *fakeClock) {
			_, err := s.SPop(k, 1)
			noErr(t, err)
		}},
		{name: "SMOVE of the last member", typ: TypeNone, write: func(t *testing.T, s *Store, _ *fakeClock) {
			_, err := s.SMove(k, []byte("other"), a)
			noErr(t, err)
		}},
		{name: "SINTERSTORE onto it", typ: TypeNone, write: func(t *testing.T, s *Store, _ *fakeClock) {
			_, err := s.SInterStore(k, []byte("nothing"))
			noErr(t, err)
		}},
		{name: "DEL", typ: TypeNone, write: func(t *testing.T, s *Store, _ *fakeClock) {
			_, err := s.Delete(k)
			noErr(t, err)
		}},
		{name: "DEL then HSET", typ: TypeHash, write: func(t *testing.T, s *Store, _ *fakeClock) {
			_, err := s.Delete(k)
			noErr(t, err)
			_, err = s.HSet(k, []byte("f"), []byte("v"))
			noErr(t, err)
		}},
		{name: "SET over it", typ: TypeString, write: func(t *testing.T, s *Store, _ *fakeClock) {
			noErr(t, s.Set(k, []byte("v")))
		}},
		{name: "EXPIRE, then the expiry", typ: TypeNone, write: func(t *testing.T, s *Store, clock *fakeClock) {
			_, err := s.Expire(k, time.Second)
			noErr(t, err)
			clock.Advance(2 * time.Second)
		}},
		{name: "EXPIRE, PERSIST, then a TTL's time", typ: TypeSet, write: func(t *testing.T, s *Store, clock *fakeClock) {
			_, err := s.Expire(k, time.Second)
			noErr(t, err)
			_, err = s.Persist(k)
			noErr(t, err)
			clock.Advance(2 * time.Second)
		}},
		{name: "EXPIRE in the past", typ: TypeNone, write: func(t *testing.T, s *Store, _ *fakeClock) {
			_, err := s.Expire(k, -time.Second)
			noErr(t, err)
		}},
		{name: "RENAME away", typ: TypeNone, write: func(t *testing.T, s *Store, _ *fakeClock) {
			noErr(t, s.Rename(k, []byte("elsewhere")))
		}},
		{name: "RENAME a hash onto it", typ: TypeHash, write: func(t *testing.T, s *Store, _ *fakeClock) {
			_, err := s.HSet([]byte("src"), []byte("f"), []byte("v"))
			noErr(t, err)
			noErr(t, s.Rename([]byte("src"), k))
		}},
		{name: "a transaction replacing it (MULTI/EXEC, a script)", typ: TypeZSet, write: func(t *testing.T, s *Store, _ *fakeClock) {
			noErr(t, s.Update(func(tx *Tx) error {
				if _, err := tx.Delete(k); err != nil {
					return err
				}
				_, err := tx.ZAdd(k, ZAddArgs{}, Z{Score: 1, Member: a})
				return err
			}))
		}},
		{name: "a transaction on its keys (UpdateKeys)", typ: TypeList, write: func(t *testing.T, s *Store, _ *fakeClock) {
			noErr(t, s.UpdateKeys([][]byte{k}, func(tx *Tx) error {
				if _, err := tx.SRem(k, a); err != nil {
					return err
				}
				_, err := tx.LPush(k, a)
				return err
			}))
		}},
		{name: "FLUSHALL", typ: TypeNone, write: func(t *testing.T, s *Store, _ *fakeClock) {
			noErr(t, s.FlushAll())
		}},
		{name: "a raw db.Put over it", raw: true, typ: TypeString, write: func(t *testing.T, s *Store, _ *fakeClock) {
			noErr(t, s.DB().Put(k, []byte("v")))
		}},
	}
}

// TestEveryMetadataWriteReachesTheCache: after each write that changes a
// cached collection's metadata, every read of the name sees the change:
// its type, its TTL, a new collection of another type under it, and
// writes of it. With the cache's invalidation skipped, each case fails.
func TestEveryMetadataWriteReachesTheCache(t *testing.T) {
	for _, sole := range []bool{false, true} {
		for _, w := range metaWrites() {
			if w.raw && sole {
				continue
			}
			t.Run(fmt.Sprintf("sole=%v/%s", sole, w.name), func(t *testing.T) {
				s, clock := openCacheStore(t, 0, sole)
				k := []byte("k")
				_, err := s.SAdd(k, []byte("a"))
				require.NoError(t, err)
				ok, err := s.SIsMember(k, []byte("a"))
				require.NoError(t, err)
				require.True(t, ok)
				require.Equal(t, 1, s.metaLen(), "the set is cached")

				w.write(t, s, clock)
				requireHolds(t, s, k, w.typ)
				// The same after a fresh read of everything from the engine.
				requireHolds(t, s, k, w.typ)
			})
		}
	}
}

// requireHolds checks that k reads as a collection of type typ (a string
// "v", a hash {f: v}, a set or sorted set {a}, a list [a]) or as nothing,
// through every kind of read and through a write of each other type.
func requireHolds(t *testing.T, s *Store, k []byte, typ Type) {
	t.Helper()
	got, err := s.Type(k)
	require.NoError(t, err)
	require.Equal(t, typ, got, "TYPE")
	n, err := s.Exists(k)
	require.NoError(t, err)
	require.Equal(t, map[bool]int{true: 0, false: 1}[typ == TypeNone], n, "EXISTS")
	ttl, err := s.TTL(k)
	if typ == TypeNone {
		require.ErrorIs(t, err, ErrNotFound, "TTL")
	} else {
		require.NoError(t, err)
		require.Equal(t, NoTTL, ttl, "TTL")
	}
	wrong := func(want Type, err error) {
		t.Helper()
		if typ != want && typ != TypeNone {
			require.ErrorIs(t, err, ErrWrongType, "a %v read of a %v", want, typ)
		} else {
			require.NoError(t, err)
		}
	}
	member, err := s.SIsMember(k, []byte("a"))
	wrong(TypeSet, err)
	require.Equal(t, typ == TypeSet, member, "SISMEMBER")
	v, err := s.HGet(k, []byte("f"))
	if typ == TypeHash {
		require.NoError(t, err)
		require.Equal(t, "v", string(v), "HGET")
	} else if typ == TypeNone {
		require.ErrorIs(t, err, ErrNotFound, "HGET")
	} else {
		require.ErrorIs(t, err, ErrWrongType, "HGET")
	}
	_, err = s.ZScore(k, []byte("a"))
	if typ == TypeZSet {
		require.NoError(t, err)
	} else if typ == TypeNone {
		require.ErrorIs(t, err, ErrNotFound, "ZSCORE")
	} else {
		require.ErrorIs(t, err, ErrWrongType, "ZSCORE")
	}
	sv, err := s.Get(k)
	if typ == TypeString {
		require.NoError(t, err)
		require.Equal(t, "v", string(sv))
	} else if typ == TypeNone {
		require.ErrorIs(t, err, ErrNotFound, "GET")
	} else {
		require.ErrorIs(t, err, ErrWrongType, "GET")
	}
	// A write of another type is refused, or makes a new collection.
	_, err = s.LPush(k, []byte("b"))
	wrong(TypeList, err)
	if typ == TypeNone || typ == TypeList {
		// Undo it, so a second call sees what the first did.
		want := int64(1)
		if typ == TypeList {
			want = 2
		}
		l, err := s.LLen(k)
		require.NoError(t, err)
		require.Equal(t, want, l, "LLEN after LPUSH")
		got, err := s.LPop(k)
		require.NoError(t, err)
		require.Equal(t, "b", string(got))
	}
	got, err = s.Type(k)
	require.NoError(t, err)
	require.Equal(t, typ, got, "TYPE after the LPUSH and its undoing")
}

// TestFailedCommitLeavesTheCacheRight: a Tx that replaced a cached
// collection and whose commit failed (a raw write changed a string it
// rewrites) leaves the cache as the engine is: the old collection. Its
// rerun here gives up, so nothing else writes the name.
func TestFailedCommitLeavesTheCacheRight(t *testing.T) {
	s, _ := openCacheStore(t, 0, false)
	k, str := []byte("k"), []byte("str")
	_, err := s.SAdd(k, []byte("a"))
	require.NoError(t, err)
	require.NoError(t, s.Set(str, []byte("0")))
	boom := fmt.Errorf("boom")
	runs := 0
	require.ErrorIs(t, s.Update(func(tx *Tx) error {
		runs++
		if runs > 1 {
			return boom
		}
		if _, err := tx.Get(str); err != nil {
			return err
		}
		if _, err := tx.Delete(k); err != nil {
			return err
		}
		if _, err := tx.HSet(k, []byte("f"), []byte("v")); err != nil {
			return err
		}
		if err := tx.Set(str, []byte("1")); err != nil {
			return err
		}
		// A write from outside the Store: the commit's condition fails.
		return s.DB().Put(str, []byte("raw"))
	}), boom)
	require.Equal(t, 2, runs)
	requireHolds(t, s, k, TypeSet)
}

// TestConcurrentReadersSeeNoStaleMetadata: writers replace collections
// again and again (a hash, then a set, a sorted set, a list, each holding
// its generation's number) by every path that rewrites metadata (a
// transaction deleting and recreating, RENAME over it, an UpdateKeys that
// empties and recreates, EXPIRE and PERSIST between), while readers read
// the same names through every read. Each read must give what one of the
// generations current while it ran gives: a stale cache entry would give
// an older generation's type (WRONGTYPE, a missing element). The cache is
// default-sized with the sole-writer promise, and tiny without it (it
// evicts while the names are read).
func TestConcurrentReadersSeeNoStaleMetadata(t *testing.T) {
	for _, c := range []struct {
		name string
		size int64
		sole bool
	}{
		{"cache, sole writer", 0, true},
		{"tiny cache", metaShards * metaEntryBytes, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, _ := openCacheStore(t, c.size, c.sole)
			const names, readers = 4, 3
			gens := 300
			if raceEnabled || testing.Short() {
				gens = 100
			}
			var committed [names]atomic.Int64
			key := func(i int) []byte { return []byte(fmt.Sprintf("k%d", i)) }
			done := make(chan struct{})
			errs := make(chan error, names+readers)
			var wg sync.WaitGroup
			for i := 0; i < names; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for g := 1; g <= gens; g++ {
						if err := replaceGen(s, key(i), []byte(fmt.Sprintf("tmp%d", i)), g); err != nil {
							errs <- fmt.Errorf("writer %d gen %d: %w", i, g, err)
							return
						}
						committed[i].Store(int64(g))
					}
				}()
			}
			var rg sync.WaitGroup
			for r := 0; r < readers; r++ {
				rg.Add(1)
				go func() {
					defer rg.Done()
					for n := 0; ; n++ {
						select {
						case <-done:
							return
						default:
						}
						i, op := (n+r)%names, (n/names+r)%5
						lo := committed[i].Load()
						got := observeGen(s, key(i), op)
						hi := min(committed[i].Load()+1, int64(gens))
						ok := false
						for g := lo; g <= hi && !ok; g++ {
							ok = got == expectGen(op, g)
						}
						if !ok {
							errs <- fmt.Errorf("read %d of k%d during generations %d..%d: %q", op, i, lo, hi, got)
							return
						}
					}
				}()
			}
			wg.Wait()
			close(done)
			rg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

// genType is the type of generation g of a name (none before the first).
func genType(g int64) Type {
	if g == 0 {
		return TypeNone
	}
	return []Type{TypeHash, TypeSet, TypeZSet, TypeList}[g%4]
}

// replaceGen replaces generation g-1 of k with generation g, by a path
// that depends on g; tmp is the writer's own scratch name.
func replaceGen(s *Store, k, tmp []byte, g int) error {
	v := []byte(fmt.Sprint(g))
	create := func(c Cmdable, k []byte) error {
		var err error
		switch genType(int64(g)) {
		case TypeHash:
			_, err = c.HSet(k, []byte("f"), v)
		case TypeSet:
			_, err = c.SAdd(k, v)
		case TypeZSet:
			_, err = c.ZAdd(k, ZAddArgs{}, Z{Score: float64(g), Member: []byte("m")})
		case TypeList:
			_, err = c.LPush(k, v)
		}
		return err
	}
	switch g % 3 {
	case 0: // MULTI/EXEC or a script
		return s.Update(func(tx *Tx) error {
			if _, err := tx.Delete(k); err != nil {
				return err
			}
			return create(tx, k)
		})
	case 1: // made elsewhere, renamed over it, with a TTL on the way
		if err := create(s, tmp); err != nil {
			return err
		}
		if _, err := s.Expire(tmp, time.Hour); err != nil {
			return err
		}
		if err := s.Rename(tmp, k); err != nil {
			return err
		}
		_, err := s.Persist(k)
		return err
	default: // emptied by the remove of its type, then recreated
		return s.UpdateKeys([][]byte{k}, func(tx *Tx) error {
			prev := []byte(fmt.Sprint(g - 1))
			var err error
			switch genType(int64(g - 1)) {
			case TypeHash:
				_, err = tx.HDel(k, []byte("f"))
			case TypeSet:
				_, err = tx.SRem(k, prev)
			case TypeZSet:
				_, err = tx.ZRem(k, []byte("m"))
			case TypeList:
				_, err = tx.LPop(k)
			}
			if err != nil {
				return err
			}
			return create(tx, k)
		})
	}
}

// observeGen reads k by one of five reads and describes the result.
func observeGen(s *Store, k []byte, op int) string {
	var v any
	var err error
	switch op {
	case 0:
		v, err = s.Type(k)
	case 1:
		v, err = s.HGet(k, []byte("f"))
	case 2:
		var ms [][]byte
		ms, err = s.SMembers(k)
		if err == nil && len(ms) == 0 {
			err = ErrNotFound
		}
		v = ms
	case 3:
		v, err = s.ZScore(k, []byte("m"))
	case 4:
		v, err = s.LIndex(k, 0)
	}
	switch {
	case errors.Is(err, ErrWrongType):
		return "WRONGTYPE"
	case errors.Is(err, ErrNotFound):
		return "nil"
	case err != nil:
		return "error " + err.Error()
	}
	return fmt.Sprint(norm(v))
}

// expectGen is what observeGen gives for generation g.
func expectGen(op int, g int64) string {
	t := genType(g)
	if op == 0 {
		return t.String()
	}
	want := []Type{0, TypeHash, TypeSet, TypeZSet, TypeList}[op]
	switch {
	case t == TypeNone:
		return "nil"
	case t != want:
		return "WRONGTYPE"
	case op == 2:
		return fmt.Sprint([]string{fmt.Sprint(g)})
	}
	return fmt.Sprint(g)
}

// TestCollectionWritesReadTheMetadataFromTheCache: a write to a cached
// collection (SADD, HSET, ZADD, LPUSH, HDEL of one of several fields)
// makes one engine read fewer than without the cache, and two fewer with
// the sole-writer promise (the string probe too).
func TestCollectionWritesReadTheMetadataFromTheCache(t *testing.T) {
	writes := []struct {
		name string
		fn   func(tx *Tx, i int) error
	}{
		{"SADD", func(tx *Tx, i int) error { _, err := tx.SAdd([]byte("s"), []byte(fmt.Sprint(i))); return err }},
		{"HSET", func(tx *Tx, i int) error {
			_, err := tx.HSet([]byte("h"), []byte(fmt.Sprint(i)), []byte("v"))
			return err
		}},
		{"ZADD", func(tx *Tx, i int) error {
			_, err := tx.ZAdd([]byte("z"), ZAddArgs{}, Z{Score: float64(i), Member: []byte(fmt.Sprint(i))})
			return err
		}},
		{"LPUSH", func(tx *Tx, i int) error { _, err := tx.LPush([]byte("l"), []byte("e")); return err }},
		{"HDEL", func(tx *Tx, i int) error { _, err := tx.HDel([]byte("h"), []byte(fmt.Sprint(i-1))); return err }},
	}
	count := func(size int64, sole bool) map[string]int {
		s, _ := openCacheStore(t, size, sole)
		out := map[string]int{}
		for i := 0; i < 3; i++ { // the first run creates the collections
			for _, w := range writes {
				var n int
				require.NoError(t, s.Update(func(tx *Tx) error {
					err := w.fn(tx, i)
					n = tx.lookups
					return err
				}))
				out[w.name] = n
			}
		}
		return out
	}
	off, on, sole := count(-1, false), count(0, false), count(0, true)
	for _, w := range writes {
		require.Equal(t, off[w.name]-1, on[w.name], "%s with the cache (without: %d)", w.name, off[w.name])
		require.Equal(t, off[w.name]-2, sole[w.name], "%s with the cache and the sole writer (without: %d)", w.name, off[w.name])
	}
	t.Logf("engine reads without the cache, with it, sole writer: %v %v %v", off, on, sole)
}

// TestCacheHeapStaysWithinItsBudget: filled with four times as many
// collections as it holds (so that it evicts), the cache is nearly full,
// and the arrays it allocated (pointer-free entries of metaEntryBytes,
// its only heap) add up to no more than its budget.
func TestCacheHeapStaysWithinItsBudget(t *testing.T) {
	require.Equal(t, uintptr(metaEntryBytes), unsafe.Sizeof(metaSlot{}))
	const budget = 8 << 20
	s := &Store{seed: maphash.MakeSeed()}
	s.mc.init(budget)
	v := []byte{metaVersion, byte(TypeSet), 0, 0, 0, 0, 0, 0, 0, 1}
	var k []byte
	n := 4 * budget / metaEntryBytes
	for i := range n {
		k = setName(k, i)
		s.metaFill(k, v, 0)
	}
	var bytes int64
	for i := range s.mc.shards {
		sh := &s.mc.shards[i]
		bytes += int64(cap(sh.slots)) * int64(unsafe.Sizeof(sh.slots[0]))
	}
	require.LessOrEqual(t, bytes, int64(budget))
	require.GreaterOrEqual(t, bytes, int64(budget*9/10))
	require.GreaterOrEqual(t, s.metaLen(), int(bytes/metaEntryBytes)*9/10, "nine tenths full at least")
	// Every entry still cached reads back as filled.
	hits := 0
	for i := range n {
		k = setName(k, i)
		if m, ok := s.metaGet(k); ok {
			require.Equal(t, meta{typ: TypeSet, id: 1}, m)
			hits++
		}
	}
	require.Equal(t, s.metaLen(), hits)
}

package collections

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/lsm"
	"github.com/stratadb/strata/vfs"
)

// fill makes key a collection of type t with n elements (a string for
// TypeString), in Updates of at most 1,000 elements.
func fill(t testing.TB, s *Store, key []byte, typ Type, n int) {
	t.Helper()
	if typ == TypeString {
		require.NoError(t, s.Set(key, bytes.Repeat([]byte("v"), n)))
		return
	}
	for i := 0; i < n; i += 1000 {
		err := s.Update(func(tx *Tx) error {
			var ms [][]byte
			var zs []Z
			for j := i; j < min(i+1000, n); j++ {
				ms = append(ms, benchMember(j))
				zs = append(zs, Z{Score: benchScore(j), Member: benchMember(j)})
			}
			var err error
			switch typ {
			case TypeHash:
				fv := make([][]byte, 0, 2*len(ms))
				for _, m := range ms {
					fv = append(fv, m, m)
				}
				_, err = tx.HSet(key, fv...)
			case TypeSet:
				_, err = tx.SAdd(key, ms...)
			case TypeList:
				_, err = tx.RPush(key, ms...)
			case TypeZSet:
				_, err = tx.ZAdd(key, ZAddArgs{}, zs...)
			}
			return err
		})
		require.NoError(t, err)
	}
}

var collTypes = []Type{TypeHash, TypeList, TypeSet, TypeZSet}

// writeCost returns how many engine operations (sequence numbers) and WAL
// bytes fn wrote.
func writeCost(t testing.TB, db *lsm.DB, fn func()) (ops uint64, walBytes int64) {
	t.Helper()
	before := db.Metrics()
	fn()
	after := db.Metrics()
	return after.LastSeq - before.LastSeq, after.WALBytesWritten - before.WALBytesWritten
}

// TestDeleteCost: DEL of a collection, SET over one, and the reclaim of an
// expired one write the same engine operations and WAL bytes for
// rangeDeleteMin elements as for 4,000 (one metadata tombstone and one
// range delete, plus the expiry-index entry when there is one): deletion
// costs O(1) writes, through lsm's DeleteRange, for every type. Below
// rangeDeleteMin they write one point delete per key and no range delete;
// a queue emptied by its pops and a list trimmed by a few write none
// either (see deleteData).
func TestDeleteCost(t *testing.T) {
	big := 4000
	if testing.Short() {
		big = 2000
	}
	type cost struct {
		ops, rangeDels uint64
		wal            int64
	}
	for _, typ := range collTypes {
		t.Run(typ.String(), func(t *testing.T) {
			s, clock := openTestStore(t)
			db := s.DB()
			measure := func(fn func()) cost {
				rd := s.rangeDels.Load()
				ops, wal := writeCost(t, db, fn)
				return cost{ops: ops, wal: wal, rangeDels: uint64(s.rangeDels.Load() - rd)}
			}
			sizes := []int{10, rangeDeleteMin, big}
			costs := map[string][]cost{}
			for i, n := range sizes {
				// Names of one length, so the metadata tombstones are alike.
				del, set, exp := []byte(fmt.Sprint("del-", i)), []byte(fmt.Sprint("set-", i)), []byte(fmt.Sprint("exp-", i))
				for _, k := range [][]byte{del, set, exp} {
					fill(t, s, k, typ, n)
				}
				costs["DEL"] = append(costs["DEL"], measure(func() {
					k, err := s.Delete(del)
					require.NoError(t, err)
					require.Equal(t, 1, k)
				}))
				costs["SET over"] = append(costs["SET over"], measure(func() { require.NoError(t, s.Set(set, []byte("now a string"))) }))
				ok, err := s.Expire(exp, time.Minute)
				require.NoError(t, err)
				require.True(t, ok)
				clock.Advance(2 * time.Minute)
				costs["expiry reclaim"] = append(costs["expiry reclaim"], measure(func() {
					r, err := s.ReclaimExpired(10)
					require.NoError(t, err)
					require.Equal(t, 1, r)
				}))
				for _, k := range [][]byte{del, exp} {
					typ, err := s.Type(k)
					require.NoError(t, err)
					require.Equal(t, TypeNone, typ)
				}
			}
			for what, cs := range costs {
				t.Logf("%s: %+v for %d elements", what, cs, sizes)
				require.Equal(t, cs[1], cs[2], "%s of %d elements costs what it costs for %d", what, big, rangeDeleteMin)
				require.LessOrEqual(t, cs[1].ops, uint64(3), what)
				require.EqualValues(t, 1, cs[1].rangeDels, what)
				require.Zero(t, cs[0].rangeDels, "%s of 10 elements: point deletes", what)
				require.Greater(t, cs[0].ops, uint64(10), what)
			}
			s.checkNoGarbageFor(t)
		})
	}
	t.Run("queue and feed", func(t *testing.T) {
		s, _ := openTestStore(t)
		rd := s.rangeDels.Load()
		for i := 0; i < 300; i++ {
			_, err := s.LPush([]byte("q"), []byte("job"), []byte("job"))
			require.NoError(t, err)
			_, err = s.RPop([]byte("q"))
			require.NoError(t, err)
			_, err = s.RPopCount([]byte("q"), 5) // empties it
			require.NoError(t, err)
			_, err = s.LPush([]byte("feed"), []byte(fmt.Sprint(i)), []byte("x"))
			require.NoError(t, err)
			require.NoError(t, s.LTrim([]byte("feed"), 0, 99))
			_, err = s.SAdd([]byte("s"), []byte("m"))
			require.NoError(t, err)
			_, err = s.SRem([]byte("s"), []byte("m"))
			require.NoError(t, err)
			_, err = s.ZAdd([]byte("z"), ZAddArgs{}, Z{Score: 1, Member: []byte("m")})
			require.NoError(t, err)
			_, err = s.ZPopMin([]byte("z"), 1)
			require.NoError(t, err)
		}
		require.Equal(t, rd, s.rangeDels.Load(), "no range delete")
		h := &harness{t: t, s: s, db: s.DB()}
		h.checkNoGarbage()
	})
}

// checkNoGarbageFor requires every data key to belong to a live collection.
func (s *Store) checkNoGarbageFor(t *testing.T) {
	h := &harness{t: t, s: s, db: s.DB()}
	h.checkNoGarbage()
}

// TestCollectionsContiguous builds collections of every type by interleaved
// writes, beside raw strings of every shape, and walks the engine's keys in
// order: every collection's data keys form one run that nothing else
// interrupts (so one range delete covers them, and a range read is one
// seek), every key the package owns starts with 0xFF, and every raw string
// is under its own name, outside that space.
func TestCollectionsContiguous(t *testing.T) {
	s, _ := openTestStore(t)
	db := s.DB()
	names := map[string]Type{}
	for round := 0; round < 30; round++ {
		for i, typ := range collTypes {
			for c := 0; c < 3; c++ {
				name := fmt.Sprintf("%s:%d", typ, c)
				names[name] = typ
				m := []byte(fmt.Sprintf("e%03d-%d", round, i))
				var err error
				switch typ {
				case TypeHash:
					_, err = s.HSet([]byte(name), m, m)
				case TypeList:
					_, err = s.LPush([]byte(name), m)
				case TypeSet:
					_, err = s.SAdd([]byte(name), m)
				case TypeZSet:
					_, err = s.ZAdd([]byte(name), ZAddArgs{}, Z{Score: float64(-round), Member: m})
				}
				require.NoError(t, err)
			}
		}
		// Raw strings whose names sort among and around everything.
		require.NoError(t, db.Put([]byte(fmt.Sprintf("hash:%d-raw", round)), []byte("s")))
		require.NoError(t, db.Put([]byte(fmt.Sprintf("\xfe%d", round)), []byte("s")))
		require.NoError(t, s.Set([]byte(fmt.Sprintf("\xffd%d", round)), []byte("s"))) // looks like a data key
	}
	require.NoError(t, db.Flush())

	ids := map[uint64]string{}
	for name := range names {
		v, err := db.Get(metaKey(nil, []byte(name)))
		require.NoError(t, err)
		m, err := decodeMeta([]byte(name), v)
		require.NoError(t, err)
		ids[m.id] = name
	}
	it, err := db.NewIter(nil)
	require.NoError(t, err)
	seen := map[uint64]bool{}
	var cur uint64
	inReserved := false
	raw := 0
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if k[0] != reservedByte {
			require.False(t, inReserved, "raw key %q after the reserved space", k)
			raw++
			continue
		}
		inReserved = true
		if k[1] != tagData {
			require.Contains(t, []byte{tagIDHigh, tagMeta, tagString, tagExpiry}, k[1], "%q", k)
			continue
		}
		id := idOf(k)
		require.Contains(t, ids, id, "data key %x of no collection", k)
		if id != cur {
			require.False(t, seen[id], "the data of %s (ID %d) is split: %x", ids[id], id, k)
			seen[id], cur = true, id
		}
		lo, hi := dataBounds(id)
		require.True(t, bytes.Compare(k, lo) >= 0 && bytes.Compare(k, hi) < 0)
	}
	require.NoError(t, it.Close())
	require.Equal(t, 60, raw, "raw strings under their own names")
	require.Len(t, seen, len(names))
}

// TestKeyOpsEveryType: the key operations treat every type alike:
// EXISTS, TYPE, EXPIRE, TTL, PERSIST, RENAME and DEL on a string written
// with db.Put, a string written with Set, and each collection type.
func TestKeyOpsEveryType(t *testing.T) {
	makers := []struct {
		typ  Type
		name string
		make func(s *Store, k []byte) error
	}{
		{TypeString, "db.Put", func(s *Store, k []byte) error { return s.DB().Put(k, []byte("v")) }},
		{TypeString, "Set", func(s *Store, k []byte) error { return s.Set(k, []byte("v")) }},
		{TypeHash, "HSet", func(s *Store, k []byte) error { _, err := s.HSet(k, []byte("f"), []byte("v")); return err }},
		{TypeList, "RPush", func(s *Store, k []byte) error { _, err := s.RPush(k, []byte("a"), []byte("b")); return err }},
		{TypeSet, "SAdd", func(s *Store, k []byte) error { _, err := s.SAdd(k, []byte("m")); return err }},
		{TypeZSet, "ZAdd", func(s *Store, k []byte) error {
			_, err := s.ZAdd(k, ZAddArgs{}, Z{Score: 1, Member: []byte("m")})
			return err
		}},
	}
	for _, mk := range makers {
		t.Run(mk.name, func(t *testing.T) {
			s, clock := openTestStore(t)
			k, k2 := []byte("key"), []byte("renamed")
			require.NoError(t, mk.make(s, k))
			n, err := s.Exists(k, k, []byte("absent"))
			require.NoError(t, err)
			require.Equal(t, 2, n, "EXISTS counts a key named twice twice")
			typ, err := s.Type(k)
			require.NoError(t, err)
			require.Equal(t, mk.typ, typ)
			ttl, err := s.TTL(k)
			require.NoError(t, err)
			require.Equal(t, NoTTL, ttl)

			ok, err := s.Expire(k, time.Minute)
			require.NoError(t, err)
			require.True(t, ok)
			ttl, err = s.TTL(k)
			require.NoError(t, err)
			require.Equal(t, time.Minute, ttl)
			ok, err = s.Persist(k)
			require.NoError(t, err)
			require.True(t, ok)
			ttl, err = s.TTL(k)
			require.NoError(t, err)
			require.Equal(t, NoTTL, ttl)

			require.NoError(t, s.Rename(k, k2))
			typ, err = s.Type(k2)
			require.NoError(t, err)
			require.Equal(t, mk.typ, typ)
			n, err = s.Exists(k)
			require.NoError(t, err)
			require.Zero(t, n)

			d, err := s.Delete(k2)
			require.NoError(t, err)
			require.Equal(t, 1, d)
			d, err = s.Delete(k2)
			require.NoError(t, err)
			require.Zero(t, d, "DEL of an absent key")

			// Expiry hides every type at once.
			require.NoError(t, mk.make(s, k))
			_, err = s.Expire(k, time.Second)
			require.NoError(t, err)
			clock.Advance(time.Second)
			n, err = s.Exists(k)
			require.NoError(t, err)
			require.Zero(t, n)
			typ, err = s.Type(k)
			require.NoError(t, err)
			require.Equal(t, TypeNone, typ)
			_, err = s.TTL(k)
			require.ErrorIs(t, err, ErrNotFound)
		})
	}
}

// TestDeleteFlushesMemtable: once range deletes have dropped
// Options.DeleteFlushElements elements, the Store flushes the memtable in
// the background, so the range tombstones reach a table where compaction
// counts what they cover; deletes of fewer elements do not; a negative
// value disables it.
func TestDeleteFlushesMemtable(t *testing.T) {
	for _, c := range []struct {
		name  string
		every int64
		how   string
		want  bool
	}{
		{"DEL", 1000, "delete", true},
		{"expiry", 1000, "expire", true},
		{"LTRIM", 1000, "ltrim", true},
		{"below", 5000, "delete", false},
		{"disabled", -1, "delete", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			clock := newFakeClock()
			opts := smallDBOptions(vfs.NewMem(), clock.Now)
			opts.MemtableSize = 64 << 20 // nothing flushes by itself here
			db, err := lsm.Open("/db", opts)
			require.NoError(t, err)
			s := NewWithOptions(db, &Options{Clock: clock.Now, ReclaimInterval: -1, DeleteFlushElements: c.every})
			defer db.Close()
			defer s.Close()
			key := []byte("big")
			fill(t, s, key, TypeList, 3000)
			flushes := db.Metrics().Flushes
			switch c.how {
			case "delete":
				_, err = s.Delete(key)
			case "expire":
				_, err = s.Expire(key, time.Second)
				require.NoError(t, err)
				clock.Advance(time.Second)
				_, err = s.ReclaimExpired(10)
			case "ltrim":
				err = s.LTrim(key, 0, 9)
			}
			require.NoError(t, err)
			if c.want {
				deadline := time.Now().Add(time.Minute)
				for db.Metrics().Flushes == flushes && time.Now().Before(deadline) {
					time.Sleep(5 * time.Millisecond)
				}
				require.Greater(t, db.Metrics().Flushes, flushes, "a background flush after the delete")
				require.Zero(t, s.dropped.Load())
			} else {
				require.NoError(t, s.Close()) // waits for any background flush
				require.Equal(t, flushes, db.Metrics().Flushes)
				if c.every > 0 {
					require.EqualValues(t, 3000, s.dropped.Load())
				}
			}
		})
	}
}

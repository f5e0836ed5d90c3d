package collections

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/lsm"
	"github.com/stratadb/strata/vfs"
)

// The crash workload: op i is a deterministic function of i, mostly
// multi-element writes (HSET of many fields, SADD, pushes, ZADD of many
// members, trims, range removals, deletes, renames) and Updates combining
// several, so that a torn write would show as half an operation. Some
// lists grow past rangeDeleteMin, so that deletes and trims write range
// deletes as well as point deletes.

var crashNames = []string{"h", "s", "l", "z", "x", "y"}

// crashStep applies one step of op i to c. Errors such as WRONGTYPE are
// part of the deterministic history (the reference meets the same).
func crashStep(c Cmdable, r *rand.Rand, i int) error {
	k := []byte(crashNames[r.IntN(len(crashNames))])
	n := 2 + r.IntN(20)
	var err error
	switch r.IntN(14) {
	case 0:
		var fv [][]byte
		for j := 0; j < n; j++ {
			fv = append(fv, []byte(fmt.Sprint("f", r.IntN(40))), []byte(fmt.Sprintf("v%d-%d", i, j)))
		}
		_, err = c.HSet(k, fv...)
	case 1:
		var ms [][]byte
		for j := 0; j < n; j++ {
			ms = append(ms, []byte(fmt.Sprint("m", r.IntN(60))))
		}
		_, err = c.SAdd(k, ms...)
	case 2, 3:
		if r.IntN(12) == 0 {
			// A list long enough that DEL, SET over it and a long LTRIM
			// write range deletes (rangeDeleteMin).
			n = rangeDeleteMin + 8
		}
		var es [][]byte
		for j := 0; j < n; j++ {
			es = append(es, []byte(fmt.Sprintf("e%d-%d", i, j)))
		}
		if r.IntN(2) == 0 {
			_, err = c.RPush(k, es...)
		} else {
			_, err = c.LPush(k, es...)
		}
	case 4:
		var zs []Z
		for j := 0; j < n; j++ {
			zs = append(zs, Z{Score: float64(r.IntN(100)), Member: []byte(fmt.Sprint("m", r.IntN(80)))})
		}
		_, err = c.ZAdd(k, ZAddArgs{}, zs...)
	case 5:
		if r.IntN(3) == 0 {
			err = c.LTrim(k, 0, 5)
		} else {
			err = c.LTrim(k, 1, -2)
		}
	case 6:
		_, err = c.ZRemRangeByRank(k, 0, int64(r.IntN(5)))
	case 7:
		_, err = c.Delete(k)
	case 8:
		err = c.Rename(k, []byte(crashNames[r.IntN(len(crashNames))]))
	case 9:
		_, err = c.HDel(k, []byte(fmt.Sprint("f", r.IntN(40))), []byte(fmt.Sprint("f", r.IntN(40))))
	case 10:
		_, err = c.Expire(k, time.Hour)
	case 11:
		err = c.Set(k, []byte(fmt.Sprint("string", i)))
	case 12:
		_, err = c.LRem(k, 0, []byte(fmt.Sprintf("e%d-%d", i-1-r.IntN(5), r.IntN(3))))
	default:
		_, err = c.ZRem(k, []byte(fmt.Sprint("m", r.IntN(80))), []byte(fmt.Sprint("m", r.IntN(80))))
	}
	if errors.Is(err, ErrWrongType) || errors.Is(err, ErrNoSuchKey) {
		return nil
	}
	return err
}

// crashApply applies op i: one step on the Store, or (one op in four) an
// Update of several steps, which fails as a whole on WRONGTYPE.
func crashApply(s *Store, i int) error {
	h := fnv.New64a()
	fmt.Fprint(h, i)
	r := rand.New(rand.NewPCG(h.Sum64(), 1))
	if r.IntN(4) != 0 {
		return crashStep(s, r, i)
	}
	steps := 2 + r.IntN(4)
	err := s.Update(func(tx *Tx) error {
		for j := 0; j < steps; j++ {
			if err := crashStep(tx, r, i); err != nil {
				return err
			}
		}
		// One Update in five fails after its writes: none may survive.
		if r.IntN(5) == 0 {
			return errAbort
		}
		return nil
	})
	if errors.Is(err, errAbort) {
		return nil
	}
	return err
}

// digest renders the whole keyspace of s canonically.
func digest(t testing.TB, s *Store) string {
	t.Helper()
	ki, err := s.Keys(nil)
	require.NoError(t, err)
	var names []string
	for ki.Next() {
		names = append(names, string(ki.Name()))
	}
	require.NoError(t, ki.Close())
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		k := []byte(n)
		typ, err := s.Type(k)
		require.NoError(t, err)
		at, err := s.ExpireTime(k)
		require.NoError(t, err)
		fmt.Fprintf(&b, "%s %s %d:", n, typ, at.UnixNano())
		var vals any
		switch typ {
		case TypeString:
			vals, err = s.Get(k)
		case TypeHash:
			vals, err = s.HGetAll(k)
		case TypeSet:
			vals, err = s.SMembers(k)
		case TypeList:
			vals, err = s.LRange(k, 0, -1)
		case TypeZSet:
			vals, err = s.ZRange(k, 0, -1)
		}
		require.NoError(t, err)
		require.NoError(t, s.CheckKey(k), "key %s", n)
		fmt.Fprintf(&b, "%q\n", vals)
	}
	return b.String()
}

// crashOptions gives a DB that flushes and compacts often.
func crashOptions(fs vfs.FS, clock func() time.Time, mode lsm.SyncMode) *lsm.Options {
	o := smallDBOptions(fs, clock)
	o.Sync = mode
	o.MemtableSize = 16 << 10
	return o
}

// referenceDigests applies ops [0, n) to a fresh DB and returns the digest
// after each prefix: d[j] is the state after j ops.
func referenceDigests(t testing.TB, n int, clock *fakeClock) []string {
	db, err := lsm.Open("/ref", smallDBOptions(vfs.NewMem(), clock.Now))
	require.NoError(t, err)
	s := NewWithOptions(db, &Options{Clock: clock.Now, ReclaimInterval: -1})
	d := []string{digest(t, s)}
	for i := 0; i < n; i++ {
		require.NoError(t, crashApply(s, i))
		d = append(d, digest(t, s))
	}
	require.NotZero(t, s.rangeDels.Load(), "the workload writes range deletes")
	t.Logf("reference: %d ops wrote %d range deletes", n, s.rangeDels.Load())
	require.NoError(t, s.Close())
	require.NoError(t, db.Close())
	return d
}

type collCrash struct {
	fs           *vfs.MemFS
	acked, after int
}

// TestPowerLossCollections cuts the power at random FS operations of the
// workload (under SyncAlways and SyncNo), reopens each image and requires
// the keyspace to equal the state after a prefix of the operations: every
// multi-element operation and Update whole or absent, never half; under
// SyncAlways, every acknowledged one present. Every collection passes
// CheckKey.
func TestPowerLossCollections(t *testing.T) {
	nOps, runs := 300, 4
	if testing.Short() {
		nOps, runs = 120, 2
	}
	clock := newFakeClock()
	ref := referenceDigests(t, nOps, clock)
	for _, mode := range []lsm.SyncMode{lsm.SyncAlways, lsm.SyncNo} {
		t.Run(mode.String(), func(t *testing.T) {
			images, span := 0, nOps
			for run := 0; run < runs; run++ {
				n, ops := powerLossCollectionsRun(t, mode, uint64(run), nOps, span, clock, ref)
				images += n
				span = ops // crash points spread over the whole run next time
			}
			t.Logf("%s: %d crash images verified", mode, images)
		})
	}
}

func powerLossCollectionsRun(t *testing.T, mode lsm.SyncMode, seed uint64, nOps, span int, clock *fakeClock, ref []string) (int, int) {
	fs := vfs.NewMem()
	opts := crashOptions(fs, clock.Now, mode)
	db, err := lsm.Open("/db", opts)
	require.NoError(t, err)
	s := NewWithOptions(db, &Options{Clock: clock.Now, ReclaimInterval: -1})

	r := rand.New(rand.NewPCG(seed, 99))
	want := map[int64]bool{}
	for len(want) < 30 {
		want[int64(1+r.IntN(span))] = true
	}
	var acked atomic.Int64
	var fsOps atomic.Int64
	var mu sync.Mutex
	var points []collCrash
	fs.SetCrashHook(func(vfs.Op) {
		if !want[fsOps.Add(1)] {
			return
		}
		a := acked.Load()
		clone := fs.CrashClone()
		b := acked.Load()
		mu.Lock()
		points = append(points, collCrash{fs: clone, acked: int(a), after: int(b)})
		mu.Unlock()
	})
	for i := 0; i < nOps; i++ {
		require.NoError(t, crashApply(s, i))
		acked.Store(int64(i + 1))
	}
	fs.SetCrashHook(nil)
	require.NoError(t, s.Close())
	require.NoError(t, db.Close())

	for _, p := range points {
		db, err := lsm.Open("/db", crashOptions(p.fs, clock.Now, mode))
		require.NoError(t, err, "open after power loss at %d acked", p.acked)
		s := NewWithOptions(db, &Options{Clock: clock.Now, ReclaimInterval: -1})
		got := digest(t, s)
		lo := 0
		if mode == lsm.SyncAlways {
			lo = p.acked
		}
		hi := min(p.after+1, nOps)
		found := -1
		for j := hi; j >= lo; j-- {
			if ref[j] == got {
				found = j
				break
			}
		}
		if found < 0 {
			t.Fatalf("power loss with %d ops acknowledged (%d after): the state is no prefix in [%d, %d]:\n%s", p.acked, p.after, lo, hi, got)
		}
		// The recovered Store keeps working: the next op applies.
		require.NoError(t, crashApply(s, found))
		require.NoError(t, s.Close())
		require.NoError(t, db.Close())
	}
	return len(points), int(fsOps.Load())
}

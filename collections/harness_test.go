package collections

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/lsm"
	"github.com/stratadb/strata/vfs"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// smallDBOptions makes flushes and compactions frequent.
func smallDBOptions(fs vfs.FS, clock func() time.Time) *lsm.Options {
	return &lsm.Options{
		FS:                    fs,
		Clock:                 clock,
		MemtableSize:          32 << 10,
		BlockSize:             512,
		TargetFileSize:        32 << 10,
		BaseLevelSize:         128 << 10,
		L0CompactionTrigger:   2,
		TTLCompactionInterval: -1,
	}
}

// openTestStore opens a Store on an in-memory DB with a fake clock.
func openTestStore(t testing.TB) (*Store, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	db, err := lsm.Open("/db", smallDBOptions(vfs.NewMem(), clock.Now))
	require.NoError(t, err)
	s := NewWithOptions(db, &Options{Clock: clock.Now, ReclaimInterval: -1})
	t.Cleanup(func() {
		s.Close()
		db.Close()
	})
	return s, clock
}

// harness drives the Store and the model with the same random operations.
type harness struct {
	t     testing.TB
	r     *rand.Rand
	fs    *vfs.MemFS
	clock *fakeClock
	db    *lsm.DB
	s     *Store
	// c is what the operations run against: the Store, or the Tx of the
	// Update being built (inTx).
	c     Cmdable
	inTx  bool
	m     *model
	names []string
	elems []string
	step  int
	zfan  int   // rank-node fanout of the Store (0: the default)
	rdMin int64 // rangeDeleteMin of the Store (0: the default)
	// rangeDels counts the range deletes of the Stores closed so far.
	rangeDels int64
	zmem      int64 // Options.RankCacheSize
	metaSize  int64 // Options.MetaCacheSize
	sole      bool  // Options.SoleWriter
	// ops is the operation table, weighted; dataOps the ones an Update
	// may run (no engine operations).
	ops     []hop
	dataOps []hop
	// log of the last operations, printed on failure.
	log []string
}

type hop struct {
	name   string
	weight int
	fn     func(h *harness)
}

func newHarness(t testing.TB, seed uint64) *harness {
	h := &harness{t: t, r: rand.New(rand.NewPCG(seed, 7)), fs: vfs.NewMem(), clock: newFakeClock()}
	h.m = newModel(h.clock.Now)
	h.names = []string{"a", "b", "c", "k:1", "k:2", "", "\xffx", "\xff"}
	h.elems = []string{"", "f", "g", "h", "x1", "x2", "\x00", "\xff\xff", "long-element-" + string(bytes.Repeat([]byte("z"), 40))}
	h.open()
	return h
}

func (h *harness) open() {
	db, err := lsm.Open("/db", smallDBOptions(h.fs, h.clock.Now))
	require.NoError(h.t, err)
	h.db = db
	h.s = NewWithOptions(db, &Options{Clock: h.clock.Now, ReclaimInterval: -1, RankCacheSize: h.zmem,
		MetaCacheSize: h.metaSize, SoleWriter: h.sole})
	h.s.zfan = h.zfan
	h.s.rdMin = h.rdMin
	h.c = h.s
}

func (h *harness) close() {
	h.rangeDels += h.s.rangeDels.Load()
	require.NoError(h.t, h.s.Close())
	require.NoError(h.t, h.db.Close())
}

func (h *harness) reopen() {
	h.close()
	h.open()
}

func (h *harness) name() string { return h.names[h.r.IntN(len(h.names))] }
func (h *harness) elem() string { return h.elems[h.r.IntN(len(h.elems))] }
func (h *harness) rawName() string {
	for {
		n := h.name()
		if n != "" && n[0] != 0xFF {
			return n
		}
	}
}

func (h *harness) logf(format string, args ...any) {
	h.log = append(h.log, fmt.Sprintf("%d: ", h.step)+fmt.Sprintf(format, args...))
	if len(h.log) > 40 {
		h.log = h.log[1:]
	}
}

func (h *harness) fail(what string, got, want any) {
	h.t.Helper()
	var b bytes.Buffer
	for _, l := range h.log {
		fmt.Fprintln(&b, l)
	}
	h.t.Fatalf("step %d: %s:\n got  %#v\n want %#v\nlast operations:\n%s", h.step, what, got, want, b.String())
}

// eq compares a result and an error with the model's.
func (h *harness) eq(what string, got any, gerr error, want any, werr error) {
	h.t.Helper()
	if werr != nil || gerr != nil {
		if werr == nil || gerr == nil || !errors.Is(gerr, werr) {
			h.fail(what+" (error)", gerr, werr)
		}
		return
	}
	g, w := norm(got), norm(want)
	if fmt.Sprintf("%#v", g) != fmt.Sprintf("%#v", w) {
		h.fail(what, g, w)
	}
}

// norm turns byte slices into strings (nil stays distinct) so results
// compare by value.
func norm(v any) any {
	switch x := v.(type) {
	case []byte:
		if x == nil {
			return "<nil>"
		}
		return string(x)
	case [][]byte:
		out := make([]string, len(x))
		for i, b := range x {
			out[i] = norm(b).(string)
		}
		return out
	}
	return v
}

func bs(ss ...string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

// run performs n random steps, checking the whole state every so often.
func (h *harness) run(n int) {
	total := 0
	for _, op := range h.ops {
		total += op.weight
	}
	for i := 0; i < n; i++ {
		h.step++
		x := h.r.IntN(total)
		for _, op := range h.ops {
			if x < op.weight {
				op.fn(h)
				break
			}
			x -= op.weight
		}
		if h.step%50 == 0 {
			h.checkAll()
		}
	}
	h.checkAll()
}

var errAbort = errors.New("abort")

// updateOp runs a few random data operations in one Update, which aborts
// one time in four: the model must then be as before.
func updateOp() hop {
	return hop{"update", 4, func(h *harness) {
		before := h.m.clone()
		abort := h.r.IntN(4) == 0
		n := 1 + h.r.IntN(6)
		h.logf("UPDATE %d ops abort=%v {", n, abort)
		err := h.s.Update(func(tx *Tx) error {
			h.c, h.inTx = tx, true
			defer func() { h.c, h.inTx = h.s, false }()
			total := 0
			for _, op := range h.dataOps {
				total += op.weight
			}
			for i := 0; i < n; i++ {
				x := h.r.IntN(total)
				for _, op := range h.dataOps {
					if x < op.weight {
						op.fn(h)
						break
					}
					x -= op.weight
				}
			}
			if abort {
				return errAbort
			}
			return nil
		})
		h.logf("} UPDATE")
		if abort {
			if !errors.Is(err, errAbort) {
				h.fail("aborted Update", err, errAbort)
			}
			h.m = before
			return
		}
		if err != nil {
			h.fail("Update", err, nil)
		}
	}}
}

// engineOps are the operations on the engine under the Store: clock jumps,
// flushes, compactions, reopens, reclaims, and raw writes through the lsm
// door.
func engineOps() []hop {
	return []hop{
		{"advance", 6, func(h *harness) {
			d := time.Duration(h.r.IntN(3000)) * time.Millisecond
			h.logf("clock +%v", d)
			h.clock.Advance(d)
		}},
		{"flush", 1, func(h *harness) { h.logf("flush"); require.NoError(h.t, h.db.Flush()) }},
		{"compact", 1, func(h *harness) { h.logf("compact"); require.NoError(h.t, h.db.Compact(nil, nil)) }},
		{"reopen", 1, func(h *harness) { h.logf("reopen"); h.reopen() }},
		{"reclaim", 2, func(h *harness) {
			h.logf("reclaim")
			_, err := h.s.ReclaimExpired(1000)
			require.NoError(h.t, err)
		}},
		{"rawput", 2, func(h *harness) {
			k := h.rawName()
			if t := h.m.typeOf(k); t != TypeNone && t != TypeString {
				return // a raw put over a collection: see doc.go; tested apart
			}
			v := h.elem()
			h.logf("db.Put %q %q", k, v)
			require.NoError(h.t, h.db.Put([]byte(k), []byte(v)))
			h.m.keys[k] = &mval{typ: TypeString, str: v}
		}},
		{"rawdelrange", 1, func(h *harness) {
			// lsm's DeleteRange over raw names removes the strings stored
			// under them, and nothing of the package's space (0xFF...).
			bounds := []string{"a", "b", "c", "k", "k:1", "k:2", "k:3", "z", "\xff"}
			lo, hi := bounds[h.r.IntN(len(bounds))], bounds[h.r.IntN(len(bounds))]
			if lo >= hi {
				return
			}
			h.logf("db.DeleteRange %q %q", lo, hi)
			require.NoError(h.t, h.db.DeleteRange([]byte(lo), []byte(hi)))
			for k, v := range h.m.keys {
				if v.typ == TypeString && k != "" && k[0] != 0xFF && k >= lo && k < hi {
					delete(h.m.keys, k)
				}
			}
		}},
		{"rawget", 2, func(h *harness) {
			k := h.rawName()
			v, err := h.db.Get([]byte(k))
			mv := h.m.get(k)
			switch {
			case mv != nil && mv.typ == TypeString:
				h.eq("db.Get "+k, v, err, []byte(mv.str), nil)
			default:
				h.eq("db.Get "+k, v, err, nil, lsm.ErrNotFound)
			}
		}},
	}
}

// checkAll compares the whole keyspace with the model, and checks that no
// data is left of collections that are gone once expired ones are
// reclaimed.
func (h *harness) checkAll() {
	h.t.Helper()
	ki, err := h.s.Keys(nil)
	require.NoError(h.t, err)
	var names []string
	types := map[string]Type{}
	for ki.Next() {
		names = append(names, string(ki.Name()))
		types[string(ki.Name())] = ki.Type()
	}
	require.NoError(h.t, ki.Close())
	want := h.m.liveKeys()
	if fmt.Sprint(names) != fmt.Sprint(want) {
		h.fail("Keys", names, want)
	}
	n, err := h.s.DBSize()
	h.eq("DBSize", n, err, int64(len(want)), nil)
	for _, k := range want {
		v := h.m.get(k)
		if types[k] != v.typ {
			h.fail("type of "+k, types[k], v.typ)
		}
		h.checkKey(k)
		if err := h.s.CheckKey([]byte(k)); err != nil {
			h.fail("CheckKey "+k, err, nil)
		}
	}
}

// checkKey compares one key's whole value and TTL with the model.
func (h *harness) checkKey(k string) {
	h.t.Helper()
	v := h.m.get(k)
	key := []byte(k)
	ttl, err := h.c.TTL(key)
	switch {
	case v == nil:
		h.eq("TTL "+k, ttl, err, time.Duration(0), ErrNotFound)
		return
	case v.exp == 0:
		h.eq("TTL "+k, ttl, err, NoTTL, nil)
	default:
		h.eq("TTL "+k, ttl, err, time.Duration(v.exp-h.clock.Now().UnixNano()), nil)
	}
	switch v.typ {
	case TypeString:
		got, err := h.c.Get(key)
		h.eq("GET "+k, got, err, []byte(v.str), nil)
	case TypeHash:
		got, err := h.c.HGetAll(key)
		var want []string
		for _, f := range sortedKeys(v.hash) {
			want = append(want, f, v.hash[f])
		}
		h.eq("HGETALL "+k, got, err, bs(want...), nil)
		it, err := h.c.HIter(key)
		require.NoError(h.t, err)
		var streamed []string
		for it.Next() {
			streamed = append(streamed, string(it.Field()), string(it.Value()))
		}
		require.NoError(h.t, it.Close())
		if fmt.Sprint(streamed) != fmt.Sprint(want) {
			h.fail("HIter "+k, streamed, want)
		}
	case TypeSet:
		got, err := h.c.SMembers(key)
		h.eq("SMEMBERS "+k, got, err, bs(sortedKeys(v.set)...), nil)
	default:
		h.checkKeyMore(k, v)
	}
}

// checkKeyMore is extended by the list and sorted-set tests.
var checkKeyMoreHooks []func(h *harness, k string, v *mval)

func (h *harness) checkKeyMore(k string, v *mval) {
	for _, f := range checkKeyMoreHooks {
		f(h, k, v)
	}
}

// checkNoGarbage reclaims every expired collection and then requires every
// data key to belong to a live collection.
func (h *harness) checkNoGarbage() {
	h.t.Helper()
	for {
		n, err := h.s.ReclaimExpired(1 << 20)
		require.NoError(h.t, err)
		if n == 0 {
			break
		}
	}
	live := map[uint64]bool{}
	lo, hi := lsm.PrefixBounds(metaLo)
	it, err := h.db.NewIter(&lsm.IterOptions{LowerBound: lo, UpperBound: hi})
	require.NoError(h.t, err)
	for ok := it.First(); ok; ok = it.Next() {
		m, err := decodeMeta(it.Key(), it.Value())
		require.NoError(h.t, err)
		live[m.id] = true
	}
	require.NoError(h.t, it.Close())
	lo, hi = lsm.PrefixBounds([]byte{reservedByte, tagData})
	it, err = h.db.NewIter(&lsm.IterOptions{LowerBound: lo, UpperBound: hi})
	require.NoError(h.t, err)
	var orphans []string
	for ok := it.First(); ok; ok = it.Next() {
		id := idOf(it.Key())
		if !live[id] {
			orphans = append(orphans, fmt.Sprintf("%x", it.Key()))
		}
	}
	require.NoError(h.t, it.Close())
	sort.Strings(orphans)
	if len(orphans) > 0 {
		h.fail("data keys of dead collections", orphans, []string(nil))
	}
}

func idOf(dataKey []byte) uint64 {
	var id uint64
	for _, b := range dataKey[2:10] {
		id = id<<8 | uint64(b)
	}
	return id
}

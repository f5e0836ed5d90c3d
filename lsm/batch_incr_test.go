package lsm

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/vfs"
)

// batchOp is one operation of a batch in TestBatchIncrement's cases.
type batchOp struct {
	op         string // put, del, range, incr
	key, value string // value: a put's value, a range's end
	delta      int64
	opts       []WriteOption
}

// TestBatchIncrement: a batch's increments are computed by the commit
// leader against the key's newest state, the batch's own earlier writes of
// it included (a put, a covering range deletion, an earlier increment,
// with a map of the batch's keys once it has many entries), with
// DB.Increment's syntax, overflow, condition and TTL rules; Results gives
// the new values in order; a failing increment fails the whole batch and
// writes nothing of it.
func TestBatchIncrement(t *testing.T) {
	many := func(n int) []batchOp { // puts of m0..m<n-1> = "100"
		var ops []batchOp
		for i := range n {
			ops = append(ops, batchOp{op: "put", key: fmt.Sprintf("m%d", i), value: "100"})
		}
		return ops
	}
	cat := func(parts ...[]batchOp) []batchOp {
		var all []batchOp
		for _, p := range parts {
			all = append(all, p...)
		}
		return all
	}
	cases := []struct {
		name    string
		before  map[string]string // written with Put before the batch
		ops     []batchOp
		results []int64
		err     error
		after   map[string]string // "" = absent
	}{
		{
			name:    "absent keys count as zero",
			ops:     []batchOp{{op: "incr", key: "a", delta: 1}, {op: "incr", key: "b", delta: 5}},
			results: []int64{1, 5},
			after:   map[string]string{"a": "1", "b": "5"},
		},
		{
			name:    "existing values",
			before:  map[string]string{"a": "41", "b": "-3"},
			ops:     []batchOp{{op: "incr", key: "a", delta: 1}, {op: "incr", key: "b", delta: -7}},
			results: []int64{42, -10},
			after:   map[string]string{"a": "42", "b": "-10"},
		},
		{
			name:    "the same key twice sees its first increment",
			before:  map[string]string{"a": "10"},
			ops:     []batchOp{{op: "incr", key: "a", delta: 1}, {op: "incr", key: "a", delta: 1}, {op: "incr", key: "a", delta: -5}},
			results: []int64{11, 12, 7},
			after:   map[string]string{"a": "7"},
		},
		{
			name:    "an earlier put and delete of the batch",
			before:  map[string]string{"a": "10", "b": "20"},
			ops:     []batchOp{{op: "put", key: "a", value: "100"}, {op: "incr", key: "a", delta: 1}, {op: "del", key: "b"}, {op: "incr", key: "b", delta: 2}, {op: "put", key: "a", value: "x"}},
			results: []int64{101, 2},
			after:   map[string]string{"a": "x", "b": "2"},
		},
		{
			name:    "a covering range deletion, then a put after it",
			before:  map[string]string{"k1": "10", "k2": "20", "z": "30"},
			ops:     []batchOp{{op: "range", key: "k", value: "l"}, {op: "incr", key: "k1", delta: 1}, {op: "put", key: "k2", value: "5"}, {op: "incr", key: "k2", delta: 1}, {op: "incr", key: "z", delta: 1}},
			results: []int64{1, 6, 31},
			after:   map[string]string{"k1": "1", "k2": "6", "z": "31"},
		},
		{
			name:    "many entries: the map of the batch's keys",
			before:  map[string]string{"m5": "7", "x": "1"},
			ops:     cat(many(100), []batchOp{{op: "incr", key: "m50", delta: 1}, {op: "incr", key: "m50", delta: 1}, {op: "incr", key: "x", delta: 1}, {op: "range", key: "m5", value: "m6"}, {op: "incr", key: "m5", delta: 3}, {op: "incr", key: "m99", delta: -100}}),
			results: []int64{101, 102, 2, 3, 0},
			after:   map[string]string{"m50": "", "m5": "3", "m99": "0", "x": "2", "m1": "100"},
		},
		{
			name:   "not an integer fails the batch",
			before: map[string]string{"a": "1", "s": "abc"},
			ops:    []batchOp{{op: "incr", key: "a", delta: 1}, {op: "put", key: "p", value: "v"}, {op: "incr", key: "s", delta: 1}},
			err:    ErrNotInteger,
			after:  map[string]string{"a": "1", "p": "", "s": "abc"},
		},
		{
			name:    "a value ParseInt takes, without CanonicalInteger",
			before:  map[string]string{"a": "+07"},
			ops:     []batchOp{{op: "incr", key: "a", delta: 1}},
			results: []int64{8},
			after:   map[string]string{"a": "8"},
		},
		{
			name:   "CanonicalInteger refuses it",
			before: map[string]string{"a": "+07"},
			ops:    []batchOp{{op: "incr", key: "a", delta: 1, opts: []WriteOption{CanonicalInteger()}}},
			err:    ErrNotInteger,
			after:  map[string]string{"a": "+07"},
		},
		{
			name:   "overflow",
			before: map[string]string{"a": "9223372036854775806", "b": "1"},
			ops:    []batchOp{{op: "incr", key: "b", delta: 1}, {op: "incr", key: "a", delta: 1}, {op: "incr", key: "a", delta: 1}},
			err:    ErrInvalidArgument,
			after:  map[string]string{"a": "9223372036854775806", "b": "1"},
		},
		{
			name:   "IfPresent on an absent key",
			before: map[string]string{"a": "1"},
			ops:    []batchOp{{op: "incr", key: "a", delta: 1, opts: []WriteOption{IfPresent()}}, {op: "incr", key: "n", delta: 1, opts: []WriteOption{IfPresent()}}},
			err:    ErrConditionFailed,
			after:  map[string]string{"a": "1", "n": ""},
		},
		{
			name:    "IfAbsent and IfValue hold",
			before:  map[string]string{"a": "5"},
			ops:     []batchOp{{op: "incr", key: "n", delta: 2, opts: []WriteOption{IfAbsent()}}, {op: "incr", key: "a", delta: 1, opts: []WriteOption{IfValue([]byte("5"))}}, {op: "incr", key: "a", delta: 1, opts: []WriteOption{IfValue([]byte("6"))}}},
			results: []int64{2, 6, 7},
			after:   map[string]string{"a": "7", "n": "2"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := openMem(t, vfs.NewMem(), nil)
			defer db.Close()
			for k, v := range tc.before {
				require.NoError(t, db.Put([]byte(k), []byte(v)))
			}
			b := db.NewBatch()
			for _, op := range tc.ops {
				switch op.op {
				case "put":
					b.Put([]byte(op.key), []byte(op.value))
				case "del":
					b.Delete([]byte(op.key))
				case "range":
					b.DeleteRange([]byte(op.key), []byte(op.value))
				case "incr":
					b.Increment([]byte(op.key), op.delta, op.opts...)
				}
			}
			require.Equal(t, len(tc.ops), b.Len())
			err := db.Apply(b)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				require.Empty(t, b.Results())
			} else {
				require.NoError(t, err)
				require.Equal(t, tc.results, b.Results())
			}
			for k, want := range tc.after {
				got, err := db.Get([]byte(k))
				if want == "" {
					require.ErrorIs(t, err, ErrNotFound, "key %s", k)
					continue
				}
				require.NoError(t, err, "key %s", k)
				require.Equal(t, want, string(got), "key %s", k)
			}
		})
	}
}

// TestBatchIncrementTTL: a counter a batch creates gets WithTTL's expiry,
// one that exists keeps its own, and an expired one counts as absent.
func TestBatchIncrementTTL(t *testing.T) {
	clock := newFakeClock()
	db := openMem(t, vfs.NewMem(), &Options{Clock: clock.Now})
	defer db.Close()
	require.NoError(t, db.Put([]byte("old"), []byte("5"), WithTTL(time.Hour)))
	require.NoError(t, db.Put([]byte("gone"), []byte("9"), WithTTL(time.Second)))
	clock.Advance(2 * time.Second)
	b := db.NewBatch()
	b.Increment([]byte("new"), 1, WithTTL(time.Minute))
	b.Increment([]byte("old"), 1, WithTTL(time.Minute))
	b.Increment([]byte("gone"), 1)
	require.NoError(t, db.Apply(b))
	require.Equal(t, []int64{1, 6, 1}, b.Results())
	now := clock.Now()
	exp, err := db.Expiry([]byte("new"))
	require.NoError(t, err)
	require.Equal(t, now.Add(time.Minute).UnixNano(), exp.UnixNano())
	exp, err = db.Expiry([]byte("old"))
	require.NoError(t, err)
	require.Equal(t, now.Add(time.Hour-2*time.Second).UnixNano(), exp.UnixNano())
	exp, err = db.Expiry([]byte("gone"))
	require.NoError(t, err)
	require.True(t, exp.IsZero(), "an expired counter recreated keeps no expiry: %v", exp)
}

// TestBatchIncrementInvalid: a bad key or option is reported by Apply, and
// nothing of the batch is written.
func TestBatchIncrementInvalid(t *testing.T) {
	db := openMem(t, vfs.NewMem(), nil)
	defer db.Close()
	for name, add := range map[string]func(b *Batch){
		"empty key":    func(b *Batch) { b.Increment(nil, 1) },
		"long key":     func(b *Batch) { b.Increment(make([]byte, MaxKeySize+1), 1) },
		"two conds":    func(b *Batch) { b.Increment([]byte("k"), 1, IfAbsent(), IfPresent()) },
		"negative TTL": func(b *Batch) { b.Increment([]byte("k"), 1, WithTTL(-time.Second)) },
	} {
		b := db.NewBatch()
		b.Put([]byte("p"), []byte("v"))
		add(b)
		require.ErrorIs(t, db.Apply(b), ErrInvalidArgument, name)
		_, err := db.Get([]byte("p"))
		require.ErrorIs(t, err, ErrNotFound, name)
	}
}

// TestBatchIncrementAppliedAgainAndReplayed: applying a batch again
// increments again (Results follow), a Reset batch is reusable, and what
// a batch's increments wrote comes back from the WAL after a reopen (the
// record holds plain entries).
func TestBatchIncrementAppliedAgainAndReplayed(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, nil)
	b := db.NewBatch()
	b.Increment([]byte("c"), 2)
	b.Put([]byte("p"), []byte("v"))
	b.Increment([]byte("d"), -1)
	require.NoError(t, db.Apply(b))
	require.Equal(t, []int64{2, -1}, b.Results())
	require.NoError(t, db.Apply(b))
	require.Equal(t, []int64{4, -2}, b.Results())
	b.Reset()
	require.Empty(t, b.Results())
	b.Increment([]byte("c"), 10)
	require.NoError(t, db.Apply(b))
	require.Equal(t, []int64{14}, b.Results())
	require.NoError(t, db.Close())

	db = openMem(t, fs, nil)
	defer db.Close()
	for k, want := range map[string]string{"c": "14", "d": "-2", "p": "v"} {
		got, err := db.Get([]byte(k))
		require.NoError(t, err)
		require.Equal(t, want, string(got), k)
	}
}

// TestBatchIncrementOneCommit: a batch of 16 increments is one commit group
// (DB.Increment would be 16), and concurrent batches and single increments
// of the same counters lose no increment: each increment sees the ones
// committed before it, in the group and in the DB.
func TestBatchIncrementOneCommit(t *testing.T) {
	db := openMem(t, vfs.NewMem(), nil)
	defer db.Close()
	b := db.NewBatch()
	for i := range 16 {
		b.Increment([]byte("c"+strconv.Itoa(i)), 1)
	}
	before := db.Metrics().CommitGroups
	require.NoError(t, db.Apply(b))
	require.Equal(t, int64(1), db.Metrics().CommitGroups-before)

	const workers, rounds = 8, 200
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := db.NewBatch()
			for range rounds {
				if w%2 == 0 {
					if _, err := db.Increment([]byte("c0"), 1); err != nil {
						errs <- err
						return
					}
					continue
				}
				b.Reset()
				b.Increment([]byte("c0"), 1)
				b.Increment([]byte("c1"), 1)
				b.Increment([]byte("c0"), 1)
				if err := db.Apply(b); err != nil {
					errs <- err
					return
				}
				if r := b.Results(); r[2] != r[0]+1 {
					errs <- fmt.Errorf("results %v: the second increment of c0 did not see the first", r)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	// c0: 1, plus 4 workers x 200 single increments, plus 4 x 200 x 2.
	got, err := db.Get([]byte("c0"))
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(1+workers/2*rounds*3), string(got))
	got, err = db.Get([]byte("c1"))
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(1+workers/2*rounds), string(got))
}

// TestBatchIncrementAllocs: a reused batch of 16 increments of existing
// counters, applied, allocates nothing once its buffers have grown: the
// splice goes into the pooled request's buffer and the batch's scratch.
func TestBatchIncrementAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	db := openMem(t, vfs.NewMem(), nil)
	defer db.Close()
	var ks [16][]byte
	for i := range ks {
		ks[i] = []byte("counter:" + strconv.Itoa(i))
	}
	b := db.NewBatch()
	run := func() {
		b.Reset()
		for _, k := range ks {
			b.Increment(k, 1)
		}
		if err := db.Apply(b); err != nil {
			t.Fatal(err)
		}
	}
	run()
	if n := testing.AllocsPerRun(200, run); n > 0 {
		t.Errorf("%.1f allocations per batch of 16 increments, want 0", n)
	}
}

// TestBatchIncrementModel: random batches of puts, deletes, range
// deletions and increments over a few keys, some past 64 entries (the map
// of the batch's keys), applied to a DB and to a map that runs each
// operation in order: the same results, the same failures (a failing
// batch changes nothing) and the same data after every batch.
func TestBatchIncrementModel(t *testing.T) {
	db := openMem(t, vfs.NewMem(), nil)
	defer db.Close()
	r := rand.New(rand.NewPCG(3, 4))
	names := []string{"a", "b", "c", "d", "e", "f"}
	model := map[string]string{}
	rounds := 300
	if testing.Short() {
		rounds = 100
	}
	var fails int
	for round := range rounds {
		b := db.NewBatch()
		next := maps.Clone(model)
		var want []int64
		var wantErr error
		ops := 1 + r.IntN(8)
		if r.IntN(4) == 0 {
			ops = 60 + r.IntN(20)
		}
		var log []string
		for range ops {
			k := names[r.IntN(len(names))]
			switch r.IntN(6) {
			case 0:
				v := strconv.Itoa(r.IntN(20) - 10)
				if r.IntN(8) == 0 {
					v = "x" // not an integer
				}
				b.Put([]byte(k), []byte(v))
				next[k] = v
				log = append(log, "put "+k+"="+v)
			case 1:
				b.Delete([]byte(k))
				delete(next, k)
				log = append(log, "del "+k)
			case 2:
				hi := names[r.IntN(len(names))]
				if hi <= k {
					continue
				}
				b.DeleteRange([]byte(k), []byte(hi))
				for n := range next {
					if n >= k && n < hi {
						delete(next, n)
					}
				}
				log = append(log, "range "+k+"-"+hi)
			default:
				d := int64(r.IntN(7) - 3)
				b.Increment([]byte(k), d)
				log = append(log, fmt.Sprintf("incr %s %d", k, d))
				if wantErr != nil {
					continue
				}
				var cur int64
				if v, ok := next[k]; ok {
					n, err := strconv.ParseInt(v, 10, 64)
					if err != nil {
						wantErr = ErrNotInteger
						continue
					}
					cur = n
				}
				next[k] = strconv.FormatInt(cur+d, 10)
				want = append(want, cur+d)
			}
		}
		err := db.Apply(b)
		what := fmt.Sprintf("round %d: %v", round, log)
		if wantErr != nil {
			fails++
			require.ErrorIs(t, err, wantErr, what)
		} else {
			require.NoError(t, err, what)
			require.Equal(t, len(want), len(b.Results()), what)
			if len(want) > 0 {
				require.Equal(t, want, b.Results(), what)
			}
			model = next
		}
		for _, k := range names {
			got, err := db.Get([]byte(k))
			if v, ok := model[k]; ok {
				require.NoError(t, err, what)
				require.Equal(t, v, string(got), "%s: key %s", what, k)
			} else {
				require.ErrorIs(t, err, ErrNotFound, "%s: key %s", what, k)
			}
		}
	}
	require.Greater(t, fails, 5)
	require.Less(t, fails, rounds/2)
}

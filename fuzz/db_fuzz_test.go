package fuzz

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stratadb/strata/internal/vfs"
	"github.com/stratadb/strata/lsm"
)

type fuzzClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fuzzClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fuzzClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type modelEntry struct {
	value  string
	expiry time.Time // zero: never
}

// FuzzDB runs a random script of operations (puts with and without TTL,
// deletes, range deletes, conditional writes, counters, batches, clock
// jumps, flushes, compactions, reopens) against the DB and a plain map, and
// requires every read to agree.
func FuzzDB(f *testing.F) {
	f.Add([]byte{0, 1, 5, 1, 3, 2, 4, 7, 200, 5, 2, 11})
	f.Add([]byte{0, 1, 0, 2, 8, 4, 1, 9, 5, 1, 10, 5, 2, 11})
	f.Add([]byte{6, 3, 6, 3, 5, 3, 0, 3, 6, 3, 12, 3, 4, 10, 6, 3})
	f.Add([]byte{3, 1, 5, 3, 2, 9, 7, 30, 5, 1, 5, 2, 9, 11, 10, 11})
	f.Add([]byte{0, 1, 0, 2, 0, 3, 0, 4, 8, 4, 2, 8, 12, 1, 9, 11, 10, 11})
	f.Add([]byte{0, 1, 0, 5, 0, 9, 8, 13, 2, 7, 5, 4, 11, 0, 6, 14, 3, 8, 1, 11, 9, 11, 10, 11})
	f.Fuzz(func(t *testing.T, script []byte) {
		if len(script) > 600 {
			script = script[:600]
		}
		runScript(t, script)
	})
}

func runScript(t *testing.T, script []byte) {
	fs := vfs.NewMem()
	clock := &fuzzClock{t: time.Unix(1_700_000_000, 0)}
	memtable := int64(4 << 10)
	if len(script)%2 == 1 {
		// Staged: 4 KiB fronts copied into the main list in the background.
		memtable = 64 << 10
	}
	opts := func() *lsm.Options {
		return &lsm.Options{FS: fs, Clock: clock.now, MemtableSize: memtable, BlockSize: 256,
			TargetFileSize: 4 << 10, BaseLevelSize: 16 << 10, L0CompactionTrigger: 2,
			TTLCompactionInterval: -1}
	}
	db, err := lsm.Open("/db", opts())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()
	model := map[string]modelEntry{}
	live := func(k string) (modelEntry, bool) {
		e, ok := model[k]
		if !ok || (!e.expiry.IsZero() && !clock.now().Before(e.expiry)) {
			return modelEntry{}, false
		}
		return e, true
	}
	pos := 0
	next := func() byte {
		if pos >= len(script) {
			return 0
		}
		b := script[pos]
		pos++
		return b
	}
	key := func() string { return fmt.Sprintf("k%02d", next()%24) }
	for step := 0; pos < len(script); step++ {
		op := next() % 15
		switch op {
		case 0, 1, 2:
			k := key()
			v := fmt.Sprintf("v%d-%0*d", step, int(next()%64), 0)
			must(t, db.Put([]byte(k), []byte(v)))
			model[k] = modelEntry{value: v}
		case 3:
			k, ttl := key(), time.Duration(1+next()%16)*time.Second
			v := fmt.Sprintf("t%d", step)
			must(t, db.Put([]byte(k), []byte(v), lsm.WithTTL(ttl)))
			model[k] = modelEntry{value: v, expiry: clock.now().Add(ttl)}
		case 4:
			k := key()
			must(t, db.Delete([]byte(k)))
			delete(model, k)
		case 5:
			k := key()
			got, err := db.Get([]byte(k))
			want, ok := live(k)
			if ok && (err != nil || string(got) != want.value) {
				t.Fatalf("step %d: get %s = %q, %v; want %q", step, k, got, err, want.value)
			}
			if !ok && !errors.Is(err, lsm.ErrNotFound) {
				t.Fatalf("step %d: get %s = %q, %v; want not found", step, k, got, err)
			}
		case 6:
			k := key()
			n, err := db.Increment([]byte(k), 1)
			cur, ok := live(k)
			switch {
			case !ok:
				if err != nil || n != 1 {
					t.Fatalf("step %d: incr new %s = %d, %v", step, k, n, err)
				}
				model[k] = modelEntry{value: "1"}
			default:
				old, perr := strconv.ParseInt(cur.value, 10, 64)
				if perr != nil {
					if !errors.Is(err, lsm.ErrNotInteger) {
						t.Fatalf("step %d: incr of %q: %v", step, cur.value, err)
					}
					break
				}
				if err != nil || n != old+1 {
					t.Fatalf("step %d: incr %s = %d, %v; want %d", step, k, n, err, old+1)
				}
				model[k] = modelEntry{value: strconv.FormatInt(n, 10), expiry: cur.expiry}
			}
		case 7:
			clock.advance(time.Duration(next()%20) * time.Second)
		case 8:
			must(t, db.Flush())
		case 9:
			must(t, db.Compact(nil, nil))
		case 10:
			must(t, db.Close())
			db, err = lsm.Open("/db", opts())
			must(t, err)
		case 11:
			checkScan(t, db, model, live, step)
		case 12:
			// A conditional batch: put a only if b is absent.
			a, b := key(), key()
			batch := db.NewBatch()
			v := fmt.Sprintf("b%d", step)
			batch.Put([]byte(a), []byte(v))
			batch.Put([]byte(b), []byte(v), lsm.IfAbsent())
			err := db.Apply(batch)
			if _, present := live(b); present {
				if !errors.Is(err, lsm.ErrConditionFailed) {
					t.Fatalf("step %d: batch with failing condition: %v", step, err)
				}
			} else {
				must(t, err)
				model[a] = modelEntry{value: v}
				model[b] = modelEntry{value: v}
			}
		case 13:
			start, end := key(), key()
			err := db.DeleteRange([]byte(start), []byte(end))
			if start >= end {
				if !errors.Is(err, lsm.ErrInvalidArgument) {
					t.Fatalf("step %d: DeleteRange(%s, %s) = %v, want ErrInvalidArgument", step, start, end, err)
				}
				break
			}
			must(t, err)
			for k := range model {
				if k >= start && k < end {
					delete(model, k)
				}
			}
		case 14:
			// A batch: a range delete, then a conditional put inside it
			// (judged before the batch) and a put after it.
			start, end, c := key(), key(), key()
			if start >= end {
				start, end = end, start+"\x00"
			}
			batch := db.NewBatch()
			v := fmt.Sprintf("r%d", step)
			batch.DeleteRange([]byte(start), []byte(end))
			batch.Put([]byte(c), []byte(v), lsm.IfAbsent())
			err := db.Apply(batch)
			if _, present := live(c); present {
				if !errors.Is(err, lsm.ErrConditionFailed) {
					t.Fatalf("step %d: batch with failing condition: %v", step, err)
				}
				break
			}
			must(t, err)
			for k := range model {
				if k >= start && k < end {
					delete(model, k)
				}
			}
			model[c] = modelEntry{value: v}
		}
	}
	checkScan(t, db, model, live, -1)
	must(t, db.Verify())
}

func checkScan(t *testing.T, db *lsm.DB, model map[string]modelEntry, live func(string) (modelEntry, bool), step int) {
	var want []string
	for k := range model {
		if e, ok := live(k); ok {
			want = append(want, k+"="+e.value)
		}
	}
	sort.Strings(want)
	it, err := db.NewIter(nil)
	must(t, err)
	var got []string
	for ok := it.First(); ok; ok = it.Next() {
		got = append(got, string(it.Key())+"="+string(it.Value()))
	}
	var back []string
	for ok := it.Last(); ok; ok = it.Prev() {
		back = append([]string{string(it.Key()) + "=" + string(it.Value())}, back...)
	}
	must(t, it.Close())
	if fmt.Sprint(got) != fmt.Sprint(want) || fmt.Sprint(back) != fmt.Sprint(want) {
		t.Fatalf("step %d: scan\n got  %v\n back %v\n want %v", step, got, back, want)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

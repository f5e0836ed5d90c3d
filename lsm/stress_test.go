package lsm

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/vfs"
)

// TestConcurrentStress runs writers, readers, iterators, snapshots, flushes
// and compactions at once (run it under -race). Each writer owns its keys and
// writes increasing versions, so every reader can check what it sees: a
// key's version never goes backwards for a reader, an iterator sees keys in
// order, and a snapshot's view never changes.
func TestConcurrentStress(t *testing.T) {
	fs := vfs.NewMem()
	o := smallOpts(fs)
	o.MemtableSize = 16 << 10
	o.CompactionConcurrency = 2
	db := openMem(t, fs, o)
	goroutinesBefore := runtime.NumGoroutine()

	const writers, keysPerWriter = 4, 200
	duration := 3 * time.Second
	if testing.Short() {
		duration = time.Second
	}
	var stop atomic.Bool
	var latest [writers][keysPerWriter]atomic.Int64 // last acknowledged version per key
	var wg sync.WaitGroup
	fail := func(format string, args ...any) {
		t.Errorf(format, args...)
		stop.Store(true)
	}
	key := func(w, k int) []byte { return []byte(fmt.Sprintf("w%d-k%03d", w, k)) }
	parse := func(v []byte) int64 {
		var n int64
		fmt.Sscanf(string(v), "v%d", &n)
		return n
	}
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for v := int64(1); !stop.Load(); v++ {
				k := r.IntN(keysPerWriter)
				val := []byte(fmt.Sprintf("v%d-%s", v, bytes.Repeat([]byte("x"), r.IntN(64))))
				var err error
				if r.IntN(10) == 0 {
					b := db.NewBatch()
					b.Put(key(w, k), val)
					b.Put(key(w, (k+1)%keysPerWriter), val)
					err = db.Apply(b)
					if err == nil {
						latest[w][(k+1)%keysPerWriter].Store(v)
					}
				} else {
					err = db.Put(key(w, k), val)
				}
				if err != nil {
					fail("writer %d: %v", w, err)
					return
				}
				latest[w][k].Store(v)
			}
		}(w)
	}
	// Readers: a Get never returns a version older than one acknowledged
	// before it started.
	for rd := 0; rd < 2; rd++ {
		wg.Add(1)
		go func(rd int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(rd), 2))
			for !stop.Load() {
				w, k := r.IntN(writers), r.IntN(keysPerWriter)
				floor := latest[w][k].Load()
				v, err := db.Get(key(w, k))
				if floor == 0 {
					continue
				}
				if err != nil {
					fail("reader: get %s: %v (version %d acknowledged)", key(w, k), err, floor)
					return
				}
				if got := parse(v); got < floor {
					v2, err2 := db.Get(key(w, k))
					fail("reader: %s went back to v%d after v%d; again: %.8s %v\n%s", key(w, k), got, floor, v2, err2, describeKey(db, string(key(w, k))))
					return
				}
			}
		}(rd)
	}
	// Iterators and snapshots: ordered keys; a snapshot reads the same twice.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			s := db.NewSnapshot()
			first := map[string]string{}
			it, err := s.NewIter(nil)
			if err != nil {
				fail("snapshot iter: %v", err)
				return
			}
			var prev []byte
			for ok := it.First(); ok; ok = it.Next() {
				if prev != nil && bytes.Compare(prev, it.Key()) >= 0 {
					fail("iterator out of order: %q then %q", prev, it.Key())
				}
				prev = append(prev[:0], it.Key()...)
				first[string(it.Key())] = string(it.Value())
			}
			if err := it.Close(); err != nil {
				fail("iter close: %v", err)
			}
			time.Sleep(20 * time.Millisecond) // let flushes and compactions happen
			it, _ = s.NewIter(nil)
			n := 0
			for ok := it.First(); ok; ok = it.Next() {
				if first[string(it.Key())] != string(it.Value()) {
					fail("snapshot changed at %q", it.Key())
				}
				n++
			}
			it.Close()
			if n != len(first) {
				fail("snapshot saw %d keys, then %d", len(first), n)
			}
			s.Close()
		}
	}()
	// Maintenance: flushes and compactions from the outside too.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			var err error
			if i%5 == 4 {
				err = db.Compact(nil, nil)
			} else {
				err = db.Flush()
			}
			if err != nil {
				fail("maintenance: %v", err)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	time.Sleep(duration)
	stop.Store(true)
	wg.Wait()
	m := db.Metrics()
	t.Logf("flushes=%d compactions=%d stalls=%d", m.Flushes, m.Compactions, m.WriteStalls)
	// Final check: every key holds its last acknowledged version.
	for w := 0; w < writers; w++ {
		for k := 0; k < keysPerWriter; k++ {
			want := latest[w][k].Load()
			if want == 0 {
				continue
			}
			v, err := db.Get(key(w, k))
			require.NoError(t, err)
			require.Equal(t, want, parse(v), "%s", key(w, k))
		}
	}
	require.NoError(t, db.Verify())
	require.NoError(t, db.Close())
	// No goroutine of the DB outlives Close.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > goroutinesBefore && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	require.LessOrEqual(t, runtime.NumGoroutine(), goroutinesBefore, "goroutines leaked by Close")
}

// describeKey describes, for a failure message, every version of key in every source of the current
// read state.
func describeKey(db *DB, k string) string {
	var b strings.Builder
	rs, _ := db.loadReadState()
	defer rs.release()
	fmt.Fprintf(&b, "visible seq %d\n", db.visibleSeq.Load())
	for l, files := range rs.v.Levels {
		for _, f := range files {
			r, rel, err := db.tableCache.Get(f.FileNum, int64(f.Size))
			if err != nil {
				fmt.Fprintf(&b, "L%d %06d: %v\n", l, f.FileNum, err)
				continue
			}
			it := r.NewIter()
			for ok := it.First(); ok; ok = it.Next() {
				if string(keys.UserKey(it.Key())) == k {
					fmt.Fprintf(&b, "L%d %06d %s = %.8s\n", l, f.FileNum, keys.Format(it.Key()), it.Value())
				}
			}
			it.Close()
			rel.Release()
		}
	}
	for i, m := range append(append([]*memTable{}, rs.imm...), rs.mem) {
		it := m.mt.NewIter()
		for ok := it.First(); ok; ok = it.Next() {
			if string(keys.UserKey(it.Key())) == k {
				fmt.Fprintf(&b, "mem%d(wal %d) %s = %.8s\n", i, m.walNum, keys.Format(it.Key()), it.Value())
			}
		}
	}
	return b.String()
}

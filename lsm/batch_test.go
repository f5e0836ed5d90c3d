package lsm

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/batchrepr"
	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/vfs"
)

// TestBatchRecordIsEncodedAsOperationsAreAdded: a batch's record is the WAL
// record of its operations in order, a TTL's expiry stamped from the clock
// of each Apply (so applying again later gives a later expiry), and the
// commit pipeline neither keeps nor reuses the record once Apply returns:
// puts that go through pooled commit requests afterwards leave it as it was.
func TestBatchRecordIsEncodedAsOperationsAreAdded(t *testing.T) {
	clock := newFakeClock()
	db := openMem(t, vfs.NewMem(), &Options{Clock: clock.Now})
	defer db.Close()
	b := db.NewBatch()
	b.Put([]byte("a"), []byte("1"))
	b.Put([]byte("t"), []byte("ttl"), WithTTL(time.Minute))
	b.Delete([]byte("d"))
	b.DeleteRange([]byte("m"), []byte("n"))
	b.PutItem([]byte("p"), []byte("s"), []byte("item"))

	type entry struct {
		seq    keys.SeqNum
		kind   keys.Kind
		key    string
		value  string
		expiry int64
	}
	decode := func() []entry {
		var got []entry
		_, _, err := batchrepr.Decode(b.repr, "batch", 0, func(seq keys.SeqNum, e batchrepr.Entry) error {
			x := entry{seq: seq, kind: e.Kind, key: string(e.Key), value: string(e.Value)}
			if e.Kind == keys.KindSetExpiry {
				exp, v, _ := keys.SplitExpiryValue(e.Value)
				x.expiry, x.value = exp, string(v)
			}
			got = append(got, x)
			return nil
		})
		require.NoError(t, err)
		return got
	}
	item := string(ItemKey([]byte("p"), []byte("s")))
	want := func(seq keys.SeqNum, now time.Time) []entry {
		return []entry{
			{seq, keys.KindSet, "a", "1", 0},
			{seq + 1, keys.KindSetExpiry, "t", "ttl", keys.ExpiryAt(now, time.Minute)},
			{seq + 2, keys.KindDelete, "d", "", 0},
			{seq + 3, keys.KindRangeDelete, "m", "n", 0},
			{seq + 4, keys.KindSet, item, "item", 0},
		}
	}

	require.NoError(t, db.Apply(b))
	first := decode()
	require.Equal(t, want(first[0].seq, clock.Now()), first)
	exp, err := db.Expiry([]byte("t"))
	require.NoError(t, err)
	require.Equal(t, clock.Now().Add(time.Minute), exp)

	record := string(b.repr)
	for i := range 100 {
		require.NoError(t, db.Put([]byte{'x', byte(i)}, make([]byte, 300)))
	}
	require.Equal(t, record, string(b.repr), "the pipeline reused the batch's record")

	clock.Advance(time.Hour) // t expired
	_, err = db.Get([]byte("t"))
	require.ErrorIs(t, err, ErrNotFound)
	require.NoError(t, db.Apply(b))
	second := decode()
	require.Equal(t, want(second[0].seq, clock.Now()), second)
	require.Greater(t, second[0].seq, first[0].seq+4)
	v, err := db.Get([]byte("t"))
	require.NoError(t, err)
	require.Equal(t, "ttl", string(v), "applied again, the TTL counts from the second Apply")
}

// TestBatchConditionsKeepTheirValues: an IfValue's value is judged, not
// written, and a batch mixing conditions and TTLs writes the TTL from the
// commit's clock.
func TestBatchConditionsKeepTheirValues(t *testing.T) {
	clock := newFakeClock()
	db := openMem(t, vfs.NewMem(), &Options{Clock: clock.Now})
	defer db.Close()
	require.NoError(t, db.Put([]byte("k"), []byte("old")))
	b := db.NewBatch()
	b.Put([]byte("k"), []byte("new"), IfValue([]byte("old")), WithTTL(time.Minute))
	b.Put([]byte("other"), []byte("o"), IfAbsent())
	clock.Advance(time.Second)
	require.NoError(t, db.Apply(b))
	v, err := db.Get([]byte("k"))
	require.NoError(t, err)
	require.Equal(t, "new", string(v))
	exp, err := db.Expiry([]byte("k"))
	require.NoError(t, err)
	require.Equal(t, clock.Now().Add(time.Minute), exp)
	require.ErrorIs(t, db.Apply(b), ErrConditionFailed, "k now holds new, not old")
	b.Reset()
	require.NoError(t, db.Apply(b), "a reset batch is empty")
	b.Put([]byte("k"), []byte("newer"), IfValue([]byte("new")))
	require.NoError(t, db.Apply(b))
	v, err = db.Get([]byte("k"))
	require.NoError(t, err)
	require.Equal(t, "newer", string(v))
}

// TestBatchesInKeyOrder applies batches of every shape the commit leader
// tells apart (groupOrderOf): sorted ones that append to the memtable,
// sorted ones among its keys, unsorted ones, ones writing a key twice, and
// ones with a range deletion, through memtables small enough to rotate and
// flush. The DB must match a model throughout, and only the batches not in
// ascending key order may have their inserts shared with the apply helper:
// the sorted ones are inserted in order by the leader.
func TestBatchesInKeyOrder(t *testing.T) {
	db := openMem(t, vfs.NewMem(), &Options{MemtableSize: 1 << 20, TTLCompactionInterval: -1})
	r := rand.New(rand.NewPCG(7, 8))
	model := map[string]string{}
	var unordered int64
	next := 0
	for i := range 400 {
		b := db.NewBatch()
		n := 1 + r.IntN(120)
		var ks []string
		shape := r.IntN(5)
		for range n {
			var k string
			if shape == 0 {
				next++
				k = fmt.Sprintf("b%08d", next) // after every key so far
			} else {
				k = fmt.Sprintf("a%05d", r.IntN(20000))
			}
			if !slices.Contains(ks, k) {
				ks = append(ks, k)
			}
		}
		if shape <= 1 {
			slices.Sort(ks)
		}
		if shape == 3 {
			ks = append(ks, ks[0]) // the same key twice: its second value wins
		}
		for j, k := range ks {
			if r.IntN(10) == 0 {
				b.Delete([]byte(k))
				delete(model, k)
				continue
			}
			v := fmt.Sprintf("%s-%d-%d", k, i, j)
			b.Put([]byte(k), []byte(v))
			model[k] = v
		}
		if shape == 4 {
			lo := fmt.Sprintf("a%05d", r.IntN(20000))
			hi := lo + "5"
			b.DeleteRange([]byte(lo), []byte(hi))
			for k := range model {
				if k >= lo && k < hi {
					delete(model, k)
				}
			}
		}
		ordered := shape <= 1 || len(ks) == 1 && shape != 4
		if !ordered && b.Len() >= parallelApplyMin {
			unordered++
		}
		require.NoError(t, db.Apply(b))
		if i%50 == 49 {
			require.Equal(t, modelScan(model), dbScan(t, db), "after batch %d", i)
		}
	}
	require.Equal(t, modelScan(model), dbScan(t, db))
	if db.applyc != nil {
		require.Equal(t, unordered, db.Metrics().ParallelApplies, "groups inserted by two goroutines")
	}
}

package memtable

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/keys"
)

// indexModel is what a memtable must answer: every version of every key.
type indexModel map[string][]keys.SeqNum // versions in insertion order

// newest returns the largest version of k at or below seq.
func (md indexModel) newest(k string, seq keys.SeqNum) (keys.SeqNum, bool) {
	var best keys.SeqNum
	found := false
	for _, v := range md[k] {
		if v <= seq && (!found || v > best) {
			best, found = v, true
		}
	}
	return best, found
}

// checkIndexAgainst requires, for every key of md, that the index holds its
// newest version (when it holds the key at all) and that Lookup at the
// newest version, below it and at a random older one answers as md does.
// It returns how many keys the index holds.
func checkIndexAgainst(t *testing.T, m *Memtable, md indexModel, r *rand.Rand) int {
	t.Helper()
	indexed := 0
	for k, vs := range md {
		top, _ := md.newest(k, keys.MaxSeq)
		if n, trailer, ok := m.list.idx.find(&m.list.arena, filterHash([]byte(k)), []byte(k)); ok {
			indexed++
			require.Equal(t, top, keys.SeqNum(trailer>>8), "%q: the index must hold the newest version", k)
			require.Equal(t, fmt.Sprintf("%s@%d", k, top), string(m.list.arena.value(n)))
		}
		for _, seq := range []keys.SeqNum{keys.MaxSeq, top, top - 1, vs[r.IntN(len(vs))], 0} {
			want, wok := md.newest(k, seq)
			got, kind, v, ok := m.Lookup([]byte(k), seq)
			require.Equal(t, wok, ok, "%q at %d", k, seq)
			if ok {
				require.Equal(t, want, got, "%q at %d", k, seq)
				require.Equal(t, keys.KindSet, kind)
				require.Equal(t, fmt.Sprintf("%s@%d", k, want), string(v))
			}
		}
	}
	return indexed
}

// TestIndexHoldsTheNewestVersion: keys written many times, in a random
// order of sequence numbers (as Add allows), by each way of adding; the
// index holds every key at its newest version, and a lookup at any
// sequence number (older snapshots fall back to the skiplist) answers as
// the model does.
func TestIndexHoldsTheNewestVersion(t *testing.T) {
	for _, mode := range []string{"add", "staged", "concurrent"} {
		t.Run(mode, func(t *testing.T) {
			var m *Memtable
			if mode == "staged" {
				m = NewStaged(4<<20, 64<<10)
			} else {
				m = New(4 << 20)
			}
			defer m.Release()
			r := rand.New(rand.NewPCG(3, 4))
			const nkeys, nwrites = 500, 20000
			seqs := r.Perm(nwrites) // each write's sequence number, less one
			md := indexModel{}
			add := func(i int) error {
				k := fmt.Sprintf("key-%05d", (i*7919)%nkeys)
				seq := keys.SeqNum(seqs[i] + 1)
				return m.Add([]byte(k), seq, keys.KindSet, fmt.Appendf(nil, "%s@%d", k, seq))
			}
			if mode == "concurrent" {
				var wg sync.WaitGroup
				errs := make([]error, 4)
				for w := range errs {
					wg.Go(func() {
						for i := w; i < nwrites && errs[w] == nil; i += 4 {
							k := fmt.Sprintf("key-%05d", (i*7919)%nkeys)
							seq := keys.SeqNum(seqs[i] + 1)
							errs[w] = m.AddConcurrent([]byte(k), seq, keys.KindSet, fmt.Appendf(nil, "%s@%d", k, seq))
						}
					})
				}
				wg.Wait()
				for _, err := range errs {
					require.NoError(t, err)
				}
			} else {
				for i := range nwrites {
					require.NoError(t, add(i))
				}
			}
			if mode == "staged" {
				require.NoError(t, m.Finish())
			}
			for i := range nwrites {
				k := fmt.Sprintf("key-%05d", (i*7919)%nkeys)
				md[k] = append(md[k], keys.SeqNum(seqs[i]+1))
			}
			indexed := checkIndexAgainst(t, m, md, r)
			require.Equal(t, nkeys, indexed, "an index with room holds every key")
		})
	}
}

// TestIndexFullFallsBack: a memtable holds more keys than its index has
// slots (cut to 4096 of them); the keys left out of it are still found, by
// the skiplist.
func TestIndexFullFallsBack(t *testing.T) {
	m := New(1 << 20)
	defer m.Release()
	m.list.idx.mask = 4096 - 1
	r := rand.New(rand.NewPCG(5, 6))
	md := indexModel{}
	for seq := keys.SeqNum(1); ; seq++ {
		k := fmt.Sprintf("%08x", r.Uint32())
		if _, dup := md[k]; dup {
			continue
		}
		err := m.Add([]byte(k), seq, keys.KindSet, fmt.Appendf(nil, "%s@%d", k, seq))
		if err == ErrFull {
			break
		}
		require.NoError(t, err)
		md[k] = append(md[k], seq)
	}
	slots := int(m.list.idx.mask) + 1
	require.Greater(t, len(md), slots, "the table must hold more keys than the index has slots")
	indexed := checkIndexAgainst(t, m, md, r)
	require.Less(t, indexed, len(md))
	require.Greater(t, indexed, slots/2, "most slots are filled before probe runs give out")
	t.Logf("%d keys, %d slots, %d indexed", len(md), slots, indexed)
}

// TestIndexTagsCollide: with the tag bits of the index cut to one, most
// probes meet other keys' slots with the same tag, and the key comparison
// behind the tag must still tell them apart.
func TestIndexTagsCollide(t *testing.T) {
	m := New(2 << 20)
	defer m.Release()
	m.list.idx.tagBits = 1 // still leaves room for every node offset of 2 MiB
	r := rand.New(rand.NewPCG(7, 8))
	md := indexModel{}
	for i := range 5000 {
		k := fmt.Sprintf("k%d", r.IntN(2000))
		seq := keys.SeqNum(i + 1)
		require.NoError(t, m.Add([]byte(k), seq, keys.KindSet, fmt.Appendf(nil, "%s@%d", k, seq)))
		md[k] = append(md[k], seq)
	}
	require.Equal(t, len(md), checkIndexAgainst(t, m, md, r))
}

// stagedWithKeys returns an 8 MiB staged memtable with 64 KiB fronts
// holding keys key-00000 to key-<n-1>, each its own value.
func stagedWithKeys(t *testing.T, n int) *Memtable {
	m := NewStaged(8<<20, 64<<10)
	for i := range n {
		k := fmt.Appendf(nil, "key-%05d", i)
		require.NoError(t, m.Add(k, keys.SeqNum(i+1), keys.KindSet, k))
	}
	return m
}

// TestAbsentKeySkipsFronts: a lookup of a key the memtable's filter has not
// seen reads no front of a staged memtable: with the front's memory taken
// away it still answers, not found, where a search of the front would
// fault.
func TestAbsentKeySkipsFronts(t *testing.T) {
	m := stagedWithKeys(t, 2000)
	defer m.Release()
	st := m.stage
	f := st.front.Load()
	require.NotNil(t, f, "the last entries wait in a front")
	bad := newFront(64 << 10)
	bad.arena.buf = nil
	st.front.Store(bad)
	for i := range 1000 {
		_, _, ok := m.Get(fmt.Appendf(nil, "absent-%05d", i), keys.MaxSeq)
		require.False(t, ok)
	}
	st.front.Store(f)
	_, v, ok := m.Get([]byte("key-01999"), keys.MaxSeq)
	require.True(t, ok)
	require.Equal(t, "key-01999", string(v))
	require.NoError(t, m.Finish())
}

// TestFrontsSkippedByTheirFilters: a lookup of a key of the main list
// searches no front whose own filter has not seen the key: with the
// front's search made to fault (its head moved past its arena), every key
// of the main list the front's filter rejects is still found there.
func TestFrontsSkippedByTheirFilters(t *testing.T) {
	m := stagedWithKeys(t, 3000)
	defer m.Release()
	_, err := m.Prepare(m.stage.frontCap) // direct: every front copied into main
	require.NoError(t, err)
	for i := range 10 {
		k := fmt.Appendf(nil, "new-%05d", i)
		require.NoError(t, m.Add(k, keys.SeqNum(5000+i), keys.KindSet, k))
	}
	f := m.stage.front.Load()
	require.NotNil(t, f, "the new keys wait in a front")
	head := f.head
	f.head = uint32(len(f.arena.buf)) + 4096
	skipped := 0
	for i := range 3000 {
		k := fmt.Appendf(nil, "key-%05d", i)
		if f.frontFilter.mayContain(&f.arena, filterHash(k)) {
			continue // a false positive would search the front
		}
		skipped++
		_, v, ok := m.Get(k, keys.MaxSeq)
		require.True(t, ok, "%s", k)
		require.Equal(t, string(k), string(v))
	}
	require.Greater(t, skipped, 2900, "the front's filter rejects nearly every key it has not seen")
	f.head = head
	_, v, ok := m.Get([]byte("new-00009"), keys.MaxSeq)
	require.True(t, ok)
	require.Equal(t, "new-00009", string(v))
	require.NoError(t, m.Finish())
}

package sstable

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/keys"
)

// TestIteratorPointIndexMatchesIndex: an iterator that finds and steps
// between data blocks by the point index stops at the same entries as one
// that uses the whole index, over random seeks, steps and bounds, on keys
// with and without a long common prefix and with blocks of one entry or
// many (so that targets tie with index keys and fall back to the index).
func TestIteratorPointIndexMatchesIndex(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	keyOf := map[string]func(i int) []byte{
		"random":  func(i int) []byte { return fmt.Appendf(nil, "%08x", r.Uint32()) },
		"prefix":  func(i int) []byte { return fmt.Appendf(nil, "user:0000:%06d", i*3) },
		"decimal": func(i int) []byte { return fmt.Appendf(nil, "%016d", i*7) },
		"gen":     nil, // genEntries: empty keys, 0x00 and 0xff bytes, several versions
	}
	for name, key := range keyOf {
		for _, bs := range []int{1, 200, 4096} {
			seen := map[string]bool{}
			var es []kv
			if key == nil {
				es = genEntries(r, 600)
				key = func(int) []byte { return keys.UserKey(es[r.IntN(len(es))].key) }
			}
			for i := range 600 {
				if len(es) >= 600 {
					break
				}
				uk := key(i)
				if seen[string(uk)] {
					continue
				}
				seen[string(uk)] = true
				es = append(es, kv{keys.MakeKey(nil, uk, keys.SeqNum(i+1), keys.KindSet), fmt.Appendf(nil, "v%d", i)})
			}
			slices.SortFunc(es, func(a, b kv) int { return keys.Compare(a.key, b.key) })
			data, _ := writeTable(t, es, WriterOptions{BlockSize: bs})
			rd := openTable(t, data, ReaderOptions{Cache: NewCache(1 << 20)})
			pt, full := rd.NewIter(), rd.NewIter()
			require.NotNil(t, pt.p, "%s/%d: a point index", name, bs)
			full.p = nil
			require.True(t, full.needIndex())
			target := func() []byte {
				if r.IntN(2) == 0 {
					return es[r.IntN(len(es))].key
				}
				return keys.SearchKey(nil, key(r.IntN(700)), keys.SeqNum(r.IntN(700)))
			}
			bound := func() []byte {
				switch r.IntN(3) {
				case 0:
					return nil
				case 1: // a key cut short, as index keys are
					uk := keys.UserKey(es[r.IntN(len(es))].key)
					return uk[:r.IntN(len(uk)+1)]
				}
				return keys.UserKey(target())
			}
			for step := range 20000 {
				var a, b bool
				switch op := r.IntN(10); op {
				case 0:
					lo, hi := bound(), bound()
					pt.SetBounds(lo, hi)
					full.SetBounds(lo, hi)
					continue
				case 1:
					a, b = pt.First(), full.First()
				case 2:
					a, b = pt.Last(), full.Last()
				case 3, 4:
					k := target()
					a, b = pt.SeekGE(k), full.SeekGE(k)
				case 5:
					k := target()
					a, b = pt.SeekLT(k), full.SeekLT(k)
				case 6, 7:
					a, b = pt.Next(), full.Next()
				default:
					a, b = pt.Prev(), full.Prev()
				}
				require.Equal(t, b, a, "%s/%d step %d", name, bs, step)
				require.Equal(t, full.Key(), pt.Key(), "%s/%d step %d", name, bs, step)
				require.NoError(t, pt.Error())
				require.NoError(t, full.Error())
			}
			require.NoError(t, pt.Close())
			require.NoError(t, full.Close())
			require.NoError(t, rd.Close())
		}
	}
}

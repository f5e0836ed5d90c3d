package collections

import (
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/lsm"
)

var spaceN = flag.Int("collections.space", 0, "elements per collection in TestSpaceReturns (0 skips it; 1000000 is the acceptance size)")

// TestSpaceReturns builds a collection of -collections.space elements of
// each type on disk, then deletes it (DEL) or lets it expire (EXPIRE, the
// clock moved past it, ReclaimExpired), compacts, and requires the DB's
// tables to be back to what they were before the collection, within 1% of
// its size. It logs the table bytes at each step and how long the delete
// took: with the engine's range tombstones, that time is the same for any
// size.
func TestSpaceReturns(t *testing.T) {
	if *spaceN == 0 {
		t.Skip("set -collections.space=N (1000000 for the acceptance run)")
	}
	n := *spaceN
	for _, typ := range []Type{TypeHash, TypeSet, TypeList, TypeZSet} {
		for _, how := range []string{"delete", "expire"} {
			t.Run(fmt.Sprint(typ, "/", how), func(t *testing.T) {
				clock := newFakeClock()
				db, err := lsm.Open(t.TempDir(), &lsm.Options{Clock: clock.Now, TTLCompactionInterval: -1})
				require.NoError(t, err)
				defer db.Close()
				s := NewWithOptions(db, &Options{Clock: clock.Now, ReclaimInterval: -1})
				defer s.Close()
				_, err = s.HSet([]byte("bystander"), []byte("f"), []byte("stays"))
				require.NoError(t, err)
				require.NoError(t, db.Compact(nil, nil))
				base := db.Metrics().DiskBytes

				key := []byte("big")
				start := time.Now()
				for i := 0; i < n; i += 1000 {
					err := s.Update(func(tx *Tx) error {
						var elems [][]byte
						var zs []Z
						for j := i; j < min(i+1000, n); j++ {
							m := benchMember(j)
							elems = append(elems, m)
							zs = append(zs, Z{Score: benchScore(j), Member: m})
						}
						var err error
						switch typ {
						case TypeHash:
							fv := make([][]byte, 0, 2*len(elems))
							for _, e := range elems {
								fv = append(fv, e, e)
							}
							_, err = tx.HSet(key, fv...)
						case TypeSet:
							_, err = tx.SAdd(key, elems...)
						case TypeList:
							_, err = tx.RPush(key, elems...)
						default:
							_, err = tx.ZAdd(key, ZAddArgs{}, zs...)
						}
						return err
					})
					require.NoError(t, err)
				}
				built := time.Since(start)
				require.NoError(t, db.Compact(nil, nil))
				full := db.Metrics().DiskBytes

				start = time.Now()
				if how == "delete" {
					k, err := s.Delete(key)
					require.NoError(t, err)
					require.Equal(t, 1, k)
				} else {
					ok, err := s.Expire(key, time.Minute)
					require.NoError(t, err)
					require.True(t, ok)
					clock.Advance(2 * time.Minute)
					r, err := s.ReclaimExpired(10)
					require.NoError(t, err)
					require.Equal(t, 1, r)
				}
				gone := time.Since(start)
				typ2, err := s.Type(key)
				require.NoError(t, err)
				require.Equal(t, TypeNone, typ2)
				require.NoError(t, db.Compact(nil, nil))
				after := db.Metrics().DiskBytes
				t.Logf("%s of %d: built in %v, tables %d -> %d bytes; %s took %v; after compaction %d bytes",
					typ, n, built.Round(time.Millisecond), base, full, how, gone, after)
				require.Less(t, after-base, (full-base)/100+4096, "the space of the collection came back")
				v, err := s.HGet([]byte("bystander"), []byte("f"))
				require.NoError(t, err)
				require.Equal(t, "stays", string(v))
			})
		}
	}
}

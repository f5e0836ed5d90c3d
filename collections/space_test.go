package collections

import (
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/lsm"
)

var (
	spaceN    = flag.Int("collections.space", 0, "elements per collection in TestSpaceReturns (0 skips it; 1000000 is the acceptance size)")
	spaceWait = flag.Duration("collections.spacewait", 10*time.Minute, "how long TestSpaceReturns waits for background compaction alone")
)

// dirBytes sums the sizes of the files in dir: tables, WAL and the rest.
func dirBytes(t testing.TB, dir string) int64 {
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var n int64
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
	}
	return n
}

// TestSpaceReturns builds a collection of -collections.space elements of
// each type on disk beside a live hash a tenth of its size, then deletes it
// (DEL) or lets it expire (EXPIRE, the clock moved past it,
// ReclaimExpired). It first waits for background work alone (the Store's
// flush after a large delete, Options.DeleteFlushElements, and the
// engine's compactions, which count the bytes range tombstones cover) to
// bring the tables within 1.2x of the live data, a DB holding the live
// hash alone, and logs how long that took; then it runs Compact and
// requires the same bound. The live hash stays whole.
func TestSpaceReturns(t *testing.T) {
	if *spaceN == 0 {
		t.Skip("set -collections.space=N (1000000 for the acceptance run)")
	}
	n := *spaceN
	for _, typ := range collTypes {
		for _, how := range []string{"delete", "expire"} {
			t.Run(fmt.Sprint(typ, "/", how), func(t *testing.T) {
				clock := newFakeClock()
				dir := t.TempDir()
				db, err := lsm.Open(dir, &lsm.Options{Clock: clock.Now, TTLCompactionInterval: -1})
				require.NoError(t, err)
				defer db.Close()
				// The default DeleteFlushElements (256 Ki) at the acceptance
				// size; below it, half the collection.
				s := NewWithOptions(db, &Options{Clock: clock.Now, ReclaimInterval: -1, DeleteFlushElements: min(1<<18, int64(n/2))})
				defer s.Close()
				live := []byte("live")
				fill(t, s, live, TypeHash, n/10)
				require.NoError(t, db.Compact(nil, nil))
				base := db.Metrics().DiskBytes

				key := []byte("big")
				start := time.Now()
				fill(t, s, key, typ, n)
				built := time.Since(start)
				require.NoError(t, db.Compact(nil, nil))
				full := db.Metrics().DiskBytes
				// The first write after a Compact opens a new WAL segment:
				// keep that out of the delete's time.
				require.NoError(t, s.Set([]byte("warm"), []byte("up")))

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

				// Background work alone.
				start = time.Now()
				deadline := start.Add(*spaceWait)
				for db.Metrics().DiskBytes > base*12/10 && time.Now().Before(deadline) {
					time.Sleep(20 * time.Millisecond)
				}
				bgTime := time.Since(start)
				bg := db.Metrics().DiskBytes

				start = time.Now()
				require.NoError(t, db.Compact(nil, nil))
				compactTime := time.Since(start)
				after := db.Metrics().DiskBytes
				t.Logf("%s of %d beside a live hash of %d: built in %v; tables: live alone %d bytes, with the %s %d; %s took %v; "+
					"background alone: %d bytes (%.2fx live) after %v; then Compact (%v): %d bytes (%.2fx live), directory %d bytes",
					typ, n, n/10, built.Round(time.Millisecond), base, typ, full, how, gone,
					bg, float64(bg)/float64(base), bgTime.Round(time.Millisecond), compactTime.Round(time.Millisecond),
					after, float64(after)/float64(base), dirBytes(t, dir))
				require.LessOrEqual(t, bg, base*12/10, "background compaction alone gave the space back within %v", *spaceWait)
				require.LessOrEqual(t, after, base*12/10, "the space came back after Compact")
				l, err := s.HLen(live)
				require.NoError(t, err)
				require.EqualValues(t, n/10, l)
				v, err := s.HGet(live, benchMember(n/20))
				require.NoError(t, err)
				require.Equal(t, benchMember(n/20), v)
			})
		}
	}
}

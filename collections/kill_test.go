package collections

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/lsm"
	"github.com/stratadb/strata/vfs"
)

var killCycles = flag.Int("kill.cycles", 5, "SIGKILL cycles per sync mode in TestKillNineCollections")

// TestMain runs the child of the kill test when STRATA_COLL_KILL_CHILD is
// set: it applies the crash workload from a start index, printing each
// acknowledged index, until it is killed.
func TestMain(m *testing.M) {
	if spec := os.Getenv("STRATA_COLL_KILL_CHILD"); spec != "" {
		os.Exit(killChild(spec))
	}
	code := m.Run()
	removeSetBench()
	os.Exit(code)
}

// killClock is the frozen clock of the kill test, so that the child's and
// the reference's expiry times agree.
func killClock() time.Time { return time.Unix(1_700_000_000, 0) }

func killChild(spec string) int {
	parts := strings.Split(spec, ",") // dir,mode,start
	if len(parts) != 3 {
		fmt.Fprintln(os.Stderr, "bad STRATA_COLL_KILL_CHILD", spec)
		return 3
	}
	mode, _ := lsm.ParseSyncMode(parts[1])
	start, _ := strconv.Atoi(parts[2])
	db, err := lsm.Open(parts[0], &lsm.Options{Sync: mode, Clock: killClock, MemtableSize: 32 << 10,
		TargetFileSize: 16 << 10, BaseLevelSize: 64 << 10, L0CompactionTrigger: 2})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		return 3
	}
	s := NewWithOptions(db, &Options{Clock: killClock, ReclaimInterval: -1})
	out := bufio.NewWriterSize(os.Stdout, 64)
	for i := start; ; i++ {
		if err := crashApply(s, i); err != nil {
			fmt.Fprintln(os.Stderr, "child write:", err)
			return 3
		}
		fmt.Fprintln(out, i)
		out.Flush()
		if i%97 == 0 {
			if err := db.Flush(); err != nil {
				fmt.Fprintln(os.Stderr, "child flush:", err)
				return 3
			}
		}
	}
}

// TestKillNineCollections runs the workload in a child process, kills it
// with SIGKILL at a random moment, reopens the DB and requires the keyspace
// to equal the reference state after every acknowledged operation (or one
// more, the one in flight): no acknowledged multi-element operation or
// Update lost, none half there. Then it resumes from there.
func TestKillNineCollections(t *testing.T) {
	cycles := *killCycles
	if testing.Short() {
		cycles = 2
	}
	for _, mode := range []lsm.SyncMode{lsm.SyncAlways, lsm.SyncNo} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			r := rand.New(rand.NewPCG(uint64(mode), 5))
			refDB, err := lsm.Open("/ref", smallDBOptions(vfs.NewMem(), killClock))
			require.NoError(t, err)
			defer refDB.Close()
			ref := NewWithOptions(refDB, &Options{Clock: killClock, ReclaimInterval: -1})
			defer ref.Close()
			applied := 0 // ops [0, applied) are in the reference
			next := 0
			for c := 0; c < cycles; c++ {
				acked := runCollKillChild(t, dir, mode, next, time.Duration(50+r.IntN(400))*time.Millisecond)
				db, err := lsm.Open(dir, &lsm.Options{Sync: mode, Clock: killClock})
				require.NoError(t, err, "cycle %d: reopen after kill -9", c)
				s := NewWithOptions(db, &Options{Clock: killClock, ReclaimInterval: -1})
				got := digest(t, s)
				require.NoError(t, s.Close())
				require.NoError(t, db.Close())
				for applied < acked {
					require.NoError(t, crashApply(ref, applied))
					applied++
				}
				if want := digest(t, ref); got != want {
					require.NoError(t, crashApply(ref, applied))
					applied++
					require.Equal(t, digest(t, ref), got, "cycle %d: %d ops acknowledged", c, acked)
				}
				next = applied
			}
			t.Logf("%s: %d kill -9 cycles, %d operations, every acknowledged one recovered whole", mode, cycles, applied)
		})
	}
}

// runCollKillChild starts the child at op start, kills it after d, and
// returns the number of ops acknowledged.
func runCollKillChild(t *testing.T, dir string, mode lsm.SyncMode, start int, d time.Duration) int {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("STRATA_COLL_KILL_CHILD=%s,%s,%d", dir, mode, start))
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	acked := start
	done := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if n, err := strconv.Atoi(sc.Text()); err == nil {
				acked = n + 1
			}
		}
		close(done)
	}()
	time.Sleep(d)
	require.NoError(t, cmd.Process.Kill())
	<-done
	_ = cmd.Wait()
	require.NotContains(t, stderr.String(), "child", "the child failed before it was killed: %s", stderr.String())
	return acked
}

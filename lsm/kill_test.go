package lsm

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var killCycles = flag.Int("kill.cycles", 50, "SIGKILL cycles per sync mode in TestKillNineKeepsEveryAcknowledgedWrite")

// The child side of the kill test: when STRATA_KILL_CHILD is set, the test
// binary opens the DB and writes the deterministic op sequence from a start
// index, printing each acknowledged index, until it is killed.
func TestMain(m *testing.M) {
	if spec := os.Getenv("STRATA_KILL_CHILD"); spec != "" {
		os.Exit(killChild(spec))
	}
	// The defaults must not depend on the container the tests run in:
	// TestZeroOptionsInAContainer stands in limits of its own.
	containerMemoryLimit = func() int64 { return 0 }
	os.Exit(m.Run())
}

// killOp is the i-th op of the kill workload: a put of "v<i>" or, every
// seventh op, a delete, of one of 500 keys.
func killOp(i int) (key string, del bool, value string) {
	h := fnv.New32a()
	fmt.Fprint(h, i)
	return fmt.Sprintf("key%03d", h.Sum32()%500), i%7 == 6, fmt.Sprintf("v%d", i)
}

// killRange returns, for an op that is a range deletion (every 53rd op, a
// DeleteRange of up to 12 keys; every 101st, a batch of such a DeleteRange
// and a put IfAbsent of cond, judged before the batch), its bounds.
func killRange(i int) (isRange, batch bool, start, end, cond string) {
	switch {
	case i%101 == 100:
		batch = true
	case i%53 == 52:
	default:
		return false, false, "", "", ""
	}
	h := fnv.New32a()
	fmt.Fprint(h, i, "range")
	s := h.Sum32() % 500
	return true, batch, fmt.Sprintf("key%03d", s), fmt.Sprintf("key%03d", s+1+s%12), fmt.Sprintf("key%03d", (s*7)%500)
}

func killChild(spec string) int {
	parts := strings.Split(spec, ",") // dir,mode,start
	if len(parts) != 3 {
		fmt.Fprintln(os.Stderr, "bad STRATA_KILL_CHILD", spec)
		return 3
	}
	mode, _ := ParseSyncMode(parts[1])
	start, _ := strconv.Atoi(parts[2])
	memtable := int64(32 << 10)
	if start%2 == 1 {
		memtable = 64 << 10 // staged: 4 KiB fronts copied in the background
	}
	// Segments written ahead whenever the child syncs often (every
	// write under SyncAlways), and every third child leaves its values
	// in the WAL (the values are 2 to 6 bytes).
	threshold := 0
	if start%3 == 0 {
		threshold = 2
	}
	db, err := Open(parts[0], &Options{Sync: mode, MemtableSize: memtable, TargetFileSize: 16 << 10,
		BaseLevelSize: 64 << 10, L0CompactionTrigger: 2, WALPrewrite: true, WALValueThreshold: threshold})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		return 3
	}
	out := bufio.NewWriterSize(os.Stdout, 64)
	for i := start; ; i++ {
		k, del, v := killOp(i)
		if isRange, batch, start, end, cond := killRange(i); isRange && batch {
			b := db.NewBatch()
			b.DeleteRange([]byte(start), []byte(end))
			b.Put([]byte(cond), []byte(v), IfAbsent())
			if err = db.Apply(b); errors.Is(err, ErrConditionFailed) {
				err = nil // acknowledged: it wrote nothing
			}
		} else if isRange {
			err = db.DeleteRange([]byte(start), []byte(end))
		} else if del {
			err = db.Delete([]byte(k))
		} else {
			err = db.Put([]byte(k), []byte(v))
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "child write:", err)
			return 3
		}
		fmt.Fprintln(out, i)
		out.Flush()
		switch {
		case i%997 == 0:
			err = db.Flush()
		case i%2503 == 0:
			err = db.Compact(nil, nil)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "child maintenance:", err)
			return 3
		}
	}
}

// TestKillNineKeepsEveryAcknowledgedWrite runs a child process that writes,
// flushes and compacts, kills it with SIGKILL at a random moment, reopens the
// DB and requires every acknowledged write to be present and the state to be
// a prefix of the writes in commit order; then it resumes from there, for
// -kill.cycles cycles per sync mode.
func TestKillNineKeepsEveryAcknowledgedWrite(t *testing.T) {
	cycles := *killCycles
	if testing.Short() {
		cycles = 10
	}
	for _, mode := range []SyncMode{SyncAlways, SyncEverySec, SyncNo} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			r := rand.New(rand.NewPCG(uint64(mode), 11))
			next := 0 // ops [0, next) are in the DB
			model := map[string]string{}
			applied := 0
			for c := 0; c < cycles; c++ {
				acked := runKillChild(t, dir, mode, next, time.Duration(20+r.IntN(400))*time.Millisecond)
				db, err := Open(dir, &Options{Sync: mode})
				require.NoError(t, err, "cycle %d: reopen after kill -9", c)
				got := formatKVs(dbScan(t, db))
				require.NoError(t, db.Close())
				// The state must be that after n ops, n in [acked, acked+1].
				for applied < acked {
					applyKillOp(model, applied)
					applied++
				}
				if got != formatKVs(modelScan(model)) {
					alt := copyModel(model)
					applyKillOp(alt, applied)
					require.Equal(t, formatKVs(modelScan(alt)), got, "cycle %d: %d writes acknowledged", c, acked)
					model = alt
					applied++
				}
				next = applied
			}
			t.Logf("%s: %d kill -9 cycles, %d writes, every acknowledged one recovered", mode, cycles, applied)
		})
	}
}

func applyKillOp(m map[string]string, i int) {
	k, del, v := killOp(i)
	if isRange, batch, start, end, cond := killRange(i); isRange {
		if _, present := m[cond]; batch && present {
			return // the condition failed
		}
		for mk := range m {
			if mk >= start && mk < end {
				delete(m, mk)
			}
		}
		if batch {
			m[cond] = v
		}
		return
	}
	if del {
		delete(m, k)
	} else {
		m[k] = v
	}
}

// runKillChild starts the child at op start, kills it after d, and returns
// the number of ops acknowledged (start + acks read).
func runKillChild(t *testing.T, dir string, mode SyncMode, start int, d time.Duration) int {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("STRATA_KILL_CHILD=%s,%s,%d", dir, mode, start))
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

package raftstore

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/stratadb/strata/lsm"
)

// TestKilledWriter runs a writer in a child process on the real filesystem
// and kills it (SIGKILL) mid-stream: a crash of the process, which loses
// what had not reached the OS (TestPowerLoss covers a power loss, which
// loses what had not been synced). After any kill the log is one run
// first..last with no hole, every acknowledged entry is in it, and every
// StoreLogs batch is there whole or not at all.

const crashChildEnv = "RAFTSTORE_CRASH_CHILD"

// crashMemtableEnv, when set, is the child's memtable size in bytes.
const crashMemtableEnv = "RAFTSTORE_CRASH_MEMTABLE"

// crashEntry is the entry the child writes at index i of the batch that
// ends at end: the data names both, so the parent can check whole batches.
// Every third entry is padded past DefaultWALValueThreshold, so flushed
// tables refer to it in the WAL.
func crashEntry(i, end uint64) *raft.Log {
	data := fmt.Appendf(nil, "%d/%d", i, end)
	if i%3 == 0 {
		data = append(data, bytes.Repeat([]byte{'.'}, DefaultWALValueThreshold)...)
	}
	return &raft.Log{Index: i, Term: 1, Data: data}
}

// TestCrashChild is the child's body; it does nothing in a normal run.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("runs only as the child of TestKilledWriter")
	}
	memtable, _ := strconv.ParseInt(os.Getenv(crashMemtableEnv), 10, 64)
	s, err := New(dir, crashOptions(memtable))
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(3)
	}
	last, _ := s.LastIndex()
	rng := rand.New(rand.NewPCG(uint64(os.Getpid()), last))
	out := bufio.NewWriter(os.Stdout)
	for {
		n := uint64(rng.IntN(64) + 1)
		end := last + n
		batch := make([]*raft.Log, 0, n)
		for i := last + 1; i <= end; i++ {
			batch = append(batch, crashEntry(i, end))
		}
		if err := s.StoreLogs(batch); err != nil {
			fmt.Println("store:", err)
			os.Exit(3)
		}
		last = end
		if rng.IntN(8) == 0 && last > 2*crashKeep {
			// A snapshot's head truncation, keeping the last crashKeep
			// (about three memtables: flushed tables that refer to the
			// WAL outlive it).
			if err := s.DeleteRange(0, last-crashKeep); err != nil {
				fmt.Println("delete:", err)
				os.Exit(3)
			}
		}
		m := s.DB().Metrics()
		fmt.Fprintf(out, "acked %d prewritten %d zeroed %d\n", last, m.WALPrewritten, m.WALZeroedAhead)
		out.Flush()
	}
}

func TestKilledWriter(t *testing.T) {
	// Even rounds give the child memtables of 64 KiB, which rotate into
	// segments written ahead; odd ones 1 MiB (below). Short runs keep two
	// of the first kind: whether a segment written ahead is ready by the
	// rotation after it started is a race the child may lose once.
	rounds := 4
	if testing.Short() {
		rounds = 3
	}
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var acked uint64
	kept := 0            // the most WAL segments tables referred to after a reopen
	var prewritten int64 // the most WAL segments written ahead a child used
	var zeroed int64     // the most bytes of zeros a child wrote ahead of its log
	for round := 0; round < rounds; round++ {
		cmd := exec.Command(exe, "-test.run=^TestCrashChild$")
		// Odd rounds give the child memtables of 1 MiB, whose segments
		// take more than 64 syncs to fill (zeros are then written ahead of
		// their logs), and let it acknowledge that many batches.
		memtable, want := int64(0), 30+round*15
		if round%2 == 1 {
			memtable, want = 1<<20, 80+round*15
		}
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, fmt.Sprintf("%s=%d", crashMemtableEnv, memtable))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Let it acknowledge a number of batches, then kill it mid-write.
		sc := bufio.NewScanner(stdout)
		for seen := 0; seen < want && sc.Scan(); {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "acked "); ok {
				var p, z int64
				if _, err := fmt.Sscanf(v, "%d prewritten %d zeroed %d", &acked, &p, &z); err != nil {
					t.Fatalf("child: %q: %v", line, err)
				}
				prewritten, zeroed = max(prewritten, p), max(zeroed, z)
				seen++
			} else if strings.HasPrefix(line, "open:") || strings.HasPrefix(line, "store:") || strings.HasPrefix(line, "delete:") {
				t.Fatalf("child: %s", line)
			}
		}
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()

		s, err := New(dir, crashOptions(0))
		if err != nil {
			t.Fatalf("round %d: reopen after kill: %v", round, err)
		}
		kept = max(kept, s.DB().Metrics().WALValueSegments)
		first, _ := s.FirstIndex()
		last, _ := s.LastIndex()
		if last < acked {
			t.Fatalf("round %d: last index %d, but %d was acknowledged", round, last, acked)
		}
		// The child keeps the last crashKeep entries at every truncation.
		if first == 0 || last-first+1 < crashKeep && first != 1 {
			t.Fatalf("round %d: log [%d, %d] after truncations that keep %d", round, first, last, crashKeep)
		}
		// One run, no hole, whole batches: the last entry closes a batch and
		// every entry names a batch end inside the log.
		var l raft.Log
		for i := first; i <= last; i++ {
			if err := s.GetLog(i, &l); err != nil {
				t.Fatalf("round %d: hole at %d in [%d, %d]: %v", round, i, first, last, err)
			}
			var idx, end uint64
			if _, err := fmt.Sscanf(string(l.Data), "%d/%d", &idx, &end); err != nil || idx != i || end < i || end > last {
				t.Fatalf("round %d: entry %d holds %q (log ends at %d)", round, i, l.Data, last)
			}
			if i == last && end != last {
				t.Fatalf("round %d: the log ends inside a batch: last %d, batch end %d", round, last, end)
			}
		}
		if err := s.GetLog(last+1, &l); err != raft.ErrLogNotFound {
			t.Fatalf("round %d: entry after the last: %v", round, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: killed after %d acknowledged; log [%d, %d]", round, acked, first, last)
	}
	if kept == 0 {
		t.Fatal("no table referred to entries in the WAL: the large entries were not exercised")
	}
	if prewritten == 0 {
		t.Fatal("no child used a WAL segment written ahead: kills during their use were not exercised")
	}
	if zeroed == 0 {
		t.Fatal("no child wrote zeros ahead of its log: kills around them were not exercised")
	}
}

// crashKeep is how many entries the child's head truncations keep.
const crashKeep = 1000

// crashOptions are the child's and the parent's: a memtable small enough
// that the child flushes several, leaving tables that refer to its large
// entries in WAL segments, and rotates into WAL segments written ahead
// (lsm.Options.WALPrewrite).
func crashOptions(memtable int64) *Options {
	if memtable == 0 {
		memtable = 64 << 10
	}
	return &Options{Engine: &lsm.Options{MemtableSize: memtable}}
}

package main

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary serve as the harness's child process: the
// parent re-executes os.Executable() with -child.
func TestMain(m *testing.M) {
	for _, a := range os.Args[1:] {
		if a == "-child" || a == "--child" {
			os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
		}
	}
	os.Exit(m.Run())
}

// TestHarnessTiny runs every workload on a tiny data set against Strata and
// one peer, end to end through child processes, and checks that every
// result is there, error-free, and that the tables and charts were written.
func TestHarnessTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes for about 30 s")
	}
	out := t.TempDir()
	peer := "pebble"
	var stdout, stderr bytes.Buffer
	args := []string{"-keys", "2000", "-duration", "200ms", "-syncduration", "200ms", "-ttl", "1s",
		"-engines", "strata," + peer, "-out", out, "-tmp", t.TempDir(), "-publish", filepath.Join(out, "pub")}
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("run exited %d:\n%s", code, stderr.String())
	}

	b, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	for _, e := range []string{"strata", peer} {
		for _, w := range append(rep.resultWorkloads(), "space") {
			r, ok := rep.result(e, w)
			if !ok {
				t.Errorf("%s/%s: no result", e, w)
				continue
			}
			if r.Error != "" {
				t.Errorf("%s/%s: %s", e, w, r.Error)
				continue
			}
			if w != "space" && (r.Ops == 0 || r.OpsPerSec <= 0 || r.P50us <= 0 || r.P999us < r.P50us) {
				t.Errorf("%s/%s: implausible %+v", e, w, r)
			}
			if r.PeakRSS <= 0 {
				t.Errorf("%s/%s: no peak RSS", e, w)
			}
		}
		if r, _ := rep.result(e, "readrandom"); r.Found != r.Ops {
			t.Errorf("%s: readrandom found %d of %d present keys", e, r.Found, r.Ops)
		}
		if r, _ := rep.result(e, "readmissing"); r.Found != 0 {
			t.Errorf("%s: readmissing found %d absent keys", e, r.Found)
		}
		if r, _ := rep.result(e, "ttl-get"); r.Found == 0 {
			t.Errorf("%s: ttl-get found no live entries", e)
		}
	}
	for _, s := range rep.Summary {
		if s.SpaceAmp <= 0 || s.WriteAmpIO <= 0 || s.PeakRSS <= 0 {
			t.Errorf("summary %+v: missing figures", s)
		}
	}
	md := stdout.String()
	for _, want := range []string{"Strata's throughput over each peer's", "| fillseq |", "| ycsb-e |",
		"| write16-always |", "| ttl-expired |", "| fillseq-batch |", "| fillrandom-batch |", "read/op", "## Engines", "throughput-read.png", "latency-ycsb.png"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	for _, f := range []string{"results.md", "throughput-fill.png", "latency-sync-always.png", "pub/RESULTS.md", "pub/charts/throughput-ycsb.png"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
}

func TestHistQuantiles(t *testing.T) {
	var h Hist
	for i := 1; i <= 100000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {0.999, 99900 * time.Microsecond}} {
		got := h.Quantile(c.q)
		if d := float64(got-c.want) / float64(c.want); d < -0.04 || d > 0.04 {
			t.Errorf("q%.3f = %v, want %v ±4%%", c.q, got, c.want)
		}
	}
	for v := uint64(0); v < 1<<20; v += 7 {
		i := histIndex(v)
		if lo, hi := histValue(i), histValue(i+1); v > hi || (v >= 64 && float64(lo) > float64(v)*1.04) {
			t.Fatalf("value %d in bucket %d [%d, %d)", v, i, lo, hi)
		}
	}
}

func TestZipfSkew(t *testing.T) {
	const n = 10000
	z := newZipf(n)
	r := rand.New(rand.NewPCG(1, 2))
	counts := make([]int, n)
	for i := 0; i < 200000; i++ {
		v := z.next(r)
		if v >= n {
			t.Fatalf("rank %d out of range", v)
		}
		counts[v]++
	}
	if counts[0] < 10*counts[100] || counts[0] < 10000 {
		t.Errorf("not skewed: rank 0 drawn %d times, rank 100 %d", counts[0], counts[100])
	}
}

func TestKeys(t *testing.T) {
	k := make([]byte, keyLen)
	if got := string(presentKey(k, 12)); got != "0000000000000024" {
		t.Errorf("presentKey(12) = %q", got)
	}
	if got := string(missingKey(k, 12)); got != "0000000000000025" {
		t.Errorf("missingKey(12) = %q", got)
	}
}

package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestTinyRun runs every workload at a tiny size against every store, so CI
// knows the harness works; it measures nothing.
func TestTinyRun(t *testing.T) {
	var out bytes.Buffer
	c := Config{
		Dir: t.TempDir(), StoreDur: time.Millisecond, Entries: 2000, Keep: 100,
		RateHz: 200, RateDur: 50 * time.Millisecond, Reads: 100,
		ClusterDur: 200 * time.Millisecond, Clients: 4, Out: &out,
	}
	if err := run(&c, []string{"storelogs", "reads", "truncation", "cluster"}); err != nil {
		t.Fatal(err)
	}
	for _, k := range Kinds {
		if n := strings.Count(out.String(), "| "+k.Name+" |"); n < 4 {
			t.Errorf("%s appears in %d rows", k.Name, n)
		}
	}
	t.Log(out.String())
}

package raftstore

import (
	"math/rand/v2"
	"testing"

	"github.com/hashicorp/raft"
)

// TestReadAhead: readAhead tells a read that continues a run (the index
// after one read lately, or the same index again) from a scattered one,
// for interleaved runs too.
func TestReadAhead(t *testing.T) {
	for _, c := range []struct {
		name  string
		reads []uint64
		want  []bool
	}{
		{"one run", []uint64{100, 101, 102, 103}, []bool{false, true, true, true}},
		{"same index again", []uint64{500, 500}, []bool{false, true}},
		{"scattered", []uint64{7, 90_000, 3_000, 123_456, 8}, []bool{false, false, false, false, true}},
		{"run crossing a 64-index group", []uint64{62, 63, 64, 65}, []bool{false, true, true, true}},
		{"two interleaved runs", []uint64{1_000, 5_000, 1_001, 5_001, 1_002, 5_002}, []bool{false, false, true, true, true, true}},
		{"backwards", []uint64{300, 299, 298}, []bool{false, false, false}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var s Store
			for i, idx := range c.reads {
				if got := s.readAhead(idx); got != c.want[i] {
					t.Errorf("read %d (index %d): readAhead = %v, want %v", i, idx, got, c.want[i])
				}
			}
		})
	}
}

// TestGetLogScatteredReadsLeaveCache: GetLog of old entries read at random
// returns them whole and adds no block to the engine's block cache, while
// scattered reads of the log's tail that half the cache holds do fill it;
// a sequential run over old entries fills it and then hits it.
func TestGetLogScatteredReadsLeaveCache(t *testing.T) {
	dir := t.TempDir()
	o := testOptions(true)
	o.RecentEntries = -1
	o.Engine.BlockCacheSize = 256 << 10 // 16 KiB a shard: room for blocks
	s, err := New(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	const n = 30_000
	for lo := uint64(1); lo <= n; lo += 100 {
		if err := s.StoreLogs(entries(lo, lo+99)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DB().Flush(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = New(dir, o); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	read := func(i uint64) {
		t.Helper()
		var l raft.Log
		if err := s.GetLog(i, &l); err != nil {
			t.Fatalf("GetLog(%d): %v", i, err)
		}
		if !logsEqual(&l, entry(i)) {
			t.Fatalf("GetLog(%d) = %+v, want %+v", i, l, *entry(i))
		}
	}
	tail := s.cachedTail.Load()
	if tail == 0 || tail > n/3 {
		t.Fatalf("cached tail of %d entries of %d: the test wants a tail under a third of the log", tail, n)
	}
	// Opening the store read the first and the last entries' blocks.
	m0 := s.DB().Metrics()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, i := range rng.Perm(n / 3)[:500] {
		read(2 + uint64(i)*2) // distinct even indexes below the tail: never a run
	}
	m := s.DB().Metrics()
	if m.BlockCacheBytes != m0.BlockCacheBytes {
		t.Errorf("scattered reads took the block cache from %d to %d bytes, want no change", m0.BlockCacheBytes, m.BlockCacheBytes)
	}
	if m.BlockCacheMisses-m0.BlockCacheMisses < 100 {
		t.Fatalf("no block read: the reads did not reach the tables")
	}
	for _, i := range rng.Perm(int(tail) / 2)[:10] {
		read(n - 2*uint64(i)) // scattered in the tail
	}
	if mt := s.DB().Metrics(); mt.BlockCacheBytes == m.BlockCacheBytes {
		t.Errorf("scattered reads of the cached tail (%d entries) left the block cache at %d bytes", tail, mt.BlockCacheBytes)
	}
	m = s.DB().Metrics()
	for i := uint64(1); i <= n; i++ {
		read(i)
	}
	m2 := s.DB().Metrics()
	if m2.BlockCacheBytes == 0 {
		t.Errorf("a sequential run left nothing in the block cache")
	}
	// The run reads each block once: by a cursor stepping through it, or
	// by lookups that find it in the cache.
	if misses := m2.BlockCacheMisses - m.BlockCacheMisses; misses > n/10 {
		t.Errorf("a sequential run of %d reads missed the block cache %d times, want about once a block", n, misses)
	}
}

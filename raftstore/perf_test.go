package raftstore

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stratadb/strata/lsm"
)

// Benchmarks by entry size, for profiling (go test -bench StoreLogsBy
// -cpuprofile cpu.out). The side-by-side comparison with raft-boltdb and
// raft-wal is bench/'s; these measure the store alone.

var benchBig = flag.Bool("raftstore.big", false, "let BenchmarkGetLogBy read a log of 1M entries of 1 KiB (1 GiB, minutes to load)")

// benchPool is incompressible bytes that payloads are cut from.
var benchPool = func() []byte {
	b := make([]byte, 8<<20)
	rand.NewChaCha8([32]byte{3}).Read(b)
	return b
}()

func benchPayload(i uint64, size int) []byte {
	off := int(i*4099) % (len(benchPool) - size)
	return benchPool[off : off+size]
}

func sizeLabel(n int) string {
	if n >= 1<<10 && n%(1<<10) == 0 {
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

// BenchmarkStoreLogsBy times StoreLogs, fsync on, for each entry size and
// batch size the comparison uses.
func BenchmarkStoreLogsBy(b *testing.B) {
	for _, size := range []int{10, 1 << 10, 100 << 10} {
		for _, batch := range []int{1, 10, 64} {
			b.Run(fmt.Sprintf("%s-x%d", sizeLabel(size), batch), func(b *testing.B) {
				s, err := New(b.TempDir(), nil)
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				logs := make([]*raft.Log, batch)
				for i := range logs {
					logs[i] = &raft.Log{Term: 1, AppendedAt: time.Now()}
				}
				next := uint64(1)
				b.SetBytes(int64(size * batch))
				b.ReportAllocs()
				b.ResetTimer()
				cpu := processCPU()
				for range b.N {
					for _, l := range logs {
						l.Index, l.Data = next, benchPayload(next, size)
						next++
					}
					if err := s.StoreLogs(logs); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64((processCPU()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
				// The share of the call's wall time spent in its fsync.
				m := s.Metrics()
				b.ReportMetric(float64(m.FsyncTime.Nanoseconds())/float64(max(m.Fsyncs, 1)), "fsync-ns/op")
				// And in the engine's write stalls (a memtable waiting for
				// a flush).
				b.ReportMetric(float64(s.DB().Metrics().WriteStallTime.Nanoseconds())/float64(b.N), "stall-ns/op")
			})
		}
	}
}

// BenchmarkGetLogBy times GetLog on logs of 1 KiB entries: 1k entries
// in the cache of recent entries, the same with the cache off still in the
// memtable and in tables (hot: in the block cache
// after the first pass), and with -raftstore.big 1M entries read at random
// (most reads miss the block cache), right after the load and after a
// reopen.
func BenchmarkGetLogBy(b *testing.B) {
	var readFrom func(b *testing.B, s *Store, lo uint64, n int)
	load := func(b *testing.B, s *Store, n int) {
		logs := make([]*raft.Log, 64)
		for i := range logs {
			logs[i] = &raft.Log{Term: 1, AppendedAt: time.Now()}
		}
		for done := 0; done < n; {
			k := min(len(logs), n-done)
			for i := range k {
				idx := uint64(done + i + 1)
				logs[i].Index, logs[i].Data = idx, benchPayload(idx, 1<<10)
			}
			if err := s.StoreLogs(logs[:k]); err != nil {
				b.Fatal(err)
			}
			done += k
		}
	}
	read := func(b *testing.B, s *Store, n int) { readFrom(b, s, 1, n) }
	// readInOrder reads the log from its first entry on, as Raft does
	// when it sends a follower that fell behind the entries it lacks.
	readInOrder := func(b *testing.B, s *Store, n int) {
		var l raft.Log
		b.ReportAllocs()
		b.ResetTimer()
		cpu, reads, faults := processCPU(), s.DB().Metrics().WALValueReads, minorFaults()
		for i := range b.N {
			if err := s.GetLog(uint64(1+i%n), &l); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64((processCPU()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
		b.ReportMetric(float64(minorFaults()-faults)/float64(b.N), "faults/op")
		// Reads of the WAL segments that hold the entries, per call.
		b.ReportMetric(float64(s.DB().Metrics().WALValueReads-reads)/float64(b.N), "wal-reads/op")
	}
	readFrom = func(b *testing.B, s *Store, lo uint64, n int) {
		rng := rand.New(rand.NewPCG(7, 8))
		var l raft.Log
		b.ReportAllocs()
		b.ResetTimer()
		cpu, faults := processCPU(), minorFaults()
		for range b.N {
			if err := s.GetLog(lo+rng.Uint64N(uint64(n)), &l); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64((processCPU()-cpu).Nanoseconds())/float64(b.N), "cpu-ns/op")
		b.ReportMetric(float64(minorFaults()-faults)/float64(b.N), "faults/op")
	}
	b.Run("1k-recent", func(b *testing.B) {
		s, err := New(b.TempDir(), &Options{NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		load(b, s, 1000)
		read(b, s, 1000)
	})
	b.Run("1k-memtable", func(b *testing.B) {
		s, err := New(b.TempDir(), &Options{NoSync: true, RecentEntries: -1})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		load(b, s, 1000)
		read(b, s, 1000)
	})
	b.Run("1k-tables", func(b *testing.B) {
		s, err := New(b.TempDir(), &Options{NoSync: true, RecentEntries: -1})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		load(b, s, 1000)
		if err := s.DB().Compact(nil, nil); err != nil {
			b.Fatal(err)
		}
		read(b, s, 1000)
	})
	if !*benchBig {
		return
	}
	// Moved against rewritten tables: the same 300k entries with each
	// flushed table moved down whole (the store's L0CompactionTrigger 1)
	// and with the engine's default of 4 (four flushed tables merged, so
	// every byte rewritten), read at random with the cache of recent
	// entries off; then, with moved tables, at random over the last 20k
	// entries (20 MiB: past the memtable, within the block cache).
	for _, trigger := range []int{1, 4} {
		s, err := New(b.TempDir(), &Options{NoSync: true, RecentEntries: -1,
			Engine: &lsm.Options{MemtableSize: 8 << 20, L0CompactionTrigger: trigger}})
		if err != nil {
			b.Fatal(err)
		}
		load(b, s, 300_000)
		b.Run(fmt.Sprintf("300k-trigger%d", trigger), func(b *testing.B) { read(b, s, 300_000) })
		if trigger == 1 {
			b.Run("300k-last20k", func(b *testing.B) { readFrom(b, s, 280_001, 20_000) })
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	const big = 1_000_000
	dir := b.TempDir()
	s, err := New(dir, &Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	load(b, s, big)
	b.Run("1M-after-load", func(b *testing.B) { read(b, s, big) })
	b.Run("1M-in-order", func(b *testing.B) { readInOrder(b, s, big) })
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	s, err = New(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.Run("1M-reopened", func(b *testing.B) { read(b, s, big) })
}

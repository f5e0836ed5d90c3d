package lsm_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/stratadb/strata/internal/dbtest"
	"github.com/stratadb/strata/lsm"
	"github.com/stratadb/strata/vfs"
)

var (
	metaSeeds = flag.Int("meta.seeds", 100, "generated scripts in TestMetamorphic (-short: 10)")
	metaOps   = flag.Int("meta.ops", 200, "operations per script in TestMetamorphic")
	metaFirst = flag.Int("meta.first", 0, "the first seed of TestMetamorphic")
)

// metaConfig is one option configuration the metamorphic test runs every
// script under.
type metaConfig struct {
	name string
	desc string // the options it sets, for the report
	set  func(o *lsm.Options)
}

// metaConfigs are the configurations whose histories must be identical.
// Between them they vary the memtable (64 MiB to 4 KiB, staged or plain:
// see newMutableMemtable; staging needs MemtableSize >= 64 KiB), the block
// size (1 byte to 64 KiB), the compression, the bloom filters (off, 1 bit
// a key, 10), the three sync modes, the L0 triggers, the number of
// compactions at once, tiny target files, MemoryLimit, a single open table
// and background TTL compactions.
var metaConfigs = []metaConfig{
	{"default", "every default (64 MiB staged memtable, 4 KiB blocks, snappy, bloom 10, everysec, L0 trigger 4)",
		func(o *lsm.Options) {}},
	{"tiny-plain", "MemtableSize=4KiB (plain) BlockSize=256 L0=2/6/10 TargetFileSize=4KiB BaseLevelSize=16KiB Sync=always",
		func(o *lsm.Options) {
			o.MemtableSize, o.BlockSize, o.Sync = 4<<10, 256, lsm.SyncAlways
			o.L0CompactionTrigger, o.L0SlowdownWrites, o.L0StopWrites = 2, 6, 10
			o.TargetFileSize, o.BaseLevelSize = 4<<10, 16<<10
		}},
	{"staged-block1", "MemtableSize=64KiB (staged, 4 KiB fronts) BlockSize=1 Compression=none L0 trigger 1",
		func(o *lsm.Options) {
			o.MemtableSize, o.BlockSize, o.Compression = 64<<10, 1, lsm.CompressionNone
			o.L0CompactionTrigger = 1
		}},
	{"zstd-nobloom", "MemtableSize=16KiB Compression=zstd BloomBitsPerKey=-1 Sync=no",
		func(o *lsm.Options) {
			o.MemtableSize, o.Compression, o.BloomBitsPerKey, o.Sync = 16<<10, lsm.CompressionZstd, -1, lsm.SyncNo
		}},
	{"bloom1-tinyfiles", "MemtableSize=8KiB BloomBitsPerKey=1 LevelMultiplier=2 BaseLevelSize=8KiB TargetFileSize=1KiB L0 trigger 2",
		func(o *lsm.Options) {
			o.MemtableSize, o.BloomBitsPerKey, o.LevelMultiplier = 8<<10, 1, 2
			o.BaseLevelSize, o.TargetFileSize, o.L0CompactionTrigger = 8<<10, 1<<10, 2
		}},
	{"concurrent-compactions", "CompactionConcurrency=4 MemtableSize=8KiB MaxImmutableMemtables=1 L0 trigger 2 TargetFileSize=2KiB BaseLevelSize=8KiB",
		func(o *lsm.Options) {
			o.CompactionConcurrency, o.MemtableSize, o.MaxImmutableMemtables = 4, 8<<10, 1
			o.L0CompactionTrigger, o.TargetFileSize, o.BaseLevelSize = 2, 2<<10, 8<<10
		}},
	{"memory-limit", "MemoryLimit=32MiB (sizes derived from it)",
		func(o *lsm.Options) { o.MemoryLimit = 32 << 20 }},
	{"one-open-file", "MaxOpenFiles=1 BlockCacheSize=1 MemtableSize=4KiB BlockSize=512",
		func(o *lsm.Options) {
			o.MaxOpenFiles, o.BlockCacheSize, o.MemtableSize, o.BlockSize = 1, 1, 4<<10, 512
		}},
	{"l0-only", "MemtableSize=4KiB L0=1000/1000/1000 (no automatic compaction: tables pile up in L0)",
		func(o *lsm.Options) {
			o.MemtableSize = 4 << 10
			o.L0CompactionTrigger, o.L0SlowdownWrites, o.L0StopWrites = 1000, 1000, 1000
		}},
	{"ttl-compactions", "TTLCompactionInterval=2ms MemtableSize=8KiB Compression=zstd Sync=always L0 trigger 2",
		func(o *lsm.Options) {
			o.TTLCompactionInterval, o.MemtableSize, o.Compression = 2*time.Millisecond, 8<<10, lsm.CompressionZstd
			o.Sync, o.L0CompactionTrigger = lsm.SyncAlways, 2
		}},
	{"big-blocks", "MemtableSize=256KiB (staged) BlockSize=64KiB BlockCacheSize=64KiB Sync=no",
		func(o *lsm.Options) {
			o.MemtableSize, o.BlockSize, o.BlockCacheSize, o.Sync = 256<<10, 64<<10, 64<<10, lsm.SyncNo
		}},
	{"many-immutables", "MemtableSize=4KiB MaxImmutableMemtables=6 BlockSize=128 Compression=none BloomBitsPerKey=-1",
		func(o *lsm.Options) {
			o.MemtableSize, o.MaxImmutableMemtables, o.BlockSize = 4<<10, 6, 128
			o.Compression, o.BloomBitsPerKey = lsm.CompressionNone, -1
		}},
}

// config returns the Config running scripts on a new in-memory DB with
// the options c sets, checking the version's invariants and Verify at the
// end.
func (c metaConfig) config() dbtest.Config {
	return dbtest.DBConfig(c.name, c.desc, func(clock *dbtest.Clock) func() (*lsm.DB, error) {
		fs := vfs.NewMem()
		return func() (*lsm.DB, error) {
			o := &lsm.Options{FS: fs, Clock: clock.Now, TTLCompactionInterval: -1}
			c.set(o)
			return lsm.Open("/db", o)
		}
	}, lsm.VersionInvariantsForTest)
}

// divergence returns two configurations whose histories differ, or ok
// false. A configuration that disagrees with the model is paired with one
// that agrees, if any does, so that the report shows the engine against
// itself; if none agrees, it is paired with the model.
func divergence(configs []dbtest.Config, hists [][]string, model dbtest.Config, modelHist []string) (a, b dbtest.Config, ok bool) {
	bad, good := -1, -1
	for i, h := range hists {
		if dbtest.Equal(h, modelHist) {
			if good < 0 {
				good = i
			}
		} else if bad < 0 {
			bad = i
		}
	}
	switch {
	case bad < 0:
		return a, b, false
	case good >= 0:
		return configs[bad], configs[good], true
	}
	return configs[bad], model, true
}

// TestMetamorphic runs generated scripts (every kind of operation of
// internal/dbtest: writes with and without TTL, conditions, counters,
// batches, items, range deletes, reads at snapshots, bounded iterations in
// both directions, flushes, compactions, reopens, clock jumps) under every
// configuration of metaConfigs, and requires every configuration to give
// the history the model gives: the same answer to every read, the same
// error class for every write, the same data at the end, and a DB that
// passes its checks. A divergence is reduced to a shortest script and
// reported with the two configurations and the lines that differ.
//
// The default run is -meta.seeds=100 scripts of -meta.ops=200 operations
// (10 with -short); a long run:
//
//	go test ./lsm -run TestMetamorphic -timeout 10h -args -meta.seeds=5000 -meta.ops=2000
func TestMetamorphic(t *testing.T) {
	seeds := *metaSeeds
	if testing.Short() && !flagSet("meta.seeds") {
		seeds = 10
	}
	// Staged memtables need two Ps (see newMutableMemtable): make sure the
	// staged configurations are staged on a one-CPU machine too.
	if prev := runtime.GOMAXPROCS(0); prev < 2 {
		runtime.GOMAXPROCS(2)
		t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
	}
	for seed := *metaFirst; seed < *metaFirst+seeds; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			ops := dbtest.Generate(rand.New(rand.NewPCG(uint64(seed), 0x6d657461)), *metaOps, nil)
			checkMetamorphic(t, fmt.Sprintf("seed %d (rerun: go test ./lsm -run 'TestMetamorphic/seed=%d$' -args -meta.first=%d -meta.seeds=1 -meta.ops=%d)", seed, seed, seed, *metaOps), ops)
		})
	}
}

// checkMetamorphic runs ops under every configuration and the model and
// fails with a reduced script if their histories differ. The reduced
// script, in a run block of a file in testdata/db, is a regression test.
func checkMetamorphic(t *testing.T, what string, ops []dbtest.Op) {
	t.Helper()
	model := dbtest.ModelConfig()
	modelHist := model.Run(ops)
	configs := make([]dbtest.Config, len(metaConfigs))
	hists := make([][]string, len(metaConfigs))
	for i, c := range metaConfigs {
		configs[i] = c.config()
		hists[i] = configs[i].Run(ops)
	}
	if a, b, diverged := divergence(configs, hists, model, modelHist); diverged {
		t.Errorf("%s: %s", what, dbtest.Report(ops, a, b))
	}
}

// flagSet reports whether the named flag was given on the command line.
func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

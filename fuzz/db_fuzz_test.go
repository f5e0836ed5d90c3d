package fuzz

import (
	"testing"

	"github.com/stratadb/strata/internal/dbtest"
	"github.com/stratadb/strata/lsm"
	"github.com/stratadb/strata/vfs"
)

// FuzzDB decodes its input into a script of the shared DB operations (see
// internal/dbtest: puts with and without TTL, deletes, range deletes,
// conditional writes, counters, batches, items and queries, reads at
// snapshots, bounded iterations in both directions, clock jumps, flushes,
// compactions, reopens), runs it against the DB and the model, and
// requires the same history. A failure prints the script, reduced to the
// operations that show it, as readable lines.
func FuzzDB(f *testing.F) {
	f.Add([]byte{0, 1, 5, 1, 3, 2, 4, 7, 200, 5, 2, 11})
	f.Add([]byte{0, 1, 0, 2, 8, 4, 1, 9, 5, 1, 10, 5, 2, 11})
	f.Add([]byte{6, 3, 6, 3, 5, 3, 0, 3, 6, 3, 12, 3, 4, 10, 6, 3})
	f.Add([]byte{3, 1, 5, 3, 2, 9, 7, 30, 5, 1, 5, 2, 9, 11, 10, 11})
	f.Add([]byte{0, 1, 0, 2, 0, 3, 0, 4, 8, 4, 2, 8, 12, 1, 9, 11, 10, 11})
	f.Add([]byte{0, 1, 0, 5, 0, 9, 8, 13, 2, 7, 5, 4, 11, 0, 6, 14, 3, 8, 1, 11, 9, 11, 10, 11})
	f.Fuzz(func(t *testing.T, input []byte) {
		if len(input) > 2000 {
			input = input[:2000]
		}
		ops := dbtest.Generate(dbtest.NewByteSource(input), 300, nil)
		if report := dbtest.Compare(ops, fuzzConfig(len(input)%3), dbtest.ModelConfig()); report != "" {
			t.Fatal(report)
		}
	})
}

// fuzzConfig is a DB whose memtables flush every few KiB and whose tables
// are compacted at once: a short script reaches every level. Variant 1
// writes to 4 KiB fronts copied into the main list in the background (a
// staged memtable needs 64 KiB); variant 2 leaves values of 8 bytes or
// more in the WAL (Options.WALValueThreshold), so memtables and tables
// refer to them, and syncs every write into WAL segments written ahead
// (Options.WALPrewrite).
func fuzzConfig(variant int) dbtest.Config {
	memtable, desc := int64(4<<10), "MemtableSize=4KiB (plain) BlockSize=256 TargetFileSize=4KiB BaseLevelSize=16KiB L0 trigger 2"
	walValues, prewrite, sync := 0, false, lsm.SyncMode(0)
	switch variant {
	case 1:
		memtable, desc = 64<<10, "MemtableSize=64KiB (staged) BlockSize=256 TargetFileSize=4KiB BaseLevelSize=16KiB L0 trigger 2"
	case 2:
		walValues, prewrite, sync = 8, true, lsm.SyncAlways
		desc += " WALValueThreshold=8 WALPrewrite SyncAlways"
	}
	return dbtest.DBConfig("db", desc, func(clock *dbtest.Clock) func() (*lsm.DB, error) {
		fs := vfs.NewMem()
		return func() (*lsm.DB, error) {
			return lsm.Open("/db", &lsm.Options{FS: fs, Clock: clock.Now, MemtableSize: memtable, BlockSize: 256,
				TargetFileSize: 4 << 10, BaseLevelSize: 16 << 10, L0CompactionTrigger: 2, TTLCompactionInterval: -1,
				WALValueThreshold: walValues, WALPrewrite: prewrite, Sync: sync})
		}
	}, nil)
}

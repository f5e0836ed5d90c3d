package lsm_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/stratadb/strata/internal/dbtest"
	"github.com/stratadb/strata/lsm"
	"github.com/stratadb/strata/vfs"
)

// TestDBScripts runs the scripts in testdata/db: each drives a DB on an
// in-memory filesystem with a fake clock through the operations of
// internal/dbtest (see its package documentation for the language), and
// says what every read answers.
//
//	open [memtable=<bytes>] [block=<bytes>] [l0=<trigger>] [bloom=<bits>]
//	----
//	(a new, empty DB: the default options, except that automatic
//	compactions are off (l0=1000) so a script decides where its data
//	lives, and the clock starts at a fixed time)
//
//	run
//	<operation>
//	...
//	----
//	<operation> -> <result>, for every read and every write that did not
//	answer ok
//
//	lsm
//	----
//	the tables per level, and the immutable memtables waiting for a flush
//
// Every run is also applied to dbtest.Model, and a result the model does not
// give fails the test: the expected output is the specification, and the
// model must agree with it.
func TestDBScripts(t *testing.T) {
	datadriven.Walk(t, "testdata/db", func(t *testing.T, path string) {
		var (
			r     *dbtest.Runner
			model *dbtest.Model
		)
		closeDB := func() {
			if r == nil {
				return
			}
			if db := r.DB(); db != nil {
				if err := lsm.VersionInvariantsForTest(db); err != nil {
					t.Errorf("%s: version: %v", path, err)
				}
				if err := db.Verify(); err != nil {
					t.Errorf("%s: Verify: %v", path, err)
				}
			}
			if err := r.Close(); err != nil {
				t.Errorf("%s: Close: %v", path, err)
			}
			r = nil
		}
		defer closeDB()
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "open":
				closeDB()
				fs, clock := vfs.NewMem(), dbtest.NewClock()
				o := lsm.Options{FS: fs, Clock: clock.Now, TTLCompactionInterval: -1,
					L0CompactionTrigger: 1000, L0SlowdownWrites: 1000, L0StopWrites: 1000}
				for _, a := range d.CmdArgs {
					n, err := strconv.ParseInt(a.Vals[0], 10, 64)
					if err != nil {
						d.Fatalf(t, "%s: %v", a.Key, err)
					}
					switch a.Key {
					case "memtable":
						o.MemtableSize = n
					case "block":
						o.BlockSize = int(n)
					case "l0":
						o.L0CompactionTrigger = int(n)
					case "bloom":
						o.BloomBitsPerKey = int(n)
					default:
						d.Fatalf(t, "unknown argument %s", a.Key)
					}
				}
				var err error
				r, err = dbtest.NewRunner(clock, func() (*lsm.DB, error) { o := o; return lsm.Open("/db", &o) })
				if err != nil {
					d.Fatalf(t, "open: %v", err)
				}
				model = dbtest.NewModel()
				return ""
			case "run":
				if r == nil {
					d.Fatalf(t, "run before open")
				}
				ops, err := dbtest.ParseScript(d.Input)
				if err != nil {
					d.Fatalf(t, "%v", err)
				}
				var b strings.Builder
				for _, op := range ops {
					got, want := r.Do(op), model.Do(op)
					if got != want {
						t.Errorf("%s: %s: the DB answers %q, the model %q", d.Pos, op, got, want)
					}
					if got != dbtest.ResOK || op.Kind.IsRead() {
						fmt.Fprintf(&b, "%s -> %s\n", op, got)
					}
				}
				return b.String()
			case "lsm":
				if r == nil || r.DB() == nil {
					d.Fatalf(t, "lsm before open")
				}
				m := r.DB().Metrics()
				var b strings.Builder
				for l, lm := range m.Levels {
					if lm.Tables > 0 {
						fmt.Fprintf(&b, "L%d: %d table%s\n", l, lm.Tables, plural(lm.Tables))
					}
				}
				if m.ImmutableMemtables > 0 {
					fmt.Fprintf(&b, "immutable memtables: %d\n", m.ImmutableMemtables)
				}
				if b.Len() == 0 {
					return "no tables\n"
				}
				return b.String()
			}
			d.Fatalf(t, "unknown command %q", d.Cmd)
			return ""
		})
	})
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

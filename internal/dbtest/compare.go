package dbtest

import (
	"errors"
	"fmt"
	"strings"

	"github.com/stratadb/strata/lsm"
)

// Config runs whole scripts on a fresh target each time: the model, or a
// DB under some options.
type Config struct {
	// Name names the configuration in reports; Desc says what it is.
	Name, Desc string
	// Run applies ops to a new target and returns the history: one line
	// per operation, then a line with a full scan of what the target
	// holds at the end, then one with the outcome of its closing checks.
	Run func(ops []Op) []string
}

// ModelConfig is the model as a Config.
func ModelConfig() Config {
	return Config{Name: "model", Desc: "the model (internal/dbtest.Model)", Run: func(ops []Op) []string {
		m := NewModel()
		h := Run(m, ops)
		scan := make([]string, 0, 16)
		for _, kv := range m.Scan() {
			scan = append(scan, FormatKV([]byte(kv.Key), []byte(kv.Value)))
		}
		return append(h, "scan: "+strings.Join(scan, " "), "checks: ok")
	}}
}

// DBConfig returns a Config running each script on a new DB: newDB is
// called once per run with the run's clock and returns the function that
// opens (and reopens) the DB, on a filesystem of its own. At the end of
// the run, check (nil: none) and Verify must pass, and Close must succeed.
func DBConfig(name, desc string, newDB func(clock *Clock) func() (*lsm.DB, error), check func(*lsm.DB) error) Config {
	return Config{Name: name, Desc: desc, Run: func(ops []Op) []string {
		clock := NewClock()
		r, err := NewRunner(clock, newDB(clock))
		if err != nil {
			return []string{"error: open: " + err.Error()}
		}
		h := Run(r, ops)
		scan, checks := "error: the DB did not reopen", "ok"
		if db := r.DB(); db != nil {
			scan = "scan: " + ScanDB(db)
			if check != nil {
				if err := check(db); err != nil {
					checks = "error: " + err.Error()
				}
			}
			if err := db.Verify(); err != nil && checks == "ok" {
				checks = "error: Verify: " + err.Error()
			}
		}
		if err := r.Close(); err != nil && checks == "ok" {
			checks = "error: Close: " + err.Error()
		}
		return append(h, scan, "checks: "+checks)
	}}
}

// ScanDB prints every live key and value of db as key=value words, in
// order; if a backward scan disagrees with the forward one, it says so as
// an error.
func ScanDB(db *lsm.DB) string {
	it, err := db.NewIter(nil)
	if err != nil {
		return "error: " + err.Error()
	}
	var fwd, back []string
	for ok := it.First(); ok; ok = it.Next() {
		fwd = append(fwd, FormatKV(it.Key(), it.Value()))
	}
	for ok := it.Last(); ok; ok = it.Prev() {
		back = append(back, FormatKV(it.Key(), it.Value()))
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return "error: " + err.Error()
	}
	for i, j := 0, len(back)-1; i < j; i, j = i+1, j-1 {
		back[i], back[j] = back[j], back[i]
	}
	out := strings.Join(fwd, " ")
	if b := strings.Join(back, " "); b != out {
		return fmt.Sprintf("error: forward scan %q, backward %q", out, b)
	}
	return out
}

// Equal reports whether two histories are the same.
func Equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// ReduceBudget bounds the runs of a reduction (each runs the script on two
// configurations).
const ReduceBudget = 3000

// Compare runs ops under a and b. If their histories differ, it reduces the
// script to one on which they still differ and returns a report: the
// reduced script, the two configurations, and the lines that differ. It
// returns "" if the histories are the same.
func Compare(ops []Op, a, b Config) string {
	if Equal(a.Run(ops), b.Run(ops)) {
		return ""
	}
	return Report(ops, a, b)
}

// Report reduces ops, whose histories under a and b differ, and renders
// the divergence. If the reduced script no longer diverges when run again
// (the divergence depends on timing), the report says so.
func Report(ops []Op, a, b Config) string {
	differ := func(c []Op) bool { return !Equal(a.Run(c), b.Run(c)) }
	reduced := ops
	if differ(ops) {
		reduced = Reduce(ops, differ, ReduceBudget)
	}
	ha, hb := a.Run(reduced), b.Run(reduced)
	var r strings.Builder
	fmt.Fprintf(&r, "%q and %q disagree; the script, reduced from %d to %d operations:\n\n", a.Name, b.Name, len(ops), len(reduced))
	for _, op := range reduced {
		fmt.Fprintf(&r, "  %s\n", op)
	}
	fmt.Fprintf(&r, "\n  %s: %s\n  %s: %s\n\n", a.Name, a.Desc, b.Name, b.Desc)
	width := max(len(a.Name), len(b.Name)) + 1
	shown := 0
	for i := 0; i < max(len(ha), len(hb)) && shown < 10; i++ {
		la, lb := line(ha, i), line(hb, i)
		if la == lb {
			continue
		}
		shown++
		where := "at the end"
		if i < len(reduced) {
			where = fmt.Sprintf("operation %d, %s", i+1, reduced[i])
		}
		fmt.Fprintf(&r, "  %s:\n    %-*s %s\n    %-*s %s\n", where, width, a.Name+":", la, width, b.Name+":", lb)
	}
	if shown == 0 {
		r.WriteString("  (run again, the reduced script agrees: the divergence depends on timing)\n")
	}
	return r.String()
}

func line(h []string, i int) string {
	if i < len(h) {
		return h[i]
	}
	return "(none)"
}

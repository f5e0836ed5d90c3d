package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/stratadb/strata/lsm"
)

// isTerminal reports whether w is a terminal (progress bars go only there).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (a *app) statsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "stats",
		Short: "Print the metrics report (sections like Redis INFO)",
		Long: `Print the database's metrics in sections: server, memory (with the block
cache hit ratio), persistence, stats (stalls, compactions, expiry), keyspace,
and a table of the levels. --json prints one object with the same names
(sync_mode as "everysec", durations in seconds) and the levels as a list.`,
		Example: "  kvctl stats\n  kvctl --json stats",
		Args:    exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			db, err := a.open(openRead)
			if err != nil {
				return err
			}
			m := db.Metrics()
			if a.json {
				return writeJSON(a.stdout, metricsJSON(m))
			}
			if _, err := io.WriteString(a.stdout, m.String()); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "\n%-6s %8s %14s %8s %14s %14s\n", "level", "tables", "bytes", "score", "read", "written")
			for l, lm := range m.Levels {
				fmt.Fprintf(a.stdout, "L%-5d %8d %14d %8.2f %14d %14d\n", l, lm.Tables, lm.Bytes, lm.Score, lm.BytesRead, lm.BytesWritten)
			}
			return nil
		},
	}
}

// metricsJSON is the stats report as one JSON object: the names of the text
// report (Metrics.Fields), numbers as numbers, the sync mode by name,
// durations in seconds, and the levels as a list of objects.
func metricsJSON(m lsm.Metrics) map[string]any {
	obj := map[string]any{}
	for _, f := range m.Fields() {
		switch v := f.Value.(type) {
		case time.Duration:
			obj[f.Name] = v.Seconds()
		case lsm.SyncMode:
			obj[f.Name] = v.String()
		default:
			obj[f.Name] = v
		}
	}
	levels := make([]map[string]any, len(m.Levels))
	for l, lm := range m.Levels {
		levels[l] = map[string]any{"level": l, "tables": lm.Tables, "bytes": lm.Bytes, "score": lm.Score, "read": lm.BytesRead, "written": lm.BytesWritten}
	}
	obj["levels"] = levels
	return obj
}

func (a *app) flushCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "flush",
		Short:   "Write the memtable to a table and wait",
		Example: "  kvctl flush",
		Args:    exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			db, err := a.open(openWrite)
			if err != nil {
				return err
			}
			return db.Flush()
		},
	}
}

func (a *app) compactCommand() *cobra.Command {
	var start, end string
	c := &cobra.Command{
		Use:   "compact [--start A] [--end B]",
		Short: "Compact a key range (default everything) to the bottom level and wait",
		Long: `Compact the keys in [A, B] down the levels, dropping deleted, overwritten
and expired data, and wait. A progress indicator shows on a terminal.`,
		Example: "  kvctl compact\n  kvctl compact --start user: --end user;",
		Args:    exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkOrder(c, start, end); err != nil {
				return err
			}
			var lo, hi []byte
			if c.Flags().Changed("start") {
				lo = []byte(start)
			}
			if c.Flags().Changed("end") {
				hi = []byte(end)
			}
			db, err := a.open(openWrite)
			if err != nil {
				return err
			}
			done := make(chan error, 1)
			go func() { done <- db.Compact(lo, hi) }()
			if !isTerminal(a.stderr) {
				return <-done
			}
			bar := progressbar.NewOptions(-1,
				progressbar.OptionSetWriter(a.stderr),
				progressbar.OptionSetDescription("compacting"),
				progressbar.OptionSpinnerType(14),
				progressbar.OptionClearOnFinish())
			t := time.NewTicker(100 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case err := <-done:
					bar.Finish()
					m := db.Metrics()
					fmt.Fprintf(a.stderr, "compacted: %d tables, %d bytes on disk\n", m.Tables, m.DiskBytes)
					return err
				case <-t.C:
					m := db.Metrics()
					bar.Describe(fmt.Sprintf("compacting: %d compactions, %d MB written", m.Compactions, m.CompactionBytesWritten>>20))
					bar.Add(1)
				}
			}
		},
	}
	c.Flags().StringVar(&start, "start", "", "first key of the range")
	c.Flags().StringVar(&end, "end", "", "last key of the range")
	return c
}

func (a *app) checkCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Verify every checksum of every table and WAL record (exit 2 on corruption)",
		Long: `Open the database and read every table block and WAL record, checking every
checksum. On damage it reports the file and byte offset and exits 2.`,
		Example: "  kvctl check",
		Args:    exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			db, err := a.open(openRead)
			if err != nil {
				return err
			}
			if err := db.Verify(); err != nil {
				return err
			}
			m := db.Metrics()
			if a.json {
				return writeJSON(a.stdout, map[string]any{"ok": true, "tables": m.Tables, "bytes": m.DiskBytes})
			}
			_, err = fmt.Fprintf(a.stdout, "ok: %d tables, %d bytes, every checksum verified\n", m.Tables, m.DiskBytes)
			return err
		},
	}
}

func (a *app) checkpointCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "checkpoint DIR",
		Short:   "Write a consistent, openable copy of the database to DIR (a backup)",
		Example: "  kvctl checkpoint /backups/kv-2026-11-25",
		Args:    exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			// With --read-only the checkpoint copies the WAL segments the
			// read-only open replayed, so it works on a database the user
			// can only read.
			db, err := a.open(openWrite)
			if err != nil {
				return err
			}
			return db.Checkpoint(args[0])
		},
	}
}

// Command kvctl operates a Strata database from the shell: reads and writes,
// TTLs, counters, items and queries, scans, maintenance, import and export,
// file dumps, an interactive shell, and a guided demo.
//
// Exit status: 0 success, 1 not found or condition failed, 2 any other error
// (usage, I/O, corruption), with the reason on standard error.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/stratadb/strata/lsm"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes one kvctl invocation and returns its exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	defer app.closeDB()
	root := app.rootCommand()
	root.SetArgs(args)
	err := root.Execute()
	if cerr := app.closeDB(); err == nil && cerr != nil {
		err = cerr
	}
	return app.report(err)
}

// app is the state shared by the commands of one invocation (or of one
// shell session, which keeps the DB open across its commands).
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer

	dbDir    string
	syncMode string
	memLimit string
	json     bool

	db      *lsm.DB
	inShell bool
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *app {
	return &app{stdin: stdin, stdout: stdout, stderr: stderr}
}

// exitError carries an exit status and a message for stderr.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError marks a bad flag or argument: exit 2 with the usage.
func usageError(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

// report prints err and returns the exit status for it.
func (a *app) report(err error) int {
	if err == nil {
		return 0
	}
	code := 2
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		code = ee.code
	case errors.Is(err, lsm.ErrNotFound), errors.Is(err, lsm.ErrConditionFailed):
		code = 1
	}
	fmt.Fprintf(a.stderr, "kvctl: %v\n", err)
	return code
}

// open returns the DB, opening it on first use.
func (a *app) open() (*lsm.DB, error) {
	if a.db != nil {
		return a.db, nil
	}
	dir := a.dbDir
	if dir == "" {
		dir = os.Getenv("KVCTL_DB")
	}
	if dir == "" {
		dir = "./kvdata"
	}
	opts := &lsm.Options{}
	if a.syncMode != "" {
		m, err := lsm.ParseSyncMode(a.syncMode)
		if err != nil {
			return nil, usageError("--sync: %v", err)
		}
		opts.Sync = m
	}
	if a.memLimit != "" {
		n, err := parseBytes(a.memLimit)
		if err != nil {
			return nil, usageError("--memory-limit: %v", err)
		}
		opts.MemoryLimit = n
	}
	db, err := lsm.Open(dir, opts)
	if err != nil {
		return nil, err
	}
	a.db = db
	return db, nil
}

func (a *app) closeDB() error {
	if a.db == nil {
		return nil
	}
	err := a.db.Close()
	a.db = nil
	return err
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "kvctl [--db DIR] [--sync always|everysec|no] [--json] COMMAND [ARGS]",
		Short: "Operate a Strata database",
		Long: `kvctl reads, writes and maintains a Strata database.

The database directory is --db, else $KVCTL_DB, else ./kvdata.
Exit status: 0 success, 1 not found or condition failed, 2 any other error.
Values print raw followed by a newline; a VALUE of "-" is read from standard
input byte for byte. Durations use Go syntax: 30s, 15m, 1h.`,
		Example: `  kvctl demo
  kvctl put greeting hello --ttl 1h
  kvctl get greeting
  echo -n 'from a pipe' | kvctl put note -
  kvctl scan --prefix user: --limit 10`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.PersistentFlags().StringVar(&a.dbDir, "db", "", "database directory (default $KVCTL_DB, then ./kvdata)")
	root.PersistentFlags().StringVar(&a.syncMode, "sync", "", "WAL sync mode: always, everysec or no (default everysec)")
	root.PersistentFlags().StringVar(&a.memLimit, "memory-limit", "", "memory the DB may hold (memtables, caches, buffers), e.g. 256MiB (default: bounded by the defaults)")
	root.PersistentFlags().BoolVar(&a.json, "json", false, "print one JSON object per line")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError("%v\n%s", err, c.UsageString())
	})
	root.CompletionOptions.DisableDefaultCmd = true
	root.AddCommand(
		a.putCommand(), a.getCommand(), a.delCommand(), a.ttlCommand(), a.expireCommand(), a.incrCommand(),
		a.scanCommand(),
		a.putItemCommand(), a.getItemCommand(), a.delItemCommand(), a.queryCommand(),
		a.statsCommand(), a.flushCommand(), a.compactCommand(), a.checkCommand(), a.checkpointCommand(),
		a.importCommand(), a.exportCommand(), a.dumpCommand(),
		a.shellCommand(), a.demoCommand(),
	)
	return root
}

// args checks the positional argument count, with the usage on failure.
func exactArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError("%s takes %d argument(s), got %d\n%s", c.Name(), n, len(args), c.UsageString())
		}
		return nil
	}
}

func rangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) < lo || len(args) > hi {
			return usageError("%s takes %d to %d arguments, got %d\n%s", c.Name(), lo, hi, len(args), c.UsageString())
		}
		return nil
	}
}

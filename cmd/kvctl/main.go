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
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/stratadb/strata/lsm"
	"github.com/stratadb/strata/manifest"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes one kvctl invocation and returns its exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	defer app.closeDB()
	root := app.rootCommand()
	err := checkGlobalFlags(root, args)
	if err == nil {
		args, err = rewriteBetween(root, args)
	}
	if err == nil {
		root.SetArgs(args)
		err = root.Execute()
	}
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
	readOnly bool          // --read-only: every command opens the DB read-only
	wait     time.Duration // --wait: how long to wait for the directory lock

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

// openMode says what a command needs of the database directory.
type openMode int

const (
	// openCreate: the command writes and may create the database (put,
	// incr, put-item, import, shell).
	openCreate openMode = iota
	// openWrite: the command writes to a database that must exist (del,
	// expire, flush, compact, ...): a typo in --db is an error, not a new
	// empty database.
	openWrite
	// openRead: the command only reads; the database is opened read-only
	// and must exist.
	openRead
)

// dir is the database directory: --db, else $KVCTL_DB, else ./kvdata.
func (a *app) dir() string {
	if a.dbDir != "" {
		return a.dbDir
	}
	if d := os.Getenv("KVCTL_DB"); d != "" {
		return d
	}
	return "./kvdata"
}

// noDatabase returns an exit-2 error when dir holds no database. A database
// is a directory with a CURRENT file: creating one, Open writes CURRENT last
// (after LOCK and the first MANIFEST), and on a directory without one Open
// creates a new, empty database.
func noDatabase(dir string) error {
	_, err := os.Stat(manifest.MakeFilename(dir, manifest.FileTypeCurrent, 0))
	if err == nil || !(errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)) {
		return nil // there is one, or Open will say what is wrong
	}
	why := "no CURRENT file"
	if fi, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		why = "no such directory"
	} else if err == nil && !fi.IsDir() {
		why = "not a directory"
	}
	return &exitError{code: 2, err: fmt.Errorf("no database in %s (%s)", dir, why)}
}

// foreignDir returns an exit-2 error when dir exists, is not empty and holds
// no file of a database, so a command that may create a database does not
// create one among other files (a --db pointed at a home directory).
// lost+found and hidden files do not make a directory non-empty: a freshly
// made filesystem's root, or a directory kept with a .gitkeep, is a fine
// place for a new database.
//
// Any name the engine gives a file (CURRENT, LOCK, MANIFEST-n, n.log, n.sst,
// n.tmp) marks a database: Open creates the directory, then LOCK, then the
// first MANIFEST, then CURRENT, so a creating open that was interrupted
// leaves LOCK (and maybe a MANIFEST) without CURRENT, and such a directory
// is opened as before. So is one holding tables or WAL segments without
// CURRENT, for which Open reports the damage. A directory that cannot be
// read is left to Open to report.
func foreignDir(dir string) error {
	if _, err := os.Stat(manifest.MakeFilename(dir, manifest.FileTypeCurrent, 0)); err == nil {
		return nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return nil // no such directory (Open creates it), or Open says what is wrong
	}
	defer f.Close()
	seen := false
	for {
		names, err := f.Readdirnames(256)
		for _, n := range names {
			if n == "lost+found" || strings.HasPrefix(n, ".") {
				continue // a fresh filesystem's root, or hidden files (.gitkeep): not another program's data
			}
			seen = true
			if _, _, ok := manifest.ParseFilename(n); ok {
				return nil
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) || !seen {
				return nil // empty, not a directory, or unreadable: Open decides
			}
			return &exitError{code: 2, err: fmt.Errorf("%s is not empty and holds no database: give a new or empty directory", dir)}
		}
	}
}

// open returns the DB, opening it on first use as mode says. With
// --read-only every mode opens read-only.
func (a *app) open(mode openMode) (*lsm.DB, error) {
	if a.db != nil {
		return a.db, nil
	}
	dir := a.dir()
	opts := &lsm.Options{ReadOnly: a.readOnly || mode == openRead}
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
	if opts.ReadOnly || mode == openWrite {
		if err := noDatabase(dir); err != nil {
			return nil, err
		}
	} else if err := foreignDir(dir); err != nil {
		return nil, err
	}
	db, err := a.openWaiting(dir, opts)
	if err != nil {
		if errors.Is(err, lsm.ErrNoDatabase) {
			// CURRENT vanished between the check and the open.
			return nil, &exitError{code: 2, err: err}
		}
		return nil, err
	}
	a.db = db
	return db, nil
}

// openWaiting opens the DB, retrying while another process holds the
// directory lock, for up to --wait.
func (a *app) openWaiting(dir string, opts *lsm.Options) (db *lsm.DB, err error) {
	err = a.waitLock(dir, func() error {
		db, err = lsm.Open(dir, opts)
		return err
	})
	return db, err
}

// waitLock runs try, which takes the directory lock of dir, again while it
// fails with ErrLocked, for up to --wait.
func (a *app) waitLock(dir string, try func() error) error {
	if a.wait < 0 {
		return usageError("--wait must not be negative")
	}
	deadline := time.Now().Add(a.wait)
	said := false
	for {
		err := try()
		if !errors.Is(err, lsm.ErrLocked) {
			return err
		}
		if a.wait == 0 {
			return &exitError{code: 2, err: fmt.Errorf("%s is locked by another process (use --wait 5s to wait for it)", dir)}
		}
		left := time.Until(deadline)
		if left <= 0 {
			return &exitError{code: 2, err: fmt.Errorf("%s is still locked by another process after waiting %v", dir, a.wait)}
		}
		if !said {
			fmt.Fprintf(a.stderr, "kvctl: %s is locked by another process; waiting up to %v\n", dir, a.wait)
			said = true
		}
		time.Sleep(min(left, 50*time.Millisecond))
	}
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
		Use:   "kvctl [--db DIR] [--sync always|everysec|no] [--memory-limit SIZE] [--json] [--read-only] [--wait DUR] COMMAND [ARGS]",
		Short: "Operate a Strata database",
		Long: `kvctl reads, writes and maintains a Strata database.

The database directory is --db, else $KVCTL_DB, else ./kvdata. Only put, incr,
put-item, import and shell create a database there; every other command on a
directory without one (no CURRENT file) exits 2 with "no database in DIR".
They create one only in a new or empty directory, never among other files.
Commands that only read (get, get-item, scan, query, ttl, stats, check,
export) open the database read-only and change nothing in it; --read-only
does so for every command, and works on a directory you cannot write.
A database is open in one process at a time: --wait DUR waits up to DUR for
another process to let go, instead of failing at once.

Exit status: 0 success, 1 not found or condition failed, 2 any other error.
Values print raw followed by a newline; a VALUE of "-" is read from standard
input byte for byte. Durations use Go syntax: 30s, 15m, 1h.`,
		Example: `  kvctl demo
  kvctl put greeting hello --ttl 1h
  kvctl get greeting
  echo -n 'from a pipe' | kvctl put note -
  kvctl scan --prefix user: --limit 10`,
		SilenceUsage:          true,
		SilenceErrors:         true,
		DisableFlagsInUseLine: true,
		// An empty --db (say --db "$DIR" with DIR unset) is an error, not
		// the default directory: a script meant another one.
		PersistentPreRunE: func(c *cobra.Command, args []string) error {
			if c.Flags().Changed("db") && a.dbDir == "" {
				return usageError("--db: an empty directory name (leave --db out for $KVCTL_DB or ./kvdata)")
			}
			return nil
		},
		// No command: the usage, on stderr, and exit 2.
		RunE: func(c *cobra.Command, args []string) error {
			return usageError("no command given\n%s", c.UsageString())
		},
	}
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.PersistentFlags().StringVar(&a.dbDir, "db", "", "the database directory, `DIR` (default $KVCTL_DB, then ./kvdata)")
	root.PersistentFlags().StringVar(&a.syncMode, "sync", "", "WAL sync mode: always, everysec or no (default everysec)")
	root.PersistentFlags().StringVar(&a.memLimit, "memory-limit", "", "memory the DB may hold (memtables, caches, buffers), e.g. 256MiB (default: bounded by the defaults)")
	root.PersistentFlags().BoolVar(&a.json, "json", false, "print one JSON object per line")
	root.PersistentFlags().BoolVar(&a.readOnly, "read-only", false, "open the database read-only (writes fail; works on a directory you cannot write)")
	root.PersistentFlags().Var(durationFlag(&a.wait), "wait", "wait up to `DUR` for another process to release the database (default: fail at once)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		if strings.HasPrefix(err.Error(), "unknown shorthand flag") {
			// Most likely a key or value that starts with "-".
			return usageError("%v (a key or value starting with \"-\" goes after \"--\", as in kvctl put temp -- -5)\n%s", err, c.UsageString())
		}
		return usageError("%v\n%s", err, c.UsageString())
	})
	root.CompletionOptions.DisableDefaultCmd = true
	// help of an unknown command is a usage error, as the command itself
	// would be (the default help command prints its usage and exits 0).
	root.SetHelpCommand(&cobra.Command{
		Use:   "help [COMMAND]",
		Short: "Help about any command",
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := root.Find(args)
			if err != nil || cmd == nil || len(rest) > 0 || (len(args) > 0 && cmd == root) {
				return usageError("help: unknown command %q\n%s", strings.Join(args, " "), root.UsageString())
			}
			return cmd.Help()
		},
	})
	root.AddCommand(
		a.putCommand(), a.getCommand(), a.delCommand(), a.ttlCommand(), a.expireCommand(), a.incrCommand(),
		a.scanCommand(),
		a.putItemCommand(), a.getItemCommand(), a.delItemCommand(), a.queryCommand(),
		a.statsCommand(), a.flushCommand(), a.compactCommand(), a.checkCommand(), a.checkpointCommand(),
		a.importCommand(), a.exportCommand(), a.dumpCommand(),
		a.shellCommand(), a.demoCommand(),
		a.repairCommand(),
	)
	a.addCollectionCommands(root)
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

// checkGlobalFlags checks the flags before the command word. The parser
// takes an unknown flag to want a value, so "kvctl --jsn get k" would report
// the unknown command "k"; this reports the unknown flag.
func checkGlobalFlags(root *cobra.Command, args []string) error {
	_, err := commandWord(root, args)
	return err
}

// commandWord returns the index of the command word in args, past the
// global flags and their values (len(args) if there is none), or an error
// naming an unknown flag among them.
func commandWord(root *cobra.Command, args []string) (int, error) {
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" || arg == "-" || !strings.HasPrefix(arg, "-") {
			return i, nil // the command word (or the end of the flags)
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(arg, "--"), "=")
		if arg == "--help" || arg == "-h" {
			continue
		}
		f := root.PersistentFlags().Lookup(name)
		if f == nil || !strings.HasPrefix(arg, "--") || strings.HasPrefix(arg, "---") {
			return 0, usageError("unknown flag: %s\n%s", arg, root.UsageString())
		}
		if !hasValue && f.NoOptDefVal == "" {
			i++ // its value
		}
	}
	return len(args), nil
}

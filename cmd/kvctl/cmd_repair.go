package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/stratadb/strata/lsm"
)

func (a *app) repairCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "repair",
		Short: "Make a database with a damaged WAL open again, keeping every write before the damage",
		Long: `When a command refuses the database because a WAL segment is damaged (a
checksum failure in the middle of a *.log file), repair keeps every write up
to the last intact record before the damage and drops everything after it:
the rest of that segment and every later segment, since replaying them would
leave a hole. Nothing is deleted: dropped segments are renamed to
NAME.damaged. It reports what it dropped (segment, offset, records, bytes),
then opens and verifies the database. A database whose WAL is intact is not
changed. Run it while no other process has the database open; make a copy
of the directory first if the dropped data matters.`,
		Example: "  kvctl repair\n  kvctl --json repair",
		Args:    exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			if err := a.closeDB(); err != nil { // the shell's own handle
				return err
			}
			dir := a.dir()
			if err := noDatabase(dir); err != nil {
				return err
			}
			opts := &lsm.Options{}
			if a.syncMode != "" {
				m, err := lsm.ParseSyncMode(a.syncMode)
				if err != nil {
					return usageError("--sync: %v", err)
				}
				opts.Sync = m
			}
			rep, err := lsm.Repair(dir, opts)
			if a.json && (err == nil || rep.Damaged) {
				if jerr := writeJSON(a.stdout, rep); jerr != nil && err == nil {
					err = jerr
				}
			} else if err == nil || rep.Damaged {
				if _, werr := io.WriteString(a.stdout, rep.String()); werr != nil && err == nil {
					err = werr
				}
			}
			return err
		},
	}
}

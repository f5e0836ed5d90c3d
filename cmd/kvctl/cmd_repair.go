package main

import (
	"io"
	"path/filepath"

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
			if a.readOnly {
				return usageError("repair rewrites the WAL and moves segments aside: it cannot run with --read-only")
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
			var rep lsm.RepairReport
			err := a.waitLock(dir, func() (err error) {
				rep, err = lsm.Repair(dir, opts)
				return err
			})
			if a.json && (err == nil || rep.Damaged) {
				if jerr := writeJSON(a.stdout, repairJSON(rep)); jerr != nil && err == nil {
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

// repairJSON is the repair report as one JSON object, with snake_case names
// as stats --json has: damaged, segment, offset, reason, kept_records,
// last_seq, and dropped, a list (empty when nothing was dropped) of
// {segment, moved_to, from, bytes, records, writes}.
func repairJSON(r lsm.RepairReport) map[string]any {
	dropped := make([]map[string]any, 0, len(r.Dropped))
	for _, d := range r.Dropped {
		dropped = append(dropped, map[string]any{
			"segment": filepath.Base(d.Path), "moved_to": d.MovedTo, "from": d.From,
			"bytes": d.Bytes, "records": d.Records, "writes": d.Entries,
		})
	}
	obj := map[string]any{"damaged": r.Damaged, "dropped": dropped}
	if r.Damaged {
		obj["segment"], obj["offset"], obj["reason"] = r.Segment, r.Offset, r.Reason
		obj["kept_records"], obj["last_seq"] = r.KeptRecords, r.LastSeq
	}
	return obj
}

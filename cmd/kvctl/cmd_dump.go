package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/stratadb/strata/internal/batchrepr"
	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/manifest"
	"github.com/stratadb/strata/sstable"
	"github.com/stratadb/strata/vfs"
	"github.com/stratadb/strata/wal"
)

func (a *app) dumpCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "dump sst|wal|manifest FILE",
		Short: "Print one database file in a human-readable form",
		Long: `Print a table (its properties, block layout and entries), a WAL segment
(every batch and its entries) or a MANIFEST (every version edit). The file is
read directly; the database need not be open, and damage is reported with the
file and byte offset.`,
		Example: `  kvctl dump sst kvdata/000012.sst
  kvctl dump wal kvdata/000015.log
  kvctl dump manifest kvdata/MANIFEST-000003`,
		Args: exactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			if a.json {
				return usageError("dump prints text only: leave out --json\n%s", c.UsageString())
			}
			switch args[0] {
			case "sst":
				return a.dumpSST(args[1])
			case "wal":
				return a.dumpWAL(args[1])
			case "manifest":
				return a.dumpManifest(args[1])
			}
			return usageError("dump: unknown file kind %q (want sst, wal or manifest)\n%s", args[0], c.UsageString())
		},
	}
	return c
}

// entryString renders one entry: key #seq KIND => value [expires ...].
func entryString(ikey, value []byte) string {
	p, ok := keys.Parse(ikey)
	if !ok {
		return fmt.Sprintf("<bad internal key %q>", ikey)
	}
	return entryParts(p.UserKey, p.Seq, p.Kind, value)
}

func entryParts(ukey []byte, seq keys.SeqNum, kind keys.Kind, value []byte) string {
	s := fmt.Sprintf("%s #%d %s", showKey(ukey), seq, kind)
	switch kind {
	case keys.KindSet:
		s += " => " + show(value)
	case keys.KindSetExpiry:
		if exp, v, ok := keys.SplitExpiryValue(value); ok {
			s += fmt.Sprintf(" => %s (expires %s)", show(v), time.Unix(0, exp).UTC().Format(time.RFC3339Nano))
		}
	case keys.KindRangeDelete:
		// A WAL range deletion: the key is the start, the value the end.
		s = fmt.Sprintf("[%s, %s) #%d %s", show(ukey), show(value), seq, kind)
	}
	return s
}

func (a *app) dumpSST(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	r, err := sstable.NewReader(f, fi.Size(), 0, name, sstable.ReaderOptions{Prefix: keys.PartitionPrefixLen})
	if err != nil {
		return err
	}
	p := r.Properties()
	w := a.stdout
	fmt.Fprintf(w, "table %s: %d bytes\n", name, fi.Size())
	fmt.Fprintf(w, "entries: %d (deletions %d, expiring %d)\n", p.NumEntries, p.NumDeletions, p.NumExpiring)
	fmt.Fprintf(w, "keys: %s .. %s\n", keys.Format(p.SmallestKey), keys.Format(p.LargestKey))
	fmt.Fprintf(w, "sequence numbers: %d .. %d\n", p.SmallestSeq, p.LargestSeq)
	if p.EarliestExpiry != 0 || p.LatestExpiry != 0 {
		fmt.Fprintf(w, "expiry: %s\n", expiryRange(p.EarliestExpiry, p.LatestExpiry))
	}
	fmt.Fprintf(w, "data: %d bytes in %d blocks; index %d bytes; filter %d bytes; compression %v\n",
		p.DataSize, p.NumDataBlocks, p.IndexSize, p.FilterSize, p.Compression)
	fmt.Fprintln(w, "blocks:")
	for _, b := range r.Layout() {
		fmt.Fprintf(w, "  %v\n", b)
	}
	fmt.Fprintln(w, "entries:")
	it := r.NewIter()
	for ok := it.First(); ok; ok = it.Next() {
		fmt.Fprintf(w, "  %s\n", entryString(it.Key(), it.Value()))
	}
	if err := it.Close(); err != nil {
		return err
	}
	if rd := r.RangeDels(); len(rd) > 0 {
		fmt.Fprintf(w, "range tombstones: %d in %d fragments\n", p.NumRangeDeletions, len(rd))
		for _, f := range rd {
			for _, s := range f.Seqs {
				fmt.Fprintf(w, "  [%s, %s) #%d RANGEDEL\n", show(f.Start), show(f.End), s)
			}
		}
	}
	return r.Verify()
}

func (a *app) dumpWAL(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	r := wal.NewReader(f, name)
	w := a.stdout
	n := 0
	for {
		rec, err := r.Next()
		if err == io.EOF {
			fmt.Fprintf(w, "%d records, clean end\n", n)
			return nil
		}
		if errors.Is(err, wal.ErrTorn) {
			fmt.Fprintf(w, "%d records, then a torn tail: %v\n", n, err)
			return nil
		}
		if err != nil {
			return err
		}
		n++
		off := r.Offset()
		fmt.Fprintf(w, "record @%d (%d bytes):\n", off, len(rec))
		_, _, err = batchrepr.Decode(rec, name, off, func(seq keys.SeqNum, e batchrepr.Entry) error {
			fmt.Fprintf(w, "  %s\n", entryParts(e.Key, seq, e.Kind, e.Value))
			return nil
		})
		if err != nil {
			return err
		}
	}
}

func (a *app) dumpManifest(name string) error {
	return manifest.ReadEdits(vfs.Default, name, func(off int64, e *manifest.VersionEdit) error {
		_, err := fmt.Fprintf(a.stdout, "@%d %s\n", off, editString(e))
		return err
	})
}

// expiryRange renders a table's expiry bounds (Unix nanoseconds) as dump
// prints them for tables and MANIFEST entries alike: UTC RFC 3339 times.
func expiryRange(earliest, latest int64) string {
	return time.Unix(0, earliest).UTC().Format(time.RFC3339) + " .. " + time.Unix(0, latest).UTC().Format(time.RFC3339)
}

// editString renders a version edit as VersionEdit.String does, but with
// each table's expiry bounds as times (expiryRange), not nanoseconds.
func editString(e *manifest.VersionEdit) string {
	return e.Render(func(m *manifest.FileMeta) string {
		f := *m
		f.EarliestExpiry, f.LatestExpiry = 0, 0
		s := f.String()
		if m.EarliestExpiry != 0 || m.LatestExpiry != 0 {
			s += " expiry: " + expiryRange(m.EarliestExpiry, m.LatestExpiry)
		}
		return s
	})
}

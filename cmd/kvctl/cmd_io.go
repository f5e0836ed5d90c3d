package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/stratadb/strata/lsm"
)

// The JSON Lines format of import and export: one object per key,
//
//	{"key":"user:1","value":"{...}","expires_at_ms":1764000000000}
//
// with "key_base64"/"value_base64" instead for bytes that are not UTF-8, and
// "expires_at_ms" only for keys that expire.

func (a *app) exportCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "export [FILE]",
		Short: "Write every live key as JSON Lines to FILE (default standard output)",
		Example: `  kvctl export backup.jsonl
  kvctl export | gzip > backup.jsonl.gz`,
		Args: rangeArgs(0, 1),
		RunE: func(c *cobra.Command, args []string) error {
			db, err := a.open(openRead)
			if err != nil {
				return err
			}
			out := a.stdout
			var f *os.File
			if len(args) == 1 && args[0] != "-" {
				if f, err = os.Create(args[0]); err != nil {
					return err
				}
				defer f.Close()
				out = f
			}
			w := bufio.NewWriterSize(out, 1<<16)
			var bar *progressbar.ProgressBar
			if f != nil && isTerminal(a.stderr) {
				bar = progressbar.NewOptions(-1, progressbar.OptionSetWriter(a.stderr),
					progressbar.OptionSetDescription("exporting"), progressbar.OptionShowCount(),
					progressbar.OptionClearOnFinish())
			}
			it, err := db.NewIter(nil)
			if err != nil {
				return err
			}
			n := 0
			for ok := it.First(); ok; ok = it.Next() {
				obj := map[string]any{}
				jsonBytes(obj, "key", it.Key())
				jsonBytes(obj, "value", it.Value())
				expiryJSON(obj, it.Expiry())
				if err := writeJSON(w, obj); err != nil {
					it.Close()
					return err
				}
				n++
				if bar != nil && n%1000 == 0 {
					bar.Add(1000)
				}
			}
			if err := it.Close(); err != nil {
				return err
			}
			if bar != nil {
				bar.Finish()
				fmt.Fprintf(a.stderr, "exported %d keys\n", n)
			}
			if err := w.Flush(); err != nil {
				return err
			}
			if f != nil {
				if err := f.Sync(); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

func (a *app) importCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "import FILE",
		Short: "Write the keys of a JSON Lines file (as export writes it; - for standard input)",
		Long: `Read JSON Lines as export writes them and write every key, in batches.
A key whose expires_at_ms has passed is skipped. A malformed line stops the
import with its line number; the batches before it are written.`,
		Example: "  kvctl import backup.jsonl\n  zcat backup.jsonl.gz | kvctl import -",
		Args:    exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			in := a.stdin
			var size int64 = -1
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				if fi, err := f.Stat(); err == nil {
					size = fi.Size()
				}
				in = f
			}
			db, err := a.open(openCreate)
			if err != nil {
				return err
			}
			var bar *progressbar.ProgressBar
			if size >= 0 && isTerminal(a.stderr) {
				bar = progressbar.NewOptions64(size, progressbar.OptionSetWriter(a.stderr),
					progressbar.OptionSetDescription("importing"), progressbar.OptionShowBytes(true),
					progressbar.OptionClearOnFinish())
				in = io.TeeReader(in, bar)
			}
			n, err := importLines(db, in)
			if bar != nil {
				bar.Finish()
			}
			if err != nil {
				return err
			}
			if bar != nil || a.inShell {
				fmt.Fprintf(a.stderr, "imported %d keys\n", n)
			}
			return nil
		},
	}
}

// importLines writes every record of a JSON Lines stream in batches.
func importLines(db *lsm.DB, in io.Reader) (int, error) {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<16), lsm.MaxValueSize*2)
	b := db.NewBatch()
	n, line := 0, 0
	flush := func() error {
		if b.Len() == 0 {
			return nil
		}
		err := db.Apply(b)
		b.Reset()
		return err
	}
	now := time.Now()
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &obj); err != nil {
			return n, usageError("line %d: %v", line, err)
		}
		key, ok, err := jsonField(obj, "key")
		if err != nil || !ok {
			return n, usageError("line %d: no key (%v)", line, err)
		}
		value, ok, err := jsonField(obj, "value")
		if err != nil || !ok {
			return n, usageError("line %d: no value (%v)", line, err)
		}
		var opts []lsm.WriteOption
		if raw, ok := obj["expires_at_ms"]; ok {
			var ms int64
			if err := json.Unmarshal(raw, &ms); err != nil {
				return n, usageError("line %d: expires_at_ms: %v", line, err)
			}
			ttl := time.UnixMilli(ms).Sub(now)
			if ttl <= 0 {
				continue // expired already
			}
			opts = append(opts, lsm.WithTTL(ttl))
		}
		b.Put(key, value, opts...)
		n++
		if b.Len() >= 1000 {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return n, err
	}
	return n, flush()
}

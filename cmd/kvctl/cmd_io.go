package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
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
Each line is one object with "key" (or "key_base64"), "value" (or
"value_base64") and optionally "expires_at_ms", a positive Unix time in
milliseconds; a key whose expiry has passed is not written, and counted.
The first bad line (blank, not a JSON object, an unknown field, bad base64, an
empty key, a key over 64 KiB, a value over 256 MiB, a bad expires_at_ms) stops
the import with exit 2 and its line number; every line before it is written.
The count of keys written goes to standard error.`,
		Example: "  kvctl import backup.jsonl\n  zcat backup.jsonl.gz | kvctl import -",
		Args:    exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			in := a.stdin
			var size int64 = -1
			if args[0] == "-" && a.inShell {
				return usageError(`import - reads standard input, which is the shell's own: give a FILE`)
			}
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
			st, err := importLines(db, in)
			if bar != nil {
				bar.Finish()
			}
			msg := fmt.Sprintf("imported %d keys", st.imported)
			if st.expired > 0 {
				msg += fmt.Sprintf(", skipped %d already expired", st.expired)
			}
			if st.badLine > 0 {
				msg += fmt.Sprintf(", from the lines before line %d", st.badLine)
			}
			fmt.Fprintln(a.stderr, msg)
			return err
		},
	}
}

// importStats counts what importLines did.
type importStats struct {
	imported int // keys written
	expired  int // keys not written because their expiry had passed
	badLine  int // the line that stopped the import, 0 if none
}

// importFields are the fields a line may hold.
var importFields = map[string]bool{"key": true, "key_base64": true, "value": true, "value_base64": true, "expires_at_ms": true}

// importLines writes every record of a JSON Lines stream in batches. At the
// first bad line it writes the lines before it and returns an exit-2 error
// naming the line.
func importLines(db *lsm.DB, in io.Reader) (importStats, error) {
	var st importStats
	sc := bufio.NewScanner(in)
	// The longest line: a 256 MiB value base64-encoded, with room to spare.
	sc.Buffer(make([]byte, 1<<16), lsm.MaxValueSize*2)
	b := db.NewBatch()
	pending := 0 // keys in b
	flush := func() error {
		if b.Len() == 0 {
			return nil
		}
		err := db.Apply(b)
		b.Reset()
		if err == nil {
			st.imported += pending
		}
		pending = 0
		return err
	}
	now := time.Now()
	line := 0
	bad := func(format string, args ...any) (importStats, error) {
		if err := flush(); err != nil {
			return st, err
		}
		st.badLine = line
		return st, &exitError{code: 2, err: fmt.Errorf("line %d: "+format, append([]any{line}, args...)...)}
	}
	for sc.Scan() {
		line++
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			return bad("blank line (each line must be one JSON object)")
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &obj); err != nil {
			return bad("not a JSON object: %v", err)
		}
		for name := range obj {
			if !importFields[name] {
				return bad("unknown field %q (want key or key_base64, value or value_base64, expires_at_ms)", name)
			}
		}
		key, ok, err := jsonField(obj, "key")
		switch {
		case err != nil:
			return bad("%v", err)
		case !ok:
			return bad("no key (want \"key\" or \"key_base64\")")
		case len(key) == 0:
			return bad("empty key")
		case len(key) > lsm.MaxKeySize:
			return bad("key of %d bytes is over the limit of %d", len(key), lsm.MaxKeySize)
		}
		value, ok, err := jsonField(obj, "value")
		switch {
		case err != nil:
			return bad("%v", err)
		case !ok:
			return bad("no value (want \"value\" or \"value_base64\")")
		case len(value) > lsm.MaxValueSize:
			return bad("value of %d bytes is over the limit of %d", len(value), lsm.MaxValueSize)
		}
		var opts []lsm.WriteOption
		if raw, ok := obj["expires_at_ms"]; ok {
			var ms int64
			if err := json.Unmarshal(raw, &ms); err != nil {
				return bad("expires_at_ms: %v", err)
			}
			if ms <= 0 {
				return bad("expires_at_ms %d is not a time (omit the field for no expiry)", ms)
			}
			ttl := time.UnixMilli(ms).Sub(now)
			if ttl <= 0 {
				st.expired++
				continue // expired already
			}
			opts = append(opts, lsm.WithTTL(ttl))
		}
		b.Put(key, value, opts...)
		pending++
		if b.Len() >= 1000 {
			first := line - pending + 1
			if err := flush(); err != nil {
				return st, fmt.Errorf("lines %d-%d: %w", first, line, err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		line++
		if errors.Is(err, bufio.ErrTooLong) {
			return bad("longer than %d bytes", lsm.MaxValueSize*2)
		}
		return bad("%v", err)
	}
	return st, flush()
}

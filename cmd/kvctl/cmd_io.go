package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"time"
	"unicode/utf8"

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
milliseconds (one past the year 2262 is capped there, as --ttl is); a key
whose expiry has passed is not written, and counted. The first bad line
(blank, not a JSON object, not UTF-8, a field given twice, an unknown field,
bad base64, half a surrogate pair, an empty key, a key over 64 KiB, a value
over 256 MiB, a bad expires_at_ms) stops the import with exit 2 and its line
number; every line before it is written. The count of keys written goes to
standard error.`,
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

// A batch of import is written when it holds importBatchKeys keys or
// importBatchBytes bytes of keys and values, whichever comes first.
const (
	importBatchKeys  = 1000
	importBatchBytes = 16 << 20
)

// importRecord is one line read and checked, waiting for its batch.
type importRecord struct {
	key, value []byte
	expiresAt  int64 // Unix milliseconds; 0: no expiry
}

// importLines writes every record of a JSON Lines stream in batches. At the
// first bad line it writes the lines before it and returns an exit-2 error
// naming the line.
func importLines(db *lsm.DB, in io.Reader) (importStats, error) {
	var st importStats
	sc := bufio.NewScanner(in)
	// The longest line: a 256 MiB value base64-encoded, with room to spare.
	sc.Buffer(make([]byte, 1<<16), lsm.MaxValueSize*2)
	b := db.NewBatch()
	var pending []importRecord
	pendingBytes, firstLine := 0, 0 // of the records in pending
	// flush writes the pending records in one batch. Their TTLs are taken
	// from the clock now, just before the write, so a key expires at its
	// expires_at_ms however long the lines took to read.
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		b.Reset()
		now := time.Now()
		expired := 0
		for _, r := range pending {
			if r.expiresAt == 0 {
				b.Put(r.key, r.value)
				continue
			}
			ttl := time.UnixMilli(r.expiresAt).Sub(now)
			if ttl <= 0 {
				expired++
				continue
			}
			b.Put(r.key, r.value, lsm.WithTTL(ttl))
		}
		clear(pending)
		pending, pendingBytes = pending[:0], 0
		if b.Len() > 0 {
			if err := db.Apply(b); err != nil {
				return err
			}
		}
		st.imported += b.Len()
		st.expired += expired
		return nil
	}
	line := 0
	bad := func(format string, args ...any) (importStats, error) {
		if err := flush(); err != nil {
			return st, fmt.Errorf("lines %d-%d: %w", firstLine, line-1, err)
		}
		st.badLine = line
		return st, &exitError{code: 2, err: fmt.Errorf("line %d: "+format, append([]any{line}, args...)...)}
	}
	for sc.Scan() {
		line++
		text := sc.Bytes()
		if len(bytes.TrimSpace(text)) == 0 {
			return bad("blank line (each line must be one JSON object)")
		}
		if !utf8.Valid(text) {
			return bad("not UTF-8 (JSON text is UTF-8: keys and values that are not go base64-encoded in key_base64 and value_base64)")
		}
		obj, err := jsonObject(text)
		if err != nil {
			return bad("%v", err)
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
		r := importRecord{key: key, value: value}
		if raw, ok := obj["expires_at_ms"]; ok {
			if string(raw) == "null" {
				return bad("expires_at_ms is null (omit the field for no expiry)")
			}
			if err := json.Unmarshal(raw, &r.expiresAt); err != nil {
				if raw[0] == '-' && allDigits(raw[1:]) {
					return bad("expires_at_ms %s is not a time (omit the field for no expiry)", raw)
				}
				if !allDigits(raw) {
					return bad("expires_at_ms %s is not a whole number of milliseconds", raw)
				}
				// Past what an int64 holds: far beyond the latest expiry
				// the DB stores, to which WithTTL clamps it.
				r.expiresAt = math.MaxInt64
			}
			if r.expiresAt <= 0 {
				return bad("expires_at_ms %d is not a time (omit the field for no expiry)", r.expiresAt)
			}
		}
		if len(pending) == 0 {
			firstLine = line
		}
		pending = append(pending, r)
		pendingBytes += len(key) + len(value)
		if len(pending) >= importBatchKeys || pendingBytes >= importBatchBytes {
			first := firstLine
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
	if err := flush(); err != nil {
		return st, fmt.Errorf("lines %d-%d: %w", firstLine, line, err)
	}
	return st, nil
}

// allDigits reports whether b is a JSON number without sign, fraction or
// exponent.
func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// jsonObject decodes one line holding one JSON object. A field named twice
// is an error (a decoder would keep the last silently), and so is a string
// escape of half a UTF-16 surrogate pair (a decoder would turn it into
// U+FFFD silently).
func jsonObject(line []byte) (map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(line, &obj); err != nil || obj == nil {
		if err == nil {
			err = errors.New("null")
		}
		return nil, fmt.Errorf("not a JSON object: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	if _, err := dec.Token(); err != nil { // the '{' Unmarshal accepted
		return nil, fmt.Errorf("not a JSON object: %v", err)
	}
	seen := make(map[string]bool, len(obj))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("not a JSON object: %v", err)
		}
		name, _ := tok.(string)
		if seen[name] {
			return nil, fmt.Errorf("field %q given twice", name)
		}
		seen[name] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, fmt.Errorf("not a JSON object: %v", err)
		}
	}
	if loneSurrogate(line) {
		return nil, errors.New(`a \u escape of half a surrogate pair (not a character: give bytes that are not UTF-8 in key_base64 or value_base64)`)
	}
	return obj, nil
}

// loneSurrogate reports whether the JSON text holds a \uD800-\uDFFF escape
// that is not one half of a high-low pair.
func loneSurrogate(text []byte) bool {
	hex4 := func(i int) (rune, bool) { // the 4 hex digits of the \u escape at i
		if i+6 > len(text) || text[i] != '\\' || text[i+1] != 'u' {
			return 0, false
		}
		n, err := strconv.ParseUint(string(text[i+2:i+6]), 16, 16)
		return rune(n), err == nil
	}
	for i := 0; i < len(text); i++ {
		if text[i] != '\\' {
			continue
		}
		r, ok := hex4(i)
		if !ok {
			i++ // a one-character escape: skip what it escapes
			continue
		}
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			return true // a low half first
		case r >= 0xD800 && r <= 0xDBFF:
			if lo, ok := hex4(i + 6); !ok || lo < 0xDC00 || lo > 0xDFFF {
				return true
			}
			i += 11
		default:
			i += 5
		}
	}
	return false
}

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/spf13/cobra"

	"github.com/stratadb/strata/lsm"
)

// valueArg returns a VALUE argument, reading standard input for "-".
func (a *app) valueArg(v string) ([]byte, error) {
	if v != "-" {
		return []byte(v), nil
	}
	if a.inShell {
		// The shell reads its commands from standard input: the value would
		// be the lines after this one (or whatever of them the shell had
		// not yet buffered).
		return nil, usageError(`a VALUE of "-" reads standard input, which is the shell's own: give the value on the line`)
	}
	// Read one byte past the limit, no more: a value over it is an error
	// whatever the size of the input, and costs at most the limit in memory.
	b, err := io.ReadAll(io.LimitReader(a.stdin, lsm.MaxValueSize+1))
	if err != nil {
		return nil, fmt.Errorf("read standard input: %w", err)
	}
	if len(b) > lsm.MaxValueSize {
		return nil, &exitError{code: 2, err: fmt.Errorf("%w: the value on standard input is over the limit of %d bytes (256 MiB)", lsm.ErrInvalidArgument, lsm.MaxValueSize)}
	}
	return b, nil
}

// checkTTL refuses a --ttl that is not positive, as WithTTL does: no
// expiry is said by leaving --ttl out (and expire KEY 0 removes one).
func checkTTL(c *cobra.Command, ttl time.Duration) error {
	if c.Flags().Changed("ttl") && ttl <= 0 {
		return usageError("--ttl %v: a TTL must be positive; leave --ttl out for no expiry\n%s", ttl, c.UsageString())
	}
	return nil
}

// notFoundError is the error of every command whose key or item is absent:
// one message shape, exit 1.
type notFoundError struct{ what string }

func (e *notFoundError) Error() string { return e.what + " not found" }
func (e *notFoundError) Unwrap() error { return lsm.ErrNotFound }

func keyNotFound(key string) error { return &notFoundError{"key " + showKey([]byte(key))} }

func itemNotFound(pk, sk string) error {
	return &notFoundError{fmt.Sprintf("item (%s, %s)", showKey([]byte(pk)), showKey([]byte(sk)))}
}

// printValue prints a value raw with a newline, or as JSON.
// With raw the value is written byte for byte, without the newline.
func (a *app) printValue(key, value []byte, exp time.Time, raw bool) error {
	if a.json {
		obj := map[string]any{}
		jsonBytes(obj, "key", key)
		jsonBytes(obj, "value", value)
		expiryJSON(obj, exp)
		return writeJSON(a.stdout, obj)
	}
	if _, err := a.stdout.Write(value); err != nil || raw {
		return err
	}
	_, err := io.WriteString(a.stdout, "\n")
	return err
}

// rawFlag adds --raw to a command that prints one value.
func rawFlag(c *cobra.Command, raw *bool) {
	c.Flags().BoolVar(raw, "raw", false, "write the value byte for byte, without the newline after it (for files)")
}

// checkRaw refuses --raw with --json.
func (a *app) checkRaw(c *cobra.Command, raw bool) error {
	if raw && a.json {
		return usageError("--raw and --json exclude each other\n%s", c.UsageString())
	}
	return nil
}

func (a *app) putCommand() *cobra.Command {
	var ttl time.Duration
	var nx, xx bool
	c := &cobra.Command{
		Use:   "put KEY VALUE [--ttl DUR] [--nx | --xx]",
		Short: "Write a key (VALUE - reads standard input)",
		Long: `Write KEY with VALUE. With --ttl the key expires after the duration.
With --nx the write happens only if the key is absent (SET NX); with --xx only
if it is present (SET XX); otherwise kvctl exits 1 and writes nothing.`,
		Example: `  kvctl put user:1 '{"name":"ada"}'
  kvctl put session:abc token --ttl 30m
  kvctl put lock:job worker-7 --nx --ttl 10s
  cat photo.jpg | kvctl put photo:1 -`,
		Args: exactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkTTL(c, ttl); err != nil {
				return err
			}
			if nx && xx {
				return usageError("--nx and --xx exclude each other\n%s", c.UsageString())
			}
			value, err := a.valueArg(args[1])
			if err != nil {
				return err
			}
			var opts []lsm.WriteOption
			if ttl != 0 {
				opts = append(opts, lsm.WithTTL(ttl))
			}
			if nx {
				opts = append(opts, lsm.IfAbsent())
			}
			if xx {
				opts = append(opts, lsm.IfPresent())
			}
			db, err := a.open(openCreate)
			if err != nil {
				return err
			}
			return db.Put([]byte(args[0]), value, opts...)
		},
	}
	c.Flags().Var(durationFlag(&ttl), "ttl", "expire the key after `DUR` (positive; omit for no expiry)")
	c.Flags().BoolVar(&nx, "nx", false, "write only if the key is absent")
	c.Flags().BoolVar(&xx, "xx", false, "write only if the key is present")
	return c
}

func (a *app) getCommand() *cobra.Command {
	var raw bool
	c := &cobra.Command{
		Use:   "get KEY [--raw]",
		Short: "Print a key's value (exit 1 if absent)",
		Long: `Print the value of KEY followed by a newline; with --raw, the value byte for
byte and nothing else, so it can be redirected to a file. An absent key exits 1.`,
		Example: `  kvctl get user:1
  kvctl --json get user:1
  kvctl get photo:1 --raw > photo.jpg`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := a.checkRaw(c, raw); err != nil {
				return err
			}
			db, err := a.open(openRead)
			if err != nil {
				return err
			}
			key := []byte(args[0])
			v, err := db.Get(key)
			if errors.Is(err, lsm.ErrNotFound) {
				return keyNotFound(args[0])
			}
			if err != nil {
				return err
			}
			var exp time.Time
			if a.json {
				exp, _ = db.Expiry(key)
			}
			return a.printValue(key, v, exp, raw)
		},
	}
	rawFlag(c, &raw)
	return c
}

func (a *app) delCommand() *cobra.Command {
	var prefix, start, end string
	c := &cobra.Command{
		Use:   "del KEY | del --prefix P | del --start A --end B",
		Short: "Delete a key (exit 1 if it was absent), or every key of a prefix or range",
		Long: `Delete KEY (exit 1 if it was absent).

With --prefix P, delete every key starting with P; with --start A --end B,
every key in [A, B). Either writes one range tombstone, whatever the number
of keys it covers, and prints "deleted N keys", where N is the number of
live keys an iterator counted in the range just before the delete (a write
made between the count and the delete is not counted).`,
		Example: "  kvctl del user:1\n  kvctl del --prefix session:\n  kvctl del --start a --end m",
		RunE: func(c *cobra.Command, args []string) error {
			ranged := prefix != "" || start != "" || end != ""
			switch {
			case ranged && len(args) > 0:
				return usageError("del: give a KEY or --prefix/--start/--end, not both")
			case !ranged:
				if err := exactArgs(1)(c, args); err != nil {
					return err
				}
			case prefix != "" && (start != "" || end != ""):
				return usageError("del: --prefix does not go with --start/--end")
			case prefix == "" && (start == "" || end == ""):
				return usageError("del: --start and --end go together")
			}
			db, err := a.open(openWrite)
			if err != nil {
				return err
			}
			if !ranged {
				err = db.Delete([]byte(args[0]), lsm.IfPresent())
				if errors.Is(err, lsm.ErrConditionFailed) {
					return keyNotFound(args[0])
				}
				return err
			}
			lo, hi := []byte(start), []byte(end)
			b := db.NewBatch()
			if prefix != "" {
				lo, hi = lsm.PrefixBounds([]byte(prefix))
				if hi == nil {
					// Every key from the prefix on starts with it (the
					// prefix is all 0xff): up to the largest possible key,
					// which the range leaves out and a delete takes.
					hi = bytes.Repeat([]byte{0xff}, lsm.MaxKeySize)
					b.Delete(hi)
				}
			}
			n, err := countRange(db, lo, hi)
			if err != nil {
				return err
			}
			if b.Len() > 0 {
				if _, err := db.Get(hi); err == nil {
					n++
				}
			}
			b.DeleteRange(lo, hi)
			if err := db.Apply(b); err != nil {
				return err
			}
			if a.json {
				return writeJSON(a.stdout, map[string]any{"deleted": n})
			}
			_, err = fmt.Fprintf(a.stdout, "deleted %d keys\n", n)
			return err
		},
	}
	c.Flags().StringVar(&prefix, "prefix", "", "delete every key starting with this prefix")
	c.Flags().StringVar(&start, "start", "", "delete every key >= this key (with --end)")
	c.Flags().StringVar(&end, "end", "", "delete every key < this key (with --start)")
	return c
}

// checkOrder refuses --start A --end B with A after B: the range would
// be empty, and an empty answer would look like no keys, not like a typo.
func checkOrder(c *cobra.Command, start, end string) error {
	if c.Flags().Changed("start") && c.Flags().Changed("end") && start > end {
		return usageError("the range is reversed: %s (--start) sorts after %s (--end); give the lower key first", showKey([]byte(start)), showKey([]byte(end)))
	}
	return nil
}

// countRange counts the live keys in [lo, hi).
func countRange(db *lsm.DB, lo, hi []byte) (int, error) {
	it, err := db.NewIter(&lsm.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return 0, err
	}
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	return n, it.Close()
}

func (a *app) ttlCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "ttl KEY",
		Short: "Print a key's remaining TTL in whole seconds (-1: no expiry)",
		Long: `Print the remaining time to live of KEY in whole seconds, rounded up,
or -1 if it never expires. An absent key exits 1.`,
		Example: "  kvctl ttl session:abc",
		Args:    exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			db, err := a.open(openRead)
			if err != nil {
				return err
			}
			exp, err := db.Expiry([]byte(args[0]))
			if errors.Is(err, lsm.ErrNotFound) {
				return keyNotFound(args[0])
			}
			if err != nil {
				return err
			}
			secs := int64(-1)
			if !exp.IsZero() {
				secs = int64(math.Ceil(time.Until(exp).Seconds()))
			}
			if a.json {
				return writeJSON(a.stdout, map[string]any{"key": args[0], "ttl": secs})
			}
			_, err = fmt.Fprintln(a.stdout, secs)
			return err
		},
	}
}

func (a *app) expireCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "expire KEY DUR",
		Short: "Set a key's TTL (0 removes it); exit 1 if the key is absent",
		Example: `  kvctl expire session:abc 15m
  kvctl expire session:abc 0`,
		Args: exactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			d, err := parseDuration(args[1])
			if errors.Is(err, errDurationRange) {
				return usageError("bad duration %q: %v\n%s", args[1], err, c.UsageString())
			}
			if err != nil || d < 0 {
				return usageError("bad duration %q: want 30s, 15m, 1h or 0\n%s", args[1], c.UsageString())
			}
			db, err := a.open(openWrite)
			if err != nil {
				return err
			}
			err = db.Expire([]byte(args[0]), d)
			if errors.Is(err, lsm.ErrNotFound) {
				return keyNotFound(args[0])
			}
			return err
		},
	}
}

func (a *app) incrCommand() *cobra.Command {
	var by int64
	var ttl time.Duration
	c := &cobra.Command{
		Use:   "incr KEY [--by N] [--ttl DUR]",
		Short: "Atomically add to a decimal counter and print the new value",
		Long: `Add N (default 1) to the decimal integer at KEY, creating it at 0 if absent,
and print the new value. --ttl sets the expiry when the key is created (a
fixed-window counter); an existing key keeps its expiry.`,
		Example: `  kvctl incr visits
  kvctl incr ratelimit:ip:10.0.0.1 --ttl 1m
  kvctl incr stock:item9 --by -3`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkTTL(c, ttl); err != nil {
				return err
			}
			var opts []lsm.WriteOption
			if ttl != 0 {
				opts = append(opts, lsm.WithTTL(ttl))
			}
			db, err := a.open(openCreate)
			if err != nil {
				return err
			}
			n, err := db.Increment([]byte(args[0]), by, opts...)
			if err != nil {
				return err
			}
			if a.json {
				return writeJSON(a.stdout, map[string]any{"key": args[0], "value": n})
			}
			_, err = fmt.Fprintln(a.stdout, n)
			return err
		},
	}
	c.Flags().Int64Var(&by, "by", 1, "the amount to add (may be negative)")
	c.Flags().Var(durationFlag(&ttl), "ttl", "expire the key `DUR` after it is created (positive; omit for no expiry)")
	return c
}

func (a *app) scanCommand() *cobra.Command {
	var prefix, start, end string
	var limit int
	var reverse, keysOnly bool
	c := &cobra.Command{
		Use:   "scan [--prefix P] [--start A] [--end B] [--limit N] [--reverse] [--keys-only]",
		Short: "Print keys in order, as key<TAB>value lines",
		Long: `Print the live keys in [--start, --end) (and starting with --prefix), one
key<TAB>value line each. A key is shown as it is when it is one plain word
(printable UTF-8 without spaces, quotes or backslashes), Go-quoted otherwise,
so it can be pasted into the shell; a value is shown as it is when it is
printable UTF-8 not beginning with a double quote, Go-quoted otherwise.
--json prints one JSON object per line instead.`,
		Example: `  kvctl scan --prefix user: --limit 10
  kvctl scan --start a --end m --reverse --keys-only`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			if limit < 0 {
				return usageError("--limit must not be negative\n%s", c.UsageString())
			}
			if err := checkOrder(c, start, end); err != nil {
				return err
			}
			opts := &lsm.IterOptions{}
			if c.Flags().Changed("prefix") {
				opts.LowerBound, opts.UpperBound = lsm.PrefixBounds([]byte(prefix))
			}
			if c.Flags().Changed("start") && (opts.LowerBound == nil || bytes.Compare([]byte(start), opts.LowerBound) > 0) {
				opts.LowerBound = []byte(start)
			}
			if c.Flags().Changed("end") && (opts.UpperBound == nil || bytes.Compare([]byte(end), opts.UpperBound) < 0) {
				opts.UpperBound = []byte(end)
			}
			db, err := a.open(openRead)
			if err != nil {
				return err
			}
			it, err := db.NewIter(opts)
			if err != nil {
				return err
			}
			n := 0
			ok := it.First()
			if reverse {
				ok = it.Last()
			}
			for ; ok && (limit == 0 || n < limit); n++ {
				if err := a.printEntry(it.Key(), it.Value(), it.Expiry(), keysOnly); err != nil {
					it.Close()
					return err
				}
				if reverse {
					ok = it.Prev()
				} else {
					ok = it.Next()
				}
			}
			return it.Close()
		},
	}
	c.Flags().StringVar(&prefix, "prefix", "", "only keys starting with P")
	c.Flags().StringVar(&start, "start", "", "first key (inclusive)")
	c.Flags().StringVar(&end, "end", "", "end key (exclusive)")
	c.Flags().IntVar(&limit, "limit", 0, "at most N keys (0: all)")
	c.Flags().BoolVar(&reverse, "reverse", false, "descending order")
	c.Flags().BoolVar(&keysOnly, "keys-only", false, "print only the keys")
	return c
}

// printEntry prints one scan line.
func (a *app) printEntry(key, value []byte, exp time.Time, keysOnly bool) error {
	if a.json {
		obj := map[string]any{}
		jsonBytes(obj, "key", key)
		if !keysOnly {
			jsonBytes(obj, "value", value)
			expiryJSON(obj, exp)
		}
		return writeJSON(a.stdout, obj)
	}
	var err error
	if keysOnly {
		_, err = fmt.Fprintln(a.stdout, showKey(key))
	} else {
		_, err = fmt.Fprintf(a.stdout, "%s\t%s\n", showKey(key), show(value))
	}
	return err
}

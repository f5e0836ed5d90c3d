package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stratadb/strata/collections"
	"github.com/stratadb/strata/lsm"
)

// addCollectionCommands adds the commands that read Redis data types
// (type, keys, hget, hgetall, lrange, smembers, zrange) and makes dump
// decode the engine keys of collections.
func (a *app) addCollectionCommands(root *cobra.Command) {
	root.AddCommand(a.typeCommand(), a.keysCommand(), a.hgetCommand(), a.hgetallCommand(),
		a.lrangeCommand(), a.smembersCommand(), a.zrangeCommand())
	for _, c := range root.Commands() {
		if c.Name() == "dump" && c.RunE != nil {
			a.annotateDump(c)
		}
	}
}

// store opens the DB and returns a Store on it, without the background
// reclaimer (kvctl reads; it does not leave work behind).
func (a *app) store() (*collections.Store, error) {
	db, err := a.open(openRead)
	if err != nil {
		return nil, err
	}
	return collections.NewWithOptions(db, &collections.Options{ReclaimInterval: -1}), nil
}

// notFound is the error for a key that does not exist: exit status 1, in
// the words of get and del.
func notFound(key string) error { return keyNotFound(key) }

// line prints tab-separated fields, each shown as is or Go-quoted.
func (a *app) line(fields ...[]byte) error {
	var b bytes.Buffer
	for i, f := range fields {
		if i > 0 {
			b.WriteByte('\t')
		}
		b.WriteString(show(f))
	}
	b.WriteByte('\n')
	_, err := a.stdout.Write(b.Bytes())
	return err
}

// scoreText renders a score as Redis does: shortest form, inf and -inf.
func scoreText(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func (a *app) typeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "type KEY",
		Short: "Print the type of a key: string, hash, list, set, zset (none: exit 1)",
		Long: `Print the Redis type of KEY. A key written with put (or Go's db.Put, or SET
through strata-server) is a string; collections are hash, list, set or zset.
A key that does not exist prints none and exits 1.`,
		Example: `  kvctl type user:42`,
		Args:    exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := a.store()
			if err != nil {
				return err
			}
			defer s.Close()
			t, err := s.Type([]byte(args[0]))
			if err != nil {
				return err
			}
			if a.json {
				obj := map[string]any{"type": t.String()}
				jsonBytes(obj, "key", []byte(args[0]))
				if err := writeJSON(a.stdout, obj); err != nil {
					return err
				}
			} else if _, err := fmt.Fprintln(a.stdout, t); err != nil {
				return err
			}
			if t == collections.TypeNone {
				return &exitError{code: 1, err: notFound(args[0])}
			}
			return nil
		},
	}
}

func (a *app) keysCommand() *cobra.Command {
	var prefix, typ string
	var limit int
	c := &cobra.Command{
		Use:   "keys [--prefix P] [--type T] [--limit N]",
		Short: "List keys of every type with their types, name<TAB>type",
		Long: `List the top-level keys (strings and collections, not the engine keys of
collections' elements) in byte order, one name<TAB>type line each.`,
		Example: `  kvctl keys --prefix user: --type hash`,
		Args:    exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			opts := &collections.KeysOptions{Prefix: []byte(prefix)}
			if typ != "" {
				t, ok := collections.ParseType(typ)
				if !ok || t == collections.TypeNone {
					return usageError("--type: %q is not string, hash, list, set or zset", typ)
				}
				opts.Type = t
			}
			s, err := a.store()
			if err != nil {
				return err
			}
			defer s.Close()
			ki, err := s.Keys(opts)
			if err != nil {
				return err
			}
			defer ki.Close()
			for n := 0; ki.Next() && (limit <= 0 || n < limit); n++ {
				if a.json {
					obj := map[string]any{"type": ki.Type().String()}
					jsonBytes(obj, "key", ki.Name())
					err = writeJSON(a.stdout, obj)
				} else {
					err = a.line(ki.Name(), []byte(ki.Type().String()))
				}
				if err != nil {
					return err
				}
			}
			return ki.Close()
		},
	}
	c.Flags().StringVar(&prefix, "prefix", "", "only keys starting with P")
	c.Flags().StringVar(&typ, "type", "", "only keys of type T (string, hash, list, set, zset)")
	c.Flags().IntVar(&limit, "limit", 0, "at most N keys (0: all)")
	return c
}

func (a *app) hgetCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "hget KEY FIELD",
		Short:   "Print one field of a hash (exit 1 if absent)",
		Example: `  kvctl hget user:42 name`,
		Args:    exactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := a.store()
			if err != nil {
				return err
			}
			defer s.Close()
			v, err := s.HGet([]byte(args[0]), []byte(args[1]))
			if errors.Is(err, lsm.ErrNotFound) {
				// The hash, or only the field?
				if err := collection(s, args[0], collections.TypeHash); err != nil {
					return err
				}
				return &notFoundError{fmt.Sprintf("field %s of hash %s", showKey([]byte(args[1])), showKey([]byte(args[0])))}
			}
			if err != nil {
				return err
			}
			return a.printValue([]byte(args[1]), v, time.Time{}, false)
		},
	}
}

// streamIter prints every element of it with emit, then checks its error;
// n counts the elements printed.
func streamIter(it *collections.Iter, emit func(*collections.Iter) error) (n int, err error) {
	defer func() {
		if cerr := it.Close(); err == nil {
			err = cerr
		}
	}()
	for it.Next() {
		if err := emit(it); err != nil {
			return n, err
		}
		n++
	}
	return n, it.Err()
}

// collection checks that key exists (exit 1) and holds type want.
func collection(s *collections.Store, key string, want collections.Type) error {
	t, err := s.Type([]byte(key))
	if err != nil {
		return err
	}
	switch t {
	case collections.TypeNone:
		return notFound(key)
	case want:
		return nil
	}
	return collections.ErrWrongType
}

func (a *app) hgetallCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "hgetall KEY",
		Short: "Print every field of a hash, field<TAB>value, in field order",
		Long: `Print every field of the hash at KEY, one field<TAB>value line each, in
field byte order. The hash is streamed: it may be larger than memory.`,
		Example: `  kvctl hgetall user:42
  kvctl --json hgetall user:42`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := a.store()
			if err != nil {
				return err
			}
			defer s.Close()
			if err := collection(s, args[0], collections.TypeHash); err != nil {
				return err
			}
			it, err := s.HIter([]byte(args[0]))
			if err != nil {
				return err
			}
			_, err = streamIter(it, func(it *collections.Iter) error {
				if a.json {
					obj := map[string]any{}
					jsonBytes(obj, "field", it.Field())
					jsonBytes(obj, "value", it.Value())
					return writeJSON(a.stdout, obj)
				}
				return a.line(it.Field(), it.Value())
			})
			return err
		},
	}
}

func (a *app) lrangeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "lrange KEY START STOP",
		Short: "Print list elements from START to STOP (negative from the end)",
		Long: `Print the elements of the list at KEY from index START to STOP, both
inclusive, one per line; negative indexes count from the end (-1 is the last),
as Redis's LRANGE. The range is streamed.`,
		Example: `  kvctl lrange queue:jobs 0 -1
  kvctl lrange feed:alice 0 9`,
		// Negative indexes are not flags: this command parses its flags.
		DisableFlagParsing: true,
		RunE: func(c *cobra.Command, args []string) error {
			args, err := a.parseOwnFlags(c, args, nil)
			if err != nil || args == nil {
				return err
			}
			if len(args) != 3 {
				return usageError("lrange takes 3 arguments, got %d\n%s", len(args), c.UsageString())
			}
			start, err1 := strconv.ParseInt(args[1], 10, 64)
			stop, err2 := strconv.ParseInt(args[2], 10, 64)
			if err1 != nil || err2 != nil {
				return usageError("lrange: START and STOP must be integers\n%s", c.UsageString())
			}
			s, err := a.store()
			if err != nil {
				return err
			}
			defer s.Close()
			if err := collection(s, args[0], collections.TypeList); err != nil {
				return err
			}
			it, err := s.LIter([]byte(args[0]), start, stop)
			if err != nil {
				return err
			}
			_, err = streamIter(it, func(it *collections.Iter) error {
				if a.json {
					obj := map[string]any{}
					jsonBytes(obj, "value", it.Value())
					return writeJSON(a.stdout, obj)
				}
				return a.line(it.Value())
			})
			return err
		},
	}
}

func (a *app) smembersCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "smembers KEY",
		Short:   "Print every member of a set, in byte order",
		Example: `  kvctl smembers user:123:likes`,
		Args:    exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := a.store()
			if err != nil {
				return err
			}
			defer s.Close()
			if err := collection(s, args[0], collections.TypeSet); err != nil {
				return err
			}
			it, err := s.SIter([]byte(args[0]))
			if err != nil {
				return err
			}
			_, err = streamIter(it, func(it *collections.Iter) error {
				if a.json {
					obj := map[string]any{}
					jsonBytes(obj, "member", it.Member())
					return writeJSON(a.stdout, obj)
				}
				return a.line(it.Member())
			})
			return err
		},
	}
}

func (a *app) zrangeCommand() *cobra.Command {
	var withScores, rev bool
	c := &cobra.Command{
		Use:   "zrange KEY START STOP [--withscores] [--rev]",
		Short: "Print sorted-set members by rank (member<TAB>score with --withscores)",
		Long: `Print the members of the sorted set at KEY from rank START to STOP, both
inclusive (negative from the end), lowest score first, or highest first with
--rev, as Redis's ZRANGE and ZREVRANGE. With --withscores each line is
member<TAB>score.`,
		Example: `  kvctl zrange leaderboard 0 -1 --withscores
  kvctl zrange leaderboard 0 9 --rev --withscores`,
		// Negative indexes are not flags: this command parses its flags.
		DisableFlagParsing: true,
		RunE: func(c *cobra.Command, args []string) error {
			args, err := a.parseOwnFlags(c, args, map[string]*bool{"withscores": &withScores, "rev": &rev})
			if err != nil || args == nil {
				return err
			}
			if len(args) != 3 {
				return usageError("zrange takes 3 arguments, got %d\n%s", len(args), c.UsageString())
			}
			start, err1 := strconv.ParseInt(args[1], 10, 64)
			stop, err2 := strconv.ParseInt(args[2], 10, 64)
			if err1 != nil || err2 != nil {
				return usageError("zrange: START and STOP must be integers\n%s", c.UsageString())
			}
			s, err := a.store()
			if err != nil {
				return err
			}
			defer s.Close()
			if err := collection(s, args[0], collections.TypeZSet); err != nil {
				return err
			}
			it, err := s.ZIter([]byte(args[0]), collections.ZRangeArgs{Start: start, Stop: stop, Rev: rev})
			if err != nil {
				return err
			}
			_, err = streamIter(it, func(it *collections.Iter) error {
				if a.json {
					obj := map[string]any{}
					jsonBytes(obj, "member", it.Member())
					if f := it.Score(); math.IsInf(f, 0) {
						obj["score"] = scoreText(f) // JSON has no infinities
					} else {
						obj["score"] = f
					}
					return writeJSON(a.stdout, obj)
				}
				if withScores {
					return a.line(it.Member(), []byte(scoreText(it.Score())))
				}
				return a.line(it.Member())
			})
			return err
		},
	}
	c.Flags().BoolVar(&withScores, "withscores", false, "print each member's score after a tab")
	c.Flags().BoolVar(&rev, "rev", false, "highest score first (ZREVRANGE)")
	return c
}

// parseOwnFlags parses the flags of a command that takes negative numbers
// as arguments (so cobra does not parse them): the global --db, --sync and
// --json, the command's boolean flags in bools, and -h/--help (which prints
// the help and returns nil args). "--" ends the flags. Anything else
// starting with "-" and a letter is an unknown flag; the rest are the
// positional arguments, returned.
func (a *app) parseOwnFlags(c *cobra.Command, args []string, bools map[string]*bool) ([]string, error) {
	pos := []string{}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			return append(pos, args[i+1:]...), nil
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		isFlag := strings.HasPrefix(arg, "--") || (len(arg) > 1 && arg[0] == '-' && (arg[1] < '0' || arg[1] > '9') && arg[1] != '.')
		if !isFlag {
			pos = append(pos, arg)
			continue
		}
		takeValue := func() (string, error) {
			if hasVal {
				return val, nil
			}
			if i+1 >= len(args) {
				return "", usageError("flag --%s needs a value\n%s", name, c.UsageString())
			}
			i++
			return args[i], nil
		}
		var err error
		switch {
		case name == "h" || name == "help":
			return nil, c.Help()
		case name == "db":
			a.dbDir, err = takeValue()
		case name == "sync":
			a.syncMode, err = takeValue()
		case name == "json":
			a.json = true
		case bools[name] != nil:
			*bools[name] = true
		default:
			return nil, usageError("unknown flag %s\n%s", arg, c.UsageString())
		}
		if err != nil {
			return nil, err
		}
	}
	return pos, nil
}

// annotateDump makes the dump command follow every entry whose key belongs
// to the collections package with what that key is (collections.DescribeKey):
// metadata of which name, header, element, score index entry or rank node
// of which collection ID.
func (a *app) annotateDump(c *cobra.Command) {
	run := c.RunE
	c.RunE = func(cmd *cobra.Command, args []string) error {
		w := &keyAnnotator{w: a.stdout}
		old := a.stdout
		a.stdout = w
		err := run(cmd, args)
		a.stdout = old
		if ferr := w.flush(); err == nil {
			err = ferr
		}
		return err
	}
}

// keyAnnotator passes lines through, adding "  # description" to entry
// lines ("  KEY #seq KIND ...") whose key is a collection engine key.
type keyAnnotator struct {
	w   io.Writer
	buf []byte
}

func (k *keyAnnotator) Write(p []byte) (int, error) {
	k.buf = append(k.buf, p...)
	for {
		i := bytes.IndexByte(k.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := k.buf[:i]
		if err := k.emit(line); err != nil {
			return 0, err
		}
		k.buf = k.buf[i+1:]
	}
}

func (k *keyAnnotator) emit(line []byte) error {
	out := append([]byte{}, line...)
	rest, ok := bytes.CutPrefix(line, []byte("  "))
	switch {
	case ok && len(rest) > 0 && rest[0] == '"':
		if key, _, ok := unquotePrefix(rest); ok {
			if d, ok := collections.DescribeKey(key, nil); ok {
				out = append(out, "  # "...)
				out = append(out, d...)
			}
		}
	case ok && len(rest) > 1 && rest[0] == '[' && rest[1] == '"':
		// A range tombstone: [START, END) #seq RANGEDEL, in a table's
		// range deletion block or a WAL record.
		start, after, ok := unquotePrefix(rest[1:])
		if !ok {
			break
		}
		after, ok = bytes.CutPrefix(after, []byte(", "))
		if !ok {
			break
		}
		end, _, ok := unquotePrefix(after)
		if !ok {
			break
		}
		if d, ok := collections.DescribeRange(start, end); ok {
			out = append(out, "  # "...)
			out = append(out, d...)
		}
	}
	out = append(out, '\n')
	_, err := k.w.Write(out)
	return err
}

// unquotePrefix decodes the Go-quoted string at the start of b and returns
// it with the bytes after it.
func unquotePrefix(b []byte) (val, rest []byte, ok bool) {
	q, err := strconv.QuotedPrefix(string(b))
	if err != nil {
		return nil, nil, false
	}
	v, err := strconv.Unquote(q)
	if err != nil {
		return nil, nil, false
	}
	return []byte(v), b[len(q):], true
}

func (k *keyAnnotator) flush() error {
	if len(k.buf) == 0 {
		return nil
	}
	_, err := k.w.Write(k.buf)
	k.buf = nil
	return err
}

package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stratadb/strata/lsm"
)

func (a *app) putItemCommand() *cobra.Command {
	var ttl time.Duration
	c := &cobra.Command{
		Use:   "put-item PK SK VALUE [--ttl DUR]",
		Short: "Write the item (PK, SK) (VALUE - reads standard input)",
		Example: `  kvctl put-item user#42 profile '{"name":"ada"}'
  kvctl put-item user#42 order#2026-11-01 '{"total":12}' --ttl 720h`,
		Args: exactArgs(3),
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkTTL(c, ttl); err != nil {
				return err
			}
			value, err := a.valueArg(args[2])
			if err != nil {
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
			return db.PutItem([]byte(args[0]), []byte(args[1]), value, opts...)
		},
	}
	c.Flags().Var(durationFlag(&ttl), "ttl", "expire the item after `DUR` (positive; omit for no expiry)")
	return c
}

func (a *app) getItemCommand() *cobra.Command {
	var raw bool
	c := &cobra.Command{
		Use:   "get-item PK SK [--raw]",
		Short: "Print an item's value (exit 1 if absent)",
		Long: `Print the value of the item (PK, SK) followed by a newline; with --raw, the
value byte for byte and nothing else. An absent item exits 1.`,
		Example: `  kvctl get-item user#42 profile
  kvctl get-item user#42 avatar --raw > avatar.png`,
		Args: exactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			if err := a.checkRaw(c, raw); err != nil {
				return err
			}
			db, err := a.open(openRead)
			if err != nil {
				return err
			}
			v, err := db.GetItem([]byte(args[0]), []byte(args[1]))
			if errors.Is(err, lsm.ErrNotFound) {
				return itemNotFound(args[0], args[1])
			}
			if err != nil {
				return err
			}
			if a.json {
				return writeJSON(a.stdout, itemJSON(lsm.Item{PK: []byte(args[0]), SK: []byte(args[1]), Value: v}))
			}
			return a.printValue(nil, v, time.Time{}, raw)
		},
	}
	rawFlag(c, &raw)
	return c
}

func (a *app) delItemCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "del-item PK SK",
		Short:   "Delete an item (exit 1 if it was absent)",
		Example: "  kvctl del-item user#42 order#2026-11-01",
		Args:    exactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			db, err := a.open(openWrite)
			if err != nil {
				return err
			}
			err = db.DeleteItem([]byte(args[0]), []byte(args[1]), lsm.IfPresent())
			if errors.Is(err, lsm.ErrConditionFailed) {
				return itemNotFound(args[0], args[1])
			}
			return err
		},
	}
}

func itemJSON(it lsm.Item) map[string]any {
	obj := map[string]any{}
	jsonBytes(obj, "pk", it.PK)
	jsonBytes(obj, "sk", it.SK)
	jsonBytes(obj, "value", it.Value)
	expiryJSON(obj, it.Expiry)
	return obj
}

func (a *app) queryCommand() *cobra.Command {
	var q lsm.Query
	var beginsWith, from, to, betweenLo, betweenHi, after string
	c := &cobra.Command{
		Use:   "query PK [--begins-with X] [--from A] [--to B] [--between A B] [--after SK] [--limit N] [--reverse]",
		Short: "Print a partition's items in sort-key order, as sk<TAB>value lines",
		Long: `Print the items of partition PK in sort-key order, one sk<TAB>value line
each, shown as scan shows keys and values. --begins-with keeps sort keys with
that prefix; --from A keeps A <= sk, --to B keeps sk <= B; --between A B is
--from A --to B (the two words right after it, wherever it stands). A range
whose start is after its end is an error, as DynamoDB's BETWEEN. --after
resumes strictly after a sort key (strictly before with --reverse), for
paging; --limit caps the count.`,
		Example: `  kvctl query user#42 --begins-with order# --reverse --limit 5
  kvctl query board:daily --from 0100 --to 0200
  kvctl query board:daily --between 0100 0200
  kvctl query user#42 --after order#2026-10-01`,
		Args: exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if q.Limit < 0 {
				return usageError("--limit must not be negative\n%s", c.UsageString())
			}
			if c.Flags().Changed("between") {
				// rewriteBetween turns every --between into the two flags
				// below; one that reaches here was not after "query".
				return usageError("--between A B goes after the query command; or use --from A --to B\n%s", c.UsageString())
			}
			if c.Flags().Changed("begins-with") {
				q.BeginsWith = []byte(beginsWith)
			}
			if c.Flags().Changed("from") {
				q.From = []byte(from)
			}
			if c.Flags().Changed("to") {
				q.To = []byte(to)
			}
			if c.Flags().Changed(betweenLoFlag) {
				if q.From != nil || q.To != nil {
					return usageError("--between A B is --from A --to B: give one or the other\n%s", c.UsageString())
				}
				q.From, q.To = []byte(betweenLo), []byte(betweenHi)
			}
			if q.From != nil && q.To != nil && bytes.Compare(q.From, q.To) > 0 {
				return usageError("the range is reversed: %s (from) sorts after %s (to); give the lower sort key first", showKey(q.From), showKey(q.To))
			}
			if c.Flags().Changed("after") {
				q.After = []byte(after)
			}
			db, err := a.open(openRead)
			if err != nil {
				return err
			}
			items := db.Query([]byte(args[0]), &q)
			for items.Next() {
				it := items.Item()
				if a.json {
					err = writeJSON(a.stdout, itemJSON(it))
				} else {
					_, err = fmt.Fprintf(a.stdout, "%s\t%s\n", showKey(it.SK), show(it.Value))
				}
				if err != nil {
					items.Close()
					return err
				}
			}
			return items.Close()
		},
	}
	c.Flags().StringVar(&beginsWith, "begins-with", "", "sort keys starting with X")
	c.Flags().StringVar(&from, "from", "", "sort keys from `A` on (inclusive)")
	c.Flags().StringVar(&to, "to", "", "sort keys up to `B` (inclusive)")
	c.Flags().String("between", "", "sort keys between `A B`, both inclusive: the same as --from A --to B")
	c.Flags().StringVar(&betweenLo, betweenLoFlag, "", "")
	c.Flags().StringVar(&betweenHi, betweenHiFlag, "", "")
	c.Flags().MarkHidden(betweenLoFlag)
	c.Flags().MarkHidden(betweenHiFlag)
	c.Flags().StringVar(&after, "after", "", "resume strictly after this sort key")
	c.Flags().IntVar(&q.Limit, "limit", 0, "at most N items (0: all)")
	c.Flags().BoolVar(&q.Reverse, "reverse", false, "descending sort-key order")
	return c
}

// The hidden flags rewriteBetween turns --between A B into.
const (
	betweenLoFlag = "between-from"
	betweenHiFlag = "between-to"
)

// rewriteBetween turns "--between A B" after the query command word into
// "--between-from=A --between-to=B". The flag parser gives a flag one word,
// so it would take A and leave B among the positional arguments, where
// "query --between A B PK" would read B as the partition key. Rewriting
// before parsing takes the two words right after --between, always. A
// second --between is an error (the parser would keep the last silently).
// Only the query command's arguments are rewritten: "query" as a flag's
// value or another command's argument is not the command.
func rewriteBetween(root *cobra.Command, args []string) ([]string, error) {
	cmd, err := commandWord(root, args)
	if err != nil || cmd >= len(args) || args[cmd] != "query" {
		return args, err
	}
	seen := false
	for i := cmd + 1; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "--":
			return args, nil
		case arg == "--between" || strings.HasPrefix(arg, "--between="):
			if seen {
				return nil, usageError("--between given twice: give one range")
			}
			seen = true
			var lo, hi string
			var n int // words taken after arg
			if v, ok := strings.CutPrefix(arg, "--between="); ok {
				lo, n = v, 1
			} else {
				n = 2
			}
			if i+n >= len(args) {
				return nil, usageError("--between takes two sort keys: --between A B (or --from A --to B)")
			}
			if n == 2 {
				lo = args[i+1]
			}
			hi = args[i+n]
			out := append(append([]string{}, args[:i]...), "--"+betweenLoFlag+"="+lo, "--"+betweenHiFlag+"="+hi)
			out = append(out, args[i+n+1:]...)
			args = out
			i++ // past the two flags
		}
	}
	return args, nil
}

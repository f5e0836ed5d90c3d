package main

import (
	"errors"
	"fmt"
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
	c.Flags().DurationVar(&ttl, "ttl", 0, "expire the item after this duration")
	return c
}

func (a *app) getItemCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "get-item PK SK",
		Short:   "Print an item's value (exit 1 if absent)",
		Example: "  kvctl get-item user#42 profile",
		Args:    exactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			db, err := a.open(openRead)
			if err != nil {
				return err
			}
			v, err := db.GetItem([]byte(args[0]), []byte(args[1]))
			if err != nil {
				return err
			}
			if a.json {
				return writeJSON(a.stdout, itemJSON(lsm.Item{PK: []byte(args[0]), SK: []byte(args[1]), Value: v}))
			}
			return a.printValue(nil, v, time.Time{})
		},
	}
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
				return fmt.Errorf("%w: item (%s, %s)", lsm.ErrNotFound, args[0], args[1])
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
	var beginsWith, between, after string
	c := &cobra.Command{
		Use:   "query PK [--begins-with X] [--between A B] [--after SK] [--limit N] [--reverse]",
		Short: "Print a partition's items in sort-key order, as sk<TAB>value lines",
		Long: `Print the items of partition PK in sort-key order, one sk<TAB>value line
each, shown as scan shows keys and values. --begins-with keeps sort keys with that prefix; --between A B keeps
A <= sk <= B; --after resumes strictly after a sort key (strictly before with
--reverse), for paging; --limit caps the count.`,
		Example: `  kvctl query user#42 --begins-with order# --reverse --limit 5
  kvctl query board:daily --between 0100 0200
  kvctl query user#42 --after order#2026-10-01`,
		Args: func(c *cobra.Command, args []string) error {
			want := 1
			if c.Flags().Changed("between") {
				want = 2 // --between A B: B arrives as a positional argument
			}
			if len(args) != want {
				return usageError("query takes PK (and B after --between A B)\n%s", c.UsageString())
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			if q.Limit < 0 {
				return usageError("--limit must not be negative\n%s", c.UsageString())
			}
			if c.Flags().Changed("begins-with") {
				q.BeginsWith = []byte(beginsWith)
			}
			if c.Flags().Changed("between") {
				q.From, q.To = []byte(between), []byte(args[1])
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
	c.Flags().StringVar(&between, "between", "", "sort keys from A to B inclusive (give B after A)")
	c.Flags().StringVar(&after, "after", "", "resume strictly after this sort key")
	c.Flags().IntVar(&q.Limit, "limit", 0, "at most N items (0: all)")
	c.Flags().BoolVar(&q.Reverse, "reverse", false, "descending sort-key order")
	return c
}

package dbtest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stratadb/strata/lsm"
)

// Clock is a settable clock, safe for the DB's background goroutines to
// read. It starts at StartTime, as the Model does.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at StartTime.
func NewClock() *Clock { return &Clock{t: StartTime} }

// Now returns the clock's time; pass it as Options.Clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Runner applies operations to a real DB. Its Open function opens (and, for
// reopen, reopens) the DB; the DB's Options.Clock must be the runner's
// Clock, whose time advance moves.
type Runner struct {
	clock *Clock
	open  func() (*lsm.DB, error)
	db    *lsm.DB
	snaps map[string]*lsm.Snapshot
	batch *lsm.Batch
}

// NewRunner opens the DB with open and returns a runner over it.
func NewRunner(clock *Clock, open func() (*lsm.DB, error)) (*Runner, error) {
	db, err := open()
	if err != nil {
		return nil, err
	}
	return &Runner{clock: clock, open: open, db: db, snaps: map[string]*lsm.Snapshot{}}, nil
}

// DB returns the DB the runner is on (a new one after each reopen).
func (r *Runner) DB() *lsm.DB { return r.db }

// CloseSnapshots closes the snapshots the script left open.
func (r *Runner) CloseSnapshots() error {
	var errs []error
	for name, s := range r.snaps {
		errs = append(errs, s.Close())
		delete(r.snaps, name)
	}
	return errors.Join(errs...)
}

// Close closes the snapshots the script left open and the DB.
func (r *Runner) Close() error {
	err := r.CloseSnapshots()
	if r.db == nil {
		return err
	}
	return errors.Join(err, r.db.Close())
}

// ErrorClass returns the result line of an error: "ok" for nil, its class
// for the errors a script may expect, and "error: <message>" for any other.
func ErrorClass(err error) string {
	switch {
	case err == nil:
		return ResOK
	case errors.Is(err, lsm.ErrConditionFailed):
		return ResConditionFailed
	case errors.Is(err, lsm.ErrNotFound):
		return ResNotFound
	case errors.Is(err, lsm.ErrNotInteger):
		return ResNotInteger
	case errors.Is(err, lsm.ErrInvalidArgument):
		return ResInvalid
	}
	return "error: " + err.Error()
}

// writeOpts returns the lsm options of a write op.
func writeOpts(op Op) []lsm.WriteOption {
	var o []lsm.WriteOption
	if op.TTL != 0 {
		o = append(o, lsm.WithTTL(op.TTL))
	}
	switch op.Cond.Kind {
	case CondAbsent:
		o = append(o, lsm.IfAbsent())
	case CondPresent:
		o = append(o, lsm.IfPresent())
	case CondValue:
		o = append(o, lsm.IfValue(op.Cond.Value))
	}
	return o
}

// Do applies op to the DB and returns its result line.
func (r *Runner) Do(op Op) string {
	db := r.db
	if db == nil {
		return "error: the DB did not reopen"
	}
	switch op.Kind {
	case OpPut:
		return ErrorClass(db.Put(op.Key, op.Value, writeOpts(op)...))
	case OpDelete:
		return ErrorClass(db.Delete(op.Key, writeOpts(op)...))
	case OpDeleteRange:
		return ErrorClass(db.DeleteRange(op.Key, op.End))
	case OpPutItem:
		return ErrorClass(db.PutItem(op.Key, op.SK, op.Value, writeOpts(op)...))
	case OpDeleteItem:
		return ErrorClass(db.DeleteItem(op.Key, op.SK, writeOpts(op)...))
	case OpIncr:
		n, err := db.Increment(op.Key, op.Delta, writeOpts(op)...)
		if err != nil {
			return ErrorClass(err)
		}
		return strconv.FormatInt(n, 10)
	case OpExpire:
		return ErrorClass(db.Expire(op.Key, op.TTL))
	case OpBatch:
		if r.batch == nil {
			r.batch = db.NewBatch()
		}
		b := r.batch
		b.Reset()
		for _, sub := range op.Batch {
			switch sub.Kind {
			case OpPut:
				b.Put(sub.Key, sub.Value, writeOpts(sub)...)
			case OpDelete:
				b.Delete(sub.Key, writeOpts(sub)...)
			case OpDeleteRange:
				b.DeleteRange(sub.Key, sub.End)
			case OpPutItem:
				b.PutItem(sub.Key, sub.SK, sub.Value, writeOpts(sub)...)
			case OpDeleteItem:
				b.DeleteItem(sub.Key, sub.SK, writeOpts(sub)...)
			}
		}
		return ErrorClass(db.Apply(b))
	case OpGet, OpGetItem:
		var v []byte
		var err error
		switch s, ok := r.snaps[op.Snap]; {
		case op.Snap != "" && !ok:
			return ResNoSnapshot
		case ok && op.Kind == OpGet:
			v, err = s.Get(op.Key)
		case ok:
			v, err = s.GetItem(op.Key, op.SK)
		case op.Kind == OpGet:
			v, err = db.Get(op.Key)
		default:
			v, err = db.GetItem(op.Key, op.SK)
		}
		if err != nil {
			return ErrorClass(err)
		}
		return FormatValue(v)
	case OpTTL:
		exp, err := db.Expiry(op.Key)
		if err != nil {
			return ErrorClass(err)
		}
		return FormatTTL(exp, r.clock.Now())
	case OpQuery:
		return r.query(op)
	case OpIter:
		return r.iter(op)
	case OpSnapshot:
		if old, ok := r.snaps[op.Snap]; ok {
			if err := old.Close(); err != nil {
				return ErrorClass(err)
			}
		}
		r.snaps[op.Snap] = db.NewSnapshot()
		return ResOK
	case OpCloseSnapshot:
		s, ok := r.snaps[op.Snap]
		if !ok {
			return ResNoSnapshot
		}
		delete(r.snaps, op.Snap)
		return ErrorClass(s.Close())
	case OpFlush:
		return ErrorClass(db.Flush())
	case OpCompact:
		return ErrorClass(db.Compact(op.Key, op.End))
	case OpReopen:
		if err := r.CloseSnapshots(); err != nil {
			return ErrorClass(err)
		}
		if err := db.Close(); err != nil {
			return ErrorClass(err)
		}
		r.batch = nil
		r.db = nil
		db, err := r.open()
		if err != nil {
			return ErrorClass(err)
		}
		r.db = db
		return ResOK
	case OpAdvance:
		r.clock.Advance(op.TTL)
		return ResOK
	}
	return "error: unknown operation " + op.Kind.String()
}

func (r *Runner) query(op Op) string {
	q := op.Query
	items := r.db.Query(op.Key, &lsm.Query{BeginsWith: q.BeginsWith, From: q.From, To: q.To, After: q.After, Reverse: q.Reverse, Limit: q.Limit})
	var parts []string
	for items.Next() {
		it := items.Item()
		parts = append(parts, FormatKV(it.SK, it.Value))
	}
	if err := items.Close(); err != nil {
		return ErrorClass(err)
	}
	if len(parts) == 0 {
		return ResNone
	}
	return strings.Join(parts, " ")
}

func (r *Runner) iter(op Op) string {
	var it *lsm.Iterator
	var err error
	o := &lsm.IterOptions{LowerBound: op.Lower, UpperBound: op.Upper}
	if op.Snap != "" {
		s, ok := r.snaps[op.Snap]
		if !ok {
			return ResNoSnapshot
		}
		it, err = s.NewIter(o)
	} else {
		it, err = r.db.NewIter(o)
	}
	if err != nil {
		return ErrorClass(err)
	}
	out := make([]string, 0, len(op.Steps))
	for _, s := range op.Steps {
		var valid bool
		switch s.Kind {
		case StepFirst:
			valid = it.First()
		case StepLast:
			valid = it.Last()
		case StepNext:
			valid = it.Next()
		case StepPrev:
			valid = it.Prev()
		case StepSeekGE:
			valid = it.SeekGE(s.Key)
		case StepSeekLT:
			valid = it.SeekLT(s.Key)
		}
		if err := it.Error(); err != nil {
			it.Close()
			return fmt.Sprintf("error: %v (after %q)", err, out)
		}
		if valid != it.Valid() {
			it.Close()
			return fmt.Sprintf("error: step %s returned %v but Valid is %v (after %q)", stepNames[s.Kind], valid, it.Valid(), out)
		}
		if valid {
			out = append(out, FormatKV(it.Key(), it.Value()))
		} else {
			out = append(out, ResInvalidStep)
		}
	}
	if err := it.Close(); err != nil {
		return ErrorClass(err)
	}
	return strings.Join(out, " ")
}

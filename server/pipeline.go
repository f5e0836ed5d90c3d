package server

import (
	"errors"
	"slices"
	"time"

	"github.com/stratadb/strata/collections"
)

// Pipelined writes share one commit.
//
// A client that pipelines (sends requests without waiting for replies)
// leaves several complete requests in its read buffer at once. Run one by
// one, each write is its own collections transaction and its own engine
// commit: with 50 such clients on two cores the engine's commit pipeline
// seldom finds a second writer queued, so every write pays a whole commit
// (a WAL record and flush, the leader's turn, the handoffs) for one entry.
//
// So the serving goroutine gathers a run of consecutive plain writes of one
// key kind each (SET without options, HSET, HINCRBY, SADD, LPUSH, RPUSH,
// LPOP, RPOP, MSET) from
// the requests already read, and runs the run as EXEC runs its queue: the
// gate shared, the stripes of every key of the run held, the commands
// against one transaction of just those keys, whose writes reach the WAL as
// one batch. The replies are the ones the commands would have given one by
// one, in order; under appendfsync always they are sent after the fsync
// that covers the batch, as every reply is (client.flush).
//
// Counters (INCR, DECR, INCRBY, DECRBY) join runs too, but not that
// transaction: in it an increment would read its counter, and the commit
// would read it again to check that nobody changed it. A run's consecutive
// counters go instead to Store.IncrByEach, one lsm batch of increments
// that the engine's commit leader computes, each counter read once. A run
// mixing counters and other writes goes in segments of one kind each, in
// order, each segment one commit.
//
// What the client can observe does not change:
//   - Another client sees all of the run's writes or none of them (it
//     cannot see between two requests of a pipeline anyway: it may always
//     have read before the first or after the last).
//   - A command that answers an error inside the run (WRONGTYPE, a size
//     limit) would, alone, have written nothing; inside a transaction it
//     might have written part of its work. So the first error reply drops
//     the whole transaction (nothing is written) and the run goes again,
//     one command at a time, through the dispatcher.
//   - A pop wakes nobody (a client blocks on a list only while it is
//     empty), so pops join runs whoever is blocked; a pop in the run sees
//     the pushes and pops before it in the run's transaction, as it would
//     have seen them committed one by one.
//   - A list push wakes clients blocked on the list after each push in
//     Redis, so a blocked client pops the first push's element. A run with
//     a push therefore goes one command at a time while any client is
//     blocked; the check is made with the run's stripes held, and a client
//     blocks on a key only while holding the key's stripe, so none can
//     block on one of the run's keys between the check and the commit.
//   - A command of the run is counted in commandstats and the slow log as
//     it would be alone, once it committed.
//
// A client in MULTI, subscribed, not authenticated, or whose user has any
// ACL rule, and any request while a script is busy, takes the one-by-one
// path: the dispatcher's checks for those are not repeated here.

// groupMaxCmds, groupMaxKeys and groupMaxBytes bound a run: its
// transaction's overlay holds every key it writes until the commit.
const (
	groupMaxCmds  = 64
	groupMaxKeys  = 512
	groupMaxBytes = 1 << 20
)

// errGroupFailed drops a run's transaction: a command answered an error.
var errGroupFailed = errors.New("a command of the pipelined run failed")

// pipeGroup is the run a client is gathering. Owned by the client's
// goroutine; its slices are kept between runs so that gathering allocates
// nothing once they have grown.
type pipeGroup struct {
	cmds    []groupedCmd
	args    [][]byte // every command's argv, one after another
	keys    [][]byte // every command's keys
	pos     []int    // scratch: key positions
	stripes []int    // scratch: the run's stripes
	bytes   int
	pushes  bool // a list push is in the run

	// seg is the segment of cmds being run, [lo, hi); deltas and
	// results a counter segment's (runCounters).
	lo, hi  int
	deltas  []int64
	results []int64

	// The transaction's function and keyspace, made once per client;
	// mark, errs and lastErr are the reply writer's state before the
	// run, now the time it started.
	body    func(*collections.Tx) error
	ks      dataKeyspace
	mark    int
	errs    int
	lastErr string
	now     time.Time
}

type groupedCmd struct {
	cmd      *command
	lo, hi   int // its argv is args[lo:hi]
	klo, khi int // its keys are keys[klo:khi]
	counter  bool
	start    time.Time
	dur      time.Duration
}

func (g *pipeGroup) argv(i int) [][]byte {
	c := &g.cmds[i]
	return g.args[c.lo:c.hi:c.hi]
}

// add appends a request to the run. argv's slices point into the read
// buffer, which stays put until the next fill; only the slice headers are
// copied.
func (g *pipeGroup) add(cmd *command, argv [][]byte, pos []int) {
	lo, klo := len(g.args), len(g.keys)
	g.args = append(g.args, argv...)
	for _, i := range pos {
		g.keys = append(g.keys, argv[i])
	}
	g.cmds = append(g.cmds, groupedCmd{cmd: cmd, lo: lo, hi: len(g.args), klo: klo, khi: len(g.keys), counter: isCounter(cmd)})
	for _, a := range argv {
		g.bytes += len(a)
	}
	if cmd.name == "lpush" || cmd.name == "rpush" {
		g.pushes = true
	}
}

func (g *pipeGroup) full() bool {
	return len(g.cmds) >= groupMaxCmds || len(g.keys) >= groupMaxKeys || g.bytes >= groupMaxBytes
}

func (g *pipeGroup) reset() {
	clear(g.args) // let go of the read buffer
	clear(g.keys)
	clear(g.cmds)
	g.cmds, g.args, g.keys = g.cmds[:0], g.args[:0], g.keys[:0]
	g.bytes, g.pushes = 0, false
}

// groupable returns the command of argv if it may join a pipelined run of
// cl's, with its key positions in cl.grp.pos; nil if it must be
// dispatched alone.
func (s *Server) groupable(cl *client, argv [][]byte) *command {
	if s.noGroup || cl.multi != nil || cl.subs != nil || cl.pq != nil || cl.closeAfter {
		return nil
	}
	cmd := s.lookup(argv)
	if cmd == nil || cmd.subs != nil || !cmd.arityOK(len(argv)) {
		return nil
	}
	switch cmd.name {
	case "set":
		if len(argv) != 3 { // options: the one-by-one path
			return nil
		}
	case "hset": // HSET key field value [field value ...]
		if len(argv)%2 != 0 {
			return nil
		}
	case "mset": // MSET key value [key value ...]
		if len(argv)%2 != 1 {
			return nil
		}
	case "sadd", "lpush", "rpush", "hincrby", "lpop", "rpop":
	case "incr", "decr", "incrby", "decrby":
	default:
		return nil
	}
	if !cl.authed && s.authRequired() || !s.userOf(cl).state().unrestricted || s.lua.busy() {
		return nil
	}
	cl.grp.pos = appendKeyPositions(cl.grp.pos[:0], cmd, argv)
	if checkKeyAt(argv, cl.grp.pos) != "" {
		return nil
	}
	return cmd
}

// groupBody runs cl's run in tx; the Store may call it again (a rerun
// after a raw write changed a string the run read), so it starts afresh.
func (s *Server) groupBody(cl *client, tx *collections.Tx) error {
	g, out := &cl.grp, &cl.out
	out.b, out.errors, out.lastErr = out.b[:g.mark], g.errs, g.lastErr
	g.ks = dataKeyspace{s: s, c: tx, tx: tx}
	ctx := ctxPool.Get().(*cmdCtx)
	defer func() {
		*ctx = cmdCtx{}
		ctxPool.Put(ctx)
	}()
	t0 := g.now
	for i := g.lo; i < g.hi; i++ {
		c := &g.cmds[i]
		*ctx = cmdCtx{s: s, cl: cl, cmd: c.cmd, argv: g.argv(i), w: out, ks: &g.ks, inTx: true}
		c.cmd.handler(ctx)
		t1 := time.Now()
		c.start, c.dur = t0, t1.Sub(t0)
		t0 = t1
		if out.errors != g.errs {
			return errGroupFailed
		}
	}
	if tx.Undeclared() {
		return errNeedGlobal
	}
	return nil
}

// runGroup runs the run cl gathered, and empties it. The run goes in
// segments of one kind each, in order: consecutive counters (INCR, DECR,
// INCRBY, DECRBY) as one IncrByEach, the other writes as one transaction.
// A segment that cannot run as one goes one command at a time, having
// written nothing; the segments before it stay written, as they would
// have been one by one.
func (s *Server) runGroup(cl *client) {
	g := &cl.grp
	defer g.reset()
	for lo := 0; lo < len(g.cmds); {
		hi := lo + 1
		for hi < len(g.cmds) && g.cmds[hi].counter == g.cmds[lo].counter {
			hi++
		}
		ran := false
		switch {
		case hi-lo == 1:
		case g.cmds[lo].counter:
			ran = s.runCounters(cl, lo, hi)
		default:
			ran = s.runGrouped(cl, lo, hi)
		}
		if !ran {
			for i := lo; i < hi; i++ {
				s.dispatch(cl, g.argv(i))
			}
		}
		lo = hi
	}
}

// isCounter reports whether cmd is one of the counters a run gives to
// IncrByEach.
func isCounter(cmd *command) bool {
	switch cmd.name {
	case "incr", "decr", "incrby", "decrby":
		return true
	}
	return false
}

// runCounters runs the counters cmds[lo:hi] of cl's run as one
// Store.IncrByEach (one engine commit) and reports true, or reports false
// having written nothing: a delta that does not parse, or any key whose
// increment fails, sends the segment one command at a time, which answers
// the errors as Redis does and writes the increments that succeed.
func (s *Server) runCounters(cl *client, lo, hi int) bool {
	g := &cl.grp
	g.deltas = g.deltas[:0]
	for i := lo; i < hi; i++ {
		d, msg := counterDelta(g.cmds[i].cmd.name, g.argv(i))
		if msg != "" {
			return false
		}
		g.deltas = append(g.deltas, d)
	}
	n := hi - lo
	g.results = slices.Grow(g.results[:0], n)[:n]
	keys, stripes, ok := s.lockRun(g, lo, hi)
	if !ok {
		return false // a script is busy: the dispatcher answers
	}
	now := time.Now()
	cl.lastActive.Store(now.UnixNano())
	if s.syncAlways() {
		cl.syncFirst = true
	}
	err := s.store.IncrByEach(keys, g.deltas, g.results)
	dur := time.Since(now) / time.Duration(n)
	s.unlockStripes(stripes)
	s.gate.releaseShared()
	if err != nil {
		return false
	}
	out := &cl.out
	ctx := ctxPool.Get().(*cmdCtx)
	for i := lo; i < hi; i++ {
		*ctx = cmdCtx{s: s, cl: cl, cmd: g.cmds[i].cmd, argv: g.argv(i), w: out}
		errs := out.errors
		out.int(g.results[i-lo])
		s.account(ctx, now, dur, errs)
		now = now.Add(dur)
	}
	*ctx = cmdCtx{}
	ctxPool.Put(ctx)
	s.blocking.serveReady(true)
	return true
}

// lockRun takes the gate shared and the server stripes of the keys of g's
// commands lo..hi-1, and returns those keys and the stripes to unlock; it
// reports false, holding nothing, while a script is busy.
func (s *Server) lockRun(g *pipeGroup, lo, hi int) (keys [][]byte, stripes []int, ok bool) {
	keys = g.keys[g.cmds[lo].klo:g.cmds[hi-1].khi]
	if err := s.gate.shared(); err != nil {
		return nil, nil, false
	}
	stripes = s.keyStripes(g.stripes[:0], keys)
	g.stripes = stripes[:0]
	s.lockStripes(stripes)
	return keys, stripes, true
}

// runGrouped runs cl's run in one transaction and reports true, or
// reports false having written nothing, neither to the store nor to the
// client: the run must then go one command at a time.
func (s *Server) runGrouped(cl *client, lo, hi int) bool {
	g := &cl.grp
	g.lo, g.hi = lo, hi
	keys, stripes, ok := s.lockRun(g, lo, hi)
	if !ok {
		return false // a script is busy: the dispatcher answers
	}
	if g.pushes && s.blocking.nBlocked.Load() > 0 { // (in this segment or another)
		s.unlockStripes(stripes)
		s.gate.releaseShared()
		return false
	}
	now := time.Now()
	cl.lastActive.Store(now.UnixNano())
	if s.syncAlways() {
		cl.syncFirst = true
	}
	out := &cl.out
	mark, errs, lastErr := len(out.b), out.errors, out.lastErr
	g.mark, g.errs, g.lastErr, g.now = mark, errs, lastErr, now
	if g.body == nil {
		g.body = func(tx *collections.Tx) error { return s.groupBody(cl, tx) }
	}
	err := s.store.UpdateKeys(keys, g.body)
	g.ks = dataKeyspace{}
	ctx := ctxPool.Get().(*cmdCtx)
	s.unlockStripes(stripes)
	s.gate.releaseShared()
	if err != nil {
		out.b, out.errors, out.lastErr = out.b[:mark], errs, lastErr
		if errors.Is(err, errGroupFailed) || errors.Is(err, errNeedGlobal) {
			*ctx = cmdCtx{}
			ctxPool.Put(ctx)
			return false
		}
		// The commit failed: nothing was written, and every command of
		// the run answers the engine's error.
		msg := keyError(err)
		for i := lo; i < hi; i++ {
			c := &g.cmds[i]
			*ctx = cmdCtx{s: s, cl: cl, cmd: c.cmd, argv: g.argv(i), w: out}
			before := out.errors
			out.err(msg)
			s.account(ctx, c.start, c.dur, before)
		}
	} else {
		for i := lo; i < hi; i++ {
			c := &g.cmds[i]
			*ctx = cmdCtx{s: s, cl: cl, cmd: c.cmd, argv: g.argv(i), w: out}
			s.account(ctx, c.start, c.dur, errs)
		}
	}
	*ctx = cmdCtx{}
	ctxPool.Put(ctx)
	// Clients blocked on the run's keys (none when it pushed: see above)
	// are served before the client's next command.
	s.blocking.serveReady(true)
	return true
}

package server

import (
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stratadb/strata/lsm"
)

// cmdCtx is what a handler gets: the arguments, where to reply, and the
// keyspace to read and write. The dispatcher recycles the cmdCtx of a lone
// command once its handler returns: a handler must not keep it, nor hand it
// to a goroutine that outlives the call.
type cmdCtx struct {
	s    *Server
	cl   *client // the client that sent the command (a script's caller)
	cmd  *command
	argv [][]byte
	w    *replyWriter
	ks   Keyspace
	// inTx is set inside EXEC and scripts: the gate is held (exclusively,
	// or shared with the script's keys for a keyed script run), ks is the
	// transaction, and nothing may start another one.
	inTx bool
	// script is the running script, for calls made by redis.call.
	script *scriptRun
	// block, set by a blocking command that found nothing to pop, makes
	// the dispatcher wait for a push once the command's locks are released.
	block *waiter
}

func (c *cmdCtx) arg(i int) string { return string(c.argv[i]) }

// errReply writes the reply for a Keyspace or engine error.
func (c *cmdCtx) errReply(err error) { c.w.err(keyError(err)) }

// wrongArgs is the arity error.
func wrongArgs(name string) string {
	return "ERR wrong number of arguments for '" + name + "' command"
}

// dispatch runs one request of client cl, as Redis's processCommand does:
// look the command up, check arity, authentication, the MULTI state and a
// busy script, then run it and account for it.
//
// It allocates nothing for a command of fixed key positions (GET, SET,
// INCR, MSET, HSET, ...): the name is lowered on the stack, the key
// positions and stripes live in arrays on the stack, and the cmdCtx comes
// from a pool (BenchmarkRESPPath).
//
// The clock is read once at the start (its wall time is the client's last
// activity, its monotonic time the start of the command's duration) and
// once at the end: a read costs a few hundred nanoseconds on some virtual
// machines.
func (s *Server) dispatch(cl *client, argv [][]byte) {
	now := time.Now()
	cl.lastActive.Store(now.UnixNano())
	if s.syncAlways() {
		cl.syncFirst = true
	}
	cmd := s.lookup(argv)
	if cmd == nil {
		cl.rejectTx()
		cl.reject(nil, unknownCommand(argv))
		return
	}
	if cmd.subs != nil && (len(argv) >= 2 || cmd.handler == nil) {
		// A container called without a known subcommand.
		cl.rejectTx()
		if len(argv) < 2 {
			cl.reject(nil, wrongArgs(cmd.name))
		} else {
			cl.reject(nil, unknownSubcommand(cmd.name, argv[1]))
		}
		return
	}
	var msg string
	switch {
	case !cmd.arityOK(len(argv)):
		msg = wrongArgs(cmd.name)
	case !cl.authed && s.authRequired() && cmd.flags&flagNoAuth == 0:
		msg = msgNoAuth
	default:
		if st := s.userOf(cl).state(); !st.unrestricted {
			msg = aclDenied(st, cmd, argv)
		}
		if msg == "" {
			var buf [8]int
			msg = checkKeyAt(argv, appendKeyPositions(buf[:0], cmd, argv))
		}
	}
	if msg == "" && cl.out.proto == 2 && cl.subscribed() && !allowedSubscribed(cmd) {
		msg = msgPubsubContext(cmd.name)
	}
	if msg == "" && cl.multi != nil && !txControl(cmd) && cmd.flags&flagNoMulti != 0 {
		msg = "ERR Command not allowed inside a transaction"
	}
	if msg == "" && s.lua.busy() && cmd.flags&flagAllowBusy == 0 {
		msg = msgBusy
	}
	if msg != "" {
		cl.rejectTx()
		cl.reject(cmd, msg)
		return
	}
	if cl.multi != nil && !txControl(cmd) {
		cl.multi.queue(cmd, argv)
		cl.out.simple("QUEUED")
		return
	}
	ctx := ctxPool.Get().(*cmdCtx)
	*ctx = cmdCtx{s: s, cl: cl, cmd: cmd, argv: argv, w: &cl.out, ks: s.ks}
	s.callAt(ctx, true, now)
	if ctx.block != nil {
		// A blocked command's context is held by the waiters: not recycled.
		s.blocking.wait(ctx)
	} else {
		*ctx = cmdCtx{}
		ctxPool.Put(ctx)
	}
	if cl.subs != nil {
		cl.commitSubs()
	}
	// Clients blocked on keys this command pushed to are served before
	// this client's next command, as Redis serves them before its next.
	s.blocking.serveReady(mayWrite(cmd))
}

// mayWrite reports whether cmd may write: a command that may not leaves
// the serving of blocked clients to whoever is at it already.
func mayWrite(cmd *command) bool {
	switch cmd.name {
	case "exec", "eval", "evalsha":
		return true
	}
	return cmd.flags&flagWrite != 0
}

// ctxPool recycles the cmdCtx of lone commands (see cmdCtx).
var ctxPool = sync.Pool{New: func() any { return new(cmdCtx) }}

// lookup is s.table.lookup without allocating: a name in upper or mixed
// case (redis-benchmark and many clients send "SET") is lowered into a
// buffer on the stack, and the map is indexed with a conversion the
// compiler does not copy.
func (s *Server) lookup(argv [][]byte) *command {
	var buf [32]byte
	c := s.table[string(lowerInto(buf[:0], argv[0]))]
	if c == nil || c.subs == nil || len(argv) < 2 {
		return c
	}
	if sub := c.subs[string(lowerInto(buf[:0], argv[1]))]; sub != nil {
		return sub
	}
	return c
}

// lowerInto appends b in lower case (ASCII) to dst.
func lowerInto(dst, b []byte) []byte {
	for _, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// appendKeyPositions appends the indexes of argv holding keys to dst, as
// cmd.keyPositions returns them. The key specs of almost every command are
// an index and a range; those are followed here without allocating, and
// any other spec (a keyword, a key count) falls back to keyPositions.
func appendKeyPositions(dst []int, cmd *command, argv [][]byte) []int {
	argc := len(argv)
	for i := range cmd.keys {
		ks := &cmd.keys[i]
		if ks.bsType != "index" || ks.fkType != "range" {
			return append(dst[:0], cmd.keyPositions(argv)...)
		}
	}
	for i := range cmd.keys {
		ks := &cmd.keys[i]
		first, step := ks.bsIndex, max(ks.keyStep, 1)
		last := first + ks.lastKey
		if ks.lastKey < 0 {
			last = argc + ks.lastKey
			if ks.limit > 1 {
				last = first + (last-first)/ks.limit
			}
		}
		for j := first; j <= last && j < argc; j += step {
			if j > 0 {
				dst = append(dst, j)
			}
		}
	}
	return dst
}

// reject answers msg for a command refused before it ran, and counts it
// (the command's rejected_calls, errorstats). An EXEC refused so ends its
// transaction, as Redis's execCommandAbort does.
func (cl *client) reject(cmd *command, msg string) {
	if cmd != nil {
		cmd.stats.rejected.Add(1)
	}
	if cmd != nil && cmd.name == "exec" && (cl.multi != nil || strings.HasPrefix(msg, "NOPERM")) {
		// Redis aborts on a refused EXEC, in MULTI or not (a user
		// denied MULTI is denied EXEC outside it).
		if cl.multi != nil {
			cl.multi = nil
			cl.s.unwatchAll(cl)
		}
		msg = "EXECABORT Transaction discarded because of: " + msg
	}
	cl.out.err(msg)
	cl.s.stats.errorReply(cl.out.lastErr)
}

// txControl lists the commands MULTI runs at once instead of queueing.
func txControl(cmd *command) bool {
	switch cmd.name {
	case "exec", "discard", "multi", "watch", "quit", "reset":
		return true
	}
	return false
}

// call runs a command with its locks and accounts for it in commandstats
// and the slow log. lone is false inside EXEC and scripts, whose gate is
// already held.
func (s *Server) call(ctx *cmdCtx, lone bool) { s.callAt(ctx, lone, time.Now()) }

// callAt is call for a command that started at start.
func (s *Server) callAt(ctx *cmdCtx, lone bool, start time.Time) {
	cmd := ctx.cmd
	if ctx.cl != nil {
		ctx.cl.curCmd.Store(&cmd.name)
	}
	errsBefore := ctx.w.errors
	if lone && cmd.flags&flagWrite != 0 && !exclusiveCommand(cmd) {
		if err := s.gate.shared(); err != nil {
			cmd.stats.rejected.Add(1)
			ctx.w.err(msgBusy)
			return
		}
		var buf [16]int
		stripes := s.stripesOf(buf[:0], cmd, ctx.argv)
		s.lockStripes(stripes)
		cmd.handler(ctx)
		s.unlockStripes(stripes)
		s.gate.releaseShared()
	} else {
		if !lone && cmd.flags&flagWrite != 0 {
			if k, ok := ctx.ks.(*dataKeyspace); ok && k.tx != nil {
				var buf [8]int
				for _, i := range appendKeyPositions(buf[:0], cmd, ctx.argv) {
					k.noteWrite(ctx.argv[i])
				}
			}
		}
		cmd.handler(ctx)
	}
	s.account(ctx, start, time.Since(start), errsBefore)
}

// account counts a command that ran in commandstats, the error stats and
// the client's state, and offers it to the slow log. errsBefore is the
// reply writer's error count before the command.
func (s *Server) account(ctx *cmdCtx, start time.Time, dur time.Duration, errsBefore int) {
	cmd := ctx.cmd
	cmd.stats.calls.Add(1)
	cmd.stats.usec.Add(dur.Microseconds())
	if ctx.w.errors != errsBefore {
		cmd.stats.failed.Add(1)
		s.stats.errorReply(ctx.w.lastErr)
	}
	s.stats.commands.Add(1)
	if ctx.cl != nil {
		ctx.cl.cmdsDone.Add(1)
		// Only the client's goroutine writes lastCmd, so it may read it
		// without the lock; others read it under the lock.
		if ctx.cl.lastCmd != cmd.name {
			ctx.cl.mu.Lock()
			ctx.cl.lastCmd = cmd.name
			ctx.cl.mu.Unlock()
		}
		ctx.cl.curCmd.Store(nil)
	}
	if cmd.flags&flagSkipSlowlog == 0 {
		s.slowlog.maybeAdd(s, ctx, start, dur)
	}
}

// exclusiveCommand lists the write commands that take the gate
// exclusively in their handler rather than shared around it.
func exclusiveCommand(cmd *command) bool {
	switch cmd.name {
	case "flushall", "flushdb":
		return true
	}
	return false
}

// checkKeys refuses keys the engine cannot hold.
func checkKeys(cmd *command, argv [][]byte) string {
	var buf [8]int
	return checkKeyAt(argv, appendKeyPositions(buf[:0], cmd, argv))
}

// checkKeyAt refuses the keys at positions pos the engine cannot hold.
func checkKeyAt(argv [][]byte, pos []int) string {
	for _, i := range pos {
		if n := len(argv[i]); n == 0 || n > lsm.MaxKeySize {
			return fmt.Sprintf("ERR key of %d bytes not supported (keys are 1 to %d bytes)", n, lsm.MaxKeySize)
		}
	}
	return ""
}

// unknownCommand is Redis's reply for an unknown command name: the name
// and the first arguments, up to 128 bytes each, cut at a NUL byte as the C
// strings they are in Redis.
func unknownCommand(argv [][]byte) string {
	var args []byte
	for i := 1; i < len(argv) && len(args) < 128; i++ {
		a := cstr(argv[i], 128-len(args))
		args = append(args, '\'')
		args = append(args, a...)
		args = append(args, '\'', ' ')
	}
	return "ERR unknown command '" + string(cstr(argv[0], 128)) + "', with args beginning with: " + string(args)
}

// cstr is b up to its first NUL byte and at most max bytes.
func cstr(b []byte, max int) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	if len(b) > max {
		b = b[:max]
	}
	return b
}

func unknownSubcommand(container string, sub []byte) string {
	return "ERR unknown subcommand '" + string(cstr(sub, 128)) + "'. Try " + strings.ToUpper(container) + " HELP."
}

// gate orders lone writes (shared) against EXEC, scripts and FLUSHALL
// (exclusive). A waiting exclusive holder stops new shared holders, so a
// stream of writes cannot starve a transaction. While a script runs past
// lua-time-limit, waiters for the shared gate give up with -BUSY instead
// of waiting, as every command but a few does in Redis.
//
// Every write command takes the gate shared, so that path is one atomic
// compare-and-swap on state (and one add to release it) while no
// exclusive holder is in or waiting; mu is taken only then. state holds
// the number of shared holders and writerBit, set (under mu) while an
// exclusive holder holds the gate or waits for it: with it set no shared
// holder enters without mu. mu guards writer, wantWrite and busy.
type gate struct {
	state     atomic.Int64
	mu        sync.Mutex
	cond      *sync.Cond
	writer    bool
	wantWrite int
	busy      bool
}

const (
	writerBit   = int64(1) << 40
	readersMask = writerBit - 1
)

var errBusy = errors.New("busy")

func (g *gate) init() { g.cond = sync.NewCond(&g.mu) }

func (g *gate) shared() error {
	for {
		v := g.state.Load()
		if v&writerBit != 0 {
			break
		}
		if g.state.CompareAndSwap(v, v+1) {
			return nil
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.state.Load()&writerBit != 0 {
		if g.busy {
			return errBusy
		}
		g.cond.Wait()
	}
	g.state.Add(1)
	return nil
}

func (g *gate) releaseShared() {
	if v := g.state.Add(-1); v&writerBit != 0 && v&readersMask == 0 {
		// The last shared holder out: wake the exclusive waiter. It
		// checked the count under mu before waiting, so taking mu here
		// cannot miss it.
		g.mu.Lock()
		g.cond.Broadcast()
		g.mu.Unlock()
	}
}

func (g *gate) exclusive() {
	g.mu.Lock()
	g.wantWrite++
	if g.state.Load()&writerBit == 0 {
		g.state.Add(writerBit)
	}
	for g.writer || g.state.Load()&readersMask > 0 {
		g.cond.Wait()
	}
	g.wantWrite--
	g.writer = true
	g.mu.Unlock()
}

func (g *gate) releaseExclusive() {
	g.mu.Lock()
	g.writer = false
	g.busy = false
	if g.wantWrite == 0 {
		g.state.Add(-writerBit)
	}
	g.cond.Broadcast()
	g.mu.Unlock()
}

// setBusy wakes the shared waiters so they answer -BUSY.
func (g *gate) setBusy() {
	g.mu.Lock()
	g.busy = true
	g.cond.Broadcast()
	g.mu.Unlock()
}

var stripeSeed = maphash.MakeSeed()

// stripesOf appends to dst the stripes of the keys cmd names in argv,
// sorted and without repeats: the order lockStripes takes them in.
func (s *Server) stripesOf(dst []int, cmd *command, argv [][]byte) []int {
	var buf [16]int
	for _, i := range appendKeyPositions(buf[:0], cmd, argv) {
		dst = append(dst, s.stripeOf(argv[i]))
	}
	if len(dst) > 1 {
		slices.Sort(dst)
		dst = slices.Compact(dst)
	}
	return dst
}

// keyStripes appends to dst the stripes of keys, sorted and without
// repeats: the order lockStripes takes them in.
func (s *Server) keyStripes(dst []int, keys [][]byte) []int {
	for _, k := range keys {
		dst = append(dst, s.stripeOf(k))
	}
	if len(dst) > 1 {
		slices.Sort(dst)
		dst = slices.Compact(dst)
	}
	return dst
}

// stripeOf is the stripe of key.
func (s *Server) stripeOf(key []byte) int {
	return int(maphash.Bytes(stripeSeed, key) % uint64(len(s.stripes)))
}

// lockStripes locks stripes, given in increasing order (so two commands
// never deadlock); unlockStripes releases them.
func (s *Server) lockStripes(stripes []int) {
	for _, i := range stripes {
		s.stripes[i].Lock()
	}
}

func (s *Server) unlockStripes(stripes []int) {
	for _, i := range stripes {
		s.stripes[i].Unlock()
	}
}

// lockKeys locks the stripes of keys in index order (no deadlock between
// two commands) and returns the unlock.
func (s *Server) lockKeys(keys [][]byte) func() {
	switch len(keys) {
	case 0:
		return func() {}
	case 1:
		m := &s.stripes[maphash.Bytes(stripeSeed, keys[0])%uint64(len(s.stripes))]
		m.Lock()
		return m.Unlock
	}
	idx := make([]int, 0, len(keys))
	for _, k := range keys {
		idx = append(idx, int(maphash.Bytes(stripeSeed, k)%uint64(len(s.stripes))))
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	for _, i := range idx {
		s.stripes[i].Lock()
	}
	return func() {
		for _, i := range idx {
			s.stripes[i].Unlock()
		}
	}
}

const msgBusy = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."

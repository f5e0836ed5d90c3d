package server

import (
	"errors"
	"math"
	"math/big"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stratadb/strata/collections"
	"github.com/stratadb/strata/lsm"
)

// Blocking pops: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BZPOPMIN, BZPOPMAX.
//
// A blocking command first pops as its non-blocking sibling does. When
// every key it names is empty it registers a waiter on each of them, behind
// the waiters already there, and returns; the dispatcher then waits, with
// no lock held, for one of: a reply, the timeout, the connection closing
// (its input is read meanwhile, so a client that goes away stops waiting
// and cannot be handed an element), or the server shutting down.
//
// A write that changes a key with waiters (the Store's OnTouch, for every
// writer: lone commands, EXEC, scripts, Go code on the same Store) marks
// the key ready. The goroutine of the client that wrote serves the ready
// keys before it runs its client's next command, as Redis serves blocked
// clients after each command; a background goroutine does the same for
// writes made by Go code. Serving a key pops, in one transaction each,
// for its waiters in arrival order until the key has nothing left for the
// next one, and hands each popped reply to its waiter's goroutine. A waiter
// that times out or goes away while it is being served gets what was
// popped for it, so no element is lost between the two.
//
// Inside MULTI/EXEC and scripts a blocking command never blocks: it
// answers as if it had timed out, as Redis does.

// popKind is what a blocking command pops.
type popKind uint8

const (
	popList   popKind = iota // BLPOP, BRPOP: [key, element]
	popMove                  // BLMOVE, BRPOPLPUSH: the element, pushed onto dst
	popZSet                  // BZPOPMIN, BZPOPMAX: [key, member, score]
	popLMulti                // LMPOP, BLMPOP: [key, [element...]]
	popZMulti                // ZMPOP, BZMPOP: [key, [[member, score]...]]
)

// popSpec is one blocking command's pop, kept by its waiter.
type popSpec struct {
	kind    popKind
	left    bool   // LPOP (or ZPOPMIN) rather than RPOP (ZPOPMAX)
	dst     []byte // popMove
	dstLeft bool   // popMove: push at the head of dst
	count   int64  // popLMulti, popZMulti: at most this many
}

// pop tries one pop from key through c and writes its reply to w. It
// reports false, writing nothing, when key has nothing to pop.
func (p *popSpec) pop(c collections.Cmdable, key []byte, w *replyWriter) (bool, error) {
	switch p.kind {
	case popList:
		var v []byte
		var err error
		if p.left {
			v, err = c.LPop(key)
		} else {
			v, err = c.RPop(key)
		}
		if errors.Is(err, lsm.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		w.array(2)
		w.bulk(key)
		w.bulk(v)
	case popMove:
		v, err := c.LMove(key, p.dst, p.left, p.dstLeft)
		if errors.Is(err, lsm.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		w.bulk(v)
	case popZSet:
		var zs []collections.Z
		var err error
		if p.left {
			zs, err = c.ZPopMin(key, 1)
		} else {
			zs, err = c.ZPopMax(key, 1)
		}
		if err != nil {
			return false, err
		}
		if len(zs) == 0 {
			return false, nil
		}
		w.array(3)
		w.bulk(key)
		w.bulk(zs[0].Member)
		w.double(zs[0].Score)
	case popLMulti:
		var vs [][]byte
		var err error
		if p.left {
			vs, err = c.LPopCount(key, p.count)
		} else {
			vs, err = c.RPopCount(key, p.count)
		}
		if errors.Is(err, lsm.ErrNotFound) || (err == nil && len(vs) == 0) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		w.array(2)
		w.bulk(key)
		w.array(len(vs))
		for _, v := range vs {
			w.bulk(v)
		}
	case popZMulti:
		var zs []collections.Z
		var err error
		if p.left {
			zs, err = c.ZPopMin(key, p.count)
		} else {
			zs, err = c.ZPopMax(key, p.count)
		}
		if err != nil {
			return false, err
		}
		if len(zs) == 0 {
			return false, nil
		}
		w.array(2)
		w.bulk(key)
		w.array(len(zs))
		for _, z := range zs {
			w.array(2)
			w.bulk(z.Member)
			w.double(z.Score)
		}
	}
	return true, nil
}

// wantType is the type a key must hold for the pop to take from it.
func (p *popSpec) wantType() collections.Type {
	if p.kind == popZSet || p.kind == popZMulti {
		return collections.TypeZSet
	}
	return collections.TypeList
}

// Waiter states, under blockState.mu.
const (
	wsWaiting = iota // in its keys' queues
	wsClaimed        // being served
	wsDone           // served, timed out or gone: out of the queues
)

// waiter is one blocked client.
type waiter struct {
	spec  popSpec
	keys  [][]byte // the keys it waits on, its own copies
	proto int
	// deadline is when it times out; zero: never.
	deadline time.Time

	// under blockState.mu
	state     int
	cancelled bool

	// result receives the reply once: a served pop, or nil when the waiter
	// stopped waiting first.
	result chan []byte
}

// blockState is the server's blocked clients.
//
// mu guards queues, ready, order and every waiter's state; it is never held
// while calling the Store. serveMu is held by the one goroutine serving
// ready keys.
type blockState struct {
	s        *Server
	mu       sync.Mutex
	queues   map[string][]*waiter // key -> waiters, oldest first
	ready    map[string]bool      // keys with waiters written since last served
	order    []string             // ready, in the order they became ready
	nBlocked atomic.Int64         // waiting clients (INFO blocked_clients)
	nReady   atomic.Int64         // len(order), read without mu
	serveMu  sync.Mutex
	poke     chan struct{}
	quit     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

func (b *blockState) init(s *Server) {
	b.s = s
	b.queues = map[string][]*waiter{}
	b.ready = map[string]bool{}
	b.poke = make(chan struct{}, 1)
	b.quit = make(chan struct{})
	b.done = make(chan struct{})
	go b.background()
}

// background serves keys made ready by writers that are not clients (Go
// code on the Store), and ready keys a busy client left to others.
func (b *blockState) background() {
	defer close(b.done)
	for {
		select {
		case <-b.quit:
			return
		case <-b.poke:
			b.serveReady(true)
		}
	}
}

func (b *blockState) stop() {
	b.stopOnce.Do(func() { close(b.quit) })
	<-b.done
}

// register queues w on each of its keys. The caller holds the keys'
// stripes, so no server write to them comes between its failed pop and
// this; a write by Go code could, so the keys are marked ready once to be
// looked at again.
func (b *blockState) register(w *waiter) {
	b.mu.Lock()
	for _, k := range w.keys {
		b.queues[string(k)] = append(b.queues[string(k)], w)
	}
	b.nBlocked.Add(1)
	b.mu.Unlock()
	b.touched(w.keys)
}

// removeLocked takes w out of its queues.
func (b *blockState) removeLocked(w *waiter) {
	for _, k := range w.keys {
		q := b.queues[string(k)]
		for i, x := range q {
			if x == w {
				q = append(q[:i:i], q[i+1:]...)
				break
			}
		}
		if len(q) == 0 {
			delete(b.queues, string(k))
		} else {
			b.queues[string(k)] = q
		}
	}
	b.nBlocked.Add(-1)
}

// touched marks the keys with waiters ready (the Store's OnTouch: it must
// be quick and must not call the Store).
func (b *blockState) touched(keys [][]byte) {
	if b.nBlocked.Load() == 0 {
		return
	}
	added := false
	b.mu.Lock()
	for _, k := range keys {
		if _, ok := b.queues[string(k)]; ok && !b.ready[string(k)] {
			b.ready[string(k)] = true
			b.order = append(b.order, string(k))
			added = true
		}
	}
	b.nReady.Store(int64(len(b.order)))
	b.mu.Unlock()
	if added {
		select {
		case b.poke <- struct{}{}:
		default:
		}
	}
}

// serveReady serves every ready key. With wait false it leaves the work to
// whoever is serving already (a command that wrote nothing need not wait).
//
// With wait true it also waits for a serve in progress while any client is
// blocked, even with no key left ready: the background goroutine may have
// taken the key this command wrote off the ready list and not yet popped
// for its waiter. Returning then would let the client's next command (a
// second push of a pipeline) reach the list first, and the waiter pop that
// one (TestPipelinedPushWakesBlockedClientInOrder failed so about one run
// in 40).
func (b *blockState) serveReady(wait bool) {
	if b.nReady.Load() == 0 && (!wait || b.nBlocked.Load() == 0) {
		return
	}
	if wait {
		b.serveMu.Lock()
	} else if !b.serveMu.TryLock() {
		return
	}
	defer b.serveMu.Unlock()
	for {
		b.mu.Lock()
		if len(b.order) == 0 {
			b.nReady.Store(0)
			b.mu.Unlock()
			return
		}
		key := b.order[0]
		b.order = b.order[1:]
		delete(b.ready, key)
		b.nReady.Store(int64(len(b.order)))
		b.mu.Unlock()
		b.serveKey([]byte(key))
	}
}

// serveKey pops from key for its waiters, oldest first, until one finds
// nothing.
func (b *blockState) serveKey(key []byte) {
	for {
		b.mu.Lock()
		var w *waiter
		for _, x := range b.queues[string(key)] {
			if x.state == wsWaiting {
				w = x
				break
			}
		}
		if w == nil {
			b.mu.Unlock()
			return
		}
		w.state = wsClaimed
		b.mu.Unlock()

		reply, served := b.s.serveWaiter(w, key)

		b.mu.Lock()
		if !served && !w.cancelled {
			w.state = wsWaiting
			b.mu.Unlock()
			return
		}
		w.state = wsDone
		b.removeLocked(w)
		b.mu.Unlock()
		w.result <- reply // nil if not served: it stopped waiting meanwhile
		if !served {
			return
		}
	}
}

// serveWaiter pops from key for w in one transaction over the keys the pop
// touches. It reports false when key holds nothing w can take (then w
// keeps waiting, as Redis's blocked clients do when a key they wait on
// becomes another type).
func (s *Server) serveWaiter(w *waiter, key []byte) ([]byte, bool) {
	keys := [][]byte{key}
	if w.spec.kind == popMove {
		keys = append(keys, w.spec.dst)
	}
	var out replyWriter
	served := false
	err := s.store.UpdateKeys(keys, func(tx *collections.Tx) error {
		out = replyWriter{proto: w.proto}
		served = false
		t, err := tx.Type(key)
		if err != nil || t != w.spec.wantType() {
			return err
		}
		ok, err := w.spec.pop(tx, key, &out)
		if errors.Is(err, collections.ErrWrongType) {
			// BLMOVE onto a key of another type: the client gets the error,
			// the element stays (Redis unblocks it the same way).
			out = replyWriter{proto: w.proto}
			out.err(msgWrongType)
			served = true
			return nil
		}
		served = ok
		return err
	})
	if err == nil && served && s.syncAlways() {
		err = s.db.Sync()
	}
	if err != nil {
		out = replyWriter{proto: w.proto}
		out.err(keyError(err))
		return out.b, true
	}
	return out.b, served
}

// cancel takes w out of the queues because it stops waiting; it returns
// the reply if w was served meanwhile, nil otherwise.
func (b *blockState) cancel(w *waiter) []byte {
	b.mu.Lock()
	switch w.state {
	case wsWaiting:
		w.state = wsDone
		b.removeLocked(w)
		b.mu.Unlock()
		return nil
	case wsClaimed:
		w.cancelled = true // serveKey sends the outcome either way
	}
	b.mu.Unlock()
	return <-w.result
}

// wait blocks ctx's client until its waiter is served, times out, or the
// client or the server goes away, and writes the reply.
func (b *blockState) wait(ctx *cmdCtx) {
	w := ctx.block
	cl := ctx.cl
	s := b.s
	var timeout <-chan time.Time
	if !w.deadline.IsZero() {
		t := time.NewTimer(time.Until(w.deadline))
		defer t.Stop()
		timeout = t.C
	}
	// Read the connection meanwhile: a client that closes it (or is
	// killed) stops waiting. What it sends is kept for after the reply.
	cl.forgetDeadlines()
	cl.nc.SetReadDeadline(time.Time{})
	mon := make(chan error, 1)
	go func() {
		for {
			if err := cl.rd.fill(); err != nil {
				mon <- err
				return
			}
		}
	}()
	var reply []byte
	var monErr error
	monDone, gone := false, false
	defer cl.blockedOn.Store(nil) // set by blockingPop
	unblockErr := false
	select {
	case unblockErr = <-cl.unblock:
		reply = b.cancel(w)
	case reply = <-w.result:
	case <-timeout:
		reply = b.cancel(w)
	case monErr = <-mon:
		monDone, gone = true, true
		reply = b.cancel(w)
	case <-s.closed:
		gone = true
		reply = b.cancel(w)
	}
	if !monDone {
		cl.nc.SetReadDeadline(time.Unix(1, 0))
		monErr = <-mon
		if !errors.Is(monErr, os.ErrDeadlineExceeded) {
			gone = true
		}
	}
	if errors.Is(monErr, errQueryBufferLimit) {
		s.log.Warn("closing client that reached max query buffer length", "addr", cl.addr, "id", cl.id)
	}
	if gone {
		cl.closeAfter = true
	}
	// The idle timeout counts from now: a blocked client is not idle.
	cl.lastActive.Store(time.Now().UnixNano())
	if reply == nil && unblockErr {
		ctx.w.err("UNBLOCKED client unblocked via CLIENT UNBLOCK")
		return
	}
	if reply == nil {
		w.timedOut(ctx.w)
		return
	}
	ctx.w.raw(reply)
	if len(reply) > 0 && reply[0] == '-' {
		ctx.w.errors++
		ctx.w.lastErr = "WRONGTYPE"
	}
}

// timedOut writes the reply of a blocking command that got nothing: a
// null array (BLMOVE too, as Redis).
func (w *waiter) timedOut(out *replyWriter) { out.nullArray() }

// blockingTimeout parses a blocking command's timeout in seconds (a float,
// as Redis's getTimeoutFromObjectOrReply reads it) into a deadline; the
// zero Time is no timeout. It returns the error reply, or "".
func (c *cmdCtx) blockingTimeout(arg []byte) (time.Time, string) {
	f, ok := parseLongDouble(arg)
	if !ok {
		return time.Time{}, "ERR timeout is not a float or out of range"
	}
	// (long long)(ftval * 1000.0): C truncates, and an out-of-range value
	// becomes LLONG_MIN on the machines Redis runs on.
	ms := int64(math.MinInt64)
	prod := new(big.Float).SetPrec(longDouble).Mul(f, big.NewFloat(1000))
	if !prod.IsInf() {
		if v, acc := prod.Int64(); acc == big.Exact || (v != math.MaxInt64 && v != math.MinInt64) {
			ms = v
		}
	}
	if ms < 0 {
		return time.Time{}, "ERR timeout is negative"
	}
	if ms == 0 {
		return time.Time{}, ""
	}
	now := c.nowMs()
	if ms > math.MaxInt64-now {
		return time.Time{}, "ERR timeout is out of range"
	}
	return time.UnixMilli(now + ms), ""
}

// popFirst pops from the first of keys that has something and answers it,
// or answers an error from a key of the wrong type; it reports whether it
// answered (false: every key was empty, nothing written).
func (c *cmdCtx) popFirst(spec popSpec, keys [][]byte) bool {
	for _, k := range keys {
		ok, err := spec.pop(c.ks.Data(), k, c.w)
		if err != nil {
			c.errReply(err)
			return true
		}
		if ok {
			return true
		}
	}
	return false
}

// blockingPop is the body of every blocking command: pop from the first of
// keys that has something (an error from a key of the wrong type stops
// it), else answer nil inside a transaction, else block.
func (c *cmdCtx) blockingPop(spec popSpec, keys [][]byte, deadline time.Time) {
	if c.popFirst(spec, keys) {
		return
	}
	if c.inTx || c.cl == nil {
		if spec.kind == popMove {
			c.w.null()
		} else {
			c.w.nullArray()
		}
		return
	}
	w := &waiter{spec: spec, proto: c.w.proto, deadline: deadline, result: make(chan []byte, 1)}
	w.spec.dst = append([]byte(nil), spec.dst...)
	w.keys = make([][]byte, len(keys))
	for i, k := range keys {
		w.keys[i] = append([]byte(nil), k...)
	}
	// CLIENT UNBLOCK finds the client blocked from the moment INFO counts
	// it: blockedOn is set before the waiter is registered, after a
	// CLIENT UNBLOCK left over from an earlier wait is dropped.
	select {
	case <-c.cl.unblock:
	default:
	}
	c.cl.blockedOn.Store(w)
	c.s.blocking.register(w)
	c.block = w
}

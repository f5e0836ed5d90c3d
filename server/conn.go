package server

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// flushAt is the reply size from which a client's replies are written out
// before the rest of its pipeline runs: a client that pipelines much and
// reads slowly then blocks in its own write, stops being read, and holds
// at most this much (plus one reply) of server memory.
const flushAt = 64 * 1024

// client is one connection. Its goroutine (serve) owns everything but the
// fields under mu and the atomics, which CLIENT LIST, CLIENT KILL, WATCH
// and Shutdown read or set from other goroutines.
type client struct {
	s       *Server
	id      int64
	nc      net.Conn
	rd      *reqReader
	out     replyWriter
	addr    string
	laddr   string
	created time.Time
	tls     bool

	authed bool                    // owned by serve
	user   atomic.Pointer[aclUser] // the user it runs as; ACL DELUSER reads it
	multi  *multiState
	// closeAfter closes the connection once the current replies are out
	// (QUIT, a protocol error, CLIENT KILL of oneself).
	closeAfter bool
	// syncFirst: a command ran under appendfsync always since the last
	// flush, so the replies wait until the WAL is fsynced (see flush).
	syncFirst bool
	// rdl and wdl are the read and write deadlines serve and flush set
	// last; rdKnown and wrKnown say they are still the connection's.
	// Setting a deadline takes the descriptor's lock and the runtime
	// poller's, so a connection without a timeout sets none per request.
	// Whoever else sets a deadline on the serving goroutine (a blocking
	// command's wait) calls forgetDeadlines; Shutdown's interrupt, from
	// another goroutine, may stay in force, as it is meant to.
	rdl, wdl         time.Time
	rdKnown, wrKnown bool

	// grp is the run of pipelined writes being gathered (pipeline.go);
	// owned by serve.
	grp pipeGroup

	// dirty is set when a watched key changes (any goroutine).
	dirty atomic.Bool
	// watching is the client's watched keys with their state at WATCH;
	// owned by serve, mirrored in Server.watched under watchMu.
	watching map[string]watchedKey

	// Mirrors of the owner's state for CLIENT LIST, kept by serve.
	qbuf, rbs, rbp, outCap atomic.Int64
	multiN                 atomic.Int64 // commands queued; -1: no MULTI
	resp                   atomic.Int32

	lastActive atomic.Int64 // unix ns of the last command
	killed     atomic.Bool
	cmdsDone   atomic.Int64
	curCmd     atomic.Pointer[string]

	// subs is the client's Pub/Sub subscriptions (nil until the first),
	// owned by serve; pq, set at the first subscription, carries all its
	// output from then on (see pubsub.go).
	subs               *clientSubs
	pq                 *pushQueue
	nSub, nPSub, nSSub atomic.Int64 // mirrors for CLIENT LIST

	// blockedOn is the waiter of the blocking command the client waits in
	// (nil when not blocked); CLIENT UNBLOCK sends on unblock (true: with
	// the UNBLOCKED error, false: as a timeout).
	blockedOn atomic.Pointer[waiter]
	unblock   chan bool

	mu      sync.Mutex // guards the fields below
	name    string
	libName string
	libVer  string
	lastCmd string
}

func newClient(s *Server, nc net.Conn) *client {
	c := &client{
		s:       s,
		id:      s.nextID.Add(1),
		nc:      nc,
		addr:    nc.RemoteAddr().String(),
		laddr:   nc.LocalAddr().String(),
		created: time.Now(),
		unblock: make(chan bool, 1),
	}
	_, c.tls = nc.(*tls.Conn)
	c.out.proto = 2
	c.authed = !s.authRequired()
	c.user.Store(s.acl.def)
	c.rd = newReqReader(nc)
	c.rd.needsAuth = func() bool { return !c.authed && c.s.authRequired() }
	c.lastActive.Store(c.created.UnixNano())
	c.multiN.Store(-1)
	c.resp.Store(2)
	c.rbs.Store(int64(len(c.rd.buf)))
	return c
}

// interrupt makes a blocked read return so serve notices the shutdown.
func (c *client) interrupt() { c.nc.SetReadDeadline(time.Unix(1, 0)) }

// kill closes the connection from another goroutine (CLIENT KILL). The
// client leaves the registry at once, as Redis frees it within the
// command: a second CLIENT KILL or a CLIENT LIST right after must not
// find it while its goroutine is still winding down.
func (c *client) kill() {
	c.killed.Store(true)
	c.s.mu.Lock()
	delete(c.s.clients, c.id)
	c.s.mu.Unlock()
	c.nc.Close()
}

func (c *client) serve() {
	defer c.s.removeClient(c)
	defer c.nc.Close()
	defer func() {
		c.dropSubs()
		if c.pq != nil {
			c.pq.close()
		}
	}()
	if tc, ok := c.nc.(*tls.Conn); ok {
		tc.SetDeadline(time.Now().Add(10 * time.Second))
		if err := tc.Handshake(); err != nil {
			c.s.log.Debug("TLS handshake failed", "addr", c.addr, "err", err)
			return
		}
		tc.SetDeadline(time.Time{})
	}
	for {
		c.rd.maxBulk = c.s.maxBulk.Load()
		c.rd.maxQuery = int(c.s.maxQuery.Load())
		c.rd.maxMulti = c.s.maxMultibulk.Load()
		if !c.runBuffered() {
			return
		}
		if !c.flush() {
			return
		}
		c.mirror()
		if c.s.draining.Load() {
			return
		}
		var deadline time.Time
		if t := c.s.idleTimeout.Load(); t > 0 && !c.subscribed() { // as Redis, a subscriber is never idle
			deadline = time.Unix(0, c.lastActive.Load()).Add(time.Duration(t))
		}
		c.setReadDeadline(deadline)
		if c.s.draining.Load() { // Shutdown may have set its deadline before ours
			return
		}
		if err := c.rd.fill(); err != nil {
			switch {
			case errors.Is(err, errQueryBufferLimit):
				c.s.log.Warn("closing client that reached max query buffer length", "addr", c.addr, "id", c.id)
			case errors.Is(err, os.ErrDeadlineExceeded) && !c.s.draining.Load():
				c.s.log.Debug("closing idle client", "addr", c.addr, "id", c.id)
			case errors.Is(err, io.EOF), c.killed.Load(), c.s.draining.Load():
			default:
				c.s.log.Debug("read failed", "addr", c.addr, "err", err)
			}
			return
		}
		c.s.stats.netIn.Add(c.rd.nread)
		c.rd.nread = 0
	}
}

// runBuffered serves every complete request in the read buffer, gathering
// runs of pipelined writes (pipeline.go). It reports false when the
// connection is to end; the replies due were flushed then.
func (c *client) runBuffered() bool {
	for {
		argv, err := c.rd.next()
		grouped := false
		if err == nil && argv != nil {
			if cmd := c.s.groupable(c, argv); cmd != nil {
				c.grp.add(cmd, argv, c.grp.pos)
				if !c.grp.full() {
					continue
				}
				grouped = true
			}
		}
		if len(c.grp.cmds) > 0 {
			// The run ends: the next request may not join it, or
			// none is complete yet, or it is full.
			c.s.runGroup(c)
			if c.closeAfter || c.killed.Load() || c.s.draining.Load() {
				c.flush()
				return false
			}
			if c.out.len() >= flushAt && !c.flush() {
				return false
			}
		}
		if grouped {
			continue
		}
		if err != nil {
			var pe *protocolError
			if errors.As(err, &pe) {
				c.out.err("ERR " + pe.Error())
				c.s.log.Debug("protocol error", "addr", c.addr, "err", pe.Error())
			}
			c.flush()
			return false
		}
		if argv == nil {
			return true
		}
		c.s.dispatch(c, argv)
		if c.closeAfter || c.killed.Load() || c.s.draining.Load() {
			c.flush()
			return false
		}
		if c.out.len() >= flushAt && !c.flush() {
			return false
		}
	}
}

// mirror publishes the state CLIENT LIST shows.
func (c *client) mirror() {
	c.qbuf.Store(int64(c.rd.pending()))
	c.rbs.Store(int64(len(c.rd.buf)))
	c.rbp.Store(int64(c.rd.peak))
	c.outCap.Store(int64(cap(c.out.b)))
	n := int64(-1)
	if c.multi != nil {
		n = int64(len(c.multi.cmds))
	}
	c.multiN.Store(n)
	c.resp.Store(int32(c.out.proto))
}

// flush writes the pending replies. It reports false when the connection
// failed.
//
// Under appendfsync always, it first fsyncs every WAL byte written so far
// (DB.Sync; flushes that overlap share an fsync): a write is acknowledged
// only once it is durable, and a reply that read another client's write
// leaves only once that write is, as Redis sends a turn's replies after
// its fsync. Writes themselves do not fsync, so a client's pipeline of 16
// writes costs one fsync, not 16. If the fsync fails, the replies are
// never sent and the connection is closed: the client cannot tell what
// was written, and the engine refuses writes from then on.
func (c *client) flush() bool {
	if c.out.len() == 0 {
		return true
	}
	if c.syncFirst || c.s.syncAlways() {
		c.syncFirst = false
		if err := c.s.db.Sync(); err != nil {
			c.s.log.Error("appendfsync always: fsync failed; closing the connection unanswered", "addr", c.addr, "err", err)
			return false
		}
	}
	if c.pq != nil {
		// A subscriber's replies queue behind the messages before them.
		ok := c.pq.push(c.out.b)
		c.out.reset()
		return ok
	}
	if t := c.s.idleTimeout.Load(); t > 0 {
		c.wrKnown = false
		c.nc.SetWriteDeadline(time.Now().Add(time.Duration(t)))
	} else if !c.wrKnown || !c.wdl.IsZero() {
		c.nc.SetWriteDeadline(time.Time{})
		c.wdl, c.wrKnown = time.Time{}, true
	}
	n, err := c.nc.Write(c.out.b)
	c.s.stats.netOut.Add(int64(n))
	if cap(c.out.b) > 4*flushAt {
		c.out.b = make([]byte, 0, flushAt)
	} else {
		c.out.reset()
	}
	return err == nil
}

// setReadDeadline sets the read deadline unless serve set the same one
// last and nothing set another since.
func (c *client) setReadDeadline(t time.Time) {
	if c.rdKnown && c.rdl.Equal(t) {
		return
	}
	c.nc.SetReadDeadline(t)
	c.rdl, c.rdKnown = t, true
}

// forgetDeadlines: the serving goroutine set a deadline on the connection
// other than through setReadDeadline and flush.
func (c *client) forgetDeadlines() { c.rdKnown, c.wrKnown = false, false }

func (c *client) setName(n string) {
	c.mu.Lock()
	c.name = n
	c.mu.Unlock()
}

func (c *client) getName() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.name
}

func sortClients(cs []*client) {
	sort.Slice(cs, func(i, j int) bool { return cs[i].id < cs[j].id })
}

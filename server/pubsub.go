package server

import (
	"net"
	"sort"
	"strings"
	"sync"
	"time"
)

// Pub/Sub: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH,
// SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH and PUBSUB, as Redis 7.0 (standalone:
// shard channels are a namespace of their own, served by this one node).
//
// Messages reach a subscriber from other clients' goroutines, so a client
// that ever subscribes sends everything through a pushQueue: its own
// replies (appended at each flush) and the messages (appended by the
// publishers) share one ordered buffer, which a writer goroutine of the
// client sends. A subscription is published to the server's maps only
// once the confirmations written so far are in the queue (commitSubs, at
// the end of the command), so no message overtakes the confirmation of
// its subscription.
//
// A RESP2 client with subscriptions may only (P|S)SUBSCRIBE,
// (P|S)UNSUBSCRIBE, PING, QUIT and RESET, and its PING answers
// ["pong", arg]; a RESP3 client may run anything, and its messages and
// confirmations are push frames.

// pubsubOutputLimit is the most a subscriber's queue may hold before the
// client is disconnected (Redis's client-output-buffer-limit pubsub hard
// limit, 32 MB).
const pubsubOutputLimit = 32 << 20

// pubsubState is the server's subscriptions. mu guards the maps; a
// publisher holds it shared while it queues a message on each subscriber.
type pubsubState struct {
	mu       sync.RWMutex
	channels map[string]map[*client]struct{}
	patterns map[string]map[*client]struct{}
	shard    map[string]map[*client]struct{}
}

// clientSubs is a client's own subscriptions, owned by its goroutine.
type clientSubs struct {
	channels, patterns, shard map[string]bool
	// touched: channel, pattern and shard names whose subscription changed
	// in the current command, for commitSubs.
	touched []subRef
}

type subRef struct {
	kind int // 0 channel, 1 pattern, 2 shard
	name string
}

func (cs *clientSubs) set(kind int) map[string]bool {
	switch kind {
	case 0:
		return cs.channels
	case 1:
		return cs.patterns
	}
	return cs.shard
}

func (ps *pubsubState) set(kind int) map[string]map[*client]struct{} {
	switch kind {
	case 0:
		return ps.channels
	case 1:
		return ps.patterns
	}
	return ps.shard
}

// pushQueue is the ordered output of a client that subscribed.
type pushQueue struct {
	nc     net.Conn
	mu     sync.Mutex
	cond   sync.Cond
	buf    []byte
	spare  []byte
	closed bool // no more appends; the writer exits once buf is sent
	failed bool // a write failed or the limit was passed: appends are dropped
	done   chan struct{}
	onOut  func(int64)
}

func newPushQueue(nc net.Conn, onOut func(int64)) *pushQueue {
	q := &pushQueue{nc: nc, done: make(chan struct{}), onOut: onOut}
	q.cond.L = &q.mu
	go q.run()
	return q
}

// push appends b; it reports false once the queue failed.
func (q *pushQueue) push(b []byte) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.failed || q.closed {
		return false
	}
	if len(q.buf)+len(b) > pubsubOutputLimit {
		q.failed = true
		q.buf = nil
		q.nc.Close()
		q.cond.Signal()
		return false
	}
	q.buf = append(q.buf, b...)
	q.cond.Signal()
	return true
}

func (q *pushQueue) run() {
	defer close(q.done)
	q.mu.Lock()
	for {
		for len(q.buf) == 0 && !q.closed && !q.failed {
			q.cond.Wait()
		}
		if q.failed || len(q.buf) == 0 {
			q.mu.Unlock()
			return
		}
		b := q.buf
		q.buf, q.spare = q.spare[:0], nil
		q.mu.Unlock()
		n, err := q.nc.Write(b)
		q.onOut(int64(n))
		q.mu.Lock()
		if err != nil {
			q.failed = true
			q.buf = nil
			q.nc.Close()
		} else if cap(b) <= 4*flushAt {
			q.spare = b[:0]
		}
	}
}

// close lets the writer send what is queued, waiting at most a few
// seconds for a client that does not read.
func (q *pushQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.cond.Signal()
	q.mu.Unlock()
	q.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	<-q.done
}

func pubsubCommands() []*command {
	ps := func(s, since, cx string) cmdDoc { return cmdDoc{s, since, "pubsub", cx} }
	const shardKeys = "not_key | index 1 | range -1 1 0"
	return []*command{
		def("subscribe", -2, "pubsub noscript loading stale", "", subscribeCommand,
			ps("Listen for messages published to channels", "2.0.0", "O(N) for N channels")),
		def("unsubscribe", -1, "pubsub noscript loading stale", "", unsubscribeCommand,
			ps("Stop listening to channels (all without arguments)", "2.0.0", "O(N) for N channels")),
		def("psubscribe", -2, "pubsub noscript loading stale", "", subscribeCommand,
			ps("Listen for messages published to channels matching patterns", "2.0.0", "O(N) for N patterns")),
		def("punsubscribe", -1, "pubsub noscript loading stale", "", unsubscribeCommand,
			ps("Stop listening to patterns (all without arguments)", "2.0.0", "O(N+M) for N patterns and M subscribed patterns")),
		def("ssubscribe", -2, "pubsub noscript loading stale", "", subscribeCommand,
			ps("Listen for messages published to shard channels", "7.0.0", "O(N) for N shard channels"), shardKeys),
		def("sunsubscribe", -1, "pubsub noscript loading stale", "", unsubscribeCommand,
			ps("Stop listening to shard channels (all without arguments)", "7.0.0", "O(N) for N shard channels"), shardKeys),
		def("publish", 3, "pubsub loading stale fast", "", publishCommand,
			ps("Post a message to a channel", "2.0.0", "O(N+M) for N subscribers and M patterns")),
		def("spublish", 3, "pubsub loading stale fast", "", publishCommand,
			ps("Post a message to a shard channel", "7.0.0", "O(N) for N subscribers"), "not_key | index 1 | range 0 1 0"),
		container(group("pubsub", ps("Pub/Sub introspection", "2.8.0", "Depends on subcommand")),
			def("channels", -2, "pubsub loading stale", "", pubsubChannelsCommand,
				ps("The active channels, matching a pattern if given", "2.8.0", "O(N) for N active channels")),
			def("numsub", -2, "pubsub loading stale", "", pubsubNumsubCommand,
				ps("The number of subscribers of channels", "2.8.0", "O(N) for N channels")),
			def("numpat", 2, "pubsub loading stale", "", pubsubNumpatCommand,
				ps("The number of patterns subscribed to", "2.8.0", "O(1)")),
			def("shardchannels", -2, "pubsub loading stale", "", pubsubChannelsCommand,
				ps("The active shard channels, matching a pattern if given", "7.0.0", "O(N) for N active shard channels")),
			def("shardnumsub", -2, "pubsub loading stale", "", pubsubNumsubCommand,
				ps("The number of subscribers of shard channels", "7.0.0", "O(N) for N shard channels")),
			def("help", 2, "loading stale", "", helpCommand(pubsubHelp),
				ps("Show the PUBSUB subcommands", "6.2.0", "O(1)")),
		),
	}
}

var pubsubHelp = []string{
	"PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"CHANNELS [<pattern>]",
	"    Return the currently active channels matching a <pattern> (default: '*').",
	"NUMPAT",
	"    Return number of subscriptions to patterns.",
	"NUMSUB [<channel> ...]",
	"    Return the number of subscribers for the specified channels, excluding",
	"    pattern subscriptions(default: no channels).",
	"SHARDCHANNELS [<pattern>]",
	"    Return the currently active shard level channels matching a <pattern> (default: '*').",
	"SHARDNUMSUB [<shardchannel> ...]",
	"    Return the number of subscribers for the specified shard level channel(s)",
	"HELP",
	"    Prints this help.",
}

// subKind is the kind of subscription a command handles.
func subKind(name string) int {
	switch name {
	case "psubscribe", "punsubscribe":
		return 1
	case "ssubscribe", "sunsubscribe", "spublish":
		return 2
	}
	return 0
}

// subCount is the count Redis reports in a confirmation: channels and
// patterns together, or shard channels alone.
func (cl *client) subCount(kind int) int {
	if cl.subs == nil {
		return 0
	}
	if kind == 2 {
		return len(cl.subs.shard)
	}
	return len(cl.subs.channels) + len(cl.subs.patterns)
}

// subscribed reports whether the client is in Pub/Sub mode.
func (cl *client) subscribed() bool {
	return cl.subs != nil && len(cl.subs.channels)+len(cl.subs.patterns)+len(cl.subs.shard) > 0
}

// pushHeader writes the header of a Pub/Sub frame: a push in RESP3, an
// array in RESP2.
func pushHeader(w *replyWriter, n int) {
	if w.proto == 3 {
		w.header('>', int64(n))
	} else {
		w.array(n)
	}
}

var confirmNames = [...][2]string{{"subscribe", "unsubscribe"}, {"psubscribe", "punsubscribe"}, {"ssubscribe", "sunsubscribe"}}

func subscribeCommand(c *cmdCtx) {
	cl := c.cl
	if cl == nil {
		c.w.err("ERR " + c.cmd.name + " is not allowed here")
		return
	}
	kind := subKind(c.cmd.name)
	if cl.subs == nil {
		cl.subs = &clientSubs{channels: map[string]bool{}, patterns: map[string]bool{}, shard: map[string]bool{}}
	}
	set := cl.subs.set(kind)
	for _, a := range c.argv[1:] {
		name := string(a)
		if !set[name] {
			set[name] = true
			cl.subs.touched = append(cl.subs.touched, subRef{kind, name})
		}
		pushHeader(c.w, 3)
		c.w.bulkString(confirmNames[kind][0])
		c.w.bulk(a)
		c.w.int(int64(cl.subCount(kind)))
	}
	cl.mirrorSubs()
}

func unsubscribeCommand(c *cmdCtx) {
	cl := c.cl
	if cl == nil {
		c.w.err("ERR " + c.cmd.name + " is not allowed here")
		return
	}
	kind := subKind(c.cmd.name)
	var names []string
	var set map[string]bool
	if cl.subs != nil {
		set = cl.subs.set(kind)
	}
	if len(c.argv) > 1 {
		for _, a := range c.argv[1:] {
			names = append(names, string(a))
		}
	} else {
		for n := range set {
			names = append(names, n)
		}
		sort.Strings(names)
	}
	if len(names) == 0 {
		pushHeader(c.w, 3)
		c.w.bulkString(confirmNames[kind][1])
		c.w.null()
		c.w.int(int64(cl.subCount(kind)))
		return
	}
	for _, n := range names {
		if set[n] {
			delete(set, n)
			cl.subs.touched = append(cl.subs.touched, subRef{kind, n})
		}
		pushHeader(c.w, 3)
		c.w.bulkString(confirmNames[kind][1])
		c.w.bulkString(n)
		c.w.int(int64(cl.subCount(kind)))
	}
	cl.mirrorSubs()
}

// mirrorSubs publishes the subscription counts CLIENT LIST shows.
func (cl *client) mirrorSubs() {
	if cl.subs == nil {
		return
	}
	cl.nSub.Store(int64(len(cl.subs.channels)))
	cl.nPSub.Store(int64(len(cl.subs.patterns)))
	cl.nSSub.Store(int64(len(cl.subs.shard)))
}

// commitSubs runs after each command of a client that changed its
// subscriptions: it makes the server's maps agree with the client's own and
// moves the replies written so far to the push queue, both under the maps'
// lock. A client that has read its confirmation is then in the maps (a
// PUBLISH another client sends on seeing it reaches it), and no message
// published to a new subscription can overtake the confirmation (PUBLISH
// delivers under the same lock).
func (cl *client) commitSubs() {
	if cl.subs == nil || len(cl.subs.touched) == 0 {
		return
	}
	if cl.pq == nil {
		cl.pq = newPushQueue(cl.nc, func(n int64) { cl.s.stats.netOut.Add(n) })
	}
	ps := &cl.s.pubsub
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if cl.out.len() > 0 {
		cl.pq.push(cl.out.b)
		cl.out.reset()
	}
	for _, r := range cl.subs.touched {
		global := ps.set(r.kind)
		if cl.subs.set(r.kind)[r.name] {
			m := global[r.name]
			if m == nil {
				m = map[*client]struct{}{}
				global[r.name] = m
			}
			m[cl] = struct{}{}
		} else if m := global[r.name]; m != nil {
			delete(m, cl)
			if len(m) == 0 {
				delete(global, r.name)
			}
		}
	}
	cl.subs.touched = cl.subs.touched[:0]
}

// dropSubs ends every subscription of the client (RESET, disconnection).
func (cl *client) dropSubs() {
	if cl.subs == nil {
		return
	}
	for kind := 0; kind < 3; kind++ {
		for n := range cl.subs.set(kind) {
			cl.subs.touched = append(cl.subs.touched, subRef{kind, n})
		}
	}
	cl.subs.channels, cl.subs.patterns, cl.subs.shard = map[string]bool{}, map[string]bool{}, map[string]bool{}
	ps := &cl.s.pubsub
	ps.mu.Lock()
	for _, r := range cl.subs.touched {
		if m := ps.set(r.kind)[r.name]; m != nil {
			delete(m, cl)
			if len(m) == 0 {
				delete(ps.set(r.kind), r.name)
			}
		}
	}
	ps.mu.Unlock()
	cl.subs.touched = cl.subs.touched[:0]
	cl.mirrorSubs()
}

// frames caches a message's encoding per protocol.
type frames struct{ b [2][]byte }

func (f *frames) get(proto int, build func(w *replyWriter)) []byte {
	i := 0
	if proto == 3 {
		i = 1
	}
	if f.b[i] == nil {
		w := replyWriter{proto: proto}
		build(&w)
		f.b[i] = w.b
	}
	return f.b[i]
}

func publishCommand(c *cmdCtx) {
	kind := subKind(c.cmd.name)
	ch, msg := c.argv[1], c.argv[2]
	typ := "message"
	if kind == 2 {
		typ = "smessage"
	}
	build := func(w *replyWriter) {
		pushHeader(w, 3)
		w.bulkString(typ)
		w.bulk(ch)
		w.bulk(msg)
	}
	var direct frames
	n := 0
	ps := &c.s.pubsub
	ps.mu.RLock()
	for sub := range ps.set(kind)[string(ch)] {
		c.deliver(sub, direct.get(int(sub.resp.Load()), build))
		n++
	}
	if kind == 0 {
		for pat, subs := range ps.patterns {
			if !globMatch([]byte(pat), ch, false) {
				continue
			}
			var pf frames
			pbuild := func(w *replyWriter) {
				pushHeader(w, 4)
				w.bulkString("pmessage")
				w.bulkString(pat)
				w.bulk(ch)
				w.bulk(msg)
			}
			for sub := range subs {
				c.deliver(sub, pf.get(int(sub.resp.Load()), pbuild))
				n++
			}
		}
	}
	ps.mu.RUnlock()
	c.w.int(int64(n))
}

// deliver hands a message to a subscriber. A message to the publisher
// itself goes into its reply in the making, where Redis puts it, so it
// keeps its place among the publisher's replies.
//
// Inside a transaction (EXEC, a script) a message to another client waits
// until the transaction commits: the Store may run the transaction's
// function again, and a message must leave once.
func (c *cmdCtx) deliver(sub *client, frame []byte) {
	if sub == c.cl && c.script == nil {
		c.w.raw(frame)
		return
	}
	push := func() {
		if sub.pq != nil && !sub.pq.push(frame) {
			c.s.log.Warn("closing a subscriber over the Pub/Sub output limit or gone", "addr", sub.addr, "id", sub.id)
		}
	}
	if dk, ok := c.ks.(*dataKeyspace); ok && dk.tx != nil {
		dk.after = append(dk.after, push)
		return
	}
	push()
}

func pubsubChannelsCommand(c *cmdCtx) {
	if len(c.argv) > 3 {
		c.w.err("ERR unknown subcommand or wrong number of arguments for '" + c.arg(1) + "'. Try PUBSUB HELP.")
		return
	}
	kind := 0
	if strings.HasSuffix(c.cmd.name, "shardchannels") {
		kind = 2
	}
	ps := &c.s.pubsub
	var out []string
	ps.mu.RLock()
	for n := range ps.set(kind) {
		if len(c.argv) == 2 || globMatch(c.argv[2], []byte(n), false) {
			out = append(out, n)
		}
	}
	ps.mu.RUnlock()
	sort.Strings(out)
	c.w.array(len(out))
	for _, n := range out {
		c.w.bulkString(n)
	}
}

func pubsubNumsubCommand(c *cmdCtx) {
	kind := 0
	if strings.HasSuffix(c.cmd.name, "shardnumsub") {
		kind = 2
	}
	ps := &c.s.pubsub
	c.w.array(2 * (len(c.argv) - 2)) // an array in RESP3 too, as Redis 7.0
	ps.mu.RLock()
	for _, a := range c.argv[2:] {
		c.w.bulk(a)
		c.w.int(int64(len(ps.set(kind)[string(a)])))
	}
	ps.mu.RUnlock()
}

func pubsubNumpatCommand(c *cmdCtx) {
	ps := &c.s.pubsub
	ps.mu.RLock()
	n := len(ps.patterns)
	ps.mu.RUnlock()
	c.w.int(int64(n))
}

// pubsubCounts is INFO's pubsub_channels, pubsub_patterns and
// pubsubshard_channels.
func (ps *pubsubState) counts() (channels, patterns, shard int) {
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	return len(ps.channels), len(ps.patterns), len(ps.shard)
}

func (ps *pubsubState) init() {
	ps.channels = map[string]map[*client]struct{}{}
	ps.patterns = map[string]map[*client]struct{}{}
	ps.shard = map[string]map[*client]struct{}{}
}

// msgPubsubContext is the refusal of a command to a RESP2 subscriber.
func msgPubsubContext(name string) string {
	return "ERR Can't execute '" + name + "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
}

// allowedSubscribed lists what a RESP2 subscriber may run.
func allowedSubscribed(cmd *command) bool {
	switch cmd.name {
	case "subscribe", "unsubscribe", "psubscribe", "punsubscribe", "ssubscribe", "sunsubscribe", "ping", "quit", "reset":
		return true
	}
	return false
}

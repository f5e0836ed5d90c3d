package server

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Connection commands: HELLO AUTH PING ECHO QUIT RESET SELECT CLIENT.

func connectionCommands() []*command {
	conn := func(s, since, cx string) cmdDoc { return cmdDoc{s, since, "connection", cx} }
	return []*command{
		def("hello", -1, "noscript loading stale fast no_auth allow_busy", "@connection", helloCommand,
			conn("Handshake: choose RESP2 or RESP3, authenticate, name the connection", "6.0.0", "O(1)")),
		def("auth", -2, "noscript loading stale fast no_auth allow_busy", "@connection", authCommand,
			conn("Authenticate the connection", "1.0.0", "O(N) where N is the number of passwords of the user")),
		def("ping", -1, "fast tip:request_policy:all_shards tip:response_policy:all_succeeded", "@connection", pingCommand,
			conn("Check the server answers", "1.0.0", "O(1)")),
		def("echo", 2, "loading stale fast", "@connection", echoCommand,
			conn("Return the argument", "1.0.0", "O(1)")),
		def("quit", -1, "noscript loading stale fast no_auth allow_busy", "@connection", quitCommand,
			conn("Close the connection", "1.0.0", "O(1)")),
		def("reset", 1, "noscript loading stale fast no_auth allow_busy", "@connection", resetCommand,
			conn("Return the connection to its initial state", "6.2.0", "O(1)")),
		def("select", 2, "loading stale fast", "@connection", selectCommand,
			conn("Select the logical database (only 0 exists)", "1.0.0", "O(1)")),
		container(group("client", conn("Connection management", "2.4.0", "Depends on subcommand")),
			def("id", 2, "noscript loading stale", "@connection", clientIDCommand,
				conn("The connection's id", "5.0.0", "O(1)")),
			def("setname", 3, "noscript loading stale", "@connection", clientSetNameCommand,
				conn("Name the connection", "2.6.9", "O(1)")),
			def("getname", 2, "noscript loading stale", "@connection", clientGetNameCommand,
				conn("The connection's name", "2.6.9", "O(1)")),
			def("setinfo", 4, "noscript loading stale", "@connection", clientSetInfoCommand,
				conn("Record the client library's name or version", "7.2.0", "O(1)")),
			def("info", 2, "noscript loading stale tip:nondeterministic_output", "@connection", clientInfoCommand,
				conn("Describe this connection", "6.2.0", "O(1)")),
			def("list", -2, "admin noscript loading stale tip:nondeterministic_output", "@connection", clientListCommand,
				conn("Describe the connections", "2.4.0", "O(N) where N is the number of connections")),
			def("kill", -3, "admin noscript loading stale", "@connection", clientKillCommand,
				conn("Close connections", "2.4.0", "O(N) where N is the number of connections")),
			def("unblock", -3, "admin noscript loading stale", "@connection", clientUnblockCommand,
				conn("Unblock a client blocked in a blocking command", "5.0.0", "O(log N) where N is the number of client connections")),
			def("no-evict", 3, "admin noscript loading stale", "@connection", clientNoEvictCommand,
				conn("Accepted for compatibility: nothing is ever evicted", "7.0.0", "O(1)")),
			def("tracking", -3, "noscript loading stale", "@connection", notOffered("client-side caching (CLIENT TRACKING)"),
				conn("Not supported: client-side caching", "6.0.0", "O(1)")),
			def("caching", 3, "noscript loading stale", "@connection", notOffered("client-side caching (CLIENT CACHING)"),
				conn("Not supported: client-side caching", "6.0.0", "O(1)")),
			def("help", 2, "loading stale", "@connection", helpCommand(clientHelp),
				conn("Show the CLIENT subcommands", "5.0.0", "O(1)")),
		),
	}
}

var clientHelp = []string{
	"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"ID", "    Return the ID of the current connection.",
	"SETNAME <name>", "    Set the name of the current connection.",
	"GETNAME", "    Return the name of the current connection.",
	"SETINFO <LIB-NAME|LIB-VER> <value>", "    Record the client library name or version.",
	"INFO", "    Describe the current connection.",
	"LIST [TYPE <normal|master|replica|pubsub>] [ID <id> ...]", "    Describe the connections.",
	"KILL <ip:port>", "    Close the connection at that address.",
	"KILL <option> <value> [<option> <value> [...]]", "    Close the connections matching ID, ADDR, LADDR, TYPE, USER or SKIPME.",
	"UNBLOCK <clientid> [TIMEOUT|ERROR]", "    Unblock the specified blocked client.",
	"NO-EVICT (ON|OFF)", "    Accepted; nothing is evicted.",
	"HELP", "    Print this help.",
}

// helpCommand answers a container's HELP with lines.
func helpCommand(lines []string) func(*cmdCtx) {
	return func(c *cmdCtx) {
		c.w.array(len(lines))
		for _, l := range lines {
			c.w.simple(l)
		}
	}
}

// notOffered answers a command the server does not implement.
func notOffered(feature string) func(*cmdCtx) {
	return func(c *cmdCtx) {
		c.w.err("ERR " + feature + " is not supported by this server")
	}
}

const msgWrongPass = "WRONGPASS invalid username-password pair or user is disabled."

func authCommand(c *cmdCtx) {
	var user, pass []byte
	switch len(c.argv) {
	case 2:
		if c.s.acl.def.state().nopass {
			c.w.err("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
			return
		}
		user, pass = []byte("default"), c.argv[1]
	case 3:
		user, pass = c.argv[1], c.argv[2]
	default:
		c.w.err(msgSyntax)
		return
	}
	u := c.s.authenticate(user, pass)
	if u == nil {
		c.s.log.Warn("authentication failed", "addr", c.cl.addr)
		c.w.err(msgWrongPass)
		return
	}
	c.cl.authed = true
	c.cl.user.Store(u)
	c.w.ok()
}

func helloCommand(c *cmdCtx) {
	proto := c.cl.out.proto
	next := 1
	if len(c.argv) >= 2 {
		v, ok := parseInt64(c.argv[1])
		if !ok {
			c.w.err("ERR Protocol version is not an integer or out of range")
			return
		}
		if v != 2 && v != 3 {
			c.w.err("NOPROTO unsupported protocol version")
			return
		}
		proto, next = int(v), 2
	}
	var user, pass []byte
	for j := next; j < len(c.argv); j++ {
		more := len(c.argv) - 1 - j
		opt := strings.ToLower(c.arg(j))
		switch {
		case opt == "auth" && more >= 2:
			user, pass = c.argv[j+1], c.argv[j+2]
			j += 2
		case opt == "setname" && more >= 1:
			if !validClientName(c.argv[j+1]) {
				c.w.err(msgBadClientName)
				return
			}
			c.cl.setName(string(c.argv[j+1]))
			j++
		default:
			c.w.err("ERR Syntax error in HELLO option '" + string(cstr(c.argv[j], 1<<20)) + "'")
			return
		}
	}
	if user != nil {
		u := c.s.authenticate(user, pass)
		if u == nil {
			c.w.err(msgWrongPass)
			return
		}
		c.cl.authed = true
		c.cl.user.Store(u)
	}
	if !c.cl.authed && c.s.authRequired() {
		c.w.err("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
		return
	}
	c.cl.out.proto = proto
	c.cl.resp.Store(int32(proto)) // publishers encode for it from now on
	w := c.w
	w.mapHeader(7)
	w.bulkString("server")
	w.bulkString("redis")
	w.bulkString("version")
	w.bulkString(c.s.config().Version)
	w.bulkString("proto")
	w.int(int64(proto))
	w.bulkString("id")
	w.int(c.cl.id)
	w.bulkString("mode")
	w.bulkString("standalone")
	w.bulkString("role")
	w.bulkString("master")
	w.bulkString("modules")
	w.array(0)
}

func pingCommand(c *cmdCtx) {
	switch len(c.argv) {
	case 1:
		if c.cl != nil && c.w.proto == 2 && c.cl.subscribed() {
			c.w.array(2)
			c.w.bulkString("pong")
			c.w.bulkString("")
			return
		}
		c.w.simple("PONG")
	case 2:
		if c.cl != nil && c.w.proto == 2 && c.cl.subscribed() {
			c.w.array(2)
			c.w.bulkString("pong")
		}
		c.w.bulk(c.argv[1])
	default:
		c.w.err(wrongArgs("ping"))
	}
}

func echoCommand(c *cmdCtx) { c.w.bulk(c.argv[1]) }

func quitCommand(c *cmdCtx) {
	c.w.ok()
	c.cl.closeAfter = true
}

func resetCommand(c *cmdCtx) {
	cl := c.cl
	cl.multi = nil
	c.s.unwatchAll(cl)
	cl.dropSubs()
	cl.out.proto = 2
	cl.resp.Store(2)
	cl.setName("")
	cl.authed = !c.s.authRequired()
	cl.user.Store(c.s.acl.def)
	c.w.simple("RESET")
}

func selectCommand(c *cmdCtx) {
	n, ok := parseInt64(c.argv[1])
	if !ok {
		c.w.err(msgNotInt)
		return
	}
	if n != 0 {
		c.w.err("ERR DB index is out of range")
		return
	}
	c.w.ok()
}

func clientIDCommand(c *cmdCtx) { c.w.int(c.cl.id) }

const msgBadClientName = "ERR Client names cannot contain spaces, newlines or special characters."

func validClientName(b []byte) bool {
	for _, ch := range b {
		if ch < '!' || ch > '~' {
			return false
		}
	}
	return true
}

func clientSetNameCommand(c *cmdCtx) {
	if !validClientName(c.argv[2]) {
		c.w.err(msgBadClientName)
		return
	}
	c.cl.setName(string(c.argv[2]))
	c.w.ok()
}

func clientGetNameCommand(c *cmdCtx) {
	if n := c.cl.getName(); n != "" {
		c.w.bulkString(n)
		return
	}
	c.w.null()
}

func clientSetInfoCommand(c *cmdCtx) {
	v := string(c.argv[3])
	if !validClientName(c.argv[3]) {
		c.w.err("ERR " + c.arg(2) + " cannot contain spaces, newlines or special characters.")
		return
	}
	c.cl.mu.Lock()
	defer c.cl.mu.Unlock()
	switch strings.ToLower(c.arg(2)) {
	case "lib-name":
		c.cl.libName = v
	case "lib-ver":
		c.cl.libVer = v
	default:
		c.w.err("ERR Unrecognized option '" + c.arg(2) + "'")
		return
	}
	c.w.ok()
}

func clientNoEvictCommand(c *cmdCtx) {
	switch strings.ToLower(c.arg(2)) {
	case "on", "off":
		c.w.ok()
	default:
		c.w.err(msgSyntax)
	}
}

// describe is the client's CLIENT LIST line, with Redis 7.0's fields. The
// memory figures are this server's (buffer capacities).
func (cl *client) describe(now time.Time) string {
	cl.mu.Lock()
	name, lib, ver, last := cl.name, cl.libName, cl.libVer, cl.lastCmd
	cl.mu.Unlock()
	if p := cl.curCmd.Load(); p != nil {
		last = *p
	}
	if last == "" {
		last = "NULL"
	}
	flags, multi := "N", cl.multiN.Load()
	sub, psub, ssub := cl.nSub.Load(), cl.nPSub.Load(), cl.nSSub.Load()
	if sub+psub+ssub > 0 {
		flags = "P"
	}
	if multi >= 0 {
		flags = "x"
	}
	idle := now.Sub(time.Unix(0, cl.lastActive.Load()))
	qbuf, rbs := cl.qbuf.Load(), cl.rbs.Load()
	return fmt.Sprintf("id=%d addr=%s laddr=%s fd=-1 name=%s age=%d idle=%d flags=%s db=0 sub=%d psub=%d ssub=%d multi=%d qbuf=%d qbuf-free=%d argv-mem=0 multi-mem=0 rbs=%d rbp=%d obl=0 oll=0 omem=0 tot-mem=%d events=r cmd=%s user=%s redir=-1 resp=%d lib-name=%s lib-ver=%s",
		cl.id, cl.addr, cl.laddr, name, int64(now.Sub(cl.created).Seconds()), int64(idle.Seconds()), flags, sub, psub, ssub, multi,
		qbuf, rbs-qbuf, rbs, cl.rbp.Load(), rbs+cl.outCap.Load(), last, cl.s.userOf(cl).name, cl.resp.Load(), lib, ver)
}

func clientInfoCommand(c *cmdCtx) {
	c.cl.mirror()
	c.w.verbatim(c.cl.describe(time.Now()) + "\n")
}

// clientType is Redis's getClientType: pubsub once subscribed, else normal.
func (cl *client) clientType() string {
	if cl.nSub.Load()+cl.nPSub.Load()+cl.nSSub.Load() > 0 {
		return "pubsub"
	}
	return "normal"
}

func clientListCommand(c *cmdCtx) {
	var ids map[int64]bool
	typ := ""
	for j := 2; j < len(c.argv); j++ {
		switch strings.ToLower(c.arg(j)) {
		case "type":
			if j+1 >= len(c.argv) {
				c.w.err(msgSyntax)
				return
			}
			t := strings.ToLower(c.arg(j + 1))
			switch t {
			case "normal", "pubsub":
				typ = t
			case "master", "replica", "slave":
				c.w.verbatim("")
				return
			default:
				c.w.err("ERR Unknown client type '" + c.arg(j+1) + "'")
				return
			}
			j++
		case "id":
			if j+1 >= len(c.argv) {
				c.w.err(msgSyntax)
				return
			}
			ids = map[int64]bool{}
			for j++; j < len(c.argv); j++ {
				id, err := strconv.ParseInt(c.arg(j), 10, 64)
				if err != nil {
					c.w.err("ERR Invalid client ID")
					return
				}
				ids[id] = true
			}
		default:
			c.w.err(msgSyntax)
			return
		}
	}
	var b strings.Builder
	now := time.Now()
	c.cl.mirror()
	for _, cl := range c.s.clientList() {
		if (ids != nil && !ids[cl.id]) || (typ != "" && cl.clientType() != typ) {
			continue
		}
		b.WriteString(cl.describe(now))
		b.WriteByte('\n')
	}
	c.w.verbatim(b.String())
}

func clientKillCommand(c *cmdCtx) {
	if len(c.argv) == 3 { // old form: CLIENT KILL addr:port
		for _, cl := range c.s.clientList() {
			if cl.addr == c.arg(2) {
				c.killClient(cl)
				c.w.ok()
				return
			}
		}
		c.w.err("ERR No such client")
		return
	}
	var id int64
	var addr, laddr, user string
	typ := ""
	skipMe := true
	for j := 2; j < len(c.argv); j += 2 {
		if j+1 >= len(c.argv) {
			c.w.err(msgSyntax)
			return
		}
		v := c.arg(j + 1)
		switch strings.ToLower(c.arg(j)) {
		case "id":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				c.w.err("ERR client-id should be greater than 0")
				return
			}
			id = n
		case "addr":
			addr = v
		case "laddr":
			laddr = v
		case "user":
			c.s.acl.mu.Lock()
			known := c.s.acl.users[v] != nil
			c.s.acl.mu.Unlock()
			if !known {
				c.w.err("ERR No such user '" + v + "'")
				return
			}
			user = v
		case "type":
			typ = strings.ToLower(v)
			switch typ {
			case "normal", "master", "replica", "slave", "pubsub":
			default:
				c.w.err("ERR Unknown client type '" + v + "'")
				return
			}
		case "skipme":
			switch strings.ToLower(v) {
			case "yes":
				skipMe = true
			case "no":
				skipMe = false
			default:
				c.w.err(msgSyntax)
				return
			}
		default:
			c.w.err(msgSyntax)
			return
		}
	}
	n := 0
	for _, cl := range c.s.clientList() {
		if (id != 0 && cl.id != id) || (addr != "" && cl.addr != addr) || (laddr != "" && cl.laddr != laddr) ||
			(user != "" && user != c.s.userOf(cl).name) || (typ != "" && typ != cl.clientType()) || (skipMe && cl == c.cl) {
			continue
		}
		c.killClient(cl)
		n++
	}
	c.w.int(int64(n))
}

// clientUnblockCommand is CLIENT UNBLOCK id [TIMEOUT|ERROR]: a client
// waiting in a blocking command answers as if timed out, or with the
// UNBLOCKED error; 1 if it was blocked, else 0.
func clientUnblockCommand(c *cmdCtx) {
	if len(c.argv) > 4 {
		c.w.err("ERR unknown subcommand or wrong number of arguments for '" + c.arg(1) + "'. Try CLIENT HELP.")
		return
	}
	withErr := false
	if len(c.argv) == 4 {
		switch strings.ToLower(c.arg(3)) {
		case "timeout":
		case "error":
			withErr = true
		default:
			c.w.err("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
			return
		}
	}
	id, ok := parseInt64(c.argv[2])
	if !ok {
		c.w.err(msgNotInt)
		return
	}
	c.s.mu.Lock()
	target := c.s.clients[id]
	c.s.mu.Unlock()
	if target == nil || target.blockedOn.Load() == nil {
		c.w.int(0)
		return
	}
	select {
	case target.unblock <- withErr:
		c.w.int(1)
	default:
		c.w.int(0) // already being unblocked
	}
}

// killClient closes cl; killing oneself closes after the reply.
func (c *cmdCtx) killClient(cl *client) {
	if cl == c.cl {
		cl.closeAfter = true
		return
	}
	cl.kill()
}

package server

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// ACL users, as Redis 7.0 has them: a user is on or off, has passwords
// (kept as SHA-256 digests) or nopass, and one selector of permissions:
// the commands it may run (a bit per command of the table, set by +cmd,
// -cmd, +@category and -@category), the key patterns it may touch (~pat,
// or %R~/%W~ for read or write only) and the Pub/Sub channels (&pat,
// checked for the commands that publish or subscribe). The "default" user
// exists always; requirepass sets its password.
//
// A user's state is immutable once published: ACL SETUSER builds a new
// one and stores it in the user's atomic pointer, so dispatch reads it
// without a lock and a connected client sees the change at its next
// command, as Redis's clients do. The default user with +@all ~* &* has
// unrestricted set, and dispatch checks that one field.

// Key pattern permissions (%R~, %W~; ~ is both).
const (
	aclRead  = 1
	aclWrite = 2
)

type aclKeyPat struct {
	pat   string
	pb    []byte // pat, for matching without a conversion
	flags int
}

// aclState is one user's rules; never modified once stored.
type aclState struct {
	on, nopass bool
	sanitize   int // 0: neither flag, 1: sanitize-payload, 2: skip-sanitize-payload

	passwords []string // SHA-256 digests in lower-case hex, in insertion order

	allCmds  bool     // +@all: future commands too (Redis's ALLCOMMANDS flag)
	allowed  []uint64 // a bit per command id
	allKeys  bool
	keys     []aclKeyPat
	allChans bool
	chans    []string

	unrestricted bool // allowed everything, every key: the one-branch path
}

func (st *aclState) clone() *aclState {
	n := *st
	n.passwords = append([]string(nil), st.passwords...)
	n.allowed = append([]uint64(nil), st.allowed...)
	n.keys = append([]aclKeyPat(nil), st.keys...)
	n.chans = append([]string(nil), st.chans...)
	return &n
}

func (st *aclState) can(id int) bool { return st.allowed[id>>6]&(1<<(id&63)) != 0 }

func (st *aclState) set(id int, on bool) {
	if on {
		st.allowed[id>>6] |= 1 << (id & 63)
	} else {
		st.allowed[id>>6] &^= 1 << (id & 63)
	}
}

// aclUser is a named user; st is replaced whole by ACL SETUSER.
type aclUser struct {
	name string
	st   atomic.Pointer[aclState]
}

func (u *aclUser) state() *aclState { return u.st.Load() }

// aclStore holds the users. mu serializes ACL SETUSER/DELUSER and guards
// users; readers of one user's state need no lock.
type aclStore struct {
	mu    sync.Mutex
	users map[string]*aclUser // guarded by mu
	def   *aclUser

	ncmds int        // command ids are 0..ncmds-1
	cmds  []*command // by id, in table order (sorted, subcommands after their container)

	needAuth atomic.Bool // the default user has passwords or is off
}

// initACL numbers the commands and creates the default user.
func (s *Server) initACL() {
	a := &s.acl
	for _, n := range s.table.sortedNames() {
		c := s.table[n]
		c.id = len(a.cmds)
		a.cmds = append(a.cmds, c)
		for _, sn := range sortedKeys(c.subs) {
			sub := c.subs[sn]
			sub.id = len(a.cmds)
			a.cmds = append(a.cmds, sub)
		}
	}
	a.ncmds = len(a.cmds)
	a.users = map[string]*aclUser{}
	a.def = &aclUser{name: "default"}
	st := a.newState()
	for _, op := range []string{"+@all", "~*", "&*", "on", "nopass"} {
		a.apply(st, op)
	}
	a.publish(a.def, st)
	a.users["default"] = a.def
}

func (a *aclStore) newState() *aclState {
	return &aclState{allowed: make([]uint64, (a.ncmds+63)/64)}
}

// publish stores st as u's state.
func (a *aclStore) publish(u *aclUser, st *aclState) {
	st.unrestricted = st.allCmds && st.allKeys && st.allChans && allBits(st.allowed, a.ncmds)
	u.st.Store(st)
	if u == a.def {
		a.needAuth.Store(!st.nopass || !st.on)
	}
}

func allBits(b []uint64, n int) bool {
	for i := 0; i < n; i++ {
		if b[i>>6]&(1<<(i&63)) == 0 {
			return false
		}
	}
	return true
}

// setDefaultPassword applies requirepass: "" is nopass.
func (s *Server) setDefaultPassword(pass string) {
	a := &s.acl
	a.mu.Lock()
	defer a.mu.Unlock()
	st := a.def.state().clone()
	if pass == "" {
		a.apply(st, "nopass")
	} else {
		a.apply(st, "resetpass")
		a.apply(st, ">"+pass)
	}
	a.publish(a.def, st)
}

// userOf is the user cl runs as: the default user until it authenticates.
func (s *Server) userOf(cl *client) *aclUser {
	if u := cl.user.Load(); u != nil {
		return u
	}
	return s.acl.def
}

// authRequired: a client not authenticated must AUTH first.
func (s *Server) authRequired() bool { return s.acl.needAuth.Load() }

// authenticate checks user and pass in constant time over the digests and
// returns the user, or nil.
func (s *Server) authenticate(user, pass []byte) *aclUser {
	got := sha256.Sum256(pass)
	s.acl.mu.Lock()
	u := s.acl.users[string(user)]
	s.acl.mu.Unlock()
	if u == nil {
		return nil
	}
	st := u.state()
	if !st.on {
		return nil
	}
	if st.nopass {
		return u
	}
	ok := 0
	for _, p := range st.passwords {
		var want [32]byte
		hex.Decode(want[:], []byte(p))
		ok |= subtle.ConstantTimeCompare(got[:], want[:])
	}
	if ok == 1 {
		return u
	}
	return nil
}

// aclOpError is the reason an ACL SETUSER modifier failed.
type aclOpError string

const (
	aclErrUnknown  aclOpError = "Unknown command or category name in ACL"
	aclErrSyntax   aclOpError = "Syntax error"
	aclErrAllKeys  aclOpError = "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns"
	aclErrAllChans aclOpError = "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels"
	aclErrNoPass   aclOpError = "The password you are trying to remove from the user does not exist"
	aclErrHash     aclOpError = "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"
	aclErrSubArg   aclOpError = "Allowing first-arg of a subcommand is not supported"
	aclErrFirstArg aclOpError = "Allowing first-arg of a command is not supported by this server"
)

func validHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func hexDigest(p string) string {
	h := sha256.Sum256([]byte(p))
	return hex.EncodeToString(h[:])
}

// apply applies one modifier to st; "" on success.
func (a *aclStore) apply(st *aclState, op string) aclOpError {
	if op == "" {
		return ""
	}
	switch strings.ToLower(op) {
	case "on":
		st.on = true
		return ""
	case "off":
		st.on = false
		return ""
	case "skip-sanitize-payload":
		st.sanitize = 2
		return ""
	case "sanitize-payload":
		st.sanitize = 1
		return ""
	case "nopass":
		st.nopass, st.passwords = true, nil
		return ""
	case "resetpass":
		st.nopass, st.passwords = false, nil
		return ""
	case "reset":
		for _, o := range []string{"resetpass", "resetkeys", "resetchannels", "off", "sanitize-payload", "-@all"} {
			a.apply(st, o)
		}
		return ""
	case "allkeys", "~*":
		st.allKeys, st.keys = true, nil
		return ""
	case "resetkeys":
		st.allKeys, st.keys = false, nil
		return ""
	case "allchannels", "&*":
		st.allChans, st.chans = true, nil
		return ""
	case "resetchannels":
		st.allChans, st.chans = false, nil
		return ""
	case "allcommands", "+@all":
		for i := range st.allowed {
			st.allowed[i] = ^uint64(0)
		}
		st.allCmds = true
		return ""
	case "nocommands", "-@all":
		clear(st.allowed)
		st.allCmds = false
		return ""
	}
	switch {
	case op[0] == '>' || op[0] == '#':
		var h string
		if op[0] == '>' {
			h = hexDigest(op[1:])
		} else {
			if !validHash(op[1:]) {
				return aclErrHash
			}
			h = op[1:]
		}
		if indexOf(st.passwords, h) < 0 {
			st.passwords = append(st.passwords, h)
		}
		st.nopass = false
	case op[0] == '<' || op[0] == '!':
		var h string
		if op[0] == '<' {
			h = hexDigest(op[1:])
		} else {
			if !validHash(op[1:]) {
				return aclErrHash
			}
			h = op[1:]
		}
		i := indexOf(st.passwords, h)
		if i < 0 {
			return aclErrNoPass
		}
		st.passwords = append(st.passwords[:i], st.passwords[i+1:]...)
	case op[0] == '~' || op[0] == '%':
		if st.allKeys {
			return aclErrAllKeys
		}
		flags, off := aclRead|aclWrite, 1
		if op[0] == '%' {
			flags = 0
			for ; off < len(op); off++ {
				c := op[off]
				if (c == 'R' || c == 'r') && flags&aclRead == 0 {
					flags |= aclRead
				} else if (c == 'W' || c == 'w') && flags&aclWrite == 0 {
					flags |= aclWrite
				} else if c == '~' {
					off++
					break
				} else {
					return aclErrSyntax
				}
			}
		}
		pat := op[off:]
		if strings.ContainsAny(pat, " \x00") {
			return aclErrSyntax
		}
		found := false
		for i := range st.keys {
			if st.keys[i].pat == pat {
				st.keys[i].flags |= flags
				found = true
			}
		}
		if !found {
			st.keys = append(st.keys, aclKeyPat{pat, []byte(pat), flags})
		}
	case op[0] == '&':
		if st.allChans {
			return aclErrAllChans
		}
		pat := op[1:]
		if strings.ContainsAny(pat, " \x00") {
			return aclErrSyntax
		}
		if indexOf(st.chans, pat) < 0 {
			st.chans = append(st.chans, pat)
		}
	case (op[0] == '+' || op[0] == '-') && len(op) > 1 && op[1] == '@':
		i := indexOf(catNames[:], strings.ToLower(op[2:]))
		if i < 0 {
			return aclErrUnknown
		}
		a.setCategory(st, aclCats(1)<<i, op[0] == '+')
	case op[0] == '+' || op[0] == '-':
		name := op[1:]
		if op[0] == '+' {
			if j := strings.LastIndexByte(name, '|'); j >= 0 {
				parent := a.lookupName(name[:j])
				if parent == nil {
					return aclErrUnknown
				}
				if parent.parent != nil {
					return aclErrSubArg
				}
				if j == len(name)-1 {
					return aclErrSyntax
				}
				if parent.subs == nil {
					return aclErrFirstArg
				}
			}
		}
		cmd := a.lookupName(name)
		if cmd == nil {
			return aclErrUnknown
		}
		a.setCommand(st, cmd, op[0] == '+')
	default:
		return aclErrSyntax
	}
	return ""
}

func (a *aclStore) lookupName(name string) *command {
	name = strings.ToLower(name)
	if i := strings.IndexByte(name, '|'); i >= 0 {
		for _, c := range a.cmds {
			if c.name == name {
				return c
			}
		}
		return nil
	}
	for _, c := range a.cmds {
		if c.parent == nil && c.name == name {
			return c
		}
	}
	return nil
}

// setCommand allows or denies cmd, and a container's subcommands.
func (a *aclStore) setCommand(st *aclState, cmd *command, on bool) {
	st.set(cmd.id, on)
	for _, sub := range cmd.subs {
		st.set(sub.id, on)
	}
}

// setCategory allows or denies every command of a category (the command
// table's categories, those COMMAND INFO lists).
func (a *aclStore) setCategory(st *aclState, cat aclCats, on bool) {
	for _, c := range a.cmds {
		if c.acl&cat != 0 {
			st.set(c.id, on)
		}
	}
}

// describeCommands is Redis 7.0's description of a user's commands: +@all
// or -@all, then greedily the category that brings the fake user closest
// to the real one, then the single commands that still differ.
func (a *aclStore) describeCommands(st *aclState) string {
	var b strings.Builder
	fake := a.newState()
	temp := st.clone()
	additive := !st.allCmds
	if additive {
		b.WriteString("-@all ")
	} else {
		b.WriteString("+@all ")
		a.apply(fake, "+@all")
	}
	var applied [len(catNames)]bool
	for {
		best := -1
		var mindiff, maxsame int = 1 << 30, 0
		for j := range catNames {
			if applied[j] {
				continue
			}
			on, off := 0, 0
			for _, c := range a.cmds {
				if c.acl&(1<<j) != 0 {
					if temp.can(c.id) {
						on++
					} else {
						off++
					}
				}
			}
			diff, same := on, off
			if additive {
				diff, same = off, on
			}
			if same > diff && (diff < mindiff || diff == mindiff && same > maxsame) {
				best, mindiff, maxsame = j, diff, same
			}
		}
		if best < 0 {
			break
		}
		cat := aclCats(1) << best
		a.setCategory(fake, cat, additive)
		a.setCategory(temp, cat, !additive)
		if additive {
			b.WriteString("+@")
		} else {
			b.WriteString("-@")
		}
		b.WriteString(catNames[best])
		b.WriteByte(' ')
		applied[best] = true
	}
	for _, c := range a.cmds {
		if u := st.can(c.id); u != fake.can(c.id) {
			if u {
				b.WriteByte('+')
			} else {
				b.WriteByte('-')
			}
			b.WriteString(c.name)
			b.WriteByte(' ')
			a.setCommand(fake, c, u)
		}
	}
	return strings.TrimSuffix(b.String(), " ")
}

func describeKeys(st *aclState) string {
	if st.allKeys {
		return "~*"
	}
	parts := make([]string, 0, len(st.keys))
	for _, k := range st.keys {
		switch k.flags {
		case aclRead | aclWrite:
			parts = append(parts, "~"+k.pat)
		case aclRead:
			parts = append(parts, "%R~"+k.pat)
		case aclWrite:
			parts = append(parts, "%W~"+k.pat)
		}
	}
	return strings.Join(parts, " ")
}

func describeChannels(st *aclState) string {
	if st.allChans {
		return "&*"
	}
	parts := make([]string, 0, len(st.chans))
	for _, c := range st.chans {
		parts = append(parts, "&"+c)
	}
	return strings.Join(parts, " ")
}

func aclFlags(st *aclState) []string {
	var f []string
	if st.on {
		f = append(f, "on")
	} else {
		f = append(f, "off")
	}
	if st.nopass {
		f = append(f, "nopass")
	}
	switch st.sanitize {
	case 2:
		f = append(f, "skip-sanitize-payload")
	case 1:
		f = append(f, "sanitize-payload")
	}
	return f
}

// describeUser is one line of ACL LIST.
func (a *aclStore) describeUser(u *aclUser) string {
	st := u.state()
	parts := []string{"user", u.name}
	parts = append(parts, aclFlags(st)...)
	for _, p := range st.passwords {
		parts = append(parts, "#"+p)
	}
	if k := describeKeys(st); k != "" {
		parts = append(parts, k)
	}
	if !st.allChans {
		parts = append(parts, "resetchannels")
	}
	if c := describeChannels(st); c != "" {
		parts = append(parts, c)
	}
	parts = append(parts, a.describeCommands(st))
	return strings.Join(parts, " ")
}

func (a *aclStore) sortedUsers() []*aclUser {
	a.mu.Lock()
	us := make([]*aclUser, 0, len(a.users))
	for _, u := range a.users {
		us = append(us, u)
	}
	a.mu.Unlock()
	sort.Slice(us, func(i, j int) bool { return us[i].name < us[j].name })
	return us
}

// What an ACL check found.
const (
	aclOK = iota
	aclDeniedCmd
	aclDeniedKey
	aclDeniedChannel
)

// aclDenied is the NOPERM error for cmd run by st, or "".
func aclDenied(st *aclState, cmd *command, argv [][]byte) string {
	switch r, _ := aclCheck(st, cmd, argv); r {
	case aclDeniedCmd:
		return "NOPERM this user has no permissions to run the '" + cmd.name + "' command"
	case aclDeniedKey:
		return msgNoPermKey
	case aclDeniedChannel:
		return msgNoPermChannel
	}
	return ""
}

// aclCheck checks the command, then its keys, then its channels, as
// Redis 7.0 does; pos is the denied key's or channel's argument.
func aclCheck(st *aclState, cmd *command, argv [][]byte) (res, pos int) {
	if cmd.flags&flagNoAuth != 0 {
		return aclOK, 0
	}
	if !st.can(cmd.id) {
		return aclDeniedCmd, 0
	}
	if !st.allKeys {
		if p := keysDenied(st, cmd, argv); p > 0 {
			return aclDeniedKey, p
		}
	}
	if !st.allChans {
		if p := channelDenied(st, cmd, argv); p > 0 {
			return aclDeniedChannel, p
		}
	}
	return aclOK, 0
}

// keysDenied is the position of the first key of argv outside st's
// patterns, or 0.
func keysDenied(st *aclState, cmd *command, argv [][]byte) int {
	for i := range cmd.keys {
		ks := cmd.keys[i]
		if ks.flags&ksNotKey != 0 {
			continue // a shard channel: checked as a channel
		}
		need := 0
		if ks.flags&ksAccess != 0 {
			need |= aclRead
		}
		if ks.flags&(ksInsert|ksDelete|ksUpdate) != 0 {
			need |= aclWrite
		}
		if ks.flags&ksVariableFlags != 0 {
			need = variableKeyNeed(cmd, argv, need)
		}
		one := command{keys: cmd.keys[i : i+1]}
		var buf [8]int
		for _, pos := range appendKeyPositions(buf[:0], &one, argv) {
			if !keyAllowed(st, argv[pos], need) {
				return pos
			}
		}
	}
	return 0
}

// aclExecReason is the reason EXEC gives for a command denied since it
// was queued.
func aclExecReason(msg string) string {
	switch msg {
	case msgNoPermKey:
		return "no permission to touch the specified keys"
	case msgNoPermChannel:
		return "no permission to access one of the channels used as arguments"
	}
	return "no permission to execute the command or subcommand"
}

const (
	msgNoPermKey     = "NOPERM this user has no permissions to access one of the keys used as arguments"
	msgNoPermChannel = "NOPERM this user has no permissions to access one of the channels used as arguments"
)

// channelDenied checks the channels of the Pub/Sub commands that publish
// or subscribe and returns the first denied one's position, or 0; a
// PSUBSCRIBE pattern must be one of the user's patterns, literally, as
// Redis requires.
func channelDenied(st *aclState, cmd *command, argv [][]byte) int {
	first, last, literal := 1, len(argv)-1, false
	switch cmd.name {
	case "publish", "spublish":
		last = 1
	case "subscribe", "ssubscribe":
	case "psubscribe":
		literal = true
	default:
		return 0
	}
	for i := first; i <= last && i < len(argv); i++ {
		ch := argv[i]
		ok := false
		for _, p := range st.chans {
			if literal && p == string(ch) || !literal && globMatch([]byte(p), ch, false) {
				ok = true
				break
			}
		}
		if !ok {
			return i
		}
	}
	return 0
}

func keyAllowed(st *aclState, key []byte, need int) bool {
	for _, k := range st.keys {
		if k.flags&need != need {
			continue
		}
		if globMatch(k.pb, key, false) {
			return true
		}
	}
	return false
}

// ACL commands.

func aclWhoamiCommand(c *cmdCtx) { c.w.bulkString(c.s.userOf(c.cl).name) }

func aclUsersCommand(c *cmdCtx) {
	us := c.s.acl.sortedUsers()
	c.w.array(len(us))
	for _, u := range us {
		c.w.bulkString(u.name)
	}
}

func aclListCommand(c *cmdCtx) {
	us := c.s.acl.sortedUsers()
	c.w.array(len(us))
	for _, u := range us {
		c.w.bulkString(c.s.acl.describeUser(u))
	}
}

func aclSetuserCommand(c *cmdCtx) {
	a := &c.s.acl
	name := c.arg(2)
	if strings.ContainsAny(name, " \x00") {
		c.w.err("ERR Usernames can't contain spaces or null characters")
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	u := a.users[name]
	var st *aclState
	if u != nil {
		st = u.state().clone()
	} else {
		st = a.newState() // off, no passwords, no keys, no channels, -@all
	}
	for _, op := range c.argv[3:] {
		if e := a.apply(st, string(op)); e != "" {
			c.w.err("ERR Error in ACL SETUSER modifier '" + string(cstr(op, 1<<20)) + "': " + string(e))
			return
		}
	}
	if u == nil {
		u = &aclUser{name: name}
		a.users[name] = u
	}
	a.publish(u, st)
	c.s.killDeniedSubscribers(c, u, st)
	c.w.ok()
}

// killDeniedSubscribers disconnects the clients of u subscribed to a
// channel or pattern its new rules st no longer allow, as Redis 7.0 does
// (a pattern must be one of the user's, literally).
func (s *Server) killDeniedSubscribers(c *cmdCtx, u *aclUser, st *aclState) {
	if st.allChans {
		return
	}
	victims := map[*client]bool{}
	s.pubsub.mu.RLock()
	for kind := 0; kind < 3; kind++ {
		for name, cls := range s.pubsub.set(kind) {
			for cl := range cls {
				if victims[cl] || s.userOf(cl) != u {
					continue
				}
				ok := false
				for _, p := range st.chans {
					if kind == 1 && p == name || kind != 1 && globMatch([]byte(p), []byte(name), false) {
						ok = true
						break
					}
				}
				if !ok {
					victims[cl] = true
				}
			}
		}
	}
	s.pubsub.mu.RUnlock()
	for cl := range victims {
		c.killClient(cl)
	}
}

func aclDeluserCommand(c *cmdCtx) {
	a := &c.s.acl
	for _, n := range c.argv[2:] {
		if string(n) == "default" {
			c.w.err("ERR The 'default' user cannot be removed")
			return
		}
	}
	var gone []*aclUser
	a.mu.Lock()
	for _, n := range c.argv[2:] {
		if u := a.users[string(n)]; u != nil {
			delete(a.users, string(n))
			gone = append(gone, u)
		}
	}
	a.mu.Unlock()
	if len(gone) > 0 {
		// The clients authenticated as a deleted user are disconnected.
		c.s.mu.Lock()
		var victims []*client
		for _, cl := range c.s.clients {
			for _, u := range gone {
				if cl.user.Load() == u {
					victims = append(victims, cl)
				}
			}
		}
		c.s.mu.Unlock()
		for _, cl := range victims {
			c.killClient(cl)
		}
	}
	c.w.int(int64(len(gone)))
}

func aclGetuserCommand(c *cmdCtx) {
	a := &c.s.acl
	a.mu.Lock()
	u := a.users[c.arg(2)]
	a.mu.Unlock()
	if u == nil {
		c.w.null()
		return
	}
	st := u.state()
	w := c.w
	w.mapHeader(6)
	w.bulkString("flags")
	fl := aclFlags(st)
	w.setHeader(len(fl))
	for _, f := range fl {
		w.bulkString(f)
	}
	w.bulkString("passwords")
	w.array(len(st.passwords))
	for _, p := range st.passwords {
		w.bulkString(p)
	}
	w.bulkString("commands")
	w.bulkString(a.describeCommands(st))
	w.bulkString("keys")
	w.bulkString(describeKeys(st))
	w.bulkString("channels")
	w.bulkString(describeChannels(st))
	w.bulkString("selectors")
	w.array(0)
}

func aclLogCommand(c *cmdCtx) {
	if len(c.argv) > 3 {
		c.w.err(wrongArgs("acl|log"))
		return
	}
	if len(c.argv) == 3 {
		if strings.EqualFold(c.arg(2), "reset") {
			c.w.ok()
			return
		}
		if n, ok := parseInt64(c.argv[2]); !ok || n < 0 {
			c.w.err("ERR value is out of range, must be positive")
			return
		}
	}
	c.w.array(0) // denials are not logged
}

const msgNoACLFile = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration."

func aclFileCommand(c *cmdCtx) { c.w.err(msgNoACLFile) }

func aclGenpassCommand(c *cmdCtx) {
	bits := int64(256)
	if len(c.argv) > 3 {
		c.w.err(wrongArgs("acl|genpass"))
		return
	}
	if len(c.argv) == 3 {
		n, ok := parseInt64(c.argv[2])
		if !ok || n <= 0 || n > 4096 {
			c.w.err("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096")
			return
		}
		bits = n
	}
	chars := int((bits + 3) / 4)
	buf := make([]byte, (chars+1)/2)
	rand.Read(buf)
	c.w.bulkString(hex.EncodeToString(buf)[:chars])
}

// variableKeyNeed is what a key of variable flags needs, as Redis's key
// procedures say: SET without GET only writes; BITFIELD with only GET
// operations only reads.
func variableKeyNeed(cmd *command, argv [][]byte, need int) int {
	switch cmd.name {
	case "set":
		for _, a := range argv[3:] {
			if strings.EqualFold(string(a), "get") {
				return need
			}
		}
		return aclWrite
	case "bitfield":
		for _, a := range argv[2:] {
			switch strings.ToLower(string(a)) {
			case "set", "incrby":
				return need
			}
		}
		return aclRead
	}
	return need
}

// aclDryrunCommand is ACL DRYRUN user command [arg ...]: whether the user
// could run it, without running it.
func aclDryrunCommand(c *cmdCtx) {
	a := &c.s.acl
	a.mu.Lock()
	u := a.users[c.arg(2)]
	a.mu.Unlock()
	if u == nil {
		c.w.err("ERR User '" + c.arg(2) + "' not found")
		return
	}
	argv := c.argv[3:]
	cmd := c.s.table.lookup(argv)
	if cmd == nil || cmd.subs != nil && len(argv) >= 2 {
		c.w.err("ERR Command '" + string(cstr(argv[0], 1<<20)) + "' not found")
		return
	}
	if !cmd.arityOK(len(argv)) {
		c.w.err(wrongArgs(cmd.name))
		return
	}
	switch r, pos := aclCheck(u.state(), cmd, argv); r {
	case aclDeniedCmd:
		c.w.bulkString("This user has no permissions to run the '" + cmd.name + "' command")
	case aclDeniedKey:
		c.w.bulkString("This user has no permissions to access the '" + string(argv[pos]) + "' key")
	case aclDeniedChannel:
		c.w.bulkString("This user has no permissions to access the '" + string(argv[pos]) + "' channel")
	default:
		c.w.ok()
	}
}

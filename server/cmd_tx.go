package server

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"slices"
	"time"

	"github.com/stratadb/strata/collections"
)

// Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//
// EXEC runs the queued commands against one transaction of the Store: no
// other server write to their keys runs between them, and their writes
// reach the WAL as one batch at the end. When every queued command names
// its keys (key specs), EXEC holds the gate shared and those keys' stripes,
// as a write command does, and the transaction locks only those keys;
// otherwise (a script, SORT, FLUSHALL, KEYS, SCAN...) it holds the gate
// exclusively and nothing else writes meanwhile. An engine error at commit
// discards every write and EXEC answers that error instead of the replies.

func transactionCommands() []*command {
	return []*command{
		def("multi", 1, "noscript loading stale fast allow_busy", "@transaction", multiCommand,
			cmdDoc{"Start a transaction block", "1.2.0", "transactions", "O(1)"}),
		def("exec", 1, "noscript loading stale skip_slowlog", "@transaction", execCommand,
			cmdDoc{"Run every command queued since MULTI", "1.2.0", "transactions", "Depends on the commands queued"}),
		def("discard", 1, "noscript loading stale fast allow_busy", "@transaction", discardCommand,
			cmdDoc{"Drop every command queued since MULTI", "2.0.0", "transactions", "O(N) where N is the number of commands queued"}),
		def("watch", -2, "noscript loading stale fast allow_busy", "@transaction", watchCommand,
			cmdDoc{"Make the next EXEC conditional on keys staying unchanged", "2.2.0", "transactions", "O(1) per key"},
			"RO | index 1 | range -1 1 0"),
		def("unwatch", 1, "noscript loading stale fast allow_busy", "@transaction", unwatchCommand,
			cmdDoc{"Forget every watched key", "2.2.0", "transactions", "O(1)"}),
	}
}

// multiState is a client's open MULTI.
type multiState struct {
	cmds    []queuedCmd
	aborted bool // a command failed to queue: EXECABORT
	bytes   int
	// args holds every queued argv's slice headers, buf their bytes: a
	// command queued allocates only when they grow (a slice of buf stays
	// valid when a later append moves it).
	args [][]byte
	buf  []byte
}

type queuedCmd struct {
	cmd  *command
	argv [][]byte
}

// queue keeps a copy of argv: the request buffer is reused.
func (m *multiState) queue(cmd *command, argv [][]byte) {
	lo := len(m.args)
	n := 0
	for _, a := range argv {
		start := len(m.buf)
		m.buf = append(m.buf, a...)
		m.args = append(m.args, m.buf[start:len(m.buf):len(m.buf)])
		n += len(a)
	}
	// A slice of args stays valid the same way; its capacity ends it.
	m.cmds = append(m.cmds, queuedCmd{cmd, m.args[lo:len(m.args):len(m.args)]})
	m.bytes += n
}

// rejectTx marks an open MULTI as failed (a command could not be queued).
func (c *client) rejectTx() {
	if c.multi != nil {
		c.multi.aborted = true
	}
}

func multiCommand(c *cmdCtx) {
	if c.cl.multi != nil {
		c.w.err("ERR MULTI calls can not be nested")
		return
	}
	c.cl.multi = &multiState{cmds: make([]queuedCmd, 0, 8), args: make([][]byte, 0, 32), buf: make([]byte, 0, 512)}
	c.w.ok()
}

func discardCommand(c *cmdCtx) {
	if c.cl.multi == nil {
		c.w.err("ERR DISCARD without MULTI")
		return
	}
	c.cl.multi = nil
	c.s.unwatchAll(c.cl)
	c.w.ok()
}

func execCommand(c *cmdCtx) {
	cl := c.cl
	m := cl.multi
	if m == nil {
		c.w.err("ERR EXEC without MULTI")
		return
	}
	cl.multi = nil
	defer c.s.unwatchAll(cl)
	if m.aborted {
		c.w.err("EXECABORT Transaction discarded because of previous errors.")
		return
	}
	var replies replyWriter
	broken := false
	body := func(ks Keyspace) error {
		// Inside the transaction: no write can come between this check
		// and the commands (the Store's writes mark watchers before they
		// release their keys).
		if broken = c.s.watchBroken(cl, ks); broken {
			return nil
		}
		replies = replyWriter{proto: c.w.proto} // afresh if the Store runs this again
		replies.b = slices.Grow(replies.b, 256)
		st := c.s.userOf(cl).state()
		inner := ctxPool.Get().(*cmdCtx)
		defer func() {
			*inner = cmdCtx{}
			ctxPool.Put(inner)
		}()
		for _, q := range m.cmds {
			if !st.unrestricted {
				// The user's rules may have changed since the command
				// was queued: Redis checks again.
				if msg := aclDenied(st, q.cmd, q.argv); msg != "" {
					replies.err("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: " + aclExecReason(msg))
					continue
				}
			}
			*inner = cmdCtx{s: c.s, cl: cl, cmd: q.cmd, argv: q.argv, w: &replies, ks: ks, inTx: true}
			c.s.call(inner, false)
		}
		return nil
	}
	// An EXEC whose commands name all the keys they touch runs as a write
	// command does: the gate shared and its keys' stripes held, in one
	// transaction of those keys, so transactions on other keys run (and
	// share an fsync) meanwhile. Any other runs alone, the gate held
	// exclusively; so does one that reached a key it did not name (nothing
	// of that try is written).
	err := errNeedGlobal
	if keys, ok := execKeys(cl, m); ok && c.s.gate.shared() == nil {
		var buf [16]int
		stripes := c.s.keyStripes(buf[:0], keys)
		c.s.lockStripes(stripes)
		err = c.s.updateKeys(keys, body)
		c.s.unlockStripes(stripes)
		c.s.gate.releaseShared()
	}
	if errors.Is(err, errNeedGlobal) {
		c.s.gate.exclusive()
		err = c.s.update(body)
		c.s.gate.releaseExclusive()
	}
	if err != nil {
		c.w.err(keyError(err))
		return
	}
	if broken {
		c.w.nullArray()
		return
	}
	// The protocol may have changed inside (HELLO is not queued, so no):
	// the replies were written in the caller's protocol.
	c.w.array(len(m.cmds))
	c.w.raw(replies.b)
	c.w.errors += replies.errors
	if replies.errors > 0 {
		c.w.lastErr = replies.lastErr
	}
}

// execKeys returns the keys an EXEC of m may touch, from its commands' key
// specs and the keys the client watches, and false if a command can reach
// keys its specs do not name (scripts, SORT) or the keyspace as a whole
// (FLUSHALL, KEYS, SCAN, DBSIZE, RANDOMKEY, INFO...): such an EXEC runs
// alone.
func execKeys(cl *client, m *multiState) ([][]byte, bool) {
	keys := make([][]byte, 0, len(m.cmds)+len(cl.watching))
	var buf [8]int
	for _, q := range m.cmds {
		switch q.cmd.name {
		case "eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro", "sort", "sort_ro":
			return nil, false
		}
		pos := appendKeyPositions(buf[:0], q.cmd, q.argv)
		if len(pos) == 0 {
			switch q.cmd.name {
			case "ping", "echo", "time", "publish", "spublish":
				continue // touch no key
			}
			return nil, false
		}
		for _, i := range pos {
			keys = append(keys, q.argv[i]) // repeats are fine: stripes and locks take each once
		}
	}
	for k := range cl.watching {
		keys = append(keys, []byte(k))
	}
	return keys, true
}

// updateKeys is update for a transaction of keys alone (Store.UpdateKeys);
// the caller holds the gate shared and the keys' stripes. It returns
// errNeedGlobal, having written nothing, if fn reached another key.
func (s *Server) updateKeys(keys [][]byte, fn func(ks Keyspace) error) error {
	return s.runTx(func(body func(*collections.Tx) error) error { return s.store.UpdateKeys(keys, body) }, func(ks Keyspace) error {
		if err := fn(ks); err != nil {
			return err
		}
		if ks.(*dataKeyspace).tx.Undeclared() {
			return errNeedGlobal
		}
		return nil
	})
}

// update runs fn against one transaction (collections.Store.Update: all of
// its writes reach the WAL as one record, or none) and commits it; the
// caller holds the gate exclusively. This is where EXEC and scripts meet
// the store. fn may run again if a raw write from outside the Store changed
// a string it rewrote (see Store.Update): it must start afresh each time.
// Under appendfsync always the reply's flush fsyncs (client.flush), after
// the gate is released, so transactions of several clients share an fsync.
func (s *Server) update(fn func(ks Keyspace) error) error {
	return s.runTx(s.store.Update, fn)
}

// runTx runs fn through run (the Store's Update or UpdateKeys) on a fresh
// transaction keyspace each time the Store calls it, and once the
// transaction committed, what the last run left for after the commit
// (messages PUBLISH sent from inside it).
func (s *Server) runTx(run func(func(*collections.Tx) error) error, fn func(ks Keyspace) error) error {
	var last *dataKeyspace
	err := run(func(tx *collections.Tx) error {
		last = newTxKeyspace(s, tx)
		return fn(last)
	})
	if err == nil && last != nil {
		for _, f := range last.after {
			f()
		}
	}
	return err
}

// watchedKey is a key's state when WATCH saw it.
type watchedKey struct {
	exists bool
	sum    [32]byte // value and expiry
	exp    time.Time
}

func watchCommand(c *cmdCtx) {
	if c.cl.multi != nil {
		c.w.err("ERR WATCH inside MULTI is not allowed")
		return
	}
	for _, k := range c.argv[1:] {
		if _, ok := c.cl.watching[string(k)]; ok {
			continue
		}
		c.s.watch(c.cl, k) // before reading: a later write marks the client
		st, err := keyState(c.ks, k)
		if err != nil {
			c.errReply(err)
			return
		}
		c.cl.watching[string(k)] = st
	}
	c.w.ok()
}

func unwatchCommand(c *cmdCtx) {
	c.s.unwatchAll(c.cl)
	c.w.ok()
}

// keyState summarizes a key for WATCH: whether it exists, a hash of its
// value and expiry. Comparing it at EXEC catches writes made outside the
// server (Go code on the same DB), which do not mark watchers.
func keyState(ks Keyspace, key []byte) (watchedKey, error) {
	kind, err := ks.Type(key)
	if err != nil || kind == KindNone {
		return watchedKey{}, err
	}
	exp, ok, err := ks.Expiry(key)
	if err != nil || !ok {
		return watchedKey{}, err
	}
	h := sha256.New()
	h.Write([]byte{byte(kind)})
	h.Write([]byte(exp.Format(time.RFC3339Nano)))
	if kind == KindString {
		v, err := ks.Get(key)
		if err != nil {
			return watchedKey{}, nil // gone meanwhile
		}
		h.Write(v)
	}
	st := watchedKey{exists: true, exp: exp}
	copy(st.sum[:], h.Sum(nil))
	return st, nil
}

// watchBroken reports whether EXEC must fail: a watched key was written
// through the server, expired, or changed behind the server's back.
func (s *Server) watchBroken(cl *client, ks Keyspace) bool {
	if cl.dirty.Load() {
		return true
	}
	for k, was := range cl.watching {
		now, err := keyState(ks, []byte(k))
		if err != nil || now.exists != was.exists || !bytes.Equal(now.sum[:], was.sum[:]) {
			return true
		}
	}
	return false
}

// watch registers cl as watching key.
func (s *Server) watch(cl *client, key []byte) {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	if cl.watching == nil {
		cl.watching = map[string]watchedKey{}
	}
	set := s.watched[string(key)]
	if set == nil {
		set = map[*client]struct{}{}
		s.watched[string(key)] = set
	}
	set[cl] = struct{}{}
	s.nWatched.Add(1)
}

// unwatchAll forgets cl's watched keys and clears its dirty flag.
func (s *Server) unwatchAll(cl *client) {
	if len(cl.watching) > 0 {
		s.watchMu.Lock()
		for k := range cl.watching {
			if set := s.watched[k]; set != nil {
				delete(set, cl)
				s.nWatched.Add(-1)
				if len(set) == 0 {
					delete(s.watched, k)
				}
			}
		}
		s.watchMu.Unlock()
		clear(cl.watching)
	}
	cl.dirty.Store(false)
}

// touch marks the clients watching key: it was written.
func (s *Server) touch(key []byte) {
	if s.nWatched.Load() == 0 {
		return
	}
	s.watchMu.Lock()
	for cl := range s.watched[string(key)] {
		cl.dirty.Store(true)
	}
	s.watchMu.Unlock()
}

// touchExisting marks every watching client whose watched key exists in ks,
// before a flush deletes them all (as Redis's FLUSHALL does).
func (s *Server) touchExisting(ks Keyspace) {
	if s.nWatched.Load() == 0 {
		return
	}
	s.watchMu.Lock()
	keys := make([]string, 0, len(s.watched))
	for k := range s.watched {
		keys = append(keys, k)
	}
	s.watchMu.Unlock()
	for _, k := range keys {
		if kind, err := ks.Type([]byte(k)); err == nil && kind != KindNone {
			s.touch([]byte(k))
		}
	}
}

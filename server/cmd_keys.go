package server

import (
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stratadb/strata/collections"
	"github.com/stratadb/strata/lsm"
)

// Key commands: DEL UNLINK EXISTS TYPE RENAME RENAMENX EXPIRE PEXPIRE
// EXPIREAT PEXPIREAT TTL PTTL EXPIRETIME PEXPIRETIME PERSIST SCAN KEYS
// RANDOMKEY TOUCH.

func keyCommands() []*command {
	gen := func(s, since, cx string) cmdDoc { return cmdDoc{s, since, "generic", cx} }
	const rw1 = "RW update | index 1 | range 0 1 0"
	return []*command{
		def("del", -2, "write tip:request_policy:multi_shard tip:response_policy:agg_sum", "@keyspace", delCommand,
			gen("Delete keys", "1.0.0", "O(N) where N is the number of keys"), "RM delete | index 1 | range -1 1 0"),
		def("unlink", -2, "write fast tip:request_policy:multi_shard tip:response_policy:agg_sum", "@keyspace", delCommand,
			gen("Delete keys (the same as DEL: deletes never block here)", "4.0.0", "O(1) per key"), "RM delete | index 1 | range -1 1 0"),
		def("exists", -2, "readonly fast tip:request_policy:multi_shard tip:response_policy:agg_sum", "@keyspace", existsCommand,
			gen("Count the keys that exist", "1.0.0", "O(N) where N is the number of keys"), "RO | index 1 | range -1 1 0"),
		def("touch", -2, "readonly fast tip:request_policy:multi_shard tip:response_policy:agg_sum", "@keyspace", existsCommand,
			gen("Count the keys that exist (access times are not kept)", "3.2.1", "O(N) where N is the number of keys"), "RO | index 1 | range -1 1 0"),
		def("type", 2, "readonly fast", "@keyspace", typeCommand,
			gen("The type of a key", "1.0.0", "O(1)"), "RO | index 1 | range 0 1 0"),
		def("rename", 3, "write", "@keyspace", renameCommand,
			gen("Rename a key", "1.0.0", "O(1)"), "RW access delete | index 1 | range 0 1 0", "OW update | index 2 | range 0 1 0"),
		def("renamenx", 3, "write fast", "@keyspace", renameCommand,
			gen("Rename a key unless the new name exists", "1.0.0", "O(1)"), "RW access delete | index 1 | range 0 1 0", "OW insert | index 2 | range 0 1 0"),
		def("expire", -3, "write fast", "@keyspace", expireCommand,
			gen("Set a key's time to live in seconds", "1.0.0", "O(1)"), rw1),
		def("pexpire", -3, "write fast", "@keyspace", expireCommand,
			gen("Set a key's time to live in milliseconds", "2.6.0", "O(1)"), rw1),
		def("expireat", -3, "write fast", "@keyspace", expireCommand,
			gen("Set a key's expiry as a Unix time in seconds", "1.2.0", "O(1)"), rw1),
		def("pexpireat", -3, "write fast", "@keyspace", expireCommand,
			gen("Set a key's expiry as a Unix time in milliseconds", "2.6.0", "O(1)"), rw1),
		def("ttl", 2, "readonly fast tip:nondeterministic_output", "@keyspace", ttlCommand,
			gen("A key's time to live in seconds", "1.0.0", "O(1)"), "RO access | index 1 | range 0 1 0"),
		def("pttl", 2, "readonly fast tip:nondeterministic_output", "@keyspace", ttlCommand,
			gen("A key's time to live in milliseconds", "2.6.0", "O(1)"), "RO access | index 1 | range 0 1 0"),
		def("expiretime", 2, "readonly fast", "@keyspace", ttlCommand,
			gen("A key's expiry as a Unix time in seconds", "7.0.0", "O(1)"), "RO access | index 1 | range 0 1 0"),
		def("pexpiretime", 2, "readonly fast", "@keyspace", ttlCommand,
			gen("A key's expiry as a Unix time in milliseconds", "7.0.0", "O(1)"), "RO access | index 1 | range 0 1 0"),
		def("persist", 2, "write fast", "@keyspace", persistCommand,
			gen("Remove a key's expiry", "2.2.0", "O(1)"), rw1),
		def("scan", -2, "readonly tip:nondeterministic_output tip:request_policy:special", "@keyspace", scanCommand,
			gen("Iterate over the keys", "2.8.0", "O(1) per call, O(N) for a full iteration")),
		def("keys", 2, "readonly tip:request_policy:all_shards tip:nondeterministic_output_order", "@keyspace @dangerous", keysCommand,
			gen("The keys matching a pattern", "1.0.0", "O(N) in the keys under the pattern's literal prefix")),
		def("randomkey", 1, "readonly tip:request_policy:all_shards tip:nondeterministic_output", "@keyspace", randomkeyCommand,
			gen("A key picked at random", "1.0.0", "O(log N)")),
	}
}

// nowMs is Redis's mstime(): the clock in whole milliseconds.
func (c *cmdCtx) nowMs() int64 { return c.s.now().UnixMilli() }

func delCommand(c *cmdCtx) {
	n, err := c.ks.Delete(uniqueKeys(c.argv[1:])...)
	if err != nil {
		c.errReply(err)
		return
	}
	c.w.int(int64(n))
}

func uniqueKeys(keys [][]byte) [][]byte {
	if len(keys) < 2 {
		return keys
	}
	seen := make(map[string]bool, len(keys))
	out := make([][]byte, 0, len(keys))
	for _, k := range keys {
		if !seen[string(k)] {
			seen[string(k)] = true
			out = append(out, k)
		}
	}
	return out
}

func existsCommand(c *cmdCtx) {
	n, err := c.ks.Data().Exists(c.argv[1:]...)
	if err != nil {
		c.errReply(err)
		return
	}
	c.w.int(int64(n))
}

func typeCommand(c *cmdCtx) {
	kind, err := c.ks.Type(c.argv[1])
	if err != nil {
		c.errReply(err)
		return
	}
	c.w.simple(kind.String())
}

func renameCommand(c *cmdCtx) {
	nx := c.cmd.name == "renamenx"
	ok, err := c.ks.Rename(c.argv[1], c.argv[2], nx)
	if err != nil {
		c.errReply(err)
		return
	}
	switch {
	case !nx:
		c.w.ok()
	case ok:
		c.w.int(1)
	default:
		c.w.int(0)
	}
}

// Flags of EXPIRE and friends.
const (
	expNX = 1 << iota
	expXX
	expGT
	expLT
)

func expireCommand(c *cmdCtx) {
	name := c.cmd.name
	flags := 0
	for _, a := range c.argv[3:] {
		switch strings.ToLower(string(a)) {
		case "nx":
			flags |= expNX
		case "xx":
			flags |= expXX
		case "gt":
			flags |= expGT
		case "lt":
			flags |= expLT
		default:
			c.w.err("ERR Unsupported option " + string(a))
			return
		}
	}
	if flags&expNX != 0 && flags&(expXX|expGT|expLT) != 0 {
		c.w.err("ERR NX and XX, GT or LT options at the same time are not compatible")
		return
	}
	if flags&expGT != 0 && flags&expLT != 0 {
		c.w.err("ERR GT and LT options at the same time are not compatible")
		return
	}
	when, ok := parseInt64(c.argv[2])
	if !ok {
		c.w.err(msgNotInt)
		return
	}
	badTime := "ERR invalid expire time in '" + name + "' command"
	if name == "expire" || name == "expireat" {
		if when > math.MaxInt64/1000 || when < math.MinInt64/1000 {
			c.w.err(badTime)
			return
		}
		when *= 1000
	}
	if name == "expire" || name == "pexpire" {
		base := c.nowMs()
		if when > math.MaxInt64-base {
			c.w.err(badTime)
			return
		}
		when += base
	}
	cur, exists, err := c.ks.Expiry(c.argv[1])
	if err != nil {
		c.errReply(err)
		return
	}
	if !exists {
		c.w.int(0)
		return
	}
	curMs := int64(-1)
	if !cur.IsZero() {
		curMs = cur.UnixMilli()
	}
	if (flags&expNX != 0 && curMs != -1) || (flags&expXX != 0 && curMs == -1) ||
		(flags&expGT != 0 && (when <= curMs || curMs == -1)) ||
		(flags&expLT != 0 && curMs != -1 && when >= curMs) {
		c.w.int(0)
		return
	}
	at := time.UnixMilli(when)
	if when <= c.nowMs() {
		at = time.Unix(1, 0) // in the past, whatever the clock: delete
	}
	ok, err = c.ks.SetExpiry(c.argv[1], at)
	if err != nil {
		c.errReply(err)
		return
	}
	c.w.int(b2i(ok))
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func ttlCommand(c *cmdCtx) {
	exp, exists, err := c.ks.Expiry(c.argv[1])
	if err != nil {
		c.errReply(err)
		return
	}
	c.s.stats.hit(exists)
	switch {
	case !exists:
		c.w.int(-2)
		return
	case exp.IsZero():
		c.w.int(-1)
		return
	}
	expMs := exp.UnixMilli()
	switch c.cmd.name {
	case "expiretime":
		c.w.int((expMs + 500) / 1000)
	case "pexpiretime":
		c.w.int(expMs)
	default:
		ttl := max(expMs-c.nowMs(), 0)
		if c.cmd.name == "ttl" {
			ttl = (ttl + 500) / 1000
		}
		c.w.int(ttl)
	}
}

func persistCommand(c *cmdCtx) {
	exp, exists, err := c.ks.Expiry(c.argv[1])
	if err != nil {
		c.errReply(err)
		return
	}
	if !exists || exp.IsZero() {
		c.w.int(0)
		return
	}
	ok, err := c.ks.SetExpiry(c.argv[1], time.Time{})
	if err != nil {
		c.errReply(err)
		return
	}
	c.w.int(b2i(ok))
}

// parseCursor reads a SCAN cursor as Redis's strtoul does: decimal, an
// optional sign ("-1" wraps around), nothing else.
func parseCursor(b []byte) (uint64, bool) {
	if len(b) > 0 && isSpace(b[0]) {
		return 0, false
	}
	s := string(b)
	neg := false
	if strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
		neg, s = s[0] == '-', s[1:]
	}
	if s == "" {
		return 0, len(b) == 0
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}

// cursorTable maps SCAN cursors to the key a scan resumes after. Keys are
// arbitrary bytes and cursors 64-bit integers, so the server remembers
// them; the table is bounded (oldest forgotten first), and a forgotten or
// unknown cursor restarts the iteration: keys come again, none is missed.
type cursorTable struct {
	mu    sync.Mutex
	m     map[uint64][]byte
	order []uint64
	bytes int
}

const (
	maxCursors      = 1 << 16
	maxCursorBytes  = 64 << 20
	cursorTableKeep = maxCursors / 2
)

func (t *cursorTable) init() { t.m = map[uint64][]byte{} }

func (t *cursorTable) reset() {
	t.mu.Lock()
	t.m = map[uint64][]byte{}
	t.order, t.bytes = nil, 0
	t.mu.Unlock()
}

func (t *cursorTable) get(c uint64) ([]byte, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k, ok := t.m[c]
	return k, ok
}

func (t *cursorTable) put(key []byte) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(t.order) > 0 && (len(t.m) >= maxCursors || t.bytes+len(key) > maxCursorBytes) {
		old := t.order[0]
		t.order = t.order[1:]
		t.bytes -= len(t.m[old])
		delete(t.m, old)
	}
	var id uint64
	for id == 0 || t.m[id] != nil {
		id = rand.Uint64() >> 1 // positive as a signed 64-bit number too
	}
	t.m[id] = append([]byte(nil), key...)
	t.order = append(t.order, id)
	t.bytes += len(key)
	return id
}

func scanCommand(c *cmdCtx) {
	cursor, ok := parseCursor(c.argv[1])
	if !ok {
		c.w.err("ERR invalid cursor")
		return
	}
	count := int64(10)
	var match []byte
	typ := ""
	for j := 2; j < len(c.argv); j += 2 {
		if j+1 >= len(c.argv) {
			c.w.err(msgSyntax)
			return
		}
		switch strings.ToLower(c.arg(j)) {
		case "count":
			n, ok := parseInt64(c.argv[j+1])
			if !ok {
				c.w.err(msgNotInt)
				return
			}
			if n < 1 {
				c.w.err(msgSyntax)
				return
			}
			count = n
		case "match":
			match = c.argv[j+1]
		case "type":
			typ = strings.ToLower(c.arg(j + 1))
		default:
			c.w.err(msgSyntax)
			return
		}
	}
	o := &collections.KeysOptions{}
	if cursor != 0 {
		if after, ok := c.s.cursors.get(cursor); ok {
			o.After = after
		}
	}
	if match != nil {
		o.Prefix = globPrefix(match)
	}
	if t, ok := collections.ParseType(typ); ok && typ != "none" {
		o.Type = t
	}
	var keys [][]byte
	var last []byte
	seen := int64(0)
	more := false
	err := c.ks.Keys(o, func(k []byte, kind Kind, _ time.Time) bool {
		if seen == count {
			more = true
			return false
		}
		seen++
		last = append(last[:0], k...)
		if match != nil && !globMatch(match, k, false) {
			return true
		}
		if typ != "" && kind.String() != typ {
			return true
		}
		keys = append(keys, append([]byte(nil), k...))
		return true
	})
	if err != nil {
		c.errReply(err)
		return
	}
	next := "0"
	if more {
		next = strconv.FormatUint(c.s.cursors.put(last), 10)
	}
	c.w.array(2)
	c.w.bulkString(next)
	c.w.array(len(keys))
	for _, k := range keys {
		c.w.bulk(k)
	}
}

func keysCommand(c *cmdCtx) {
	pat := c.argv[1]
	o := &collections.KeysOptions{Prefix: globPrefix(pat)}
	all := len(pat) == 1 && pat[0] == '*'
	var keys [][]byte
	err := c.ks.Keys(o, func(k []byte, _ Kind, _ time.Time) bool {
		if all || globMatch(pat, k, false) {
			keys = append(keys, append([]byte(nil), k...))
		}
		return true
	})
	if err != nil {
		c.errReply(err)
		return
	}
	c.w.array(len(keys))
	for _, k := range keys {
		c.w.bulk(k)
	}
}

// randomkeyCommand: the Store's RandomKey, which descends the key space
// with seeks (every key can come out, though not with equal chances); in a
// transaction, the first key after random bytes, or the first key.
func randomkeyCommand(c *cmdCtx) {
	if k, ok := c.ks.(*dataKeyspace); ok && k.tx == nil {
		key, err := c.s.store.RandomKey()
		switch {
		case errors.Is(err, lsm.ErrNotFound):
			c.w.null()
		case err != nil:
			c.errReply(err)
		default:
			c.w.bulk(key)
		}
		return
	}
	var probe [8]byte
	for i := range probe {
		probe[i] = byte(rand.UintN(256))
	}
	var found []byte
	pick := func(k []byte, _ Kind, _ time.Time) bool {
		found = append([]byte(nil), k...)
		return false
	}
	if err := c.ks.Keys(&collections.KeysOptions{After: probe[:]}, pick); err != nil {
		c.errReply(err)
		return
	}
	if found == nil {
		if err := c.ks.Keys(&collections.KeysOptions{}, pick); err != nil {
			c.errReply(err)
			return
		}
	}
	if found == nil {
		c.w.null()
		return
	}
	c.w.bulk(found)
}

package server

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
)

// The command table: one entry per command, declared by its family's file
// (cmd_strings.go, cmd_keys.go, ...). Everything else derives from it:
// arity errors, COMMAND and COMMAND INFO/COUNT/DOCS/LIST, ACL categories,
// which commands MULTI may queue or scripts may call, which keys a command
// locks and touches, commandstats and the slow log. Flags, key specs and
// categories follow Redis 7.0's definitions, so COMMAND INFO answers as
// Redis does (the differential test compares them).

// cmdFlags are Redis's command flags. The order of the constants is the
// order COMMAND INFO lists them in.
type cmdFlags uint32

const (
	flagWrite cmdFlags = 1 << iota
	flagReadonly
	flagDenyOOM
	flagModule
	flagAdmin
	flagPubsub
	flagNoscript
	flagBlocking
	flagLoading
	flagStale
	flagSkipMonitor
	flagSkipSlowlog
	flagAsking
	flagFast
	flagNoAuth
	flagMayReplicate
	flagNoMandatoryKeys
	flagNoAsyncLoading
	flagNoMulti
	flagMovableKeys
	flagAllowBusy
)

var flagNames = [...]string{
	"write", "readonly", "denyoom", "module", "admin", "pubsub", "noscript",
	"blocking", "loading", "stale", "skip_monitor", "skip_slowlog", "asking",
	"fast", "no_auth", "may_replicate", "no_mandatory_keys", "no_async_loading",
	"no_multi", "movablekeys", "allow_busy",
}

// aclCats are ACL categories, in the order Redis lists them.
type aclCats uint32

const (
	catKeyspace aclCats = 1 << iota
	catRead
	catWrite
	catSet
	catSortedSet
	catList
	catHash
	catString
	catBitmap
	catHyperLogLog
	catGeo
	catStream
	catPubsub
	catAdmin
	catFast
	catSlow
	catBlocking
	catDangerous
	catConnection
	catTransaction
	catScripting
)

var catNames = [...]string{
	"keyspace", "read", "write", "set", "sortedset", "list", "hash", "string",
	"bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow",
	"blocking", "dangerous", "connection", "transaction", "scripting",
}

// keySpec flags, in COMMAND INFO order.
type ksFlags uint16

const (
	ksRO ksFlags = 1 << iota
	ksRW
	ksOW
	ksRM
	ksAccess
	ksUpdate
	ksInsert
	ksDelete
	ksNotKey
	ksIncomplete
	ksVariableFlags
)

var ksFlagNames = [...]string{"RO", "RW", "OW", "RM", "access", "update", "insert", "delete", "not_key", "incomplete", "variable_flags"}

// keySpec says where a command's keys are, as Redis 7.0's key
// specifications do: a begin search (an argument index, or a keyword
// searched from an index) then a find keys (a range, or a count argument).
type keySpec struct {
	flags ksFlags

	bsType      string // "index", "keyword" or "unknown"
	bsIndex     int    // index: position of the first key
	bsKeyword   string // keyword: the word after which the keys start
	bsStartFrom int    // keyword: where the search starts (negative: from the end)

	fkType    string // "range", "keynum" or "unknown"
	lastKey   int    // range: last key relative to the first (-1: the last argument)
	keyStep   int    // range and keynum
	limit     int    // range
	keyNumIdx int    // keynum: index of the count relative to the begin search
	firstKey  int    // keynum: first key relative to the begin search
}

// cmdDoc is what COMMAND DOCS says about a command.
type cmdDoc struct {
	summary, since, group, complexity string
}

// command is one entry of the table.
type command struct {
	name    string // lower case; "client|list" for a subcommand
	id      int    // the command's bit in an ACL user's command set
	arity   int    // argc exactly, or -N for at least N (the name counts)
	flags   cmdFlags
	acl     aclCats // explicit categories; the implicit ones are added at init
	tips    []string
	keys    []keySpec
	handler func(c *cmdCtx)
	doc     cmdDoc

	subs   map[string]*command // a container's subcommands
	parent *command

	firstKey, lastKey, keyStep int // the legacy key range, derived from keys

	stats cmdStats
}

// cmdStats are one command's counters for INFO commandstats.
type cmdStats struct {
	calls, usec, rejected, failed atomic.Int64
}

// def builds a table entry. flags and cats are space-separated names
// ("write denyoom", "@string"); specs are key specs written as
// "FLAGS | BEGIN_SEARCH | FIND_KEYS" (see parseKeySpec). A bad name is a
// programming error caught by every test, so it panics at init.
func def(name string, arity int, flags, cats string, h func(*cmdCtx), doc cmdDoc, specs ...string) *command {
	c := &command{name: name, arity: arity, handler: h, doc: doc}
	for _, f := range strings.Fields(flags) {
		if strings.HasPrefix(f, "tip:") {
			c.tips = append(c.tips, strings.TrimPrefix(f, "tip:"))
			continue
		}
		i := indexOf(flagNames[:], f)
		if i < 0 {
			panic("server: unknown command flag " + f + " on " + name)
		}
		c.flags |= 1 << i
	}
	for _, f := range strings.Fields(cats) {
		i := indexOf(catNames[:], strings.TrimPrefix(f, "@"))
		if i < 0 {
			panic("server: unknown ACL category " + f + " on " + name)
		}
		c.acl |= 1 << i
	}
	for _, s := range specs {
		ks, err := parseKeySpec(s)
		if err != nil {
			panic("server: key spec of " + name + ": " + err.Error())
		}
		c.keys = append(c.keys, ks)
	}
	return c
}

// group builds a plain container: arity -2, no flags, no handler of its
// own (the command name alone is an arity error).
func group(name string, doc cmdDoc) *command { return def(name, -2, "", "", nil, doc) }

// container gives c its subcommands. A container with a handler of its own
// (COMMAND) runs it when called without a subcommand.
func container(c *command, subs ...*command) *command {
	c.subs = map[string]*command{}
	for _, s := range subs {
		sub := s.name
		s.name = c.name + "|" + sub
		s.parent = c
		c.subs[sub] = s
	}
	return c
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// parseKeySpec reads "RW access | index 1 | range 0 1 0",
// "RO | index 2 | keynum 0 1 1", "RW | keyword KEYS -2 | range -1 1 0" or
// "RO | unknown | unknown".
func parseKeySpec(s string) (keySpec, error) {
	parts := strings.Split(s, "|")
	if len(parts) != 3 {
		return keySpec{}, fmt.Errorf("want 3 parts in %q", s)
	}
	var ks keySpec
	for _, f := range strings.Fields(parts[0]) {
		i := indexOf(ksFlagNames[:], f)
		if i < 0 {
			return ks, fmt.Errorf("unknown key spec flag %q", f)
		}
		ks.flags |= 1 << i
	}
	nums := func(fs []string, n int) ([]int, error) {
		if len(fs) != n {
			return nil, fmt.Errorf("want %d numbers in %q", n, fs)
		}
		out := make([]int, n)
		for i, f := range fs {
			v, err := strconv.Atoi(f)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	bs := strings.Fields(parts[1])
	if len(bs) == 0 {
		return ks, fmt.Errorf("empty begin search in %q", s)
	}
	ks.bsType = bs[0]
	switch bs[0] {
	case "index":
		v, err := nums(bs[1:], 1)
		if err != nil {
			return ks, err
		}
		ks.bsIndex = v[0]
	case "keyword":
		if len(bs) != 3 {
			return ks, fmt.Errorf("keyword wants a word and a start in %q", s)
		}
		ks.bsKeyword = bs[1]
		v, err := nums(bs[2:], 1)
		if err != nil {
			return ks, err
		}
		ks.bsStartFrom = v[0]
	case "unknown":
	default:
		return ks, fmt.Errorf("unknown begin search %q", bs[0])
	}
	fk := strings.Fields(parts[2])
	if len(fk) == 0 {
		return ks, fmt.Errorf("empty find keys in %q", s)
	}
	ks.fkType = fk[0]
	switch fk[0] {
	case "range":
		v, err := nums(fk[1:], 3)
		if err != nil {
			return ks, err
		}
		ks.lastKey, ks.keyStep, ks.limit = v[0], v[1], v[2]
	case "keynum":
		v, err := nums(fk[1:], 3)
		if err != nil {
			return ks, err
		}
		ks.keyNumIdx, ks.firstKey, ks.keyStep = v[0], v[1], v[2]
	case "unknown":
	default:
		return ks, fmt.Errorf("unknown find keys %q", fk[0])
	}
	return ks, nil
}

// commandTable maps lower-case names to commands.
type commandTable map[string]*command

// families lists every command family's declarations. A new family adds
// its slice here.
func families() [][]*command {
	return [][]*command{
		connectionCommands(),
		serverCommands(),
		keyCommands(),
		stringCommands(),
		hashCommands(),
		listCommands(),
		setCommands(),
		zsetCommands(),
		transactionCommands(),
		pubsubCommands(),
		mpopCommands(),
		scriptingCommands(),
		refusedCommands(),
	}
}

func buildTable() commandTable {
	t := commandTable{}
	for _, fam := range families() {
		for _, c := range fam {
			if _, dup := t[c.name]; dup {
				panic("server: command declared twice: " + c.name)
			}
			finish(c)
			for _, s := range c.subs {
				finish(s)
			}
			t[c.name] = c
		}
	}
	return t
}

// finish derives the implicit ACL categories and the legacy key range.
func finish(c *command) {
	if c.subs != nil && c.handler == nil {
		c.acl |= catSlow // a plain container: @slow and nothing else
		return
	}
	if c.flags&flagWrite != 0 {
		c.acl |= catWrite
	}
	if c.flags&flagReadonly != 0 && c.acl&catScripting == 0 {
		c.acl |= catRead
	}
	if c.flags&flagAdmin != 0 {
		c.acl |= catAdmin | catDangerous
	}
	if c.flags&flagPubsub != 0 {
		c.acl |= catPubsub
	}
	if c.flags&flagFast != 0 {
		c.acl |= catFast
	}
	if c.flags&flagBlocking != 0 {
		c.acl |= catBlocking
	}
	if c.acl&catFast == 0 {
		c.acl |= catSlow
	}
	// Legacy (first, last, step): from the index+range specs only.
	for _, ks := range c.keys {
		if ks.bsType != "index" || ks.fkType != "range" {
			continue
		}
		if c.firstKey == 0 {
			c.firstKey, c.keyStep = ks.bsIndex, ks.keyStep
		}
		last := ks.bsIndex + ks.lastKey
		if ks.lastKey < 0 {
			last = ks.lastKey
		}
		if c.lastKey >= 0 && (last < 0 || last > c.lastKey) {
			c.lastKey = last
		}
	}
}

// lookup finds the command argv names, descending into a container's
// subcommand. It returns the container alone when the subcommand is
// unknown or missing (the caller then reports it).
func (t commandTable) lookup(argv [][]byte) *command {
	c := t[lower(argv[0])]
	if c == nil || c.subs == nil || len(argv) < 2 {
		return c
	}
	if s := c.subs[lower(argv[1])]; s != nil {
		return s
	}
	return c
}

// lookupName finds "get" or "client|list".
func (t commandTable) lookupName(name string) *command {
	name = strings.ToLower(name)
	if i := strings.IndexByte(name, '|'); i >= 0 {
		c := t[name[:i]]
		if c == nil || c.subs == nil {
			return nil
		}
		return c.subs[name[i+1:]]
	}
	return t[name]
}

// sortedNames lists the top-level command names in order.
func (t commandTable) sortedNames() []string {
	names := make([]string, 0, len(t))
	for n := range t {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// arityOK checks argc against the command's arity.
func (c *command) arityOK(argc int) bool {
	if c.arity >= 0 {
		return argc == c.arity
	}
	return argc >= -c.arity
}

// keyPositions returns the indexes of argv holding keys, following the key
// specs; malformed arguments (a bad key count) give what can be found.
func (c *command) keyPositions(argv [][]byte) []int {
	var out []int
	argc := len(argv)
	for _, ks := range c.keys {
		var first, last, step int
		switch ks.bsType {
		case "index":
			first = ks.bsIndex
		case "keyword":
			first = -1
			start, end, inc := ks.bsStartFrom, argc, 1
			if start < 0 {
				start, end, inc = argc+start, 0, -1
			}
			for i := start; i != end && i > 0 && i < argc; i += inc {
				if strings.EqualFold(string(argv[i]), ks.bsKeyword) {
					first = i + 1
					break
				}
			}
			if first < 0 {
				continue
			}
		default:
			continue
		}
		switch ks.fkType {
		case "range":
			step = ks.keyStep
			if ks.lastKey >= 0 {
				last = first + ks.lastKey
			} else {
				last = argc + ks.lastKey
				if ks.limit > 1 {
					last = first + (last-first)/ks.limit
				}
			}
		case "keynum":
			idx := first + ks.keyNumIdx
			if idx >= argc {
				continue
			}
			n, err := strconv.Atoi(string(argv[idx]))
			if err != nil || n < 0 {
				continue
			}
			first, step = idx+ks.firstKey, ks.keyStep
			last = first + (n-1)*step
		default:
			continue
		}
		if step <= 0 {
			step = 1
		}
		for i := first; i <= last && i < argc; i += step {
			if i > 0 {
				out = append(out, i)
			}
		}
	}
	return out
}

// keysOf returns argv's keys, deduplicated, in argument order.
func (c *command) keysOf(argv [][]byte) [][]byte {
	pos := c.keyPositions(argv)
	if len(pos) == 0 {
		return nil
	}
	out := make([][]byte, 0, len(pos))
	seen := map[string]bool{}
	for _, i := range pos {
		if !seen[string(argv[i])] {
			seen[string(argv[i])] = true
			out = append(out, argv[i])
		}
	}
	return out
}

// writeInfo writes the command's COMMAND INFO entry.
func (c *command) writeInfo(w *replyWriter) {
	w.array(10)
	w.bulkString(c.name)
	w.int(int64(c.arity))
	var fl []string
	for i, n := range flagNames {
		if c.flags&(1<<i) != 0 {
			fl = append(fl, n)
		}
	}
	w.setHeader(len(fl))
	for _, f := range fl {
		w.simple(f)
	}
	w.int(int64(c.firstKey))
	w.int(int64(c.lastKey))
	w.int(int64(c.keyStep))
	var cats []string
	for i, n := range catNames {
		if c.acl&(1<<i) != 0 {
			cats = append(cats, "@"+n)
		}
	}
	w.setHeader(len(cats))
	for _, s := range cats {
		w.simple(s)
	}
	w.setHeader(len(c.tips))
	for _, t := range c.tips {
		w.bulkString(t)
	}
	w.setHeader(len(c.keys))
	for _, ks := range c.keys {
		ks.write(w)
	}
	// Redis answers an empty set, or an array of subcommands.
	if len(c.subs) == 0 {
		w.setHeader(0)
	} else {
		w.array(len(c.subs))
	}
	for _, n := range sortedKeys(c.subs) {
		c.subs[n].writeInfo(w)
	}
}

func sortedKeys(m map[string]*command) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (ks keySpec) write(w *replyWriter) {
	w.mapHeader(3)
	w.bulkString("flags")
	var fl []string
	for i, n := range ksFlagNames {
		if ks.flags&(1<<i) != 0 {
			fl = append(fl, n)
		}
	}
	w.setHeader(len(fl))
	for _, f := range fl {
		w.simple(f)
	}
	w.bulkString("begin_search")
	w.mapHeader(2)
	w.bulkString("type")
	w.bulkString(ks.bsType)
	w.bulkString("spec")
	switch ks.bsType {
	case "index":
		w.mapHeader(1)
		w.bulkString("index")
		w.int(int64(ks.bsIndex))
	case "keyword":
		w.mapHeader(2)
		w.bulkString("keyword")
		w.bulkString(ks.bsKeyword)
		w.bulkString("startfrom")
		w.int(int64(ks.bsStartFrom))
	default:
		w.mapHeader(0)
	}
	w.bulkString("find_keys")
	w.mapHeader(2)
	w.bulkString("type")
	w.bulkString(ks.fkType)
	w.bulkString("spec")
	switch ks.fkType {
	case "range":
		w.mapHeader(3)
		w.bulkString("lastkey")
		w.int(int64(ks.lastKey))
		w.bulkString("keystep")
		w.int(int64(ks.keyStep))
		w.bulkString("limit")
		w.int(int64(ks.limit))
	case "keynum":
		w.mapHeader(3)
		w.bulkString("keynumidx")
		w.int(int64(ks.keyNumIdx))
		w.bulkString("firstkey")
		w.int(int64(ks.firstKey))
		w.bulkString("keystep")
		w.int(int64(ks.keyStep))
	default:
		w.mapHeader(0)
	}
}

// writeDocs writes the command's COMMAND DOCS map (without the name).
func (c *command) writeDocs(w *replyWriter) {
	n := 4
	if c.subs != nil {
		n++
	}
	w.mapHeader(n)
	w.bulkString("summary")
	w.bulkString(c.doc.summary)
	w.bulkString("since")
	w.bulkString(c.doc.since)
	w.bulkString("group")
	w.bulkString(c.doc.group)
	w.bulkString("complexity")
	w.bulkString(c.doc.complexity)
	if c.subs != nil {
		w.bulkString("subcommands")
		w.mapHeader(len(c.subs))
		for _, name := range sortedKeys(c.subs) {
			s := c.subs[name]
			w.bulkString(s.name)
			s.writeDocs(w)
		}
	}
}

func lower(b []byte) string {
	for _, c := range b {
		if c >= 'A' && c <= 'Z' {
			return strings.ToLower(string(b))
		}
	}
	return string(b)
}

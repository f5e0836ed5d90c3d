package server

import (
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/stratadb/strata/collections"
	"github.com/stratadb/strata/lsm"
)

// Hash commands, carried by the collections package (c.ks.Data()): each
// field is its own engine key, so HGET, HSET and HDEL cost a point read
// or a write whatever the hash's size. Argument checks and their order
// follow Redis 7.0's t_hash.c, so errors come out as Redis's do.

func hashCommands() []*command {
	h := func(s, since, cx string) cmdDoc { return cmdDoc{s, since, "hash", cx} }
	const (
		rw  = "RW update | index 1 | range 0 1 0"
		rwa = "RW access update | index 1 | range 0 1 0"
		ro  = "RO | index 1 | range 0 1 0"
		roa = "RO access | index 1 | range 0 1 0"
	)
	return []*command{
		def("hset", -4, "write denyoom fast", "@hash", hsetCommand, h("Set fields of a hash", "2.0.0", "O(N) for N fields"), rw),
		def("hmset", -4, "write denyoom fast", "@hash", hsetCommand, h("Set fields of a hash (replies OK)", "2.0.0", "O(N) for N fields"), rw),
		def("hsetnx", 4, "write denyoom fast", "@hash", hsetnxCommand, h("Set a field unless it exists", "2.0.0", "O(1)"),
			"RW insert | index 1 | range 0 1 0"),
		def("hget", 3, "readonly fast", "@hash", hgetCommand, h("The value of a field", "2.0.0", "O(1)"), roa),
		def("hmget", -3, "readonly fast", "@hash", hmgetCommand, h("The values of fields", "2.0.0", "O(N) for N fields"), roa),
		def("hdel", -3, "write fast", "@hash", hdelCommand, h("Delete fields", "2.0.0", "O(N) for N fields"),
			"RW delete | index 1 | range 0 1 0"),
		def("hexists", 3, "readonly fast", "@hash", hexistsCommand, h("Whether a field exists", "2.0.0", "O(1)"), ro),
		def("hlen", 2, "readonly fast", "@hash", hlenCommand, h("The number of fields", "2.0.0", "O(1)"), ro),
		def("hstrlen", 3, "readonly fast", "@hash", hstrlenCommand, h("The length of a field's value", "3.2.0", "O(1)"), ro),
		def("hgetall", 2, "readonly tip:nondeterministic_output_order", "@hash", hgetallCommand,
			h("Every field and value, in field byte order", "2.0.0", "O(N)"), roa),
		def("hkeys", 2, "readonly tip:nondeterministic_output_order", "@hash", hgetallCommand,
			h("Every field, in byte order", "2.0.0", "O(N)"), roa),
		def("hvals", 2, "readonly tip:nondeterministic_output_order", "@hash", hgetallCommand,
			h("Every value, in the order of their fields", "2.0.0", "O(N)"), roa),
		def("hincrby", 4, "write denyoom fast", "@hash", hincrbyCommand, h("Add to a field's integer", "2.0.0", "O(1)"), rwa),
		def("hincrbyfloat", 4, "write denyoom fast", "@hash", hincrbyfloatCommand, h("Add to a field's float", "2.6.0", "O(1)"), rwa),
		def("hrandfield", -2, "readonly tip:nondeterministic_output", "@hash", hrandfieldCommand,
			h("Random fields, with their values if asked", "6.2.0", "O(N) for N fields returned"), roa),
		def("hscan", -3, "readonly tip:nondeterministic_output", "@hash", scanElemsCommand,
			h("Iterate over the fields and values", "2.8.0", "O(1) per call, O(N) for a full iteration"), roa),
	}
}

func hsetCommand(c *cmdCtx) {
	if len(c.argv)%2 == 1 {
		c.w.err(wrongArgs(c.cmd.name))
		return
	}
	n, err := c.ks.Data().HSet(c.argv[1], c.argv[2:]...)
	if c.fail(err) {
		return
	}
	if c.cmd.name == "hmset" {
		c.w.ok()
		return
	}
	c.w.int(int64(n))
}

func hsetnxCommand(c *cmdCtx) {
	ok, err := c.ks.Data().HSetNX(c.argv[1], c.argv[2], c.argv[3])
	if !c.fail(err) {
		c.w.int(b2i(ok))
	}
}

// hgetCommand reads the value into the reply writer's scratch buffer
// when it runs alone (not in EXEC or a script), so an HGET allocates
// nothing (TestRESPPathAllocs).
func hgetCommand(c *cmdCtx) {
	var v []byte
	var err error
	if st, ok := c.ks.Data().(*collections.Store); ok {
		v, err = st.HGetAppend(c.w.scratch[:0], c.argv[1], c.argv[2])
		defer c.w.keepScratch(v)
	} else {
		v, err = c.ks.Data().HGet(c.argv[1], c.argv[2])
	}
	switch {
	case errors.Is(err, lsm.ErrNotFound):
		c.w.null()
	case !c.fail(err):
		c.w.bulk(v)
	}
}

func hmgetCommand(c *cmdCtx) {
	vs, err := c.ks.Data().HMGet(c.argv[1], c.argv[2:]...)
	if c.fail(err) {
		return
	}
	c.w.array(len(vs))
	for _, v := range vs {
		if v == nil {
			c.w.null()
		} else {
			c.w.bulk(v)
		}
	}
}

func hdelCommand(c *cmdCtx) {
	n, err := c.ks.Data().HDel(c.argv[1], c.argv[2:]...)
	if !c.fail(err) {
		c.w.int(int64(n))
	}
}

func hexistsCommand(c *cmdCtx) {
	ok, err := c.ks.Data().HExists(c.argv[1], c.argv[2])
	if !c.fail(err) {
		c.w.int(b2i(ok))
	}
}

func hlenCommand(c *cmdCtx) {
	n, err := c.ks.Data().HLen(c.argv[1])
	if !c.fail(err) {
		c.w.int(n)
	}
}

func hstrlenCommand(c *cmdCtx) {
	n, err := c.ks.Data().HStrLen(c.argv[1], c.argv[2])
	if !c.fail(err) {
		c.w.int(int64(n))
	}
}

// hgetallCommand is HGETALL (a map in RESP3), HKEYS and HVALS, streamed
// from an iterator when the hash is large.
func hgetallCommand(c *cmdCtx) {
	fv, err := c.ks.Data().HGetAll(c.argv[1])
	if c.fail(err) {
		return
	}
	switch c.cmd.name {
	case "hgetall":
		c.w.mapHeader(len(fv) / 2)
		for _, b := range fv {
			c.w.bulk(b)
		}
	case "hkeys":
		c.w.array(len(fv) / 2)
		for i := 0; i < len(fv); i += 2 {
			c.w.bulk(fv[i])
		}
	default:
		c.w.array(len(fv) / 2)
		for i := 1; i < len(fv); i += 2 {
			c.w.bulk(fv[i])
		}
	}
}

func hincrbyCommand(c *cmdCtx) {
	d, ok := c.long(c.argv[3])
	if !ok {
		return
	}
	n, err := c.ks.Data().HIncrBy(c.argv[1], c.argv[2], d)
	if !c.fail(err) {
		c.w.int(n)
	}
}

func hincrbyfloatCommand(c *cmdCtx) {
	f, ok := parseLongDouble(c.argv[3])
	if !ok {
		c.w.err(msgNotFloat)
		return
	}
	if f.IsInf() {
		c.w.err("ERR value is NaN or Infinity")
		return
	}
	v, err := c.ks.Data().HIncrByFloatText(c.argv[1], c.argv[2], c.argv[3])
	if !c.fail(err) {
		c.w.bulk(v)
	}
}

func hrandfieldCommand(c *cmdCtx) {
	if len(c.argv) == 2 {
		fs, err := c.ks.Data().HRandField(c.argv[1], 1, false)
		switch {
		case c.fail(err):
		case len(fs) == 0:
			c.w.null()
		default:
			c.w.bulk(fs[0])
		}
		return
	}
	n, ok := c.rangeLong(c.argv[2], -math.MaxInt64, math.MaxInt64, "")
	if !ok {
		return
	}
	withValues := false
	if len(c.argv) > 4 || (len(c.argv) == 4 && !strings.EqualFold(c.arg(3), "withvalues")) {
		c.w.err(msgSyntax)
		return
	} else if len(c.argv) == 4 {
		withValues = true
		if n < -math.MaxInt64/2 || n > math.MaxInt64/2 {
			c.w.err("ERR value is out of range")
			return
		}
	}
	if n == 0 {
		// Redis answers before looking at the key (after its type).
		if t, err := c.ks.Type(c.argv[1]); c.fail(err) {
			return
		} else if t != KindNone && t != KindHash {
			c.w.err(msgWrongType)
			return
		}
		c.w.array(0)
		return
	}
	fs, err := c.ks.Data().HRandField(c.argv[1], n, withValues)
	if c.fail(err) {
		return
	}
	if withValues {
		c.pairs(fs)
		return
	}
	c.bulks(fs)
}

// scanElemsCommand is HSCAN, SSCAN and ZSCAN: a cursor, then the key
// (missing: an empty scan; another type: WRONGTYPE), then MATCH and COUNT,
// parsed in that order as Redis does. The integer cursor maps to the last
// element returned (cursorTable), so a scan resumes after it.
func scanElemsCommand(c *cmdCtx) {
	cursor, ok := parseCursor(c.argv[2])
	if !ok {
		c.w.err("ERR invalid cursor")
		return
	}
	want := map[string]Kind{"hscan": KindHash, "sscan": KindSet, "zscan": KindZSet}[c.cmd.name]
	kind, err := c.ks.Type(c.argv[1])
	if c.fail(err) {
		return
	}
	if kind == KindNone {
		c.w.array(2)
		c.w.bulkString("0")
		c.w.array(0)
		return
	}
	if kind != want {
		c.w.err(msgWrongType)
		return
	}
	count := int64(10)
	var match []byte
	for i := 3; i < len(c.argv); i += 2 {
		if i+1 >= len(c.argv) {
			c.w.err(msgSyntax)
			return
		}
		switch strings.ToLower(c.arg(i)) {
		case "count":
			if count, ok = c.long(c.argv[i+1]); !ok {
				return
			}
			if count < 1 {
				c.w.err(msgSyntax)
				return
			}
		case "match":
			match = c.argv[i+1]
			if len(match) == 1 && match[0] == '*' {
				match = nil
			}
		default:
			c.w.err(msgSyntax)
			return
		}
	}
	var after []byte
	if cursor != 0 {
		after, _ = c.s.cursors.get(cursor) // an unknown cursor starts over
	}
	n := int(min(count, 1<<20))
	var elems [][]byte // flat: element, then its value or score
	var next []byte
	d := c.ks.Data()
	switch kind {
	case KindHash:
		elems, next, err = d.HScan(c.argv[1], after, n)
	case KindSet:
		var ms [][]byte
		ms, next, err = d.SScan(c.argv[1], after, n)
		for _, m := range ms {
			elems = append(elems, m, nil)
		}
	default:
		zs, nx, e := d.ZScan(c.argv[1], after, n)
		next, err = nx, e
		for _, z := range zs {
			elems = append(elems, z.Member, scanScore(z.Score))
		}
	}
	if c.fail(err) {
		return
	}
	out := elems[:0]
	for i := 0; i+1 < len(elems); i += 2 {
		if match != nil && !globMatch(match, elems[i], false) {
			continue
		}
		out = append(out, elems[i])
		if kind != KindSet {
			out = append(out, elems[i+1])
		}
	}
	c.w.array(2)
	if next == nil {
		c.w.bulkString("0")
	} else {
		c.w.bulkString(strconv.FormatUint(c.s.cursors.put(next), 10))
	}
	c.bulks(out)
}

// scanScore is a score as ZSCAN writes it: Redis's d2string, which prints
// an integral score within ±2^62 as an integer and any other as %.17g.
func scanScore(f float64) []byte {
	const lim = float64(math.MaxInt64 / 2)
	if f >= -lim && f <= lim && f == math.Trunc(f) {
		return strconv.AppendInt(nil, int64(f), 10)
	}
	return []byte(formatDouble(f))
}

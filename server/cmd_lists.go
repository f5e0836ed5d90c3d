package server

import (
	"errors"
	"math"
	"strings"

	"github.com/stratadb/strata/collections"
	"github.com/stratadb/strata/lsm"
)

// List commands, carried by the collections package: a list's elements
// sit at consecutive sequence numbers, so pushes and pops at either end,
// LINDEX and LSET are one engine operation whatever the length. The
// blocking pops are in blocking.go. Argument checks and their order follow
// Redis 7.0's t_list.c.

func listCommands() []*command {
	l := func(s, since, cx string) cmdDoc { return cmdDoc{s, since, "list", cx} }
	const (
		ins   = "RW insert | index 1 | range 0 1 0"
		pop   = "RW access delete | index 1 | range 0 1 0"
		roa   = "RO access | index 1 | range 0 1 0"
		src   = "RW access delete | index 1 | range 0 1 0"
		dst   = "RW insert | index 2 | range 0 1 0"
		bkeys = "RW access delete | index 1 | range -2 1 0"
	)
	return []*command{
		def("lpush", -3, "write denyoom fast", "@list", pushCommand, l("Push elements at the head", "1.0.0", "O(N) for N elements"), ins),
		def("rpush", -3, "write denyoom fast", "@list", pushCommand, l("Push elements at the tail", "1.0.0", "O(N) for N elements"), ins),
		def("lpushx", -3, "write denyoom fast", "@list", pushCommand, l("Push at the head of an existing list", "2.2.0", "O(N) for N elements"), ins),
		def("rpushx", -3, "write denyoom fast", "@list", pushCommand, l("Push at the tail of an existing list", "2.2.0", "O(N) for N elements"), ins),
		def("lpop", -2, "write fast", "@list", popCommand, l("Pop elements from the head", "1.0.0", "O(N) for N elements popped"), pop),
		def("rpop", -2, "write fast", "@list", popCommand, l("Pop elements from the tail", "1.0.0", "O(N) for N elements popped"), pop),
		def("llen", 2, "readonly fast", "@list", llenCommand, l("The length of a list", "1.0.0", "O(1)"), "RO | index 1 | range 0 1 0"),
		def("lrange", 4, "readonly", "@list", lrangeCommand, l("A range of elements", "1.0.0", "O(N) for N elements returned (one seek to the first)"), roa),
		def("lindex", 3, "readonly", "@list", lindexCommand, l("The element at an index", "1.0.0", "O(1)"), roa),
		def("lset", 4, "write denyoom", "@list", lsetCommand, l("Replace the element at an index", "1.0.0", "O(1)"),
			"RW update | index 1 | range 0 1 0"),
		def("ltrim", 4, "write", "@list", ltrimCommand, l("Keep only a range of elements", "1.0.0", "O(1): at most two range deletes"),
			"RW delete | index 1 | range 0 1 0"),
		def("lrem", 4, "write", "@list", lremCommand, l("Remove elements equal to a value", "1.0.0", "O(N)"),
			"RW delete | index 1 | range 0 1 0"),
		def("linsert", 5, "write denyoom", "@list", linsertCommand, l("Insert an element before or after another", "2.2.0", "O(N)"), ins),
		def("lpos", -3, "readonly", "@list", lposCommand, l("The indexes of elements equal to a value", "6.0.6", "O(N)"), roa),
		def("lmove", 5, "write denyoom", "@list", lmoveCommand, l("Pop from one list and push onto another", "6.2.0", "O(1)"), src, dst),
		def("rpoplpush", 3, "write denyoom", "@list", lmoveCommand, l("Pop from the tail of one list, push at the head of another", "1.2.0", "O(1)"), src, dst),
		def("blpop", -3, "write noscript blocking", "@list", blpopCommand, l("Pop from the head of the first non-empty list, or wait", "2.0.0", "O(N) for N keys"), bkeys),
		def("brpop", -3, "write noscript blocking", "@list", blpopCommand, l("Pop from the tail of the first non-empty list, or wait", "2.0.0", "O(N) for N keys"), bkeys),
		def("blmove", 6, "write denyoom noscript blocking", "@list", blmoveCommand, l("LMOVE, or wait for an element", "6.2.0", "O(1)"), src, dst),
		def("brpoplpush", 4, "write denyoom noscript blocking", "@list", blmoveCommand, l("RPOPLPUSH, or wait for an element", "2.2.0", "O(1)"), src, dst),
	}
}

func pushCommand(c *cmdCtx) {
	d := c.ks.Data()
	var n int64
	var err error
	switch c.cmd.name {
	case "lpush":
		n, err = d.LPush(c.argv[1], c.argv[2:]...)
	case "rpush":
		n, err = d.RPush(c.argv[1], c.argv[2:]...)
	case "lpushx":
		n, err = d.LPushX(c.argv[1], c.argv[2:]...)
	default:
		n, err = d.RPushX(c.argv[1], c.argv[2:]...)
	}
	if !c.fail(err) {
		c.w.int(n)
	}
}

func popCommand(c *cmdCtx) {
	left := c.cmd.name == "lpop"
	d := c.ks.Data()
	if len(c.argv) > 3 {
		c.w.err(wrongArgs(c.cmd.name))
		return
	}
	if len(c.argv) == 2 {
		var v []byte
		var err error
		if left {
			v, err = d.LPop(c.argv[1])
		} else {
			v, err = d.RPop(c.argv[1])
		}
		switch {
		case errors.Is(err, lsm.ErrNotFound):
			c.w.null()
		case !c.fail(err):
			c.w.bulk(v)
		}
		return
	}
	n, ok := c.positiveLong(c.argv[2], "")
	if !ok {
		return
	}
	var vs [][]byte
	var err error
	if left {
		vs, err = d.LPopCount(c.argv[1], n)
	} else {
		vs, err = d.RPopCount(c.argv[1], n)
	}
	switch {
	case errors.Is(err, lsm.ErrNotFound):
		c.w.nullArray()
	case !c.fail(err):
		c.bulks(vs)
	}
}

func llenCommand(c *cmdCtx) {
	n, err := c.ks.Data().LLen(c.argv[1])
	if !c.fail(err) {
		c.w.int(n)
	}
}

func lrangeCommand(c *cmdCtx) {
	start, ok := c.long(c.argv[2])
	if !ok {
		return
	}
	stop, ok := c.long(c.argv[3])
	if !ok {
		return
	}
	vs, err := c.ks.Data().LRange(c.argv[1], start, stop)
	if !c.fail(err) {
		c.bulks(vs)
	}
}

// listOrReply looks key up for a command that answers before parsing its
// arguments when the key is missing or of another type (LINDEX, LSET):
// it reports true when key is a list.
func (c *cmdCtx) listOrReply(key []byte, missing func()) bool {
	t, err := c.ks.Type(key)
	switch {
	case c.fail(err):
	case t == KindNone:
		missing()
	case t != KindList:
		c.w.err(msgWrongType)
	default:
		return true
	}
	return false
}

func lindexCommand(c *cmdCtx) {
	if !c.listOrReply(c.argv[1], c.w.null) {
		return
	}
	i, ok := c.long(c.argv[2])
	if !ok {
		return
	}
	v, err := c.ks.Data().LIndex(c.argv[1], i)
	switch {
	case errors.Is(err, lsm.ErrNotFound):
		c.w.null()
	case !c.fail(err):
		c.w.bulk(v)
	}
}

func lsetCommand(c *cmdCtx) {
	if !c.listOrReply(c.argv[1], func() { c.w.err(msgNoSuchKey) }) {
		return
	}
	i, ok := c.long(c.argv[2])
	if !ok {
		return
	}
	if !c.fail(c.ks.Data().LSet(c.argv[1], i, c.argv[3])) {
		c.w.ok()
	}
}

func ltrimCommand(c *cmdCtx) {
	start, ok := c.long(c.argv[2])
	if !ok {
		return
	}
	stop, ok := c.long(c.argv[3])
	if !ok {
		return
	}
	if !c.fail(c.ks.Data().LTrim(c.argv[1], start, stop)) {
		c.w.ok()
	}
}

func lremCommand(c *cmdCtx) {
	n, ok := c.long(c.argv[2])
	if !ok {
		return
	}
	removed, err := c.ks.Data().LRem(c.argv[1], n, c.argv[3])
	if !c.fail(err) {
		c.w.int(removed)
	}
}

func linsertCommand(c *cmdCtx) {
	var before bool
	switch strings.ToLower(c.arg(2)) {
	case "after":
	case "before":
		before = true
	default:
		c.w.err(msgSyntax)
		return
	}
	n, err := c.ks.Data().LInsert(c.argv[1], before, c.argv[3], c.argv[4])
	if !c.fail(err) {
		c.w.int(n)
	}
}

func lposCommand(c *cmdCtx) {
	a := collections.LPosArgs{Rank: 1, Count: 1}
	hasCount := false
	for j := 3; j < len(c.argv); j++ {
		more := j+1 < len(c.argv)
		var ok bool
		switch strings.ToLower(c.arg(j)) {
		case "rank":
			if !more {
				c.w.err(msgSyntax)
				return
			}
			j++
			if a.Rank, ok = c.rangeLong(c.argv[j], -math.MaxInt64, math.MaxInt64, ""); !ok {
				return
			}
			if a.Rank == 0 {
				c.w.err("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
				return
			}
		case "count":
			if !more {
				c.w.err(msgSyntax)
				return
			}
			j++
			if a.Count, ok = c.positiveLong(c.argv[j], "ERR COUNT can't be negative"); !ok {
				return
			}
			hasCount = true
		case "maxlen":
			if !more {
				c.w.err(msgSyntax)
				return
			}
			j++
			if a.MaxLen, ok = c.positiveLong(c.argv[j], "ERR MAXLEN can't be negative"); !ok {
				return
			}
		default:
			c.w.err(msgSyntax)
			return
		}
	}
	t, err := c.ks.Type(c.argv[1])
	switch {
	case c.fail(err):
		return
	case t == KindNone && hasCount:
		c.w.array(0)
		return
	case t == KindNone:
		c.w.null()
		return
	case t != KindList:
		c.w.err(msgWrongType)
		return
	}
	idx, err := c.ks.Data().LPos(c.argv[1], c.argv[2], a)
	switch {
	case c.fail(err):
	case hasCount:
		c.w.array(len(idx))
		for _, i := range idx {
			c.w.int(i)
		}
	case len(idx) == 0:
		c.w.null()
	default:
		c.w.int(idx[0])
	}
}

// listEnd parses LEFT or RIGHT; true for LEFT.
func (c *cmdCtx) listEnd(arg []byte) (left, ok bool) {
	switch strings.ToLower(string(arg)) {
	case "left":
		return true, true
	case "right":
		return false, true
	}
	c.w.err(msgSyntax)
	return false, false
}

func lmoveCommand(c *cmdCtx) {
	from, to := false, true // RPOPLPUSH
	if c.cmd.name == "lmove" {
		var ok bool
		if from, ok = c.listEnd(c.argv[3]); !ok {
			return
		}
		if to, ok = c.listEnd(c.argv[4]); !ok {
			return
		}
	}
	v, err := c.ks.Data().LMove(c.argv[1], c.argv[2], from, to)
	switch {
	case errors.Is(err, lsm.ErrNotFound):
		c.w.null()
	case !c.fail(err):
		c.w.bulk(v)
	}
}

func blpopCommand(c *cmdCtx) {
	deadline, msg := c.blockingTimeout(c.argv[len(c.argv)-1])
	if msg != "" {
		c.w.err(msg)
		return
	}
	c.blockingPop(popSpec{kind: popList, left: c.cmd.name == "blpop"}, c.argv[1:len(c.argv)-1], deadline)
}

func blmoveCommand(c *cmdCtx) {
	spec := popSpec{kind: popMove, dst: c.argv[2], dstLeft: true} // BRPOPLPUSH
	timeout := c.argv[3]
	if c.cmd.name == "blmove" {
		var ok bool
		if spec.left, ok = c.listEnd(c.argv[3]); !ok {
			return
		}
		if spec.dstLeft, ok = c.listEnd(c.argv[4]); !ok {
			return
		}
		timeout = c.argv[5]
	}
	deadline, msg := c.blockingTimeout(timeout)
	if msg != "" {
		c.w.err(msg)
		return
	}
	c.blockingPop(spec, c.argv[1:2], deadline)
}

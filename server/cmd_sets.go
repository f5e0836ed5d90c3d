package server

import (
	"math"
	"strings"
)

// Set commands, carried by the collections package: each member is its
// own engine key, so SADD, SREM and SISMEMBER cost a point read or write
// whatever the size. Members come back in byte order (Redis: no defined
// order). Argument checks and their order follow Redis 7.0's t_set.c.

func setCommands() []*command {
	s := func(s, since, cx string) cmdDoc { return cmdDoc{s, since, "set", cx} }
	const (
		ro   = "RO | index 1 | range 0 1 0"
		roa  = "RO access | index 1 | range 0 1 0"
		all  = "RO access | index 1 | range -1 1 0"
		srcs = "RO access | index 2 | range -1 1 0"
	)
	return []*command{
		def("sadd", -3, "write denyoom fast", "@set", saddCommand, s("Add members", "1.0.0", "O(N) for N members"),
			"RW insert | index 1 | range 0 1 0"),
		def("srem", -3, "write fast", "@set", saddCommand, s("Remove members", "1.0.0", "O(N) for N members"),
			"RW delete | index 1 | range 0 1 0"),
		def("sismember", 3, "readonly fast", "@set", sismemberCommand, s("Whether a member is in the set", "1.0.0", "O(1)"), ro),
		def("smismember", -3, "readonly fast", "@set", smismemberCommand, s("Whether each member is in the set", "6.2.0", "O(N) for N members"), roa),
		def("smembers", 2, "readonly tip:nondeterministic_output_order", "@set", smembersCommand, s("Every member, in byte order", "1.0.0", "O(N)"), roa),
		def("scard", 2, "readonly fast", "@set", scardCommand, s("The number of members", "1.0.0", "O(1)"), ro),
		def("spop", -2, "write fast tip:nondeterministic_output", "@set", spopCommand, s("Remove and return random members", "1.0.0", "O(N) for N members popped"),
			"RW access delete | index 1 | range 0 1 0"),
		def("srandmember", -2, "readonly tip:nondeterministic_output", "@set", srandmemberCommand, s("Random members", "1.0.0", "O(N) for N members returned"), roa),
		def("smove", 4, "write fast", "@set", smoveCommand, s("Move a member to another set", "1.0.0", "O(1)"),
			"RW access delete | index 1 | range 0 1 0", "RW insert | index 2 | range 0 1 0"),
		def("sinter", -2, "readonly tip:nondeterministic_output_order", "@set", setOpCommand, s("The intersection of sets", "1.0.0", "O(N*M) worst case"), all),
		def("sunion", -2, "readonly tip:nondeterministic_output_order", "@set", setOpCommand, s("The union of sets", "1.0.0", "O(N) for N members in all"), all),
		def("sdiff", -2, "readonly tip:nondeterministic_output_order", "@set", setOpCommand, s("The members of the first set in no other", "1.0.0", "O(N) for N members in all"), all),
		def("sinterstore", -3, "write denyoom", "@set", setOpCommand, s("Store the intersection of sets", "1.0.0", "O(N*M) worst case"),
			"RW update | index 1 | range 0 1 0", srcs),
		def("sunionstore", -3, "write denyoom", "@set", setOpCommand, s("Store the union of sets", "1.0.0", "O(N) for N members in all"),
			"OW update | index 1 | range 0 1 0", srcs),
		def("sdiffstore", -3, "write denyoom", "@set", setOpCommand, s("Store the difference of sets", "1.0.0", "O(N) for N members in all"),
			"OW update | index 1 | range 0 1 0", srcs),
		def("sintercard", -3, "readonly movablekeys", "@set", sintercardCommand, s("The size of the intersection of sets", "7.0.0", "O(N*M) worst case"),
			"RO access | index 1 | keynum 0 1 1"),
		def("sscan", -3, "readonly tip:nondeterministic_output", "@set", scanElemsCommand,
			s("Iterate over the members", "2.8.0", "O(1) per call, O(N) for a full iteration"), roa),
	}
}

func saddCommand(c *cmdCtx) {
	var n int
	var err error
	if c.cmd.name == "sadd" {
		n, err = c.ks.Data().SAdd(c.argv[1], c.argv[2:]...)
	} else {
		n, err = c.ks.Data().SRem(c.argv[1], c.argv[2:]...)
	}
	if !c.fail(err) {
		c.w.int(int64(n))
	}
}

func sismemberCommand(c *cmdCtx) {
	ok, err := c.ks.Data().SIsMember(c.argv[1], c.argv[2])
	if !c.fail(err) {
		c.w.int(b2i(ok))
	}
}

func smismemberCommand(c *cmdCtx) {
	oks, err := c.ks.Data().SMIsMember(c.argv[1], c.argv[2:]...)
	if c.fail(err) {
		return
	}
	c.w.array(len(oks))
	for _, ok := range oks {
		c.w.int(b2i(ok))
	}
}

func smembersCommand(c *cmdCtx) {
	ms, err := c.ks.Data().SMembers(c.argv[1])
	if !c.fail(err) {
		c.bulkSet(ms)
	}
}

func scardCommand(c *cmdCtx) {
	n, err := c.ks.Data().SCard(c.argv[1])
	if !c.fail(err) {
		c.w.int(n)
	}
}

func spopCommand(c *cmdCtx) {
	switch {
	case len(c.argv) > 3:
		c.w.err(msgSyntax)
		return
	case len(c.argv) == 2:
		ms, err := c.ks.Data().SPop(c.argv[1], 1)
		switch {
		case c.fail(err):
		case len(ms) == 0:
			c.w.null()
		default:
			c.w.bulk(ms[0])
		}
		return
	}
	n, ok := c.positiveLong(c.argv[2], "")
	if !ok {
		return
	}
	ms, err := c.ks.Data().SPop(c.argv[1], n)
	if !c.fail(err) {
		c.bulkSet(ms)
	}
}

func srandmemberCommand(c *cmdCtx) {
	switch {
	case len(c.argv) > 3:
		c.w.err(msgSyntax)
		return
	case len(c.argv) == 2:
		ms, err := c.ks.Data().SRandMember(c.argv[1], 1)
		switch {
		case c.fail(err):
		case len(ms) == 0:
			c.w.null()
		default:
			c.w.bulk(ms[0])
		}
		return
	}
	n, ok := c.rangeLong(c.argv[2], -math.MaxInt64, math.MaxInt64, "")
	if !ok {
		return
	}
	ms, err := c.ks.Data().SRandMember(c.argv[1], n)
	if !c.fail(err) {
		c.bulks(ms)
	}
}

func smoveCommand(c *cmdCtx) {
	ok, err := c.ks.Data().SMove(c.argv[1], c.argv[2], c.argv[3])
	if !c.fail(err) {
		c.w.int(b2i(ok))
	}
}

// setOpCommand is SINTER, SUNION, SDIFF and their STORE forms.
func setOpCommand(c *cmdCtx) {
	d := c.ks.Data()
	name := c.cmd.name
	if dst, ok := strings.CutSuffix(name, "store"); ok {
		var n int64
		var err error
		switch dst {
		case "sinter":
			n, err = d.SInterStore(c.argv[1], c.argv[2:]...)
		case "sunion":
			n, err = d.SUnionStore(c.argv[1], c.argv[2:]...)
		default:
			n, err = d.SDiffStore(c.argv[1], c.argv[2:]...)
		}
		if !c.fail(err) {
			c.w.int(n)
		}
		return
	}
	var ms [][]byte
	var err error
	switch name {
	case "sinter":
		ms, err = d.SInter(c.argv[1:]...)
	case "sunion":
		ms, err = d.SUnion(c.argv[1:]...)
	default:
		ms, err = d.SDiff(c.argv[1:]...)
	}
	if !c.fail(err) {
		c.bulkSet(ms)
	}
}

func sintercardCommand(c *cmdCtx) {
	n, ok := c.rangeLong(c.argv[1], 1, math.MaxInt64, "ERR numkeys should be greater than 0")
	if !ok {
		return
	}
	if n > int64(len(c.argv)-2) {
		c.w.err("ERR Number of keys can't be greater than number of args")
		return
	}
	var limit int64
	for j := 2 + int(n); j < len(c.argv); j++ {
		if strings.EqualFold(c.arg(j), "limit") && j+1 < len(c.argv) {
			j++
			if limit, ok = c.positiveLong(c.argv[j], "ERR LIMIT can't be negative"); !ok {
				return
			}
			continue
		}
		c.w.err(msgSyntax)
		return
	}
	card, err := c.ks.Data().SInterCard(limit, c.argv[2:2+n]...)
	if !c.fail(err) {
		c.w.int(card)
	}
}

package server

import (
	"math"
	"strings"
)

// LMPOP, BLMPOP, ZMPOP and BZMPOP (Redis 7.0): pop up to COUNT elements
// from the first non-empty of numkeys keys, answering [key, elements], or
// nil when every key is empty; the blocking forms wait as BLPOP does
// (blocking.go). Arguments are checked in the order of Redis's
// lmpopGenericCommand and zmpopGenericCommand: numkeys, the end (LEFT or
// RIGHT, MIN or MAX), the options, then a blocking form's timeout.

func mpopCommands() []*command {
	l := func(s, since, cx string) cmdDoc { return cmdDoc{s, since, "list", cx} }
	z := func(s, since, cx string) cmdDoc { return cmdDoc{s, since, "sorted-set", cx} }
	const (
		keys  = "RW access delete | index 1 | keynum 0 1 1"
		bkeys = "RW access delete | index 2 | keynum 0 1 1"
	)
	return []*command{
		def("lmpop", -4, "write movablekeys", "@list", mpopCommand,
			l("Pop elements from the first non-empty list", "7.0.0", "O(N+M) for N keys and M elements"), keys),
		def("blmpop", -5, "write blocking movablekeys", "@list", mpopCommand,
			l("LMPOP, or wait for an element", "7.0.0", "O(N+M) for N keys and M elements"), bkeys),
		def("zmpop", -4, "write movablekeys", "@sortedset", mpopCommand,
			z("Pop members from the first non-empty sorted set", "7.0.0", "O(K)+O(M*log(N)) for K keys and M members"), keys),
		def("bzmpop", -5, "write blocking movablekeys", "@sortedset", mpopCommand,
			z("ZMPOP, or wait for a member", "7.0.0", "O(K)+O(M*log(N)) for K keys and M members"), bkeys),
	}
}

func mpopCommand(c *cmdCtx) {
	block := c.cmd.name[0] == 'b'
	zset := strings.HasSuffix(c.cmd.name, "zmpop")
	numIdx := 1
	if block {
		numIdx = 2
	}
	numkeys, ok := c.rangeLong(c.argv[numIdx], 1, math.MaxInt64, "ERR numkeys should be greater than 0")
	if !ok {
		return
	}
	if numkeys >= int64(len(c.argv)) {
		c.w.err(msgSyntax)
		return
	}
	whereIdx := numIdx + int(numkeys) + 1
	if whereIdx >= len(c.argv) {
		c.w.err(msgSyntax)
		return
	}
	spec := popSpec{kind: popLMulti, count: -1}
	if zset {
		spec.kind = popZMulti
	}
	switch w := strings.ToLower(c.arg(whereIdx)); {
	case !zset && w == "left", zset && w == "min":
		spec.left = true
	case !zset && w == "right", zset && w == "max":
	default:
		c.w.err(msgSyntax)
		return
	}
	for j := whereIdx + 1; j < len(c.argv); j++ {
		if spec.count == -1 && strings.EqualFold(c.arg(j), "count") && j+1 < len(c.argv) {
			j++
			n, ok := c.rangeLong(c.argv[j], 1, math.MaxInt64, "ERR count should be greater than 0")
			if !ok {
				return
			}
			spec.count = n
			continue
		}
		c.w.err(msgSyntax)
		return
	}
	if spec.count == -1 {
		spec.count = 1
	}
	keys := c.argv[numIdx+1 : whereIdx]
	if !block {
		if !c.popFirst(spec, keys) {
			c.w.nullArray()
		}
		return
	}
	deadline, msg := c.blockingTimeout(c.argv[1])
	if msg != "" {
		c.w.err(msg)
		return
	}
	c.blockingPop(spec, keys, deadline)
}

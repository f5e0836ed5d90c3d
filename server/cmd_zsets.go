package server

import (
	"errors"
	"math"
	"strings"

	"github.com/stratadb/strata/collections"
	"github.com/stratadb/strata/lsm"
)

// Sorted-set commands, carried by the collections package: a score index
// in score order with counted rank nodes above it, so ranks, counts and
// ranges cost a walk of a few nodes plus the members returned. Scores are
// written as Redis writes them (%.17g, "inf"; RESP3 doubles). Argument
// checks and their order follow Redis 7.0's t_zset.c.

func zsetCommands() []*command {
	z := func(s, since, cx string) cmdDoc { return cmdDoc{s, since, "sorted-set", cx} }
	const (
		roa   = "RO access | index 1 | range 0 1 0"
		ro    = "RO | index 1 | range 0 1 0"
		del   = "RW delete | index 1 | range 0 1 0"
		pop   = "RW access delete | index 1 | range 0 1 0"
		dst   = "OW update | index 1 | range 0 1 0"
		srcs  = "RO access | index 2 | keynum 0 1 1"
		bkeys = "RW access delete | index 1 | range -2 1 0"
		logN  = "O(log(N))"
		rng   = "O(log(N)+M) for M members returned"
	)
	return []*command{
		def("zadd", -4, "write denyoom fast", "@sortedset", zaddCommand, z("Add members or update their scores", "1.2.0", "O(log(N)) per member"),
			"RW update | index 1 | range 0 1 0"),
		def("zincrby", 4, "write denyoom fast", "@sortedset", zaddCommand, z("Add to a member's score", "1.2.0", logN),
			"RW access update | index 1 | range 0 1 0"),
		def("zscore", 3, "readonly fast", "@sortedset", zscoreCommand, z("A member's score", "1.2.0", "O(1)"), roa),
		def("zmscore", -3, "readonly fast", "@sortedset", zmscoreCommand, z("The scores of members", "6.2.0", "O(N) for N members"), roa),
		def("zrem", -3, "write fast", "@sortedset", zremCommand, z("Remove members", "1.2.0", "O(M*log(N)) for M members"), del),
		def("zcard", 2, "readonly fast", "@sortedset", zcardCommand, z("The number of members", "1.2.0", "O(1)"), ro),
		def("zcount", 4, "readonly fast", "@sortedset", zcountCommand, z("The number of members in a score range", "2.0.0", logN), roa),
		def("zlexcount", 4, "readonly fast", "@sortedset", zcountCommand, z("The number of members in a member range", "2.8.9", logN), roa),
		def("zrank", 3, "readonly fast", "@sortedset", zrankCommand, z("A member's rank by ascending score", "2.0.0", logN), roa),
		def("zrevrank", 3, "readonly fast", "@sortedset", zrankCommand, z("A member's rank by descending score", "2.0.0", logN), roa),
		def("zrange", -4, "readonly", "@sortedset", zrangeCommand, z("Members by rank, score or member range", "1.2.0", rng), roa),
		def("zrevrange", -4, "readonly", "@sortedset", zrangeCommand, z("Members by rank, highest score first", "1.2.0", rng), roa),
		def("zrangebyscore", -4, "readonly", "@sortedset", zrangeCommand, z("Members in a score range", "1.0.5", rng), roa),
		def("zrevrangebyscore", -4, "readonly", "@sortedset", zrangeCommand, z("Members in a score range, highest first", "2.2.0", rng), roa),
		def("zrangebylex", -4, "readonly", "@sortedset", zrangeCommand, z("Members in a member range", "2.8.9", rng), roa),
		def("zrevrangebylex", -4, "readonly", "@sortedset", zrangeCommand, z("Members in a member range, highest first", "2.8.9", rng), roa),
		def("zpopmin", -2, "write fast", "@sortedset", zpopCommand, z("Remove and return the lowest-scored members", "5.0.0", "O(log(N)*M) for M members"), pop),
		def("zpopmax", -2, "write fast", "@sortedset", zpopCommand, z("Remove and return the highest-scored members", "5.0.0", "O(log(N)*M) for M members"), pop),
		def("bzpopmin", -3, "write noscript blocking fast", "@sortedset", bzpopCommand, z("ZPOPMIN of the first non-empty sorted set, or wait", "5.0.0", logN), bkeys),
		def("bzpopmax", -3, "write noscript blocking fast", "@sortedset", bzpopCommand, z("ZPOPMAX of the first non-empty sorted set, or wait", "5.0.0", logN), bkeys),
		def("zremrangebyrank", 4, "write", "@sortedset", zremrangeCommand, z("Remove members by rank", "2.0.0", "O(log(N)+M) for M members removed"), del),
		def("zremrangebyscore", 4, "write", "@sortedset", zremrangeCommand, z("Remove members by score", "1.2.0", "O(log(N)+M) for M members removed"), del),
		def("zremrangebylex", 4, "write", "@sortedset", zremrangeCommand, z("Remove members by member range", "2.8.9", "O(log(N)+M) for M members removed"), del),
		def("zrandmember", -2, "readonly tip:nondeterministic_output", "@sortedset", zrandmemberCommand,
			z("Random members, with their scores if asked", "6.2.0", "O(N) for N members returned"), roa),
		def("zscan", -3, "readonly tip:nondeterministic_output", "@sortedset", scanElemsCommand,
			z("Iterate over the members and scores", "2.8.0", "O(1) per call, O(N) for a full iteration"), roa),
		def("zunionstore", -4, "write denyoom movablekeys", "@sortedset", zsetOpCommand, z("Store the union of sorted sets", "2.0.0", "O(N)+O(M log(M))"), dst, srcs),
		def("zinterstore", -4, "write denyoom movablekeys", "@sortedset", zsetOpCommand, z("Store the intersection of sorted sets", "2.0.0", "O(N*K)+O(M*log(M)) worst case"), dst, srcs),
		def("zunion", -3, "readonly movablekeys", "@sortedset", zsetOpCommand, z("The union of sorted sets", "6.2.0", "O(N)+O(M*log(M))"),
			"RO access | index 1 | keynum 0 1 1"),
		def("zdiff", -3, "readonly movablekeys", "@sortedset", zsetOpCommand, z("The difference of sorted sets", "6.2.0", "O(L + (N-K)log(N)) worst case"),
			"RO access | index 1 | keynum 0 1 1"),
		def("zdiffstore", -4, "write denyoom movablekeys", "@sortedset", zsetOpCommand, z("Store the difference of sorted sets", "6.2.0", "O(L + (N-K)log(N)) worst case"), dst, srcs),
		def("zintercard", -3, "readonly movablekeys", "@sortedset", zsetOpCommand, z("The size of the intersection of sorted sets", "7.0.0", "O(N*K) worst case"),
			"RO access | index 1 | keynum 0 1 1"),
		def("zrangestore", -5, "write denyoom", "@sortedset", zrangeCommand, z("Store a range of a sorted set", "6.2.0", rng),
			dst, "RO access | index 2 | range 0 1 0"),
		def("zinter", -3, "readonly movablekeys", "@sortedset", zsetOpCommand, z("The intersection of sorted sets", "6.2.0", "O(N*K)+O(M*log(M)) worst case"),
			"RO access | index 1 | keynum 0 1 1"),
	}
}

// zaddCommand is ZADD and ZINCRBY (ZADD INCR), parsed as zaddGenericCommand.
func zaddCommand(c *cmdCtx) {
	var a collections.ZAddArgs
	incr := c.cmd.name == "zincrby"
	i := 2
	if !incr {
	opts:
		for ; i < len(c.argv); i++ {
			switch strings.ToLower(c.arg(i)) {
			case "nx":
				a.NX = true
			case "xx":
				a.XX = true
			case "ch":
				a.CH = true
			case "incr":
				incr = true
			case "gt":
				a.GT = true
			case "lt":
				a.LT = true
			default:
				break opts
			}
		}
	}
	n := len(c.argv) - i
	switch {
	case n%2 != 0 || n == 0:
		c.w.err(msgSyntax)
		return
	case a.NX && a.XX:
		c.w.err(collections.ErrZAddXXNX.Error())
		return
	case (a.GT && a.NX) || (a.LT && a.NX) || (a.GT && a.LT):
		c.w.err(collections.ErrZAddOptions.Error())
		return
	case incr && n > 2:
		c.w.err(collections.ErrZAddIncrPairs.Error())
		return
	}
	zs := make([]collections.Z, 0, n/2)
	for j := i; j < len(c.argv); j += 2 {
		f, ok := c.float(c.argv[j], "")
		if !ok {
			return
		}
		zs = append(zs, collections.Z{Score: f, Member: c.argv[j+1]})
	}
	d := c.ks.Data()
	if incr {
		score, ok, err := d.ZAddIncr(c.argv[1], a, zs[0].Score, zs[0].Member)
		switch {
		case c.fail(err):
		case !ok:
			c.w.null()
		default:
			c.w.double(score)
		}
		return
	}
	added, err := d.ZAdd(c.argv[1], a, zs...)
	if !c.fail(err) {
		c.w.int(added)
	}
}

func zscoreCommand(c *cmdCtx) {
	f, err := c.ks.Data().ZScore(c.argv[1], c.argv[2])
	switch {
	case errors.Is(err, lsm.ErrNotFound):
		c.w.null()
	case !c.fail(err):
		c.w.double(f)
	}
}

func zmscoreCommand(c *cmdCtx) {
	fs, oks, err := c.ks.Data().ZMScore(c.argv[1], c.argv[2:]...)
	if c.fail(err) {
		return
	}
	c.w.array(len(c.argv) - 2)
	for i := range c.argv[2:] {
		if i < len(oks) && oks[i] {
			c.w.double(fs[i])
		} else {
			c.w.null()
		}
	}
}

func zremCommand(c *cmdCtx) {
	n, err := c.ks.Data().ZRem(c.argv[1], c.argv[2:]...)
	if !c.fail(err) {
		c.w.int(n)
	}
}

func zcardCommand(c *cmdCtx) {
	n, err := c.ks.Data().ZCard(c.argv[1])
	if !c.fail(err) {
		c.w.int(n)
	}
}

func zcountCommand(c *cmdCtx) {
	var n int64
	var err error
	if c.cmd.name == "zcount" {
		r, ok := collections.ParseScoreRange(c.argv[2], c.argv[3])
		if !ok {
			c.w.err("ERR min or max is not a float")
			return
		}
		n, err = c.ks.Data().ZCount(c.argv[1], r)
	} else {
		r, ok := collections.ParseLexRange(c.argv[2], c.argv[3])
		if !ok {
			c.w.err("ERR min or max not valid string range item")
			return
		}
		n, err = c.ks.Data().ZLexCount(c.argv[1], r)
	}
	if !c.fail(err) {
		c.w.int(n)
	}
}

func zrankCommand(c *cmdCtx) {
	var n int64
	var err error
	if c.cmd.name == "zrank" {
		n, err = c.ks.Data().ZRank(c.argv[1], c.argv[2])
	} else {
		n, err = c.ks.Data().ZRevRank(c.argv[1], c.argv[2])
	}
	switch {
	case errors.Is(err, lsm.ErrNotFound):
		c.w.null()
	case !c.fail(err):
		c.w.int(n)
	}
}

// zrangeCommand is ZRANGE and its older forms, parsed as Redis 7.0's
// zrangeGenericCommand: options first (each form accepts the ones it does
// not imply), then their conflicts, then the range, then the key.
func zrangeCommand(c *cmdCtx) {
	const auto = 255 // neither given by the command's name nor by an option yet
	by, rev := collections.ZBy(auto), auto
	// ZRANGESTORE dst src ...: ZRANGE's arguments one further, no WITHSCORES.
	store := c.cmd.name == "zrangestore"
	argv := c.argv
	if store {
		argv = c.argv[1:]
	}
	switch c.cmd.name {
	case "zrevrange":
		by, rev = collections.ByRank, 1
	case "zrangebyscore":
		by, rev = collections.ByScore, 0
	case "zrevrangebyscore":
		by, rev = collections.ByScore, 1
	case "zrangebylex":
		by, rev = collections.ByLex, 0
	case "zrevrangebylex":
		by, rev = collections.ByLex, 1
	}
	withScores := false
	var offset, limit int64 = 0, -1
	for j := 4; j < len(argv); j++ {
		left := len(argv) - j - 1
		opt := strings.ToLower(string(argv[j]))
		switch {
		case opt == "withscores" && !store:
			withScores = true
		case opt == "limit" && left >= 2:
			var ok bool
			if offset, ok = c.long(argv[j+1]); !ok {
				return
			}
			if limit, ok = c.long(argv[j+2]); !ok {
				return
			}
			j += 2
		case rev == auto && opt == "rev":
			rev = 1
		case by == auto && opt == "bylex":
			by = collections.ByLex
		case by == auto && opt == "byscore":
			by = collections.ByScore
		default:
			c.w.err(msgSyntax)
			return
		}
	}
	if rev == auto {
		rev = 0
	}
	if by == auto {
		by = collections.ByRank
	}
	if limit != -1 && by == collections.ByRank {
		c.w.err("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
		return
	}
	if withScores && by == collections.ByLex {
		c.w.err("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
		return
	}
	lo, hi := argv[2], argv[3]
	if rev == 1 && by != collections.ByRank {
		lo, hi = hi, lo // given as max, min
	}
	a := collections.ZRangeArgs{By: by, Rev: rev == 1}
	switch by {
	case collections.ByRank:
		var ok bool
		if a.Start, ok = c.long(lo); !ok {
			return
		}
		if a.Stop, ok = c.long(hi); !ok {
			return
		}
	case collections.ByScore:
		r, ok := collections.ParseScoreRange(lo, hi)
		if !ok {
			c.w.err("ERR min or max is not a float")
			return
		}
		a.Score = r
	default:
		r, ok := collections.ParseLexRange(lo, hi)
		if !ok {
			c.w.err("ERR min or max not valid string range item")
			return
		}
		a.Lex = r
	}
	if by != collections.ByRank && (offset != 0 || limit != -1) {
		a.Limit, a.Offset, a.Count = true, offset, limit
	}
	if store {
		if a.Limit && offset < 0 {
			a.Offset, a.Count = 0, 0 // Redis skips "offset" members while offset-- is true: none
		}
		n, err := c.ks.Data().ZRangeStore(c.argv[1], argv[1], a)
		if !c.fail(err) {
			c.w.int(n)
		}
		return
	}
	if a.Limit && offset < 0 {
		// Redis skips "offset" members while offset-- is true: none, but
		// a key of another type is still WRONGTYPE. Elsewhere ZRangeArgs
		// judges the type itself (a missing key is an empty range): one
		// metadata read, not two.
		t, err := c.ks.Type(argv[1])
		switch {
		case c.fail(err):
		case t != KindNone && t != KindZSet:
			c.w.err(msgWrongType)
		default:
			c.w.array(0)
		}
		return
	}
	zs, err := c.ks.Data().ZRangeArgs(argv[1], a)
	if !c.fail(err) {
		c.scores(zs, withScores, true)
	}
}

func zpopCommand(c *cmdCtx) {
	if len(c.argv) > 3 {
		c.w.err(msgSyntax)
		return
	}
	count := int64(-1)
	if len(c.argv) == 3 {
		var ok bool
		if count, ok = c.positiveLong(c.argv[2], ""); !ok {
			return
		}
		if count == 0 {
			if t, err := c.ks.Type(c.argv[1]); c.fail(err) {
				return
			} else if t != KindNone && t != KindZSet {
				c.w.err(msgWrongType)
				return
			}
			c.w.array(0)
			return
		}
	}
	var zs []collections.Z
	var err error
	if c.cmd.name == "zpopmin" {
		zs, err = c.ks.Data().ZPopMin(c.argv[1], max(count, 1))
	} else {
		zs, err = c.ks.Data().ZPopMax(c.argv[1], max(count, 1))
	}
	if !c.fail(err) {
		c.scores(zs, true, count != -1)
	}
}

func bzpopCommand(c *cmdCtx) {
	deadline, msg := c.blockingTimeout(c.argv[len(c.argv)-1])
	if msg != "" {
		c.w.err(msg)
		return
	}
	c.blockingPop(popSpec{kind: popZSet, left: c.cmd.name == "bzpopmin"}, c.argv[1:len(c.argv)-1], deadline)
}

func zremrangeCommand(c *cmdCtx) {
	d := c.ks.Data()
	var n int64
	var err error
	switch c.cmd.name {
	case "zremrangebyrank":
		start, ok := c.long(c.argv[2])
		if !ok {
			return
		}
		stop, ok := c.long(c.argv[3])
		if !ok {
			return
		}
		n, err = d.ZRemRangeByRank(c.argv[1], start, stop)
	case "zremrangebyscore":
		r, ok := collections.ParseScoreRange(c.argv[2], c.argv[3])
		if !ok {
			c.w.err("ERR min or max is not a float")
			return
		}
		n, err = d.ZRemRangeByScore(c.argv[1], r)
	default:
		r, ok := collections.ParseLexRange(c.argv[2], c.argv[3])
		if !ok {
			c.w.err("ERR min or max not valid string range item")
			return
		}
		n, err = d.ZRemRangeByLex(c.argv[1], r)
	}
	if !c.fail(err) {
		c.w.int(n)
	}
}

func zrandmemberCommand(c *cmdCtx) {
	if len(c.argv) == 2 {
		zs, err := c.ks.Data().ZRandMember(c.argv[1], 1)
		switch {
		case c.fail(err):
		case len(zs) == 0:
			c.w.null()
		default:
			c.w.bulk(zs[0].Member)
		}
		return
	}
	n, ok := c.rangeLong(c.argv[2], -math.MaxInt64, math.MaxInt64, "")
	if !ok {
		return
	}
	withScores := false
	if len(c.argv) > 4 || (len(c.argv) == 4 && !strings.EqualFold(c.arg(3), "withscores")) {
		c.w.err(msgSyntax)
		return
	} else if len(c.argv) == 4 {
		withScores = true
		if n < -math.MaxInt64/2 || n > math.MaxInt64/2 {
			c.w.err("ERR value is out of range")
			return
		}
	}
	if n == 0 {
		if t, err := c.ks.Type(c.argv[1]); c.fail(err) {
			return
		} else if t != KindNone && t != KindZSet {
			c.w.err(msgWrongType)
			return
		}
		c.w.array(0)
		return
	}
	zs, err := c.ks.Data().ZRandMember(c.argv[1], n)
	if !c.fail(err) {
		c.scores(zs, withScores, true)
	}
}

// zsetOpCommand is ZUNIONSTORE, ZINTERSTORE, ZUNION and ZINTER, parsed as
// zunionInterDiffGenericCommand: the key count, the keys' types, then
// WEIGHTS, AGGREGATE and WITHSCORES.
func zsetOpCommand(c *cmdCtx) {
	name := c.cmd.name
	store := strings.HasSuffix(name, "store")
	numIdx := 1
	if store {
		numIdx = 2
	}
	n, ok := c.long(c.argv[numIdx])
	if !ok {
		return
	}
	if n < 1 {
		c.w.err("ERR at least 1 input key is needed for '" + name + "' command")
		return
	}
	if n > int64(len(c.argv)-numIdx-1) {
		c.w.err(msgSyntax)
		return
	}
	keys := c.argv[numIdx+1 : numIdx+1+int(n)]
	for _, k := range keys {
		t, err := c.ks.Type(k)
		if c.fail(err) {
			return
		}
		if t != KindNone && t != KindZSet && t != KindSet {
			c.w.err(msgWrongType)
			return
		}
	}
	var a collections.ZStoreArgs
	withScores := false
	diff, card := strings.HasPrefix(name, "zdiff"), name == "zintercard"
	var limit int64
	for j := numIdx + 1 + int(n); j < len(c.argv); {
		left := len(c.argv) - j
		switch opt := strings.ToLower(c.arg(j)); {
		case diff || card:
			if card && opt == "limit" && left >= 2 {
				if limit, ok = c.positiveLong(c.argv[j+1], "ERR LIMIT can't be negative"); !ok {
					return
				}
				j += 2
				continue
			}
			if diff && !store && opt == "withscores" {
				withScores = true
				j++
				continue
			}
			c.w.err(msgSyntax)
			return
		case opt == "weights" && left >= int(n)+1:
			j++
			a.Weights = make([]float64, n)
			for i := range a.Weights {
				f, ok := c.float(c.argv[j], "ERR weight value is not a float")
				if !ok {
					return
				}
				a.Weights[i] = f
				j++
			}
		case opt == "aggregate" && left >= 2:
			switch agg := strings.ToUpper(c.arg(j + 1)); agg {
			case "SUM", "MIN", "MAX":
				a.Aggregate = agg
			default:
				c.w.err(msgSyntax)
				return
			}
			j += 2
		case opt == "withscores" && !store:
			withScores = true
			j++
		default:
			c.w.err(msgSyntax)
			return
		}
	}
	d := c.ks.Data()
	if card {
		n, err := d.ZInterCard(limit, keys...)
		if !c.fail(err) {
			c.w.int(n)
		}
		return
	}
	if store {
		var card int64
		var err error
		switch name {
		case "zunionstore":
			card, err = d.ZUnionStore(c.argv[1], keys, a)
		case "zdiffstore":
			card, err = d.ZDiffStore(c.argv[1], keys)
		default:
			card, err = d.ZInterStore(c.argv[1], keys, a)
		}
		if !c.fail(err) {
			c.w.int(card)
		}
		return
	}
	var zs []collections.Z
	var err error
	switch name {
	case "zunion":
		zs, err = d.ZUnion(keys, a)
	case "zdiff":
		zs, err = d.ZDiff(keys)
	default:
		zs, err = d.ZInter(keys, a)
	}
	if !c.fail(err) {
		c.scores(zs, withScores, true)
	}
}

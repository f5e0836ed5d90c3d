package server

import (
	"strconv"

	"github.com/stratadb/strata/collections"
)

// Argument parsers that answer the errors Redis 7.0's object.c helpers
// answer. Each returns false after writing the error reply.

// long is getLongFromObjectOrReply: a decimal int64.
func (c *cmdCtx) long(arg []byte) (int64, bool) {
	v, ok := parseInt64(arg)
	if !ok {
		c.w.err(msgNotInt)
	}
	return v, ok
}

// rangeLong is getRangeLongFromObjectOrReply: an int64 within [lo, hi].
// msg, when not "", replaces both errors (as the C helper's msg does).
func (c *cmdCtx) rangeLong(arg []byte, lo, hi int64, msg string) (int64, bool) {
	v, ok := parseInt64(arg)
	if !ok {
		if msg == "" {
			msg = msgNotInt
		}
		c.w.err(msg)
		return 0, false
	}
	if v < lo || v > hi {
		if msg == "" {
			msg = "ERR value is out of range, value must between " + strconv.FormatInt(lo, 10) + " and " + strconv.FormatInt(hi, 10)
		}
		c.w.err(msg)
		return 0, false
	}
	return v, true
}

// positiveLong is getPositiveLongFromObjectOrReply: an int64 >= 0.
func (c *cmdCtx) positiveLong(arg []byte, msg string) (int64, bool) {
	if msg == "" {
		msg = "ERR value is out of range, must be positive"
	}
	return c.rangeLong(arg, 0, 1<<63-1, msg)
}

// float is getDoubleFromObjectOrReply: a double as strtod reads it, no
// NaN. msg, when not "", replaces the error.
func (c *cmdCtx) float(arg []byte, msg string) (float64, bool) {
	f, ok := collections.ParseFloat(arg)
	if !ok {
		if msg == "" {
			msg = msgNotFloat
		}
		c.w.err(msg)
	}
	return f, ok
}

// fail writes err's reply unless err is nil, and reports whether it did.
func (c *cmdCtx) fail(err error) bool {
	if err != nil {
		c.errReply(err)
		return true
	}
	return false
}

// bulks writes an array of bulk strings.
func (c *cmdCtx) bulks(vs [][]byte) {
	c.w.array(len(vs))
	for _, v := range vs {
		c.w.bulk(v)
	}
}

// bulkSet writes a set of bulk strings (an array in RESP2).
func (c *cmdCtx) bulkSet(vs [][]byte) {
	c.w.setHeader(len(vs))
	for _, v := range vs {
		c.w.bulk(v)
	}
}

// pairs writes field, value, field, value... as RESP3 writes a
// pair-valued reply with a count: an array of two-element arrays (flat in
// RESP2).
func (c *cmdCtx) pairs(fv [][]byte) {
	if c.w.proto == 3 {
		c.w.array(len(fv) / 2)
		for i := 0; i+1 < len(fv); i += 2 {
			c.w.array(2)
			c.w.bulk(fv[i])
			c.w.bulk(fv[i+1])
		}
		return
	}
	c.bulks(fv)
}

// scores writes members with (withScores) or without their scores: flat
// in RESP2, [member, score] pairs in RESP3 when nested.
func (c *cmdCtx) scores(zs []collections.Z, withScores, nested bool) {
	switch {
	case !withScores:
		c.w.array(len(zs))
		for _, z := range zs {
			c.w.bulk(z.Member)
		}
	case nested && c.w.proto == 3:
		c.w.array(len(zs))
		for _, z := range zs {
			c.w.array(2)
			c.w.bulk(z.Member)
			c.w.double(z.Score)
		}
	default:
		c.w.array(2 * len(zs))
		for _, z := range zs {
			c.w.bulk(z.Member)
			c.w.double(z.Score)
		}
	}
}

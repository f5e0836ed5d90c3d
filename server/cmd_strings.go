package server

import (
	"errors"
	"math"
	"math/big"
	"strings"
	"time"

	"github.com/stratadb/strata/lsm"
)

// String commands. A Redis string is an engine entry: SET k v EX 10 is
// db.Put(k, v, WithTTL(10s)), and SET NX / XX are lsm.IfAbsent /
// lsm.IfPresent, INCR is lsm.Increment (see engineKeyspace).

func stringCommands() []*command {
	str := func(s, since, cx string) cmdDoc { return cmdDoc{s, since, "string", cx} }
	const (
		ro  = "RO access | index 1 | range 0 1 0"
		rwa = "RW access update | index 1 | range 0 1 0"
		ow  = "OW update | index 1 | range 0 1 0"
	)
	return []*command{
		def("get", 2, "readonly fast", "@string", getCommand, str("The value of a key", "1.0.0", "O(1)"), ro),
		def("set", -3, "write denyoom", "@string", setCommand,
			str("Set a key's value, with an optional expiry and condition", "1.0.0", "O(1)"),
			"RW access update variable_flags | index 1 | range 0 1 0"),
		def("setex", 4, "write denyoom", "@string", setexCommand, str("Set a value with an expiry in seconds", "2.0.0", "O(1)"), ow),
		def("psetex", 4, "write denyoom", "@string", setexCommand, str("Set a value with an expiry in milliseconds", "2.6.0", "O(1)"), ow),
		def("setnx", 3, "write denyoom fast", "@string", setnxCommand, str("Set a value if the key is absent", "1.0.0", "O(1)"),
			"OW insert | index 1 | range 0 1 0"),
		def("getset", 3, "write denyoom fast", "@string", getsetCommand, str("Set a value and return the old one", "1.0.0", "O(1)"), rwa),
		def("getdel", 2, "write fast", "@string", getdelCommand, str("Return a value and delete the key", "6.2.0", "O(1)"),
			"RW access delete | index 1 | range 0 1 0"),
		def("getex", -2, "write fast", "@string", getexCommand, str("Return a value and change its expiry", "6.2.0", "O(1)"), rwa),
		def("mget", -2, "readonly fast tip:request_policy:multi_shard", "@string", mgetCommand,
			str("The values of keys", "1.0.0", "O(N) where N is the number of keys"), "RO access | index 1 | range -1 1 0"),
		def("mset", -3, "write denyoom tip:request_policy:multi_shard tip:response_policy:all_succeeded", "@string", msetCommand,
			str("Set keys at once", "1.0.1", "O(N) where N is the number of keys"), "OW update | index 1 | range -1 2 0"),
		def("msetnx", -3, "write denyoom tip:request_policy:multi_shard tip:response_policy:agg_min", "@string", msetCommand,
			str("Set keys at once if none exists", "1.0.1", "O(N) where N is the number of keys"), "OW insert | index 1 | range -1 2 0"),
		def("append", 3, "write denyoom fast", "@string", appendCommand, str("Append to a value", "2.0.0", "O(1) amortized, O(N) here: the value is rewritten"),
			"RW insert | index 1 | range 0 1 0"),
		def("strlen", 2, "readonly fast", "@string", strlenCommand, str("The length of a value", "2.2.0", "O(1)"), "RO | index 1 | range 0 1 0"),
		def("getrange", 4, "readonly", "@string", getrangeCommand, str("A substring of a value", "2.4.0", "O(N) where N is the length returned"), ro),
		def("substr", 4, "readonly", "@string", getrangeCommand, str("A substring of a value (old name of GETRANGE)", "1.0.0", "O(N) where N is the length returned"), ro),
		def("setrange", 4, "write denyoom", "@string", setrangeCommand, str("Overwrite part of a value", "2.2.0", "O(N) where N is the value's length"),
			"RW update | index 1 | range 0 1 0"),
		def("incr", 2, "write denyoom fast", "@string", incrCommand, str("Add one to an integer value", "1.0.0", "O(1)"), rwa),
		def("decr", 2, "write denyoom fast", "@string", incrCommand, str("Subtract one from an integer value", "1.0.0", "O(1)"), rwa),
		def("incrby", 3, "write denyoom fast", "@string", incrCommand, str("Add to an integer value", "1.0.0", "O(1)"), rwa),
		def("decrby", 3, "write denyoom fast", "@string", incrCommand, str("Subtract from an integer value", "1.0.0", "O(1)"), rwa),
		def("incrbyfloat", 3, "write denyoom fast", "@string", incrbyfloatCommand, str("Add to a floating point value", "2.6.0", "O(1)"), rwa),
	}
}

// maxString is the largest value a command may build: Redis's
// proto-max-bulk-len, bounded by what the engine stores.
func (c *cmdCtx) maxString() int64 { return min(c.s.maxBulk.Load(), lsm.MaxValueSize) }

// get reads a string for a read command, counting the hit or miss.
func (c *cmdCtx) get(key []byte) ([]byte, bool, error) {
	v, err := c.ks.Get(key)
	if errors.Is(err, lsm.ErrNotFound) {
		c.s.stats.hit(false)
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	c.s.stats.hit(true)
	return v, true, nil
}

// getCommand reads the value into the reply writer's scratch buffer, so a
// GET allocates nothing (TestRESPPathAllocs).
func getCommand(c *cmdCtx) {
	v, err := c.ks.GetAppend(c.w.scratch[:0], c.argv[1])
	switch {
	case errors.Is(err, lsm.ErrNotFound):
		c.s.stats.hit(false)
		c.w.null()
	case err != nil:
		c.errReply(err)
	default:
		c.s.stats.hit(true)
		c.w.bulk(v)
		c.w.keepScratch(v)
	}
}

// Flags of SET and GETEX.
const (
	setNX = 1 << iota
	setXX
	setGet
	setKeepTTL
	setPersist
	setEX
	setPX
	setEXAT
	setPXAT
)

const setExpiryFlags = setEX | setPX | setEXAT | setPXAT

// parseSetArgs parses SET's (forGet false) or GETEX's options as Redis's
// parseExtendedStringArgumentsOrReply does, and returns the flags and the
// expiry argument.
func parseSetArgs(args [][]byte, forGet bool) (flags int, expire []byte, ok bool) {
	for j := 0; j < len(args); j++ {
		opt := strings.ToLower(string(args[j]))
		hasNext := j+1 < len(args)
		switch {
		case opt == "nx" && flags&setXX == 0 && !forGet:
			flags |= setNX
		case opt == "xx" && flags&setNX == 0 && !forGet:
			flags |= setXX
		case opt == "get" && !forGet:
			flags |= setGet
		case opt == "keepttl" && flags&(setPersist|setExpiryFlags) == 0 && !forGet:
			flags |= setKeepTTL
		case opt == "persist" && forGet && flags&(setExpiryFlags|setKeepTTL) == 0:
			flags |= setPersist
		case opt == "ex" && flags&(setKeepTTL|setPersist|setEXAT|setPX|setPXAT) == 0 && hasNext:
			flags |= setEX
			expire = args[j+1]
			j++
		case opt == "px" && flags&(setKeepTTL|setPersist|setEX|setEXAT|setPXAT) == 0 && hasNext:
			flags |= setPX
			expire = args[j+1]
			j++
		case opt == "exat" && flags&(setKeepTTL|setPersist|setEX|setPX|setPXAT) == 0 && hasNext:
			flags |= setEXAT
			expire = args[j+1]
			j++
		case opt == "pxat" && flags&(setKeepTTL|setPersist|setEX|setEXAT|setPX) == 0 && hasNext:
			flags |= setPXAT
			expire = args[j+1]
			j++
		default:
			return 0, nil, false
		}
	}
	return flags, expire, true
}

// expireMillis turns an EX/PX/EXAT/PXAT argument into a Unix time in
// milliseconds, as getExpireMillisecondsOrReply does; "" when valid, else
// the error.
func (c *cmdCtx) expireMillis(arg []byte, flags int) (int64, string) {
	ms, ok := parseInt64(arg)
	if !ok {
		return 0, msgNotInt
	}
	bad := "ERR invalid expire time in '" + c.cmd.name + "' command"
	seconds := flags&(setEX|setEXAT) != 0
	if ms <= 0 || (seconds && ms > math.MaxInt64/1000) {
		return 0, bad
	}
	if seconds {
		ms *= 1000
	}
	if flags&(setEX|setPX) != 0 {
		base := c.nowMs()
		if ms > math.MaxInt64-base {
			return 0, bad
		}
		ms += base
	}
	return ms, ""
}

func setCommand(c *cmdCtx) {
	flags, expire, ok := parseSetArgs(c.argv[3:], false)
	if !ok {
		c.w.err(msgSyntax)
		return
	}
	c.set(c.argv[1], c.argv[2], flags, expire, nil)
}

// set is SET and its variants. okReply, when set, replaces +OK (SETNX's 1).
func (c *cmdCtx) set(key, value []byte, flags int, expire []byte, okReply func(bool)) {
	o := SetOpts{KeepTTL: flags&setKeepTTL != 0}
	if expire != nil {
		ms, msg := c.expireMillis(expire, flags)
		if msg != "" {
			c.w.err(msg)
			return
		}
		o.Expire = time.UnixMilli(ms)
		if ms <= c.nowMs() {
			o.Expire = time.Unix(1, 0) // already past: the key is deleted
		}
	}
	if flags&setNX != 0 {
		o.Cond = CondAbsent
	} else if flags&setXX != 0 {
		o.Cond = CondPresent
	}
	var old []byte
	hadOld := false
	if flags&setGet != 0 {
		v, err := c.ks.Get(key)
		switch {
		case errors.Is(err, lsm.ErrNotFound):
		case err != nil:
			c.errReply(err)
			return
		default:
			old, hadOld = v, true
		}
	}
	done, err := c.ks.Set(key, value, o)
	switch {
	case err != nil:
		c.errReply(err)
	case flags&setGet != 0 && hadOld:
		c.w.bulk(old)
	case flags&setGet != 0:
		c.w.null()
	case okReply != nil:
		okReply(done)
	case done:
		c.w.ok()
	default:
		c.w.null()
	}
}

func setexCommand(c *cmdCtx) {
	flags := setEX
	if c.cmd.name == "psetex" {
		flags = setPX
	}
	c.set(c.argv[1], c.argv[3], flags, c.argv[2], nil)
}

func setnxCommand(c *cmdCtx) {
	c.set(c.argv[1], c.argv[2], setNX, nil, func(done bool) { c.w.int(b2i(done)) })
}

func getsetCommand(c *cmdCtx) { c.set(c.argv[1], c.argv[2], setGet, nil, nil) }

func getdelCommand(c *cmdCtx) {
	v, ok, err := c.get(c.argv[1])
	if err != nil {
		c.errReply(err)
		return
	}
	if !ok {
		c.w.null()
		return
	}
	if _, err := c.ks.Delete(c.argv[1]); err != nil {
		c.errReply(err)
		return
	}
	c.w.bulk(v)
}

func getexCommand(c *cmdCtx) {
	flags, expire, ok := parseSetArgs(c.argv[2:], true)
	if !ok {
		c.w.err(msgSyntax)
		return
	}
	v, found, err := c.get(c.argv[1])
	if err != nil {
		c.errReply(err)
		return
	}
	if !found {
		c.w.null()
		return
	}
	var ms int64
	if expire != nil {
		var msg string
		if ms, msg = c.expireMillis(expire, flags); msg != "" {
			c.w.err(msg)
			return
		}
	}
	switch {
	case expire != nil:
		at := time.UnixMilli(ms)
		if ms <= c.nowMs() {
			at = time.Unix(1, 0)
		}
		_, err = c.ks.SetExpiry(c.argv[1], at)
	case flags&setPersist != 0:
		var exp time.Time
		if exp, _, err = c.ks.Expiry(c.argv[1]); err == nil && !exp.IsZero() {
			_, err = c.ks.SetExpiry(c.argv[1], time.Time{})
		}
	}
	if err != nil {
		c.errReply(err)
		return
	}
	c.w.bulk(v)
}

func mgetCommand(c *cmdCtx) {
	// One operation over every key: atomic against MSET and EXEC.
	vals, err := c.ks.Data().MGet(c.argv[1:]...)
	if err != nil {
		c.errReply(err)
		return
	}
	c.w.array(len(vals))
	for _, v := range vals {
		c.s.stats.hit(v != nil)
		if v != nil {
			c.w.bulk(v)
		} else {
			c.w.null()
		}
	}
}

func msetCommand(c *cmdCtx) {
	if len(c.argv)%2 == 0 {
		c.w.err(wrongArgs(c.cmd.name))
		return
	}
	nx := c.cmd.name == "msetnx"
	ok, err := c.ks.MSet(c.argv[1:], nx)
	switch {
	case err != nil:
		c.errReply(err)
	case nx:
		c.w.int(b2i(ok))
	default:
		c.w.ok()
	}
}

func appendCommand(c *cmdCtx) {
	v, err := c.ks.Get(c.argv[1])
	if err != nil && !errors.Is(err, lsm.ErrNotFound) {
		c.errReply(err)
		return
	}
	if int64(len(v)+len(c.argv[2])) > c.maxString() {
		c.w.err(msgStringLimit)
		return
	}
	nv := make([]byte, 0, len(v)+len(c.argv[2]))
	nv = append(append(nv, v...), c.argv[2]...)
	if _, err := c.ks.Set(c.argv[1], nv, SetOpts{KeepTTL: true}); err != nil {
		c.errReply(err)
		return
	}
	c.w.int(int64(len(nv)))
}

func strlenCommand(c *cmdCtx) {
	v, _, err := c.get(c.argv[1])
	if err != nil {
		c.errReply(err)
		return
	}
	c.w.int(int64(len(v)))
}

func getrangeCommand(c *cmdCtx) {
	start, ok1 := parseInt64(c.argv[2])
	end, ok2 := parseInt64(c.argv[3])
	if !ok1 || !ok2 {
		c.w.err(msgNotInt)
		return
	}
	if start < 0 && end < 0 && start > end {
		c.w.bulkString("")
		return
	}
	v, _, err := c.get(c.argv[1])
	if err != nil {
		c.errReply(err)
		return
	}
	n := int64(len(v))
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	start, end = max(start, 0), max(end, 0)
	if end >= n {
		end = n - 1
	}
	if start > end || n == 0 {
		c.w.bulkString("")
		return
	}
	c.w.bulk(v[start : end+1])
}

func setrangeCommand(c *cmdCtx) {
	off, ok := parseInt64(c.argv[2])
	if !ok {
		c.w.err(msgNotInt)
		return
	}
	if off < 0 {
		c.w.err("ERR offset is out of range")
		return
	}
	val := c.argv[3]
	v, err := c.ks.Get(c.argv[1])
	exists := err == nil
	if err != nil && !errors.Is(err, lsm.ErrNotFound) {
		c.errReply(err)
		return
	}
	if len(val) == 0 {
		c.w.int(int64(len(v)))
		return
	}
	if off+int64(len(val)) > c.maxString() {
		c.w.err(msgStringLimit)
		return
	}
	size := max(int64(len(v)), off+int64(len(val)))
	nv := make([]byte, size)
	copy(nv, v)
	copy(nv[off:], val)
	o := SetOpts{KeepTTL: exists}
	if _, err := c.ks.Set(c.argv[1], nv, o); err != nil {
		c.errReply(err)
		return
	}
	c.w.int(size)
}

func incrCommand(c *cmdCtx) {
	delta, msg := counterDelta(c.cmd.name, c.argv)
	if msg != "" {
		c.w.err(msg)
		return
	}
	n, err := c.ks.IncrBy(c.argv[1], delta)
	if err != nil {
		c.errReply(err)
		return
	}
	c.w.int(n)
}

// counterDelta returns what INCR, DECR, INCRBY or DECRBY (name) adds, or
// the error reply of an increment that does not parse.
func counterDelta(name string, argv [][]byte) (int64, string) {
	switch name {
	case "incr":
		return 1, ""
	case "decr":
		return -1, ""
	}
	d, ok := parseInt64(argv[2])
	if !ok {
		return 0, msgNotInt
	}
	if name == "decrby" {
		if d == math.MinInt64 {
			return 0, "ERR decrement would overflow"
		}
		d = -d
	}
	return d, ""
}

// longDouble is the precision of the x86 long double Redis computes
// INCRBYFLOAT in: a 64-bit mantissa.
const longDouble = 64

// parseLongDouble reads a number as Redis's string2ld (strtold) does:
// decimal or hexadecimal floats, "inf" and "infinity"; no blanks, no NaN,
// nothing outside the long double range.
func parseLongDouble(b []byte) (*big.Float, bool) {
	// strtold stops at a NUL byte, and string2ld then finds it did not
	// read the whole string: a NUL anywhere makes no number.
	s := string(b)
	if len(b) == 0 || len(b) >= 5*1024 || isSpace(s[0]) || strings.IndexByte(s, 0) >= 0 {
		return nil, false
	}
	body := strings.TrimLeft(s, "+-")
	if len(s)-len(body) > 1 {
		return nil, false
	}
	neg := strings.HasPrefix(s, "-")
	switch strings.ToLower(body) {
	case "inf", "infinity":
		return new(big.Float).SetInf(neg), true
	}
	if !validFloatSyntax(body) {
		return nil, false
	}
	f, _, err := big.ParseFloat(s, 0, longDouble, big.ToNearestEven)
	if err != nil {
		return nil, false
	}
	if f.Sign() != 0 {
		exp := f.MantExp(nil)
		if exp > 16384 || exp < -16444 { // overflow, or underflow to zero
			return nil, false
		}
	}
	return f, true
}

// validFloatSyntax accepts what strtold reads in full: digits with an
// optional point and exponent, or 0x hex digits with an optional point and
// binary exponent.
func validFloatSyntax(s string) bool {
	hex := len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')
	if hex {
		s = s[2:]
	}
	digit := func(c byte) bool {
		if hex {
			return isHex(c)
		}
		return c >= '0' && c <= '9'
	}
	i, n := 0, 0
	for i < len(s) && digit(s[i]) {
		i, n = i+1, n+1
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && digit(s[i]) {
			i, n = i+1, n+1
		}
	}
	if n == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E' || s[i] == 'p' || s[i] == 'P') {
		if (s[i] == 'p' || s[i] == 'P') != hex {
			return false
		}
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		m := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i, m = i+1, m+1
		}
		if m == 0 {
			return false
		}
	}
	return i == len(s)
}

// formatLongDouble is Redis's ld2string in LD_STR_HUMAN mode: "%.17Lf"
// without trailing zeros.
func formatLongDouble(f *big.Float) string {
	s := f.Text('f', 17)
	if strings.IndexByte(s, '.') >= 0 {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

func incrbyfloatCommand(c *cmdCtx) {
	incr, ok := parseLongDouble(c.argv[2])
	if !ok {
		c.w.err(msgNotFloat)
		return
	}
	v, err := c.ks.Get(c.argv[1])
	exists := err == nil
	if err != nil && !errors.Is(err, lsm.ErrNotFound) {
		c.errReply(err)
		return
	}
	cur := new(big.Float).SetPrec(longDouble)
	if exists {
		p, ok := parseLongDouble(v)
		if !ok {
			c.w.err(msgNotFloat)
			return
		}
		cur = p
	}
	if cur.IsInf() || incr.IsInf() {
		c.w.err("ERR increment would produce NaN or Infinity")
		return
	}
	sum := new(big.Float).SetPrec(longDouble).SetMode(big.ToNearestEven).Add(cur, incr)
	if sum.Sign() != 0 && sum.MantExp(nil) > 16384 {
		c.w.err("ERR increment would produce NaN or Infinity")
		return
	}
	out := formatLongDouble(sum)
	if _, err := c.ks.Set(c.argv[1], []byte(out), SetOpts{KeepTTL: exists}); err != nil {
		c.errReply(err)
		return
	}
	c.w.bulkString(out)
}

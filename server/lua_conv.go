package server

import (
	"errors"
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// Conversions between Lua values and replies, as Redis 7.0 makes them.
//
// Lua to reply (a script's return value):
//
//	string           bulk string
//	number           integer, truncated (1.9 -> 1)
//	true / false     :1 / null (RESP3 with setresp(3): #t / #f)
//	{err = "..."}    error reply;  {ok = "..."}  status reply
//	{double = n}, {map = t}, {set = t}, {big_number = s}, {verbatim_string = t}
//	                 the RESP3 types (RESP2 carries them as Redis does)
//	other tables     array of t[1], t[2], ... up to the first nil
//	nil, others      null
//
// Reply to Lua (what redis.call returns):
//
//	integer -> number; bulk -> string; null bulk or array -> false;
//	array -> table; status -> {ok = s}; error -> {err = s} (redis.call
//	raises it); RESP3 (setresp(3)): null -> nil, boolean -> boolean,
//	double -> {double = n}, map -> {map = t}, set -> {set = t},
//	big number -> {big_number = s}, verbatim -> {verbatim_string = t}.

const maxLuaReplyDepth = 1000

// luaToReply writes v as the reply of a script. resp is the script's
// redis.setresp; nulls follow the caller's protocol (w.proto).
func luaToReply(w *replyWriter, v lua.LValue, resp, depth int) {
	if depth > maxLuaReplyDepth {
		w.err("ERR reached lua stack limit")
		return
	}
	switch v := v.(type) {
	case lua.LString:
		w.bulkString(string(v))
	case lua.LBool:
		switch {
		case resp == 3:
			w.boolean(bool(v))
		case bool(v):
			w.int(1)
		default:
			w.null()
		}
	case lua.LNumber:
		w.int(luaToInt(float64(v)))
	case *lua.LTable:
		if e, ok := v.RawGetString("err").(lua.LString); ok {
			w.err(string(e))
			return
		}
		if s, ok := v.RawGetString("ok").(lua.LString); ok {
			w.simple(strings.NewReplacer("\r", " ", "\n", " ").Replace(string(s)))
			return
		}
		if d, ok := v.RawGetString("double").(lua.LNumber); ok {
			w.double(float64(d))
			return
		}
		if s, ok := v.RawGetString("big_number").(lua.LString); ok {
			b := strings.NewReplacer("\r", " ", "\n", " ").Replace(string(s))
			if w.proto == 3 {
				w.line('(', b)
			} else {
				w.bulkString(b)
			}
			return
		}
		if t, ok := v.RawGetString("verbatim_string").(*lua.LTable); ok {
			str := lua.LVAsString(t.RawGetString("string"))
			format := lua.LVAsString(t.RawGetString("format"))
			if w.proto == 3 {
				w.header('=', int64(len(str)+4))
				w.b = append(w.b, (format + "   ")[:3]...)
				w.b = append(w.b, ':')
				w.b = append(w.b, str...)
				w.b = append(w.b, '\r', '\n')
			} else {
				w.bulkString(str)
			}
			return
		}
		if m, ok := v.RawGetString("map").(*lua.LTable); ok {
			var pairs []lua.LValue
			m.ForEach(func(k, val lua.LValue) { pairs = append(pairs, k, val) })
			w.mapHeader(len(pairs) / 2)
			for _, p := range pairs {
				luaToReply(w, p, resp, depth+1)
			}
			return
		}
		if s, ok := v.RawGetString("set").(*lua.LTable); ok {
			var members []lua.LValue
			s.ForEach(func(k, _ lua.LValue) { members = append(members, k) })
			w.setHeader(len(members))
			for _, m := range members {
				luaToReply(w, m, resp, depth+1)
			}
			return
		}
		n := 0
		for v.RawGetInt(n+1) != lua.LNil {
			n++
		}
		w.array(n)
		for i := 1; i <= n; i++ {
			luaToReply(w, v.RawGetInt(i), resp, depth+1)
		}
	default:
		w.null()
	}
}

// luaToInt is C's (long long) cast on x86: truncation, and the minimum for
// NaN and values out of range.
func luaToInt(f float64) int64 {
	if math.IsNaN(f) || f >= 1<<63 || f < -(1<<63) {
		return math.MinInt64
	}
	return int64(f)
}

var errBadReply = errors.New("bad reply from a command")

// replyToLua converts one encoded reply to a Lua value.
func replyToLua(L *lua.LState, b []byte, _ bool) (lua.LValue, error) {
	v, rest, err := parseLuaValue(L, b, 0)
	if err == nil && len(rest) != 0 {
		err = errBadReply
	}
	return v, err
}

func replyLine(b []byte) (string, []byte, error) {
	i := strings.Index(string(b), "\r\n")
	if i < 1 {
		return "", nil, errBadReply
	}
	return string(b[1:i]), b[i+2:], nil
}

func parseLuaValue(L *lua.LState, b []byte, depth int) (lua.LValue, []byte, error) {
	if depth > maxLuaReplyDepth {
		return nil, nil, errBadReply
	}
	line, rest, err := replyLine(b)
	if err != nil {
		return nil, nil, err
	}
	table := func(field string, v lua.LValue) *lua.LTable {
		t := L.NewTable()
		t.RawSetString(field, v)
		return t
	}
	switch b[0] {
	case ':':
		n, err := strconv.ParseInt(line, 10, 64)
		return lua.LNumber(n), rest, err
	case '+':
		return table("ok", lua.LString(line)), rest, nil
	case '-':
		return table("err", lua.LString(line)), rest, nil
	case '$', '=':
		n, err := strconv.Atoi(line)
		if err != nil {
			return nil, nil, errBadReply
		}
		if n < 0 {
			return lua.LFalse, rest, nil
		}
		if len(rest) < n+2 {
			return nil, nil, errBadReply
		}
		s := string(rest[:n])
		rest = rest[n+2:]
		if b[0] == '=' {
			vt := L.NewTable()
			if len(s) >= 4 {
				vt.RawSetString("format", lua.LString(s[:3]))
				s = s[4:]
			}
			vt.RawSetString("string", lua.LString(s))
			return table("verbatim_string", vt), rest, nil
		}
		return lua.LString(s), rest, nil
	case '*', '~', '%':
		n, err := strconv.Atoi(line)
		if err != nil {
			return nil, nil, errBadReply
		}
		if n < 0 {
			return lua.LFalse, rest, nil
		}
		t := L.NewTable()
		for i := 0; i < n; i++ {
			var k, v lua.LValue
			if k, rest, err = parseLuaValue(L, rest, depth+1); err != nil {
				return nil, nil, err
			}
			switch b[0] {
			case '*':
				t.RawSetInt(i+1, k)
			case '~':
				t.RawSet(k, lua.LTrue)
			case '%':
				if v, rest, err = parseLuaValue(L, rest, depth+1); err != nil {
					return nil, nil, err
				}
				t.RawSet(k, v)
			}
		}
		switch b[0] {
		case '~':
			return table("set", t), rest, nil
		case '%':
			return table("map", t), rest, nil
		}
		return t, rest, nil
	case '_':
		return lua.LNil, rest, nil
	case '#':
		return lua.LBool(line == "t"), rest, nil
	case ',':
		f, err := strconv.ParseFloat(line, 64)
		if err != nil {
			switch line {
			case "inf":
				f = math.Inf(1)
			case "-inf":
				f = math.Inf(-1)
			default:
				return nil, nil, errBadReply
			}
		}
		return table("double", lua.LNumber(f)), rest, nil
	case '(':
		return table("big_number", lua.LString(line)), rest, nil
	}
	return nil, nil, errBadReply
}

package server

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"
)

// cjson for scripts: encode and decode as Redis's bundled lua-cjson does
// with its default settings (numbers with 14 significant digits, '/'
// escaped, empty tables as {}, sparse arrays refused, 1000 levels of
// nesting).

const cjsonMaxDepth = 1000

func cjsonTable(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	null := L.NewUserData() // cjson.null: a unique value
	t.RawSetString("null", null)
	t.RawSetString("encode", L.NewFunction(func(L *lua.LState) int {
		if L.GetTop() != 1 {
			raiseString(L, "bad argument #1 to 'encode' (expected 1 argument)")
		}
		var b strings.Builder
		if msg := cjsonEncode(&b, L.Get(1), null, 0); msg != "" {
			raiseString(L, msg)
		}
		L.Push(lua.LString(b.String()))
		return 1
	}))
	t.RawSetString("decode", L.NewFunction(func(L *lua.LState) int {
		if L.GetTop() != 1 {
			raiseString(L, "bad argument #1 to 'decode' (expected 1 argument)")
		}
		d := &jsonDecoder{L: L, s: L.CheckString(1), null: null}
		v, msg := d.value(0)
		if msg == "" {
			d.space()
			if d.i < len(d.s) {
				msg = d.fail("the end")
			}
		}
		if msg != "" {
			raiseString(L, msg)
		}
		L.Push(v)
		return 1
	}))
	for _, name := range []string{"encode_keep_buffer", "encode_max_depth", "decode_max_depth", "encode_invalid_numbers",
		"decode_invalid_numbers", "encode_sparse_array", "encode_number_precision"} {
		t.RawSetString(name, L.NewFunction(func(L *lua.LState) int { return 0 }))
	}
	t.RawSetString("new", L.NewFunction(func(L *lua.LState) int { L.Push(t); return 1 }))
	t.RawSetString("_NAME", lua.LString("cjson"))
	t.RawSetString("_VERSION", lua.LString("2.1.0"))
	return t
}

func cjsonEncode(b *strings.Builder, v lua.LValue, null lua.LValue, depth int) string {
	switch v := v.(type) {
	case *lua.LNilType:
		b.WriteString("null")
	case lua.LBool:
		b.WriteString(strconv.FormatBool(bool(v)))
	case lua.LNumber:
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return "Cannot serialise number: must not be NaN or Inf"
		}
		b.WriteString(fmt.Sprintf("%.14g", f))
	case lua.LString:
		jsonQuote(b, string(v))
	case *lua.LTable:
		if depth+1 > cjsonMaxDepth {
			return fmt.Sprintf("Cannot serialise, excessive nesting (%d)", depth+1)
		}
		n, isArray, msg := arrayLength(v)
		if msg != "" {
			return msg
		}
		if isArray && n > 0 {
			b.WriteByte('[')
			for i := 1; i <= n; i++ {
				if i > 1 {
					b.WriteByte(',')
				}
				if msg := cjsonEncode(b, v.RawGetInt(i), null, depth+1); msg != "" {
					return msg
				}
			}
			b.WriteByte(']')
			return ""
		}
		b.WriteByte('{')
		first := true
		var fail string
		v.ForEach(func(k, val lua.LValue) {
			if fail != "" {
				return
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			switch k := k.(type) {
			case lua.LString:
				jsonQuote(b, string(k))
			case lua.LNumber:
				jsonQuote(b, fmt.Sprintf("%.14g", float64(k)))
			default:
				fail = "Cannot serialise table: table key must be a number or string"
				return
			}
			b.WriteByte(':')
			fail = cjsonEncode(b, val, null, depth+1)
		})
		if fail != "" {
			return fail
		}
		b.WriteByte('}')
	default:
		if v == null {
			b.WriteString("null")
			return ""
		}
		return "Cannot serialise " + v.Type().String() + ": type not supported"
	}
	return ""
}

// arrayLength is lua-cjson's test: a table whose keys are all positive
// integers is an array of its largest key, unless it is excessively sparse
// (largest key over 10 and over twice the number of keys).
func arrayLength(t *lua.LTable) (n int, isArray bool, msg string) {
	max, count := 0, 0
	isArray = true
	t.ForEach(func(k, _ lua.LValue) {
		num, ok := k.(lua.LNumber)
		if !ok || float64(num) < 1 || float64(num) != math.Floor(float64(num)) {
			isArray = false
			return
		}
		if int(num) > max {
			max = int(num)
		}
		count++
	})
	if !isArray {
		return 0, false, ""
	}
	if max > count && max > 10 && max > 2*count {
		return 0, false, "Cannot serialise table: excessively sparse array"
	}
	return max, true, ""
}

func jsonQuote(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '/':
			b.WriteString(`\/`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < 0x20 || c == 0x7f {
				fmt.Fprintf(b, `\u%04x`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
}

type jsonDecoder struct {
	L    *lua.LState
	s    string
	i    int
	null lua.LValue
}

func (d *jsonDecoder) space() {
	for d.i < len(d.s) && (d.s[d.i] == ' ' || d.s[d.i] == '\t' || d.s[d.i] == '\n' || d.s[d.i] == '\r') {
		d.i++
	}
}

func (d *jsonDecoder) fail(what string) string {
	found := "T_END"
	if d.i < len(d.s) {
		found = "invalid token"
	}
	return fmt.Sprintf("Expected %s but found %s at character %d", what, found, d.i+1)
}

func (d *jsonDecoder) value(depth int) (lua.LValue, string) {
	if depth > cjsonMaxDepth {
		return nil, fmt.Sprintf("Found too many nested data structures (%d) at character %d", depth, d.i+1)
	}
	d.space()
	if d.i >= len(d.s) {
		return nil, d.fail("value")
	}
	switch c := d.s[d.i]; {
	case c == '{':
		d.i++
		t := d.L.NewTable()
		d.space()
		if d.i < len(d.s) && d.s[d.i] == '}' {
			d.i++
			return t, ""
		}
		for {
			d.space()
			if d.i >= len(d.s) || d.s[d.i] != '"' {
				return nil, d.fail("object key string")
			}
			k, msg := d.str()
			if msg != "" {
				return nil, msg
			}
			d.space()
			if d.i >= len(d.s) || d.s[d.i] != ':' {
				return nil, d.fail("colon")
			}
			d.i++
			v, msg := d.value(depth + 1)
			if msg != "" {
				return nil, msg
			}
			t.RawSetString(k, v)
			d.space()
			if d.i < len(d.s) && d.s[d.i] == ',' {
				d.i++
				continue
			}
			if d.i < len(d.s) && d.s[d.i] == '}' {
				d.i++
				return t, ""
			}
			return nil, d.fail("comma or object end")
		}
	case c == '[':
		d.i++
		t := d.L.NewTable()
		d.space()
		if d.i < len(d.s) && d.s[d.i] == ']' {
			d.i++
			return t, ""
		}
		for n := 1; ; n++ {
			v, msg := d.value(depth + 1)
			if msg != "" {
				return nil, msg
			}
			t.RawSetInt(n, v)
			d.space()
			if d.i < len(d.s) && d.s[d.i] == ',' {
				d.i++
				continue
			}
			if d.i < len(d.s) && d.s[d.i] == ']' {
				d.i++
				return t, ""
			}
			return nil, d.fail("comma or array end")
		}
	case c == '"':
		s, msg := d.str()
		return lua.LString(s), msg
	case strings.HasPrefix(d.s[d.i:], "true"):
		d.i += 4
		return lua.LTrue, ""
	case strings.HasPrefix(d.s[d.i:], "false"):
		d.i += 5
		return lua.LFalse, ""
	case strings.HasPrefix(d.s[d.i:], "null"):
		d.i += 4
		return d.null, ""
	case c == '-' || (c >= '0' && c <= '9'):
		j := d.i
		for j < len(d.s) && strings.IndexByte("+-0123456789.eE", d.s[j]) >= 0 {
			j++
		}
		f, err := strconv.ParseFloat(d.s[d.i:j], 64)
		if err != nil {
			return nil, d.fail("value")
		}
		d.i = j
		return lua.LNumber(f), ""
	}
	return nil, d.fail("value")
}

func (d *jsonDecoder) str() (string, string) {
	d.i++ // the opening quote
	var b strings.Builder
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			d.i++
			return b.String(), ""
		case c == '\\':
			if d.i+1 >= len(d.s) {
				return "", d.fail("string end")
			}
			e := d.s[d.i+1]
			d.i += 2
			switch e {
			case '"', '\\', '/':
				b.WriteByte(e)
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				if d.i+4 > len(d.s) {
					return "", d.fail("unicode escape")
				}
				r, err := strconv.ParseUint(d.s[d.i:d.i+4], 16, 32)
				if err != nil {
					return "", d.fail("unicode escape")
				}
				d.i += 4
				if r >= 0xD800 && r < 0xDC00 && strings.HasPrefix(d.s[d.i:], `\u`) && d.i+6 <= len(d.s) {
					if lo, err := strconv.ParseUint(d.s[d.i+2:d.i+6], 16, 32); err == nil && lo >= 0xDC00 && lo < 0xE000 {
						r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
						d.i += 6
					}
				}
				var tmp [4]byte
				b.Write(tmp[:utf8.EncodeRune(tmp[:], rune(r))])
			default:
				return "", d.fail("escape")
			}
		default:
			b.WriteByte(c)
			d.i++
		}
	}
	return "", d.fail("string end")
}

package collections

import (
	"math"
	"math/big"
	"strconv"
	"strings"
)

// ParseInt parses b as Redis parses an integer value (string2ll): an
// optional '-', then digits without leading zeros ("0" alone is fine), at
// most 20 bytes, within int64. "+1", "01", "-0", " 1" and "" are not
// integers.
func ParseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	if len(b) == 1 && b[0] == '0' {
		return 0, true
	}
	neg := false
	p := b
	if p[0] == '-' {
		neg = true
		p = p[1:]
		if len(p) == 0 {
			return 0, false
		}
	}
	if p[0] < '1' || p[0] > '9' {
		return 0, false
	}
	var v uint64
	for _, c := range p {
		if c < '0' || c > '9' {
			return 0, false
		}
		if v > (math.MaxUint64-9)/10 {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if neg {
		if v > uint64(math.MaxInt64)+1 {
			return 0, false
		}
		return -int64(v-1) - 1, true
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}

// longDoublePrec is the mantissa precision of the x87 80-bit long double
// Redis computes INCRBYFLOAT and HINCRBYFLOAT in.
const longDoublePrec = 64

// parseLongDouble parses b as Redis's string2ld does with strtold: no
// leading space, nothing after the number, not NaN, not overflowing to an
// infinity, not underflowing to zero from a non-zero input. Infinities
// written out ("inf") are accepted, as strtold does.
func parseLongDouble(b []byte) (*big.Float, bool) {
	if len(b) == 0 || len(b) >= 5*1024 {
		return nil, false
	}
	s := string(b)
	switch c := s[0]; c {
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return nil, false
	}
	low := strings.ToLower(s)
	if low[0] == '+' || low[0] == '-' {
		low = low[1:]
	}
	if low == "inf" || low == "infinity" {
		return new(big.Float).SetInf(s[0] == '-'), true
	}
	// Go's parser takes more than strtold: digit separators, 0b and 0o.
	if strings.Contains(low, "nan") || strings.ContainsAny(low, "_") ||
		strings.HasPrefix(low, "0b") || strings.HasPrefix(low, "0o") {
		return nil, false
	}
	f, _, err := big.ParseFloat(s, 0, longDoublePrec, big.ToNearestEven)
	if err != nil {
		return nil, false
	}
	// strtold's ERANGE: an overflow to infinity or an underflow to zero.
	if !f.IsInf() && f.Sign() != 0 {
		exp := f.MantExp(nil)
		if exp > 16384 || exp < -16445 {
			return nil, false
		}
	}
	return f, true
}

// formatLongDouble formats f as Redis's ld2string with LD_STR_HUMAN:
// "%.17Lf" with the trailing zeros (and a trailing '.') removed, and "-0"
// written "0".
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

// incrFloatText adds incr (text) to cur (text, or nil for an absent value)
// in long double arithmetic and returns the result as Redis stores it.
// notFloat is the error for a current value that is not a float.
func incrFloatText(cur []byte, present bool, incr []byte, notFloat error) ([]byte, error) {
	v := new(big.Float).SetPrec(longDoublePrec)
	if present {
		c, ok := parseLongDouble(cur)
		if !ok {
			return nil, notFloat
		}
		v = c
	}
	d, ok := parseLongDouble(incr)
	if !ok {
		return nil, ErrNotFloat
	}
	if v.IsInf() || d.IsInf() {
		// inf + anything is inf or NaN: both refused.
		return nil, ErrNaNOrInf
	}
	r := new(big.Float).SetPrec(longDoublePrec).SetMode(big.ToNearestEven)
	r.Add(v, d)
	if r.Sign() != 0 && r.MantExp(nil) > 16384 {
		return nil, ErrNaNOrInf
	}
	return []byte(formatLongDouble(r)), nil
}

// floatText is the text Redis receives for a float64 increment from a Go
// client: the shortest representation that reads back as f.
func floatText(f float64) []byte { return strconv.AppendFloat(nil, f, 'g', -1, 64) }

// parseFloatResult reads back the float64 nearest to a stored long double
// text.
func parseFloatResult(b []byte) float64 {
	f, _ := strconv.ParseFloat(string(b), 64)
	return f
}

package collections

import (
	"bytes"
	"math"
	"strconv"
)

// Z is a sorted-set member with its score.
type Z struct {
	Score  float64 // the score; never NaN
	Member []byte  // the member's bytes
}

// ScoreRange is a score interval, as ZRANGEBYSCORE and ZCOUNT take it:
// Min <= score <= Max, either end exclusive ("(1.5" in Redis).
type ScoreRange struct {
	Min, Max float64 // the ends; -inf and +inf (math.Inf) are allowed
	// MinExclusive and MaxExclusive leave out a score equal to Min or Max.
	MinExclusive, MaxExclusive bool
}

// AllScores is the range -inf..+inf.
var AllScores = ScoreRange{Min: math.Inf(-1), Max: math.Inf(1)}

// LexBound is one end of a lexicographic range: "-" (Inf -1, below every
// member), "+" (Inf +1, above every member), "[value" (inclusive) or
// "(value" (exclusive).
type LexBound struct {
	Value     []byte // the member bytes of the bound, unless Inf is set
	Exclusive bool   // "(value": the bound itself is outside the range
	Inf       int8   // -1 for "-", +1 for "+", 0 for a Value bound
}

// LexRange is a member interval, as ZRANGEBYLEX and ZLEXCOUNT take it.
// Like Redis, it is meant for sets whose members all have the same score.
type LexRange struct {
	Min, Max LexBound // the low and the high end
}

// AllMembers is the range "-".."+".
var AllMembers = LexRange{Min: LexBound{Inf: -1}, Max: LexBound{Inf: 1}}

// ParseFloat parses a score or a float argument as Redis does
// (getDoubleFromObject: strtod, no leading space, nothing after the number,
// no NaN, no overflow).
func ParseFloat(b []byte) (float64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	switch b[0] {
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return 0, false
	}
	f, ok := strtod(b)
	if !ok || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// strtod parses b as C's strtod reads a whole string: decimal or hex
// floats, "inf", "infinity", "nan", a sign; ok is false if anything is left
// over or the value overflows.
func strtod(b []byte) (float64, bool) {
	s := string(b)
	low := s
	if len(low) > 0 && (low[0] == '+' || low[0] == '-') {
		low = low[1:]
	}
	for i := 0; i < len(low); i++ {
		if c := low[i]; c == '_' {
			return 0, false // Go's digit separators: not C's
		}
	}
	if len(low) > 1 && low[0] == '0' && (low[1] == 'b' || low[1] == 'B' || low[1] == 'o' || low[1] == 'O') {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange && !math.IsInf(f, 0) {
			return f, true // an underflow: strtod returns the nearest
		}
		if len(low) > 2 && (low[:2] == "0x" || low[:2] == "0X") && !bytes.ContainsAny([]byte(low), "pP") {
			// C accepts a hex float without an exponent; Go wants one.
			return strtod(append(append([]byte{}, b...), 'p', '0'))
		}
		return 0, false
	}
	return f, true
}

// ParseScoreRange parses ZRANGEBYSCORE's min and max ("1.5", "(1.5",
// "-inf", "+inf"); ok is false where Redis says "min or max is not a
// float".
func ParseScoreRange(min, max []byte) (ScoreRange, bool) {
	var r ScoreRange
	var ok bool
	if r.Min, r.MinExclusive, ok = parseScoreBound(min); !ok {
		return r, false
	}
	if r.Max, r.MaxExclusive, ok = parseScoreBound(max); !ok {
		return r, false
	}
	return r, true
}

func parseScoreBound(b []byte) (float64, bool, bool) {
	excl := false
	if len(b) > 0 && b[0] == '(' {
		excl, b = true, b[1:]
	}
	// zslParseRange calls strtod directly: leading space is fine there.
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\v' || b[0] == '\f' || b[0] == '\r') {
		b = b[1:]
	}
	f, ok := strtod(b)
	if !ok || len(b) == 0 || math.IsNaN(f) {
		return 0, false, false
	}
	return f, excl, true
}

// ParseLexRange parses ZRANGEBYLEX's min and max ("-", "+", "[a", "(a");
// ok is false where Redis says "min or max not valid string range item".
func ParseLexRange(min, max []byte) (LexRange, bool) {
	lo, ok1 := parseLexBound(min)
	hi, ok2 := parseLexBound(max)
	return LexRange{Min: lo, Max: hi}, ok1 && ok2
}

func parseLexBound(b []byte) (LexBound, bool) {
	if len(b) == 0 {
		return LexBound{}, false
	}
	switch b[0] {
	case '-':
		if len(b) == 1 {
			return LexBound{Inf: -1}, true
		}
	case '+':
		if len(b) == 1 {
			return LexBound{Inf: 1}, true
		}
	case '[':
		return LexBound{Value: append([]byte{}, b[1:]...)}, true
	case '(':
		return LexBound{Value: append([]byte{}, b[1:]...), Exclusive: true}, true
	}
	return LexBound{}, false
}

// empty reports whether r holds no score at all (Redis answers such ranges
// with nothing, without looking).
func (r ScoreRange) empty() bool {
	return r.Min > r.Max || (r.Min == r.Max && (r.MinExclusive || r.MaxExclusive))
}

// has reports whether f is in r.
func (r ScoreRange) has(f float64) bool {
	return (f > r.Min || (!r.MinExclusive && f == r.Min)) && (f < r.Max || (!r.MaxExclusive && f == r.Max))
}

// empty reports whether r holds no member (Redis's zslIsInLexRange test).
func (r LexRange) empty() bool {
	if r.Min.Inf > 0 || r.Max.Inf < 0 {
		return true
	}
	if r.Min.Inf < 0 || r.Max.Inf > 0 {
		return false
	}
	c := bytes.Compare(r.Min.Value, r.Max.Value)
	return c > 0 || (c == 0 && (r.Min.Exclusive || r.Max.Exclusive))
}

func (b LexBound) below(m []byte) bool { // b is a lower bound m satisfies
	switch {
	case b.Inf < 0:
		return true
	case b.Inf > 0:
		return false
	}
	c := bytes.Compare(m, b.Value)
	return c > 0 || (c == 0 && !b.Exclusive)
}

func (b LexBound) above(m []byte) bool { // b is an upper bound m satisfies
	switch {
	case b.Inf > 0:
		return true
	case b.Inf < 0:
		return false
	}
	c := bytes.Compare(m, b.Value)
	return c < 0 || (c == 0 && !b.Exclusive)
}

// has reports whether member m is in r.
func (r LexRange) has(m []byte) bool { return r.Min.below(m) && r.Max.above(m) }

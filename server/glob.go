package server

// globMatch is Redis's glob matching (stringmatchlen): '*' any run, '?'
// one byte, '[...]' a class with ranges and a leading '^' for negation,
// '\' escaping the next byte. nocase folds ASCII letters.
func globMatch(pat, s []byte, nocase bool) bool {
	skip := false
	return globMatchDepth(pat, s, nocase, &skip, 0)
}

func fold(c byte, nocase bool) byte {
	if nocase && c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// skipLonger is set once the rest of a pattern after a '*' matched nowhere
// in the rest of the string: no earlier '*' can help then (Redis's guard
// against exponential patterns).
func globMatchDepth(pat, s []byte, nocase bool, skipLonger *bool, depth int) bool {
	if depth > 1000 { // Redis bounds the recursion of patterns like "*a*a*a..."
		return false
	}
	for len(pat) > 0 && len(s) > 0 {
		switch pat[0] {
		case '*':
			for len(pat) > 1 && pat[1] == '*' {
				pat = pat[1:]
			}
			if len(pat) == 1 {
				return true
			}
			for len(s) > 0 {
				if globMatchDepth(pat[1:], s, nocase, skipLonger, depth+1) {
					return true
				}
				if *skipLonger {
					return false
				}
				s = s[1:]
			}
			*skipLonger = true
			return false
		case '?':
			s = s[1:]
		case '[':
			pat = pat[1:]
			not := len(pat) > 0 && pat[0] == '^'
			if not {
				pat = pat[1:]
			}
			match := false
			for {
				if len(pat) == 0 {
					break
				}
				if pat[0] == '\\' && len(pat) >= 2 {
					pat = pat[1:]
					if pat[0] == s[0] {
						match = true
					}
				} else if pat[0] == ']' {
					break
				} else if len(pat) >= 3 && pat[1] == '-' {
					start, end := pat[0], pat[2]
					if start > end {
						start, end = end, start
					}
					start, end = fold(start, nocase), fold(end, nocase)
					pat = pat[2:]
					c := fold(s[0], nocase)
					if c >= start && c <= end {
						match = true
					}
				} else if fold(pat[0], nocase) == fold(s[0], nocase) {
					match = true
				}
				pat = pat[1:]
			}
			if len(pat) == 0 { // no closing bracket: Redis treats the end as one
				pat = []byte{']'}
			}
			if not {
				match = !match
			}
			if !match {
				return false
			}
			s = s[1:]
		case '\\':
			if len(pat) >= 2 {
				pat = pat[1:]
			}
			fallthrough
		default:
			if fold(pat[0], nocase) != fold(s[0], nocase) {
				return false
			}
			s = s[1:]
		}
		pat = pat[1:]
		if len(s) == 0 {
			for len(pat) > 0 && pat[0] == '*' {
				pat = pat[1:]
			}
			break
		}
	}
	return len(pat) == 0 && len(s) == 0
}

// globPrefix returns the literal prefix of pat (up to its first special
// byte), so a scan can seek to it instead of reading every key.
func globPrefix(pat []byte) []byte {
	var out []byte
	for i := 0; i < len(pat); i++ {
		switch pat[i] {
		case '*', '?', '[':
			return out
		case '\\':
			if i+1 < len(pat) {
				i++
			}
		}
		out = append(out, pat[i])
	}
	return out
}

package sstable

import (
	"github.com/stratadb/strata/keys"
)

// separator appends to dst an internal key s with a <= s < b, for internal
// keys a < b (the last key of a block and the first key of the next one),
// as short as it can find. The index stores s for the block ending with a.
//
// It either returns a itself, or a key whose user key u has
// userkey(a) < u < userkey(b) and the trailer (MaxSeq, KindMax). In the second case
// no key of the table has user key u, and every key of the next block has a
// user key > u; Reader.Get relies on this to stop at the end of a block.
//
// Example: "the quick" and "the who" give "the r".
func separator(dst, a, b []byte) []byte {
	ua, ub := keys.UserKey(a), keys.UserKey(b)
	if ua == nil || ub == nil {
		return append(dst, a...)
	}
	n := keys.SharedPrefixLen(ua, ub)
	if n >= len(ua) || n >= len(ub) {
		// ua is a prefix of ub (or they are equal): nothing lies strictly
		// between them that is shorter than ua.
		return append(dst, a...)
	}
	// ua[n] < ub[n]. Any string that starts with ua[:n+1] sorts below ub.
	if c := ua[n]; c < 0xff && c+1 < ub[n] {
		return shortKey(dst, ua[:n+1], n, a)
	}
	// Otherwise increment a later byte of ua: the result still starts with
	// ua[:n+1], so it stays below ub, and it is above ua.
	for i := n + 1; i < len(ua)-1; i++ {
		if ua[i] < 0xff {
			return shortKey(dst, ua[:i+1], i, a)
		}
	}
	return append(dst, a...)
}

// successor appends to dst a short internal key s >= a: the user key of a
// with one byte incremented and the rest dropped, or a itself if that is no
// shorter. The index stores it for the table's last block.
//
// Example: "the quick" gives "u".
func successor(dst, a []byte) []byte {
	ua := keys.UserKey(a)
	for i := 0; i < len(ua)-1; i++ {
		if ua[i] < 0xff {
			return shortKey(dst, ua[:i+1], i, a)
		}
	}
	return append(dst, a...)
}

// shortKey appends prefix with its byte at i incremented, and the trailer
// (keys.MaxSeq, keys.KindMax), which sorts before every real version of that
// user key; it falls back to a if the result would not be shorter.
func shortKey(dst, prefix []byte, i int, a []byte) []byte {
	if len(prefix)+keys.TrailerLen >= len(a) {
		return append(dst, a...)
	}
	start := len(dst)
	dst = append(dst, prefix...)
	dst[start+i]++
	return keys.MakeKey(dst[:start+i+1], nil, keys.MaxSeq, keys.KindMax)
}

package keys

import (
	"encoding/binary"
	"math"
	"time"
)

// ExpiryLen is the size of the expiry prefix of a KindSetExpiry value.
const ExpiryLen = 8

// AppendExpiryValue appends the KindSetExpiry encoding of (expiry, value).
func AppendExpiryValue(dst []byte, expiry int64, value []byte) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, uint64(expiry))
	return append(dst, value...)
}

// SplitExpiryValue splits a KindSetExpiry value into its expiry (Unix
// nanoseconds) and user value. ok is false if v is too short.
func SplitExpiryValue(v []byte) (expiry int64, value []byte, ok bool) {
	if len(v) < ExpiryLen {
		return 0, nil, false
	}
	return int64(binary.LittleEndian.Uint64(v)), v[ExpiryLen:], true
}

// MaxExpiry is the latest expiry an entry can carry: the largest int64 count
// of Unix nanoseconds, 2262-04-11T23:47:16.854775807Z. A TTL reaching past it
// is clamped to it (see ExpiryAt).
const MaxExpiry int64 = math.MaxInt64

var (
	maxNanoTime = time.Unix(0, math.MaxInt64)
	minNanoTime = time.Unix(0, math.MinInt64)
)

// UnixNano returns t in Unix nanoseconds, saturated: a time after
// 2262-04-11 gives math.MaxInt64 and a time before 1677-09-21 gives
// math.MinInt64, where time.Time.UnixNano would wrap around.
func UnixNano(t time.Time) int64 {
	if t.After(maxNanoTime) {
		return math.MaxInt64
	}
	if t.Before(minNanoTime) {
		return math.MinInt64
	}
	return t.UnixNano()
}

// ExpiryAt returns the expiry of an entry written at now with time to live
// ttl > 0, in Unix nanoseconds: now + ttl, clamped to MaxExpiry when that
// lies beyond it (time.Time.Add saturates, and so does UnixNano). The
// result is never 0, which means "no expiry" in reports and table
// properties: an entry due exactly at the Unix epoch gets -1, one
// nanosecond earlier, so it is still expired at every instant at or after
// now + ttl.
func ExpiryAt(now time.Time, ttl time.Duration) int64 {
	e := UnixNano(now.Add(ttl))
	if e == 0 {
		e = -1
	}
	return e
}

// Expired reports whether an entry expiring at expiry (Unix nanoseconds) is
// expired at now: an entry is expired at every instant at or after its expiry.
// A now outside the int64 range of Unix nanoseconds is clamped to it.
func Expired(expiry int64, now time.Time) bool {
	return UnixNano(now) >= expiry
}

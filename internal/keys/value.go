package keys

import (
	"encoding/binary"
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

// Expired reports whether an entry expiring at expiry (Unix nanoseconds) is
// expired at now: an entry is expired at every instant at or after its expiry.
func Expired(expiry int64, now time.Time) bool {
	return now.UnixNano() >= expiry
}

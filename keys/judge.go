package keys

import (
	"fmt"
	"time"
)

// Now is the instant expiry is judged at, in Unix nanoseconds. A Now from
// NowFrom reads its clock at most once, and only when an expiring entry is
// judged: most reads never meet one, and a clock read costs more than the
// rest of a judgement. A Now belongs to one goroutine.
type Now struct {
	clock func() time.Time // nil for a fixed instant
	nanos int64
	read  bool
}

// NowFrom returns a Now read from clock the first time Nanos needs it.
func NowFrom(clock func() time.Time) Now { return Now{clock: clock} }

// NowAt returns a Now fixed at nanos (Unix nanoseconds).
func NowAt(nanos int64) Now { return Now{nanos: nanos, read: true} }

// Nanos returns the instant, reading the clock (saturated, see UnixNano) on
// the first call.
func (n *Now) Nanos() int64 {
	if !n.read {
		n.nanos, n.read = UnixNano(n.clock()), true
	}
	return n.nanos
}

// Reset makes the next Nanos read the clock again; a fixed Now stays fixed.
func (n *Now) Reset() {
	if n.clock != nil {
		n.read = false
	}
}

// Verdict is what Judge decides about a version of a key.
type Verdict uint8

// The verdicts.
const (
	// VerdictLive: a value the reader sees.
	VerdictLive Verdict = iota
	// VerdictDeleted: a tombstone; the key reads as absent, and nothing
	// older of it shows.
	VerdictDeleted
	// VerdictExpired: a value whose expiry has passed; the key reads as
	// absent, nothing older shows, and a compaction rewrites it as a
	// tombstone.
	VerdictExpired
)

// String returns "live", "deleted" or "expired".
func (v Verdict) String() string {
	switch v {
	case VerdictLive:
		return "live"
	case VerdictDeleted:
		return "deleted"
	case VerdictExpired:
		return "expired"
	}
	return fmt.Sprintf("Verdict(%d)", uint8(v))
}

// Judgement is what Judge decides about a version of a key.
type Judgement struct {
	// Verdict says whether the version is live, deleted or expired.
	Verdict Verdict
	// Value is the user value of a live version (its expiry stripped).
	Value []byte
	// Expiry is the version's expiry in Unix nanoseconds, 0 for none; set
	// for a live or an expired version.
	Expiry int64
	// Err is set, wrapping ErrCorruption, when the version cannot be
	// judged; Verdict is then VerdictDeleted.
	Err error
}

// Judge decides what a version of a key (its kind and stored value) shows a
// reader at now: the user value and the expiry of a live version, or that
// it is deleted or expired. An expiring value is expired at every instant
// at or after its expiry. It is the one place where kinds and expiry are
// interpreted: Get, iterators and compaction all ask it about each version
// they must decide on.
//
// A kind that is not a point entry's (KindRangeDelete, or unknown) and an
// expiring value too short to hold its expiry are corruption: Err wraps
// ErrCorruption, and the caller adds the file where it knows it. (A table
// reader checks every entry it decodes with ValidEntry, naming the table
// and the offset, so from a table this is a second line of defence.)
//
// The common case, a plain value, is decided inline, without a call: that
// is why the decision is one struct rather than four results.
func Judge(kind Kind, value []byte, now *Now) Judgement {
	if kind == KindSet {
		return Judgement{Value: value}
	}
	return judgeRest(kind, value, now)
}

// judgeRest is Judge for every kind but KindSet.
func judgeRest(kind Kind, value []byte, now *Now) Judgement {
	switch kind {
	case KindDelete:
		return Judgement{Verdict: VerdictDeleted}
	case KindSetExpiry:
		exp, uv, ok := SplitExpiryValue(value)
		if !ok {
			return Judgement{Verdict: VerdictDeleted, Err: fmt.Errorf("%w: expiring value of %d bytes, shorter than its %d-byte expiry",
				ErrCorruption, len(value), ExpiryLen)}
		}
		if now.Nanos() >= exp {
			return Judgement{Verdict: VerdictExpired, Expiry: exp}
		}
		return Judgement{Value: uv, Expiry: exp}
	}
	return Judgement{Verdict: VerdictDeleted, Err: fmt.Errorf("%w: an entry of kind %s, not a point entry's", ErrCorruption, kind)}
}

// ValidEntry reports whether an internal key and its value can be judged:
// the key holds a trailer, its kind is a point entry's, and an expiring
// value holds its expiry. A table reader checks every entry it decodes,
// so damage that a checksum missed (or a writer's bug) is reported where
// the file and offset are known (EntryError), not met later as a deletion.
func ValidEntry(ikey, value []byte) bool {
	n := len(ikey) - TrailerLen
	return n >= 0 && (ikey[n] < byte(KindSetExpiry) || ikey[n] == byte(KindSetExpiry) && len(value) >= ExpiryLen)
}

// EntryError returns the corruption error of an entry that is not
// ValidEntry, found in file at offset (see EntryProblem).
func EntryError(file string, offset int64, ikey, value []byte) error {
	return CorruptionError(file, offset, "%s", EntryProblem(ikey, value))
}

// EntryProblem says what is wrong with an entry that is not ValidEntry.
func EntryProblem(ikey, value []byte) string {
	p, ok := Parse(ikey)
	switch {
	case !ok:
		return fmt.Sprintf("internal key of %d bytes, shorter than its %d-byte trailer", len(ikey), TrailerLen)
	case p.Kind == KindSetExpiry:
		return fmt.Sprintf("expiring value of %d bytes for key %s, shorter than its %d-byte expiry", len(value), Quote(p.UserKey), ExpiryLen)
	}
	return fmt.Sprintf("key %s has kind %s, not a point entry's", Quote(p.UserKey), p.Kind)
}

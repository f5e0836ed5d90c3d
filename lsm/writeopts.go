package lsm

import (
	"fmt"
	"time"
)

type condKind uint8

const (
	condNone condKind = iota
	condAbsent
	condPresent
	condValue
)

// WriteOption modifies one write: a TTL, a sync, or a condition. Options are
// plain values, so passing them allocates nothing.
type WriteOption struct {
	ttl   time.Duration
	sync  bool
	cond  condKind
	value []byte
	// canonInt: Increment accepts only a canonical decimal (see
	// CanonicalInteger).
	canonInt bool
	set      uint8 // which of the fields above this option sets
}

const (
	setTTL uint8 = 1 << iota
	setSync
	setCond
	setCanonInt
)

// WithTTL makes the entry expire d after the write (Redis EX/PX, DynamoDB
// TTL). d must be positive.
//
// Expiries are stored as int64 Unix nanoseconds, whose range ends at
// 2262-04-11T23:47:16.854775807Z, time.Unix(0, math.MaxInt64). An expiry
// past it, from any TTL up to WithTTL(math.MaxInt64), is clamped to that
// instant: the entry is kept and never expires in practice, and Expiry
// reports that time. (Clocks outside the years 1678-2262 are clamped the
// same way.)
func WithTTL(d time.Duration) WriteOption { return WriteOption{ttl: d, set: setTTL} }

// WithSync fsyncs the WAL before the write returns, whatever the SyncMode.
func WithSync() WriteOption { return WriteOption{sync: true, set: setSync} }

// IfAbsent writes only if the key is absent or expired (SET NX,
// attribute_not_exists).
func IfAbsent() WriteOption { return WriteOption{cond: condAbsent, set: setCond} }

// IfPresent writes only if the key exists and is not expired (SET XX,
// attribute_exists).
func IfPresent() WriteOption { return WriteOption{cond: condPresent, set: setCond} }

// IfValue writes only if the current value equals v (compare-and-swap,
// compare-and-delete). An absent key never equals v.
func IfValue(v []byte) WriteOption {
	return WriteOption{cond: condValue, value: v, set: setCond}
}

// CanonicalInteger makes Increment accept only a value written exactly as
// strconv.FormatInt writes an int64: no '+', no leading zeros, no "-0", no
// spaces, as Redis's INCR reads one. Any other value returns ErrNotInteger
// and writes nothing. A caller that needs Redis's reading of a counter
// then makes one call instead of reading the value first. Writes other
// than Increment ignore it.
func CanonicalInteger() WriteOption { return WriteOption{canonInt: true, set: setCanonInt} }

// writeOpts is the merged form of a list of WriteOptions.
type writeOpts struct {
	ttl      time.Duration
	sync     bool
	cond     condKind
	value    []byte
	canonInt bool
}

func mergeOpts(opts []WriteOption) (writeOpts, error) {
	var w writeOpts
	for _, o := range opts {
		if o.set&setTTL != 0 {
			if o.ttl <= 0 {
				return w, fmt.Errorf("%w: TTL %v must be positive", ErrInvalidArgument, o.ttl)
			}
			w.ttl = o.ttl
		}
		if o.set&setSync != 0 {
			w.sync = true
		}
		if o.set&setCanonInt != 0 {
			w.canonInt = true
		}
		if o.set&setCond != 0 {
			if w.cond != condNone {
				return w, fmt.Errorf("%w: more than one condition", ErrInvalidArgument)
			}
			w.cond, w.value = o.cond, o.value
		}
	}
	return w, nil
}

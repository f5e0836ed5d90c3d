package main

import (
	"fmt"
	"regexp"
	"time"
)

// maxDuration is the longest duration Go represents: 2562047h47m16.854775807s,
// about 292 years.
const maxDuration = time.Duration(1<<63 - 1)

// durationSyntax is the shape of a duration time.ParseDuration reads: an
// optional sign, then numbers (with an optional fraction) each followed by
// a unit. A string of this shape that ParseDuration refuses is out of range.
var durationSyntax = regexp.MustCompile(`^[-+]?(([0-9]+\.?[0-9]*|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$`)

// errDurationRange is the error of a duration past Go's limit, whose own
// error ("invalid duration") does not say what is wrong.
var errDurationRange = fmt.Errorf("out of range: the maximum duration is %v (about 292 years)", maxDuration.Truncate(time.Second))

// parseDuration is time.ParseDuration, whose error for a duration past the
// limit names the limit.
func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil && durationSyntax.MatchString(s) {
		return 0, errDurationRange
	}
	return d, err
}

// durationValue is a flag holding a time.Duration read by parseDuration.
type durationValue time.Duration

func (d *durationValue) Set(s string) error {
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	*d = durationValue(v)
	return nil
}

// String returns "0" for zero, as the help shows no default for it.
func (d *durationValue) String() string {
	if *d == 0 {
		return "0"
	}
	return time.Duration(*d).String()
}

func (d *durationValue) Type() string { return "duration" }

// durationFlag returns p as a flag value (a cobra flag set's Var), reset
// to 0, the default.
func durationFlag(p *time.Duration) *durationValue {
	*p = 0
	return (*durationValue)(p)
}

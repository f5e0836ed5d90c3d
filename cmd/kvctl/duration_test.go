package main

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// parseDuration names the limit for a well-formed duration past it, and
// keeps Go's error for a malformed one.
func TestParseDurationNamesTheLimit(t *testing.T) {
	for _, c := range []struct {
		in         string
		want       time.Duration
		outOfRange bool
		malformed  bool
	}{
		{in: "0", want: 0},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "2562047h", want: 2562047 * time.Hour},
		{in: "2562047h47m16.854775807s", want: maxDuration},
		{in: "2562048h", outOfRange: true},
		{in: "-2562048h", outOfRange: true},
		{in: "+2562047h48m", outOfRange: true},
		{in: "2562047h2562047h", outOfRange: true},
		{in: "9223372036854775808ns", outOfRange: true},
		{in: ".5h", want: 30 * time.Minute},
		{in: "", malformed: true},
		{in: "h", malformed: true},
		{in: ".h", malformed: true},
		{in: "1x", malformed: true},
		{in: "1.5.5h", malformed: true},
		{in: "1", malformed: true},
		{in: "99999999999999999999", malformed: true},
	} {
		d, err := parseDuration(c.in)
		switch {
		case c.outOfRange:
			require.ErrorIs(t, err, errDurationRange, c.in)
		case c.malformed:
			require.Error(t, err, c.in)
			require.False(t, errors.Is(err, errDurationRange), "%q: %v", c.in, err)
		default:
			require.NoError(t, err, c.in)
			require.Equal(t, c.want, d, c.in)
		}
	}
}

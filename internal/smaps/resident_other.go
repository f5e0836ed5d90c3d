//go:build !linux

package smaps

import "errors"

// ResidentPages returns how many of the pages of b the process has
// mapped: Linux only.
func ResidentPages(b []byte) (int, error) {
	return 0, errors.New("smaps: resident pages are known on Linux only")
}

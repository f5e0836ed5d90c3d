package keys

import (
	"errors"
	"fmt"
)

// ErrCorruption is wrapped by every checksum or format failure of on-disk
// bytes, at any depth. The lsm package exports it as lsm.ErrCorruption.
var ErrCorruption = errors.New("strata: corruption")

// CorruptionError returns an error wrapping ErrCorruption that names the file
// and byte offset where the damage was found.
func CorruptionError(file string, offset int64, format string, args ...any) error {
	return fmt.Errorf("%w: %s at offset %d: %s", ErrCorruption, file, offset, fmt.Sprintf(format, args...))
}

//go:build invariants || race

package invariants

import (
	"bytes"
	"runtime"
	"strconv"
)

// Enabled is true: the build has the invariants or race tag.
const Enabled = true

// GoroutineID returns the id of the calling goroutine, read from its stack
// header ("goroutine 42 [running]:"). It costs a stack capture (about a
// microsecond), which only the invariants build pays: checks use it to say
// which goroutine owns something.
func GoroutineID() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b, _ = bytes.CutPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		panic("invariants: cannot read the goroutine id from " + strconv.Quote(string(buf[:])))
	}
	return id
}

//go:build race && (linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package offheap

import (
	"runtime/debug"
	"testing"
)

// TestUseAfterFreeFaults: in race builds a freed buffer faults on access,
// so a use after free in any test shows up as a crash, not as silent reuse.
func TestUseAfterFreeFaults(t *testing.T) {
	b, err := Alloc(1 << 16)
	if err != nil {
		t.Fatal(err)
	}
	b[100] = 7
	Free(b)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	faulted := func() (f bool) {
		defer func() { f = recover() != nil }()
		sink = b[100]
		return false
	}()
	if !faulted {
		t.Fatal("reading a freed buffer did not fault")
	}
}

var sink byte

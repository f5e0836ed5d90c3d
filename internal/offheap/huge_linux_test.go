package offheap

import (
	"os"
	"strings"
	"testing"
	"unsafe"

	"github.com/stratadb/strata/internal/smaps"
)

// TestLargeBuffersAreAdvisedHuge: a buffer of hugeMin bytes or more is
// advised MADV_HUGEPAGE (the kernel lists the mapping's VmFlags with "hg"),
// a smaller one is not. Whether the kernel then backs it with huge pages
// depends on its THP settings and free memory, so that is not asserted.
func TestLargeBuffersAreAdvisedHuge(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil {
		t.Skip("no transparent huge pages in this kernel")
	}
	for _, c := range []struct {
		n    int
		huge bool
	}{{hugeMin, true}, {64 << 20, true}, {hugeMin - 4096, false}, {1 << 20, false}} {
		b, err := Alloc(c.n)
		if err != nil {
			t.Fatal(err)
		}
		flags, err := vmFlags(uintptr(unsafe.Pointer(&b[0])))
		Free(b)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(" "+flags+" ", " hg "); got != c.huge {
			t.Errorf("Alloc(%d): advised huge %v, want %v (VmFlags: %s)", c.n, got, c.huge, flags)
		}
	}
}

// vmFlags returns the VmFlags of the mapping that holds addr.
func vmFlags(addr uintptr) (string, error) { return smaps.Field(addr, "VmFlags") }

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

// TestAllocPopulatedIsResident: AllocPopulated's pages are resident as it
// returns (mincore), zeroed and counted in Live until Free; Alloc's are
// not, until they are first written.
func TestAllocPopulatedIsResident(t *testing.T) {
	const n = 256 << 10
	resident := func(b []byte) int {
		n, err := smaps.ResidentPages(b)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := Live()
	b, err := AllocPopulated(n)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := resident(b), n/os.Getpagesize(); got != want {
		t.Errorf("AllocPopulated(%d): %d of %d pages resident", n, got, want)
	}
	for i, c := range b {
		if c != 0 {
			t.Fatalf("byte %d is %d, want 0", i, c)
		}
	}
	if Live()-before != n {
		t.Errorf("Live grew by %d, want %d", Live()-before, n)
	}
	Free(b)
	if Live() != before {
		t.Errorf("Live after Free: %d, want %d", Live(), before)
	}
	a, err := Alloc(n)
	if err != nil {
		t.Fatal(err)
	}
	defer Free(a)
	if got := resident(a); got != 0 {
		t.Errorf("Alloc(%d): %d pages resident before any write", n, got)
	}
}

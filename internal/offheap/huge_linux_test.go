package offheap

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
	"unsafe"
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

// vmFlags returns the VmFlags line of the mapping of /proc/self/smaps that
// holds addr.
func vmFlags(addr uintptr) (string, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in := false
	for sc.Scan() {
		line := sc.Text()
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(line, "%x-%x ", &lo, &hi); n == 2 && !strings.Contains(strings.Fields(line)[0], ":") {
			in = lo <= addr && addr < hi
			continue
		}
		if in && strings.HasPrefix(line, "VmFlags:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmFlags:")), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("no mapping holds %#x in /proc/self/smaps", addr)
}

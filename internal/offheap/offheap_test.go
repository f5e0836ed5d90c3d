package offheap

import (
	"testing"
	"unsafe"
)

// TestAllocFree: a buffer is zeroed, aligned, writable to its last byte, and
// counted in Live until it is freed.
func TestAllocFree(t *testing.T) {
	for _, n := range []int{1, 8, 4095, 4096, 1 << 20, 3<<20 + 5} {
		before := Live()
		b, err := Alloc(n)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != n {
			t.Fatalf("Alloc(%d) returned %d bytes", n, len(b))
		}
		if uintptr(unsafe.Pointer(&b[0]))%8 != 0 {
			t.Fatalf("Alloc(%d) is not 8-byte aligned", n)
		}
		for i, c := range b {
			if c != 0 {
				t.Fatalf("Alloc(%d): byte %d is %d, not zero", n, i, c)
			}
		}
		b[0], b[n-1] = 1, 2
		if got := Live() - before; got != int64(n) {
			t.Fatalf("Live grew by %d after Alloc(%d)", got, n)
		}
		Free(b)
		if got := Live() - before; got != 0 {
			t.Fatalf("Live is %d above its start after Free", got)
		}
	}
	Free(nil) // no-op
}

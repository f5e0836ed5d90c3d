package smaps

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ResidentPages returns how many of the pages of b (a whole mapping or a
// page-aligned part of one) the process has mapped, as mincore(2) tells.
func ResidentPages(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	vec := make([]byte, (len(b)+os.Getpagesize()-1)/os.Getpagesize())
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		return 0, errno
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n, nil
}

package smaps

import (
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// TestFieldOfAMapping: the Rss of a fresh shared anonymous mapping grows when its
// pages are touched, and its VmFlags say it is readable and writable; an
// address no mapping holds is an error.
func TestFieldOfAMapping(t *testing.T) {
	const size = 1 << 20
	m, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_SHARED) // shared: never merged with a neighbour
	require.NoError(t, err)
	defer syscall.Munmap(m)
	addr := uintptr(unsafe.Pointer(&m[0]))

	before, err := Field(addr, "Rss")
	require.NoError(t, err)
	require.Equal(t, "0 kB", before)
	for i := 0; i < size; i += 4096 {
		m[i] = 1
	}
	after, err := Field(addr, "Rss")
	require.NoError(t, err)
	require.Equal(t, "1024 kB", after)

	flags, err := Field(addr, "VmFlags")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(flags, "rd wr sh"), flags)

	_, err = Field(0, "Rss")
	require.Error(t, err)
}

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

// TestResidentPages: none of a fresh private anonymous mapping is
// resident; each page written is, and only those.
func TestResidentPages(t *testing.T) {
	const pages = 64
	m, err := syscall.Mmap(-1, 0, pages*4096, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	require.NoError(t, err)
	defer syscall.Munmap(m)
	n, err := ResidentPages(m)
	require.NoError(t, err)
	require.Zero(t, n)
	m[0], m[5*4096], m[pages*4096-1] = 1, 1, 1
	n, err = ResidentPages(m)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	n, err = ResidentPages(nil)
	require.NoError(t, err)
	require.Zero(t, n)
}

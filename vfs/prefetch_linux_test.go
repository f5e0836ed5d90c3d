//go:build linux

package vfs

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestOSFilePrefetch: the OS filesystem's files are Prefetchers, and a
// prefetch brings a range the page cache had dropped back into it (the
// pages the file's mapping finds resident, mincore(2)), without changing
// what the file reads.
func TestOSFilePrefetch(t *testing.T) {
	name := filepath.Join(t.TempDir(), "f")
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	require.NoError(t, os.WriteFile(name, data, 0o644))
	f, err := Default.Open(name)
	require.NoError(t, err)
	defer f.Close()
	p, ok := f.(Prefetcher)
	require.True(t, ok, "the OS filesystem's files must implement Prefetcher")

	fd := int(f.(osFile).Fd())
	require.NoError(t, unix.Fsync(fd))
	m, err := unix.Mmap(fd, 0, len(data), unix.PROT_READ, unix.MAP_SHARED)
	require.NoError(t, err)
	defer unix.Munmap(m)
	resident := func(off, n int) int {
		vec := make([]byte, n/os.Getpagesize())
		if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[off])), uintptr(n), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
			t.Fatalf("mincore: %v", errno)
		}
		c := 0
		for _, v := range vec {
			c += int(v & 1)
		}
		return c
	}
	const lo, n = 256 << 10, 256 << 10
	pages := n / os.Getpagesize()
	require.NoError(t, unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED))
	if resident(lo, n) == pages {
		t.Skip("the page cache kept the file's pages through FADV_DONTNEED: nothing to observe")
	}
	p.Prefetch(lo, n)
	deadline := time.Now().Add(10 * time.Second)
	for resident(lo, n) < pages && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	require.Equal(t, pages, resident(lo, n), "the prefetched range is in the page cache")

	got := make([]byte, len(data))
	_, err = f.ReadAt(got, 0)
	require.NoError(t, err)
	require.Equal(t, data, got)
	p.Prefetch(int64(len(data)), 1<<20) // past the end: a hint, no error
}

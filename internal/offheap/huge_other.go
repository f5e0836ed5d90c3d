//go:build !linux && (darwin || freebsd || netbsd || openbsd || dragonfly)

package offheap

// adviseHuge does nothing here: only Linux takes MADV_HUGEPAGE.
func adviseHuge([]byte) {}

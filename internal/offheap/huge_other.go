//go:build !linux && (darwin || freebsd || netbsd || openbsd || dragonfly)

package offheap

// populateFlag is none here: only Linux has MAP_POPULATE.
const populateFlag = 0

// adviseHuge does nothing here: only Linux takes MADV_HUGEPAGE.
func adviseHuge([]byte) {}

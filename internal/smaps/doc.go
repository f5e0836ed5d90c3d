// Package smaps reads the fields of one mapping of the process's
// /proc/self/smaps, for tests that check what the kernel holds of a
// mapping (resident bytes, flags), and counts a buffer's resident pages
// (ResidentPages, with mincore). Linux only; elsewhere both fail.
//
// The file is a run of records, one per mapping, each a header line then
// "Name: value" lines:
//
//	7f3c2a000000-7f3c2e000000 rw-s 00000000 fd:01 1234   /path/of/the/file
//	Size:              65536 kB
//	Rss:                1024 kB
//	...
//	VmFlags: rd wr sh mr mw me ms sd
//
// A header is told from a field line by its first word, an address range
// with no colon in it.
package smaps

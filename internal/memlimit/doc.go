// Package memlimit finds the memory limit of the container a process runs
// in: the limit of its memory cgroup, under cgroup v2 or v1.
//
// Two kinds of file are read. The process's membership, /proc/self/cgroup,
// is text, one line per hierarchy:
//
//	hierarchy-ID ":" controller-list ":" path "\n"
//
//	0::/system.slice/app.service           cgroup v2 (ID 0, no controllers)
//	4:memory:/docker/3f2a...               cgroup v1, the memory controller
//	12:cpu,cpuacct:/docker/3f2a...         cgroup v1, other controllers (ignored)
//
// Each limit file holds one line: a decimal number of bytes, or "max" for
// no limit:
//
//	<root>/<path>/memory.max               cgroup v2      "536870912\n" or "max\n"
//	<root>/memory/<path>/memory.limit_in_bytes
//	                                       cgroup v1      "268435456\n"; no limit is
//	                                                      a number near 2^63
//
// A group is bounded by its own limit and by every ancestor's, so the limit
// is the smallest found on the path from the group up to the root. A file
// that is missing, unreadable or not a number counts as no limit; a value
// of 2^62 bytes or more (cgroup v1's "unlimited" is 2^63 rounded down to a
// page) counts as none too. Nothing here returns an error: a limit that
// cannot be read is no limit, and the caller keeps its defaults.
//
// Self reads the real files on Linux and returns 0 elsewhere.
package memlimit

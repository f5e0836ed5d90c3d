package memlimit

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Root is where the cgroup file system is mounted on Linux.
const Root = "/sys/fs/cgroup"

// Of returns the memory limit of the cgroup a process belongs to, in
// bytes, or 0 when there is none (or none can be read): the smallest
// memory.max of its cgroup v2 group and the group's ancestors, or under
// cgroup v1 the smallest memory.limit_in_bytes of its memory group and
// their ancestors. root is where the cgroup file system is mounted (Root
// on Linux) and self the text of the process's /proc/PID/cgroup.
func Of(root string, self []byte) int64 {
	var limit int64
	for _, line := range strings.Split(string(self), "\n") {
		// hierarchy-ID:controllers:path
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		var dir, file string
		switch {
		case parts[0] == "0" && parts[1] == "":
			dir, file = root, "memory.max"
		case hasController(parts[1], "memory"):
			dir, file = filepath.Join(root, "memory"), "memory.limit_in_bytes"
		default:
			continue
		}
		// Clean of a rooted path cannot climb above "/": "../.." stays
		// inside dir.
		for p := filepath.Clean("/" + parts[2]); ; p = filepath.Dir(p) {
			if n := readLimit(filepath.Join(dir, p, file)); n > 0 && (limit == 0 || n < limit) {
				limit = n
			}
			if p == "/" {
				break
			}
		}
	}
	return limit
}

func hasController(list, name string) bool {
	for _, c := range strings.Split(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// readLimit reads one limit file: a number of bytes, or "max" (none). A
// cgroup v1 "unlimited" is a number near the largest int64, taken as none.
func readLimit(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return parseLimit(b)
}

// parseLimit is the limit a limit file's text states, 0 for none.
func parseLimit(b []byte) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || n <= 0 || n >= 1<<62 {
		return 0
	}
	return n
}

package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// containerMemoryLimit returns the memory limit of the cgroup the process
// runs in, in bytes, or 0 when there is none (or none can be read): the
// smallest memory.max of the process's cgroup v2 and its ancestors, or
// memory.limit_in_bytes under cgroup v1. root is where the cgroup file
// system is mounted ("/sys/fs/cgroup") and self the text of
// /proc/self/cgroup.
func containerMemoryLimit(root string, self []byte) int64 {
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
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || n <= 0 || n >= 1<<62 {
		return 0
	}
	return n
}

// selfMemoryLimit is containerMemoryLimit for this process.
func selfMemoryLimit() int64 {
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return 0
	}
	return containerMemoryLimit("/sys/fs/cgroup", self)
}

package memlimit

import "os"

// Self is the memory limit of the cgroup this process runs in, in bytes,
// or 0 when there is none or it cannot be read.
func Self() int64 {
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return 0
	}
	return Of(Root, self)
}

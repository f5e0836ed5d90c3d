//go:build !linux

package memlimit

// Self is 0 outside Linux: only Linux has memory cgroups.
func Self() int64 { return 0 }

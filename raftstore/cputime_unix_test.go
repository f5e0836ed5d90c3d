//go:build unix

package raftstore

import (
	"syscall"
	"time"
)

// processCPU returns the user and system CPU time the process has used, so
// a benchmark can report CPU per operation (cpu-ns/op), which other load on
// the machine moves less than wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// minorFaults returns the process's minor page faults so far, so a
// benchmark can report faults per operation (fresh memory the kernel maps
// on first touch costs microseconds each on a virtual machine).
func minorFaults() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Minflt
}

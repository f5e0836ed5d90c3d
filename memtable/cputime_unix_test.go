//go:build unix

package memtable

import (
	"syscall"
	"testing"
	"time"
)

// processCPU returns the user and system CPU time the process has used, so
// a benchmark can report CPU per operation, which other load on the machine
// moves less than wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the process's CPU time since start per operation
// (cpu-ns/op): with GOMAXPROCS 2 it can exceed ns/op, since background work
// (the apply helper, flushes, a staged memtable's copy) counts too.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64((processCPU()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

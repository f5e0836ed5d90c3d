//go:build !unix

package raftstore

import "time"

// processCPU is 0 where getrusage is not available: cpu-ns/op reads 0.
func processCPU() time.Duration { return 0 }

// minorFaults is 0 where getrusage is not available.
func minorFaults() int64 { return 0 }

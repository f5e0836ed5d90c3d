//go:build !unix

package memtable

import (
	"testing"
	"time"
)

// processCPU is unknown here: benchmarks report 0.
func processCPU() time.Duration { return 0 }

// reportCPU reports nothing here.
func reportCPU(*testing.B, time.Duration) {}

//go:build race

package sstable

// raceEnabled shortens the long single-goroutine loops under the race
// detector, which slows them tenfold without finding anything in them.
const raceEnabled = true

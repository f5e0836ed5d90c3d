//go:build race

package collections

const raceEnabled = true

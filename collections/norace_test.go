//go:build !race

package collections

const raceEnabled = false

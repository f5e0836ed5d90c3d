//go:build !race

package collections

const checkInvariants = false

//go:build !race

package offheap

const poisonFreed = false

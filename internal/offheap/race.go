//go:build race

package offheap

// poisonFreed: see the package doc.
const poisonFreed = true

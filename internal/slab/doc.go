// Package slab allocates byte buffers outside the Go heap in size classes,
// and frees them explicitly: the memory of the block cache's data blocks.
//
// Who may use it: the block cache (package sstable) and nothing else today;
// nothing outside the module.
//
// Why: a buffer on the Go heap costs up to (1 + GOGC/100) times its size in
// resident memory, since the collector lets the heap grow that far past the
// live heap before it collects. A block cache is live for the DB's life, so
// a 64 MiB cache on the heap costs up to 128 MiB. Package offheap gives
// memory outside the heap, one mapping per buffer; a mapping per 4 KiB
// data block costs two system calls and a page fault per cache miss, and a
// mapping per cached block. An Allocator instead carves buffers out of slabs
// of up to 128 KiB (less for small caches, see New), one mapping each, a
// slab per size class:
//
//	size classes: 16 per doubling from 256 bytes to 32 KiB, so a buffer
//	              wastes at most 1/16 of its size (a 4,200-byte block takes
//	              a 4,352-byte slot)
//	slab:         16-128 KiB (or 8 slots when larger), one offheap mapping,
//	              its pages mapped at once (offheap.AllocPopulated): a
//	              slab is made when its class needs a slot, and a growing
//	              cache fills the rest soon
//	              +--------+--------+--------+-- ... --+--------+
//	              | slot 0 | slot 1 | slot 2 |         | slot n |
//	              +--------+--------+--------+-- ... --+--------+
//	larger:       a buffer above 32 KiB gets a mapping of its own
//	long-lived:   AllocLong (a table's point index or filter) gives one
//	              from 8 KiB up a mapping of its own: few of them share
//	              a class, and each class holds a whole slab
//
// A freed slot goes back to its slab's free list and is handed out again by
// the next allocation of its class. A slab all of whose slots are free is
// unmapped, but for one empty slab kept per class so that a class whose use
// hovers at a slab boundary does not map and unmap a slab per allocation.
//
// Memory held: the slots in use, plus per class the free slots of partly used
// slabs and at most one empty slab. A cache at its capacity frees a slot for
// each one it fills, of about the same sizes, so its slabs stay nearly full.
//
// The invariants build (see package invariants) gives every buffer its own
// offheap mapping instead, which under the race detector is made
// inaccessible when freed: a use after free faults at once instead of
// reading a slot handed out again. It also checks every Free: a buffer freed
// twice, or not from this Allocator, panics.
//
// Where package offheap falls back to the Go heap (Windows, Plan 9, wasm),
// so do the slabs: the collector reclaims a slab once it is freed and nothing
// points into it.
package slab

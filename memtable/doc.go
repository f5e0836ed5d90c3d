// Package memtable is Strata's in-memory sorted table: a skiplist over
// internal keys (keys.Compare order: user key ascending, then trailer
// descending, so the newest version of a key comes first) whose nodes, keys
// and values all live in one preallocated byte arena.
//
// Nodes refer to each other by uint32 arena offsets, not Go pointers, so a
// 64 MiB memtable holding millions of entries is one pointer-free
// allocation the garbage collector never scans, and Add allocates nothing.
// Nothing here is written to disk; the layout below is in-memory only and
// may change freely.
//
// # Concurrency
//
// One goroutine adds at a time (the commit pipeline serialises inserts);
// any number of goroutines call Get and iterate concurrently without a lock.
// The writer copies a node's bytes into unused arena space, then links it
// with atomic stores of 4-byte offsets, level 0 first; readers follow links
// with atomic loads, so a reader that sees a link sees the bytes behind it.
//
// # Arena layout
//
// The arena starts with the head node (a full tower, empty key), then nodes
// in insertion order, each padded to 4 bytes so every link word is aligned.
// A node is addressed by the offset n of its prev word; offset 0 is never a
// node and means nil. Tower heights are random with p = 1/2 per level, at
// most 20 (see maxHeight and skiplist for the measurements behind both):
//
//	         n-4h            n        n+4      n+8      n+12
//	+--------+-----+--------+--------+--------+--------+--------------+-------+-----+
//	| next   | ... | next   | prev   | keyLen | valLen | internal key | value | pad |
//	| [h-1]  |     | [0]    | uint32 | uint32 | uint32 | ukey+trailer |       | 0-3 |
//	+--------+-----+--------+--------+--------+--------+--------------+-------+-----+
//	  4 bytes each, level i at n-4(i+1)       (native endian)
//
// next[i] is the offset of the following node at level i (0 at the end);
// prev is the preceding node at level 0, a hint that may lag by the node
// being inserted, which Iterator.Prev corrects by walking forward. The
// internal key is stored exactly as keys.MakeKey builds it, so Iterator.Key
// returns a slice of the arena.
//
// # Example
//
// An empty table uses 92 bytes: the head's 20 tower words and its header,
// head n = 80. Add("apple", 9, SET, "red") then drawing height 1 places its
// node right after the head and takes 4·1 + 12 + 13 + 3 = 32 bytes, n = 96:
//
//	 92: next[0] = 0              (last node so far)
//	 96: prev    = 80             (the head)
//	100: keyLen  = 13             ("apple" + 8-byte trailer)
//	104: valLen  = 3
//	108: 61 70 70 6c 65  01 09 00 00 00 00 00 00   "apple", 9<<8|1 LE
//	121: 72 65 64                                  "red"
//	124: the next node (no padding: 32 is a multiple of 4)
//
// EntrySize(5, 3) reports 4·20 + 12 + 13 + 3 = 108 bytes, the worst case.
package memtable

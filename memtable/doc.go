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
//	      n-12h                n        n+4      n+8      n+12
//	+--------+-----------+-----+--------+--------+--------+--------------+-------+-----+
//	| next   | nextPfx   | ... | prev   | keyLen | valLen | internal key | value | pad |
//	| [h-1]  | [h-1]     |     | uint32 | uint32 | uint32 | ukey+trailer |       | 0-3 |
//	+--------+-----------+-----+--------+--------+--------+--------------+-------+-----+
//	  12 bytes a level: level i at n-12(i+1): next (uint32, native endian)
//	  then nextPfx (uint64, little endian)
//
// next[i] is the offset of the following node at level i (0 at the end);
// nextPfx[i] holds the first 8 bytes of that node's user key, big-endian
// and zero-padded, so an insert can pass a successor whose prefix exceeds
// its key's without reading the successor (a cache miss on a big table);
// only the writer uses it. prev is the preceding node at level 0, a hint
// that may lag by the node being inserted, which Iterator.Prev corrects by
// walking forward. The internal key is stored exactly as keys.MakeKey
// builds it, so Iterator.Key returns a slice of the arena.
//
// # Example
//
// An empty table uses 252 bytes: the head's 20 tower entries and its
// header, head n = 240. Add("apple", 9, SET, "red") then drawing height 1
// places its node right after the head and takes 12·1 + 12 + 13 + 3 = 40
// bytes, n = 264:
//
//	252: next[0]    = 0           (last node so far)
//	256: nextPfx[0] = 0
//	264: prev       = 240         (the head)
//	268: keyLen     = 13          ("apple" + 8-byte trailer)
//	272: valLen     = 3
//	276: 61 70 70 6c 65  01 09 00 00 00 00 00 00   "apple", 9<<8|1 LE
//	289: 72 65 64                                  "red"
//	292: the next node (no padding: 40 is a multiple of 4)
//
// and the head's level-0 entry now holds next = 264 and nextPfx =
// 0x6170706c65000000 ("apple" padded). EntrySize(5, 3) reports
// 12·20 + 12 + 13 + 3 = 268 bytes, the worst case.
package memtable

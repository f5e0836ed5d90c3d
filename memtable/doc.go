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
// Who may use it: package lsm, whose DB keeps its writes in memtables, and
// tests and benchmarks of the engine. Its exported API is self-contained
// (sequence numbers and kinds come from package keys, tombstone lists from
// package rangedel), so a program outside the module can build and read a
// memtable, but it gets no durability from it: that is the WAL's job, in
// package lsm.
//
// # Concurrency
//
// Writers add one of two ways, never both at once: Add from one goroutine
// at a time, or AddConcurrent from several (the DB's commit leader and its
// apply helper share a large group that way); the invariants build checks
// it. Any number of goroutines call Get and iterate concurrently without a
// lock. A writer copies a node's bytes into arena space it reserved, then
// links it level 0 first, each link one 8-byte word (offset and tag)
// written with an atomic store (Add) or compare-and-swap (AddConcurrent);
// readers follow links with atomic loads, so a reader that sees a link sees
// the bytes behind it.
//
// # Staging
//
// A memtable from NewStaged (the DB's mutable memtable, when it has a
// second core) takes its inserts into a small front list, 1 MiB for the
// default 64 MiB memtable, which stays in the CPU cache; a random insert
// into the big main list misses it at most levels below the top. A full
// front is sealed and a background goroutine copies it into the main list
// in key order, each node with the tower height it had, so each copy starts
// from the last one's neighbours (a finger search) and the main list ends
// up exactly the size the fronts were. Reads look in the front, the sealed
// fronts newest first, then the main list; Finish, called before a flush,
// leaves everything in the main list (staged.go). A group of entries that
// needs half a front or more (large values) skips the front: once the
// sealed fronts are copied it goes straight into the main list, its bytes
// copied once instead of twice.
//
// # Range tombstones
//
// AddRangeDelete records a range tombstone beside the skiplist, not in it
// (rangedel.go): a mutex-guarded slice of tombstones, fragmented (package
// rangedel) when a reader first asks after a change, and published
// as an immutable List. A staged memtable keeps them the same way, so
// staging does not affect them. Their bytes count in Size and each one in
// Count, so a memtable holding only a tombstone is flushed.
//
// # Arena layout
//
// The arena starts with the head node (a full tower, empty key); in a
// memtable of 1 MiB or more the key filter follows it (one 8-byte word per
// KiB of capacity, rounded down to a power of two: 512 KiB for 64 MiB),
// then the key index (one 4-byte slot per 64 bytes of capacity, rounded
// down to a power of two: 4 MiB for 64 MiB), then come nodes in insertion
// order, each padded to 8 bytes so every link word is aligned.
// Values are stored apart, filling the arena from its end backwards, so that
// a search, which reads only towers and keys, walks through densely packed
// nodes; nodes and values meet somewhere in the middle when the table is
// full. A node is addressed by
// the offset n of its prev word; offset 0 is never a node and means nil.
// Tower heights are random with p = 1/2 per level, at most 20 (see
// maxHeight and skiplist for the measurements behind both):
//
//	   n-8h               n        n+4      n+8      n+12     n+16
//	+-----------+-----+-----------+--------+--------+--------+--------+--------------+-----+
//	| link[h-1] | ... | link[0]   | prev   | keyLen | valLen | valOff | internal key | pad |
//	| next|tag  |     | next|tag  | uint32 | uint32 | uint32 | uint32 | ukey+trailer | 0-7 |
//	+-----------+-----+-----------+--------+--------+--------+--------+--------------+-----+
//	  8 bytes a level, level i at n-8(i+1): one uint64, next offset in the
//	  low 32 bits, the successor's tag in the high 32 (native endian);
//	  the value is valLen bytes at valOff, in the arena's value end
//
// link[i] holds the offset of the following node at level i (0 at the end)
// and a tag saying how that node's user key differs from this node's, in one
// word that is loaded and stored atomically:
//
//	 31        26 25  24 23                 0
//	+------------+------+--------------------+
//	|     m      |  k   |  successor[m:m+k]  |
//	+------------+------+--------------------+
//	  m: length of the common prefix of the two user keys (63: 63 or more)
//	  k: bytes the successor's key has from m on, at most 3; they follow,
//	     big-endian, zero-padded
//
// A search that knows the length lx of the prefix its key shares with the
// node it stands on decides a step from the tag alone in most cases: lx > m
// means the successor sorts after the key, lx < m that it sorts before (and
// shares lx bytes with the key), and lx = m is decided by the next 3 bytes
// unless they are equal too. So a search reads a successor's key (a likely
// cache miss on a big table) only on such ties, whatever prefix the keys
// share: decimal or "user:..." keys that all start alike search as cheaply
// as random bytes.
//
// prev is the preceding node at level 0, a hint that may lag by the node being inserted, which
// Iterator.Prev corrects by walking forward. The internal key is stored
// exactly as keys.MakeKey builds it, so Iterator.Key returns a slice of the
// arena.
//
// # Key filter
//
// A point lookup tests the user key against a blocked bloom filter before
// it searches the main list: the key's hash (hash/maphash, one seed per
// process) picks a word by its high 32 bits and four of its 64 bits by the
// low 24; every bit set means the key may be there. Add sets the bits
// before it links the entry, so no entry the lookup must see is missed.
// About 10 bits per key with 16-byte keys and 100-byte values: some 1-2%
// of the lookups of absent keys still search. add sets the memtable's bits
// whichever list the entry goes to, so the lookup tests this filter first
// and a key it has not seen skips the fronts too. Each front also has a
// filter of its own, the same kind, in its arena after its head (one bit
// per 8 bytes of front: 16 KiB for 1 MiB, on top of the front's capacity),
// so that a key of the main list (most keys a lookup finds once a memtable
// fills) skips the fronts, each a search of some fifteen levels.
//
// # Key index
//
// A lookup the filter lets through then probes a hash table of the user
// keys (index.go) before it searches: open addressing, linear probing, at
// most 32 slots (two cache lines) from the one the hash's low bits pick.
// A slot is one 32-bit word, zero when empty:
//
//	 31              tagBits  tagBits-1      0
//	+------------------------+----------------+
//	|   node offset / 8      |  hash bits 32+ |
//	+------------------------+----------------+
//	  tagBits = 32 - bits of (capacity-1)/8: 9 for 64 MiB
//
// An insert fills or replaces its key's slot after linking the node, with
// a compare-and-swap, keeping the version with the largest trailer; slots
// are never emptied. A lookup at seq uses the slot's node when that node's
// seq is <= seq (the newest version, a read of the latest data), else (an
// older snapshot) or when the key is not indexed (its probe run was full)
// it searches the skiplist. One slot read and one node read replace a
// descent of some twenty cache misses on a full 64 MiB table
// (BenchmarkGet). Fronts have no index.
//
// # Example
//
// An empty table of 4 KiB (no filter) uses 176 bytes: the head's 20 links and its header, head
// n = 160. Add("apple", 9, SET, "red") then drawing height 1 places its node
// right after the head, 8·1 + 16 + 13 = 37 bytes padded to 40, n = 184, and
// "red" in the last 3 bytes of the 4 KiB arena, 219 bytes in all:
//
//	176: link[0] = 0              (last node so far)
//	184: prev    = 160            (the head)
//	188: keyLen  = 13             ("apple" + 8-byte trailer)
//	192: valLen  = 3
//	196: valOff  = 4093           (4096 - 3)
//	200: 61 70 70 6c 65  01 09 00 00 00 00 00 00   "apple", 9<<8|1 LE
//	213: 3 bytes of padding; the next node's tower starts at 216
//
// and the head's link[0] (at 152) now holds next = 184, tag 0x03617070
// (m = 0 bytes shared with the head's empty key, k = 3, "app").
// EntrySize(5, 3) reports 8·20 + 16 + 13 = 189, padded to 192, plus 3 for
// the value: 195 bytes, the worst case.
package memtable

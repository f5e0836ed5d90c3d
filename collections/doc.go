// Package collections stores Redis's data types (strings, hashes, lists,
// sets and sorted sets) in an lsm.DB, with Redis 7.0's semantics, for Go
// programs and for strata-server. Collections may be far larger than memory:
// every element is its own engine key, and no operation loads a whole
// collection unless its reply is the whole collection.
//
//	db, _ := lsm.Open("data", nil)
//	store := collections.New(db)
//	defer store.Close()
//	store.HSet([]byte("user:42"), []byte("name"), []byte("Ada"))
//	store.Expire([]byte("user:42"), time.Hour)
//	store.ZAdd([]byte("board"), collections.ZAddArgs{}, collections.Z{Score: 310, Member: []byte("ada")})
//	top, _ := store.ZRevRange([]byte("board"), 0, 9)
//
// Method names are go-redis's; meanings, return values and edge cases are
// Redis's: negative indexes count from the end, out-of-range indexes are
// clamped as Redis clamps them, a collection that loses its last element
// disappears, and a key of another type is ErrWrongType. Each error's text is
// Redis's error reply, so a server can send it as it is.
//
// # One namespace, three doors
//
// A key holds one type at a time. A string is a plain engine key: SET k v
// through this package is exactly db.Put(k, v), with the same TTL, so Go code,
// kvctl and strata-server see one value; a key written with db.Put is the
// string type here. Delete, Exists, Type, Expire, TTL, Persist and Rename
// treat every type alike.
//
// Since string names are arbitrary bytes and are themselves engine keys, the
// package must take some engine keys for itself. It takes exactly those
// starting with the byte 0xFF, and nothing else:
//
//   - A string whose name does not start with 0xFF (and is not empty) is
//     stored under its own name, so no collection key can collide with it:
//     every collection key starts with 0xFF.
//   - A string whose name is empty or starts with 0xFF is stored under
//     0xFF 's' name. It is a string in every way here, but db.Get(name) does
//     not see it (db.Get of an empty key is an error anyway).
//   - Go code that writes raw keys starting with 0xFF on a DB that also holds
//     collections writes into the package's space; what it reads back then
//     is undefined (a damaged metadata value is reported as lsm.ErrCorruption,
//     never a panic).
//
// 0xFF was chosen because no UTF-8 text contains it, so text keys never meet
// the reserved space, and because it sorts last: a raw scan of text keys stops
// before the package's keys.
//
// Raw writes and collections of the same name: db.Put(k) over a collection k
// makes k a string (a string beats collection metadata of the same name, as
// SET replaces any type); the next write to k through the Store, or a Delete,
// removes the stale collection. A raw db.Delete(k) that follows such a
// db.Put, with no Store write between them, uncovers the old collection
// again: names that may hold collections should be deleted through the Store.
//
// # Engine keys, byte by byte
//
// Metadata: one engine key per collection, holding its type and ID. Its
// expiry is the engine's own entry expiry (lsm's WithTTL), so the engine
// judges when a collection expires, against the DB's Options.Clock, and
// strata-server, kvctl and Go see one TTL.
//
//	key:   +------+-----+------------------+
//	       | 0xFF | 'm' | name             |
//	       +------+-----+------------------+
//	value: +------+------+---------------+---------------------------+
//	       | 0x01 | type | ID (8, BE)    | indexed expiry (8, BE)    |
//	       +------+------+---------------+---------------------------+
//	       version; type 2 hash, 3 list, 4 set, 5 zset; the last field only
//	       while the collection has a TTL (see Expiry index)
//
// Data: every other key of a collection starts with 0xFF 'd' and its 8-byte
// ID, so all of a collection is one contiguous engine range, and a range read
// is one iterator seek. The ID is unique in the DB forever (below), so the
// name is not in data keys: Rename moves the metadata alone.
//
//	+------+-----+------------+-----+---------------------------------------+
//	| 0xFF | 'd' | ID (8, BE) | sub | rest                                  |
//	+------+-----+------------+-----+---------------------------------------+
//	sub 0x00  header: hash/set/zset | size (8) |, list | head (8) | tail (8) |
//	sub 0x01  hash:  field            -> value
//	          set:   member           -> empty
//	          list:  sequence (8, BE) -> element
//	          zset:  member           -> score (IEEE 754 bits, 8, BE)
//	sub 0x02  zset score index: sortable score (8) member -> empty
//	sub 0x03  zset rank nodes, level 1: lower bound -> counts
//	sub 0x04  zset rank nodes, level 2: lower bound -> counts
//
// The size is in the header, not in the metadata, so that writing an element
// never rewrites the metadata: rewriting an entry with a TTL would need the
// remaining TTL as a duration, and the engine's clock moves between reading
// it and writing it. Only Expire, Persist and Rename write metadata.
//
// Worked example: HSET user:42 name Ada on an empty DB (collection ID 1):
//
//	FF 6D 75 73 65 72 3A 34 32                  -> 01 02 00 00 00 00 00 00 00 01
//	   'm' u  s  e  r  :  4  2                     v1 hash ID 1
//	FF 64 00 00 00 00 00 00 00 01 00            -> 00 00 00 00 00 00 00 01
//	   'd' ID 1                   header           size 1
//	FF 64 00 00 00 00 00 00 00 01 01 6E 61 6D 65 -> 41 64 61
//	   'd' ID 1                   elem n  a  m  e     A  d  a
//
// A list's elements sit at sequence numbers head..tail-1 with no gaps: LPUSH
// takes head-1, RPUSH tail; a new list starts in the middle of the uint64
// range (2^63). LINDEX and LSET are one point read or write, LRANGE one seek,
// LTRIM at most two range deletes (point deletes for runs of fewer than
// 512); LINSERT and LREM shift the shorter side.
//
// Sortable scores: the float64 bits, with the sign bit flipped for positive
// numbers and every bit flipped for negative ones, big-endian: bytewise order
// is Redis's score order, -inf first and +inf last; -0 is stored as +0 (Redis
// compares them equal); NaN is refused. Equal scores order by member bytes,
// as the member follows the score in the index key.
//
// Rank nodes: ZRANK, ZRANGE by rank and ZCOUNT need to count index entries
// without walking them. The score index is cut into level-1 nodes of up to
// 128 entries; each node is a key whose suffix is the exclusive upper bound
// of the index suffixes it covers (its lower bound is the bound of the node
// before it; the last node's bound is eight 0xFF bytes, above every score)
// and whose value counts its entries. Level-2 nodes group up to 512
// level-1 nodes the same way and count both entries and children; every
// level-2 bound is also a level-1 bound.
//
//	key:   | 0xFF 'd' ID (8) | 0x03 or 0x04 | upper bound: sortable score (8) member |
//	value: | entries (8, BE) | children (8, BE) (level 2 only)                       |
//
// The node holding an entry is the first node above it: one forward seek.
// The rank of an entry is the sum of the counts of the level-2 nodes before
// its own, plus those of the level-1 nodes before its own within it, plus
// its position in its level-1 node. Adding an entry increments one node per
// level and splits a node that grows past its limit into two halves;
// removing one decrements, and a node left empty goes (the last child of a
// level-2 node stays as its boundary while that node lives). Node keys are
// rewritten on every change, so walks over them hop with seeks, which land
// on the newest version, instead of stepping over older ones.
//
// The nodes of every sorted set in use of more than 128 members are also
// mirrored in memory (Options.RankCacheSize, least recently used out
// first): loaded from the engine once, changed with the keys under the
// set's write lock, and dropped if the Tx changing them does not commit.
// With a mirror, a rank costs two binary searches and a sum of the counts
// before them in memory (one addition per level-2 node, at most n/16,000,
// and per level-1 node within one level-2 node, at most 512), plus at most
// 128 index entries read in order; the engine's node keys stay the truth,
// and a crash loses nothing but the mirror.
//
// A set of at most 128 members needs neither its nodes nor a mirror to be
// read: its ranks are positions in its index, counted by walking it (a
// ZRANK of a set with no mirror first looks for the member among the 128
// entries at the end it counts from, and so reads neither the size nor
// the score). Its writes keep the nodes as for any set, but need not read
// them when the set has only the top node of each level (a new set, or
// one whose top level-1 node counts every member: then, since a node left
// empty goes, there is no other): both counts are then the set's size.
//
// The ID high-water mark, 0xFF 'i', holds the next ID not yet reserved;
// a Store reserves IDs 4,096 at a time and makes the new mark durable before
// it hands out any ID below it, so an ID is never reused, even after a
// crash or a clock set back. Stale data of an old ID can therefore never
// show through a new collection, whatever was or was not cleaned up.
//
// Expiry index: while a collection has a TTL, an entry
//
//	key:   | 0xFF | 'x' | expiry (8, BE, Unix ns) | ID (8, BE) |
//	value: | name |
//
// lets ReclaimExpired (run in the background every second by default) find
// collections whose TTL has passed in expiry order, without scanning, and
// range-delete their data. The metadata records the entry's time so that
// Expire, Persist, Rename and Delete update or remove exactly that entry.
//
// # Delete and expiry cost O(1)
//
// A collection's data is one engine range, and its ID is unique: Delete
// (and SET over a collection, or RENAME onto one) of a collection of
// 512 elements or more writes one metadata tombstone and one range delete
// (lsm's DeleteRange: one range tombstone in the WAL, the memtable and
// then the tables), whatever the size. Expiry costs nothing at the moment
// of expiry: the engine hides the metadata, and with it the whole
// collection, since every read starts at the metadata. The reclaimer then
// deletes the data the same way. Compaction drops what a range tombstone
// covers, so the space comes back.
//
// The design is unique IDs and range deletes together. Versioning alone
// (a new ID per collection, old data left behind) makes deletion O(1) too,
// but the dead elements would stay on disk until something scanned for
// them; range deletes alone would need one at every creation to clear
// what an expired predecessor of the same name left. Together,
// correctness never depends on cleanup, and cleanup is one range delete
// per dead collection.
//
// Below 512 elements (rangeDeleteMin) the data goes key by key instead: at
// most about a thousand point deletes, read through one seek, so the cost
// stays bounded. The engine's memtable keeps range tombstones in a list
// that it re-fragments on the first read after each change, which is
// cheap for a few tombstones and costs every read once there are
// thousands; a job queue that empties on each RPOP, a capped feed trimmed
// by one element per LPUSH, or sessions deleted by the thousand would
// otherwise leave one range tombstone each (measured: 870 us per
// LPUSH+RPOP pair with one range delete per pop, 16 us without). A
// collection that an operation empties (the last HDEL, SREM, ZREM, pop)
// has no elements left to delete: its header and, for a sorted set, its
// two top rank nodes go with point deletes. Lists know their elements'
// keys, so LTRIM, LREM and popping many delete runs of fewer than 512 by
// point deletes without reading them, and longer runs by one range delete.
//
// A range tombstone gives space back only once it is in a table, where
// the engine's compaction picker counts the bytes it covers: after range
// deletes have dropped Options.DeleteFlushElements elements, the Store
// flushes the memtable in the background, so a quiet DB gets the space of
// a deleted or expired collection back within seconds, not when writes
// next fill the memtable.
//
// # Concurrency
//
// Every operation is atomic with respect to every other operation of the
// Store: it runs as a Tx holding the locks of its keys (1,024 striped
// read-write locks chosen by a hash of the name; shared to read, exclusive
// to write, taken in stripe order so multi-key operations cannot deadlock),
// reads through the Tx, and commits everything it wrote as one lsm batch
// before releasing them. Operations on different keys run in parallel and
// share the engine's group commit. Update takes one more lock, a read-write
// lock every operation holds shared, exclusively: nothing else runs while
// its function does, as Redis runs MULTI/EXEC and scripts; UpdateKeys locks
// only the keys it is given. A Tx sees its own writes (an ordered overlay
// merged into its reads and iterators), and its batch is one WAL record:
// after a crash all of it is there or none.
//
// Writes from outside the Store (db.Put on a string key) are not locked
// out. A Tx that read a string and rewrites it commits with lsm's IfValue or
// IfAbsent condition on what it read, and runs again if the condition fails,
// so INCR, APPEND and the rest stay atomic against raw writes too. Store's
// IncrBy goes through the engine's own Increment, keeping the TTL exact.
//
// OnTouch reports the names every committed write modified, before its
// locks are released: a server marks WATCHed keys dirty and wakes clients
// blocked on a list there.
//
// # Metadata cache
//
// Every operation on a collection starts by resolving its name: a probe
// for a string of the name (a string wins, see above), then the metadata.
// The Store keeps the metadata of collections without a TTL in memory
// (Options.MetaCacheSize, 64 MiB by default, entries replaced as below
// past it; a negative size turns it off), so that a read or write of a
// cached collection skips the metadata's engine lookup: HGET, SISMEMBER
// and ZSCORE make two lookups instead of three. The cache is
// set-associative: per shard, an array of sets of four 56-byte entries
// (a hash of the name, the type, the ID and the name itself: names of up
// to 38 bytes; longer ones are not cached), a name's set chosen by its
// hash, a full set's victim by the hash too. It holds no pointer (nothing
// for the garbage collector to scan) and, once a shard's array exists,
// allocates nothing, and never grows past its size.
//
// The cache is exact, for every operation of the Store. An entry is
// filled by a Tx that holds its name's lock and read the metadata from the
// engine with nothing of its own pending over it, and by the commit of a
// Tx that wrote it; the commit of any write of a metadata key (creating,
// emptying or deleting a collection, SET over it, EXPIRE, PERSIST, RENAME,
// a transaction doing any of these) updates or removes the
// entry before the writer's locks are released, a failed commit removes
// it, and a range delete over the metadata keys (FlushAll) clears the
// cache. A collection with a TTL is not cached: its metadata is an engine
// entry that expires by itself, and a copy would outlive it. What the
// cache does not see: a second Store over the same DB (use one, as the
// locks already require), and raw writes into the package's reserved
// keys (undefined anyway).
//
// Raw writes of strings (db.Put from Go code) are seen as before: the
// probe for a string of the name stays, so a cached read costs two
// lookups. Options.SoleWriter promises that nothing but the Store writes
// the DB (strata-server's binary sets it); a read of a cached collection
// then skips the probe too, and costs one lookup, the element's. Under
// that promise a string and a collection of one name never coexist, since
// every Store write of a string deletes a collection of its name in the
// same commit. A name whose string would lie in the reserved keys (empty,
// or starting with 0xFF) skips the probe whatever the option. Race builds
// check every cache hit against the engine.
//
// # Costs
//
// In engine operations (a point read, a seek, a step of an iterator, one
// batch write):
//
//	SET (no NX, XX, GET, KEEPTTL)   metadata existence check (bloom-filtered), one write;
//	                                the old string is not read
//	HGET HEXISTS SISMEMBER ZSCORE   string probe + metadata read + one point read; the
//	                                element's point read alone with the metadata cached
//	                                (see Metadata cache) and Options.SoleWriter
//	HSET SADD HDEL SREM (k items)   k point reads, one batch
//	LPUSH RPUSH LPOP RPOP           header read, one batch; LINDEX LSET: one point read or write
//	LRANGE start stop               one seek, then the elements returned: O(count), not O(start)
//	LTRIM, LPOP/RPOP with a count   at most two range deletes (runs under 512: point deletes)
//	LINSERT LREM LPOS               O(n) as in Redis (LINSERT and LREM move the shorter side)
//	ZADD ZREM ZINCRBY               member read, index write, two node updates (in memory
//	                                with the set's mirror; up to 128 members, the top
//	                                nodes' point read, none for a new set), one batch;
//	                                nothing but the member read if the score stays
//	ZRANK ZREVRANK ZCOUNT           a sum over the mirrored nodes in memory (or, without a
//	                                mirror, one seek per level-2 node before it, about
//	                                n/16,000 at most after inserts, and up to 512 over
//	                                level-1 nodes) plus at most 128 index entries in order;
//	                                up to 128 members, a walk of the index entries alone
//	ZRANGE by rank, ZPOPMIN/MAX     the same to reach the first rank (none near either
//	                                end, nor a header read from the first 128 ranks of
//	                                either end), then the members returned
//	ZRANGEBYSCORE, ZRANGEBYLEX      one seek, then the members returned (a long LIMIT
//	                                offset is reached by rank)
//	HGETALL SMEMBERS (and HIter,    one seek and the elements; the Iter forms stream them
//	SIter, LIter, ZIter)            without holding them in memory
//	DEL, EXPIRE's end, SET over a   one range delete (and the expiry index entry); under
//	collection                      512 elements, one seek and a point delete per key
//	RENAME                          moves the metadata only
//	DBSIZE                          O(keys): it counts (Redis: O(1))
//
// # Differences from Redis
//
//   - HGETALL, HKEYS, HVALS, SMEMBERS, SINTER, SUNION and SDIFF answer in
//     byte order (Redis: no defined order).
//   - SPOP, SRANDMEMBER, HRANDFIELD and ZRANDMEMBER choose uniformly among
//     up to 512 elements; in a larger collection they descend the key space
//     with seeks, so every element can be chosen but not all equally often.
//   - A score of -0 is stored as 0 (Redis keeps -0, and compares it equal).
//   - Members and fields are at most MaxElementSize bytes (64 KiB less a
//     few), names MaxNameSize, values lsm.MaxValueSize (256 MiB): the
//     engine's key and value limits (Redis: 512 MB).
//   - ZRANGEBYLEX and ZLEXCOUNT are meant for sets of one score, as in
//     Redis; on mixed scores Redis's answer is unspecified, and this one
//     takes every score to be the first member's.
//   - Blocking pops, WATCH and keyspace events are the server's, built on
//     OnTouch (a key that expires reports no touch).
//
// # Clock
//
// Expiry is judged by the engine against the DB's Options.Clock. The Store
// needs the same clock to turn absolute times into TTLs and back (lsm does
// not export it): pass it in Options.Clock. A Tx reads the clock once, when
// it begins. Writes that keep a key's TTL while rewriting its value (APPEND,
// SETRANGE, SET KEEPTTL, INCR inside Update, RENAME) give lsm the remaining
// time as a duration; the key's expiry then moves later by the time between
// the Tx's clock read and the engine's commit (microseconds).
package collections

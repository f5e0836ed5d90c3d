// Package server serves the Redis protocol (RESP2 and RESP3) over a Strata
// database, so the clients people already use (redis-cli, redis-py,
// go-redis, ...) work against data that lives on disk. The binary is
// cmd/strata-server; a Go program can serve its own *lsm.DB:
//
//	db, _ := lsm.Open(dir, nil)
//	srv, _ := server.New(db, &server.Options{Port: 6380})
//	go srv.ListenAndServe()
//	...
//	srv.Shutdown(ctx) // finishes the commands in flight
//	db.Close()
//
// The contract is SERVER.md: every command behaves as Redis 7.0's, reply
// for reply, unless said otherwise. The differential tests (diff_test.go)
// hold this server to it against a real redis-server.
//
// # The wire
//
// A request is an array of bulk strings, or an inline line (telnet):
//
//	*3\r\n $3\r\n SET\r\n $1\r\n k\r\n $5\r\n hello\r\n     (spaces added for reading)
//	 |       |    |
//	 |       |    +-- the bytes, then two bytes Redis skips unread
//	 |       +------- a bulk string: '$', its length, CRLF
//	 +--------------- the number of arguments
//
//	SET k "hello world"\r\n                       inline: split as redis-cli does
//
// Limits, as Redis's (Options): an argument is at most proto-max-bulk-len
// (512 MiB), a request at most MaxMultibulkLen arguments (1M), a client's
// unread input at most client-query-buffer-limit (1 GiB); an inline line or
// a header line at most 64 KiB; before AUTH, 10 arguments of 16 KiB. A
// client over a limit gets Redis's "-ERR Protocol error: ..." (or, for the
// query buffer, nothing) and is disconnected; no other client notices.
//
// Replies are RESP2 until HELLO 3. RESP3's types and how RESP2 carries them:
//
//	RESP3            RESP2                  used by
//	%2 (map)         *4 (flat array)        HELLO, CONFIG GET, HGETALL
//	~2 (set)         *2                     COMMAND INFO flags, SMEMBERS
//	_  (null)        $-1 or *-1             GET of a missing key, EXEC aborted
//	,1.5 (double)    $3 1.5 (%.17g)         scores (ZSCORE, WITHSCORES)
//	#t (boolean)     :1                     scripts with redis.setresp(3)
//	=N txt:... (verbatim)  $N ...           INFO, CLIENT LIST, CLIENT INFO
//
// # The command table
//
// table.go: each family file (cmd_connection.go, cmd_server.go,
// cmd_keys.go, cmd_strings.go, cmd_hashes.go, cmd_lists.go, cmd_sets.go,
// cmd_zsets.go, cmd_tx.go, scripting.go, pubsub.go, mpop.go) declares its commands with
// def(name, arity, flags, categories, handler, doc, key specs...), and
// buildTable joins them. Arity errors, COMMAND and COMMAND
// INFO/COUNT/DOCS/LIST/GETKEYS, ACL categories (implicit ones derived from
// the flags as Redis derives them), MULTI queueing (no_multi), scripts
// (noscript, write), -BUSY (allow_busy), the keys a write locks and WATCH
// touches (key specs), commandstats and the slow log all come from it.
//
// A handler is func(*cmdCtx): it reads c.argv, writes its reply with c.w
// (a replyWriter in the client's protocol) and reads and writes data only
// through c.ks, a Keyspace. Argument checks run in the order Redis 7.0's
// do, so that the first error a request has is the one Redis answers.
//
// # Data access
//
// Every key lives in one collections.Store (Server.Store): strings are
// plain engine keys (SET k v is db.Put(k, v), so Go code and kvctl see the
// same value and TTL), hashes, lists, sets and sorted sets live under the
// package's 0xFF-prefixed encoding. Keyspace (keyspace.go) is everything a
// handler may do: the key and string operations the older handlers use
// (Type, Get, Expiry, Set, MSet, IncrBy, Delete, SetExpiry, Rename, Keys,
// Flush) and Data, the collections.Cmdable of every typed operation. One
// implementation, over either:
//
//   - the Store, for a command run alone: each call is one atomic Store
//     operation (one lsm batch);
//   - a collections.Tx, for EXEC and scripts: Server.update runs them in
//     Store.Update, so everything they write, strings and collections
//     mixed, reaches the WAL as one record (all or nothing after a crash),
//     and their reads see their own writes. KEYS and SCAN inside merge the
//     keys the transaction's commands may have written into the Store's
//     committed view;
//   - a collections.Tx for a run of pipelined plain writes (pipeline.go):
//     a client's consecutive SET (no options), HSET, HINCRBY, SADD,
//     LPUSH, RPUSH, LPOP, RPOP and MSET requests already read (and its
//     counters, in one batch of increments) run as EXEC runs its queue, in one
//     Store.UpdateKeys of their keys, and share one engine commit. A run
//     in which a command answers an error is dropped unwritten and goes
//     again one command at a time; so does one that pushes to a list
//     while any client is blocked (Redis serves a blocked client after
//     each push).
//
// The Store's OnTouch reports every key any write committed (the server's,
// or Go code's through Server.Store): it marks WATCHed keys dirty and wakes
// clients blocked on them (blocking.go) before the writer releases the
// keys.
//
// # Concurrency
//
// Each connection has a goroutine that reads requests, runs them one after
// another and writes the replies, flushing when its pipeline is drained or
// 64 KiB of replies wait. Replies are written with no lock held, so a slow
// reader blocks only its own goroutine (and, its input unread, cannot make
// the server buffer more).
//
// Commands are ordered by the Store's own locks (each operation holds its
// keys' stripe locks; Update holds them all) and by two of the server's:
//
//   - the gate (dispatch.go), a readers-writer lock. A lone write command
//     and a script that keeps to its KEYS hold it shared; EXEC, FLUSHALL
//     and a script that names other keys hold it exclusively (scripting.go). A
//     waiting exclusive holder stops new shared ones, and a script past
//     lua-time-limit makes waiters answer -BUSY.
//   - 16384 key stripes. A lone write command locks the stripes of the keys
//     its key specs name, in stripe order, so handlers that make several
//     Store calls (SET ... GET, GETEX, EXPIRE GT, APPEND, ...) are atomic
//     against every other server client. A write of one Store call (a
//     plain SET) is atomic without them but takes them all the same:
//     otherwise it could land between another client's two calls (APPEND's
//     read and write) and be lost. They could go only once every write
//     handler is one Store call.
//
// Read-only commands take neither: each makes one Store operation (MGET,
// EXISTS and SINTER read all their keys in one), which waits for an Update
// holding its keys. Keyless reads (KEYS, SCAN, DBSIZE, RANDOMKEY, INFO)
// walk an engine snapshot and never hold back writers.
//
// Writes made by Go code straight to the DB (db.Put of a string) are
// atomic on their own, and a Store transaction that rewrites a string they
// changed runs again (Store.Update). WATCH notices them too: EXEC compares
// each watched key's type, value and expiry with what WATCH saw, besides
// the marks OnTouch leaves. Options.SoleWriter promises there are none
// (the binary's case): a collection read then skips the probe for a
// string of its name when the Store has the collection's metadata cached.
//
// A blocked client (BLPOP and the like, blocking.go) holds no lock while
// it waits; the client whose write fills a list it waits on serves it
// before that client's next command, oldest waiter first, as Redis does.
// CLIENT UNBLOCK ends the wait as a timeout or an error.
//
// Pub/Sub (pubsub.go): a client that subscribes hands all its output to a
// queue of its own, sent by a writer goroutine, which publishers append
// messages to; its subscriptions reach the server's maps only once the
// confirmations before them are queued, so a message never overtakes the
// confirmation of its subscription. A subscriber 32 MB behind is closed.
//
// A script that runs past lua-time-limit makes other commands answer -BUSY
// (writers waiting on the gate are woken to answer it too); SCRIPT KILL
// stops a script that has not written, SHUTDOWN NOSAVE any script, whose
// writes, still in its transaction, are then dropped.
//
// # Users and permissions
//
// acl.go keeps ACL users in memory as Redis 7.0 has them: the "default"
// user (its password is requirepass) and those ACL SETUSER creates. Each
// command of the table has an id, and a user's state holds a bit per id
// (set by +cmd, -cmd and the categories the table gives each command), its
// key patterns (~, %R~, %W~), its channel patterns and its passwords as
// SHA-256 digests, compared in constant time. The state is immutable:
// ACL SETUSER builds a new one and swaps the user's pointer, so dispatch
// reads it without a lock, a client sees a change at its next command, and
// a user of +@all ~* &* (the default) costs dispatch one branch. A denied
// command or key answers -NOPERM before it runs or is queued in MULTI; a
// script's redis.call is checked against the caller's user. ACL DELUSER
// disconnects the deleted users' clients, and ACL SETUSER those
// subscribed to a channel their user no longer has. ACL LIST describes commands as
// Redis 7.0 does: +@all or -@all, the categories that bring a blank user
// nearest (greedily), then the single commands that still differ.
//
// # Durability
//
// A reply goes out only after its write reached the WAL (the engine's
// promise). appendfsync is carried out by the server on top of the DB's own
// SyncMode, so CONFIG SET appendfsync takes effect at once: under always,
// a connection's replies leave only after DB.Sync has fsynced every WAL
// byte written before them (client.flush), so a write command, EXEC,
// script or FLUSHALL is acknowledged once durable, and a reply that read
// someone else's write waits for that write to be durable too, as Redis
// sends an event-loop turn's replies after its fsync. Write commands, EXEC
// and scripts themselves do not fsync: a pipeline of writes, and the
// flushes of many connections at once, share one fsync (lsm: a Sync whose
// bytes an earlier fsync covered issues none). If the fsync fails, the
// replies are never sent and the connection is closed. everysec runs
// DB.Sync once a second; no adds nothing. The binary opens its DB with
// lsm.SyncNo so these are the whole policy. Go code reading the DB
// directly may see a write under always before it is fsynced.
//
// # Differences from Redis 7.0
//
// Keys are 1 to 65536 bytes and values at most 256 MiB (the engine's
// bounds); hash fields and set and sorted-set members a little under 64
// KiB; expiries past April 2262 are capped there. HGETALL, HKEYS, HVALS,
// SMEMBERS, SINTER, SUNION, SDIFF and the element scans answer in byte
// order (ZSCAN in member order); a score of -0 reads back as 0; the random
// picks of SPOP, SRANDMEMBER, HRANDFIELD and ZRANDMEMBER are uniform only
// up to 512 elements (collections/doc.go). DBSIZE counts the
// keys (O(N)); INFO keyspace counts up to a million. SCAN cursors are
// handles to a position the server remembers (the 65536 most recent), so an
// unknown cursor starts over. RANDOMKEY does not pick uniformly. INFO's
// fields are this server's (redis_version reads 7.0.0). Replication,
// cluster, modules, DEBUG, OBJECT, MONITOR, client-side caching and
// functions (but FUNCTION FLUSH) answer an error naming the feature. ACL:
// no selectors, no +cmd|firstarg of a plain command, ACL LOG is empty,
// users are not saved (ACL SAVE and LOAD answer Redis's error for a
// server without an ACL file).
package server

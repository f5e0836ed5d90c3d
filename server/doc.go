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
//	%2 (map)         *4 (flat array)        HELLO, CONFIG GET, COMMAND DOCS
//	~2 (set)         *2                     COMMAND INFO flags
//	_  (null)        $-1 or *-1             GET of a missing key, EXEC aborted
//	,1.5 (double)    $3 1.5 (%.17g)         scores
//	#t (boolean)     :1                     scripts with redis.setresp(3)
//	=N txt:... (verbatim)  $N ...           INFO, CLIENT LIST, CLIENT INFO
//
// # The command table
//
// table.go: each family file (cmd_connection.go, cmd_server.go,
// cmd_keys.go, cmd_strings.go, cmd_tx.go, cmd_scripting.go) declares its
// commands with def(name, arity, flags, categories, handler, doc, key
// specs...), and buildTable joins them. Arity errors, COMMAND and COMMAND
// INFO/COUNT/DOCS/LIST/GETKEYS, ACL categories (implicit ones derived from
// the flags as Redis derives them), MULTI queueing (no_multi), scripts
// (noscript, write), -BUSY (allow_busy), the keys a write locks and WATCH
// touches (key specs), commandstats and the slow log all come from it.
//
// A handler is func(*cmdCtx): it reads c.argv, writes its reply with c.w
// (a replyWriter in the client's protocol) and reads and writes data only
// through c.ks, a Keyspace.
//
// # Data access
//
// Keyspace (keyspace.go) is everything a handler may do to the data: Type,
// Get, Expiry, Set (with NX/XX, an expiry or KEEPTTL), MSet, IncrBy,
// Delete, SetExpiry, Rename, Scan, Flush. Two implementations:
//
//   - engineKeyspace, for a command run alone: each call goes straight to
//     the engine. SET NX is lsm.IfAbsent, SET XX lsm.IfPresent, EX/PX
//     lsm.WithTTL, INCR lsm.Increment, MSET and DEL one lsm.Batch,
//     FLUSHALL a range delete.
//   - txKeyspace (txn.go), for EXEC and scripts: one transaction. Its
//     writes go into one lsm.Batch applied at the end, so the WAL gets them
//     as one record (all or nothing after a crash); an overlay of the keys
//     it wrote lets its reads see its own writes.
//
// Server.update(fn func(Keyspace) error) is the one place a transaction
// is made. When the collections package lands, Keyspace gets an
// implementation over collections.Tx (type checks answer ErrWrongType),
// update becomes collections.Store.Update, and the hash, list, set and
// sorted set families (cmd_hashes.go, ...) add their slices to families()
// and reach the typed operations through c.ks; no handler of this package
// changes.
//
// # Concurrency
//
// Each connection has a goroutine that reads requests, runs them one after
// another and writes the replies, flushing when its pipeline is drained or
// 64 KiB of replies wait. Replies are written with no lock held, so a slow
// reader blocks only its own goroutine (and, its input unread, cannot make
// the server buffer more).
//
// Commands are ordered by two locks:
//
//   - the gate (dispatch.go), a readers-writer lock. A lone write command
//     holds it shared; EXEC, EVAL and FLUSHALL hold it exclusively, so no
//     other server write runs between a transaction's reads and its commit
//     (the engine applies the batch atomically, so readers never see half
//     of it). A waiting exclusive holder stops new shared ones.
//   - 256 key stripes. A lone write command locks the stripes of the keys
//     its key specs name, in stripe order, so read-modify-write commands
//     (APPEND, SETRANGE, INCRBYFLOAT, GETSET, RENAME, EXPIRE GT, ...) are
//     atomic against every other server client.
//
// Read-only commands take neither: each engine read is consistent on its
// own, and a read that runs while a transaction is open sees the data from
// before it, as if it had run first. Long reads (KEYS, SCAN, DBSIZE) thus
// never hold back writers.
//
// Writes made by Go code on the same DB, outside the server, are atomic on
// their own (the engine's conditions), but not ordered against a server
// transaction's reads. WATCH notices them anyway: EXEC compares each
// watched key's value and expiry with what WATCH saw, besides the marks
// left by the server's own writes (Server.touch).
//
// A script that runs past lua-time-limit makes other commands answer -BUSY
// (writers waiting on the gate are woken to answer it too); SCRIPT KILL
// stops a script that has not written, SHUTDOWN NOSAVE any script, whose
// writes, still in its batch, are then dropped.
//
// # Durability
//
// A reply goes out only after its write reached the WAL (the engine's
// promise). appendfsync is carried out by the server on top of the DB's own
// SyncMode, so CONFIG SET appendfsync takes effect at once: always passes
// lsm.WithSync to every write (concurrent writers share an fsync);
// everysec runs DB.Sync once a second; no adds nothing. The binary opens
// its DB with lsm.SyncNo so these are the whole policy.
//
// # Differences from Redis 7.0
//
// Keys are 1 to 65536 bytes and values at most 256 MiB (the engine's
// bounds); expiries past April 2262 are capped there. DBSIZE counts the
// keys (O(N)); INFO keyspace counts up to a million. SCAN cursors are
// handles to a position the server remembers (the 65536 most recent), so an
// unknown cursor starts over. RANDOMKEY does not pick uniformly. INFO's
// fields are this server's (redis_version reads 7.0.0). Replication,
// cluster, modules, DEBUG, OBJECT, MONITOR, client-side caching and
// functions (but FUNCTION FLUSH) answer an error naming the feature.
package server

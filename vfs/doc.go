// Package vfs is the filesystem layer every file operation of Strata goes
// through.
//
// Who may use it: anyone. A program passes an FS in lsm.Options.FS (to
// put a DB on its own filesystem layer, or to test against MemFS and
// ErrorFS, as Strata's own tests do); wal and sstable read and write
// through its File. Its interfaces are the whole contract: an FS a user
// implements must keep the rules FS and File document (nothing is durable
// before Sync or SyncDir, Rename is atomic, Lock is exclusive), on which
// the engine's crash safety rests.
//
// Default is the operating system's filesystem: Sync is fsync, SyncDir opens
// the directory and fsyncs it, and Lock is flock(2) on a LOCK file, which
// conflicts between two opens in the same process as well as between
// processes.
//
// MemFS is an in-memory filesystem that can simulate a power loss: CrashClone
// returns a filesystem holding only what was made durable, every file cut
// back to the bytes it had at its last Sync and every directory back to the
// entries it had at its last SyncDir.
//
// ErrorFS wraps another FS and injects an error on chosen calls, by kind and
// index, once or persistently, to test that every I/O failure reaches the
// caller and loses nothing acknowledged.
//
// # The power-loss model
//
// vfs writes no on-disk format of its own. MemFS keeps two views of the
// namespace and of every file; a crash keeps only the durable one:
//
//	directory /db                       inode 7
//	  current:  CURRENT -> 7            bytes:  [ synced ........ | unsynced ]
//	            000002.log -> 9                 0             synced      len
//	  durable:  CURRENT -> 7
//	            (copied at SyncDir)     File.Sync moves "synced" up to len.
//
// A worked example:
//
//	f, _ := fs.Create("/db/000002.log") // current entry only
//	f.Write([]byte("put a=1"))           // 7 bytes, 0 synced
//	f.Sync()                             // 7 bytes, 7 synced; name not durable
//	c1 := fs.CrashClone()                // /db/000002.log missing in c1
//	fs.SyncDir("/db")                    // the name is durable now
//	f.Write([]byte("put b=2"))           // 14 bytes, 7 synced
//	c2 := fs.CrashClone()                // c2 holds "put a=1" only
//	fs.Rename("/db/000002.log", "/db/x") // without SyncDir, a crash undoes it
//
// MemFS.SetCrashHook calls a function before every mutating call, so a test
// can take a crash clone at the k-th write or sync, for every k. With ErrorFS
// the same loop injects a failure instead: OnIndex(-1) counts the calls of a
// workload, then OnIndex(n) fails the n-th for n = 0 .. Count-1.
package vfs

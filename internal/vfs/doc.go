// Package vfs is the filesystem layer every file operation of Strata goes
// through.
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
package vfs

package raftstore

import "github.com/stratadb/strata/lsm"

// Options configures a Store. The zero value (and a nil *Options) is the
// default: a Strata DB with its default options, every write fsynced.
type Options struct {
	// Engine is passed to lsm.Open for the DB under the store. Its Sync
	// field is ignored: the store writes with lsm.SyncNo and calls DB.Sync
	// itself after each write, so that each StoreLogs, DeleteRange, Set and
	// SetUint64 costs exactly one WAL fsync and the store can count and time
	// it. The default value is nil, the engine's defaults.
	Engine *lsm.Options
	// NoSync skips the fsync after each write. A crash of the process loses
	// nothing (the bytes reached the OS), but a power loss may lose writes
	// that returned, which breaks Raft's promise to its peers: use it for
	// tests only. The default value is false.
	NoSync bool
}

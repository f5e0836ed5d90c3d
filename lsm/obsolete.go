package lsm

import (
	"sync"

	"github.com/stratadb/strata/manifest"
)

// obsoleteTables are tables a version edit removed. Each is deleted once no
// live version (held by a read state, an iterator or a compaction) names it.
type obsoleteTables struct {
	mu   sync.Mutex // guards nums, wals and walDirty; never held while taking db.mu
	nums []uint64
	// wals are the flushed WAL segments kept because tables refer to
	// values in them (see walvalues.go); walDirty is set when an edit
	// removed such tables, or a version that names one may have gone.
	wals     map[uint64]struct{}
	walDirty bool
}

// keepWAL records a flushed segment that tables refer to.
func (db *DB) keepWAL(num uint64) {
	db.obsolete.mu.Lock()
	if db.obsolete.wals == nil {
		db.obsolete.wals = make(map[uint64]struct{})
	}
	db.obsolete.wals[num] = struct{}{}
	db.obsolete.mu.Unlock()
}

// addObsoleteWALRefs notes that an edit removed tables, some of which may
// have referred to kept segments.
func (db *DB) addObsoleteWALRefs(files []*manifest.FileMeta) {
	for _, f := range files {
		if f.WALRef != 0 {
			db.obsolete.mu.Lock()
			db.obsolete.walDirty = true
			db.obsolete.mu.Unlock()
			return
		}
	}
}

// addObsolete records tables removed by a version edit.
func (db *DB) addObsolete(nums ...uint64) {
	db.obsolete.mu.Lock()
	db.obsolete.nums = append(db.obsolete.nums, nums...)
	db.obsolete.mu.Unlock()
	db.maybeDeleteObsolete()
}

// maybeDeleteObsolete deletes the recorded tables no live version needs. It
// never takes db.mu, so it may run from any release of a read state.
func (db *DB) maybeDeleteObsolete() {
	if db.opts.ReadOnly {
		return
	}
	db.obsolete.mu.Lock()
	defer db.obsolete.mu.Unlock()
	if db.obsolete.walDirty {
		defer db.deleteObsoleteWALsLocked()
	}
	if len(db.obsolete.nums) == 0 {
		return
	}
	live := db.vs.LiveFiles()
	kept := db.obsolete.nums[:0]
	for _, n := range db.obsolete.nums {
		if _, ok := live[n]; ok {
			kept = append(kept, n)
			continue
		}
		db.tableCache.Evict(n)
		db.blockCache.EvictFile(n)
		db.removeFile(manifest.MakeFilename(db.dir, manifest.FileTypeTable, n))
	}
	db.obsolete.nums = kept
}

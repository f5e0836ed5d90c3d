package lsm

import (
	"sync"

	"github.com/stratadb/strata/manifest"
)

// obsoleteTables are tables a version edit removed. Each is deleted once no
// live version (held by a read state, an iterator or a compaction) names it.
type obsoleteTables struct {
	mu   sync.Mutex // guards nums; never held while taking db.mu
	nums []uint64
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

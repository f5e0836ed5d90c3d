package raftstore

import "sync"

// DefaultRecentEntries is the number of recently appended entries a store
// keeps in memory for GetLog unless Options.RecentEntries says otherwise.
const DefaultRecentEntries = 1024

// recentEntryMax is the largest entry encoding the recent-entry cache
// holds; a larger entry is read from the engine. With it the cache holds at
// most RecentEntries x 4 KiB (4 MiB by default) of entries.
const recentEntryMax = 4 << 10

// recentCache holds the encodings of the entries appended last, one slot
// per index modulo its size. Raft reads its newest entries most: the leader
// sends each entry to the followers right after appending it, and a
// follower that falls a little behind is sent the entries just before. A
// slot hit costs a copy of the encoding instead of an engine lookup.
//
// Concurrency: mu guards slots. Writers (StoreLogs and DeleteRange, which
// also hold Store.mu) take it to fill or clear slots, one entry's copy at a
// time; GetLog takes it for reading. A slot answers only for the index it records, so an entry
// rewritten under the same index (a tail truncation, then a new append)
// replaces it or clears it, never leaves the old entry readable.
type recentCache struct {
	mu    sync.RWMutex
	slots []recentSlot
}

type recentSlot struct {
	index uint64
	valid bool
	enc   []byte // capacity at most recentEntryMax
}

func newRecentCache(n int) *recentCache {
	return &recentCache{slots: make([]recentSlot, n)}
}

// get returns a copy of the encoding of the entry at index, if cached.
func (c *recentCache) get(index uint64) ([]byte, bool) {
	c.mu.RLock()
	sl := &c.slots[index%uint64(len(c.slots))]
	if !sl.valid || sl.index != index {
		c.mu.RUnlock()
		return nil, false
	}
	v := append(make([]byte, 0, len(sl.enc)), sl.enc...)
	c.mu.RUnlock()
	return v, true
}

// set records enc as the entry at index, or, if enc is too large to cache,
// clears the slot of index.
func (c *recentCache) set(index uint64, enc []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sl := &c.slots[index%uint64(len(c.slots))]
	sl.index = index
	if len(enc) > recentEntryMax {
		sl.valid, sl.enc = false, nil
		return
	}
	sl.valid = true
	sl.enc = append(sl.enc[:0], enc...)
}

// drop clears the slots of the indexes from lo to hi, both inclusive.
func (c *recentCache) drop(lo, hi uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if hi-lo < uint64(len(c.slots)) {
		for i := lo; ; i++ {
			c.slots[i%uint64(len(c.slots))].valid = false
			if i == hi {
				break
			}
		}
		return
	}
	for i := range c.slots {
		if sl := &c.slots[i]; sl.index >= lo && sl.index <= hi {
			sl.valid = false
		}
	}
}

package raftstore

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/stratadb/strata/lsm"
)

// Cursors: GetLog's sequential runs read by an engine iterator.
//
// Raft reads its log in runs: a leader sends a follower the entries it
// lacks in order, up to MaxAppendEntries a message, the next message
// going on where the last stopped. A point lookup per entry searches the
// memtables and every level for each one; the entries of a run lie next to
// each other in the same tables, so an iterator kept between the calls
// steps from one to the next within the block it already holds. GetLog
// keeps up to len(Store.cursors) such iterators (one per run read at
// once, such as one per follower catching up) and uses one when the index
// asked for is the one after the entry it returned last. A run's third
// read opens one: a closed cursor, or else the one used least recently.
//
// An iterator sees the log as of its creation, so a cursor answers only
// for indexes up to the last one published when it opened (hi), and only
// while the log has not been rewritten since: DeleteRange and a StoreLogs
// that overwrites entries bump Store.gen once their write is visible, and
// a cursor of an older generation is closed instead of used. A cursor
// reads gen before it opens its iterator, so one opened under generation g
// sees every rewrite whose bump made g; a rewrite bumped after that makes
// the cursor stale before the rewrite's call returns (until then a read
// that overlaps the call may see either side, as a lookup would). An iterator also holds the
// memtables and tables it reads from (a flushed memtable's arena, tables a
// compaction replaced, the WAL segments they refer to) until it closes, so
// a cursor is reopened after cursorSteps entries, closed by StoreLogs once
// idle for cursorIdle, and every cursor is closed by DeleteRange (whose
// space comes back only when no reader holds the old tables) and by Close.

// cursorSteps is the number of entries a cursor reads before it is opened
// again on the DB's current state: a re-seek per this many entries costs
// little, and what the old iterator held is let go.
const cursorSteps = 1024

// cursorIdle is how long a cursor may go unused before StoreLogs closes it.
const cursorIdle = 100 * time.Millisecond

// cursor is one of GetLog's iterators. mu guards it, gen, hi and steps;
// at is written under mu and read without it by cursorAt and freeCursor;
// used is the time of the last use (UnixNano), read by sweepCursors.
type cursor struct {
	mu    sync.Mutex
	it    *lsm.Iterator // nil: closed
	gen   uint64        // Store.gen when it opened
	hi    uint64        // the last index published when it opened
	steps int           // entries read since it opened
	at    atomic.Uint64 // the index it is positioned at; 0 with it nil
	used  atomic.Int64
}

// closeLocked closes c's iterator, if open. Called with c.mu held.
func (c *cursor) closeLocked() {
	if c.it != nil {
		c.it.Close()
		c.it = nil
	}
	c.at.Store(0)
}

// readByCursor returns the value of the entry at index from a cursor, if
// GetLog's run allows one: a cursor positioned at index-1, or a new one
// when index continues a run of two read without a cursor (see
// noteUncursored). ok is false
// when no cursor answered; the caller then looks the entry up itself. The
// value is a copy, the caller's to keep.
func (s *Store) readByCursor(index uint64) (v []byte, ok bool) {
	gen := s.gen.Load()
	c := s.cursorAt(index - 1)
	if c == nil {
		if !s.noteUncursored(index) {
			return nil, false
		}
		if c = s.freeCursor(); c == nil {
			return nil, false
		}
	}
	defer c.mu.Unlock()
	if s.closed.Load() { // Close closes every cursor after setting closed
		c.closeLocked()
		return nil, false
	}
	c.used.Store(time.Now().UnixNano())
	if c.it != nil && (c.gen != gen || index > c.hi || c.steps >= cursorSteps) {
		c.closeLocked()
	}
	var key [logKeyLen]byte
	if c.it == nil {
		hi := s.last.Load()
		if index > hi {
			return nil, false
		}
		it, err := s.db.NewIter(&lsm.IterOptions{LowerBound: logLower, UpperBound: logUpper})
		if err != nil {
			return nil, false
		}
		c.it, c.gen, c.hi, c.steps = it, gen, hi, 0
		putLogKey(key[:], index)
		if !it.SeekGE(key[:]) {
			c.closeLocked()
			return nil, false
		}
	} else if !c.it.Next() {
		c.closeLocked()
		return nil, false
	}
	if got, err := parseLogKey(c.it.Key()); err != nil || got != index {
		// A hole or a foreign key: let the point lookup say what it is.
		c.closeLocked()
		return nil, false
	}
	c.steps++
	c.at.Store(index)
	return append([]byte(nil), c.it.Value()...), true
}

// cursorAt returns, locked, a cursor positioned at index, or nil when
// none is (or the one that is is in use).
func (s *Store) cursorAt(index uint64) *cursor {
	if index == 0 {
		return nil
	}
	for i := range s.cursors {
		c := &s.cursors[i]
		if c.at.Load() != index || !c.mu.TryLock() {
			continue
		}
		if c.at.Load() == index && c.it != nil {
			return c
		}
		c.mu.Unlock()
	}
	return nil
}

// noteUncursored records index as read without a cursor and reports
// whether index-1 and index-2 were both among the last
// len(Store.uncursored) such reads: the third read of a run opens a
// cursor, for up to len(Store.uncursored)/2 runs read side by side, while
// reads at random seldom open one for nothing (two in a row by chance).
// readAhead's slots, which the runs of one neighbourhood of indexes share,
// would miss runs side by side.
func (s *Store) noteUncursored(index uint64) bool {
	var one, two bool
	if index > 2 {
		for i := range s.uncursored {
			switch s.uncursored[i].Load() {
			case index - 1:
				one = true
			case index - 2:
				two = true
			}
		}
	}
	s.uncursored[s.uncursoredAt.Add(1)%uint32(len(s.uncursored))].Store(index)
	return one && two
}

// freeCursor returns, locked and closed, a cursor to open for a new run:
// a closed one if there is one, else the one used least recently (its run
// ended, or is the slowest of len(s.cursors)+1 going at once). nil if that
// one is in use.
func (s *Store) freeCursor() *cursor {
	var c *cursor
	for i := range s.cursors {
		ci := &s.cursors[i]
		if ci.at.Load() == 0 {
			c = ci
			break
		}
		if c == nil || ci.used.Load() < c.used.Load() {
			c = ci
		}
	}
	if !c.mu.TryLock() {
		return nil
	}
	c.closeLocked()
	return c
}

// sweepCursors closes the cursors unused for cursorIdle by now, or every
// cursor with all set, waiting for those in use.
func (s *Store) sweepCursors(all bool, now time.Time) {
	old := now.Add(-cursorIdle).UnixNano()
	for i := range s.cursors {
		c := &s.cursors[i]
		if all {
			// Every one, the closed ones too: a reader that holds one it
			// found closed may be opening it.
			c.mu.Lock()
		} else if c.at.Load() == 0 || c.used.Load() > old || !c.mu.TryLock() {
			continue
		}
		c.closeLocked()
		c.mu.Unlock()
	}
}

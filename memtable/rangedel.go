package memtable

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/rangedel"
)

// rangeDels holds a memtable's range tombstones beside its point skiplist:
// few in number, they are kept as a plain slice and fragmented (see package
// rangedel) when a reader first needs them after a change.
//
// Concurrency: mu guards ts. frag is the fragmented form of ts, or nil
// after a change until a reader rebuilds it; a published List is never
// modified, so readers use it without the lock. bytes is the memory the
// tombstones hold, counted in the memtable's Size.
type rangeDels struct {
	mu    sync.Mutex
	ts    []rangedel.Tombstone // mu; the keys are private copies
	frag  atomic.Pointer[rangedel.List]
	bytes atomic.Int64
}

// rangeDelOverhead is the bytes a tombstone is counted for beyond its keys.
const rangeDelOverhead = 64

// RangeDelSize returns the bytes AddRangeDelete counts for [start, end).
func RangeDelSize(start, end []byte) int64 {
	return int64(len(start)+len(end)) + rangeDelOverhead
}

// AddRangeDelete records a tombstone deleting every version below seq of
// every key in [start, end), copying both keys. It may be called
// concurrently with Add and AddConcurrent and with readers; a reader whose
// sequence number is below seq never sees it. An empty range (start >= end)
// or a seq above keys.MaxSeq is an error and records nothing.
func (m *Memtable) AddRangeDelete(start, end []byte, seq keys.SeqNum) error {
	if seq > keys.MaxSeq {
		return fmt.Errorf("memtable: sequence number %d above the maximum %d", seq, keys.MaxSeq)
	}
	if string(start) >= string(end) {
		return fmt.Errorf("memtable: empty range deletion [%q, %q)", start, end)
	}
	buf := make([]byte, len(start)+len(end))
	n := copy(buf, start)
	copy(buf[n:], end)
	t := rangedel.Tombstone{Start: buf[:n:n], End: buf[n:], Seq: seq}
	r := &m.rdel
	r.mu.Lock()
	r.ts = append(r.ts, t)
	r.frag.Store(nil)
	r.mu.Unlock()
	r.bytes.Add(RangeDelSize(start, end))
	m.count.Add(1)
	return nil
}

// RangeDels returns the memtable's range tombstones, fragmented: every one
// added before the call. The List is immutable and shared; it is empty
// (nil) when the memtable has none.
func (m *Memtable) RangeDels() rangedel.List {
	r := &m.rdel
	if l := r.frag.Load(); l != nil {
		return *l
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if l := r.frag.Load(); l != nil {
		return *l
	}
	l := rangedel.Build(r.ts)
	r.frag.Store(&l)
	return l
}

// HasRangeDels reports whether any range tombstone was added.
func (m *Memtable) HasRangeDels() bool { return m.rdel.bytes.Load() != 0 }

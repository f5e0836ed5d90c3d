package lsm

import (
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/stratadb/strata/keys"
)

// Snapshot is a read-only view of the DB as of its creation. It keeps seeing
// that data through flushes and compactions until it is closed (expiry is
// still judged against the clock at read time). Safe for concurrent use.
type Snapshot struct {
	db     *DB
	seq    keys.SeqNum
	closed atomic.Bool
	err    error // ErrClosed if taken after the DB closed
}

// snapshotList is the multiset of open snapshots' sequence numbers, sorted,
// which compaction consults to keep the versions they can see. Guarded by
// db.mu.
type snapshotList struct{ seqs []keys.SeqNum }

func (l *snapshotList) add(s keys.SeqNum) {
	i, _ := slices.BinarySearch(l.seqs, s)
	l.seqs = slices.Insert(l.seqs, i, s)
}

func (l *snapshotList) remove(s keys.SeqNum) {
	if i, ok := slices.BinarySearch(l.seqs, s); ok {
		l.seqs = slices.Delete(l.seqs, i, i+1)
	}
}

// NewSnapshot returns a snapshot of the DB as of now. After Close, the
// snapshot's methods return ErrClosed.
func (db *DB) NewSnapshot() *Snapshot {
	s := &Snapshot{db: db}
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed.Load() {
		s.err = ErrClosed
		s.closed.Store(true)
		return s
	}
	s.seq = keys.SeqNum(db.visibleSeq.Load())
	db.mu.snaps.add(s.seq)
	return s
}

func (s *Snapshot) check() error {
	if s.err != nil {
		return s.err
	}
	if s.closed.Load() {
		return fmt.Errorf("%w: snapshot closed", ErrClosed)
	}
	return nil
}

// Get returns a copy of key's value as of the snapshot.
func (s *Snapshot) Get(key []byte) ([]byte, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	return s.db.getAt(key, s.seq)
}

// GetItem returns a copy of the item's value as of the snapshot. An empty
// pk is ErrInvalidArgument.
func (s *Snapshot) GetItem(pk, sk []byte) ([]byte, error) {
	key, err := itemKey(pk, sk)
	if err != nil {
		return nil, err
	}
	return s.Get(key)
}

// NewIter returns an iterator over the snapshot.
func (s *Snapshot) NewIter(opts *IterOptions) (*Iterator, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	return s.db.newIter(opts, s.seq, s, nil)
}

// Close releases the snapshot. A second Close returns ErrClosed.
func (s *Snapshot) Close() error {
	if s.err != nil {
		return s.err
	}
	if !s.closed.CompareAndSwap(false, true) {
		return fmt.Errorf("%w: snapshot already closed", ErrClosed)
	}
	s.db.mu.Lock()
	s.db.mu.snaps.remove(s.seq)
	s.db.mu.bgCond.Broadcast()
	s.db.mu.Unlock()
	return nil
}

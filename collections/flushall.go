package collections

import "time"

// FlushAll deletes every key of every type (FLUSHALL, FLUSHDB) with two
// range deletes, whatever the number of keys: everything in the DB but the
// ID high-water mark, which must outlive the data so that no ID is ever
// handed out twice (doc.go). It runs as one Update.
func (s *Store) FlushAll() error {
	return s.Update(func(tx *Tx) error { return tx.FlushAll() })
}

// FlushAll deletes every key of every type as part of the Tx, which must be
// one of Update (ErrTxKey otherwise): later reads of the Tx see an empty
// DB but for its own later writes. It reports no key to OnTouch; a server
// marks the watchers of the keys that existed itself. The in-memory mirrors
// of the deleted sorted sets are not dropped here: their IDs are never used
// again, so they age out of the cache unread.
func (tx *Tx) FlushAll() error {
	switch {
	case tx.done || tx.s == nil:
		return ErrTxDone
	case !tx.ls.write:
		return ErrReadOnlyTx
	case !tx.ls.all:
		tx.undeclared = true
		return ErrTxKey
	}
	// Every engine key is at least one byte long, so {0} is below them all;
	// the package's own keys are 0xFF and a tag below 0xFF. The count of
	// elements dropped is unknown: it is taken as enough to start the
	// background flush that gives deleted space back.
	tx.deleteRange([]byte{0}, idHighKey, tx.s.flushEvery)
	tx.deleteRange(append(append([]byte{}, idHighKey...), 0), []byte{reservedByte, 0xFF}, 0)
	return nil
}

// ExpireTime returns when the current key expires, the zero Time if never.
// It is the engine entry's own expiry, read with the walk, so a caller that
// wants every key's TTL (INFO keyspace) pays no extra read for it.
func (ki *KeyIter) ExpireTime() time.Time {
	if !ki.valid {
		return time.Time{}
	}
	var meta *nameStream
	for _, ns := range ki.streams {
		if !ns.ok || string(ns.name()) != string(ki.name) {
			continue
		}
		if !ns.isMeta {
			return ns.it.Expiry() // a string beats a collection of the same name
		}
		meta = ns
	}
	if meta != nil {
		return meta.it.Expiry()
	}
	return time.Time{}
}

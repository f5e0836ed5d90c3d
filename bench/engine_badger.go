package main

import (
	"errors"
	"fmt"
	"time"

	badger "github.com/dgraph-io/badger/v4"
)

func init() { engines["badger"] = func() Engine { return &badgerEngine{} } }

// badgerEngine runs Badger v4 with badger.DefaultOptions, a 64 MiB block
// cache in place of the default 256 MiB, and its logger off. Badger has
// native TTL.
type badgerEngine struct {
	db *badger.DB
}

func (e *badgerEngine) Name() string                   { return "badger" }
func (e *badgerEngine) Durability(d Durability) string { return peerDurability(d) }

func (e *badgerEngine) Options(o Config) string {
	if o.MemtableBytes > 0 {
		return fmt.Sprintf("badger.DefaultOptions(dir).WithBlockCacheSize(%d MiB).WithMemTableSize(%d MiB).WithSyncWrites(%v).WithLogger(nil) "+
			"(5 memtables, snappy, values < 1 MiB kept in the LSM, 4 compactors)",
			o.CacheBytes>>20, o.MemtableBytes>>20, o.Durability == DurAlways)
	}
	return fmt.Sprintf("badger.DefaultOptions(dir).WithBlockCacheSize(%d MiB).WithSyncWrites(%v).WithLogger(nil) "+
		"(64 MiB memtables x5, snappy, values < 1 MiB kept in the LSM, 4 compactors)",
		o.CacheBytes>>20, o.Durability == DurAlways)
}

func (e *badgerEngine) Open(dir string, o Config) error {
	opts := badger.DefaultOptions(dir).
		WithBlockCacheSize(o.CacheBytes).
		WithSyncWrites(o.Durability == DurAlways).
		WithLogger(nil)
	if o.MemtableBytes > 0 {
		opts = opts.WithMemTableSize(o.MemtableBytes)
	}
	var err error
	e.db, err = badger.Open(opts)
	return err
}

func (e *badgerEngine) Put(k, v []byte) error {
	return e.db.Update(func(txn *badger.Txn) error { return txn.Set(k, v) })
}

func (e *badgerEngine) PutTTL(k, v []byte, ttl time.Duration) error {
	return e.db.Update(func(txn *badger.Txn) error {
		return txn.SetEntry(badger.NewEntry(k, v).WithTTL(ttl))
	})
}

func (e *badgerEngine) Get(k []byte) ([]byte, bool, error) {
	var out []byte
	err := e.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(k)
		if err != nil {
			return err
		}
		out, err = item.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false, nil
	}
	return out, err == nil, err
}

func (e *badgerEngine) Delete(k []byte) error {
	return e.db.Update(func(txn *badger.Txn) error { return txn.Delete(k) })
}

func (e *badgerEngine) Batch(kvs []KV) error {
	wb := e.db.NewWriteBatch()
	defer wb.Cancel()
	for _, kv := range kvs {
		if err := wb.Set(kv.Key, kv.Value); err != nil {
			return err
		}
	}
	return wb.Flush()
}

func (e *badgerEngine) Scan(start []byte, n int, fn func(k, v []byte)) error {
	return e.db.View(func(txn *badger.Txn) error {
		o := badger.DefaultIteratorOptions
		o.PrefetchSize = min(n, 100)
		it := txn.NewIterator(o)
		defer it.Close()
		for it.Seek(start); it.Valid() && n > 0; it.Next() {
			item := it.Item()
			if err := item.Value(func(v []byte) error { fn(item.Key(), v); return nil }); err != nil {
				return err
			}
			n--
		}
		return nil
	})
}

// CompactAll flattens the LSM into one level, then runs value-log GC until
// it finds nothing to rewrite (the value log is Badger's WAL too).
func (e *badgerEngine) CompactAll() error {
	if err := e.db.Flatten(2); err != nil {
		return err
	}
	for i := 0; i < 100; i++ {
		if err := e.db.RunValueLogGC(0.5); err != nil {
			break // ErrNoRewrite: nothing (more) worth collecting
		}
	}
	return nil
}

func (e *badgerEngine) Close() error { return e.db.Close() }

// State reads Levels(): L0's table count, the largest level score, and the
// bytes above each level's target as the debt.
func (e *badgerEngine) State() EngineState {
	s := EngineState{Known: true}
	for _, l := range e.db.Levels() {
		if l.Level == 0 {
			s.L0Tables = l.NumTables
		}
		s.MaxScore = max(s.MaxScore, l.Score)
		if l.Score >= 1 {
			if l.Level == 0 {
				s.DebtBytes += l.Size
			} else if l.Size > l.TargetSize {
				s.DebtBytes += l.Size - l.TargetSize
			}
		}
	}
	return s
}

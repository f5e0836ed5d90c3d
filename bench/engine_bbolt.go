package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

func init() { engines["bbolt"] = func() Engine { return &bboltEngine{} } }

var bboltBucket = []byte("bench")

// bboltEngine runs bbolt with its default options, one read-write
// transaction per write (DB.Update) and one read transaction per read. It
// has no cache of its own (it reads through mmap and the page cache).
// Its default is an fsync per commit; the harness sets NoSync for the
// workloads that ask for no per-write fsync, as it does for every peer.
type bboltEngine struct {
	db *bolt.DB
}

func (e *bboltEngine) Name() string                   { return "bbolt" }
func (e *bboltEngine) Durability(d Durability) string { return peerDurability(d) }

func (e *bboltEngine) Options(o Config) string {
	return fmt.Sprintf("bolt.Options{Timeout: 1s, NoSync: %v}, other fields default (FillPercent 0.5, array freelist); "+
		"no block cache (mmap + OS page cache); no compaction", o.Durability != DurAlways)
}

func (e *bboltEngine) Open(dir string, o Config) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	db, err := bolt.Open(filepath.Join(dir, "bolt.db"), 0o600,
		&bolt.Options{Timeout: time.Second, NoSync: o.Durability != DurAlways})
	if err != nil {
		return err
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bboltBucket)
		return err
	}); err != nil {
		db.Close()
		return err
	}
	e.db = db
	return nil
}

func (e *bboltEngine) Put(k, v []byte) error {
	return e.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bboltBucket).Put(k, v) })
}

func (e *bboltEngine) Get(k []byte) ([]byte, bool, error) {
	var out []byte
	var found bool
	err := e.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bboltBucket).Get(k); v != nil {
			out, found = append([]byte(nil), v...), true
		}
		return nil
	})
	return out, found, err
}

func (e *bboltEngine) Delete(k []byte) error {
	return e.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bboltBucket).Delete(k) })
}

func (e *bboltEngine) Batch(kvs []KV) error {
	return e.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bboltBucket)
		for _, kv := range kvs {
			if err := b.Put(kv.Key, kv.Value); err != nil {
				return err
			}
		}
		return nil
	})
}

func (e *bboltEngine) Scan(start []byte, n int, fn func(k, v []byte)) error {
	return e.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bboltBucket).Cursor()
		for k, v := c.Seek(start); k != nil && n > 0; k, v = c.Next() {
			fn(k, v)
			n--
		}
		return nil
	})
}

func (e *bboltEngine) Close() error { return e.db.Close() }

package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/cockroachdb/pebble/v2"
)

func init() { engines["pebble"] = func() Engine { return &pebbleEngine{} } }

// pebbleEngine runs Pebble v2 with pebble.Options' defaults (EnsureDefaults)
// and a 64 MiB block cache in place of the default 8 MiB.
type pebbleEngine struct {
	db *pebble.DB
	wo *pebble.WriteOptions
}

type quietPebbleLogger struct{}

func (quietPebbleLogger) Infof(string, ...interface{}) {}
func (quietPebbleLogger) Errorf(f string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "pebble: "+f+"\n", a...)
}
func (quietPebbleLogger) Fatalf(f string, a ...interface{}) { panic(fmt.Sprintf(f, a...)) }
func (e *pebbleEngine) Name() string                        { return "pebble" }
func (e *pebbleEngine) Durability(d Durability) string      { return peerDurability(d) }

func (e *pebbleEngine) Options(o Config) string {
	if o.MemtableBytes > 0 {
		return fmt.Sprintf("pebble.Options{Cache: NewCache(%d MiB), MemTableSize: %d MiB}, other fields default (L0 trigger 4, "+
			"1 compaction, snappy, no bloom filter); writes with pebble.%s",
			o.CacheBytes>>20, o.MemtableBytes>>20, map[bool]string{true: "Sync", false: "NoSync"}[o.Durability == DurAlways])
	}
	return fmt.Sprintf("pebble.Options{Cache: NewCache(%d MiB)}, other fields default (4 MiB memtable, L0 trigger 4, "+
		"1 compaction, snappy, no bloom filter); writes with pebble.%s",
		o.CacheBytes>>20, map[bool]string{true: "Sync", false: "NoSync"}[o.Durability == DurAlways])
}

func (e *pebbleEngine) Open(dir string, o Config) error {
	c := pebble.NewCache(o.CacheBytes)
	defer c.Unref()
	var err error
	opts := &pebble.Options{Cache: c, Logger: quietPebbleLogger{}}
	if o.MemtableBytes > 0 {
		opts.MemTableSize = uint64(o.MemtableBytes)
	}
	e.db, err = pebble.Open(dir, opts)
	e.wo = pebble.NoSync
	if o.Durability == DurAlways {
		e.wo = pebble.Sync
	}
	return err
}

func (e *pebbleEngine) Put(k, v []byte) error { return e.db.Set(k, v, e.wo) }

func (e *pebbleEngine) Get(k []byte) ([]byte, bool, error) {
	v, closer, err := e.db.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	out := append([]byte(nil), v...)
	return out, true, closer.Close()
}

func (e *pebbleEngine) Delete(k []byte) error { return e.db.Delete(k, e.wo) }
func (e *pebbleEngine) DeleteRange(start, end []byte) error {
	return e.db.DeleteRange(start, end, e.wo)
}

func (e *pebbleEngine) Batch(kvs []KV) error {
	b := e.db.NewBatch()
	for _, kv := range kvs {
		if err := b.Set(kv.Key, kv.Value, nil); err != nil {
			b.Close()
			return err
		}
	}
	return b.Commit(e.wo)
}

func (e *pebbleEngine) Scan(start []byte, n int, fn func(k, v []byte)) error {
	it, err := e.db.NewIter(nil)
	if err != nil {
		return err
	}
	for ok := it.SeekGE(start); ok && n > 0; ok = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return err
		}
		fn(it.Key(), v)
		n--
	}
	return it.Close()
}

func (e *pebbleEngine) Flush() error { return e.db.Flush() }

func (e *pebbleEngine) CompactAll() error {
	return e.db.Compact(context.Background(), []byte{0}, []byte{0xff, 0xff}, true)
}

// WriteAmp is Metrics().Total().WriteAmp(): (WAL + flushed + compacted
// bytes) over WAL bytes.
func (e *pebbleEngine) WriteAmp() (float64, bool) {
	t := e.db.Metrics().Total()
	return t.WriteAmp(), t.TableBytesIn > 0
}

func (e *pebbleEngine) Close() error { return e.db.Close() }

// State reads Metrics(): L0's table count, the largest level score,
// Compact.EstimatedDebt and whether compactions (or flushes) are running.
func (e *pebbleEngine) State() EngineState {
	m := e.db.Metrics()
	s := EngineState{Known: true, L0Tables: int(m.Levels[0].TablesCount), DebtBytes: int64(m.Compact.EstimatedDebt)}
	for _, l := range m.Levels {
		if !math.IsNaN(l.Score) {
			s.MaxScore = max(s.MaxScore, l.Score)
		}
	}
	s.Busy = m.Compact.NumInProgress > 0 || m.Flush.NumInProgress > 0
	return s
}

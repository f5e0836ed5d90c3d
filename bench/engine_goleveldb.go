package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/syndtr/goleveldb/leveldb"
	"github.com/syndtr/goleveldb/leveldb/opt"
	"github.com/syndtr/goleveldb/leveldb/util"
)

func init() { engines["goleveldb"] = func() Engine { return &goleveldbEngine{} } }

// goleveldbEngine runs goleveldb with opt.Options' defaults and a 64 MiB
// block cache in place of the default 8 MiB.
type goleveldbEngine struct {
	db *leveldb.DB
	wo *opt.WriteOptions
}

func (e *goleveldbEngine) Name() string                   { return "goleveldb" }
func (e *goleveldbEngine) Durability(d Durability) string { return peerDurability(d) }

func (e *goleveldbEngine) Options(o Config) string {
	if o.MemtableBytes > 0 {
		return fmt.Sprintf("opt.Options{BlockCacheCapacity: %d MiB, WriteBuffer: %d MiB}, other fields default ("+
			"snappy, no bloom filter); WriteOptions{Sync: %v}", o.CacheBytes>>20, o.MemtableBytes>>20, o.Durability == DurAlways)
	}
	return fmt.Sprintf("opt.Options{BlockCacheCapacity: %d MiB}, other fields default (4 MiB write buffer, "+
		"snappy, no bloom filter); WriteOptions{Sync: %v}", o.CacheBytes>>20, o.Durability == DurAlways)
}

func (e *goleveldbEngine) Open(dir string, o Config) error {
	var err error
	e.db, err = leveldb.OpenFile(dir, &opt.Options{BlockCacheCapacity: int(o.CacheBytes), WriteBuffer: int(o.MemtableBytes)})
	e.wo = &opt.WriteOptions{Sync: o.Durability == DurAlways}
	return err
}

func (e *goleveldbEngine) Put(k, v []byte) error { return e.db.Put(k, v, e.wo) }

func (e *goleveldbEngine) Get(k []byte) ([]byte, bool, error) {
	v, err := e.db.Get(k, nil)
	if errors.Is(err, leveldb.ErrNotFound) {
		return nil, false, nil
	}
	return v, err == nil, err
}

func (e *goleveldbEngine) Delete(k []byte) error { return e.db.Delete(k, e.wo) }

func (e *goleveldbEngine) Batch(kvs []KV) error {
	var b leveldb.Batch
	for _, kv := range kvs {
		b.Put(kv.Key, kv.Value)
	}
	return e.db.Write(&b, e.wo)
}

func (e *goleveldbEngine) Scan(start []byte, n int, fn func(k, v []byte)) error {
	it := e.db.NewIterator(nil, nil)
	for ok := it.Seek(start); ok && n > 0; ok = it.Next() {
		fn(it.Key(), it.Value())
		n--
	}
	it.Release()
	return it.Error()
}

// CompactAll compacts the whole key space; goleveldb has no separate flush.
func (e *goleveldbEngine) CompactAll() error { return e.db.CompactRange(util.Range{}) }

func (e *goleveldbEngine) Close() error { return e.db.Close() }

// goleveldb's compaction triggers with its default options (opt.Options'
// GetCompactionTotalSize): L0 at 4 tables, level n >= 1 at 10 MiB x 10^n.
const (
	goleveldbL0Trigger = 4
	goleveldbBaseLevel = 10 << 20
)

// State parses the "leveldb.stats" property (a row per non-empty level:
// level, tables, size in MB; DBStats leaves empty levels out, so its
// indexes are not level numbers) and computes scores and debt against
// goleveldb's default targets. goleveldb does not say whether a compaction
// is running (settle also waits for its writes to stop).
func (e *goleveldbEngine) State() EngineState {
	stats, err := e.db.GetProperty("leveldb.stats")
	if err != nil {
		return EngineState{}
	}
	return goleveldbState(stats)
}

func goleveldbState(stats string) EngineState {
	s := EngineState{Known: true}
	for _, line := range strings.Split(stats, "\n") {
		f := strings.Split(line, "|")
		if len(f) < 3 {
			continue
		}
		level, err1 := strconv.Atoi(strings.TrimSpace(f[0]))
		tables, err2 := strconv.Atoi(strings.TrimSpace(f[1]))
		mb, err3 := strconv.ParseFloat(strings.TrimSpace(f[2]), 64)
		if err1 != nil || err2 != nil || err3 != nil {
			continue // the header
		}
		size := int64(mb * (1 << 20))
		if level == 0 {
			s.L0Tables = tables
			score := float64(tables) / goleveldbL0Trigger
			s.MaxScore = max(s.MaxScore, score)
			if score >= 1 {
				s.DebtBytes += size
			}
			continue
		}
		target := float64(goleveldbBaseLevel) * math.Pow(10, float64(level))
		score := float64(size) / target
		s.MaxScore = max(s.MaxScore, score)
		if score > 1 {
			s.DebtBytes += size - int64(target)
		}
	}
	return s
}

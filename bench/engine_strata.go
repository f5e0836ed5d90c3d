package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stratadb/strata/lsm"
)

func init() {
	engines["strata"] = func() Engine { return &strataEngine{} }
	engines["strata-ml"] = func() Engine { return &strataEngine{limited: true} }
	engines["strata-cache"] = func() Engine { return &strataEngine{fixedCache: true} }
	engines["strata-cc2"] = func() Engine { return &strataEngine{cc2: true} }
}

// strataMLDefault is strata-ml's MemoryLimit outside a memory cgroup.
const strataMLDefault = 256 << 20

// strataEngine drives Strata through its public API, with the zero
// Options except the sync mode the workload asks for (and BlockCacheSize
// when -cache is not lsm's default of 64 MiB). In a memory cgroup too small
// for lsm's default sizes, the zero Options take half the cgroup's limit
// as MemoryLimit (see lsm.Options.MemoryLimit).
//
// strata-ml is the same engine told how much memory it may hold, as a
// program in a container states it: Options.MemoryLimit is -mlmemory, or
// half the memory cgroup's limit (the other half is left to the page
// cache, the Go runtime and the harness), or 256 MiB outside a cgroup; the
// memtable and cache sizes then follow from it.
//
// strata-cc2 is the default engine with CompactionConcurrency 2, to weigh
// a second compaction's faster settle against the fill it slows
// (results-debt-i13.md).
//
// strata-cache sets BlockCacheSize to -cache (64 MiB by default) even in a
// memory cgroup, which turns off the sizes derived from the cgroup: the
// default 64 MiB memtables and the peers' block cache, to compare peak
// memory with the same cache as the peers.
type strataEngine struct {
	db         *lsm.DB
	ttlo       [1]lsm.WriteOption
	limited    bool
	fixedCache bool
	cc2        bool
}

func (e *strataEngine) Name() string {
	switch {
	case e.limited:
		return "strata-ml"
	case e.fixedCache:
		return "strata-cache"
	case e.cc2:
		return "strata-cc2"
	}
	return "strata"
}

// memoryLimit is strata-ml's MemoryLimit under o.
func memoryLimit(o Config) int64 {
	if o.MLMemory > 0 {
		return o.MLMemory
	}
	if o.MemLimit > 0 {
		return o.MemLimit / 2
	}
	return strataMLDefault
}
func (e *strataEngine) Durability(d Durability) string { return string(d) }

func (e *strataEngine) options(o Config) (*lsm.Options, error) {
	mode, err := lsm.ParseSyncMode(string(o.Durability))
	if err != nil {
		return nil, err
	}
	if e.limited {
		return &lsm.Options{Sync: mode, MemoryLimit: memoryLimit(o), MemtableSize: o.MemtableBytes}, nil
	}
	opts := &lsm.Options{Sync: mode, MemtableSize: o.MemtableBytes}
	if e.cc2 {
		opts.CompactionConcurrency = 2
	}
	if o.CacheBytes != lsmDefaultCache || e.fixedCache {
		opts.BlockCacheSize = o.CacheBytes
	}
	return opts, nil
}

// lsmDefaultCache is lsm's default BlockCacheSize outside a small container.
const lsmDefaultCache = 64 << 20

func (e *strataEngine) Options(o Config) string {
	if o.MemtableBytes > 0 {
		return e.options0(o) + fmt.Sprintf("; MemtableSize: %d MiB (-memtable)", o.MemtableBytes>>20)
	}
	return e.options0(o)
}

func (e *strataEngine) options0(o Config) string {
	if e.limited {
		if o.MLMemory > 0 {
			return fmt.Sprintf("lsm.Options{Sync: %s, MemoryLimit: %d MiB (-mlmemory)}; "+
				"memtables, table size and block cache follow from it", o.Durability, o.MLMemory>>20)
		}
		return fmt.Sprintf("lsm.Options{Sync: %s, MemoryLimit: %d MiB (half the memory cgroup's limit; %d MiB outside one)}; "+
			"memtables, table size and block cache follow from it", o.Durability, memoryLimit(o)>>20, strataMLDefault>>20)
	}
	if o.CacheBytes != lsmDefaultCache || e.fixedCache {
		return fmt.Sprintf("lsm.Options{Sync: %s, BlockCacheSize: %d MiB}; everything else default, also in a memory cgroup "+
			"(64 MiB memtable, 4 KiB blocks, snappy, 10 bloom bits/key, L0 trigger 4, 1 compaction)",
			o.Durability, o.CacheBytes>>20)
	}
	return fmt.Sprintf("lsm.Options{Sync: %s}; everything else default: 64 MiB memtables and block cache, "+
		"or in a memory cgroup under about 1 GiB, MemoryLimit half its limit (sizes from it); "+
		"4 KiB blocks, snappy, 10 bloom bits/key, L0 trigger 4, 1 compaction", o.Durability)
}

func (e *strataEngine) Open(dir string, o Config) error {
	opts, err := e.options(o)
	if err != nil {
		return err
	}
	e.db, err = lsm.Open(dir, opts)
	return err
}

func (e *strataEngine) Put(k, v []byte) error { return e.db.Put(k, v) }

func (e *strataEngine) PutTTL(k, v []byte, ttl time.Duration) error {
	return e.db.Put(k, v, lsm.WithTTL(ttl))
}

func (e *strataEngine) Get(k []byte) ([]byte, bool, error) {
	v, err := e.db.Get(k)
	if errors.Is(err, lsm.ErrNotFound) {
		return nil, false, nil
	}
	return v, err == nil, err
}

func (e *strataEngine) Delete(k []byte) error { return e.db.Delete(k) }
func (e *strataEngine) DeleteRange(start, end []byte) error {
	return e.db.DeleteRange(start, end)
}

func (e *strataEngine) Batch(kvs []KV) error {
	b := e.db.NewBatch()
	for _, kv := range kvs {
		b.Put(kv.Key, kv.Value)
	}
	return e.db.Apply(b)
}

func (e *strataEngine) Scan(start []byte, n int, fn func(k, v []byte)) error {
	it, err := e.db.NewIter(nil)
	if err != nil {
		return err
	}
	for ok := it.SeekGE(start); ok && n > 0; ok = it.Next() {
		fn(it.Key(), it.Value())
		n--
	}
	if err := it.Error(); err != nil {
		it.Close()
		return err
	}
	return it.Close()
}

func (e *strataEngine) Flush() error      { return e.db.Flush() }
func (e *strataEngine) CompactAll() error { return e.db.Compact(nil, nil) }

func (e *strataEngine) WriteAmp() (float64, bool) {
	m := e.db.Metrics()
	return m.WriteAmp, m.UserBytesWritten > 0
}

func (e *strataEngine) Close() error { return e.db.Close() }

// State reads Metrics: L0's table count, the largest level score, and as
// the debt the bytes above each level's target (all of L0 once its score
// reaches 1). Strata does not say whether a compaction is running.
func (e *strataEngine) State() EngineState {
	m := e.db.Metrics()
	s := EngineState{Known: true, L0Tables: m.Levels[0].Tables}
	for l, lm := range m.Levels {
		s.MaxScore = max(s.MaxScore, lm.Score)
		switch {
		case l == 0 && lm.Score >= 1:
			s.DebtBytes += lm.Bytes
		case l > 0 && lm.Score > 1:
			s.DebtBytes += int64(float64(lm.Bytes) * (1 - 1/lm.Score))
		}
	}
	s.Busy = m.ImmutableMemtables > 0
	return s
}

// ReadCounters reads Metrics' counts of table reads.
func (e *strataEngine) ReadCounters() ReadCounters {
	m := e.db.Metrics()
	return ReadCounters{TableOpens: m.TableOpens, TableBytes: m.TableBytesRead, DataBytes: m.DataBlockBytesRead,
		CompactionBytes: m.CompactionBytesRead, IndexReads: m.IndexBlocksRead, FilterReads: m.FilterBlocksRead}
}

// RunNote reports the write stalls and memtable-copy waits since Open:
// where a writer's wall time went when it was not on the CPU.
func (e *strataEngine) RunNote() string {
	m := e.db.Metrics()
	var notes []string
	if m.ContainerMemoryLimit > 0 {
		notes = append(notes, fmt.Sprintf("MemoryLimit %d MiB derived from the cgroup's %d MiB",
			m.MemoryLimit>>20, m.ContainerMemoryLimit>>20))
	}
	if m.WriteStalls > 0 || m.WriteSlowdowns > 0 || m.MemtableCopyWaits > 0 {
		notes = append(notes, fmt.Sprintf("write stalls %d (%.1f s), slowdowns %d, memtable copy waits %d (%.1f s)",
			m.WriteStalls, m.WriteStallTime.Seconds(), m.WriteSlowdowns, m.MemtableCopyWaits, m.MemtableCopyWaitTime.Seconds()))
	}
	return strings.Join(notes, "; ")
}

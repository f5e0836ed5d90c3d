package main

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Durability is the write durability a workload asks for. Strata offers all
// three (its SyncMode words); a peer offers per-write fsync or none, so it
// runs DurEverySec and DurNo as "nosync" (see Engine.Durability).
type Durability string

const (
	DurAlways   Durability = "always"   // fsync before a write returns
	DurEverySec Durability = "everysec" // background fsync once a second
	DurNo       Durability = "no"       // never fsync from the write path
)

// Config is what the harness passes to Engine.Open.
type Config struct {
	// CacheBytes is the block cache size for engines that have one.
	CacheBytes int64
	// MemtableBytes is the memtable size for engines that have one, 0
	// for each engine's default (-memtable).
	MemtableBytes int64
	// Durability is the sync mode the workload asks for.
	Durability Durability
	// MemLimit is the memory cgroup limit the child runs under, 0 for none.
	MemLimit int64
	// MLMemory is strata-ml's MemoryLimit (-mlmemory), 0 for half of
	// MemLimit.
	MLMemory int64
}

// KV is one pair of a batch.
type KV struct{ Key, Value []byte }

// Engine is the small adapter every store sits behind. The harness owns the
// slices it passes in and may reuse them once a call returns; Get returns a
// slice the caller owns. Scan calls fn for up to n entries from the first
// key >= start; k and v are valid only during the call.
type Engine interface {
	Name() string
	Open(dir string, o Config) error
	Put(k, v []byte) error
	Get(k []byte) ([]byte, bool, error)
	Delete(k []byte) error
	Batch(kvs []KV) error
	Scan(start []byte, n int, fn func(k, v []byte)) error
	Close() error

	// Durability names the mode the engine really runs for d: Strata
	// returns d itself, a peer "sync" for DurAlways and "nosync" otherwise.
	Durability(d Durability) string
	// Options describes, in one line, the options Open uses with o: the
	// engine's documented defaults plus what the harness changed.
	Options(o Config) string
}

// Flusher is an engine that can write its memtable to files on demand. The
// harness flushes before closing after a load, so that reads after the
// reopen come from the files, not from a replayed WAL.
type Flusher interface{ Flush() error }

// RangeDeleter is an engine with a native range deletion: one tombstone for
// every key in [start, end). The peers without one delete key by key.
type RangeDeleter interface {
	DeleteRange(start, end []byte) error
}

// Compacter is an engine that can compact everything it holds (for the
// space-amplification measurement).
type Compacter interface{ CompactAll() error }

// TTLWriter is an engine with native per-entry TTL: Get no longer returns an
// entry once its TTL has passed. Engines without it are driven through
// ttlPut/ttlGet, which emulate TTL by storing the expiry in the value.
type TTLWriter interface {
	PutTTL(k, v []byte, ttl time.Duration) error
}

// WriteAmper is an engine that reports its own write amplification since
// Open. ok is false when the engine has nothing to report.
type WriteAmper interface {
	WriteAmp() (wa float64, ok bool)
}

// engines is the registry, filled by the engine_*.go files' init functions.
var engines = map[string]func() Engine{}

// engineOrder is the order of the tables: Strata first, then the peers.
var engineOrder = []string{"strata", "pebble", "goleveldb", "badger", "bbolt"}

func newEngine(name string) (Engine, error) {
	f, ok := engines[name]
	if !ok {
		names := make([]string, 0, len(engines))
		for n := range engines {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("unknown engine %q (have %s)", name, strings.Join(names, ","))
	}
	return f(), nil
}

// peerDurability is the Durability method every peer shares.
func peerDurability(d Durability) string {
	if d == DurAlways {
		return "sync"
	}
	return "nosync"
}

// ttlHeader is the size of the emulated-TTL prefix: the absolute expiry in
// Unix nanoseconds, big-endian.
const ttlHeader = 8

// ttlPut writes k with a TTL: natively when the engine has TTL, otherwise
// as value = expiry || v, into buf (grown as needed; returned for reuse).
func ttlPut(e Engine, k, v []byte, ttl time.Duration, buf []byte) ([]byte, error) {
	if t, ok := e.(TTLWriter); ok {
		return buf, t.PutTTL(k, v, ttl)
	}
	buf = binary.BigEndian.AppendUint64(buf[:0], uint64(time.Now().Add(ttl).UnixNano()))
	buf = append(buf, v...)
	return buf, e.Put(k, buf)
}

// ttlGet reads k written by ttlPut: natively, or by decoding the expiry and
// treating an expired entry as absent.
func ttlGet(e Engine, k []byte) ([]byte, bool, error) {
	v, ok, err := e.Get(k)
	if err != nil || !ok {
		return nil, false, err
	}
	if _, native := e.(TTLWriter); native {
		return v, true, nil
	}
	if len(v) < ttlHeader {
		return nil, false, fmt.Errorf("%s: emulated-TTL value of %d bytes", e.Name(), len(v))
	}
	if time.Now().UnixNano() >= int64(binary.BigEndian.Uint64(v)) {
		return nil, false, nil
	}
	return v[ttlHeader:], true, nil
}

// ttlMethod says how an engine does TTL, for the results.
func ttlMethod(e Engine) string {
	if _, ok := e.(TTLWriter); ok {
		return "native"
	}
	return "emulated: expiry stored in the value, checked on read; nothing reclaims expired entries"
}

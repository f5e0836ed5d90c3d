package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	raftwal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
	"github.com/stratadb/strata/lsm"
	"github.com/stratadb/strata/raftstore"
	"github.com/stratadb/strata/vfs"
	"golang.org/x/sys/unix"
)

// Store is what every compared store offers: both Raft stores and Close.
type Store interface {
	raft.LogStore
	raft.StableStore
	Close() error
}

// Kind is one compared store: a name and how to open it in a directory.
// Every one fsyncs each write: raft-boltdb commits a bbolt transaction
// (fsync of the data file, then of the meta page), raft-wal fsyncs its
// segment, raftstore its WAL.
type Kind struct {
	Name string
	Open func(dir string) (Store, error)
}

// Kinds are the stores of a run, in report order.
var Kinds = []Kind{
	{"raftstore", func(dir string) (Store, error) {
		return raftstore.New(dir, nil)
	}},
	{"raft-boltdb", func(dir string) (Store, error) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		return raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dir, "raft.db")})
	}},
	{"raft-wal", func(dir string) (Store, error) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		// raft-wal v0.4.0's Close leaves its bolt meta store open (and
		// locked), so a reopen in the same process would wait for ever:
		// hand it one we close.
		meta := &metadb.BoltMetaDB{}
		w, err := raftwal.Open(dir, raftwal.WithMetaStore(meta))
		if err != nil {
			return nil, err
		}
		return walStore{w, meta}, nil
	}},
}

// Variants are raftstore under other options, for measuring the store's
// defaults side by side (-stores raftstore,raftstore-mapped,...). Each
// changes one thing from the defaults, except "raftstore-before", the
// defaults before they were measured again (a mapped, preallocated WAL, an
// 8 MiB memtable, bloom filters of 10 bits a key).
var Variants = []Kind{
	variant("raftstore-before", func(o *lsm.Options) { o.FS, o.MemtableSize, o.BloomBitsPerKey = vfs.Default, 8<<20, 10 }),
	variant("raftstore-mapped", func(o *lsm.Options) { o.FS = vfs.Default }),
	variant("raftstore-mem8m", func(o *lsm.Options) { o.MemtableSize = 8 << 20 }),
	variant("raftstore-mem64m", func(o *lsm.Options) { o.MemtableSize = 64 << 20 }),
	variant("raftstore-bloom", func(o *lsm.Options) { o.BloomBitsPerKey = 10 }),
	variant("raftstore-nocomp", func(o *lsm.Options) { o.Compression = lsm.CompressionNone }),
	variant("raftstore-block16k", func(o *lsm.Options) { o.BlockSize = 16 << 10 }),
	variant("raftstore-cache256m", func(o *lsm.Options) { o.BlockCacheSize = 256 << 20 }),
	// Every entry copied into tables by the flush, as before values could
	// stay in the WAL (raftstore.DefaultWALValueThreshold).
	variant("raftstore-copy", func(o *lsm.Options) { o.WALValueThreshold = -1 }),
	// WAL segments not written ahead (raftstore.Options.NoWALPrewrite).
	{"raftstore-noprewrite", func(dir string) (Store, error) {
		return raftstore.New(dir, &raftstore.Options{NoWALPrewrite: true})
	}},
}

func variant(name string, set func(*lsm.Options)) Kind {
	return Kind{name, func(dir string) (Store, error) {
		var o lsm.Options
		set(&o)
		return raftstore.New(dir, &raftstore.Options{Engine: &o})
	}}
}

type walStore struct {
	*raftwal.WAL
	meta *metadb.BoltMetaDB
}

func (w walStore) Close() error {
	err := w.WAL.Close()
	if err2 := w.meta.Close(); err == nil {
		err = err2
	}
	return err
}

// diskBytes is the space dir takes on disk: allocated blocks, not apparent
// sizes, so a sparse or preallocated file counts what it holds.
func diskBytes(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			n += st.Blocks * 512
		} else {
			n += info.Size()
		}
		return nil
	})
	return n
}

// evict drops the files under dir from the OS page cache (after writing
// back any dirty page), so the next reads of them go to the disk.
func evict(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := f.Sync(); err != nil {
			return err
		}
		return unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
	})
}

// byExt is the disk usage of dir by file extension, largest first.
func byExt(dir string) string {
	m := map[string]int64{}
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			ext := filepath.Ext(path)
			if ext == "" {
				ext = d.Name()
			}
			if st, ok := info.Sys().(*syscall.Stat_t); ok {
				m[ext] += st.Blocks * 512
			}
		}
		return nil
	})
	var parts []string
	for ext, n := range m {
		parts = append(parts, fmt.Sprintf("%s %.1f MiB", ext, float64(n)/(1<<20)))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

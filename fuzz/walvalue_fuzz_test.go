package fuzz

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/lsm"
	"github.com/stratadb/strata/manifest"
	"github.com/stratadb/strata/vfs"
)

// walValueDB returns a filesystem holding a DB whose one flushed table
// refers to its values in a WAL segment (lsm.Options.WALValueThreshold),
// the values by key, and the options to open it with.
func walValueDB(t *testing.T) (*vfs.MemFS, map[string][]byte, *lsm.Options) {
	fs := vfs.NewMem()
	opts := &lsm.Options{FS: fs, MemtableSize: 1 << 20, BlockSize: 256, WALValueThreshold: 32, TTLCompactionInterval: -1}
	db, err := lsm.Open("/db", opts)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{}
	for i := range 40 {
		k := fmt.Appendf(nil, "k%03d", i)
		v := bytes.Repeat([]byte{byte(i)}, 1+i*i*7%2000) // short ones stay in the table
		want[string(k)] = v
		if err := db.Put(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	if db.Metrics().WALValueSegments != 1 {
		t.Fatal("the flushed table does not refer to the WAL")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return fs, want, opts
}

// FuzzWALValueDamage damages a DB whose table refers to values in a WAL
// segment, in the segment or in the table (which file, where, and the
// bytes written there come from the input), then reads every key: each
// read returns the value written or an error, never another value and
// never a panic. A reference into damaged bytes, or a damaged reference,
// is an error wrapping keys.ErrCorruption.
func FuzzWALValueDamage(f *testing.F) {
	f.Add(true, uint32(100), []byte{0xFF})
	f.Add(true, uint32(33000), []byte{1, 2, 3})
	f.Add(false, uint32(40), []byte{0})
	f.Add(false, uint32(300), []byte{0x80, 0x80, 0x80})
	f.Fuzz(func(t *testing.T, segment bool, at uint32, patch []byte) {
		fs, want, opts := walValueDB(t)
		names, err := fs.List("/db")
		if err != nil {
			t.Fatal(err)
		}
		// The flushed segment is the lowest-numbered log; the table the
		// only table.
		var target string
		var lowLog uint64
		for _, n := range names {
			ft, num, ok := manifest.ParseFilename(n)
			switch {
			case !ok:
			case segment && ft == manifest.FileTypeLog && (lowLog == 0 || num < lowLog):
				lowLog, target = num, n
			case !segment && ft == manifest.FileTypeTable:
				target = n
			}
		}
		if target == "" {
			t.Fatal("no file to damage")
		}
		damage(t, fs, "/db/"+target, int64(at), patch)
		db, err := lsm.Open("/db", opts)
		if err != nil {
			return // damage Open sees is reported there
		}
		defer db.Close()
		for k, v := range want {
			got, err := db.Get([]byte(k))
			if err != nil {
				if !errors.Is(err, keys.ErrCorruption) && !errors.Is(err, lsm.ErrNotFound) {
					t.Fatalf("Get %s: %v", k, err)
				}
				continue
			}
			if !bytes.Equal(got, v) {
				t.Fatalf("Get %s returned %d bytes that are not the value written (%d bytes)", k, len(got), len(v))
			}
		}
		it, err := db.NewIter(nil)
		if err != nil {
			return
		}
		for ok := it.First(); ok; ok = it.Next() {
			if v, ok := want[string(it.Key())]; ok && !bytes.Equal(it.Value(), v) {
				t.Fatalf("scan at %s returned a value that is not the one written", it.Key())
			}
		}
		_ = it.Close()
	})
}

// damage overwrites the bytes of file name at off (modulo its size) with
// patch.
func damage(t *testing.T, fs vfs.FS, name string, off int64, patch []byte) {
	f, err := fs.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(f)
	f.Close()
	if err != nil || len(data) == 0 {
		t.Fatal("cannot read", name, err)
	}
	off %= int64(len(data))
	copy(data[off:], patch)
	w, err := fs.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	w.Close()
}

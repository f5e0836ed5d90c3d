package sstable

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/keys"
)

// memFile is an in-memory vfs.File for tests: written by the Writer, read
// back through bytes.Reader.
type memFile struct {
	buf       []byte
	closed    bool
	syncs     int
	failWrite error // returned by Write when set
}

func (f *memFile) Read(p []byte) (int, error) { return 0, io.EOF }
func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	return bytes.NewReader(f.buf).ReadAt(p, off)
}
func (f *memFile) Write(p []byte) (int, error) {
	if f.closed {
		return 0, errors.New("memFile: write after close")
	}
	if f.failWrite != nil {
		return 0, f.failWrite
	}
	f.buf = append(f.buf, p...)
	return len(p), nil
}
func (f *memFile) Close() error {
	if f.closed {
		return errors.New("memFile: double close")
	}
	f.closed = true
	return nil
}
func (f *memFile) Sync() error          { f.syncs++; return nil }
func (f *memFile) Size() (int64, error) { return int64(len(f.buf)), nil }

// kv is one table entry of a test model.
type kv struct {
	key, value []byte
}

// genEntries returns n entries with distinct internal keys, sorted by
// keys.Compare: user keys of 0..maxKeyLen bytes (the empty user key
// included), several versions of some keys, every kind, values of 0..10 KiB
// mostly small, and a few values larger than a block.
func genEntries(r *rand.Rand, n int) []kv {
	seen := map[string]bool{}
	var out []kv
	seq := keys.SeqNum(1)
	for len(out) < n {
		var uk []byte
		switch r.IntN(10) {
		case 0:
			uk = []byte{}
		case 1:
			uk = bytes.Repeat([]byte{0xff}, 1+r.IntN(3))
		default:
			uk = make([]byte, 1+r.IntN(24))
			for i := range uk {
				uk[i] = "abcdex\x00\xff"[r.IntN(8)]
			}
		}
		versions := 1
		if r.IntN(5) == 0 {
			versions = 1 + r.IntN(4)
		}
		for v := 0; v < versions && len(out) < n; v++ {
			seq += keys.SeqNum(1 + r.IntN(3))
			kind := keys.Kind(r.IntN(3))
			ik := keys.MakeKey(nil, uk, seq, kind)
			if seen[string(ik)] {
				continue
			}
			seen[string(ik)] = true
			var val []byte
			switch kind {
			case keys.KindDelete:
			case keys.KindSet:
				val = randValue(r)
			case keys.KindSetExpiry:
				val = keys.AppendExpiryValue(nil, int64(1_700_000_000_000_000_000+r.IntN(1<<40)), randValue(r))
			}
			out = append(out, kv{ik, val})
		}
	}
	slices.SortFunc(out, func(a, b kv) int { return keys.Compare(a.key, b.key) })
	return out
}

func randValue(r *rand.Rand) []byte {
	var n int
	switch x := r.IntN(100); {
	case x < 2:
		n = 5000 + r.IntN(5000) // larger than a block
	case x < 10:
		n = r.IntN(10 << 10)
	default:
		n = r.IntN(64)
	}
	v := make([]byte, n)
	for i := range v {
		// Compressible but not constant.
		v[i] = byte('a' + r.IntN(4))
	}
	return v
}

// writeTable writes entries with opts and returns the file bytes and the
// properties Finish returned.
func writeTable(t testing.TB, entries []kv, opts WriterOptions) ([]byte, Properties) {
	t.Helper()
	f := &memFile{}
	w := NewWriter(f, opts)
	for _, e := range entries {
		require.NoError(t, w.Add(e.key, e.value))
	}
	require.Equal(t, uint64(len(entries)), w.NumEntries())
	props, err := w.Finish()
	require.NoError(t, err)
	require.True(t, f.closed, "Finish must close the file")
	require.Equal(t, 1, f.syncs, "Finish must sync the file once")
	require.Equal(t, uint64(len(f.buf)), props.FileSize)
	return f.buf, props
}

func openTable(t testing.TB, data []byte, opts ReaderOptions) *Reader {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), int64(len(data)), 1, "000001.sst", opts)
	require.NoError(t, err)
	return r
}

// modelSeekGE returns the index of the first entry >= k.
func modelSeekGE(entries []kv, k []byte) int {
	i, _ := slices.BinarySearchFunc(entries, k, func(e kv, k []byte) int { return keys.Compare(e.key, k) })
	return i
}

func fmtKey(k []byte) string {
	if k == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%s(%x)", keys.Format(k), k)
}

// mustIndex returns the reader's decoded index (from the reader or the
// cache, read again if evicted).
func (r *Reader) mustIndex(t testing.TB) *indexPart {
	t.Helper()
	ix, err := r.index()
	require.NoError(t, err)
	return ix
}

// getPartNoRef is getPart without marking the part used.
func (c *Cache) getPartNoRef(fileNum, offset uint64) (any, bool) {
	k := cacheKey{fileNum, offset}
	s := c.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.table.Load().find(k)
	if e == nil || e.part == nil {
		return nil, false
	}
	return e.part, true
}

// cachedTable writes a table of n generated entries (1 KiB blocks, snappy)
// and opens it over a new 8 MiB cache; both close at the test's end.
func cachedTable(t testing.TB, seed uint64, n int) ([]kv, *Reader, *Cache) {
	t.Helper()
	entries := genEntries(rand.New(rand.NewPCG(seed, seed)), n)
	data, _ := writeTable(t, entries, WriterOptions{BlockSize: 1024, Compression: CompressionSnappy})
	c := NewCache(8 << 20)
	t.Cleanup(c.Close)
	rd := openTable(t, data, ReaderOptions{Cache: c})
	t.Cleanup(func() { rd.Close() })
	return entries, rd, c
}

// scanEntries reads it from First through at most stop entries, checking
// each key and value against entries, and that it read min(stop,
// len(entries)) of them without error.
func scanEntries(t testing.TB, it *Iterator, entries []kv, stop int) {
	t.Helper()
	i := 0
	for ok := it.First(); ok && i < stop; ok = it.Next() {
		require.Equal(t, entries[i].key, it.Key())
		require.True(t, bytes.Equal(entries[i].value, it.Value()))
		i++
	}
	require.NoError(t, it.Error())
	require.Equal(t, min(stop, len(entries)), i)
}

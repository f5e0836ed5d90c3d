package fuzz

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"testing"

	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/rangedel"
	"github.com/stratadb/strata/sstable"
	"github.com/stratadb/strata/vfs"
)

// sstMemFile is an in-memory vfs.File the sstable Writer writes to. It
// belongs to one goroutine.
type sstMemFile struct{ buf bytes.Buffer }

var _ vfs.File = (*sstMemFile)(nil)

func (f *sstMemFile) Write(p []byte) (int, error)       { return f.buf.Write(p) }
func (f *sstMemFile) Read([]byte) (int, error)          { return 0, io.EOF }
func (f *sstMemFile) ReadAt([]byte, int64) (int, error) { return 0, io.EOF }
func (f *sstMemFile) Close() error                      { return nil }
func (f *sstMemFile) Sync() error                       { return nil }
func (f *sstMemFile) Size() (int64, error)              { return int64(f.buf.Len()), nil }

type sstEntry struct{ key, value []byte }

// sstWrite returns the table a Writer produces for entries.
func sstWrite(t testing.TB, entries []sstEntry, opts sstable.WriterOptions) []byte {
	f := &sstMemFile{}
	w := sstable.NewWriter(f, opts)
	for _, e := range entries {
		if err := w.Add(e.key, e.value); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(f.buf.Bytes())
}

// sstEntries derives sorted, distinct internal keys and values from data:
// each entry takes a length byte for its user key and one for its value.
func sstEntries(data []byte) []sstEntry {
	var out []sstEntry
	seq := keys.SeqNum(1)
	for len(data) >= 2 && len(out) < 200 {
		kl, vl := int(data[0]%24), int(data[1]%80)
		data = data[2:]
		kl = min(kl, len(data))
		uk := data[:kl]
		data = data[kl:]
		vl = min(vl, len(data))
		kind := keys.Kind(seq % 3)
		val := bytes.Clone(data[:vl])
		data = data[vl:]
		if kind == keys.KindSetExpiry {
			val = keys.AppendExpiryValue(nil, int64(seq)*1000, val)
		}
		out = append(out, sstEntry{keys.MakeKey(nil, uk, seq, kind), val})
		seq++
	}
	slices.SortFunc(out, func(a, b sstEntry) int { return keys.Compare(a.key, b.key) })
	return out
}

func sstSeedEntries() []sstEntry {
	var es []sstEntry
	for i, uk := range []string{"", "apple", "applet", "apply", "apricot", "banana", "the quick", "the who", "\xff\xff"} {
		es = append(es,
			sstEntry{keys.MakeKey(nil, []byte(uk), keys.SeqNum(100+i), keys.KindSet), []byte(strings.Repeat("v", i*30))},
			sstEntry{keys.MakeKey(nil, []byte(uk), keys.SeqNum(50+i), keys.KindSetExpiry), keys.AppendExpiryValue(nil, int64(i), []byte("x"))},
			sstEntry{keys.MakeKey(nil, []byte(uk), keys.SeqNum(10+i), keys.KindDelete), nil})
	}
	slices.SortFunc(es, func(a, b sstEntry) int { return keys.Compare(a.key, b.key) })
	return es
}

// sstSeedTables returns real Writer output under several options.
func sstSeedTables(t testing.TB) [][]byte {
	es := sstSeedEntries()
	var out [][]byte
	for _, o := range []sstable.WriterOptions{
		{},
		{BlockSize: 64, RestartInterval: 2, Compression: sstable.CompressionSnappy},
		{BlockSize: 128, Compression: sstable.CompressionZstd, BloomBitsPerKey: -1},
		{BlockSize: 1, RestartInterval: 1, Prefix: keys.PartitionPrefixLen},
	} {
		out = append(out, sstWrite(t, es, o))
	}
	out = append(out, sstWrite(t, nil, sstable.WriterOptions{}))
	// Format version 2: with a range deletion block, with and without
	// points.
	rd := sstSeedRangeDels()
	out = append(out, sstWriteRD(t, es, rd, sstable.WriterOptions{BlockSize: 64}))
	out = append(out, sstWriteRD(t, nil, rd, sstable.WriterOptions{}))
	return out
}

func sstSeedRangeDels() rangedel.List {
	return rangedel.Build([]rangedel.Tombstone{
		{Start: []byte("apple"), End: []byte("banana"), Seq: 60},
		{Start: []byte("applet"), End: []byte("the who"), Seq: 30},
		{Start: []byte(""), End: []byte("a"), Seq: 5},
	})
}

// sstWriteRD is sstWrite with range tombstones.
func sstWriteRD(t testing.TB, entries []sstEntry, rd rangedel.List, opts sstable.WriterOptions) []byte {
	f := &sstMemFile{}
	w := sstable.NewWriter(f, opts)
	if err := w.SetRangeDels(rd); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := w.Add(e.key, e.value); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(f.buf.Bytes())
}

// FuzzRangeDelBlock feeds arbitrary bytes to the decoder of range deletion
// blocks: it never panics, fails only with a corruption error naming the
// file, and what it accepts satisfies every invariant of a List and
// survives a re-encoding unchanged.
func FuzzRangeDelBlock(f *testing.F) {
	f.Add(sstSeedRangeDels().Encode(nil))
	f.Add([]byte{3, 1, 'b', 1, 'd', 1, 7, 1, 'd', 1, 'f', 2, 7, 5, 1, 'f', 1, 'h', 1, 5})
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := rangedel.Decode(data, "fuzz.sst", 100)
		if err != nil {
			sstErrClass(t, err, "Decode")
			return
		}
		if msg := l.Check(); msg != "" {
			t.Fatalf("decoded list breaks an invariant: %s", msg)
		}
		again, err := rangedel.Decode(l.Encode(nil), "fuzz.sst", 0)
		if err != nil || fmt.Sprint(again) != fmt.Sprint(l) {
			t.Fatalf("re-encoding changed the list: %v\n%v\n%v", err, l, again)
		}
	})
}

// sstErrClass fails unless err is nil or a corruption error naming the file
// and an offset.
func sstErrClass(t *testing.T, err error, what string) {
	if err == nil {
		return
	}
	if !errors.Is(err, keys.ErrCorruption) || !strings.Contains(err.Error(), "fuzz.sst") || !strings.Contains(err.Error(), "offset") {
		t.Fatalf("%s: want nil or a corruption error naming fuzz.sst and an offset, got %v", what, err)
	}
}

// sstBlockWalk exercises a block iterator in every direction, bounded in
// steps, and returns the keys and values of a forward scan.
func sstBlockWalk(it keys.Iterator, limit int) (ks, vs [][]byte) {
	n := 0
	for ok := it.First(); ok && n < limit; ok = it.Next() {
		ks = append(ks, bytes.Clone(it.Key()))
		vs = append(vs, bytes.Clone(it.Value()))
		n++
	}
	n = 0
	for ok := it.Last(); ok && n < limit; ok = it.Prev() {
		n++
	}
	for i, k := range ks {
		if i > 8 {
			break
		}
		it.SeekGE(k)
		it.Next()
		it.Prev()
		it.SeekLT(k)
		it.Prev()
		it.Next()
	}
	return ks, vs
}

// FuzzBlockDecoder feeds arbitrary bytes to the block decoder as one
// uncompressed block: iterating forward, backward and by seeks never
// panics; and when the block expands (the form the reader caches), the
// expanded block holds exactly the same entries, in strictly increasing
// order.
func FuzzBlockDecoder(f *testing.F) {
	for _, table := range sstSeedTables(f) {
		r, err := sstable.NewReader(bytes.NewReader(table), int64(len(table)), 1, "seed.sst", sstable.ReaderOptions{})
		if err != nil {
			f.Fatal(err)
		}
		for _, b := range r.Layout() {
			if (b.Kind == sstable.BlockData || b.Kind == sstable.BlockIndex || b.Kind == sstable.BlockRangeDel) && b.Compression == sstable.CompressionNone {
				f.Add(bytes.Clone(table[b.Offset : b.Offset+b.Length]))
			}
		}
	}
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})

	f.Fuzz(func(t *testing.T, data []byte) {
		it, err := sstable.NewBlockIter(data)
		if err != nil {
			if !errors.Is(err, keys.ErrCorruption) {
				t.Fatalf("not a corruption error: %v", err)
			}
			return
		}
		ks, vs := sstBlockWalk(it, len(data)+1)
		if err := it.Error(); err != nil && !errors.Is(err, keys.ErrCorruption) {
			t.Fatalf("not a corruption error: %v", err)
		}
		exp, err := it.Expand()
		if err != nil {
			if !errors.Is(err, keys.ErrCorruption) {
				t.Fatalf("not a corruption error: %v", err)
			}
			return
		}
		// The block is valid: the plain scan saw every entry without error.
		if it.Error() != nil {
			t.Fatalf("block expands but iterating it failed: %v", it.Error())
		}
		eit, err := sstable.NewBlockIter(exp)
		if err != nil {
			t.Fatalf("expanded block does not decode: %v", err)
		}
		eks, evs := sstBlockWalk(eit, len(exp)+1)
		if eit.Error() != nil {
			t.Fatalf("expanded block: %v", eit.Error())
		}
		if len(eks) != len(ks) {
			t.Fatalf("expanded block has %d entries, block %d", len(eks), len(ks))
		}
		for i := range ks {
			if !bytes.Equal(ks[i], eks[i]) || !bytes.Equal(vs[i], evs[i]) {
				t.Fatalf("entry %d differs after expansion", i)
			}
			if i > 0 && keys.Compare(ks[i-1], ks[i]) >= 0 {
				t.Fatalf("expanded block keys out of order at %d", i)
			}
		}
	})
}

var sstAllocSample = []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}

// sstReadAll opens data as a table and exercises every read path. It returns
// the NewReader error or else the Verify error, the entries a forward scan
// returned before any error, and the bytes allocated (exact: ReadMemStats;
// otherwise the cheaper runtime/metrics counter, which can overcount).
func sstReadAll(t *testing.T, data []byte, probes []sstEntry, exact bool) (err error, scanned []sstEntry, allocated uint64) {
	read := func() uint64 {
		if exact {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			return m.TotalAlloc
		}
		metrics.Read(sstAllocSample)
		return sstAllocSample[0].Value.Uint64()
	}
	before := read()
	defer func() { allocated = read() - before }()

	cache := sstable.NewCache(1 << 20)
	defer cache.Close() // its blocks are off the Go heap: freed by Close, not the collector
	r, err := sstable.NewReader(bytes.NewReader(data), int64(len(data)), 7, "fuzz.sst",
		sstable.ReaderOptions{Cache: cache, Prefix: keys.PartitionPrefixLen})
	if err != nil {
		sstErrClass(t, err, "NewReader")
		return err, nil, 0
	}
	it := r.NewIter()
	for ok := it.First(); ok && len(scanned) <= len(data); ok = it.Next() {
		scanned = append(scanned, sstEntry{bytes.Clone(it.Key()), bytes.Clone(it.Value())})
	}
	sstErrClass(t, it.Close(), "scan")
	it = r.NewIter()
	sstBlockWalk(it, len(data)+1)
	sstErrClass(t, it.Close(), "walk")
	for _, p := range probes {
		uk := keys.UserKey(p.key)
		sk := keys.SearchKey(nil, uk, keys.MaxSeq)
		// LookupAppend first, so that it reads blocks the cache lacks
		// through its own pooled path; then Get must agree with it.
		_, av, afound, aerr := r.LookupAppend(nil, uk, sk, false)
		sstErrClass(t, aerr, "LookupAppend")
		_, gv, gfound, err := r.Get(uk, sk)
		sstErrClass(t, err, "Get")
		if aerr == nil && err == nil && (afound != gfound || afound && !bytes.Equal(av, gv)) {
			t.Fatalf("LookupAppend of %x found %v %x, Get found %v %x", uk, afound, av, gfound, gv)
		}
		r.MayContainPrefix(uk)
	}
	_ = r.Layout()
	_ = r.Properties().String()
	err = r.Verify()
	sstErrClass(t, err, "Verify")
	sstErrClass(t, r.Close(), "Close")
	return err, scanned, 0
}

// FuzzTableReader feeds arbitrary bytes to the table reader as a whole
// file: nothing panics, every error is a corruption error naming the file
// and an offset, and allocation stays in proportion to the input. It also
// writes a table of entries derived from the input, and checks that it
// reads back exactly, and that a truncation or a bit flip at pos is
// reported as corruption while reads never return a wrong entry.
func FuzzTableReader(f *testing.F) {
	for i, table := range sstSeedTables(f) {
		f.Add(table, uint32(i))
		if len(table) > 0 {
			flipped := bytes.Clone(table)
			flipped[len(table)/3] ^= 0x10
			f.Add(flipped, uint32(8*len(table)/2))
			f.Add(bytes.Clone(table[:len(table)-1]), uint32(len(table)/2))
		}
	}
	f.Add([]byte("not a table at all, but long enough to hold a footer of sixty-four bytes"), uint32(5))

	f.Fuzz(func(t *testing.T, data []byte, pos uint32) {
		// 1. Arbitrary bytes as a table.
		probes := sstEntries(data)
		_, _, allocated := sstReadAll(t, data, probes, false)
		// Block copies, their expanded forms (at most 8x + 4 KiB each), the
		// scan's copies and the error values.
		if limit := uint64(64*len(data) + 1<<20); allocated > limit {
			if _, _, again := sstReadAll(t, data, probes, true); again > limit {
				t.Fatalf("reading %d bytes allocated %d bytes (limit %d)", len(data), again, limit)
			}
		}

		// 2. A table built from the input reads back exactly.
		opts := sstable.WriterOptions{BlockSize: 1 + int(pos%512), RestartInterval: 1 + int(pos%7), Compression: sstable.Compression(pos % 3)}
		if pos%2 == 0 {
			opts.Prefix = keys.PartitionPrefixLen
		}
		table := sstWrite(t, probes, opts)
		err, scanned, _ := sstReadAll(t, table, probes, false)
		if err != nil {
			t.Fatalf("clean table: %v", err)
		}
		if len(scanned) != len(probes) {
			t.Fatalf("clean table: scanned %d of %d entries", len(scanned), len(probes))
		}
		for i := range probes {
			if !bytes.Equal(scanned[i].key, probes[i].key) || !bytes.Equal(scanned[i].value, probes[i].value) {
				t.Fatalf("clean table: entry %d differs", i)
			}
		}

		// 3. Truncated, or one bit flipped: corruption, and whatever a scan
		// returned before it is a prefix of the entries.
		cut := int(pos % uint32(len(table)))
		flipped := bytes.Clone(table)
		flipped[int(pos/8)%len(table)] ^= 1 << (pos % 8)
		for _, damaged := range [][]byte{table[:cut], flipped} {
			err, scanned, _ := sstReadAll(t, damaged, probes, false)
			if err == nil {
				t.Fatalf("damage of %d-byte table (cut %d, flip at bit %d) not detected", len(table), cut, pos)
			}
			for i := range scanned {
				if i >= len(probes) || !bytes.Equal(scanned[i].key, probes[i].key) || !bytes.Equal(scanned[i].value, probes[i].value) {
					t.Fatalf("damaged table: scan returned a wrong entry %d", i)
				}
			}
		}
	})
}

package fuzz

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"testing"

	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/vfs"
	"github.com/stratadb/strata/wal"
)

// walBlockSize mirrors the WAL's block size (a format constant), used to
// build records that span blocks.
const walBlockSize = 32 << 10

// walMemFile is an in-memory vfs.File for the WAL fuzz target. It belongs to
// one goroutine.
type walMemFile struct{ buf bytes.Buffer }

var _ vfs.File = (*walMemFile)(nil)

func (f *walMemFile) Write(p []byte) (int, error)       { return f.buf.Write(p) }
func (f *walMemFile) Read([]byte) (int, error)          { return 0, io.EOF }
func (f *walMemFile) ReadAt([]byte, int64) (int, error) { return 0, io.EOF }
func (f *walMemFile) Close() error                      { return nil }
func (f *walMemFile) Sync() error                       { return nil }
func (f *walMemFile) Size() (int64, error)              { return int64(f.buf.Len()), nil }

// walWrite returns the log a Writer produces for recs, flushing after the
// records whose index has bit 0 of flushMask set (rotating).
func walWrite(t testing.TB, recs [][]byte, flushMask uint32) []byte {
	f := &walMemFile{}
	w := wal.NewWriter(f)
	for i, r := range recs {
		if err := w.AddRecord(r); err != nil {
			t.Fatal(err)
		}
		if flushMask>>(i%32)&1 == 1 {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return f.buf.Bytes()
}

// walReadAll reads a log, returning copies of the records read before the
// first error, and that error.
func walReadAll(data []byte) ([][]byte, error) {
	r := wal.NewReader(bytes.NewReader(data), "fuzz.log")
	var recs [][]byte
	for {
		rec, err := r.Next()
		if err != nil {
			return recs, err
		}
		recs = append(recs, bytes.Clone(rec))
	}
}

// walRecords cuts data into records, with lengths drawn from a generator
// seeded by pos; for one pos in eight it adds a record spanning three blocks.
func walRecords(data []byte, pos uint32) [][]byte {
	rng := rand.New(rand.NewPCG(uint64(pos), 0x5741))
	recs := [][]byte{}
	for rest := data; len(rest) > 0; {
		n := rng.IntN(len(rest) + 1)
		recs = append(recs, rest[:n])
		rest = rest[n:]
	}
	if pos%8 == 1 {
		big := bytes.Repeat(append([]byte{byte(pos)}, data...), 2*walBlockSize/(len(data)+1)+1)
		recs = append(recs, big, []byte("tail"))
	}
	return recs
}

// walErrClass checks that err is one of the three outcomes a reader may have.
func walErrClass(t *testing.T, err error, allowCorrupt bool) {
	t.Helper()
	switch {
	case err == io.EOF:
	case errors.Is(err, wal.ErrTorn):
	case allowCorrupt && errors.Is(err, keys.ErrCorruption):
	default:
		t.Fatalf("unexpected error class: %v", err)
	}
}

// walPrefix checks that got is a prefix of want, record for record.
func walPrefix(t *testing.T, got, want [][]byte, what string) {
	t.Helper()
	if len(got) > len(want) {
		t.Fatalf("%s: %d records returned, only %d written", what, len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("%s: record %d differs from what was written", what, i)
		}
	}
}

var walAllocSample = []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}

// walReadMeasured is walReadAll that also returns the bytes it allocated.
// With exact false it reads the runtime/metrics counter, which is cheap and
// counts large allocations (the ones a length taken from the input could
// cause) at once, but small ones a span at a time, so it can overcount. With
// exact true it uses ReadMemStats, which stops the world and flushes every
// per-P cache: exact, but for allocations by other goroutines.
func walReadMeasured(data []byte, exact bool) ([][]byte, error, uint64) {
	read := func() uint64 {
		if exact {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			return m.TotalAlloc
		}
		metrics.Read(walAllocSample)
		return walAllocSample[0].Value.Uint64()
	}
	before := read()
	recs, err := walReadAll(data)
	return recs, err, read() - before
}

// FuzzWALReader feeds the WAL reader arbitrary bytes, and checks the writer
// and reader against each other on logs built from the input, truncated and
// bit-flipped at a position drawn from pos.
func FuzzWALReader(f *testing.F) {
	seeds := [][][]byte{
		{},
		{[]byte("hello")},
		{[]byte("a"), {}, []byte("bb"), bytes.Repeat([]byte("c"), 300)},
		{[]byte("x"), bytes.Repeat([]byte("spanning "), 5000), []byte("y")},
		{bytes.Repeat([]byte{0}, walBlockSize-19-7-3), []byte("after padding")},
	}
	for i, recs := range seeds {
		log := walWrite(f, recs, 0x55555555)
		f.Add(log, uint32(i))
		if len(log) > 0 {
			cut := bytes.Clone(log[:len(log)-1])
			f.Add(cut, uint32(len(log)/2))
			flipped := bytes.Clone(log)
			flipped[len(log)/2] ^= 0x04
			f.Add(flipped, uint32(8*len(log)/3))
			gap := bytes.Clone(log)
			clear(gap[len(log)/3 : len(log)/2])
			f.Add(gap, uint32(i+1))
		}
	}
	f.Add([]byte("garbage that is not a log at all"), uint32(3))

	f.Fuzz(func(t *testing.T, data []byte, pos uint32) {
		// 1. Arbitrary bytes as a log: no panic, only the three error
		// classes, no record or allocation out of proportion to the input.
		got, err, allocated := walReadMeasured(data, false)
		walErrClass(t, err, true)
		total := 0
		for _, r := range got {
			total += len(r)
		}
		if total > len(data) {
			t.Fatalf("records hold %d bytes, input only %d", total, len(data))
		}
		// The reader's block buffer, the record assembly buffer (grown by
		// append), the copies made above and the error values.
		if limit := uint64(2*walBlockSize + 4*len(data) + 64<<10); allocated > limit {
			if _, _, again := walReadMeasured(data, true); again > limit {
				t.Fatalf("reading %d bytes allocated %d bytes (limit %d)", len(data), again, limit)
			}
		}

		// 1b. The same, skipping every damage a valid record follows: no
		// panic, forward progress, and no more record bytes than input.
		r := wal.NewReader(bytes.NewReader(data), "fuzz.log")
		skipped, last := 0, int64(-1)
		total = 0
		for {
			rec, err := r.Next()
			if err == nil {
				total += len(rec)
				if r.Offset() <= last {
					t.Fatalf("record at offset %d after one at %d", r.Offset(), last)
				}
				last = r.Offset()
				continue
			}
			walErrClass(t, err, true)
			off, ok := r.Skip()
			if !ok {
				break
			}
			if !errors.Is(err, keys.ErrCorruption) || off <= last {
				t.Fatalf("Skip to %d after %v (last record at %d)", off, err, last)
			}
			if skipped++; skipped > len(data) {
				t.Fatalf("%d skips in %d bytes", skipped, len(data))
			}
		}
		if total > len(data) {
			t.Fatalf("skipping reader: records hold %d bytes, input only %d", total, len(data))
		}

		// 2. Records cut from the input round-trip exactly.
		recs := walRecords(data, pos)
		log := walWrite(t, recs, pos)
		got, err = walReadAll(log)
		if err != io.EOF {
			t.Fatalf("clean log: %v", err)
		}
		walPrefix(t, got, recs, "clean log")
		if len(got) != len(recs) {
			t.Fatalf("clean log: read %d of %d records", len(got), len(recs))
		}

		// 3. Truncated anywhere: a prefix, then io.EOF or ErrTorn, never
		// corruption.
		cut := int(pos % uint32(len(log)+1))
		got, err = walReadAll(log[:cut])
		walErrClass(t, err, false)
		walPrefix(t, got, recs, "truncated log")

		// 4. One bit flipped anywhere: a prefix, then an error; the damage is
		// always noticed.
		bit := int(pos % uint32(8*len(log)))
		flipped := bytes.Clone(log)
		flipped[bit/8] ^= 1 << (bit % 8)
		got, err = walReadAll(flipped)
		walErrClass(t, err, true)
		walPrefix(t, got, recs, "bit-flipped log")
		if err == io.EOF && len(got) == len(recs) {
			t.Fatalf("flip of bit %d went unnoticed", bit)
		}
	})
}

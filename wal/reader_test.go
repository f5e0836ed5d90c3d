package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/keys"
)

const testName = "000042.log"

// readAll reads data as a log and returns copies of the records read before
// the first error, and that error.
func readAll(data []byte) ([][]byte, error) {
	r := NewReader(bytes.NewReader(data), testName)
	recs := [][]byte{}
	for {
		rec, err := r.Next()
		if err != nil {
			return recs, err
		}
		recs = append(recs, bytes.Clone(rec))
	}
}

// requireFileLog reads the file name and requires it to hold exactly the
// records want, ending cleanly (a zero tail reads as a clean end); it
// returns the file's size.
func requireFileLog(t *testing.T, name string, want [][]byte) int64 {
	t.Helper()
	data, err := os.ReadFile(name)
	require.NoError(t, err)
	recs, err := readAll(data)
	require.Equal(t, io.EOF, err, "the log ends cleanly")
	require.Equal(t, want, recs)
	return int64(len(data))
}

// testLog is a log written by Writer with where each record landed.
type testLog struct {
	data   []byte
	recs   [][]byte
	starts []int64 // offset of each record's first chunk header
	ends   []int64 // offset just past each record's last chunk
}

// writeLog writes recs with a Writer, flushing at pseudo-random points.
func writeLog(t testing.TB, recs [][]byte) testLog {
	t.Helper()
	f := &memFile{}
	w := NewWriter(f)
	rng := rand.New(rand.NewPCG(1, 2))
	l := testLog{recs: recs}
	for _, rec := range recs {
		s := w.Size()
		if left := blockSize - s%blockSize; left < headerSize {
			s += left // the record starts after the padding
		}
		l.starts = append(l.starts, s)
		require.NoError(t, w.AddRecord(rec))
		l.ends = append(l.ends, w.Size())
		if rng.IntN(3) == 0 {
			require.NoError(t, w.Flush())
		}
	}
	require.NoError(t, w.Close())
	l.data = f.bytes()
	require.EqualValues(t, w.Size(), len(l.data))
	return l
}

// randRecord returns n pseudo-random bytes.
func randRecord(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// chunkInfo describes one chunk of a clean log, found by walking it
// independently of the Reader.
type chunkInfo struct {
	off    int64
	length int
	typ    byte
	rec    int // index of the record it belongs to; -1 for the file header
}

func parseChunks(t testing.TB, data []byte) []chunkInfo {
	t.Helper()
	var out []chunkInfo
	rec := 0
	pos := 0
	for {
		if left := blockSize - pos%blockSize; left < headerSize {
			require.True(t, allZero(data[pos:min(pos+left, len(data))]), "padding at %d", pos)
			pos += left
		}
		if pos >= len(data) {
			return out
		}
		length := int(binary.LittleEndian.Uint16(data[pos+4:]))
		c := chunkInfo{off: int64(pos), length: length, typ: data[pos+6], rec: rec}
		if c.typ == chunkFileHeader {
			c.rec = -1
		}
		out = append(out, c)
		if c.typ == chunkFull || c.typ == chunkLast {
			rec++
		}
		pos += headerSize + length
	}
}

// expectTorn checks that err is a torn tail at offset.
func expectTorn(t *testing.T, err error, offset int64) {
	t.Helper()
	require.ErrorIs(t, err, ErrTorn)
	require.NotErrorIs(t, err, keys.ErrCorruption)
	var te *TornError
	require.ErrorAs(t, err, &te)
	require.Equal(t, offset, te.Offset, "torn offset: %v", err)
	require.Equal(t, testName, te.File)
}

// expectCorrupt checks that err is corruption naming the file and offset.
func expectCorrupt(t *testing.T, err error, offset int64) {
	t.Helper()
	require.ErrorIs(t, err, keys.ErrCorruption)
	require.NotErrorIs(t, err, ErrTorn)
	require.Contains(t, err.Error(), testName)
	require.Contains(t, err.Error(), fmt.Sprintf("at offset %d:", offset))
}

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	var recs [][]byte
	sim := NewWriter(&memFile{}) // tracks where the log ends
	add := func(n int) {
		rec := randRecord(rng, n)
		recs = append(recs, rec)
		require.NoError(t, sim.AddRecord(rec))
	}
	// leave adds a record whose last chunk leaves rem bytes in its block:
	// a full block (0), padding of every length (1..6), room for just a
	// header, so the next record starts with an empty first chunk (7), and
	// room for one byte of payload (8).
	leave := func(rem int) {
		left := blockSize - int(sim.Size()%blockSize)
		if left < headerSize {
			left = blockSize // the record starts after the padding
		}
		add(left - headerSize - rem)
	}
	add(0)
	add(1)
	for _, rem := range []int{0, 1, 3, 6, 7, 8, 0, 2, 4, 5} {
		leave(rem)
		add(rng.IntN(100))
	}
	leave(0)
	add(5 * blockSize)     // spans many blocks
	add(blockSize - 7)     // a payload of exactly one block's capacity
	add(3*blockSize - 3*7) // exactly three blocks' capacity
	for range 300 {
		add(rng.IntN(3000))
	}
	add(0)

	l := writeLog(t, recs)
	r := NewReader(bytes.NewReader(l.data), testName)
	for i, want := range recs {
		got, err := r.Next()
		require.NoError(t, err, "record %d", i)
		require.Equal(t, want, got, "record %d", i)
		require.Equal(t, l.starts[i], r.Offset(), "offset of record %d", i)
	}
	_, err := r.Next()
	require.Equal(t, io.EOF, err)
	_, err = r.Next()
	require.Equal(t, io.EOF, err, "EOF is sticky")

	// The layout this test meant to produce did occur.
	var sawPad, sawEmptyFirst, sawExactFill bool
	cs := parseChunks(t, l.data)
	for _, c := range cs {
		end := c.off + headerSize + int64(c.length)
		if rem := blockSize - end%blockSize; rem > 0 && rem < headerSize {
			sawPad = true
		}
		if end%blockSize == 0 {
			sawExactFill = true
		}
		if c.typ == chunkFirst && c.length == 0 {
			sawEmptyFirst = true
		}
	}
	require.True(t, sawPad && sawEmptyFirst && sawExactFill)
}

func TestLargeRecords(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	recs := [][]byte{randRecord(rng, 10), randRecord(rng, 5<<20), randRecord(rng, 10), randRecord(rng, 3<<20+17)}
	l := writeLog(t, recs)
	got, err := readAll(l.data)
	require.Equal(t, io.EOF, err)
	require.Equal(t, recs, got)
}

// TestChunkFormat pins the header bytes against an independent computation
// of the masked CRC-32C of type byte and payload.
func TestChunkFormat(t *testing.T) {
	l := writeLog(t, [][]byte{[]byte("hello")})
	d := l.data
	require.Len(t, d, fileHeaderSize+headerSize+5)
	tab := crc32.MakeTable(crc32.Castagnoli)
	masked := func(b []byte) uint32 {
		c := crc32.Checksum(b, tab)
		return (c>>15 | c<<17) + 0xa282ead8
	}
	require.Equal(t, []byte("STRATLOG\x01\x00\x00\x00"), d[7:19])
	require.Equal(t, []byte{12, 0, 5}, d[4:7])
	require.Equal(t, masked(append([]byte{5}, d[7:19]...)), binary.LittleEndian.Uint32(d[0:4]))
	c := d[19:]
	require.Equal(t, []byte{5, 0, 1}, c[4:7])
	require.Equal(t, []byte("hello"), c[7:])
	require.Equal(t, masked([]byte("\x01hello")), binary.LittleEndian.Uint32(c[0:4]))

	// The package documentation's second example: a 40,000-byte record
	// after "hello" is a first chunk at 31 and a last chunk at 32768.
	l = writeLog(t, [][]byte{[]byte("hello"), make([]byte, 40000)})
	cs := parseChunks(t, l.data)
	require.Equal(t, []chunkInfo{
		{off: 0, length: 12, typ: chunkFileHeader, rec: -1},
		{off: 19, length: 5, typ: chunkFull, rec: 0},
		{off: 31, length: 32730, typ: chunkFirst, rec: 1},
		{off: 32768, length: 7270, typ: chunkLast, rec: 1},
	}, cs)
}

// TestTruncateEveryOffset cuts logs at every byte offset. The reader must
// return exactly the records wholly before the cut, then io.EOF if the cut
// falls on a record boundary (or in zero padding after one) and ErrTorn
// otherwise; never corruption, never a wrong record.
func TestTruncateEveryOffset(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	logs := map[string][][]byte{
		"spanning": {randRecord(rng, 10), randRecord(rng, 40000), randRecord(rng, 100)},
		// The first record leaves 3 bytes of padding at the end of block 0.
		"padding": {randRecord(rng, blockSize-fileHeaderSize-headerSize-3), randRecord(rng, 100), randRecord(rng, 50)},
		// Records whose payloads are themselves logs: chunk images inside a
		// cut payload must not be taken for chunks.
		"embedded logs": {writeLogBytes([][]byte{[]byte("in1"), []byte("in2")}), []byte("x"), writeLogBytes([][]byte{randRecord(rng, 500), []byte("z")})},
	}
	for name, recs := range logs {
		t.Run(name, func(t *testing.T) {
			l := writeLog(t, recs)
			step := 1
			if testing.Short() {
				step = 7
			}
			for cut := 0; cut <= len(l.data); cut += step {
				got, err := readAll(l.data[:cut])
				n := 0
				for n < len(l.ends) && l.ends[n] <= int64(cut) {
					n++
				}
				require.Equal(t, recs[:n], got, "cut %d", cut)
				clean := cut == 0
				if cut >= fileHeaderSize {
					prev := int64(fileHeaderSize)
					if n > 0 {
						prev = l.ends[n-1]
					}
					clean = allZero(l.data[prev:cut])
				}
				if clean {
					require.Equal(t, io.EOF, err, "cut %d", cut)
					continue
				}
				tornAt := int64(0)
				if cut >= fileHeaderSize {
					tornAt = l.starts[n]
				}
				expectTorn(t, err, tornAt)
			}
		})
	}
}

// flipLog is the multi-record log the bit-flip tests damage: records in one
// block, records spanning blocks, and a multi-chunk last record.
func flipLog(t *testing.T) testLog {
	rng := rand.New(rand.NewPCG(9, 9))
	return writeLog(t, [][]byte{
		randRecord(rng, 30), randRecord(rng, 0), randRecord(rng, 200),
		randRecord(rng, 70000), randRecord(rng, 5), randRecord(rng, 40000),
	})
}

// checkFlip reads a log damaged inside chunk c of the clean log l and checks
// the exact outcome: the records before c's record, then ErrTorn when c
// belongs to the last record, corruption at c's offset otherwise.
func checkFlip(t *testing.T, l testLog, c chunkInfo, damaged []byte, what string) {
	t.Helper()
	got, err := readAll(damaged)
	prefix := max(c.rec, 0)
	require.Equal(t, l.recs[:prefix], got, what)
	if c.rec == len(l.recs)-1 {
		expectTorn(t, err, l.starts[c.rec])
	} else {
		expectCorrupt(t, err, c.off)
	}
}

// TestBitFlipEveryChunk flips a bit in each header field and at both ends
// of the payload of every chunk of a multi-block log.
func TestBitFlipEveryChunk(t *testing.T) {
	l := flipLog(t)
	cs := parseChunks(t, l.data)
	require.Greater(t, len(cs), 8)
	for i, c := range cs {
		positions := []int64{0, 3, 4, 5, 6}
		if c.length > 0 {
			positions = append(positions, headerSize, headerSize+int64(c.length)-1)
		}
		for j, p := range positions {
			damaged := bytes.Clone(l.data)
			bit := byte(1) << ((i + j) % 8)
			damaged[c.off+p] ^= bit
			checkFlip(t, l, c, damaged, fmt.Sprintf("chunk %d at %d, byte +%d, bit %#x", i, c.off, p, bit))
		}
	}
}

// TestEveryBitFlipSmallLog flips every bit of a small one-block log.
func TestEveryBitFlipSmallLog(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	l := writeLog(t, [][]byte{[]byte("alpha"), randRecord(rng, 300), {}, randRecord(rng, 40)})
	cs := parseChunks(t, l.data)
	for _, c := range cs {
		for p := c.off; p < c.off+headerSize+int64(c.length); p++ {
			for bit := range 8 {
				damaged := bytes.Clone(l.data)
				damaged[p] ^= 1 << bit
				checkFlip(t, l, c, damaged, fmt.Sprintf("byte %d bit %d", p, bit))
			}
		}
	}
}

// TestEveryBitFlipEmbeddedLogs flips every bit of a log whose records hold
// copies of valid chunks; the outcome must still be exact.
func TestEveryBitFlipEmbeddedLogs(t *testing.T) {
	inner := writeLogBytes([][]byte{[]byte("inner-a"), []byte("inner-b")})
	l := writeLog(t, [][]byte{[]byte("a"), inner, inner, []byte("b"), inner})
	cs := parseChunks(t, l.data)
	for _, c := range cs {
		for p := c.off; p < c.off+headerSize+int64(c.length); p++ {
			for bit := range 8 {
				damaged := bytes.Clone(l.data)
				damaged[p] ^= 1 << bit
				checkFlip(t, l, c, damaged, fmt.Sprintf("byte %d bit %d", p, bit))
			}
		}
	}
}

// logBuilder assembles hand-made logs chunk by chunk.
type logBuilder struct{ b []byte }

func newLogBuilder() *logBuilder {
	l := writeLogBytes(nil)
	return &logBuilder{b: l}
}

// writeLogBytes returns a Writer's output for recs.
func writeLogBytes(recs [][]byte) []byte {
	f := &memFile{}
	w := NewWriter(f)
	for _, r := range recs {
		if err := w.AddRecord(r); err != nil {
			panic(err)
		}
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	return f.bytes()
}

// chunk appends a chunk with a correct checksum and returns its offset.
func (l *logBuilder) chunk(t byte, payload string) int64 {
	off := int64(len(l.b))
	h := make([]byte, headerSize)
	putHeader(h, t, []byte(payload))
	l.b = append(append(l.b, h...), payload...)
	return off
}

func (l *logBuilder) raw(b []byte) { l.b = append(l.b, b...) }

// padTo appends zeros up to offset off.
func (l *logBuilder) padTo(off int) { l.b = append(l.b, make([]byte, off-len(l.b))...) }

// TestTornOrCorrupt is the table of the central rule: damage after which no
// valid record starts is a torn tail; damage followed by a valid record is
// corruption, except a zeroed header, which is always a torn tail.
func TestTornOrCorrupt(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	recs := [][]byte{randRecord(rng, 100), randRecord(rng, 50000), randRecord(rng, 200), randRecord(rng, 300)}
	base := writeLog(t, recs)
	cs := parseChunks(t, base.data)
	// cs: 0 header, 1 A, 2 B first, 3 B last, 4 C, 5 D
	require.Len(t, cs, 6)
	require.Equal(t, chunkFirst, cs[2].typ)
	require.Equal(t, chunkLast, cs[3].typ)
	require.EqualValues(t, blockSize, cs[3].off)
	garbage := randRecord(rng, 1000)
	garbage[0] = 0xff // not a zeroed header

	type outcome int
	const (
		eof outcome = iota
		torn
		corrupt
	)
	type tc struct {
		name   string
		data   func() []byte
		n      int     // records read before the error
		want   outcome // io.EOF, ErrTorn or ErrCorruption
		offset int64   // TornError.Offset, or the offset named by the corruption
	}
	clone := func() []byte { return bytes.Clone(base.data) }
	flip := func(off int64) func() []byte {
		return func() []byte { d := clone(); d[off] ^= 0x10; return d }
	}
	fill := func(from, to int64, b byte) func() []byte {
		return func() []byte {
			d := clone()
			for i := from; i < to; i++ {
				d[i] = b
			}
			return d
		}
	}
	chunkEnd := func(i int) int64 { return cs[i].off + headerSize + int64(cs[i].length) }
	custom := func(f func(l *logBuilder)) func() []byte {
		return func() []byte { l := newLogBuilder(); f(l); return l.b }
	}
	var off1 int64 // filled in by custom builders, read after data()

	cases := []tc{
		{"clean log", clone, 4, eof, 0},
		{"empty file", func() []byte { return nil }, 0, eof, 0},
		{"all-zero file", func() []byte { return make([]byte, 3*blockSize+5) }, 0, eof, 0},
		{"header only", func() []byte { return base.data[:fileHeaderSize] }, 0, eof, 0},
		{"file cut inside the file header", func() []byte { return base.data[:10] }, 0, torn, 0},
		{"preallocated zeros after the log", func() []byte {
			return append(clone(), make([]byte, 2*blockSize+100)...)
		}, 4, eof, 0},
		{"file ends after a first chunk", func() []byte { return base.data[:blockSize] }, 1, torn, cs[2].off},
		{"zeros after a first chunk", func() []byte {
			return append(bytes.Clone(base.data[:blockSize]), make([]byte, 5000)...)
		}, 1, torn, cs[2].off},
		{"zero-filled gap, then valid chunks", fill(cs[4].off, chunkEnd(4), 0), 2, torn, cs[4].off},
		{"zeroed 4 KiB page at a block start", fill(blockSize, blockSize+4096, 0), 1, torn, cs[2].off},
		{"garbage appended after a clean log", func() []byte { return append(clone(), garbage...) }, 4, torn, int64(len(base.data))},
		{"zeros then garbage appended", func() []byte {
			return append(append(clone(), make([]byte, 100)...), garbage...)
		}, 4, torn, int64(len(base.data))},
		{"garbage over a chunk, valid chunks after", fill(cs[4].off, chunkEnd(4), 0xa5), 2, corrupt, cs[4].off},
		{"flip in the last record", flip(cs[5].off + 20), 3, torn, cs[5].off},
		{"flip in the last record's type byte", flip(cs[5].off + 6), 3, torn, cs[5].off},
		{"flip in the first record", flip(cs[1].off + 50), 0, corrupt, cs[1].off},
		{"flip in the first record's length, same block", flip(cs[1].off + 4), 0, corrupt, cs[1].off},
		{"flip in a last chunk, records after", flip(cs[3].off + 100), 1, corrupt, cs[3].off},
		{"flip in the file header", flip(9), 0, corrupt, 0},
		{"last record's chunk cut short, file ends", func() []byte { return base.data[:len(base.data)-1] }, 3, torn, cs[5].off},
		{"length past the end of the block, at the tail", func() []byte {
			d := clone()
			binary.LittleEndian.PutUint16(d[cs[5].off+4:], 0xffff)
			return d
		}, 3, torn, cs[5].off},
		{"length past the end of the block, records after", func() []byte {
			d := clone()
			binary.LittleEndian.PutUint16(d[cs[4].off+4:], 0xffff)
			return d
		}, 2, corrupt, cs[4].off},
		{"wrong magic with a valid checksum", func() []byte {
			d := clone()
			copy(d[7:], "NOTALOG!")
			putHeader(d, chunkFileHeader, d[7:19])
			return d
		}, 0, corrupt, 0},
		{"unsupported format version", func() []byte {
			d := clone()
			d[15] = 2
			putHeader(d, chunkFileHeader, d[7:19])
			return d
		}, 0, corrupt, 0},
		{"missing file header", custom(func(l *logBuilder) {
			l.b = nil
			l.chunk(chunkFull, "no header")
		}), 0, corrupt, 0},
		{"orphan middle chunk at the tail", custom(func(l *logBuilder) {
			l.chunk(chunkFull, "a")
			off1 = l.chunk(chunkMiddle, "orphan")
		}), 1, torn, -1},
		{"orphan last chunk, then a record", custom(func(l *logBuilder) {
			l.chunk(chunkFull, "a")
			off1 = l.chunk(chunkLast, "orphan")
			l.chunk(chunkFull, "b")
		}), 1, corrupt, -1},
		{"first chunk, then a full chunk", custom(func(l *logBuilder) {
			l.chunk(chunkFull, "a")
			off1 = l.chunk(chunkFirst, "half")
			l.chunk(chunkFull, "b")
		}), 1, corrupt, -1},
		{"first and middle chunks, then the file ends", custom(func(l *logBuilder) {
			l.chunk(chunkFull, "a")
			off1 = l.chunk(chunkFirst, "x")
			l.chunk(chunkMiddle, "y")
		}), 1, torn, -1},
		{"unknown type with a valid checksum, at the tail", custom(func(l *logBuilder) {
			l.chunk(chunkFull, "a")
			off1 = l.chunk(9, "future")
		}), 1, torn, -1},
		{"unknown type with a valid checksum, then a record", custom(func(l *logBuilder) {
			l.chunk(chunkFull, "a")
			off1 = l.chunk(9, "future")
			l.chunk(chunkFull, "b")
		}), 1, corrupt, -1},
		{"file header chunk inside the log", custom(func(l *logBuilder) {
			l.chunk(chunkFull, "a")
			off1 = int64(len(l.b))
			l.raw(base.data[:fileHeaderSize])
			l.chunk(chunkFull, "b")
		}), 1, corrupt, -1},
		{"non-zero padding, records in the next block", custom(func(l *logBuilder) {
			l.chunk(chunkFull, string(make([]byte, blockSize-fileHeaderSize-headerSize-3)))
			off1 = int64(len(l.b))
			l.raw([]byte{0, 7, 0})
			l.chunk(chunkFull, "b")
		}), 1, corrupt, -1},
		{"non-zero padding at the end of the file", custom(func(l *logBuilder) {
			l.chunk(chunkFull, string(make([]byte, blockSize-fileHeaderSize-headerSize-3)))
			off1 = int64(len(l.b))
			l.raw([]byte{0, 7, 0})
		}), 1, torn, -1},
		{"bad chunk, valid record two blocks later", custom(func(l *logBuilder) {
			l.chunk(chunkFull, "a")
			off1 = int64(len(l.b))
			l.raw([]byte{1, 2, 3, 4, 0xff, 0xff, 1})
			l.padTo(2 * blockSize)
			l.chunk(chunkMiddle, "continuation")
			l.chunk(chunkFull, "b")
		}), 1, corrupt, -1},
		{"bad chunk, only continuation chunks after", custom(func(l *logBuilder) {
			l.chunk(chunkFull, "a")
			off1 = l.chunk(chunkFirst, "x")
			l.raw([]byte{1, 2, 3, 4, 5, 0, 3, 'j', 'u', 'n', 'k', '!'})
			l.padTo(blockSize)
			l.chunk(chunkLast, "z")
		}), 1, torn, -1},
	}
	// A flip in the first chunk of a multi-chunk last record: its own
	// later chunks are valid but start no record, so this is a torn tail.
	multi := writeLog(t, [][]byte{[]byte("a"), randRecord(rng, 3*blockSize)})
	mcs := parseChunks(t, multi.data)
	cases = append(cases, tc{"flip in the first chunk of a multi-block last record", func() []byte {
		d := bytes.Clone(multi.data)
		d[mcs[2].off+10] ^= 1
		return d
	}, 1, torn, mcs[2].off})

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			off1 = -1
			data := c.data()
			offset := c.offset
			if offset == -1 {
				offset = off1
			}
			r := NewReader(bytes.NewReader(data), testName)
			for i := range c.n {
				_, err := r.Next()
				require.NoError(t, err, "record %d", i)
			}
			_, err := r.Next()
			switch c.want {
			case eof:
				require.Equal(t, io.EOF, err)
			case torn:
				expectTorn(t, err, offset)
			case corrupt:
				expectCorrupt(t, err, offset)
			}
			_, again := r.Next()
			require.Equal(t, err, again, "errors are sticky")
		})
	}
}

// TestRecordsBeforeDamageAreExact checks record contents, not just counts, in
// front of damage, including a record assembled from chunks.
func TestRecordsBeforeDamageAreExact(t *testing.T) {
	l := flipLog(t)
	cs := parseChunks(t, l.data)
	last := cs[len(cs)-1]
	d := bytes.Clone(l.data)
	d[last.off+headerSize] ^= 0x80
	got, err := readAll(d)
	require.Equal(t, l.recs[:last.rec], got)
	expectTorn(t, err, l.starts[last.rec])
}

type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

func TestReaderIOError(t *testing.T) {
	errIO := errors.New("injected EIO")
	l := writeLog(t, [][]byte{[]byte("a"), make([]byte, 2*blockSize)})
	src := io.MultiReader(bytes.NewReader(l.data[:blockSize+100]), failingReader{errIO})
	r := NewReader(src, testName)
	rec, err := r.Next()
	require.NoError(t, err)
	require.Equal(t, []byte("a"), rec)
	_, err = r.Next()
	require.ErrorIs(t, err, errIO)
	require.NotErrorIs(t, err, keys.ErrCorruption)
	require.NotErrorIs(t, err, ErrTorn)
	require.Contains(t, err.Error(), testName)
	_, again := r.Next()
	require.Equal(t, err, again)
}

// TestFullRecordSliceIsCapped checks that appending to a returned record
// cannot overwrite the reader's block buffer.
func TestFullRecordSliceIsCapped(t *testing.T) {
	l := writeLog(t, [][]byte{[]byte("one"), []byte("two")})
	r := NewReader(bytes.NewReader(l.data), testName)
	rec, err := r.Next()
	require.NoError(t, err)
	_ = append(rec, "XXXXXXXXXX"...)
	rec, err = r.Next()
	require.NoError(t, err)
	require.Equal(t, []byte("two"), rec)
}

func TestOffsetBeforeFirstRecord(t *testing.T) {
	r := NewReader(bytes.NewReader(writeLogBytes(nil)), testName)
	require.Zero(t, r.Offset())
	_, err := r.Next()
	require.Equal(t, io.EOF, err)
}

// NextStart, after each record, is where the writer put the next record
// (past a block tail too short for a header), and after the last one the
// log's size; records spanning blocks and ending within 7 bytes of a block
// boundary included.
func TestNextStartMatchesWriter(t *testing.T) {
	sizes := []int{32768 - 19 - 7 - 3, 0, 32768 - 7 - 7 - 6, 1, 100, 32 << 10, 32<<10 - 7, 32<<10 - 14 - 19, 5, 100 << 10, 3, 0, 32<<10 - 20}
	recs := make([][]byte, len(sizes))
	for i, n := range sizes {
		recs[i] = bytes.Repeat([]byte{byte(i)}, n)
	}
	l := writeLog(t, recs)
	r := NewReader(bytes.NewReader(l.data), testName)
	for i := range recs {
		_, err := r.Next()
		require.NoError(t, err)
		require.Equal(t, l.starts[i], r.Offset(), "record %d", i)
		want := int64(len(l.data))
		if i+1 < len(recs) {
			want = l.starts[i+1]
		}
		require.Equal(t, want, r.NextStart(), "after record %d (%d bytes)", i, sizes[i])
	}
	_, err := r.Next()
	require.Equal(t, io.EOF, err)
}

package sstable

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/rangedel"
)

func testRangeDels() rangedel.List {
	return rangedel.Build([]rangedel.Tombstone{
		{Start: []byte("b"), End: []byte("f"), Seq: 7},
		{Start: []byte("d"), End: []byte("h"), Seq: 5},
	})
}

// writeRD writes a table of the given point keys (seq 1, SET) and range
// tombstones.
func writeRD(t *testing.T, points []string, l rangedel.List) *memFile {
	t.Helper()
	f := &memFile{}
	w := NewWriter(f, WriterOptions{})
	require.NoError(t, w.SetRangeDels(l))
	for _, p := range points {
		require.NoError(t, w.Add(keys.MakeKey(nil, []byte(p), 1, keys.KindSet), []byte("v"+p)))
	}
	require.Equal(t, len(points) == 0 && len(l) == 0, w.Empty())
	props, err := w.Finish()
	require.NoError(t, err)
	require.Equal(t, uint64(l.Count()), props.NumRangeDeletions)
	return f
}

func TestRangeDelBlockRoundTrip(t *testing.T) {
	for _, points := range [][]string{nil, {"a", "c", "e", "z"}} {
		f := writeRD(t, points, testRangeDels())
		version := binary.LittleEndian.Uint32(f.buf[len(f.buf)-footerLen+48:])
		require.Equal(t, formatVersionRangeDel, version)
		r, err := NewReader(f, int64(len(f.buf)), 1, "t.sst", ReaderOptions{})
		require.NoError(t, err)
		require.Equal(t, "[b,d)[7] [d,f)[7 5] [f,h)[5] ", renderRD(r.RangeDels()))
		require.Equal(t, uint64(4), r.Properties().NumRangeDeletions)
		require.NoError(t, r.Verify())
		var kinds []string
		for _, b := range r.Layout() {
			kinds = append(kinds, b.Kind.String())
		}
		require.Contains(t, kinds, "range-del")
		// Points read as before; the filter still answers for them.
		for _, p := range points {
			_, v, ok, err := r.Get([]byte(p), keys.SearchKey(nil, []byte(p), 10))
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, "v"+p, string(v))
		}
	}
}

// A table without range tombstones is written as before, format version 1.
func TestNoRangeDelsKeepsVersion1(t *testing.T) {
	f := writeRD(t, []string{"a"}, nil)
	require.Equal(t, formatVersion, binary.LittleEndian.Uint32(f.buf[len(f.buf)-footerLen+48:]))
	r, err := NewReader(f, int64(len(f.buf)), 1, "t.sst", ReaderOptions{})
	require.NoError(t, err)
	require.Nil(t, r.RangeDels())
	for _, b := range r.Layout() {
		require.NotEqual(t, BlockRangeDel, b.Kind)
	}
}

// Every bit flip of the range deletion block is found at open.
func TestRangeDelBlockBitFlips(t *testing.T) {
	f := writeRD(t, []string{"a", "z"}, testRangeDels())
	r, err := NewReader(f, int64(len(f.buf)), 1, "t.sst", ReaderOptions{})
	require.NoError(t, err)
	p := r.Properties()
	for off := p.RangeDelOffset; off < p.RangeDelOffset+p.RangeDelSize; off++ {
		for bit := 0; bit < 8; bit++ {
			b := append([]byte(nil), f.buf...)
			b[off] ^= 1 << bit
			mf := &memFile{buf: b}
			_, err := NewReader(mf, int64(len(b)), 1, "t.sst", ReaderOptions{})
			require.ErrorIs(t, err, keys.ErrCorruption, "flip at %d bit %d", off, bit)
		}
	}
	require.Error(t, NewWriter(&memFile{}, WriterOptions{}).SetRangeDels(rangedel.List{{Start: []byte("b"), End: []byte("a"), Seqs: []keys.SeqNum{1}}}))
}

func renderRD(l rangedel.List) string {
	s := ""
	for _, f := range l {
		s += "[" + string(f.Start) + "," + string(f.End) + ")" + seqsString(f.Seqs) + " "
	}
	return s
}

func seqsString(s []keys.SeqNum) string {
	out := "["
	for i, v := range s {
		if i > 0 {
			out += " "
		}
		out += string(rune('0' + v))
	}
	return out + "]"
}

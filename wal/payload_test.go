package wal

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every run of every record's bytes reads back through PayloadOffset and
// ReadPayload, for records that start anywhere in a block (the header's last
// bytes of a block included) and span up to several blocks.
func TestReadPayloadEveryRun(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var recs [][]byte
	for _, n := range []int{0, 1, 100, 3 * blockSize, 5, blockSize - headerSize, blockSize, 70000, 1} {
		recs = append(recs, randRecord(rng, n))
	}
	checkPayloads(t, rng, recs)
	// A first record that leaves 8, 7 (the next record's first chunk is
	// empty), 6, 1 or 0 bytes (padding, then the next block) in block 0.
	for _, left := range []int{8, 7, 6, 1, 0} {
		checkPayloads(t, rng, [][]byte{randRecord(rng, blockSize-fileHeaderSize-headerSize-left), randRecord(rng, 40000)})
	}
}

// checkPayloads writes recs to a log and reads runs of each back.
func checkPayloads(t *testing.T, rng *rand.Rand, recs [][]byte) {
	l := writeLog(t, recs)
	r := NewReader(bytes.NewReader(l.data), "log")
	for i, want := range recs {
		got, err := r.Next()
		require.NoError(t, err)
		require.Equal(t, want, got)
		require.Equal(t, l.starts[i], r.Offset())
		start := r.Offset()
		for k := 0; k < 200 && len(want) > 0; k++ {
			a := rng.IntN(len(want))
			b := a + rng.IntN(len(want)-a+1)
			if k == 0 {
				a, b = 0, len(want)
			}
			off := PayloadOffset(start, int64(a))
			require.Equal(t, want[a], l.data[off], "record %d byte %d", i, a)
			dst := make([]byte, rng.IntN(2*(b-a)+1))
			got, err := ReadPayload(bytes.NewReader(l.data), "log", off, b-a, dst)
			require.NoError(t, err)
			require.Equal(t, want[a:b], got, "record %d [%d,%d)", i, a, b)
			require.Equal(t, PayloadSpan(off, b-a), PayloadOffset(start, int64(b-1))+1-off, "record %d [%d,%d)", i, a, b)
		}
	}
}

// The record whose first chunk is empty: its header takes a block's last
// seven bytes, and its first byte is past the next block's header.
func TestPayloadOffsetEmptyFirstChunk(t *testing.T) {
	start := int64(blockSize - headerSize)
	require.Equal(t, int64(blockSize+headerSize), PayloadOffset(start, 0))
	require.Equal(t, int64(2*blockSize-1), PayloadOffset(start, blockSize-headerSize-1))
	require.Equal(t, int64(2*blockSize+headerSize), PayloadOffset(start, blockSize-headerSize))
}

func TestReadPayloadErrors(t *testing.T) {
	data := make([]byte, 3*blockSize)
	_, err := ReadPayload(bytes.NewReader(data), "seg", blockSize+3, 10, nil)
	require.ErrorContains(t, err, "no payload starts at offset 32771")
	_, err = ReadPayload(bytes.NewReader(data), "seg", 2*blockSize+100, blockSize, nil)
	require.ErrorContains(t, err, "seg")
	require.ErrorContains(t, err, "unexpected EOF")
	got, err := ReadPayload(bytes.NewReader(data), "seg", 100, 0, nil)
	require.NoError(t, err)
	require.Empty(t, got)
}

// NextOffset, asked before AddRecord, is where the reader finds the
// record's first chunk, block-tail padding included.
func TestNextOffsetIsTheRecordStart(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	f := &memFile{}
	w := NewWriter(f)
	var starts []int64
	var recs [][]byte
	for i := range 300 {
		n := rng.IntN(3000)
		if i%7 == 0 {
			// Leave 0 to 8 bytes in the block.
			left := int(blockSize - w.Size()%blockSize)
			n = max(left-headerSize-rng.IntN(9), 0)
		}
		rec := randRecord(rng, n)
		starts = append(starts, w.NextOffset())
		require.NoError(t, w.AddRecord(rec))
		recs = append(recs, rec)
		if rng.IntN(4) == 0 {
			require.NoError(t, w.Flush())
		}
	}
	require.NoError(t, w.Close())
	r := NewReader(bytes.NewReader(f.bytes()), "log")
	for i := range recs {
		got, err := r.Next()
		require.NoError(t, err)
		require.Equal(t, recs[i], got)
		require.Equal(t, starts[i], r.Offset(), "record %d", i)
	}
}

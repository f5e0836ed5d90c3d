package sstable

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/keys"
)

// TestPropertiesRoundTrip: the properties Finish returns are those the
// reader decodes, and they describe the entries: counts by kind, sizes,
// key and sequence ranges, and the expiry range of KindSetExpiry values.
func TestPropertiesRoundTrip(t *testing.T) {
	mk := func(uk string, seq keys.SeqNum, k keys.Kind) []byte { return keys.MakeKey(nil, []byte(uk), seq, k) }
	entries := []kv{
		{mk("a", 10, keys.KindSet), []byte("v1")},
		{mk("b", 7, keys.KindDelete), nil},
		{mk("c", 12, keys.KindSetExpiry), keys.AppendExpiryValue(nil, 5000, []byte("x"))},
		{mk("c", 3, keys.KindSetExpiry), keys.AppendExpiryValue(nil, -20, nil)},
		{mk("d", 4, keys.KindSetExpiry), keys.AppendExpiryValue(nil, math.MaxInt64, []byte("yy"))},
		{mk("e", 99, keys.KindDelete), nil},
	}
	before := time.Now().UnixNano()
	data, props := writeTable(t, entries, WriterOptions{Compression: CompressionSnappy})
	rd := openTable(t, data, ReaderOptions{})
	require.Equal(t, props, rd.Properties())

	var rawKey, rawVal uint64
	for _, e := range entries {
		rawKey += uint64(len(e.key))
		rawVal += uint64(len(e.value))
	}
	require.Equal(t, uint64(6), props.NumEntries)
	require.Equal(t, uint64(2), props.NumDeletions)
	require.Equal(t, uint64(3), props.NumExpiring)
	require.Equal(t, rawKey, props.RawKeySize)
	require.Equal(t, rawVal, props.RawValueSize)
	require.Equal(t, entries[0].key, props.SmallestKey)
	require.Equal(t, entries[5].key, props.LargestKey)
	require.Equal(t, keys.SeqNum(3), props.SmallestSeq)
	require.Equal(t, keys.SeqNum(99), props.LargestSeq)
	require.Equal(t, int64(-20), props.EarliestExpiry)
	require.Equal(t, int64(math.MaxInt64), props.LatestExpiry)
	require.Equal(t, uint64(1), props.NumDataBlocks)
	require.Equal(t, CompressionSnappy, props.Compression)
	require.GreaterOrEqual(t, props.CreationTime, before)
	require.Equal(t, uint64(len(data)), props.FileSize)
	layout := rd.Layout()
	require.Equal(t, props.DataSize, layout[0].Length+blockTrailerLen)
	require.Equal(t, props.FilterSize, layout[1].Length+blockTrailerLen)
	require.Equal(t, props.IndexSize, layout[2].Length+blockTrailerLen)
	require.Contains(t, props.String(), "deletions: 2")

	// No expiring entries: the expiry range is zero.
	data, props = writeTable(t, entries[:2], WriterOptions{})
	require.Zero(t, props.EarliestExpiry)
	require.Zero(t, props.LatestExpiry)
	require.Equal(t, props, openTable(t, data, ReaderOptions{}).Properties())
}

// TestPropertiesSkipUnknownFields: a reader ignores property ids it does
// not know, of every wire type, so new properties can be added.
func TestPropertiesSkipUnknownFields(t *testing.T) {
	p := Properties{NumEntries: 3, SmallestKey: []byte("k\x00\x00\x00\x00\x00\x00\x00\x00"), EarliestExpiry: -4}
	b := p.encode()
	b = append(binary.AppendUvarint(b, 99<<3|wireUvarint), 7)
	b = append(binary.AppendUvarint(b, 100<<3|wireVarint), 3)
	b = append(binary.AppendUvarint(b, 101<<3|wireBytes), 2, 'h', 'i')
	got, err := decodeProperties(b, "p", 0)
	require.NoError(t, err)
	require.Equal(t, p, got)
	for name, bad := range map[string][]byte{
		"unknown wire type": {1<<3 | 5, 1},
		"wrong wire type":   {propSmallestKey<<3 | wireUvarint, 1},
		"bytes overrun":     {propSmallestKey<<3 | wireBytes, 10, 'a'},
		"truncated":         {propNumEntries<<3 | wireUvarint, 0x80},
		"bad compression":   {propCompression<<3 | wireUvarint, 9},
	} {
		_, err := decodeProperties(bad, "p.sst", 40)
		require.True(t, errors.Is(err, keys.ErrCorruption), "%s: %v", name, err)
		require.Contains(t, err.Error(), "p.sst at offset 40")
	}
}

func TestWriterRejectsMisuse(t *testing.T) {
	k := func(uk string, seq keys.SeqNum) []byte { return keys.MakeKey(nil, []byte(uk), seq, keys.KindSet) }
	f := &memFile{}
	w := NewWriter(f, WriterOptions{})
	require.NoError(t, w.Add(k("b", 5), nil))
	require.Error(t, w.Add(k("b", 5), nil), "duplicate key")
	require.Error(t, w.Add(k("b", 6), nil), "newer version after older")
	require.Error(t, w.Add(k("a", 9), nil), "smaller user key")
	require.Error(t, w.Add([]byte("short"), nil), "not an internal key")
	require.Error(t, w.Add(keys.MakeKey(nil, []byte("c"), 1, keys.Kind(9)), nil), "unknown kind")
	require.Error(t, w.Add(keys.MakeKey(nil, []byte("c"), 1, keys.KindSetExpiry), []byte("1234567")), "expiry too short")
	require.NoError(t, w.Add(k("b", 4), []byte("v")), "rejected calls must not break the writer")
	require.Equal(t, uint64(2), w.NumEntries())
	props, err := w.Finish()
	require.NoError(t, err)
	require.Equal(t, uint64(2), props.NumEntries)
	_, err = w.Finish()
	require.Error(t, err, "second Finish")
	require.Error(t, w.Add(k("c", 1), nil), "Add after Finish")
	w.Abort() // no-op after Finish

	for _, o := range []WriterOptions{{BlockSize: -1}, {RestartInterval: -2}, {Compression: 7}, {BloomBitsPerKey: 1000}} {
		w := NewWriter(&memFile{}, o)
		require.Error(t, w.Add(k("a", 1), nil), "%+v", o)
		_, err := w.Finish()
		require.Error(t, err, "%+v", o)
	}
}

// TestWriterWriteErrorIsSticky: a failed write is returned, and every later
// call fails too.
func TestWriterWriteErrorIsSticky(t *testing.T) {
	boom := errors.New("boom")
	f := &memFile{failWrite: boom}
	w := NewWriter(f, WriterOptions{BlockSize: 1})
	// Blocks are buffered: keep adding until the buffer must be written.
	var err error
	for i := 0; err == nil && i < 100000; i++ {
		err = w.Add(keys.MakeKey(nil, []byte{byte(i >> 16), byte(i >> 8), byte(i)}, 1, keys.KindSet), bytes.Repeat([]byte("v"), 100))
	}
	require.ErrorIs(t, err, boom)
	require.ErrorIs(t, w.Add(keys.MakeKey(nil, []byte{0xff, 0xff, 0xff, 0xff}, 1, keys.KindSet), nil), boom)
	_, err = w.Finish()
	require.ErrorIs(t, err, boom)
	require.True(t, f.closed)

	// Finish also reports a failure of its own final write.
	f = &memFile{}
	w = NewWriter(f, WriterOptions{})
	require.NoError(t, w.Add(keys.MakeKey(nil, []byte("a"), 1, keys.KindSet), nil))
	f.failWrite = boom
	_, err = w.Finish()
	require.ErrorIs(t, err, boom)
}

func TestWriterAbortClosesFile(t *testing.T) {
	f := &memFile{}
	w := NewWriter(f, WriterOptions{})
	require.NoError(t, w.Add(keys.MakeKey(nil, []byte("a"), 1, keys.KindSet), nil))
	w.Abort()
	require.True(t, f.closed)
	w.Abort() // second Abort does nothing (no double close)
	_, err := w.Finish()
	require.Error(t, err)
}

// TestEmptyTable: a table with no entries opens, verifies, and reads as
// empty.
func TestEmptyTable(t *testing.T) {
	for _, bits := range []int{0, -1} {
		data, props := writeTable(t, nil, WriterOptions{BloomBitsPerKey: bits})
		require.Zero(t, props.NumEntries)
		rd := openTable(t, data, ReaderOptions{})
		require.NoError(t, rd.Verify())
		it := rd.NewIter()
		require.False(t, it.First())
		require.False(t, it.Last())
		require.False(t, it.SeekGE(keys.SearchKey(nil, []byte("a"), 1)))
		require.False(t, it.SeekLT(keys.SearchKey(nil, []byte("a"), 1)))
		require.NoError(t, it.Close())
		_, _, found, err := rd.Get([]byte("a"), keys.SearchKey(nil, []byte("a"), 1))
		require.NoError(t, err)
		require.False(t, found)
		require.Nil(t, rd.Properties().SmallestKey)
	}
}

// TestEstimatedSize: the estimate tracks the final size within a small
// margin, and grows as entries are added.
func TestEstimatedSize(t *testing.T) {
	f := &memFile{}
	w := NewWriter(f, WriterOptions{})
	last := w.EstimatedSize()
	for i := 0; i < 20000; i++ {
		require.NoError(t, w.Add(keys.MakeKey(nil, []byte{byte(i >> 8), byte(i), 'k'}, 1, keys.KindSet), []byte("value-value")))
		est := w.EstimatedSize()
		require.GreaterOrEqual(t, est, last)
		last = est
	}
	props, err := w.Finish()
	require.NoError(t, err)
	diff := math.Abs(float64(last) - float64(props.FileSize))
	require.Less(t, diff, 0.02*float64(props.FileSize), "estimate %d, final %d", last, props.FileSize)
}

// TestReaderCloseAndUseAfterClose: a closed reader returns errors, never
// panics, and closes its underlying file once.
func TestReaderCloseAndUseAfterClose(t *testing.T) {
	data, _ := writeTable(t, []kv{{keys.MakeKey(nil, []byte("a"), 1, keys.KindSet), []byte("v")}}, WriterOptions{})
	f := &memFile{buf: data}
	rd, err := NewReader(f, int64(len(data)), 3, "000003.sst", ReaderOptions{})
	require.NoError(t, err)
	require.NoError(t, rd.Close())
	require.True(t, f.closed)
	require.Error(t, rd.Close())
	_, _, _, err = rd.Get([]byte("a"), keys.SearchKey(nil, []byte("a"), 1))
	require.Error(t, err)
	it := rd.NewIter()
	require.False(t, it.First())
	require.Error(t, it.Error())
	require.Error(t, rd.Verify())
}

// TestLargeValues: values far larger than a block and than the write buffer
// round-trip under every compression.
func TestLargeValues(t *testing.T) {
	var entries []kv
	for i, n := range []int{10, 300 << 10, 3 << 20, 5, 1 << 20} {
		v := bytes.Repeat([]byte{byte('a' + i), 'x', 'y'}, n/3+1)[:n]
		entries = append(entries, kv{keys.MakeKey(nil, []byte{byte('a' + i)}, 1, keys.KindSet), v})
	}
	for _, c := range []Compression{CompressionNone, CompressionSnappy, CompressionZstd} {
		data, props := writeTable(t, entries, WriterOptions{Compression: c})
		require.GreaterOrEqual(t, props.MaxBlockSize, uint64(3<<20))
		rd := openTable(t, data, ReaderOptions{Cache: NewCache(64 << 20)})
		require.NoError(t, rd.Verify())
		for _, e := range entries {
			uk := keys.UserKey(e.key)
			_, v, found, err := rd.Get(uk, keys.SearchKey(nil, uk, keys.MaxSeq))
			require.NoError(t, err)
			require.True(t, found)
			require.True(t, bytes.Equal(e.value, v), "%v: value of %d bytes", c, len(e.value))
		}
		if c != CompressionNone {
			require.Less(t, len(data), 1<<20, "%v should compress the repetitive values", c)
		}
	}
}

package sstable

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/internal/slab"
	"github.com/stratadb/strata/keys"
)

// TestMissDecodesIntoTheCache: a block missing from the cache is decoded
// into the memory the cache keeps, for every compression; a block whose
// stream turns out damaged after its checksum passed (here: a snappy
// length header one short) returns corruption and leaves no memory of the
// cache's allocator behind.
func TestMissDecodesIntoTheCache(t *testing.T) {
	entries := genEntries(rand.New(rand.NewPCG(5, 5)), 2000)
	for _, comp := range []Compression{CompressionNone, CompressionSnappy, CompressionZstd} {
		data, _ := writeTable(t, entries, WriterOptions{BlockSize: 1024, Compression: comp})
		c := NewCache(8 << 20)
		rd := openTable(t, data, ReaderOptions{Cache: c})
		for _, e := range entries[:200] {
			uk := keys.UserKey(e.key)
			tr, v, ref, found, err := rd.LookupRef(uk, e.key)
			require.NoError(t, err)
			require.True(t, found)
			require.Equal(t, keys.TrailerOf(e.key), tr)
			require.True(t, bytes.Equal(e.value, v), "value of %s", fmtKey(e.key))
			ref.Release()
		}
		// Each block is charged its slot's size; the race build maps each
		// buffer apart, at its exact size. The filter, once read, is held
		// there too (counted with the parts), and so is the point index.
		require.Positive(t, c.alloc.Live(), "%v", comp)
		filter := int64(slab.Size(int(rd.meta.footer.filter.length)+blockTrailerLen)) * rd.stats.FilterBlocksRead.Load()
		require.LessOrEqual(t, c.alloc.Live(), c.Size()-int64(cacheEntryOverhead)*rd.stats.DataBlocksRead.Load()+filter+pointIndexLive(rd),
			"%v: the allocator holds the cached blocks, the filter and the point index, nothing else", comp)
		require.NoError(t, rd.Close())
		c.Close()
		require.Zero(t, c.alloc.Live(), "%v", comp)
	}

	data, _ := writeTable(t, entries, WriterOptions{BlockSize: 1024, Compression: CompressionSnappy})
	layout := openTable(t, data, ReaderOptions{}).Layout()
	first := layout[0]
	require.Equal(t, BlockData, first.Kind)
	hdr := data[first.Offset:]
	require.True(t, hdr[0]&0x80 != 0 && hdr[0]&0x7f > 0, "a two-byte length header whose low bits can go down by one")
	hdr[0]--
	rechecksum(data, layout)
	c := NewCache(8 << 20)
	rd, err := NewReader(bytes.NewReader(data), int64(len(data)), 42, corruptName, ReaderOptions{Cache: c})
	require.NoError(t, err)
	uk := keys.UserKey(entries[0].key)
	_, _, ref, _, err := rd.LookupRef(uk, entries[0].key)
	ref.Release()
	require.ErrorIs(t, err, keys.ErrCorruption)
	require.Zero(t, c.Size(), "the damaged block is not cached")
	requireFilterHeld(t, rd, rd.stats.FilterBlocksRead.Load(), "the slot it was decoded into is freed; the filter read is kept")
	require.NoError(t, rd.Close())
}

package lsm

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/vfs"
)

// TestGetsDoNotReopenTables: with a block cache smaller than the index
// and filter blocks of the DB's tables, random Gets open each table at most
// once (an evicted index or filter is read again alone, not by reopening
// the table), and the metadata they read from files stays within a few
// blocks per Get. The table cache once closed readers whose metadata
// outgrew three quarters of the cache, so that such Gets reopened a table
// (footer, properties, index, filter) on nearly every call.
func TestGetsDoNotReopenTables(t *testing.T) {
	const blockSize = 2 << 10
	db := openMem(t, vfs.NewMem(), &Options{
		MemtableSize:          256 << 10,
		BlockSize:             blockSize,
		BlockCacheSize:        96 << 10,
		TargetFileSize:        256 << 10,
		BaseLevelSize:         256 << 10,
		TTLCompactionInterval: -1,
	})
	defer db.Close()
	const n = 60_000
	val := make([]byte, 100)
	vr := rand.New(rand.NewPCG(3, 4))
	var k [16]byte
	for i := range n {
		putKey(k[:], uint64(i))
		for j := range val {
			val[j] = byte(vr.Uint32()) // incompressible
		}
		val[0] = byte(i)
		require.NoError(t, db.Put(k[:], val))
	}
	require.NoError(t, db.Flush())
	require.NoError(t, db.Compact(nil, nil))

	m0 := db.Metrics()
	require.Greater(t, m0.Tables, 20, "many tables")
	r := rand.New(rand.NewPCG(1, 2))
	const gets = 4000
	for range gets {
		i := r.IntN(n)
		putKey(k[:], uint64(i))
		v, err := db.Get(k[:])
		require.NoError(t, err)
		require.Equal(t, byte(i), v[0])
	}
	m1 := db.Metrics()
	opens := m1.TableOpens - m0.TableOpens
	meta := (m1.TableBytesRead - m1.DataBlockBytesRead) - (m0.TableBytesRead - m0.DataBlockBytesRead)
	t.Logf("%d tables, %d opens, %d index and %d filter blocks read, metadata %d B/Get, data %d B/Get, table index/filter bytes %d of cache %d",
		m1.Tables, opens, m1.IndexBlocksRead-m0.IndexBlocksRead, m1.FilterBlocksRead-m0.FilterBlocksRead,
		meta/gets, (m1.DataBlockBytesRead-m0.DataBlockBytesRead)/gets, m1.TableIndexFilterBytes, m1.BlockCacheCapacity)
	require.LessOrEqual(t, opens, int64(m1.Tables), "each table opened at most once by the Gets")
	require.LessOrEqual(t, meta, int64(gets)*2*blockSize, "metadata read per Get within two blocks")
	require.LessOrEqual(t, m1.BlockCacheBytes+m1.TableIndexFilterBytes, m1.BlockCacheCapacity)
}

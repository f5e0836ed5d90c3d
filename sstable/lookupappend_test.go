package sstable

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/keys"
)

// TestLookupAppend: LookupAppend finds what Lookup finds, for every entry
// and for absent keys, under each compression; its values are the caller's
// (appended to dst, unchanged by later reads); with fill false it reads
// blocks without adding them to the cache yet uses the ones cached, and with
// fill true it fills the cache as Lookup does.
func TestLookupAppend(t *testing.T) {
	for _, c := range []Compression{CompressionNone, CompressionSnappy, CompressionZstd} {
		t.Run(c.String(), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(c)+41, 42))
			entries := genEntries(r, 600)
			data, _ := writeTable(t, entries, WriterOptions{BlockSize: 512, Compression: c})
			stats := &Stats{}
			cache := NewCache(8 << 20)
			rd := openTable(t, data, ReaderOptions{Cache: cache, Stats: stats})
			defer rd.Close()

			type read struct {
				want []byte
				got  []byte
			}
			var reads []read
			prefix := []byte("prefix-")
			for _, e := range entries {
				p, ok := keys.Parse(e.key)
				require.True(t, ok)
				sk := keys.SearchKey(nil, p.UserKey, p.Seq)
				wantTr, wantV, wantFound, err := rd.Lookup(p.UserKey, sk)
				require.NoError(t, err)
				cache.EvictFile(rd.FileNum()) // Lookup filled it; LookupAppend must read the file
				dst := append(make([]byte, 0, len(prefix)), prefix...)
				tr, v, found, err := rd.LookupAppend(dst, p.UserKey, sk, false)
				require.NoError(t, err)
				require.Equal(t, wantFound, found, fmtKey(e.key))
				if !found {
					require.Equal(t, prefix, v)
					continue
				}
				require.Equal(t, wantTr, tr, fmtKey(e.key))
				require.Equal(t, prefix, v[:len(prefix)])
				reads = append(reads, read{want: bytes.Clone(wantV), got: v[len(prefix):]})
			}
			require.NotEmpty(t, reads)
			require.Zero(t, cache.Size(), "fill false added blocks to the cache")
			require.Positive(t, stats.DataBlocksRead.Load())
			for i, rr := range reads {
				require.Equal(t, string(rr.want), string(rr.got), "read %d changed after later reads", i)
			}

			// Absent keys: a user key no entry has.
			for i := range 20 {
				uk := fmt.Appendf(nil, "absent-%03d", i)
				_, v, found, err := rd.LookupAppend(prefix, uk, keys.SearchKey(nil, uk, keys.MaxSeq), false)
				require.NoError(t, err)
				require.False(t, found)
				require.Equal(t, prefix, v)
			}

			// A cached block is used: no file read.
			e := entries[len(entries)/2]
			p, _ := keys.Parse(e.key)
			sk := keys.SearchKey(nil, p.UserKey, p.Seq)
			_, want, _, err := rd.Lookup(p.UserKey, sk)
			require.NoError(t, err)
			want = bytes.Clone(want)
			reads0, hits0 := stats.DataBlocksRead.Load(), stats.BlockCacheHits.Load()
			_, v, found, err := rd.LookupAppend(nil, p.UserKey, sk, false)
			require.NoError(t, err)
			require.True(t, found)
			require.Equal(t, string(want), string(v))
			require.Equal(t, reads0, stats.DataBlocksRead.Load())
			require.Equal(t, hits0+1, stats.BlockCacheHits.Load())

			// fill true caches the block it reads.
			cache.EvictFile(rd.FileNum())
			_, v, found, err = rd.LookupAppend(nil, p.UserKey, sk, true)
			require.NoError(t, err)
			require.True(t, found)
			require.Equal(t, string(want), string(v))
			require.Positive(t, cache.Size())
		})
	}
}

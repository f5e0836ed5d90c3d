package sstable

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/keys"
)

// TestCompactionIterDropsParts: a compaction iterator told to
// (DropPartsOnClose) evicts its table's point index from the cache when it
// closes; an ordinary iterator, or a compaction iterator not told to,
// leaves it. A Get afterwards still finds every key, and caches the point
// index again.
func TestCompactionIterDropsParts(t *testing.T) {
	entries, rd, c := cachedTable(t, 5, 4000)

	cached := func() bool {
		var p pointIndex
		ref, ok := rd.cachedPointIdx(&p)
		ref.Release()
		return ok
	}
	require.True(t, cached(), "NewReader caches the point index")
	parts := c.Parts()
	require.Positive(t, parts)

	for _, tc := range []struct {
		name       string
		compaction bool
		drop       bool
		dropped    bool
	}{
		{"ordinary iterator", false, false, false},
		{"ordinary iterator told to drop", false, true, false},
		{"compaction iterator", true, false, false},
		{"compaction iterator told to drop", true, true, true},
	} {
		require.True(t, cached(), tc.name)
		it := rd.NewIter()
		if tc.compaction {
			it = rd.NewCompactionIter()
		}
		if tc.drop {
			it.DropPartsOnClose()
		}
		scanEntries(t, it, entries, len(entries))
		require.True(t, cached(), "%s: held while open", tc.name)
		require.NoError(t, it.Close())
		require.NoError(t, it.Close(), "%s: a second Close", tc.name)
		require.Equal(t, !tc.dropped, cached(), tc.name)
		if tc.dropped {
			require.Zero(t, c.Parts(), tc.name)
		} else {
			require.Equal(t, parts, c.Parts(), tc.name)
		}
	}

	for i, e := range entries {
		uk := keys.UserKey(e.key)
		if i > 0 && bytes.Equal(uk, keys.UserKey(entries[i-1].key)) {
			continue // an older version: a Get finds the newest
		}
		_, v, found, err := rd.Get(uk, keys.SearchKey(nil, uk, keys.MaxSeq))
		require.NoError(t, err)
		require.True(t, found, "%q", uk)
		require.True(t, bytes.Equal(e.value, v))
	}
	require.True(t, cached(), "a Get made the point index again")
	require.GreaterOrEqual(t, c.Parts(), parts, "(the Gets may have read the filter too)")
}

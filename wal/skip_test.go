package wal

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/keys"
)

// TestEndAndSkipAroundAFlippedBit: End is where the intact prefix ends, a
// log cut there reads back as exactly that prefix, and Skip resumes at the
// first record after the damage, so a tool can count what lies beyond it.
func TestEndAndSkipAroundAFlippedBit(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	var recs [][]byte
	for i := 0; i < 120; i++ {
		n := 10 + rng.IntN(900)
		if i%17 == 0 {
			n = 40_000 // spans blocks: first, middle?, last chunks
		}
		recs = append(recs, randRecord(rng, n))
	}
	l := writeLog(t, recs)
	for _, victim := range []int{0, 1, 17, 34, 50, 51, 85, 118} {
		for _, where := range []string{"header", "payload start", "payload end"} {
			data := bytes.Clone(l.data)
			var at int64
			switch where {
			case "header":
				at = l.starts[victim] + 1 // the CRC
			case "payload start":
				at = l.starts[victim] + headerSize + 2
			case "payload end":
				at = l.ends[victim] - 1
			}
			data[at] ^= 0x10
			r := NewReader(bytes.NewReader(data), testName)
			n := 0
			var err error
			for {
				var rec []byte
				if rec, err = r.Next(); err != nil {
					break
				}
				require.Equal(t, recs[n], rec)
				n++
				require.Equal(t, l.ends[n-1], r.End())
			}
			require.Equal(t, victim, n, "victim %d (%s): the records before it are read", victim, where)
			require.ErrorIs(t, err, keys.ErrCorruption, "victim %d (%s)", victim, where)
			wantEnd := int64(fileHeaderPayload + headerSize)
			if victim > 0 {
				wantEnd = l.ends[victim-1]
			}
			require.Equal(t, wantEnd, r.End(), "victim %d (%s): End is the end of the intact prefix", victim, where)

			// The prefix is a whole log.
			got, perr := readAll(data[:r.End()])
			require.ErrorIs(t, perr, io.EOF)
			require.Equal(t, recs[:victim], got)

			// Skip lands on the next record and reading goes on to the end.
			off, ok := r.Skip()
			require.True(t, ok, "victim %d (%s)", victim, where)
			require.Equal(t, l.starts[victim+1], off, "victim %d (%s)", victim, where)
			for i := victim + 1; i < len(recs); i++ {
				rec, err := r.Next()
				require.NoError(t, err, "record %d after skipping victim %d (%s)", i, victim, where)
				require.Equal(t, recs[i], rec)
			}
			_, err = r.Next()
			require.ErrorIs(t, err, io.EOF)
			_, ok = r.Skip()
			require.False(t, ok, "nothing to skip at a clean end")
		}
	}
}

func TestSkipRefusesATornTail(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	recs := [][]byte{randRecord(rng, 100), randRecord(rng, 100), randRecord(rng, 100)}
	l := writeLog(t, recs)
	data := bytes.Clone(l.data)
	data[l.ends[2]-1] ^= 1 // the last record: a torn tail
	r := NewReader(bytes.NewReader(data), testName)
	for range 2 {
		_, err := r.Next()
		require.NoError(t, err)
	}
	_, err := r.Next()
	require.True(t, errors.Is(err, ErrTorn))
	require.Equal(t, l.ends[1], r.End())
	_, ok := r.Skip()
	require.False(t, ok)
	_, err2 := r.Next()
	require.Equal(t, err, err2, "the error stays")
}

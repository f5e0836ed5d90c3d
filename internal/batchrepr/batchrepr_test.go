package batchrepr

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/keys"
)

// TestWorkedExample is the example of the package documentation.
func TestWorkedExample(t *testing.T) {
	repr := make([]byte, HeaderLen)
	repr = AppendEntry(repr, keys.KindSet, []byte("a"), []byte("x"), 0)
	repr = AppendRangeDelete(repr, []byte("b"), []byte("d"))
	SetHeader(repr, 7, 2)
	require.Equal(t, []byte{7, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0,
		1, 1, 'a', 1, 'x',
		3, 1, 'b', 1, 'd'}, repr)
	var got []string
	seq, n, err := Decode(repr, "wal", 0, func(seq keys.SeqNum, e Entry) error {
		got = append(got, e.Kind.String()+" "+string(e.Key)+" "+string(e.Value))
		require.Equal(t, keys.SeqNum(7+len(got)-1), seq)
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, keys.SeqNum(7), seq)
	require.Equal(t, 2, n)
	require.Equal(t, []string{"SET a x", "RANGEDEL b d"}, got)
}

func TestDecodeRejectsEmptyRange(t *testing.T) {
	for _, r := range [][2]string{{"b", "b"}, {"c", "b"}} {
		repr := AppendRangeDelete(make([]byte, HeaderLen), []byte(r[0]), []byte(r[1]))
		SetHeader(repr, 1, 1)
		_, _, err := Decode(repr, "wal", 0, func(keys.SeqNum, Entry) error { return nil })
		require.ErrorIs(t, err, keys.ErrCorruption)
	}
	repr := []byte{1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 4, 1, 'a'}
	_, _, err := Decode(repr, "wal", 0, func(keys.SeqNum, Entry) error { return nil })
	require.ErrorIs(t, err, keys.ErrCorruption, "kind 4 is unknown")
}

// Pos locates each entry's value in the repr, as the engine does to refer
// to a value where the WAL logged it.
func TestReaderPosLocatesValues(t *testing.T) {
	repr := make([]byte, HeaderLen)
	vals := [][]byte{[]byte("x"), make([]byte, 300), nil, []byte("tail")}
	for i, v := range vals {
		repr = AppendEntry(repr, keys.KindSet, []byte{byte('a' + i)}, v, 0)
	}
	repr = AppendEntry(repr, keys.KindDelete, []byte("z"), nil, 0)
	SetHeader(repr, 1, len(vals)+1)
	r, err := NewReader(repr, "wal", 0)
	require.NoError(t, err)
	for i := 0; ; i++ {
		_, e, ok, err := r.Next()
		require.NoError(t, err)
		if !ok {
			require.Equal(t, len(repr), r.Pos())
			break
		}
		if e.Kind == keys.KindSet {
			at := r.Pos() - len(e.Value)
			require.Equal(t, len(vals[i]), r.Pos()-at)
			if len(vals[i]) > 0 {
				require.Same(t, &e.Value[0], &repr[at], "entry %d", i)
			}
			require.Equal(t, string(vals[i]), string(repr[at:r.Pos()]))
		}
	}
}

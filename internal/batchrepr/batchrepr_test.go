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

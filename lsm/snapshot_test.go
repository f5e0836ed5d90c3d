package lsm

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/vfs"
)

// A snapshot of an empty DB holds sequence number 0 and must keep seeing
// nothing.
func TestSnapshotOfAnEmptyDBStaysEmpty(t *testing.T) {
	fs := vfs.NewMem()
	db := openMem(t, fs, nil)
	defer db.Close()
	s := db.NewSnapshot()
	defer s.Close()
	require.NoError(t, db.Put([]byte("k"), []byte("v")))
	_, err := s.Get([]byte("k"))
	require.ErrorIs(t, err, ErrNotFound)
	it, err := s.NewIter(nil)
	require.NoError(t, err)
	require.Empty(t, scanAll(t, it))
}

//go:build linux

package lsm

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRealFullDisk runs the DB on a 24 MiB tmpfs (half of it taken by a filler file) until the disk is full:
// the write that meets ENOSPC fails, later writes fail too, and after space
// is freed the DB reopens with every acknowledged write. It needs root to
// mount the tmpfs.
func TestRealFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs; run as root to test a real full disk")
	}
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=24m"); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v); the error-injecting FS tests cover ENOSPC", err)
	}
	defer syscall.Unmount(mnt, 0)
	filler := filepath.Join(mnt, "filler")
	require.NoError(t, os.WriteFile(filler, make([]byte, 12<<20), 0o644))
	dir := filepath.Join(mnt, "db")
	opts := &Options{Sync: SyncAlways, MemtableSize: 1 << 20, Compression: CompressionNone}
	db, err := Open(dir, opts)
	require.NoError(t, err)
	acked := map[string][]byte{}
	var werr error
	for i := 0; i < 100000; i++ {
		k := fmt.Sprintf("key%06d", i)
		v := make([]byte, 1024)
		rand.Read(v)
		if werr = db.Put([]byte(k), v); werr != nil {
			break
		}
		acked[k] = v
	}
	require.Error(t, werr, "24 MiB must fill up")
	t.Logf("full after %d acknowledged writes: %v", len(acked), werr)
	for i := 0; i < 10; i++ {
		require.Error(t, db.Put([]byte("after-full"), []byte("x")), "a write after ENOSPC must fail until reopen")
	}
	_ = db.Close()
	require.NoError(t, os.Remove(filler))

	db, err = Open(dir, opts)
	require.NoError(t, err, "reopen after space was freed")
	defer db.Close()
	for k, v := range acked {
		got, err := db.Get([]byte(k))
		require.NoError(t, err, k)
		require.Equal(t, v, got, k)
	}
	_, err = db.Get([]byte("after-full"))
	require.True(t, errors.Is(err, ErrNotFound))
	require.NoError(t, db.Verify())
	require.NoError(t, db.Put([]byte("room again"), []byte("yes")), "with the filler gone there is room to compact again")
}

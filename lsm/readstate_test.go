package lsm

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPointReadsTakeNoDBMutex: Get, GetAppend and Has take the read state
// without the DB's mutex, so that reads on many goroutines do not queue on
// it (nor behind a flush or compaction holding it): here they return while
// the test holds it, for keys in the memtable and in tables.
func TestPointReadsTakeNoDBMutex(t *testing.T) {
	db := seekAllocsDB(t)
	require.NoError(t, db.Put([]byte("in memtable"), []byte("m")))
	db.mu.Lock()
	done := make(chan error)
	go func() {
		done <- func() error {
			if v, err := db.Get([]byte("in memtable")); err != nil || string(v) != "m" {
				return fmt.Errorf("Get from the memtable: %q, %v", v, err)
			}
			if v, err := db.GetAppend(nil, []byte("key000007"), nil); err != nil || string(v) != "value 7 of round 1" {
				return fmt.Errorf("GetAppend from a table: %q, %v", v, err)
			}
			if ok, err := db.Has([]byte("key000008")); err != nil || !ok {
				return fmt.Errorf("Has: %v, %v", ok, err)
			}
			if _, err := db.Get([]byte("absent")); err != ErrNotFound {
				return fmt.Errorf("Get of an absent key: %v", err)
			}
			return nil
		}()
	}()
	select {
	case err := <-done:
		db.mu.Unlock()
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		db.mu.Unlock()
		<-done
		t.Fatal("a point read waited for the DB's mutex")
	}
}

// TestGetSeesEveryEarlierWrite: while a writer overwrites a counter and
// flushes now and then (each flush and memtable swap replaces the read
// state, and the last reader of the old one releases it), a Get never
// returns a value older than one written before it began, nor misses the
// key.
func TestGetSeesEveryEarlierWrite(t *testing.T) {
	db, err := Open(t.TempDir(), &Options{Sync: SyncNo, MemtableSize: 64 << 10})
	require.NoError(t, err)
	defer db.Close()
	key := []byte("counter")
	var written atomic.Uint64
	put := func(i uint64) {
		require.NoError(t, db.Put(key, binary.BigEndian.AppendUint64(make([]byte, 0, 100), i)))
		written.Store(i)
	}
	put(0)
	n := uint64(3000)
	if raceEnabled {
		n = 600
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var dst []byte
			for !stop.Load() {
				before := written.Load()
				v, err := db.GetAppend(dst[:0], key, nil)
				if err == nil && len(v) < 8 {
					err = fmt.Errorf("value of %d bytes", len(v))
				}
				if err == nil && binary.BigEndian.Uint64(v) < before {
					err = fmt.Errorf("read %d after %d was written", binary.BigEndian.Uint64(v), before)
				}
				if err != nil {
					errs <- err
					return
				}
				dst = v
			}
		}()
	}
	for i := uint64(1); i <= n; i++ {
		put(i)
		if i%100 == 0 {
			require.NoError(t, db.Flush())
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

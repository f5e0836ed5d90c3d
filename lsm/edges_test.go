package lsm

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/vfs"
)

func TestCheckpointRefusesAnEmptyPathAndAPathInsideTheDB(t *testing.T) {
	for _, name := range []string{"mem", "os"} {
		t.Run(name, func(t *testing.T) {
			var fs vfs.FS = vfs.NewMem()
			dir := "/db"
			if name == "os" {
				fs, dir = vfs.Default, filepath.Join(t.TempDir(), "db")
			}
			db, err := Open(dir, &Options{FS: fs})
			require.NoError(t, err)
			defer db.Close()
			require.NoError(t, db.Put([]byte("k"), []byte("v")))
			for _, cp := range []string{
				"",
				filepath.Join(dir, "cp"),
				filepath.Join(dir, "sub", "cp"),
				filepath.Join(dir, "..", filepath.Base(dir), "cp"),
				dir + string(os.PathSeparator) + "." + string(os.PathSeparator) + "cp",
			} {
				err := db.Checkpoint(cp)
				require.ErrorIs(t, err, ErrInvalidArgument, "Checkpoint(%q)", cp)
				if cp != "" {
					_, statErr := fs.Stat(cp)
					require.Error(t, statErr, "Checkpoint(%q) created nothing", cp)
				}
			}
			names, err := fs.List(dir)
			require.NoError(t, err)
			for _, n := range names {
				require.NotEqual(t, "cp", n)
				require.NotEqual(t, "sub", n)
			}
			// A sibling whose name starts with the DB's is not inside it.
			sibling := dir + "-cp"
			require.NoError(t, db.Checkpoint(sibling))
			cp, err := Open(sibling, &Options{FS: fs})
			require.NoError(t, err)
			v, err := cp.Get([]byte("k"))
			require.NoError(t, err)
			require.Equal(t, "v", string(v))
			require.NoError(t, cp.Close())
			if name == "os" {
				// A relative path that resolves inside the DB is refused too.
				t.Chdir(dir)
				require.ErrorIs(t, db.Checkpoint("cp-relative"), ErrInvalidArgument)
				// And so is one reached through a symbolic link to the DB.
				link := filepath.Join(filepath.Dir(dir), "link")
				require.NoError(t, os.Symlink(dir, link))
				require.ErrorIs(t, db.Checkpoint(filepath.Join(link, "cp")), ErrInvalidArgument)
			}
		})
	}
}

// TestEmptyPartitionKeyIsRejectedLikeAnEmptyKey: Put of an empty key is
// ErrInvalidArgument; so is every item call with an empty partition key.
// (An empty sort key stays allowed.)
func TestEmptyPartitionKeyIsRejectedLikeAnEmptyKey(t *testing.T) {
	db := openMem(t, vfs.NewMem(), nil)
	defer db.Close()
	for _, pk := range [][]byte{nil, {}} {
		require.ErrorIs(t, db.Put(pk, []byte("v")), ErrInvalidArgument)
		require.ErrorIs(t, db.PutItem(pk, []byte("sk"), []byte("v")), ErrInvalidArgument)
		require.ErrorIs(t, db.PutItem(pk, nil, []byte("v")), ErrInvalidArgument)
		require.ErrorIs(t, db.Delete(pk), ErrInvalidArgument)
		require.ErrorIs(t, db.DeleteItem(pk, []byte("sk")), ErrInvalidArgument)
		_, err := db.Get(pk)
		require.ErrorIs(t, err, ErrInvalidArgument)
		_, err = db.GetItem(pk, []byte("sk"))
		require.ErrorIs(t, err, ErrInvalidArgument)
		snap := db.NewSnapshot()
		_, err = snap.GetItem(pk, []byte("sk"))
		require.ErrorIs(t, err, ErrInvalidArgument)
		require.NoError(t, snap.Close())
		items := db.Query(pk, nil)
		require.False(t, items.Next())
		require.ErrorIs(t, items.Err(), ErrInvalidArgument)
		require.ErrorIs(t, items.Close(), ErrInvalidArgument)
		for name, fill := range map[string]func(b *Batch){
			"Put":        func(b *Batch) { b.Put(pk, []byte("v")) },
			"PutItem":    func(b *Batch) { b.PutItem(pk, []byte("sk"), []byte("v")) },
			"DeleteItem": func(b *Batch) { b.DeleteItem(pk, []byte("sk")) },
		} {
			b := db.NewBatch()
			b.Put([]byte("good"), []byte("v"))
			fill(b)
			require.ErrorIs(t, db.Apply(b), ErrInvalidArgument, name)
		}
	}
	require.Empty(t, dbScan(t, db), "nothing was written")
	// A non-empty partition key with an empty sort key is fine.
	require.NoError(t, db.PutItem([]byte("p"), nil, []byte("v")))
	v, err := db.GetItem([]byte("p"), []byte{})
	require.NoError(t, err)
	require.Equal(t, "v", string(v))
}

func TestBatchLenCountsEveryOperationAdded(t *testing.T) {
	db := openMem(t, vfs.NewMem(), nil)
	defer db.Close()
	b := db.NewBatch()
	require.Equal(t, 0, b.Len())
	b.Put([]byte("a"), []byte("1"))
	b.Put([]byte("a"), []byte("2")) // the same key twice counts twice
	b.Delete([]byte("b"))
	b.PutItem([]byte("p"), []byte("s"), []byte("v"))
	b.DeleteItem([]byte("p"), []byte("t"))
	require.Equal(t, 5, b.Len())
	b.Put(nil, []byte("bad")) // invalid: counted, and Apply will fail
	b.Put([]byte("c"), []byte("after the bad one"))
	require.Equal(t, 7, b.Len())
	require.ErrorIs(t, db.Apply(b), ErrInvalidArgument)
	b.Reset()
	require.Equal(t, 0, b.Len())
	b.Put([]byte("a"), []byte("1"))
	require.NoError(t, db.Apply(b))
	require.Equal(t, 1, b.Len(), "Apply does not change the batch")
}

func TestFailedConditionOnAnItemNamesTheItem(t *testing.T) {
	db := openMem(t, vfs.NewMem(), nil)
	defer db.Close()
	check := func(err error, want string) {
		t.Helper()
		require.ErrorIs(t, err, ErrConditionFailed)
		require.Contains(t, err.Error(), want)
		require.NotContains(t, err.Error(), `\x00\x01`, "no internal encoding in the message")
	}
	check(db.PutItem([]byte("user#1"), []byte("order#2"), []byte("v"), IfPresent()), `item ("user#1", "order#2")`)
	check(db.DeleteItem([]byte("user\x00"), []byte(""), IfPresent()), `item ("user\x00", "")`)
	b := db.NewBatch()
	b.PutItem([]byte("p"), []byte("s"), []byte("v"), IfValue([]byte("x")))
	check(db.Apply(b), `item ("p", "s")`)
	// Plain keys keep their plain name.
	err := db.Put([]byte("lock:1"), []byte("v"), IfPresent())
	require.ErrorIs(t, err, ErrConditionFailed)
	require.Contains(t, err.Error(), "key lock:1")
}

func TestApplyRejectsOptionsOtherThanWithSync(t *testing.T) {
	db := openMem(t, vfs.NewMem(), nil)
	defer db.Close()
	b := db.NewBatch()
	b.Put([]byte("k"), []byte("v"))
	for name, opt := range map[string]WriteOption{
		"WithTTL":   WithTTL(time.Minute),
		"IfAbsent":  IfAbsent(),
		"IfPresent": IfPresent(),
		"IfValue":   IfValue([]byte("v")),
	} {
		require.ErrorIs(t, db.Apply(b, opt), ErrInvalidArgument, name)
		require.ErrorIs(t, db.Apply(b, WithSync(), opt), ErrInvalidArgument, name)
	}
	_, err := db.Get([]byte("k"))
	require.ErrorIs(t, err, ErrNotFound, "a rejected Apply writes nothing")
	require.NoError(t, db.Apply(b, WithSync()))
	require.NoError(t, db.Apply(b))
}

// TestConditionalWriteWithSyncIsDurable: a conditional Put or Delete goes
// through a batch of one; its WithSync must reach the commit, or a power
// loss under SyncNo loses a write that asked to be synced.
func TestConditionalWriteWithSyncIsDurable(t *testing.T) {
	for name, write := range map[string]func(db *DB) error{
		"Put IfAbsent":     func(db *DB) error { return db.Put([]byte("k"), []byte("v"), IfAbsent(), WithSync()) },
		"PutItem IfAbsent": func(db *DB) error { return db.PutItem([]byte("k"), nil, []byte("v"), WithSync(), IfAbsent()) },
	} {
		fs := vfs.NewMem()
		db := openMem(t, fs, &Options{Sync: SyncNo})
		require.NoError(t, write(db), name)
		clone := fs.CrashClone()
		require.NoError(t, db.Close())
		db = openMem(t, clone, &Options{Sync: SyncNo})
		n := len(dbScan(t, db))
		require.NoError(t, db.Close())
		require.Equal(t, 1, n, "%s: the synced write survives a power loss", name)
	}
}

func TestIteratorCloseReturnsTheIterationError(t *testing.T) {
	db := openMem(t, vfs.NewMem(), nil)
	defer db.Close()
	require.NoError(t, db.Put([]byte("k"), []byte("v")))
	require.NoError(t, db.Put([]byte("l"), []byte("v")))
	snap := db.NewSnapshot()
	it, err := snap.NewIter(nil)
	require.NoError(t, err)
	require.True(t, it.First())
	require.NoError(t, snap.Close())
	require.False(t, it.Next())
	require.ErrorIs(t, it.Error(), ErrClosed)
	err = it.Close()
	require.ErrorIs(t, err, ErrClosed, "Close returns the error that stopped the iteration")
	require.Contains(t, err.Error(), "snapshot closed")
	require.True(t, errors.Is(it.Close(), ErrClosed), "a second Close is ErrClosed")
}

// TestDocsOfDBAndIteratorClose checks the user-facing docs: DB's doc speaks
// to users (its locking notes live inside the struct), and Iterator.Close's
// doc says it returns the iteration's error.
func TestDocsOfDBAndIteratorClose(t *testing.T) {
	src, err := os.ReadFile("db.go")
	require.NoError(t, err)
	doc := string(src)
	start := strings.Index(doc, "// DB is")
	end := strings.Index(doc, "type DB struct")
	require.True(t, start >= 0 && end > start, "DB has a doc comment")
	require.NotContains(t, doc[start:end], "mu guards", "the locking notes are inside the struct, not in go doc's summary")
	require.Contains(t, doc[end:], "mu guards", "the locking notes are still written at the struct")

	src, err = os.ReadFile("iterator.go")
	require.NoError(t, err)
	doc = string(src)
	i := strings.Index(doc, "func (it *Iterator) Close() error")
	require.Greater(t, i, 0)
	j := strings.LastIndex(doc[:i], "\n\n")
	require.Contains(t, doc[j:i], "Error", "Close's doc says it returns the iteration's error")
}

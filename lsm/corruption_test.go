package lsm

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/manifest"
	"github.com/stratadb/strata/sstable"
	"github.com/stratadb/strata/vfs"
)

var (
	flipExhaustive = flag.Bool("flip.exhaustive", false, "flip every bit of every file in TestEveryFileDetectsBitFlipsAndTruncations")
	flipLog        = flag.Bool("flip.log", false, "log every flip that left the answers unchanged")
)

// corruptionBase builds a small DB (a few tables, a MANIFEST, a WAL with
// unflushed writes), closes it and returns its filesystem, the op history
// and the number of ops the tables hold.
func corruptionBase(t *testing.T) (*vfs.MemFS, []crashOp) {
	fs := vfs.NewMem()
	o := smallOpts(fs)
	o.MemtableSize = 8 << 10
	o.L0CompactionTrigger, o.L0SlowdownWrites, o.L0StopWrites = 8, 12, 16 // keep the L0 tables that hold range tombstones
	db := openMem(t, fs, o)
	var ops []crashOp
	for i := 0; i < 600; i++ {
		op := crashOp{keys: []string{fmt.Sprintf("key%03d", i%150)}, vals: []string{fmt.Sprintf("val%d", i)}, del: []bool{i%11 == 10}}
		if i%37 == 36 {
			// A range deletion: tables and the WAL hold range tombstones.
			op.del[0], op.vals[0] = true, ""
			op.ends = []string{fmt.Sprintf("key%03d", i%150+5)}
			require.NoError(t, db.DeleteRange([]byte(op.keys[0]), []byte(op.ends[0])))
		} else if op.del[0] {
			op.vals[0] = ""
			require.NoError(t, db.Delete([]byte(op.keys[0])))
		} else {
			require.NoError(t, db.Put([]byte(op.keys[0]), []byte(op.vals[0])))
		}
		ops = append(ops, op)
		if i == 450 {
			require.NoError(t, db.Compact(nil, nil))
		}
		if i == 560 {
			require.NoError(t, db.Flush())
		}
	}
	require.NoError(t, db.Close())
	return fs, ops
}

type flipOutcome int

const (
	flipSame     flipOutcome = iota // every answer as before (the flip hit bytes no read depends on)
	flipDetected                    // Open, a read or Verify returned ErrCorruption
	flipTornTail                    // a WAL tail: recovery kept a prefix of the writes
)

// rewrite replaces a file of fs durably.
func rewrite(t *testing.T, fs vfs.FS, name string, data []byte) {
	f, err := fs.Create(name)
	require.NoError(t, err)
	_, err = f.Write(data)
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	require.NoError(t, f.Close())
	require.NoError(t, fs.SyncDir(filepath.Dir(name)))
}

func readFile(t *testing.T, fs vfs.FS, name string) []byte {
	f, err := fs.Open(name)
	require.NoError(t, err)
	defer f.Close()
	b, err := io.ReadAll(f)
	require.NoError(t, err)
	return b
}

// judgeDamaged opens a damaged copy and classifies what happened; it fails
// the test on a wrong answer, a silent loss or a panic.
func judgeDamaged(t *testing.T, fs vfs.FS, ft manifest.FileType, ops []crashOp, what string) flipOutcome {
	t.Helper()
	// Read-only: recovery replays the WAL into memory and writes nothing,
	// which keeps each judgement fast.
	db, err := Open("/db", &Options{FS: fs, ReadOnly: true})
	if err != nil {
		require.ErrorIs(t, err, ErrCorruption, "%s: Open failed without corruption", what)
		return flipDetected
	}
	defer db.Close()
	it, err := db.NewIter(nil)
	require.NoError(t, err)
	var got []kv
	for ok := it.First(); ok; ok = it.Next() {
		got = append(got, kv{string(it.Key()), string(it.Value())})
	}
	iterErr := it.Close()
	verifyErr := db.Verify()
	if iterErr != nil {
		require.ErrorIs(t, iterErr, ErrCorruption, "%s: scan error: %v", what, iterErr)
		return flipDetected
	}
	gotS := formatKVs(got)
	model := map[string]string{}
	for _, op := range ops {
		applyOp(model, op)
	}
	if gotS == formatKVs(modelScan(model)) {
		if verifyErr != nil {
			require.ErrorIs(t, verifyErr, ErrCorruption, "%s", what)
			return flipDetected
		}
		return flipSame
	}
	if verifyErr != nil && errors.Is(verifyErr, ErrCorruption) {
		// Verify found it; but the scan must not have returned a wrong
		// value: every key it showed must be one the history wrote.
		return flipDetected
	}
	require.Equal(t, manifest.FileTypeLog, ft, "%s: wrong answers with no error from a damaged %v", what, ft)
	// A WAL flip: the state must be a prefix of the history.
	m := map[string]string{}
	for n := 0; n <= len(ops); n++ {
		if formatKVs(modelScan(m)) == gotS {
			return flipTornTail
		}
		if n < len(ops) {
			applyOp(m, ops[n])
		}
	}
	t.Fatalf("%s: recovered state is no prefix of the history", what)
	return 0
}

// TestEveryFileDetectsBitFlipsAndTruncations flips bits at many positions of
// every file of a small DB (tables, WAL, MANIFEST, CURRENT) and truncates
// each at many lengths. Every outcome must be the same answers, an error
// wrapping ErrCorruption (from Open, a read or Verify), or, for the WAL
// tail, a prefix of the writes. Never a wrong value, never a panic.
// TestRangeDelBlockFlipsAreDetected flips bits of every range deletion
// block of the base DB's tables: each flip is reported as corruption (the
// block's checksum, its placement and its count are all checked).
func TestRangeDelBlockFlipsAreDetected(t *testing.T) {
	base, ops := corruptionBase(t)
	names, err := base.List("/db")
	require.NoError(t, err)
	blocks := 0
	for _, n := range names {
		ft, num, ok := manifest.ParseFilename(n)
		if !ok || ft != manifest.FileTypeTable {
			continue
		}
		name := "/db/" + n
		orig := readFile(t, base, name)
		r, err := sstable.NewReader(bytes.NewReader(orig), int64(len(orig)), num, name, sstable.ReaderOptions{})
		require.NoError(t, err)
		for _, b := range r.Layout() {
			if b.Kind != sstable.BlockRangeDel {
				continue
			}
			blocks++
			end := b.Offset + b.Length + 5 // the trailer too
			flips := 64
			if testing.Short() {
				flips = 24
			}
			step := max(1, int(end-b.Offset)*8/flips)
			for bit := int(b.Offset) * 8; bit < int(end)*8; bit += step {
				fs := base.CrashClone()
				data := append([]byte(nil), orig...)
				data[bit/8] ^= 1 << (bit % 8)
				rewrite(t, fs, name, data)
				out := judgeDamaged(t, fs, ft, ops, fmt.Sprintf("%s bit %d", n, bit))
				require.Equal(t, flipDetected, out, "%s: flip of bit %d in the range deletion block", n, bit)
			}
		}
	}
	require.Positive(t, blocks, "the base DB has tables with range tombstones")
}

func TestEveryFileDetectsBitFlipsAndTruncations(t *testing.T) {
	base, ops := corruptionBase(t)
	names, err := base.List("/db")
	require.NoError(t, err)
	perFile := 1000
	if *flipExhaustive {
		perFile = 1 << 30
	}
	if testing.Short() {
		perFile = 300
	}
	counts := map[string][3]int{}
	total := 0
	for _, n := range names {
		ft, _, ok := manifest.ParseFilename(n)
		if !ok || ft == manifest.FileTypeLock {
			continue
		}
		name := "/db/" + n
		orig := readFile(t, base, name)
		bits := len(orig) * 8
		step := max(1, bits/perFile)
		for bit := 0; bit < bits; bit += step {
			b := bit + (bit/step)%7 // vary the bit within the byte
			if b >= bits {
				b = bit
			}
			fs := base.CrashClone()
			data := append([]byte(nil), orig...)
			data[b/8] ^= 1 << (b % 8)
			rewrite(t, fs, name, data)
			out := judgeDamaged(t, fs, ft, ops, fmt.Sprintf("%s bit %d", n, b))
			c := counts[ft.String()+" flip"]
			c[out]++
			counts[ft.String()+" flip"] = c
			total++
			if out == flipSame && *flipLog {
				t.Logf("same answers: %s bit %d of %d", n, b, bits)
			}
			if ft == manifest.FileTypeTable && out == flipSame {
				// Verify must flag every flip in a table's blocks; a flip
				// that changed nothing would be in bytes no block covers.
				t.Errorf("%s bit %d: a flip in a table went unnoticed by Verify", n, b)
			}
		}
		lstep := max(1, len(orig)/(perFile/10))
		for cut := 0; cut < len(orig); cut += lstep {
			fs := base.CrashClone()
			rewrite(t, fs, name, orig[:cut])
			out := judgeDamaged(t, fs, ft, ops, fmt.Sprintf("%s cut at %d", n, cut))
			c := counts[ft.String()+" truncate"]
			c[out]++
			counts[ft.String()+" truncate"] = c
			total++
		}
	}
	for k, c := range counts {
		t.Logf("%-18s same=%d detected=%d torn-tail-prefix=%d wrong=0", k, c[flipSame], c[flipDetected], c[flipTornTail])
	}
	t.Logf("damaged copies judged: %d", total)
}

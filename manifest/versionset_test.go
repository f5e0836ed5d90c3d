package manifest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/vfs"
	"github.com/stratadb/strata/wal"
	"github.com/stretchr/testify/require"
)

// manifests returns the MANIFEST numbers in dir.
func manifests(t testing.TB, fs vfs.FS, dir string) []uint64 {
	t.Helper()
	names, err := fs.List(dir)
	require.NoError(t, err)
	var out []uint64
	for _, n := range names {
		if ft, num, ok := ParseFilename(n); ok && ft == FileTypeManifest {
			out = append(out, num)
		}
	}
	return out
}

func TestCreateLogAndApplyRecover(t *testing.T) {
	for _, maxSize := range []int64{0, 1, 600} {
		t.Run(fmt.Sprintf("MaxManifestSize=%d", maxSize), func(t *testing.T) {
			fs, dir := newMemDir(t)
			opts := Options{FS: fs, Dir: dir, MaxManifestSize: maxSize}
			vs, err := Create(opts)
			require.NoError(t, err)
			require.Equal(t, uint64(1), vs.ManifestFileNum())
			d := newDriver(t, fs, dir, vs, uint64(maxSize))
			rotations := 0
			for range 200 {
				before := vs.ManifestFileNum()
				require.True(t, d.step())
				if vs.ManifestFileNum() != before {
					rotations++
					require.Equal(t, []uint64{vs.ManifestFileNum()}, manifests(t, fs, dir), "the old MANIFEST is removed")
				}
			}
			if maxSize == 0 {
				require.Zero(t, rotations)
			} else {
				require.Greater(t, rotations, 5)
			}
			want := d.states[len(d.states)-1]
			require.NoError(t, vs.Close())

			// Recover, several times: each continues in a new MANIFEST and
			// removes the old one.
			for range 3 {
				vs2, err := Recover(opts)
				require.NoError(t, err)
				require.Equal(t, want, setState(vs2))
				require.Equal(t, []uint64{vs2.ManifestFileNum()}, manifests(t, fs, dir))
				requireWhole(t, fs, dir, vs2)
				requireNextAboveFiles(t, fs, dir, vs2)
				require.NoError(t, vs2.Close())
			}

			// A recovered set goes on logging.
			vs3, err := Recover(opts)
			require.NoError(t, err)
			d.vs = vs3
			d.run(20)
			require.NoError(t, d.err)
			want = setState(vs3)
			require.NoError(t, vs3.Close())
			vs4, err := Recover(Options{FS: fs, Dir: dir, ReadOnly: true})
			require.NoError(t, err)
			require.Equal(t, want, setState(vs4))
			require.NoError(t, vs4.Close())
		})
	}
}

// requireNextAboveFiles checks that NewFileNum returns a number above every
// file in dir.
func requireNextAboveFiles(t testing.TB, fs vfs.FS, dir string, vs *VersionSet) {
	t.Helper()
	names, err := fs.List(dir)
	require.NoError(t, err)
	next := vs.NewFileNum()
	for _, n := range names {
		if _, num, ok := ParseFilename(n); ok {
			require.Less(t, num, next, n)
		}
	}
}

// A file number handed out but not yet recorded (a WAL segment created
// before the edit naming it) is not reused after recovery.
func TestRecoverSkipsUnrecordedFileNumbers(t *testing.T) {
	fs, dir := newMemDir(t)
	vs, err := Create(Options{FS: fs, Dir: dir})
	require.NoError(t, err)
	d := newDriver(t, fs, dir, vs, 11)
	d.run(5)
	var nums []uint64
	for range 3 {
		nums = append(nums, vs.NewFileNum())
	}
	writeFile(t, fs, dir, MakeFilename(dir, FileTypeLog, nums[2]), 10)
	require.NoError(t, vs.Close())
	vs2, err := Recover(Options{FS: fs, Dir: dir})
	require.NoError(t, err)
	require.Greater(t, vs2.ManifestFileNum(), nums[2])
	requireNextAboveFiles(t, fs, dir, vs2)
	require.NoError(t, vs2.Close())
}

func TestRecoverReadOnlyWritesNothing(t *testing.T) {
	fs, dir := newMemDir(t)
	vs, err := Create(Options{FS: fs, Dir: dir})
	require.NoError(t, err)
	d := newDriver(t, fs, dir, vs, 1)
	d.run(30)
	require.NoError(t, vs.Close())
	names, err := fs.List(dir)
	require.NoError(t, err)
	mf := MakeFilename(dir, FileTypeManifest, 1)
	content := readAll(t, fs, mf)

	ro, err := Recover(Options{FS: fs, Dir: dir, ReadOnly: true})
	require.NoError(t, err)
	require.Equal(t, d.states[len(d.states)-1], setState(ro))
	require.ErrorIs(t, ro.LogAndApply(&VersionEdit{}), ErrReadOnly)
	require.NoError(t, ro.Close())
	after, err := fs.List(dir)
	require.NoError(t, err)
	require.Equal(t, names, after)
	require.Equal(t, content, readAll(t, fs, mf))
}

func TestReadEditsDumpsEveryEdit(t *testing.T) {
	fs, dir := newMemDir(t)
	vs, err := Create(Options{FS: fs, Dir: dir})
	require.NoError(t, err)
	d := newDriver(t, fs, dir, vs, 2)
	d.run(25)
	require.NoError(t, vs.Close())
	var got []*VersionEdit
	var offsets []int64
	err = ReadEdits(fs, MakeFilename(dir, FileTypeManifest, 1), func(off int64, e *VersionEdit) error {
		cp := &VersionEdit{}
		require.NoError(t, cp.Decode(e.Encode(nil)))
		got = append(got, cp)
		offsets = append(offsets, off)
		return nil
	})
	require.NoError(t, err)
	require.Len(t, got, 1+len(d.edits)) // the snapshot, then every edit
	require.Equal(t, uint64(2), got[0].NextFileNum)
	for i, e := range d.edits {
		requireEditsEqual(t, e, got[i+1])
		require.Greater(t, offsets[i+1], offsets[i])
	}
	stop := errors.New("stop")
	n := 0
	err = ReadEdits(fs, MakeFilename(dir, FileTypeManifest, 1), func(int64, *VersionEdit) error { n++; return stop })
	require.ErrorIs(t, err, stop)
	require.Equal(t, 1, n)
	require.ErrorIs(t, ReadEdits(fs, "/db/nope", nil), os.ErrNotExist)
}

// A crash (power loss) after any filesystem operation of a run of
// LogAndApply calls, rotations included, recovers to the state of a prefix
// of the edits that holds every acknowledged one; and a crash during that
// recovery recovers the same state again.
func TestCrashAtEveryOperation(t *testing.T) {
	steps := 40
	if testing.Short() {
		steps = 15
	}
	for _, maxSize := range []int64{0, 1} {
		t.Run(fmt.Sprintf("MaxManifestSize=%d", maxSize), func(t *testing.T) {
			fs, dir := newMemDir(t)
			type point struct {
				fs    *vfs.MemFS
				acked int // edits acknowledged when the crash hit; -1 inside Create
			}
			var points []point
			var d *driver
			fs.SetCrashHook(func(vfs.Op) {
				acked := -1
				if d != nil {
					acked = len(d.states) - 1
				}
				points = append(points, point{fs.CrashClone(), acked})
			})
			vs, err := Create(Options{FS: fs, Dir: dir, MaxManifestSize: maxSize})
			require.NoError(t, err)
			d = newDriver(t, fs, dir, vs, 3)
			d.run(steps)
			require.NoError(t, d.err)
			fs.SetCrashHook(nil)
			points = append(points, point{fs.CrashClone(), len(d.states) - 1})

			inFlight := 0
			for i, p := range points {
				vs2, err := Recover(Options{FS: p.fs, Dir: dir, MaxManifestSize: maxSize})
				if p.acked < 0 {
					if err != nil {
						require.ErrorIs(t, err, os.ErrNotExist, "crash point %d", i)
						continue
					}
					p.acked = 0
				}
				require.NoError(t, err, "crash point %d", i)
				got := setState(vs2)
				if got != d.states[p.acked] {
					require.Less(t, p.acked+1, len(d.states), "crash point %d", i)
					require.Equal(t, d.states[p.acked+1], got, "crash point %d: not a prefix holding every acked edit", i)
					inFlight++
				}
				requireWhole(t, p.fs, dir, vs2)
				require.NoError(t, vs2.Close())

				// Crash inside this recovery (every 4th point, to bound the
				// run time): every clone recovers the same state.
				if i%4 != 0 {
					continue
				}
				var sub []*vfs.MemFS
				p.fs.SetCrashHook(func(vfs.Op) { sub = append(sub, p.fs.CrashClone()) })
				vs3, err := Recover(Options{FS: p.fs, Dir: dir, MaxManifestSize: maxSize})
				require.NoError(t, err)
				require.NoError(t, vs3.Close())
				p.fs.SetCrashHook(nil)
				require.NotEmpty(t, sub)
				for j, c := range sub {
					vs4, err := Recover(Options{FS: c, Dir: dir, ReadOnly: true})
					require.NoError(t, err, "crash point %d.%d", i, j)
					require.Equal(t, got, setState(vs4), "crash point %d.%d", i, j)
				}
			}
			require.Greater(t, len(points), 10*steps/4)
			t.Logf("%d crash points, %d recovered the in-flight edit", len(points), inFlight)
			// With rotation, some crash points fall after the new MANIFEST
			// is current but before LogAndApply returned: the test tells
			// the two outcomes apart. (Without rotation the edit's fsync is
			// its last operation.)
			if maxSize > 0 {
				require.Positive(t, inFlight)
			}
		})
	}
}

// buildDamageCase runs a workload, closes the set, and returns the MANIFEST
// bytes with the offsets [start, end) of each edit record (the snapshot
// first).
func buildDamageCase(t *testing.T, keepObsolete bool, last func(d *driver) bool) (*vfs.MemFS, *driver, string, []byte, [][2]int64) {
	fs, dir := newMemDir(t)
	vs, err := Create(Options{FS: fs, Dir: dir})
	require.NoError(t, err)
	d := newDriver(t, fs, dir, vs, 4)
	d.keepObsolete = keepObsolete
	d.run(12)
	require.True(t, last(d))
	require.NoError(t, vs.Close())
	name := MakeFilename(dir, FileTypeManifest, 1)
	var recs [][2]int64 // each edit's offset and where the record after it starts
	f, err := fs.Open(name)
	require.NoError(t, err)
	r := wal.NewReader(f, name)
	require.NoError(t, readHeader(r, name))
	for {
		_, err := r.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		recs = append(recs, [2]int64{r.Offset(), r.NextStart()})
	}
	require.NoError(t, f.Close())
	require.Len(t, recs, len(d.states))
	content := readAll(t, fs, name)
	require.Equal(t, int64(len(content)), recs[len(recs)-1][1])
	return fs, d, name, content, recs
}

func TestRecoverDamagedLastRecord(t *testing.T) {
	truncate := func(b []byte, rec [2]int64) []byte { return b[:rec[0]+(rec[1]-rec[0])/2] }
	flip := func(b []byte, rec [2]int64) []byte { b[rec[1]-2] ^= 0x10; return b }
	cases := []struct {
		name         string
		keepObsolete bool
		last         func(d *driver) bool
		damage       func([]byte, [2]int64) []byte
		reason       string // empty: recovers without the last edit
	}{
		{"torn, version whole", true, (*driver).compact, truncate, ""},
		{"flipped, version whole", true, (*driver).flush, flip, ""},
		{"torn, compacted tables deleted", false, (*driver).compact, truncate, "not whole"},
		{"flipped, compacted tables deleted", false, (*driver).compact, flip, "not whole"},
		{"torn, old WAL deleted", false, (*driver).flush, truncate, "WAL segment"},
		{"torn move, version whole", false, (*driver).move, truncate, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs, d, name, content, recs := buildDamageCase(t, c.keepObsolete, c.last)
			lastRec := recs[len(recs)-1]
			replaceFile(t, fs, d.dir, name, c.damage(content, lastRec))
			vs, err := Recover(Options{FS: fs, Dir: d.dir})
			if c.reason == "" {
				require.NoError(t, err)
				require.Equal(t, d.states[len(d.states)-2], setState(vs))
				requireWhole(t, fs, d.dir, vs)
				require.NoError(t, vs.Close())
				return
			}
			require.ErrorIs(t, err, keys.ErrCorruption)
			require.Contains(t, err.Error(), name)
			require.Contains(t, err.Error(), fmt.Sprintf("at offset %d:", lastRec[0]))
			require.Contains(t, err.Error(), c.reason)
		})
	}
}

func TestRecoverDamagedEarlierRecordIsCorruption(t *testing.T) {
	fs, d, name, content, recs := buildDamageCase(t, true, (*driver).flush)
	for _, i := range []int{0, 1, len(recs) / 2, len(recs) - 2} {
		b := append([]byte(nil), content...)
		b[recs[i][0]+8] ^= 0x01 // a payload byte
		replaceFile(t, fs, d.dir, name, b)
		_, err := Recover(Options{FS: fs, Dir: d.dir})
		require.ErrorIs(t, err, keys.ErrCorruption, "record %d", i)
		require.Contains(t, err.Error(), "MANIFEST-000001")
		require.Contains(t, err.Error(), fmt.Sprintf("offset %d", recs[i][0]), "record %d", i)
	}
}

// Every single-byte truncation and every bit flip of a MANIFEST gives the
// state of a prefix of the edits (only when the damage is in the last
// record, or a cut at a record boundary) or corruption; never an error of
// another kind, a wrong state or a panic.
func TestRecoverEveryTruncationAndFlip(t *testing.T) {
	fs, d, name, content, recs := buildDamageCase(t, true, (*driver).flush)
	recordOf := func(off int64) int { // index in recs, -1 in the headers
		for i, r := range recs {
			if off >= r[0] && off < r[1] {
				return i
			}
		}
		return -1
	}
	check := func(what string, b []byte, want int) { // want: state index, -1 corruption
		c := fs.CrashClone()
		replaceFile(t, c, d.dir, name, b)
		vs, err := Recover(Options{FS: c, Dir: d.dir, ReadOnly: true})
		if want < 0 {
			require.ErrorIs(t, err, keys.ErrCorruption, what)
			return
		}
		require.NoError(t, err, what)
		require.Equal(t, d.states[want], setState(vs), what)
	}
	last := len(recs) - 1
	for n := 0; n <= len(content); n++ {
		want := -1 // a cut in the headers or the snapshot
		if i := recordOf(int64(n)); i > 0 {
			want = i - 1 // a cut inside record i, or at its start: the edits before it
		} else if n == len(content) {
			want = last // no cut
		}
		check(fmt.Sprintf("truncated to %d", n), content[:n], want)
	}
	step := 1
	if testing.Short() {
		step = 7
	}
	for bit := 0; bit < 8*len(content); bit += step {
		b := append([]byte(nil), content...)
		b[bit/8] ^= 1 << (bit % 8)
		want := -1
		if recordOf(int64(bit/8)) == last {
			want = last - 1
		}
		check(fmt.Sprintf("bit %d flipped", bit), b, want)
	}
}

func TestRecoverBadCurrent(t *testing.T) {
	cases := []struct {
		name     string
		current  *string // nil: no CURRENT
		notExist bool
	}{
		{"missing", nil, true},
		{"empty", ptr(""), false},
		{"no newline", ptr("MANIFEST-000001"), false},
		{"two newlines", ptr("MANIFEST-000001\n\n"), false},
		{"not a manifest", ptr("000001.log\n"), false},
		{"garbage", ptr("\x00\xff\n"), false},
		{"names a missing MANIFEST", ptr("MANIFEST-000009\n"), false},
		{"too long", ptr(strings.Repeat("x", 5000) + "\n"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs, dir := newMemDir(t)
			vs, err := Create(Options{FS: fs, Dir: dir})
			require.NoError(t, err)
			require.NoError(t, vs.Close())
			cur := MakeFilename(dir, FileTypeCurrent, 0)
			if c.current == nil {
				require.NoError(t, fs.Remove(cur))
			} else {
				replaceFile(t, fs, dir, cur, []byte(*c.current))
			}
			_, err = Recover(Options{FS: fs, Dir: dir})
			require.ErrorIs(t, err, keys.ErrCorruption)
			require.Contains(t, err.Error(), cur)
			require.Equal(t, c.notExist, errors.Is(err, os.ErrNotExist))
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestRecoverBadManifestHeader(t *testing.T) {
	fs, dir := newMemDir(t)
	vs, err := Create(Options{FS: fs, Dir: dir})
	require.NoError(t, err)
	require.NoError(t, vs.Close())
	name := MakeFilename(dir, FileTypeManifest, 1)
	for _, hdr := range [][]byte{[]byte("STRATAMX\x01\x00\x00\x00"), []byte("STRATAMF\x02\x00\x00\x00"), []byte("STRATAMF")} {
		f, err := fs.Create(name)
		require.NoError(t, err)
		w := wal.NewWriter(f)
		require.NoError(t, w.AddRecord(hdr))
		require.NoError(t, w.AddRecord((&VersionEdit{NextFileNum: 2}).Encode(nil)))
		require.NoError(t, w.Close())
		_, err = Recover(Options{FS: fs, Dir: dir})
		require.ErrorIs(t, err, keys.ErrCorruption)
		require.Contains(t, err.Error(), "header")
	}
	// A header and no edit.
	f, err := fs.Create(name)
	require.NoError(t, err)
	w := wal.NewWriter(f)
	require.NoError(t, w.AddRecord(appendHeader(nil)))
	require.NoError(t, w.Close())
	_, err = Recover(Options{FS: fs, Dir: dir})
	require.ErrorIs(t, err, keys.ErrCorruption)
	require.Contains(t, err.Error(), "no version edit")
}

// An edit in the MANIFEST that does not apply (here: a table deleted that
// was never added) is corruption naming the record.
func TestRecoverEditThatDoesNotApply(t *testing.T) {
	fs, dir := newMemDir(t)
	vs, err := Create(Options{FS: fs, Dir: dir})
	require.NoError(t, err)
	require.NoError(t, vs.Close())
	name := MakeFilename(dir, FileTypeManifest, 1)
	f, err := fs.Create(name)
	require.NoError(t, err)
	w := wal.NewWriter(f)
	require.NoError(t, w.AddRecord(appendHeader(nil)))
	require.NoError(t, w.AddRecord((&VersionEdit{NextFileNum: 10}).Encode(nil)))
	require.NoError(t, w.AddRecord((&VersionEdit{Deleted: []DeletedFile{{3, 7}}}).Encode(nil)))
	require.NoError(t, w.AddRecord((&VersionEdit{LastSeq: 5}).Encode(nil)))
	require.NoError(t, w.Close())
	_, err = Recover(Options{FS: fs, Dir: dir})
	require.ErrorIs(t, err, keys.ErrCorruption)
	require.Contains(t, err.Error(), "absent from L3")
	require.Contains(t, err.Error(), name)
}

func TestLogAndApplyErrorIsLatched(t *testing.T) {
	mem, dir := newMemDir(t)
	var failSync atomic.Bool
	injected := fmt.Errorf("%w: %w", vfs.ErrInjected, syscall.EIO)
	fs := vfs.NewErrorFS(mem, vfs.InjectorFunc(func(op vfs.Op, path string) error {
		if op == vfs.OpSync && failSync.Load() {
			return injected
		}
		return nil
	}))
	vs, err := Create(Options{FS: fs, Dir: dir})
	require.NoError(t, err)
	d := newDriver(t, mem, dir, vs, 5)
	d.run(10)
	require.NoError(t, d.err)
	before := setState(vs)

	failSync.Store(true)
	require.False(t, d.flush())
	require.ErrorIs(t, d.err, syscall.EIO)
	require.Equal(t, before, setState(vs), "the failed edit is not installed")
	failSync.Store(false)
	for range 5 {
		err := vs.LogAndApply(&VersionEdit{LastSeq: 1 << 40})
		require.ErrorIs(t, err, syscall.EIO)
		require.Equal(t, d.err, err)
	}
	require.Equal(t, before, setState(vs))
	_ = vs.Close()

	// Reopened, the set holds every acknowledged edit and perhaps the
	// failed one, whose bytes reached the file but not the disk.
	vs2, err := Recover(Options{FS: mem.CrashClone(), Dir: dir})
	require.NoError(t, err)
	require.Equal(t, before, setState(vs2), "after a power loss the unsynced edit is gone")
	vs3, err := Recover(Options{FS: mem, Dir: dir})
	require.NoError(t, err)
	require.Equal(t, d.failedState, setState(vs3), "without a power loss the written edit is there")
}

// An injected error at each filesystem call of a workload (Create, edits,
// rotations) reaches the caller; the set then refuses more edits; and the
// directory recovers, as is and after a power loss, to a prefix of the
// edits holding every acknowledged one.
func TestFaultAtEveryOperation(t *testing.T) {
	for _, maxSize := range []int64{0, 1} {
		t.Run(fmt.Sprintf("MaxManifestSize=%d", maxSize), func(t *testing.T) {
			for i := int64(0); ; i++ {
				mem, dir := newMemDir(t)
				inj := vfs.OnIndex(i)
				fs := vfs.NewErrorFS(mem, inj)
				opts := Options{FS: fs, Dir: dir, MaxManifestSize: maxSize}
				vs, err := Create(opts)
				if err != nil {
					require.ErrorIs(t, err, vfs.ErrInjected)
					for _, c := range []vfs.FS{mem, mem.CrashClone()} {
						vs2, err := Recover(Options{FS: c, Dir: dir})
						if err != nil {
							require.ErrorIs(t, err, os.ErrNotExist, "index %d", i)
							continue
						}
						require.Equal(t, "log=0 seq=0\n(no tables)\n", setState(vs2))
					}
					continue
				}
				d := newDriver(t, mem, dir, vs, 6)
				d.run(12)
				if !inj.Fired() {
					require.NoError(t, d.err)
					require.Greater(t, i, int64(30))
					t.Logf("%d fault points", i)
					return
				}
				if d.err == nil {
					// The fault hit a call whose failure is only logged
					// (removing an obsolete MANIFEST); nothing was lost.
					require.NoError(t, vs.Close())
				} else {
					require.ErrorIs(t, d.err, vfs.ErrInjected, "index %d", i)
					require.ErrorIs(t, vs.LogAndApply(&VersionEdit{}), vfs.ErrInjected)
					_ = vs.Close()
				}
				for k, c := range []vfs.FS{mem, mem.CrashClone()} {
					vs2, err := Recover(Options{FS: c, Dir: dir})
					require.NoError(t, err, "index %d fs %d", i, k)
					d.requireRecovered(setState(vs2), "index %d fs %d", i, k)
					requireWhole(t, c, dir, vs2)
					require.NoError(t, vs2.Close())
				}
			}
		})
	}
}

func TestVersionRefsAndLiveFiles(t *testing.T) {
	fs, dir := newMemDir(t)
	vs, err := Create(Options{FS: fs, Dir: dir})
	require.NoError(t, err)
	d := newDriver(t, fs, dir, vs, 7)
	d.keepObsolete = true
	require.True(t, d.flush())
	require.True(t, d.flush())
	old := vs.Current()
	oldFiles := fileNums(old.Levels[0])
	require.Len(t, oldFiles, 2)
	require.Equal(t, int32(2), old.Refs())
	require.True(t, d.compact())

	live := vs.LiveFiles()
	cur := vs.Current()
	for _, n := range oldFiles {
		require.Contains(t, live, n, "a referenced old version keeps its tables live")
	}
	for _, f := range cur.Levels[1] {
		require.Contains(t, live, f.FileNum)
	}
	require.Equal(t, int32(1), old.Refs(), "the set dropped its own reference")
	old.Unref()
	require.Zero(t, old.Refs())
	live = vs.LiveFiles()
	for _, n := range oldFiles {
		require.NotContains(t, live, n)
	}
	require.Len(t, live, len(cur.Levels[1]))
	cur.Unref()
	require.Equal(t, int32(1), cur.Refs())
	require.NoError(t, vs.Close())
	require.ErrorIs(t, vs.Close(), ErrClosed)
	require.ErrorIs(t, vs.LogAndApply(&VersionEdit{}), ErrClosed)
}

func TestLogAndApplyRejectsBadEditsWithoutLatching(t *testing.T) {
	fs, dir := newMemDir(t)
	vs, err := Create(Options{FS: fs, Dir: dir})
	require.NoError(t, err)
	d := newDriver(t, fs, dir, vs, 8)
	d.keepObsolete = true
	require.True(t, d.flush())
	require.True(t, d.flush())
	before := setState(vs)
	v := vs.Current()
	f := v.Levels[0][0]
	v.Unref()
	next := vs.NewFileNum()
	for _, e := range []*VersionEdit{
		{Added: []NewFile{{0, f}}},               // already present
		{Deleted: []DeletedFile{{1, f.FileNum}}}, // wrong level
		{LogNum: 1},                              // goes backwards
		{LastSeq: 1},                             // goes backwards
		{LogNum: next + 100},                     // never allocated
		{Added: []NewFile{{3, meta(next+50, 1, 2, 1, 1)}}}, // never allocated
	} {
		require.ErrorIs(t, vs.LogAndApply(e), ErrBadEdit)
		require.Equal(t, before, setState(vs))
	}
	require.True(t, d.flush(), "a rejected edit does not latch")
	require.NoError(t, vs.Close())
}

func TestCreateRefusesExistingDB(t *testing.T) {
	for _, name := range []string{"CURRENT", "000005.sst", "000003.log", "MANIFEST-000002"} {
		fs, dir := newMemDir(t)
		writeFile(t, fs, dir, filepath.Join(dir, name), 1)
		_, err := Create(Options{FS: fs, Dir: dir})
		require.ErrorIs(t, err, os.ErrExist, name)
	}
	// Leftovers of an interrupted Create, and foreign files, are fine.
	fs, dir := newMemDir(t)
	writeFile(t, fs, dir, filepath.Join(dir, "MANIFEST-000001"), 10)
	writeFile(t, fs, dir, filepath.Join(dir, "000001.tmp"), 10)
	writeFile(t, fs, dir, filepath.Join(dir, "notes.txt"), 10)
	vs, err := Create(Options{FS: fs, Dir: dir})
	require.NoError(t, err)
	require.NoError(t, vs.Close())
	vs, err = Recover(Options{FS: fs, Dir: dir})
	require.NoError(t, err)
	require.Equal(t, "log=0 seq=0\n(no tables)\n", setState(vs))
	require.NoError(t, vs.Close())
}

func TestOptionsValidation(t *testing.T) {
	_, err := Create(Options{})
	require.ErrorIs(t, err, ErrInvalidOptions)
	_, err = Recover(Options{Dir: "/x", MaxManifestSize: -1})
	require.ErrorIs(t, err, ErrInvalidOptions)
	fs, dir := newMemDir(t)
	_, err = Create(Options{FS: fs, Dir: dir, ReadOnly: true})
	require.ErrorIs(t, err, ErrReadOnly)
}

func TestCreateRecoverOnOSFilesystem(t *testing.T) {
	dir := t.TempDir()
	vs, err := Create(Options{Dir: dir})
	require.NoError(t, err)
	d := newDriver(t, vfs.Default, dir, vs, 9)
	d.run(20)
	require.NoError(t, d.err)
	require.NoError(t, vs.Close())
	vs2, err := Recover(Options{Dir: dir})
	require.NoError(t, err)
	require.Equal(t, d.states[len(d.states)-1], setState(vs2))
	require.NoError(t, vs2.Close())
}

// Readers take and drop references while edits are installed.
func TestConcurrentReadersDuringLogAndApply(t *testing.T) {
	fs, dir := newMemDir(t)
	vs, err := Create(Options{FS: fs, Dir: dir, MaxManifestSize: 1})
	require.NoError(t, err)
	d := newDriver(t, fs, dir, vs, 10)
	d.keepObsolete = true
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				v := vs.Current()
				live := vs.LiveFiles()
				for _, files := range v.Levels {
					for _, f := range files {
						if _, ok := live[f.FileNum]; !ok {
							panic(fmt.Sprintf("table %d of a referenced version is not live", f.FileNum))
						}
					}
				}
				_ = v.Overlaps(1, ukey(100), ukey(200))
				_ = vs.NewFileNum()
				_ = vs.LastSeq()
				v.Unref()
			}
		}()
	}
	d.run(100)
	stop.Store(true)
	wg.Wait()
	require.NoError(t, d.err)
	require.NoError(t, vs.Close())
}

func BenchmarkCurrentUnref(b *testing.B) {
	fs, dir := newMemDir(b)
	vs, err := Create(Options{FS: fs, Dir: dir})
	require.NoError(b, err)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			vs.Current().Unref()
		}
	})
}

func BenchmarkLogAndApply(b *testing.B) {
	fs, dir := newMemDir(b)
	vs, err := Create(Options{FS: fs, Dir: dir})
	require.NoError(b, err)
	b.ReportAllocs()
	seq := keys.SeqNum(0)
	for b.Loop() {
		seq++
		if err := vs.LogAndApply(&VersionEdit{LastSeq: seq}); err != nil {
			b.Fatal(err)
		}
	}
}

// A checksummed record that does not decode is dropped like a torn tail
// only when it is the last record and the version without it is whole.
func TestRecoverUndecodableRecord(t *testing.T) {
	write := func(t *testing.T, fs vfs.FS, dir string, recs ...[]byte) {
		f, err := fs.Create(MakeFilename(dir, FileTypeManifest, 1))
		require.NoError(t, err)
		w := wal.NewWriter(f)
		require.NoError(t, w.AddRecord(appendHeader(nil)))
		for _, r := range recs {
			require.NoError(t, w.AddRecord(r))
		}
		require.NoError(t, w.Flush())
		require.NoError(t, w.Sync())
		require.NoError(t, w.Close())
	}
	garbage := []byte{0x09, 0x01}
	snap := (&VersionEdit{NextFileNum: 10, LogNum: 3}).Encode(nil)
	edit := (&VersionEdit{LastSeq: 7}).Encode(nil)
	cases := []struct {
		name    string
		recs    [][]byte
		withLog bool
		reason  string // empty: recovers to LastSeq 7
	}{
		{"last, whole", [][]byte{snap, edit, garbage}, true, ""},
		{"last, WAL missing", [][]byte{snap, edit, garbage}, false, "not whole"},
		{"not last", [][]byte{snap, garbage, edit}, true, "not the last record"},
		{"snapshot", [][]byte{garbage}, true, "unknown tag 9"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs, dir := newMemDir(t)
			vs, err := Create(Options{FS: fs, Dir: dir})
			require.NoError(t, err)
			require.NoError(t, vs.Close())
			if c.withLog {
				writeFile(t, fs, dir, MakeFilename(dir, FileTypeLog, 3), 0)
			}
			write(t, fs, dir, c.recs...)
			vs, err = Recover(Options{FS: fs, Dir: dir})
			if c.reason != "" {
				require.ErrorIs(t, err, keys.ErrCorruption)
				require.Contains(t, err.Error(), c.reason)
				require.Contains(t, err.Error(), "MANIFEST-000001")
				return
			}
			require.NoError(t, err)
			require.Equal(t, keys.SeqNum(7), vs.LastSeq())
			require.Equal(t, uint64(3), vs.LogNum())
			require.NoError(t, vs.Close())
		})
	}
}

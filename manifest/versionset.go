package manifest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"

	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/vfs"
	"github.com/stratadb/strata/wal"
)

// Errors of the version set's life cycle.
var (
	// ErrClosed is returned by calls on a closed VersionSet.
	ErrClosed = errors.New("manifest: version set is closed")
	// ErrReadOnly is returned by LogAndApply on a set recovered ReadOnly,
	// and by Create with ReadOnly set.
	ErrReadOnly = errors.New("manifest: version set is read-only")
	// ErrInvalidOptions is wrapped by the error of Options that make no sense.
	ErrInvalidOptions = errors.New("manifest: invalid options")
)

// The MANIFEST header: the payload of the first record of every MANIFEST.
// Part of the on-disk format; never changes.
const (
	manifestMagic = "STRATAMF" // 8 bytes
	// formatVersion is the version of the MANIFEST format this package
	// writes and the only one it reads.
	formatVersion uint32 = 1
	headerLen            = len(manifestMagic) + 4

	// maxCurrentSize bounds the CURRENT file: it holds one file name.
	maxCurrentSize = 256
)

// defaultMaxManifestSize is the MaxManifestSize used when it is 0.
const defaultMaxManifestSize = 4 << 20

func appendHeader(dst []byte) []byte {
	dst = append(dst, manifestMagic...)
	return binary.LittleEndian.AppendUint32(dst, formatVersion)
}

// Options configure a VersionSet. The zero value of every field except Dir
// works.
type Options struct {
	// FS is the filesystem of the DB directory. The default value is
	// vfs.Default.
	FS vfs.FS
	// Dir is the DB directory. It must be set.
	Dir string
	// MaxManifestSize is the size past which LogAndApply starts a new
	// MANIFEST holding a snapshot of the whole version. To avoid rewriting a
	// very large version on every edit, a rotation also waits until the
	// edits appended since the last snapshot outweigh the snapshot itself.
	// The default value is 4 MiB.
	MaxManifestSize int64
	// ReadOnly recovers without writing anything: no new MANIFEST, no
	// CURRENT switch, and LogAndApply returns ErrReadOnly. The default value
	// is false.
	ReadOnly bool
	// Logger receives rotations, dropped torn tails and failed removals of
	// obsolete MANIFESTs. The default value discards everything.
	Logger *slog.Logger
}

func (o Options) withDefaults() (Options, error) {
	if o.Dir == "" {
		return o, fmt.Errorf("%w: Dir is empty", ErrInvalidOptions)
	}
	if o.MaxManifestSize < 0 {
		return o, fmt.Errorf("%w: MaxManifestSize %d is negative", ErrInvalidOptions, o.MaxManifestSize)
	}
	if o.FS == nil {
		o.FS = vfs.Default
	}
	if o.MaxManifestSize == 0 {
		o.MaxManifestSize = defaultMaxManifestSize
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// VersionSet owns the current Version, the versions still referenced, the
// file-number and sequence counters, and the MANIFEST they are logged to.
//
// Concurrency: mu guards current and live. The counters are atomic and may
// be read from any goroutine; NewFileNum and MarkFileNumUsed may be called
// from any goroutine. LogAndApply and Close are serialised by the caller (the
// DB holds a mutex around them); the fields below "owned by LogAndApply" are
// touched only by them (and by Create/Recover before the set is returned).
type VersionSet struct {
	opts Options

	nextFileNum atomic.Uint64
	lastSeq     atomic.Uint64
	logNum      atomic.Uint64
	manifestNum atomic.Uint64

	mu      sync.Mutex
	current *Version              // guarded by mu; holds one reference of the set
	live    map[*Version]struct{} // guarded by mu; versions with refs > 0

	// Owned by LogAndApply / Close.
	manifest     *wal.Writer // nil when ReadOnly or closed
	snapshotSize int64       // MANIFEST size right after its snapshot record
	err          error       // latched write/sync failure
	closed       bool
	buf          []byte // reused encoding buffer
}

func newVersionSet(opts Options) *VersionSet {
	return &VersionSet{opts: opts, live: make(map[*Version]struct{})}
}

// Create initialises a new DB directory: it writes MANIFEST-000001 holding an
// empty version, fsyncs it and the directory, and points CURRENT at it. The
// directory must exist and hold no CURRENT, no table, no WAL segment and no
// MANIFEST other than a MANIFEST-000001 left by an interrupted Create;
// otherwise the error wraps os.ErrExist.
func Create(opts Options) (*VersionSet, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if opts.ReadOnly {
		return nil, fmt.Errorf("%w: cannot create a DB", ErrReadOnly)
	}
	names, err := opts.FS.List(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("manifest: create: %w", err)
	}
	for _, name := range names {
		ft, num, ok := ParseFilename(name)
		if !ok {
			continue
		}
		switch {
		case ft == FileTypeCurrent, ft == FileTypeTable, ft == FileTypeLog,
			ft == FileTypeManifest && num != 1:
			return nil, fmt.Errorf("manifest: create: %s holds a DB file %s: %w", opts.Dir, name, os.ErrExist)
		}
	}
	s := newVersionSet(opts)
	const manifestNum = 1
	s.manifestNum.Store(manifestNum)
	s.nextFileNum.Store(manifestNum + 1)
	s.install(&Version{})
	snap := &VersionEdit{NextFileNum: s.nextFileNum.Load()}
	if err := s.startManifest(manifestNum, snap); err != nil {
		return nil, fmt.Errorf("manifest: create: %w", err)
	}
	return s, nil
}

// Recover reads CURRENT, replays the MANIFEST it names and returns the set
// holding the recovered version and counters.
//
//   - CURRENT must hold "MANIFEST-n\n" naming an existing file; otherwise
//     the error wraps keys.ErrCorruption (and os.ErrNotExist when CURRENT
//     itself is missing).
//   - The first record must be the MANIFEST header and the second a whole
//     edit (the snapshot); any damage to them is corruption.
//   - A torn or damaged last record (a torn tail, or a checksummed record
//     that does not decode and is followed by nothing) is dropped only if
//     the version recovered without it is whole: every table it holds exists
//     with its recorded size and, if the log number is not 0, the WAL
//     segment numbered by it exists. Otherwise it is corruption naming the
//     MANIFEST and the record's offset.
//   - Damage in any earlier record, or an edit that does not apply, is
//     corruption naming the MANIFEST and the record's offset.
//
// Unless ReadOnly, the set then continues in a new MANIFEST that starts with
// a snapshot of the recovered version (written, fsynced, directory fsynced,
// then CURRENT switched atomically), and every other MANIFEST is removed.
func Recover(opts Options) (*VersionSet, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	fs, dir := opts.FS, opts.Dir
	manifestNum, err := readCurrent(fs, dir)
	if err != nil {
		return nil, err
	}
	s := newVersionSet(opts)
	s.manifestNum.Store(manifestNum)
	name := MakeFilename(dir, FileTypeManifest, manifestNum)
	v, err := s.replay(name)
	if err != nil {
		return nil, err
	}
	s.install(v)

	// Numbers of files on disk are used, recorded or not (a WAL segment is
	// created before the edit that names it).
	names, err := fs.List(dir)
	if err != nil {
		return nil, fmt.Errorf("manifest: recover: %w", err)
	}
	var oldManifests []uint64
	for _, n := range names {
		ft, num, ok := ParseFilename(n)
		if !ok {
			continue
		}
		s.MarkFileNumUsed(num)
		if ft == FileTypeManifest {
			oldManifests = append(oldManifests, num)
		}
	}
	s.MarkFileNumUsed(manifestNum)
	s.MarkFileNumUsed(s.logNum.Load())
	for _, files := range v.Levels {
		for _, f := range files {
			s.MarkFileNumUsed(f.FileNum)
		}
	}
	if opts.ReadOnly {
		return s, nil
	}
	newNum := s.NewFileNum()
	if err := s.startManifest(newNum, s.snapshot(v, nil)); err != nil {
		return nil, fmt.Errorf("manifest: recover: %w", err)
	}
	for _, num := range oldManifests {
		if num != newNum {
			s.removeManifest(num)
		}
	}
	return s, nil
}

// readCurrent returns the MANIFEST number CURRENT names.
func readCurrent(fs vfs.FS, dir string) (uint64, error) {
	name := MakeFilename(dir, FileTypeCurrent, 0)
	size, err := fs.Stat(name)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, fmt.Errorf("%w (%w)", keys.CorruptionError(name, 0, "CURRENT is missing"), err)
		}
		return 0, fmt.Errorf("manifest: %w", err)
	}
	if size > maxCurrentSize {
		return 0, keys.CorruptionError(name, 0, "CURRENT is %d bytes, more than a file name", size)
	}
	f, err := fs.Open(name)
	if err != nil {
		return 0, fmt.Errorf("manifest: %w", err)
	}
	defer f.Close()
	buf := make([]byte, maxCurrentSize+1)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("manifest: read %s: %w", name, err)
	}
	content := buf[:n]
	if n > maxCurrentSize {
		return 0, keys.CorruptionError(name, 0, "CURRENT is more than %d bytes", maxCurrentSize)
	}
	if n == 0 || content[n-1] != '\n' {
		return 0, keys.CorruptionError(name, int64(n), "CURRENT does not end in a newline")
	}
	ft, num, ok := ParseFilename(string(content[:n-1]))
	if !ok || ft != FileTypeManifest {
		return 0, keys.CorruptionError(name, 0, "CURRENT holds %q, not a MANIFEST name", content[:n-1])
	}
	mname := MakeFilename(dir, FileTypeManifest, num)
	if _, err := fs.Stat(mname); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, keys.CorruptionError(name, 0, "CURRENT names %s, which does not exist", mname)
		}
		return 0, fmt.Errorf("manifest: %w", err)
	}
	return num, nil
}

// replay reads the MANIFEST name and returns the version it describes,
// setting the set's counters.
func (s *VersionSet) replay(name string) (*Version, error) {
	f, err := s.opts.FS.Open(name)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, keys.CorruptionError(name, 0, "MANIFEST named by CURRENT does not exist")
		}
		return nil, fmt.Errorf("manifest: %w", err)
	}
	defer f.Close()
	r := wal.NewReader(f, name)
	if err := readHeader(r, name); err != nil {
		return nil, err
	}
	v := &Version{}
	var e VersionEdit
	var logNum, nextFileNum uint64
	var lastSeq keys.SeqNum
	lastEnd := r.NextStart() // where the record after the last good one begins
	for edits := 0; ; edits++ {
		rec, err := r.Next()
		if err == io.EOF {
			if edits == 0 {
				return nil, keys.CorruptionError(name, lastEnd, "MANIFEST holds no version edit")
			}
			break
		}
		if errors.Is(err, wal.ErrTorn) {
			if edits == 0 {
				return nil, keys.CorruptionError(name, lastEnd, "the first version edit is torn: %v", err)
			}
			if werr := s.checkWhole(v, logNum); werr != nil {
				return nil, keys.CorruptionError(name, lastEnd,
					"the last record is torn (%v) and the version without it is not whole: %v", err, werr)
			}
			s.opts.Logger.Warn("manifest: dropped the torn last record", "file", name, "offset", lastEnd, "err", err)
			break
		}
		if err != nil {
			return nil, err // corruption naming the file and offset
		}
		off := r.Offset()
		if derr := e.Decode(rec); derr != nil {
			if edits == 0 {
				return nil, keys.CorruptionError(name, off, "%s", editDetail(derr))
			}
			// A checksummed record that does not decode may be dropped only
			// if it is the last thing in the file.
			if _, nerr := r.Next(); nerr != io.EOF {
				return nil, keys.CorruptionError(name, off, "%s (not the last record)", editDetail(derr))
			}
			if werr := s.checkWhole(v, logNum); werr != nil {
				return nil, keys.CorruptionError(name, off,
					"the last record is damaged (%s) and the version without it is not whole: %v", editDetail(derr), werr)
			}
			s.opts.Logger.Warn("manifest: dropped the damaged last record", "file", name, "offset", off, "err", derr)
			break
		}
		nv, aerr := v.Apply(&e)
		if aerr != nil {
			return nil, keys.CorruptionError(name, off, "%v", aerr)
		}
		v = nv
		if e.LogNum != 0 {
			logNum = e.LogNum
		}
		if e.NextFileNum != 0 {
			nextFileNum = e.NextFileNum
		}
		if e.LastSeq != 0 {
			lastSeq = e.LastSeq
		}
		lastEnd = r.NextStart()
	}
	s.logNum.Store(logNum)
	s.nextFileNum.Store(nextFileNum)
	s.lastSeq.Store(uint64(lastSeq))
	return v, nil
}

// readHeader checks the first record of a MANIFEST.
func readHeader(r *wal.Reader, name string) error {
	rec, err := r.Next()
	if err == io.EOF || errors.Is(err, wal.ErrTorn) {
		return keys.CorruptionError(name, 0, "MANIFEST has no header record")
	}
	if err != nil {
		return err
	}
	if len(rec) != headerLen || string(rec[:len(manifestMagic)]) != manifestMagic {
		return keys.CorruptionError(name, r.Offset(), "bad MANIFEST header %q", rec)
	}
	if v := binary.LittleEndian.Uint32(rec[len(manifestMagic):]); v != formatVersion {
		return keys.CorruptionError(name, r.Offset(), "MANIFEST header has unsupported format version %d (this build reads %d)", v, formatVersion)
	}
	return nil
}

// checkWhole reports why v is not whole: a table missing or of the wrong
// size, or the WAL segment numbered logNum missing.
func (s *VersionSet) checkWhole(v *Version, logNum uint64) error {
	fs, dir := s.opts.FS, s.opts.Dir
	for level, files := range v.Levels {
		for _, f := range files {
			name := MakeFilename(dir, FileTypeTable, f.FileNum)
			size, err := fs.Stat(name)
			if err != nil {
				return fmt.Errorf("L%d table %s: %w", level, name, err)
			}
			if uint64(size) != f.Size {
				return fmt.Errorf("L%d table %s is %d bytes, recorded as %d", level, name, size, f.Size)
			}
		}
	}
	if logNum != 0 {
		name := MakeFilename(dir, FileTypeLog, logNum)
		if _, err := fs.Stat(name); err != nil {
			return fmt.Errorf("WAL segment %s: %w", name, err)
		}
	}
	return nil
}

// snapshot returns an edit that recreates v and the set's counters, with
// e's counters taking precedence where set.
func (s *VersionSet) snapshot(v *Version, e *VersionEdit) *VersionEdit {
	snap := v.snapshotEdit()
	snap.LogNum = s.logNum.Load()
	snap.NextFileNum = s.nextFileNum.Load()
	snap.LastSeq = keys.SeqNum(s.lastSeq.Load())
	if e != nil {
		if e.LogNum != 0 {
			snap.LogNum = e.LogNum
		}
		snap.NextFileNum = max(snap.NextFileNum, e.NextFileNum)
		if e.LastSeq != 0 {
			snap.LastSeq = e.LastSeq
		}
	}
	return snap
}

// startManifest writes MANIFEST-num holding the header and snap, fsyncs it
// and the directory, points CURRENT at it, and makes it the set's MANIFEST.
// The previous MANIFEST writer, if any, is closed; removing the old file is
// the caller's job.
func (s *VersionSet) startManifest(num uint64, snap *VersionEdit) error {
	fs, dir := s.opts.FS, s.opts.Dir
	name := MakeFilename(dir, FileTypeManifest, num)
	f, err := fs.Create(name)
	if err != nil {
		return err
	}
	w := wal.NewWriter(f)
	s.buf = appendHeader(s.buf[:0])
	err = w.AddRecord(s.buf)
	if err == nil {
		s.buf = snap.Encode(s.buf[:0])
		err = w.AddRecord(s.buf)
	}
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = w.Sync()
	}
	if err == nil {
		err = fs.SyncDir(dir)
	}
	if err != nil {
		_ = w.Close()
		_ = fs.Remove(name) // CURRENT never named it
		return err
	}
	if err := setCurrent(fs, dir, num); err != nil {
		_ = w.Close()
		return err
	}
	if s.manifest != nil {
		if cerr := s.manifest.Close(); cerr != nil {
			s.opts.Logger.Warn("manifest: closing the old MANIFEST", "err", cerr)
		}
	}
	s.manifest = w
	s.snapshotSize = w.Size()
	s.manifestNum.Store(num)
	return nil
}

// setCurrent points CURRENT at MANIFEST-num atomically: temp file, fsync,
// rename, directory fsync.
func setCurrent(fs vfs.FS, dir string, num uint64) error {
	tmp := MakeFilename(dir, FileTypeTemp, num)
	f, err := fs.Create(tmp)
	if err != nil {
		return err
	}
	_, err = f.Write([]byte(Filename(FileTypeManifest, num) + "\n"))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fs.Rename(tmp, MakeFilename(dir, FileTypeCurrent, 0))
	}
	if err != nil {
		_ = fs.Remove(tmp)
		return err
	}
	return fs.SyncDir(dir)
}

func (s *VersionSet) removeManifest(num uint64) {
	name := MakeFilename(s.opts.Dir, FileTypeManifest, num)
	if err := s.opts.FS.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.opts.Logger.Warn("manifest: removing an obsolete MANIFEST", "file", name, "err", err)
	}
}

// install makes v the current version, holding the set's reference on it,
// and drops the set's reference on the previous one.
func (s *VersionSet) install(v *Version) {
	v.refs.Store(1)
	v.vs = s
	s.mu.Lock()
	s.live[v] = struct{}{}
	old := s.current
	s.current = v
	s.mu.Unlock()
	if old != nil {
		old.Unref()
	}
}

func (s *VersionSet) versionDied(v *Version) {
	s.mu.Lock()
	delete(s.live, v)
	s.mu.Unlock()
}

// Current returns the current version with a reference taken: the caller
// must Unref it. Safe for concurrent use.
func (s *VersionSet) Current() *Version {
	s.mu.Lock()
	v := s.current
	v.Ref()
	s.mu.Unlock()
	return v
}

// LogAndApply applies edit to the current version, fills edit.NextFileNum
// and edit.LastSeq from the set's counters where they are zero, appends the
// edit to the MANIFEST and fsyncs it, and only then installs the new version
// as current. When the MANIFEST has grown past MaxManifestSize it instead
// starts a new MANIFEST holding the whole new version (written, fsynced,
// directory fsynced, CURRENT switched atomically) and removes the old one.
//
// An edit that does not apply (see ErrBadEdit), or whose log number or last
// sequence number go backwards, is rejected before anything is written, and
// the set stays usable. Any write or sync failure is returned and latched:
// the MANIFEST on disk is then in an unknown state, the current version is
// left unchanged, and every later LogAndApply returns the same error until
// the DB is reopened.
//
// Callers serialise LogAndApply (and Close); it may run concurrently with
// Current, NewFileNum and the other readers.
func (s *VersionSet) LogAndApply(edit *VersionEdit) error {
	if s.err != nil {
		return s.err
	}
	if s.closed {
		return ErrClosed
	}
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	if edit.LogNum != 0 && edit.LogNum < s.logNum.Load() {
		return fmt.Errorf("%w: log number %d is below the current %d", ErrBadEdit, edit.LogNum, s.logNum.Load())
	}
	if edit.LastSeq != 0 && uint64(edit.LastSeq) < s.lastSeq.Load() {
		return fmt.Errorf("%w: last sequence number %d is below the current %d", ErrBadEdit, edit.LastSeq, s.lastSeq.Load())
	}
	if edit.LastSeq > keys.MaxSeq {
		return fmt.Errorf("%w: last sequence number %d exceeds the maximum", ErrBadEdit, edit.LastSeq)
	}
	// Only LogAndApply replaces current, so reading it here needs no lock.
	nv, err := s.current.Apply(edit)
	if err != nil {
		return err
	}
	next := s.nextFileNum.Load()
	if edit.NextFileNum != 0 {
		next = max(next, edit.NextFileNum)
	}
	if edit.LogNum >= next {
		return fmt.Errorf("%w: log number %d was never allocated (next file number %d)", ErrBadEdit, edit.LogNum, next)
	}
	for _, a := range edit.Added {
		if a.Meta.FileNum >= next {
			return fmt.Errorf("%w: table %06d was never allocated (next file number %d)", ErrBadEdit, a.Meta.FileNum, next)
		}
	}
	if edit.NextFileNum == 0 {
		edit.NextFileNum = next
	}
	if edit.LastSeq == 0 {
		edit.LastSeq = keys.SeqNum(s.lastSeq.Load())
	}

	if s.shouldRotate() {
		num := s.NewFileNum()
		old := s.manifestNum.Load()
		err = s.startManifest(num, s.snapshot(nv, edit))
		if err == nil {
			s.removeManifest(old)
			s.opts.Logger.Info("manifest: rotated", "old", old, "new", num)
		}
	} else {
		s.buf = edit.Encode(s.buf[:0])
		err = s.manifest.AddRecord(s.buf)
		if err == nil {
			err = s.manifest.Flush()
		}
		if err == nil {
			err = s.manifest.Sync()
		}
	}
	if err != nil {
		s.err = fmt.Errorf("manifest: MANIFEST write failed, the DB must be reopened: %w", err)
		return s.err
	}
	s.MarkFileNumUsed(edit.NextFileNum - 1)
	if edit.LogNum != 0 {
		s.logNum.Store(edit.LogNum)
	}
	s.lastSeq.Store(uint64(edit.LastSeq))
	s.install(nv)
	return nil
}

// shouldRotate reports whether the MANIFEST is past MaxManifestSize and the
// edits since its snapshot outweigh the snapshot.
func (s *VersionSet) shouldRotate() bool {
	size := s.manifest.Size()
	return size > s.opts.MaxManifestSize && size-s.snapshotSize > s.snapshotSize
}

// NewFileNum allocates a file number. Safe for concurrent use.
func (s *VersionSet) NewFileNum() uint64 { return s.nextFileNum.Add(1) - 1 }

// MarkFileNumUsed makes sure NewFileNum never returns n or less. Safe for
// concurrent use.
func (s *VersionSet) MarkFileNumUsed(n uint64) {
	for {
		cur := s.nextFileNum.Load()
		if cur > n || s.nextFileNum.CompareAndSwap(cur, n+1) {
			return
		}
	}
}

// LastSeq returns the last sequence number recorded in the MANIFEST, or set
// by SetLastSeq since (the DB keeps its own live counter).
func (s *VersionSet) LastSeq() keys.SeqNum { return keys.SeqNum(s.lastSeq.Load()) }

// SetLastSeq sets the sequence number the next LogAndApply records when its
// edit leaves LastSeq zero.
func (s *VersionSet) SetLastSeq(seq keys.SeqNum) { s.lastSeq.Store(uint64(seq)) }

// LogNum returns the log number: WAL segments numbered below it are no
// longer needed.
func (s *VersionSet) LogNum() uint64 { return s.logNum.Load() }

// ManifestFileNum returns the number of the MANIFEST being appended to (or,
// when ReadOnly, the one recovered from).
func (s *VersionSet) ManifestFileNum() uint64 { return s.manifestNum.Load() }

// LiveFiles returns the table numbers of every version that still has
// references, the current one included: a table not in the set is needed by
// nobody and may be deleted. Safe for concurrent use.
func (s *VersionSet) LiveFiles() map[uint64]struct{} {
	return s.liveSet(func(f *FileMeta) uint64 { return f.FileNum })
}

// LiveWALRefs returns the WAL segments that tables of every version that
// still has references refer to (FileMeta.WALRef): a segment flushed and
// not in the set is needed by nobody and may be deleted. Safe for
// concurrent use.
func (s *VersionSet) LiveWALRefs() map[uint64]struct{} {
	return s.liveSet(func(f *FileMeta) uint64 { return f.WALRef })
}

// liveSet returns the non-zero numbers key gives for the tables of every
// version that still has references.
func (s *VersionSet) liveSet(key func(*FileMeta) uint64) map[uint64]struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[uint64]struct{})
	for v := range s.live {
		for _, files := range v.Levels {
			for _, f := range files {
				if k := key(f); k != 0 {
					out[k] = struct{}{}
				}
			}
		}
	}
	return out
}

// Close closes the MANIFEST (everything in it is already synced). Later
// calls to LogAndApply and a second Close return ErrClosed. Versions stay
// readable.
func (s *VersionSet) Close() error {
	if s.closed {
		return ErrClosed
	}
	s.closed = true
	if s.manifest == nil {
		return nil
	}
	err := s.manifest.Close()
	s.manifest = nil
	return err
}

// ReadEdits reads the MANIFEST name and calls fn with the offset and contents
// of each version edit, in order, after checking the header. It returns
// nil at a clean end, fn's first error, or the damage it met: an error
// wrapping wal.ErrTorn for a torn tail, or keys.ErrCorruption naming the
// file and offset. The edit passed to fn is valid only during the call.
func ReadEdits(fs vfs.FS, name string, fn func(offset int64, e *VersionEdit) error) error {
	f, err := fs.Open(name)
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	defer f.Close()
	r := wal.NewReader(f, name)
	if err := readHeader(r, name); err != nil {
		return err
	}
	var e VersionEdit
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		off := r.Offset()
		if err := e.Decode(rec); err != nil {
			return keys.CorruptionError(name, off, "%s", editDetail(err))
		}
		if err := fn(off, &e); err != nil {
			return err
		}
	}
}

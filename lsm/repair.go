package lsm

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/stratadb/strata/internal/batchrepr"
	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/manifest"
	"github.com/stratadb/strata/vfs"
	"github.com/stratadb/strata/wal"
)

// RepairReport says what Repair found and what it did.
type RepairReport struct {
	// Damaged reports whether a WAL segment the DB replays at Open was
	// damaged. When it is false Repair changed nothing, and the fields
	// below are zero.
	Damaged bool
	// Segment is the path of the first damaged WAL segment, and Offset the
	// byte offset where its intact prefix ends: its records before Offset
	// are kept, everything from Offset on is dropped. Reason is the damage
	// found there, as Open reports it.
	Segment string
	Offset  int64
	Reason  string
	// KeptRecords is the number of WAL records of Segment before Offset;
	// LastSeq is the sequence number of the last write kept, there or in an
	// earlier segment.
	KeptRecords int
	LastSeq     uint64
	// Dropped lists what is no longer replayed: Segment from Offset on,
	// then every later segment, whole.
	Dropped []DroppedSegment
}

// DroppedSegment is a WAL segment, or its tail, that Repair took out of the
// replay.
type DroppedSegment struct {
	// Path is the segment's path; MovedTo is where its file now is,
	// unchanged, renamed aside.
	Path, MovedTo string
	// From is the first byte dropped: Offset in the damaged segment, 0 in a
	// later one. Bytes counts the bytes from From to the end of the file.
	From, Bytes int64
	// Records counts the intact WAL records (one per commit: a write or a
	// batch) found in the dropped bytes, and Entries the writes they hold.
	// A record the damage itself destroyed cannot be counted, nor records
	// after a zero-filled gap.
	Records, Entries int
}

// String renders the report for a person, one fact per line.
func (r RepairReport) String() string {
	if !r.Damaged {
		return "no damaged WAL segment: nothing changed\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "damaged WAL segment %s at offset %d: %s\n", r.Segment, r.Offset, r.Reason)
	fmt.Fprintf(&b, "kept %d records of %s before offset %d; last sequence number kept %d\n", r.KeptRecords, filepath.Base(r.Segment), r.Offset, r.LastSeq)
	for _, d := range r.Dropped {
		what := "whole"
		if d.From > 0 {
			what = "from offset " + strconv.FormatInt(d.From, 10)
		}
		fmt.Fprintf(&b, "dropped %s %s: %d bytes, %d intact records (%d writes); the file is now %s\n",
			filepath.Base(d.Path), what, d.Bytes, d.Records, d.Entries, d.MovedTo)
	}
	return b.String()
}

// asideSuffix marks a WAL segment Repair moved out of the replay. Such names
// are no file type of the DB, so nothing ever deletes or replays them; Open
// only keeps their numbers from being reused.
const asideSuffix = ".damaged"

// Repair mends a DB whose WAL is damaged, so that it opens again. It is for
// the case where Open (or Verify) fails with ErrCorruption naming a WAL
// segment: a checksum failure in the middle of a segment, a torn segment
// that is not the newest, or records missing between segments. It must run
// while the DB is closed (it takes the directory lock: ErrLocked
// otherwise).
//
// Repair keeps every write up to the last intact record before the first
// damage, and drops everything after it: the rest of the damaged segment
// and every later segment, even intact ones. Replaying a later segment
// would leave a hole (writes after the damage kept, writes inside it lost),
// and a DB recovers only a prefix of its acknowledged writes, in commit
// order. Nothing is deleted: each dropped segment is renamed aside to
// <name>.damaged (or .damaged.1, ...), and the damaged one is replaced by a
// copy of its intact prefix. The report says exactly what was dropped.
//
// Every step follows the crash-safety rules of the DB: the prefix copy is
// fsynced before it replaces the segment, by an atomic rename, and the
// directory is fsynced after each change; if Repair is interrupted, running
// it again finishes the job with the same result. Repair then opens the
// repaired DB (which writes the kept writes to a table) and verifies it.
//
// A DB whose WAL is intact is left untouched, even by a byte, and the report
// says so (Damaged false); Repair then only checks, read-only, that the DB
// opens and verifies, and returns the error if not. Repair mends the WAL
// only: damage to a table or the MANIFEST is returned as the error that
// reports it. opts are the options the DB is opened with (nil: defaults);
// ReadOnly is ErrInvalidArgument.
func Repair(dir string, opts *Options) (RepairReport, error) {
	var rep RepairReport
	o := opts.ensureDefaults()
	if err := o.validate(); err != nil {
		return rep, err
	}
	if o.ReadOnly {
		return rep, fmt.Errorf("%w: Repair writes; it cannot run ReadOnly", ErrInvalidArgument)
	}
	fs := o.FS
	if _, err := fs.Stat(manifest.MakeFilename(dir, manifest.FileTypeCurrent, 0)); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return rep, fmt.Errorf("%w in %s", ErrNoDatabase, dir)
		}
		return rep, fmt.Errorf("strata: repair: %w", err)
	}
	lock, err := fs.Lock(manifest.MakeFilename(dir, manifest.FileTypeLock, 0))
	if err != nil {
		if errors.Is(err, vfs.ErrLocked) {
			return rep, fmt.Errorf("%w: %s is open elsewhere: close it before Repair: %v", ErrLocked, dir, err)
		}
		return rep, fmt.Errorf("strata: repair: lock %s: %w", dir, err)
	}
	rep, plan, err := scanWALForRepair(fs, dir, o)
	if err == nil && rep.Damaged {
		err = plan.apply(fs, dir, &rep)
	}
	if cerr := lock.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("strata: repair: unlock %s: %w", dir, cerr)
	}
	if err != nil {
		return rep, err
	}

	// Check the result: a healthy DB read-only, without writing a byte; a
	// repaired one writable, so that Open writes the kept writes to a table
	// and starts a fresh WAL.
	check := o
	check.ReadOnly = !rep.Damaged
	db, err := Open(dir, &check)
	if err != nil {
		return rep, fmt.Errorf("strata: repair: the DB does not open: %w", err)
	}
	if err := db.Verify(); err != nil {
		db.Close()
		return rep, fmt.Errorf("strata: repair: the DB does not verify: %w", err)
	}
	return rep, db.Close()
}

// repairPlan is what Repair will do to the files.
type repairPlan struct {
	damaged string   // path of the damaged segment
	keep    int64    // bytes of it to keep; 0: move it aside whole
	later   []string // paths of the later segments, in order
}

// scanWALForRepair reads the WAL segments Open would replay, as Open would,
// and finds the first damage; it fills the report (but MovedTo) and plans
// the moves. It changes nothing.
func scanWALForRepair(fs vfs.FS, dir string, o Options) (RepairReport, repairPlan, error) {
	var rep RepairReport
	var plan repairPlan
	vs, err := manifest.Recover(manifest.Options{FS: fs, Dir: dir, ReadOnly: true, Logger: o.Logger})
	if err != nil {
		return rep, plan, fmt.Errorf("strata: repair: %w", err)
	}
	logNum, lastSeq := vs.LogNum(), vs.LastSeq()
	vs.Close()
	names, err := fs.List(dir)
	if err != nil {
		return rep, plan, fmt.Errorf("strata: repair: list %s: %w", dir, err)
	}
	var segs []uint64
	for _, n := range names {
		if ft, num, ok := manifest.ParseFilename(n); ok && ft == manifest.FileTypeLog && num >= logNum {
			segs = append(segs, num)
		}
	}
	slices.Sort(segs)
	for i, num := range segs {
		name := manifest.MakeFilename(dir, manifest.FileTypeLog, num)
		s, err := scanSegment(fs, name, i == len(segs)-1, &lastSeq)
		if err != nil {
			return rep, plan, err
		}
		if !s.damaged {
			continue
		}
		rep = RepairReport{Damaged: true, Segment: name, Offset: s.offset, Reason: s.reason,
			KeptRecords: s.kept, LastSeq: uint64(lastSeq)}
		size, err := fs.Stat(name)
		if err != nil {
			return rep, plan, fmt.Errorf("strata: repair: %w", err)
		}
		rep.Dropped = append(rep.Dropped, DroppedSegment{Path: name, From: s.offset, Bytes: size - s.offset,
			Records: s.droppedRecords, Entries: s.droppedEntries})
		plan.damaged = name
		if s.kept > 0 {
			plan.keep = s.offset
		}
		for _, later := range segs[i+1:] {
			name := manifest.MakeFilename(dir, manifest.FileTypeLog, later)
			d := DroppedSegment{Path: name}
			if d.Bytes, err = fs.Stat(name); err != nil {
				return rep, plan, fmt.Errorf("strata: repair: %w", err)
			}
			if d.Records, d.Entries, err = countSegment(fs, name); err != nil {
				return rep, plan, err
			}
			rep.Dropped = append(rep.Dropped, d)
			plan.later = append(plan.later, name)
		}
		return rep, plan, nil
	}
	return rep, plan, nil
}

// segmentScan is what scanSegment found in one WAL segment.
type segmentScan struct {
	kept    int // records before the damage (all of them if none)
	damaged bool
	offset  int64 // where the intact prefix ends
	reason  string
	// Intact records after the damage, and the writes they hold.
	droppedRecords, droppedEntries int
}

// scanSegment reads one segment under the rules of replayWAL, advancing
// lastSeq over the records it keeps, and on damage counts what follows it.
func scanSegment(fs vfs.FS, name string, newest bool, lastSeq *keys.SeqNum) (segmentScan, error) {
	var s segmentScan
	f, err := fs.Open(name)
	if err != nil {
		return s, fmt.Errorf("strata: repair: open WAL: %w", err)
	}
	defer f.Close()
	r := wal.NewReader(f, name)
	for {
		rec, err := r.Next()
		switch {
		case err == io.EOF:
			return s, nil
		case errors.Is(err, wal.ErrTorn):
			if newest {
				return s, nil // Open keeps the intact prefix of the newest segment by itself
			}
			s.damaged, s.offset = true, r.End()
			s.reason = fmt.Sprintf("torn, but not the newest WAL segment: %v", err)
			return s, nil // nothing intact follows a torn tail
		case errors.Is(err, keys.ErrCorruption):
			s.damaged, s.offset, s.reason = true, r.End(), err.Error()
			s.droppedRecords, s.droppedEntries, err = countRest(r, name, err)
			return s, err
		case err != nil:
			return s, fmt.Errorf("strata: repair: %w", err)
		}
		seq, count, derr := batchrepr.Decode(rec, name, r.Offset(), func(keys.SeqNum, batchrepr.Entry) error { return nil })
		if derr == nil && count > 0 && seq != *lastSeq+1 {
			derr = keys.CorruptionError(name, r.Offset(), "batch sequence number %d does not follow %d: WAL records are missing", seq, *lastSeq)
		}
		if derr != nil {
			// The record is intact but cannot be replayed: it and all after
			// it are dropped.
			s.damaged, s.offset, s.reason = true, r.Offset(), derr.Error()
			s.droppedRecords, s.droppedEntries, err = countRest(r, name, nil)
			s.droppedRecords++
			if _, n, err := batchrepr.Decode(rec, name, r.Offset(), func(keys.SeqNum, batchrepr.Entry) error { return nil }); err == nil {
				s.droppedEntries += n
			}
			return s, err
		}
		if count > 0 {
			*lastSeq = seq + keys.SeqNum(count) - 1
		}
		s.kept++
	}
}

// countSegment counts the intact records of a whole segment and the writes
// they hold.
func countSegment(fs vfs.FS, name string) (records, entries int, err error) {
	f, err := fs.Open(name)
	if err != nil {
		return 0, 0, fmt.Errorf("strata: repair: open WAL: %w", err)
	}
	defer f.Close()
	return countRest(wal.NewReader(f, name), name, nil)
}

// countRest reads on from r, skipping damage where a valid record follows
// it, and counts the intact records and the writes they hold. pending is the
// error Next last returned, if any.
func countRest(r *wal.Reader, name string, pending error) (records, entries int, err error) {
	for {
		if pending != nil {
			if _, ok := r.Skip(); !ok {
				if pending == io.EOF || errors.Is(pending, wal.ErrTorn) || errors.Is(pending, keys.ErrCorruption) {
					return records, entries, nil
				}
				return records, entries, fmt.Errorf("strata: repair: %w", pending)
			}
		}
		rec, err := r.Next()
		pending = err
		if err != nil {
			continue
		}
		records++
		if _, n, err := batchrepr.Decode(rec, name, r.Offset(), func(keys.SeqNum, batchrepr.Entry) error { return nil }); err == nil {
			entries += n
		}
	}
}

// apply moves the dropped segments aside and puts the damaged segment's
// intact prefix in its place, crash-safely: at every instant the damaged
// segment's name holds either the damaged file (so Repair, run again, finds
// the same damage) or the fsynced prefix, and the damaged file is kept
// aside before the prefix replaces it. It records where each file went.
func (p repairPlan) apply(fs vfs.FS, dir string, rep *RepairReport) error {
	fail := func(what string, err error) error {
		return fmt.Errorf("strata: repair: %s: %w", what, err)
	}
	var tmp string
	if p.keep > 0 {
		_, num, _ := manifest.ParseFilename(filepath.Base(p.damaged))
		tmp = manifest.MakeFilename(dir, manifest.FileTypeTemp, num)
		if err := copyFile(fs, p.damaged, tmp, p.keep); err != nil {
			return fail("copy the intact prefix", err)
		}
	}
	// Later segments first: once the damaged segment is whole again, none
	// of them may be left to replay.
	for i, name := range p.later {
		aside, err := asideName(fs, name)
		if err != nil {
			return fail("name", err)
		}
		if err := fs.Rename(name, aside); err != nil {
			return fail("move aside", err)
		}
		rep.Dropped[1+i].MovedTo = aside
	}
	aside, err := asideName(fs, p.damaged)
	if err != nil {
		return fail("name", err)
	}
	if tmp == "" {
		if err := fs.Rename(p.damaged, aside); err != nil {
			return fail("move aside", err)
		}
	} else {
		if err := linkOrCopy(fs, p.damaged, aside); err != nil {
			return fail("keep the damaged segment", err)
		}
		if err := fs.SyncDir(dir); err != nil {
			return fail("sync the directory", err)
		}
		if err := fs.Rename(tmp, p.damaged); err != nil {
			return fail("replace the damaged segment", err)
		}
	}
	rep.Dropped[0].MovedTo = aside
	if err := fs.SyncDir(dir); err != nil {
		return fail("sync the directory", err)
	}
	return nil
}

// asideName returns the first free name of name + asideSuffix (+ ".N").
func asideName(fs vfs.FS, name string) (string, error) {
	for i := 0; ; i++ {
		aside := name + asideSuffix
		if i > 0 {
			aside += "." + strconv.Itoa(i)
		}
		_, err := fs.Stat(aside)
		if errors.Is(err, os.ErrNotExist) {
			return aside, nil
		}
		if err != nil {
			return "", err
		}
	}
}

// parseAsideName returns the number of a WAL segment Repair moved aside.
func parseAsideName(name string) (uint64, bool) {
	i := strings.Index(name, asideSuffix)
	if i < 0 {
		return 0, false
	}
	ft, num, ok := manifest.ParseFilename(name[:i])
	return num, ok && ft == manifest.FileTypeLog
}

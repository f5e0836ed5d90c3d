package manifest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/stratadb/strata/internal/invariants"
	"github.com/stratadb/strata/keys"
)

// NumLevels is the number of levels of the LSM tree: L0 through L6.
const NumLevels = 7

// FileMeta describes one SSTable of a version. A FileMeta is shared by every
// version that holds the table and must not be changed once it is part of
// one, except for Compacting.
type FileMeta struct {
	// FileNum is the table's file number (its name is MakeFilename(dir,
	// FileTypeTable, FileNum)).
	FileNum uint64
	// Size is the table's size in bytes.
	Size uint64
	// Smallest and Largest are the smallest and largest internal keys (in
	// keys.MakeKey form) the table holds.
	Smallest, Largest []byte
	// SmallestSeq and LargestSeq bound the sequence numbers of the entries.
	SmallestSeq, LargestSeq keys.SeqNum
	// EarliestExpiry and LatestExpiry bound the expiry times (Unix
	// nanoseconds) of the table's expiring entries; both 0 if it has none.
	EarliestExpiry, LatestExpiry int64
	// NumEntries and NumDeletions count the table's entries and tombstones.
	NumEntries, NumDeletions uint64
	// NumRangeDels counts the table's range tombstones (one per fragment
	// and sequence number of its range deletion block); 0 for a table
	// without one. Readers skip looking for tombstones in tables with none.
	NumRangeDels uint64
	// RangeDelBytes estimates the bytes of older tables that the table's
	// range tombstones cover (set when the table is written, from the
	// version of the moment): the compaction picker counts them, so a
	// level whose data is mostly deleted gets compacted.
	RangeDelBytes uint64
	// WALRef is the WAL segment holding the large values of a table a
	// flush wrote with lsm's Options.WALValueThreshold: such a table keeps
	// a reference to each value of that size instead of a copy, and the
	// segment must live as long as the table. 0: the table holds every
	// value itself.
	WALRef uint64
	// WALRefBytes is the sum of the lengths of the values the table
	// refers to in segment WALRef (what the segment holds for it).
	WALRefBytes uint64

	// Compacting is runtime state, never encoded: the table is an input of a
	// running compaction. It is guarded by lsm's DB.mu: the pickers read it
	// under that lock, and it changes only through MarkCompacting and
	// ClearCompacting, called under it.
	Compacting bool
}

// MarkCompacting sets Compacting on files, which must all be idle. Under the
// invariants build a table marked twice panics: two compactions would both
// rewrite it.
func MarkCompacting(files []*FileMeta) {
	for _, f := range files {
		if invariants.Enabled && f.Compacting {
			panic(fmt.Sprintf("manifest: table %06d is already an input of a compaction", f.FileNum))
		}
		f.Compacting = true
	}
}

// ClearCompacting clears Compacting on files, which must all be marked.
// Under the invariants build clearing an idle table panics.
func ClearCompacting(files []*FileMeta) {
	for _, f := range files {
		if invariants.Enabled && !f.Compacting {
			panic(fmt.Sprintf("manifest: table %06d cleared but not compacting", f.FileNum))
		}
		f.Compacting = false
	}
}

// SmallestUserKey returns the user key of Smallest.
func (f *FileMeta) SmallestUserKey() []byte { return keys.UserKey(f.Smallest) }

// LargestUserKey returns the user key of Largest.
func (f *FileMeta) LargestUserKey() []byte { return keys.UserKey(f.Largest) }

// LargestExclusive reports whether Largest is the exclusive end of a range
// tombstone (keys.RangeDelSentinel): the table then holds nothing of
// LargestUserKey itself.
func (f *FileMeta) LargestExclusive() bool { return keys.IsRangeDelSentinel(f.Largest) }

// ContainsUserKey reports whether ukey lies within the table's key range.
func (f *FileMeta) ContainsUserKey(ukey []byte) bool {
	if bytes.Compare(ukey, f.SmallestUserKey()) < 0 {
		return false
	}
	c := bytes.Compare(ukey, f.LargestUserKey())
	return c < 0 || (c == 0 && !f.LargestExclusive())
}

// EndsBefore reports whether every key of the table is below ukey.
func (f *FileMeta) EndsBefore(ukey []byte) bool {
	c := bytes.Compare(f.LargestUserKey(), ukey)
	return c < 0 || (c == 0 && f.LargestExclusive())
}

// String renders the table for humans: 000012:[a #5 SET..z #3 DEL] size=4096 seqs=[3,5].
func (f *FileMeta) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%06d:[%s..%s] size=%d seqs=[%d,%d] entries=%d dels=%d",
		f.FileNum, keys.Format(f.Smallest), keys.Format(f.Largest), f.Size,
		f.SmallestSeq, f.LargestSeq, f.NumEntries, f.NumDeletions)
	if f.NumRangeDels != 0 {
		fmt.Fprintf(&b, " rangedels=%d covering=%d", f.NumRangeDels, f.RangeDelBytes)
	}
	if f.EarliestExpiry != 0 || f.LatestExpiry != 0 {
		fmt.Fprintf(&b, " expiry=[%d,%d]", f.EarliestExpiry, f.LatestExpiry)
	}
	if f.WALRef != 0 {
		fmt.Fprintf(&b, " walref=%06d:%d", f.WALRef, f.WALRefBytes)
	}
	return b.String()
}

// NewFile is a table an edit adds to a level.
type NewFile struct {
	Level int
	Meta  *FileMeta
}

// DeletedFile is a table an edit removes from a level.
type DeletedFile struct {
	Level   int
	FileNum uint64
}

// VersionEdit is one change to the set of live tables and to the counters
// recorded in the MANIFEST. Deletions apply before additions, so moving a
// table between levels is one edit that deletes and adds the same FileNum.
type VersionEdit struct {
	// LogNum: WAL segments numbered < LogNum are no longer needed; 0 means
	// unchanged.
	LogNum uint64
	// NextFileNum is the next unused file number; 0 means unchanged.
	NextFileNum uint64
	// LastSeq is the last sequence number used; 0 means unchanged.
	LastSeq keys.SeqNum
	// Deleted lists the tables removed, Added the tables added.
	Deleted []DeletedFile
	Added   []NewFile
}

// The tags of an encoded version edit. They are part of the on-disk format
// (the MANIFEST) and never change; a new field gets a new tag.
//
//	tag  field        payload
//	 1   LogNum       uvarint
//	 2   NextFileNum  uvarint
//	 3   LastSeq      uvarint (<= keys.MaxSeq)
//	 4   DeletedFile  uvarint level, uvarint file number
//	 5   NewFile      uvarint level, uvarint file number, uvarint size,
//	                  uvarint len + smallest key, uvarint len + largest key,
//	                  uvarint smallest seq, uvarint largest seq,
//	                  varint earliest expiry, varint latest expiry,
//	                  uvarint entries, uvarint deletions
//	 6   WALRef       uvarint file number, uvarint WAL segment number,
//	                  uvarint bytes referred to. It follows the NewFile of
//	                  that number in the same edit and fills that table's
//	                  WALRef and WALRefBytes. Not skippable: a reader that
//	                  does not know it would read the table's references
//	                  as values, so it must refuse the MANIFEST.
//	>=64 (reserved)   uvarint len + bytes; skipped by readers that do not
//	                  know the tag
//	65   RangeDels    uvarint len, then: uvarint file number, uvarint
//	                  range tombstones, uvarint bytes they cover. It
//	                  follows the NewFile of that number in the same edit
//	                  and fills that table's NumRangeDels and RangeDelBytes.
//	                  A reader that does not know it skips it.
//
// Any other unknown tag is corruption.
const (
	tagLogNum      = 1
	tagNextFileNum = 2
	tagLastSeq     = 3
	tagDeletedFile = 4
	tagNewFile     = 5
	tagWALRef      = 6

	// tagFirstSkippable is the first tag whose payload is a length-prefixed
	// byte string that a reader which does not know the tag skips. Part of
	// the on-disk format; never changes.
	tagFirstSkippable = 64

	// tagRangeDels is a new file's range tombstone counts (skippable).
	tagRangeDels = 65
)

// Encode appends the encoding of e to dst and returns the extended slice.
// Zero counters are not written (zero means unchanged).
func (e *VersionEdit) Encode(dst []byte) []byte {
	if e.LogNum != 0 {
		dst = binary.AppendUvarint(dst, tagLogNum)
		dst = binary.AppendUvarint(dst, e.LogNum)
	}
	if e.NextFileNum != 0 {
		dst = binary.AppendUvarint(dst, tagNextFileNum)
		dst = binary.AppendUvarint(dst, e.NextFileNum)
	}
	if e.LastSeq != 0 {
		dst = binary.AppendUvarint(dst, tagLastSeq)
		dst = binary.AppendUvarint(dst, uint64(e.LastSeq))
	}
	for _, d := range e.Deleted {
		dst = binary.AppendUvarint(dst, tagDeletedFile)
		dst = binary.AppendUvarint(dst, uint64(d.Level))
		dst = binary.AppendUvarint(dst, d.FileNum)
	}
	for _, a := range e.Added {
		m := a.Meta
		dst = binary.AppendUvarint(dst, tagNewFile)
		dst = binary.AppendUvarint(dst, uint64(a.Level))
		dst = binary.AppendUvarint(dst, m.FileNum)
		dst = binary.AppendUvarint(dst, m.Size)
		dst = binary.AppendUvarint(dst, uint64(len(m.Smallest)))
		dst = append(dst, m.Smallest...)
		dst = binary.AppendUvarint(dst, uint64(len(m.Largest)))
		dst = append(dst, m.Largest...)
		dst = binary.AppendUvarint(dst, uint64(m.SmallestSeq))
		dst = binary.AppendUvarint(dst, uint64(m.LargestSeq))
		dst = binary.AppendVarint(dst, m.EarliestExpiry)
		dst = binary.AppendVarint(dst, m.LatestExpiry)
		dst = binary.AppendUvarint(dst, m.NumEntries)
		dst = binary.AppendUvarint(dst, m.NumDeletions)
		if m.NumRangeDels != 0 || m.RangeDelBytes != 0 {
			var p [3 * binary.MaxVarintLen64]byte
			b := binary.AppendUvarint(p[:0], m.FileNum)
			b = binary.AppendUvarint(b, m.NumRangeDels)
			b = binary.AppendUvarint(b, m.RangeDelBytes)
			dst = binary.AppendUvarint(dst, tagRangeDels)
			dst = binary.AppendUvarint(dst, uint64(len(b)))
			dst = append(dst, b...)
		}
		if m.WALRef != 0 {
			dst = binary.AppendUvarint(dst, tagWALRef)
			dst = binary.AppendUvarint(dst, m.FileNum)
			dst = binary.AppendUvarint(dst, m.WALRef)
			dst = binary.AppendUvarint(dst, m.WALRefBytes)
		}
	}
	return dst
}

// editError is a decoding failure of a version edit. It wraps
// keys.ErrCorruption; the caller adds the file and offset of the record.
type editError struct {
	pos    int // byte offset within the encoded edit
	reason string
}

func (e *editError) Error() string {
	return fmt.Sprintf("%v: version edit: %s", keys.ErrCorruption, e.detail())
}

func (e *editError) detail() string {
	return fmt.Sprintf("%s (byte %d of the edit)", e.reason, e.pos)
}

func (e *editError) Unwrap() error { return keys.ErrCorruption }

// editDetail returns the reason of a Decode failure without the corruption
// prefix, for callers that wrap it with keys.CorruptionError.
func editDetail(err error) string {
	var ee *editError
	if errors.As(err, &ee) {
		return "version edit: " + ee.detail()
	}
	return err.Error()
}

// decoder reads the fields of an encoded edit. The first failure sticks.
type decoder struct {
	b   []byte
	pos int
	err *editError
}

func (d *decoder) fail(reason string) {
	if d.err == nil {
		d.err = &editError{pos: d.pos, reason: reason}
	}
}

func (d *decoder) uvarint(what string) uint64 {
	v, ok := d.rawUvarint()
	if !ok {
		d.varintFailed(what, "")
	}
	return v
}

// rawUvarint reads a uvarint; on failure it reports ok=false and leaves
// d.pos at the bad bytes, for the caller to describe.
func (d *decoder) rawUvarint() (uint64, bool) {
	if d.err != nil {
		return 0, true
	}
	v, n := binary.Uvarint(d.b[d.pos:])
	if n <= 0 {
		return 0, false
	}
	d.pos += n
	return v, true
}

// varintFailed records a bad varint at d.pos, named what+suffix (built only
// here, so that decoding allocates no strings while all is well).
func (d *decoder) varintFailed(what, suffix string) {
	_, n := binary.Uvarint(d.b[d.pos:])
	if n == 0 {
		d.fail("truncated " + what + suffix)
	} else {
		d.fail("overlong " + what + suffix)
	}
}

func (d *decoder) varint(what string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.pos:])
	if n <= 0 {
		if n == 0 {
			d.fail("truncated " + what)
		} else {
			d.fail("overlong " + what)
		}
		return 0
	}
	d.pos += n
	return v
}

// bytes returns a length-prefixed byte string, aliasing the input.
func (d *decoder) bytes(what string) []byte {
	n, ok := d.rawUvarint()
	if !ok {
		d.varintFailed(what, " length")
	}
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)-d.pos) {
		d.fail(fmt.Sprintf("%s length %d runs past the end", what, n))
		return nil
	}
	b := d.b[d.pos : d.pos+int(n)]
	d.pos += int(n)
	return b
}

func (d *decoder) level() int {
	start := d.pos
	l := d.uvarint("level")
	if d.err == nil && l >= NumLevels {
		d.pos = start
		d.fail(fmt.Sprintf("level %d out of range", l))
	}
	return int(l)
}

func (d *decoder) seq(what string) keys.SeqNum {
	start := d.pos
	s := d.uvarint(what)
	if d.err == nil && s > uint64(keys.MaxSeq) {
		d.pos = start
		d.fail(fmt.Sprintf("%s %d exceeds the largest sequence number", what, s))
	}
	return keys.SeqNum(s)
}

func (d *decoder) fileNum() uint64 {
	start := d.pos
	n := d.uvarint("file number")
	if d.err == nil && n == 0 {
		d.pos = start
		d.fail("file number 0")
	}
	return n
}

func (d *decoder) internalKey(what string) []byte {
	start := d.pos
	k := d.bytes(what)
	if d.err == nil && len(k) < keys.TrailerLen {
		d.pos = start
		d.fail(fmt.Sprintf("%s of %d bytes is shorter than an internal key trailer", what, len(k)))
	}
	return k
}

// Decode parses an encoded edit into e, replacing its contents. Damage
// returns an error wrapping keys.ErrCorruption that gives the reason and the
// byte within b; the caller adds the file and offset. Decode never panics and
// allocates no more than a small multiple of len(b); e keeps no reference to
// b.
func (e *VersionEdit) Decode(b []byte) error {
	*e = VersionEdit{}
	d := decoder{b: b}
	var seen [tagNewFile + 1]bool
	for d.pos < len(b) && d.err == nil {
		tagPos := d.pos
		tag := d.uvarint("tag")
		if d.err != nil {
			break
		}
		if tag <= tagLastSeq && tag >= tagLogNum {
			if seen[tag] {
				d.pos = tagPos
				d.fail(fmt.Sprintf("tag %d appears twice", tag))
				break
			}
			seen[tag] = true
		}
		switch tag {
		case tagLogNum:
			e.LogNum = d.uvarint("log number")
		case tagNextFileNum:
			e.NextFileNum = d.uvarint("next file number")
		case tagLastSeq:
			e.LastSeq = d.seq("last sequence number")
		case tagDeletedFile:
			lvl := d.level()
			num := d.fileNum()
			if d.err == nil {
				e.Deleted = append(e.Deleted, DeletedFile{Level: lvl, FileNum: num})
			}
		case tagNewFile:
			lvl := d.level()
			var m FileMeta
			m.FileNum = d.fileNum()
			m.Size = d.uvarint("size")
			smallest := d.internalKey("smallest key")
			largest := d.internalKey("largest key")
			m.SmallestSeq = d.seq("smallest sequence number")
			m.LargestSeq = d.seq("largest sequence number")
			m.EarliestExpiry = d.varint("earliest expiry")
			m.LatestExpiry = d.varint("latest expiry")
			m.NumEntries = d.uvarint("entry count")
			m.NumDeletions = d.uvarint("deletion count")
			if d.err != nil {
				break
			}
			// One allocation for both keys, sized by bytes that were present.
			buf := make([]byte, len(smallest)+len(largest))
			n := copy(buf, smallest)
			copy(buf[n:], largest)
			m.Smallest = buf[:n:n]
			m.Largest = buf[n:]
			mp := new(FileMeta)
			*mp = m
			e.Added = append(e.Added, NewFile{Level: lvl, Meta: mp})
		case tagRangeDels:
			payload := d.bytes("range deletions")
			if d.err != nil {
				break
			}
			pd := decoder{b: payload}
			num := pd.uvarint("file number")
			n := pd.uvarint("range tombstones")
			cov := pd.uvarint("covered bytes")
			if pd.err == nil && pd.pos != len(payload) {
				pd.fail("trailing bytes")
			}
			var m *FileMeta
			if k := len(e.Added); k > 0 && e.Added[k-1].Meta.FileNum == num {
				m = e.Added[k-1].Meta
			}
			if pd.err != nil || m == nil {
				d.pos = tagPos
				d.fail(fmt.Sprintf("range deletions of table %d not after its new-file record", num))
				break
			}
			m.NumRangeDels, m.RangeDelBytes = n, cov
		case tagWALRef:
			num := d.uvarint("file number")
			seg := d.fileNum()
			n := d.uvarint("referred bytes")
			if d.err != nil {
				break
			}
			var m *FileMeta
			if k := len(e.Added); k > 0 && e.Added[k-1].Meta.FileNum == num {
				m = e.Added[k-1].Meta
			}
			if m == nil || m.WALRef != 0 {
				d.pos = tagPos
				d.fail(fmt.Sprintf("WAL reference of table %d not right after its new-file record", num))
				break
			}
			m.WALRef, m.WALRefBytes = seg, n
		default:
			if tag < tagFirstSkippable {
				d.pos = tagPos
				d.fail(fmt.Sprintf("unknown tag %d", tag))
				break
			}
			d.bytes("skippable tag")
		}
	}
	if d.err != nil {
		*e = VersionEdit{}
		return d.err
	}
	return nil
}

// String renders the edit for humans, one field or file per line.
func (e *VersionEdit) String() string { return e.Render(nil) }

// Render renders the edit as String does, each added table rendered by
// file (nil: FileMeta.String). A tool that shows some table field its own
// way (kvctl dump prints expiry bounds as times) passes its own.
func (e *VersionEdit) Render(file func(*FileMeta) string) string {
	if file == nil {
		file = (*FileMeta).String
	}
	var b strings.Builder
	if e.LogNum != 0 {
		fmt.Fprintf(&b, "  log-num:       %d\n", e.LogNum)
	}
	if e.NextFileNum != 0 {
		fmt.Fprintf(&b, "  next-file-num: %d\n", e.NextFileNum)
	}
	if e.LastSeq != 0 {
		fmt.Fprintf(&b, "  last-seq:      %d\n", e.LastSeq)
	}
	for _, d := range e.Deleted {
		fmt.Fprintf(&b, "  deleted: L%d %06d\n", d.Level, d.FileNum)
	}
	for _, a := range e.Added {
		fmt.Fprintf(&b, "  added:   L%d %s\n", a.Level, file(a.Meta))
	}
	return b.String()
}

package manifest

import (
	"bytes"
	"encoding/binary"
	"runtime"
	"testing"

	"github.com/stratadb/strata/keys"
	"github.com/stretchr/testify/require"
)

func TestEditRoundTrip(t *testing.T) {
	big := bytes.Repeat([]byte{0xAB}, 100<<10)
	allLevels := &VersionEdit{}
	for l := range NumLevels {
		allLevels.Deleted = append(allLevels.Deleted, DeletedFile{Level: l, FileNum: uint64(100 + l)})
		allLevels.Added = append(allLevels.Added, NewFile{Level: l, Meta: meta(uint64(200+l), l, l+5, 3, 9)})
	}
	cases := []struct {
		name string
		e    *VersionEdit
	}{
		{"empty", &VersionEdit{}},
		{"counters", &VersionEdit{LogNum: 5, NextFileNum: 9, LastSeq: 1234}},
		{"max counters", &VersionEdit{LogNum: 1<<64 - 1, NextFileNum: 1<<64 - 1, LastSeq: keys.MaxSeq}},
		{"all levels", allLevels},
		{"big keys", &VersionEdit{Added: []NewFile{{Level: 6, Meta: &FileMeta{
			FileNum: 1 << 40, Size: 1 << 50,
			Smallest:    keys.MakeKey(nil, big[:len(big)-1], keys.MaxSeq, keys.KindSetExpiry),
			Largest:     keys.MakeKey(nil, big, 0, keys.KindDelete),
			SmallestSeq: 0, LargestSeq: keys.MaxSeq,
			EarliestExpiry: -1 << 63, LatestExpiry: 1<<63 - 1,
			NumEntries: 1<<64 - 1, NumDeletions: 3,
		}}}}},
		{"WAL references", &VersionEdit{Added: []NewFile{
			{Level: 0, Meta: func() *FileMeta { m := meta(7, 1, 5, 3, 9); m.WALRef, m.WALRefBytes = 6, 1<<30; return m }()},
			{Level: 0, Meta: meta(8, 6, 9, 10, 12)},
			{Level: 3, Meta: func() *FileMeta { m := meta(9, 10, 15, 13, 19); m.WALRef = 1<<64 - 1; return m }()},
		}}},
		{"empty user keys", &VersionEdit{Added: []NewFile{{Level: 0, Meta: &FileMeta{
			FileNum: 1, Smallest: keys.MakeKey(nil, nil, 2, keys.KindSet), Largest: keys.MakeKey(nil, nil, 1, keys.KindSet),
		}}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			enc := c.e.Encode(nil)
			var got VersionEdit
			require.NoError(t, got.Decode(enc))
			requireEditsEqual(t, c.e, &got)
			// Encoding is deterministic and appends.
			require.Equal(t, enc, got.Encode(nil))
			require.Equal(t, append([]byte("x"), enc...), c.e.Encode([]byte("x")))
			// The decoded edit does not alias the input.
			for i := range enc {
				enc[i] = 0xFF
			}
			requireEditsEqual(t, c.e, &got)
		})
	}
}

// requireEditsEqual compares edits field by field (nil and empty slices are
// the same, the runtime-only Compacting flag is ignored).
func requireEditsEqual(t testing.TB, want, got *VersionEdit) {
	t.Helper()
	require.Equal(t, want.LogNum, got.LogNum)
	require.Equal(t, want.NextFileNum, got.NextFileNum)
	require.Equal(t, want.LastSeq, got.LastSeq)
	require.Equal(t, len(want.Deleted), len(got.Deleted))
	for i := range want.Deleted {
		require.Equal(t, want.Deleted[i], got.Deleted[i])
	}
	require.Equal(t, len(want.Added), len(got.Added))
	for i := range want.Added {
		w, g := want.Added[i], got.Added[i]
		require.Equal(t, w.Level, g.Level)
		wm, gm := *w.Meta, *g.Meta
		wm.Compacting, gm.Compacting = false, false
		require.Equal(t, wm, gm)
	}
}

func TestEditDecodeDamage(t *testing.T) {
	uv := func(vs ...uint64) []byte {
		var b []byte
		for _, v := range vs {
			b = binary.AppendUvarint(b, v)
		}
		return b
	}
	key := keys.MakeKey(nil, []byte("a"), 1, keys.KindSet)
	newFile := func(level uint64, smallestLen uint64, smallest []byte) []byte {
		b := uv(tagNewFile, level, 9, 100, smallestLen)
		b = append(b, smallest...)
		b = append(b, uv(uint64(len(key)))...)
		b = append(b, key...)
		return append(b, uv(1, 1)...)
	}
	cases := []struct {
		name, reason string
		b            []byte
	}{
		{"truncated tag", "truncated tag", []byte{0x80}},
		{"overlong varint", "overlong tag", bytes.Repeat([]byte{0xFF}, 11)},
		{"unknown tag", "unknown tag 9", uv(9, 1)},
		{"unknown tag 63", "unknown tag 63", uv(63, 0)},
		{"truncated log number", "truncated log number", uv(tagLogNum)},
		{"duplicate log number", "tag 1 appears twice", uv(tagLogNum, 3, tagLogNum, 4)},
		{"duplicate last seq", "tag 3 appears twice", uv(tagLastSeq, 3, tagLastSeq, 4)},
		{"seq too big", "exceeds the largest sequence number", uv(tagLastSeq, uint64(keys.MaxSeq)+1)},
		{"delete level 7", "level 7 out of range", uv(tagDeletedFile, 7, 1)},
		{"delete huge level", "out of range", uv(tagDeletedFile, 1<<63, 1)},
		{"delete file 0", "file number 0", uv(tagDeletedFile, 1, 0)},
		{"new file level", "level 9 out of range", newFile(9, uint64(len(key)), key)},
		{"key past end", "runs past the end", newFile(1, 1<<40, key)},
		{"key length past end by one", "runs past the end", uv(tagNewFile, 1, 9, 100, 9, 1, 2, 3, 4, 5, 6, 7, 8)},
		{"short key", "shorter than an internal key", newFile(1, 3, []byte("abc"))},
		{"missing fields", "truncated earliest expiry", newFile(1, uint64(len(key)), key)},
		{"skippable tag past end", "runs past the end", uv(70, 5, 1)},
		{"WAL reference first", "WAL reference of table 9 not right after", uv(tagWALRef, 9, 4, 100)},
		{"WAL reference of another table", "WAL reference of table 8 not right after",
			append(append(newFile(1, uint64(len(key)), key), uv(0, 0, 1, 0)...), uv(tagWALRef, 8, 4, 100)...)},
		{"WAL reference twice", "WAL reference of table 9 not right after",
			append(append(newFile(1, uint64(len(key)), key), uv(0, 0, 1, 0)...), uv(tagWALRef, 9, 4, 100, tagWALRef, 9, 5, 1)...)},
		{"WAL segment 0", "file number 0",
			append(append(newFile(1, uint64(len(key)), key), uv(0, 0, 1, 0)...), uv(tagWALRef, 9, 0, 100)...)},
		{"WAL reference truncated", "truncated referred bytes",
			append(append(newFile(1, uint64(len(key)), key), uv(0, 0, 1, 0)...), uv(tagWALRef, 9, 4)...)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := VersionEdit{LogNum: 77}
			err := e.Decode(c.b)
			require.ErrorIs(t, err, keys.ErrCorruption)
			require.Contains(t, err.Error(), c.reason)
			require.Equal(t, VersionEdit{}, e, "a failed decode leaves the edit empty")
		})
	}
}

func TestEditDecodeSkipsSkippableTags(t *testing.T) {
	e := &VersionEdit{LogNum: 4, Deleted: []DeletedFile{{Level: 2, FileNum: 8}}}
	enc := e.Encode(nil)
	enc = binary.AppendUvarint(enc, tagFirstSkippable)
	enc = binary.AppendUvarint(enc, 3)
	enc = append(enc, "abc"...)
	enc = binary.AppendUvarint(enc, 1<<20) // a far future tag, empty payload
	enc = binary.AppendUvarint(enc, 0)
	var got VersionEdit
	require.NoError(t, got.Decode(enc))
	requireEditsEqual(t, e, &got)
}

// Every prefix of a valid encoding either decodes or fails cleanly.
func TestEditDecodeEveryTruncation(t *testing.T) {
	e := &VersionEdit{LogNum: 300, NextFileNum: 301, LastSeq: 99999,
		Deleted: []DeletedFile{{Level: 3, FileNum: 12}},
		Added:   []NewFile{{Level: 1, Meta: meta(20, 1, 9, 5, 7)}, {Level: 0, Meta: meta(21, 3, 4, 8, 8)}}}
	enc := e.Encode(nil)
	ok := 0
	for n := range len(enc) {
		var got VersionEdit
		err := got.Decode(enc[:n])
		if err == nil {
			ok++
			require.LessOrEqual(t, len(got.Added), len(e.Added))
			continue
		}
		require.ErrorIs(t, err, keys.ErrCorruption)
	}
	// Only the prefixes that end on a field boundary decode: before each of
	// the 6 fields (the empty prefix included).
	require.Equal(t, 6, ok)
}

// Hostile lengths must not cause allocations sized by the claim.
func TestEditDecodeAllocationIsBounded(t *testing.T) {
	inputs := [][]byte{
		append(binary.AppendUvarint([]byte{tagNewFile, 1, 9, 100}, 1<<62), 1, 2, 3),
		append(binary.AppendUvarint([]byte{tagNewFile, 1, 9, 100}, 1<<24), 1, 2, 3),
		binary.AppendUvarint([]byte{70}, 1<<62),
		binary.AppendUvarint([]byte{70}, 1<<24),
	}
	// Many tiny valid deletions: allocation grows with the input, by at most
	// a small constant factor (a 3-byte deletion decodes to 16 bytes, and
	// append grows the slice geometrically).
	many := (&VersionEdit{}).Encode(nil)
	for i := range 10000 {
		many = binary.AppendUvarint(many, tagDeletedFile)
		many = binary.AppendUvarint(many, uint64(i%NumLevels))
		many = binary.AppendUvarint(many, 1)
	}
	inputs = append(inputs, many)
	for _, in := range inputs {
		var ms0, ms1 runtime.MemStats
		var e VersionEdit
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		_ = e.Decode(in)
		runtime.ReadMemStats(&ms1)
		require.LessOrEqual(t, ms1.TotalAlloc-ms0.TotalAlloc, uint64(32*len(in)+64<<10), "input of %d bytes", len(in))
	}
}

func BenchmarkEditEncode(b *testing.B) {
	e := benchEdit()
	buf := e.Encode(nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		buf = e.Encode(buf[:0])
	}
}

func BenchmarkEditDecode(b *testing.B) {
	enc := benchEdit().Encode(nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(enc)))
	var e VersionEdit
	for b.Loop() {
		if err := e.Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// benchEdit is a typical compaction edit: 4 inputs out, 4 outputs in.
func benchEdit() *VersionEdit {
	e := &VersionEdit{LogNum: 1000, NextFileNum: 2000, LastSeq: 1 << 30}
	for i := range 4 {
		e.Deleted = append(e.Deleted, DeletedFile{Level: 1 + i%2, FileNum: uint64(100 + i)})
		e.Added = append(e.Added, NewFile{Level: 2, Meta: meta(uint64(1500+i), i*100, i*100+99, 1<<20, 1<<29)})
	}
	return e
}

func TestStrings(t *testing.T) {
	e := &VersionEdit{LogNum: 9, NextFileNum: 12, LastSeq: 20,
		Deleted: []DeletedFile{{0, 5}}, Added: []NewFile{{1, meta(7, 1, 2, 3, 4)}}}
	e.Added[0].Meta.EarliestExpiry, e.Added[0].Meta.LatestExpiry = 10, 20
	require.Equal(t, "  log-num:       9\n  next-file-num: 12\n  last-seq:      20\n"+
		"  deleted: L0 000005\n"+
		"  added:   L1 000007:[k0001 #4 SET..k0002 #3 DEL] size=107 seqs=[3,4] entries=2 dels=0 expiry=[10,20]\n",
		e.String())
	require.Equal(t, "table", FileTypeTable.String())
	require.Equal(t, "FileType(42)", FileType(42).String())
	require.Equal(t, "/d/unknown-42-000001", MakeFilename("/d", FileType(42), 1))
	require.Equal(t, "(no tables)\n", (&Version{}).String())
}

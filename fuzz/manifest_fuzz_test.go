package fuzz

import (
	"encoding/binary"
	"runtime"
	"runtime/metrics"
	"testing"

	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/manifest"
	"github.com/stretchr/testify/require"
)

// manifestSeedEdits are real edits of the kinds the engine logs: a fresh
// DB's snapshot, a flush, a compaction, a trivial move, a counter update,
// and a large snapshot.
func manifestSeedEdits() []*manifest.VersionEdit {
	m := func(num uint64, lo, hi string, sseq, lseq keys.SeqNum) *manifest.FileMeta {
		return &manifest.FileMeta{
			FileNum: num, Size: 4096 + num,
			Smallest:    keys.MakeKey(nil, []byte(lo), lseq, keys.KindSet),
			Largest:     keys.MakeKey(nil, []byte(hi), sseq, keys.KindDelete),
			SmallestSeq: sseq, LargestSeq: lseq,
			EarliestExpiry: 1_700_000_000_000_000_000, LatestExpiry: 1_800_000_000_000_000_000,
			NumEntries: 1000, NumDeletions: 12,
		}
	}
	snap := &manifest.VersionEdit{LogNum: 40, NextFileNum: 90, LastSeq: 1 << 33}
	for i := range 20 {
		snap.Added = append(snap.Added, manifest.NewFile{Level: i % manifest.NumLevels,
			Meta: m(uint64(i+1), string(rune('a'+i)), string(rune('a'+i))+"zz", 1, keys.SeqNum(100+i))})
	}
	f7 := m(7, "apple", "apricot", 10, 20)
	return []*manifest.VersionEdit{
		{NextFileNum: 2},
		{LogNum: 9, LastSeq: 20, Added: []manifest.NewFile{{Level: 0, Meta: f7}}},
		{NextFileNum: 12, LastSeq: 20,
			Deleted: []manifest.DeletedFile{{Level: 0, FileNum: 7}, {Level: 1, FileNum: 3}},
			Added:   []manifest.NewFile{{Level: 1, Meta: m(10, "a", "m", 1, 20)}, {Level: 1, Meta: m(11, "n", "z", 2, 19)}}},
		{Deleted: []manifest.DeletedFile{{Level: 1, FileNum: 7}}, Added: []manifest.NewFile{{Level: 2, Meta: f7}}},
		{LastSeq: keys.MaxSeq},
		snap,
	}
}

// manifestEditFrom builds a valid edit from arbitrary bytes: every field is
// drawn from the input, so the fuzzer explores the encoder too.
func manifestEditFrom(data []byte) *manifest.VersionEdit {
	r := manifestByteSource{b: data}
	e := &manifest.VersionEdit{}
	flags := r.byte()
	if flags&1 != 0 {
		e.LogNum = r.u64()
	}
	if flags&2 != 0 {
		e.NextFileNum = r.u64()
	}
	if flags&4 != 0 {
		e.LastSeq = keys.SeqNum(r.u64()) & keys.MaxSeq
	}
	for range r.byte() % 4 {
		e.Deleted = append(e.Deleted, manifest.DeletedFile{Level: int(r.byte() % manifest.NumLevels), FileNum: max(1, r.u64())})
	}
	for range r.byte() % 4 {
		f := &manifest.FileMeta{
			FileNum:        max(1, r.u64()),
			Size:           r.u64(),
			SmallestSeq:    keys.SeqNum(r.u64()) & keys.MaxSeq,
			LargestSeq:     keys.SeqNum(r.u64()) & keys.MaxSeq,
			EarliestExpiry: int64(r.u64()),
			LatestExpiry:   int64(r.u64()),
			NumEntries:     r.u64(),
			NumDeletions:   r.u64(),
		}
		f.Smallest = keys.MakeKey(nil, r.bytes(int(r.byte()%24)), f.LargestSeq, keys.Kind(r.byte()%3))
		f.Largest = keys.MakeKey(nil, r.bytes(int(r.byte()%24)), f.SmallestSeq, keys.Kind(r.byte()%3))
		e.Added = append(e.Added, manifest.NewFile{Level: int(r.byte() % manifest.NumLevels), Meta: f})
	}
	return e
}

// manifestByteSource hands out the bytes of a fuzz input, then zeros.
type manifestByteSource struct{ b []byte }

func (r *manifestByteSource) byte() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *manifestByteSource) u64() uint64 {
	var buf [8]byte
	n := copy(buf[:r.byte()%9], r.b)
	r.b = r.b[n:]
	return binary.LittleEndian.Uint64(buf[:])
}

func (r *manifestByteSource) bytes(n int) []byte {
	n = min(n, len(r.b))
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

// manifestRequireEqual compares two edits field by field.
func manifestRequireEqual(t *testing.T, want, got *manifest.VersionEdit) {
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
		require.Equal(t, want.Added[i].Level, got.Added[i].Level)
		require.Equal(t, *want.Added[i].Meta, *got.Added[i].Meta)
	}
}

var manifestAllocSample = []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}

// manifestDecodeMeasured decodes data and returns the bytes allocated
// meanwhile (an overcount if other goroutines allocate, never an
// undercount). With exact false it reads the runtime/metrics counter,
// which is cheap but counts small allocations a span at a time; with exact
// true ReadMemStats, which flushes every per-P cache. Both also count what
// other goroutines of the process allocate meanwhile (the fuzzing engine's
// own), so a measure over the limit is taken again.
func manifestDecodeMeasured(data []byte, exact bool) (*manifest.VersionEdit, error, uint64) {
	read := func() uint64 {
		if exact {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			return m.TotalAlloc
		}
		metrics.Read(manifestAllocSample)
		return manifestAllocSample[0].Value.Uint64()
	}
	e := &manifest.VersionEdit{}
	before := read()
	err := e.Decode(data)
	return e, err, read() - before
}

// FuzzVersionEditDecode feeds arbitrary bytes to VersionEdit.Decode: it must
// never panic, fail only with corruption, allocate no more than a small
// multiple of the input, and whatever it accepts must survive
// encode/decode unchanged. The input is also turned into a valid edit whose
// encoding must decode to the same edit.
func FuzzVersionEditDecode(f *testing.F) {
	for _, e := range manifestSeedEdits() {
		enc := e.Encode(nil)
		f.Add(enc)
		f.Add(enc[:len(enc)/2])
	}
	f.Add([]byte{})
	f.Add([]byte{0x05, 0x01, 0x09, 0x64, 0xff, 0xff, 0xff, 0xff, 0x0f}) // a key length far past the end
	f.Add([]byte{0x40, 0x03, 'a', 'b', 'c', 0x01, 0x05})                // a skippable tag, then LogNum
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err, allocated := manifestDecodeMeasured(data, false)
		// Generous: the runtime counter also sees other goroutines. Over
		// the limit, the least of three exact measures decides: another
		// goroutine's allocation only adds, so the least is the closest.
		if limit := uint64(64*len(data) + 256<<10); allocated > limit {
			for i := 0; i < 3 && allocated > limit; i++ {
				_, _, again := manifestDecodeMeasured(data, true)
				allocated = min(allocated, again)
			}
			require.LessOrEqual(t, allocated, limit, "allocation for %d input bytes", len(data))
		}
		if err != nil {
			require.ErrorIs(t, err, keys.ErrCorruption)
		} else {
			// Every decoded entry consumed at least 3 input bytes, and every
			// key byte came from the input.
			require.LessOrEqual(t, 3*(len(e.Added)+len(e.Deleted)), len(data))
			keyBytes := 0
			for _, a := range e.Added {
				require.Less(t, a.Level, manifest.NumLevels)
				require.GreaterOrEqual(t, len(a.Meta.Smallest), keys.TrailerLen)
				require.GreaterOrEqual(t, len(a.Meta.Largest), keys.TrailerLen)
				keyBytes += len(a.Meta.Smallest) + len(a.Meta.Largest)
			}
			require.LessOrEqual(t, keyBytes, len(data))
			var again manifest.VersionEdit
			require.NoError(t, again.Decode(e.Encode(nil)))
			manifestRequireEqual(t, e, &again)
		}

		built := manifestEditFrom(data)
		enc := built.Encode(nil)
		var got manifest.VersionEdit
		require.NoError(t, got.Decode(enc))
		manifestRequireEqual(t, built, &got)
		require.Equal(t, enc, got.Encode(nil), "the encoding is canonical")
	})
}

package sstable

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/keys"
)

const corruptName = "000042.sst"

// requireCorruption checks err is a corruption error naming the file and an
// offset.
func requireCorruption(t *testing.T, err error, context string) {
	if err == nil || !errors.Is(err, keys.ErrCorruption) ||
		!strings.Contains(err.Error(), corruptName) || !strings.Contains(err.Error(), "offset") {
		t.Fatalf("%s: want a corruption error naming %s and an offset, got %v", context, corruptName, err)
	}
}

// smallTable returns a table of a few KB: several data blocks, a filter, and
// every kind of entry.
func smallTable(t *testing.T, c Compression) ([]kv, []byte) {
	r := rand.New(rand.NewPCG(21, uint64(c)))
	entries := smallEntries(r, 60)
	data, props := writeTable(t, entries, WriterOptions{BlockSize: 512, RestartInterval: 4, Compression: c})
	require.GreaterOrEqual(t, props.NumDataBlocks, uint64(3))
	return entries, data
}

// readAll opens data, reads every entry forward and by Get, and checks that
// whatever comes back agrees with the model: an entry is either returned
// correctly or an error is reported. It returns the NewReader error, or
// else the Verify error.
func readAll(t *testing.T, data []byte, entries []kv, context string) (openErr, verifyErr error) {
	rd, err := NewReader(bytes.NewReader(data), int64(len(data)), 42, corruptName, ReaderOptions{Cache: NewCache(1 << 20)})
	if err != nil {
		return err, nil
	}
	it := rd.NewIter()
	i := 0
	for ok := it.First(); ok; ok = it.Next() {
		if i >= len(entries) || !bytes.Equal(entries[i].key, it.Key()) || !bytes.Equal(entries[i].value, it.Value()) {
			t.Fatalf("%s: iteration returned a wrong entry %d: %s", context, i, fmtKey(it.Key()))
		}
		i++
	}
	var readErr error
	if err := it.Close(); err != nil {
		requireCorruption(t, err, context)
		readErr = err
	} else if i != len(entries) {
		t.Fatalf("%s: iteration lost entries silently (%d of %d)", context, i, len(entries))
	}
	for _, e := range entries {
		uk := keys.UserKey(e.key)
		ik, v, found, err := rd.Get(uk, keys.SearchKey(nil, uk, keys.SeqNum(keys.TrailerOf(e.key)>>8)))
		if err != nil {
			requireCorruption(t, err, context)
			readErr = err
			continue
		}
		if !found || !bytes.Equal(e.key, ik) || !bytes.Equal(e.value, v) {
			t.Fatalf("%s: Get(%s) = %s, %v: wrong or lost silently", context, fmtKey(e.key), fmtKey(ik), found)
		}
	}
	verifyErr = rd.Verify()
	if readErr != nil {
		requireCorruption(t, verifyErr, context+" (Verify after a read error)")
	}
	return nil, verifyErr
}

// TestEveryBitFlipIsDetected flips every bit of a small table (a dense
// sample for the compressed ones and in short mode, always over 2000
// positions): NewReader or Verify must
// report corruption naming the file and offset, nothing panics, and no read
// ever returns a wrong entry or silently misses one.
func TestEveryBitFlipIsDetected(t *testing.T) {
	for _, c := range []Compression{CompressionNone, CompressionSnappy, CompressionZstd} {
		t.Run(c.String(), func(t *testing.T) {
			entries, data := smallTable(t, c)
			_, err := readAll(t, data, entries, "undamaged")
			require.NoError(t, err)
			// Every bit of the uncompressed table; every other bit of the
			// compressed ones (every fifth in short mode).
			step := 1
			if c != CompressionNone {
				step = 2
			}
			if testing.Short() || raceEnabled {
				step = 5
			}
			flips, atOpen := 0, 0
			damaged := make([]byte, len(data))
			for bit := 0; bit < 8*len(data); bit += step {
				copy(damaged, data)
				damaged[bit/8] ^= 1 << (bit % 8)
				context := "flip of bit " + strconv.Itoa(bit)
				openErr, verifyErr := readAll(t, damaged, entries, context) // a panic fails the test
				if openErr != nil {
					requireCorruption(t, openErr, context)
					atOpen++
				} else {
					requireCorruption(t, verifyErr, context+" (Verify)")
				}
				flips++
			}
			require.GreaterOrEqual(t, flips, 2000)
			t.Logf("%d bytes, %d flips: %d found by NewReader, %d by Verify, 0 missed", len(data), flips, atOpen, flips-atOpen)
		})
	}
}

// TestTruncationIsDetected: a table cut at any length, or with bytes
// appended, fails to open with a corruption error.
func TestTruncationIsDetected(t *testing.T) {
	entries, data := smallTable(t, CompressionSnappy)
	for n := 0; n < len(data); n++ {
		openErr, _ := readAll(t, data[:n], entries, "truncated to "+strconv.Itoa(n))
		requireCorruption(t, openErr, "truncated to "+strconv.Itoa(n))
	}
	for _, tail := range [][]byte{{0}, make([]byte, 4096), []byte("garbage")} {
		openErr, _ := readAll(t, append(append([]byte(nil), data...), tail...), entries, "extended")
		requireCorruption(t, openErr, "extended")
	}
	// A size larger than the file is a short read, hence corruption too.
	_, err := NewReader(bytes.NewReader(data), int64(len(data))+100, 42, corruptName, ReaderOptions{})
	requireCorruption(t, err, "size past the end")
}

// rechecksum recomputes every block trailer and the footer checksum of a
// damaged table, using the block layout of the original.
func rechecksum(data []byte, layout []BlockInfo) {
	for _, b := range layout {
		if b.Kind == BlockFooter {
			if int(b.Offset)+footerLen <= len(data) {
				f := data[b.Offset : b.Offset+footerLen]
				binary.LittleEndian.PutUint32(f[60:], crc32.Checksum(f[:60], crcTable))
			}
			continue
		}
		end := b.Offset + b.Length
		if int(end)+blockTrailerLen > len(data) {
			continue
		}
		binary.LittleEndian.PutUint32(data[end+1:], blockChecksum(data[b.Offset:end], data[end]))
	}
}

// TestDamageBehindValidChecksums damages the contents of blocks and then
// fixes their checksums, so that the decoders behind the checksums see the
// damage: nothing may panic, and every error must be a corruption error.
// (Answers may be wrong here: the checksums were forged.)
func TestDamageBehindValidChecksums(t *testing.T) {
	for _, c := range []Compression{CompressionNone, CompressionSnappy, CompressionZstd} {
		entries, data := smallTable(t, c)
		rd := openTable(t, data, ReaderOptions{})
		layout := rd.Layout()
		r := rand.New(rand.NewPCG(33, uint64(c)))
		rounds := 3000
		if testing.Short() || raceEnabled {
			rounds = 800
		}
		damaged := make([]byte, len(data))
		for round := 0; round < rounds; round++ {
			copy(damaged, data)
			b := layout[r.IntN(len(layout))]
			span := b.Length
			if span == 0 {
				continue
			}
			for n := 1 + r.IntN(4); n > 0; n-- {
				pos := b.Offset + uint64(r.IntN(int(span)))
				switch r.IntN(3) {
				case 0:
					damaged[pos] ^= byte(1 << r.IntN(8))
				case 1:
					damaged[pos] = byte(r.IntN(256))
				default:
					damaged[pos] = []byte{0, 0x7f, 0x80, 0xff}[r.IntN(4)]
				}
			}
			rechecksum(damaged, layout)
			require.NotPanics(t, func() { damageRead(t, damaged, entries) }, "round %d", round)
		}
	}
}

// damageRead exercises every read path on a damaged table, checking only
// that errors are corruption errors.
func damageRead(t *testing.T, data []byte, entries []kv) {
	check := func(err error) {
		if err != nil {
			require.True(t, errors.Is(err, keys.ErrCorruption), "%v", err)
		}
	}
	rd, err := NewReader(bytes.NewReader(data), int64(len(data)), 42, corruptName, ReaderOptions{Cache: NewCache(1 << 20)})
	if err != nil {
		check(err)
		return
	}
	check(rd.Verify())
	it := rd.NewIter()
	n := 0
	for ok := it.First(); ok && n < 10*len(entries); ok = it.Next() {
		n++
	}
	check(it.Error())
	it = rd.NewIter()
	n = 0
	for ok := it.Last(); ok && n < 10*len(entries); ok = it.Prev() {
		n++
	}
	check(it.Error())
	for _, e := range entries[:min(len(entries), 20)] {
		it = rd.NewIter()
		it.SeekGE(e.key)
		it.Next()
		it.SeekLT(e.key)
		it.Prev()
		check(it.Error())
		_, _, _, err := rd.Get(keys.UserKey(e.key), e.key)
		check(err)
	}
	rd.MayContain([]byte("x"))
	_ = rd.Layout()
}

// TestEntryThatCannotBeJudgedIsCorruption forges, behind a valid checksum,
// an entry whose kind no point entry has, and one whose kind says it
// expires though its value is too short for an expiry: every read path
// reports corruption naming the table and the data block's offset, instead
// of handing the entry on (where it would read as a deletion).
func TestEntryThatCannotBeJudgedIsCorruption(t *testing.T) {
	var entries []kv
	for i := range 40 {
		ukey := []byte(fmt.Sprintf("key-%03d", i))
		entries = append(entries, kv{key: keys.MakeKey(nil, ukey, keys.SeqNum(100+i), keys.KindSet), value: []byte("v")})
	}
	for _, c := range []struct {
		name string
		kind keys.Kind
		says string
	}{
		{"an unknown kind", 7, "has kind KIND(7)"},
		{"a range tombstone's kind", keys.KindRangeDelete, "has kind RANGEDEL"},
		{"an expiry without room for it", keys.KindSetExpiry, "expiring value of 1 bytes"},
	} {
		data, _ := writeTable(t, entries, WriterOptions{BlockSize: 256, RestartInterval: 1, Compression: CompressionNone})
		layout := openTable(t, data, ReaderOptions{}).Layout()
		bad := entries[25]
		pos := bytes.Index(data, bad.key)
		require.Positive(t, pos, "the key is stored whole (restart interval 1)")
		data[pos+len(bad.key)-keys.TrailerLen] = byte(c.kind)
		rechecksum(data, layout)
		var block BlockInfo
		for _, b := range layout {
			if b.Kind == BlockData && uint64(pos) >= b.Offset && uint64(pos) < b.Offset+b.Length {
				block = b
			}
		}
		where := fmt.Sprintf("%s at offset %d", corruptName, block.Offset)

		rd, err := NewReader(bytes.NewReader(data), int64(len(data)), 42, corruptName, ReaderOptions{})
		require.NoError(t, err, c.name)
		check := func(err error, path string) {
			require.ErrorIs(t, err, keys.ErrCorruption, "%s: %s", c.name, path)
			require.Contains(t, err.Error(), where, "%s: %s", c.name, path)
			require.Contains(t, err.Error(), c.says, "%s: %s", c.name, path)
		}
		it := rd.NewIter()
		n := 0
		for ok := it.First(); ok; ok = it.Next() {
			n++
		}
		require.Equal(t, 25, n, "%s: the entries before the damage are read", c.name)
		check(it.Close(), "forward")
		it = rd.NewIter()
		for ok := it.Last(); ok; ok = it.Prev() {
		}
		check(it.Close(), "backward")
		it = rd.NewIter()
		require.False(t, it.SeekGE(keys.SearchKey(nil, keys.UserKey(bad.key), keys.MaxSeq)))
		check(it.Close(), "SeekGE")
		_, _, _, err = rd.Lookup(keys.UserKey(bad.key), keys.SearchKey(nil, keys.UserKey(bad.key), keys.MaxSeq))
		check(err, "Lookup")
		_, _, _, err = rd.LookupAppend(nil, keys.UserKey(bad.key), keys.SearchKey(nil, keys.UserKey(bad.key), keys.MaxSeq), false)
		check(err, "LookupAppend")
		_, _, _, err = rd.Get(keys.UserKey(bad.key), keys.SearchKey(nil, keys.UserKey(bad.key), keys.MaxSeq))
		check(err, "Get")
		check(rd.Verify(), "Verify")
		require.NoError(t, rd.Close())
	}
}

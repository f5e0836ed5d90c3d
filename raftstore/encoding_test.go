package raftstore

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/stratadb/strata/lsm"
)

// TestEncodingDocExamples pins the byte examples drawn in doc.go.
func TestEncodingDocExamples(t *testing.T) {
	for _, tc := range []struct {
		log  raft.Log
		want string
	}{
		{raft.Log{Term: 3, Data: []byte("hello")}, "0100000305 68656c6c6f"},
		{raft.Log{Term: 3, Data: []byte("hello"), AppendedAt: time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)},
			"0100020305 68656c6c6f caf49bd90c06"},
	} {
		got := hex.EncodeToString(appendLog(nil, &tc.log))
		if want := strings.ReplaceAll(tc.want, " ", ""); got != want {
			t.Errorf("encoding of %+v = %s, want %s", tc.log, got, want)
		}
	}
	var key [logKeyLen]byte
	putLogKey(key[:], 258)
	if got := hex.EncodeToString(key[:]); got != "4c0000000000000102" {
		t.Errorf("key of 258 = %s", got)
	}
}

func TestEncodingRoundTrip(t *testing.T) {
	for _, l := range []raft.Log{
		{},
		{Term: 1, Type: raft.LogNoop},
		{Term: math.MaxUint64, Type: raft.LogConfiguration, Data: bytes.Repeat([]byte{0xFF}, 300)},
		{Term: 7, Type: raft.LogCommand, Data: []byte{0}, Extensions: []byte("ext")},
		{Term: 7, Type: raft.LogType(255), Extensions: []byte{1}},
		{Term: 2, Data: []byte("x"), AppendedAt: time.Unix(0, 1)},
		{Term: 2, AppendedAt: time.Unix(-5, 999999999)},
		{Term: 2, AppendedAt: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)},
		{Term: 2, AppendedAt: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
	} {
		enc := appendLog(nil, &l)
		if len(enc) > encodedLen(&l) {
			t.Errorf("%+v: encoding is %d bytes, over the bound %d", l, len(enc), encodedLen(&l))
		}
		var got raft.Log
		if err := decodeLog(42, enc, &got); err != nil {
			t.Fatalf("%+v: %v", l, err)
		}
		l.Index = 42
		if !logsEqual(&got, &l) {
			t.Errorf("round trip of %+v gave %+v", l, got)
		}
	}
}

// logsEqual compares two entries field by field, times by instant.
func logsEqual(a, b *raft.Log) bool {
	return a.Index == b.Index && a.Term == b.Term && a.Type == b.Type &&
		bytes.Equal(a.Data, b.Data) && bytes.Equal(a.Extensions, b.Extensions) &&
		a.AppendedAt.Equal(b.AppendedAt)
}

func TestDecodeRejects(t *testing.T) {
	for _, tc := range []struct {
		name, hex, msg string
	}{
		{"empty", "", "shorter than the 3-byte header"},
		{"header only 2", "0100", "shorter than the 3-byte header"},
		{"version 0", "000000 00 00", "entry version 0"},
		{"version 2", "020000 00 00", "entry version 2"},
		{"unknown flag", "010004 00 00", "unknown flags"},
		{"no term", "010000", "bad term varint"},
		{"term varint unterminated", "010000 80", "bad term varint"},
		{"term varint overflow", "010000 ffffffffffffffffffff01 00", "bad term varint"},
		{"no data length", "010000 01", "bad data length"},
		{"data past the end", "010000 01 05 6869", "bad data length"},
		{"trailing byte", "010000 01 00 00", "1 trailing bytes"},
		{"extensions flag, none", "010001 01 00", "bad extensions length"},
		{"extensions flag, empty", "010001 01 00 00", "bad extensions length"},
		{"extensions past the end", "010001 01 00 03 61", "bad extensions length"},
		{"AppendedAt flag, none", "010002 01 00", "bad AppendedAt seconds"},
		{"AppendedAt no nanos", "010002 01 00 02", "bad AppendedAt nanoseconds"},
		{"AppendedAt nanos 1e9", "010002 01 00 02 8094ebdc03", "bad AppendedAt nanoseconds"},
		{"AppendedAt zero time", "010002 01 00 ffdb8ff9ce03 00", "zero time"},
	} {
		b, err := hex.DecodeString(strings.ReplaceAll(tc.hex, " ", ""))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var l raft.Log
		err = decodeLog(9, b, &l)
		if !errors.Is(err, lsm.ErrCorruption) || !strings.Contains(err.Error(), tc.msg) || !strings.Contains(err.Error(), "log entry 9") {
			t.Errorf("%s: err = %v, want ErrCorruption with %q and the index", tc.name, err, tc.msg)
		}
	}
}

// FuzzDecodeLog: no input makes the decoder panic; what it accepts encodes
// back to an entry that decodes to the same fields.
func FuzzDecodeLog(f *testing.F) {
	for _, l := range []raft.Log{
		{Term: 3, Data: []byte("hello")},
		{Term: 1 << 40, Type: raft.LogConfiguration, Data: []byte{1, 2, 3}, Extensions: []byte("e"), AppendedAt: time.Unix(1700000000, 5)},
		{Type: raft.LogBarrier, AppendedAt: time.Unix(-1, 0)},
	} {
		f.Add(appendLog(nil, &l))
	}
	f.Add([]byte{})
	f.Add([]byte{1, 0, 3, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		var l raft.Log
		if err := decodeLog(1, b, &l); err != nil {
			if !errors.Is(err, lsm.ErrCorruption) {
				t.Fatalf("error does not wrap ErrCorruption: %v", err)
			}
			return
		}
		enc := appendLog(nil, &l)
		if len(enc) > len(b) {
			t.Fatalf("re-encoding grew from %d to %d bytes", len(b), len(enc))
		}
		var again raft.Log
		if err := decodeLog(1, enc, &again); err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		if !logsEqual(&l, &again) {
			t.Fatalf("re-encoding changed %+v into %+v", l, again)
		}
	})
}

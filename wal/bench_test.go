package wal

import (
	"bytes"
	"io"
	"path/filepath"
	"testing"

	"github.com/stratadb/strata/vfs"
)

// discardFile is a vfs.File whose writes go nowhere.
type discardFile struct{ memFile }

func (*discardFile) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkAddRecord frames 100-byte records into the buffer, flushing to a
// discarding file every 64 KiB. It must report 0 allocs/op.
func BenchmarkAddRecord(b *testing.B) {
	w := NewWriter(&discardFile{})
	rec := bytes.Repeat([]byte("x"), 100)
	b.ReportAllocs()
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		if err := w.AddRecord(rec); err != nil {
			b.Fatal(err)
		}
		if len(w.buf) >= 64<<10 {
			if err := w.Flush(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkAddRecordFlush appends one 100-byte record and flushes it (one
// write(2)) per operation, to a real file in b.TempDir().
func BenchmarkAddRecordFlush(b *testing.B) {
	f, err := vfs.Default.Create(filepath.Join(b.TempDir(), "000001.log"))
	if err != nil {
		b.Fatal(err)
	}
	w := NewWriter(f)
	rec := bytes.Repeat([]byte("x"), 100)
	b.ReportAllocs()
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		if err := w.AddRecord(rec); err != nil {
			b.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkReaderNext reads back 100-byte records.
func BenchmarkReaderNext(b *testing.B) {
	rec := bytes.Repeat([]byte("x"), 100)
	recs := make([][]byte, 100000)
	for i := range recs {
		recs[i] = rec
	}
	data := writeLogBytes(recs)
	br := bytes.NewReader(data)
	r := NewReader(br, "bench.log")
	b.ReportAllocs()
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		_, err := r.Next()
		if err == io.EOF {
			br.Reset(data)
			r = NewReader(br, "bench.log")
			continue
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

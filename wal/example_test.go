package wal_test

import (
	"bytes"
	"fmt"
	"io"

	"github.com/stratadb/strata/vfs"
	"github.com/stratadb/strata/wal"
)

// bufFile is the smallest vfs.File an example needs: an in-memory buffer.
type bufFile struct{ bytes.Buffer }

func (*bufFile) ReadAt([]byte, int64) (int, error) { return 0, io.EOF }
func (*bufFile) Close() error                      { return nil }
func (*bufFile) Sync() error                       { return nil }
func (f *bufFile) Size() (int64, error)            { return int64(f.Len()), nil }

var _ vfs.File = (*bufFile)(nil)

// Example writes the log of the package documentation's worked example and
// reads it back.
func Example() {
	f := &bufFile{}
	w := wal.NewWriter(f)
	if err := w.AddRecord([]byte("hello")); err != nil {
		panic(err)
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	b := f.Bytes()
	fmt.Printf("% x | % x | % x\n", b[0:4], b[4:6], b[6:7])
	fmt.Printf("% x | % x\n", b[7:15], b[15:19])
	fmt.Printf("% x | % x | % x | %q\n", b[19:23], b[23:25], b[25:26], b[26:])

	r := wal.NewReader(bytes.NewReader(b), "example.log")
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			panic(err)
		}
		fmt.Printf("record %q at offset %d\n", rec, r.Offset())
	}
	// Output:
	// 5d 22 d4 10 | 0c 00 | 05
	// 53 54 52 41 54 4c 4f 47 | 01 00 00 00
	// 0b b9 57 58 | 05 00 | 01 | "hello"
	// record "hello" at offset 19
}

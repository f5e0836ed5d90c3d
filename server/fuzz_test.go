package server

import (
	"bytes"
	"fmt"
	"testing"
)

// FuzzRESPReader feeds arbitrary bytes to the request reader, in chunks of
// a size the input chooses: it must never panic, never return an empty
// request, and frame the same requests however the bytes are chunked.
func FuzzRESPReader(f *testing.F) {
	for _, s := range []string{
		"*2\r\n$3\r\nGET\r\n$1\r\na\r\n", "PING\r\n", "SET \"a b\" 'c'\r\n", "*0\r\n", "*-1\r\n",
		"*1\r\n$-1\r\n", "*1\r\n$4\r\nPINGxx", "ECHO \"\\x41\"\n", "*3\r\n$1\r\n\x00\r\n", "*x\r\n",
		"GET \"a\r\n", "\r\n\r\n", "*1\r\n:1\r\n",
	} {
		f.Add([]byte(s), uint8(1))
		f.Add([]byte(s), uint8(7))
	}
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		whole, errWhole := readAll(data, len(data)+1, 1<<16, chunk%2 == 0)
		split, errSplit := readAll(data, int(chunk%16)+1, 1<<16, chunk%2 == 0)
		if fmt.Sprint(whole) != fmt.Sprint(split) || fmt.Sprint(errWhole) != fmt.Sprint(errSplit) {
			t.Fatalf("chunking changed the framing:\nwhole: %v %v\nsplit: %v %v", whole, errWhole, split, errSplit)
		}
		for _, c := range whole {
			if c == "" {
				t.Fatal("an empty request came through")
			}
		}
		if n := bytes.Count(data, []byte("\n")) + 1; len(whole) > n {
			t.Fatalf("%d requests from %d lines", len(whole), n)
		}
	})
}

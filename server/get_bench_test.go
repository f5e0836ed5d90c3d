package server

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// cycleReader yields a fixed run of requests over and over.
type cycleReader struct {
	buf []byte
	off int
}

func (r *cycleReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.buf[r.off:])
		n += c
		r.off = (r.off + c) % len(r.buf)
	}
	return n, nil
}

// BenchmarkGetKeyspace is GET of random keys of a keyspace of 200,000
// strings of 100 bytes, most in tables (read through the block cache) and
// the last written in the memtable, through the reader, dispatcher,
// handler and reply writer: what a GET costs beyond the RESP path of one
// hot key (BenchmarkCommands/GET), with the process's CPU per request.
func BenchmarkGetKeyspace(b *testing.B) {
	const n = 200_000
	f := newRESPFixture(b, "everysec", respRequest("PING"))
	val := []byte(strings.Repeat("v", 100))
	for i := range n {
		if i == n*3/4 {
			if err := f.db.Flush(); err != nil {
				b.Fatal(err)
			}
		}
		if err := f.db.Put(fmt.Appendf(nil, "key:%012d", i), val); err != nil {
			b.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var reqs []byte
	for range 4096 {
		reqs = append(reqs, respRequest("GET", fmt.Sprintf("key:%012d", rng.IntN(n)))...)
	}
	f.cl.rd = newReqReader(&cycleReader{buf: reqs})
	for range 4096 { // warm the block cache up
		f.step(b)
	}
	f.measure(b, '$')
}

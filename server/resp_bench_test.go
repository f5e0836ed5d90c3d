package server

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stratadb/strata/collections"
	"github.com/stratadb/strata/lsm"
)

// repeatReader yields the same request forever, as many whole copies as
// fit in each read.
type repeatReader struct{ req []byte }

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for len(p)-n >= len(r.req) {
		n += copy(p[n:], r.req)
	}
	if n == 0 {
		n = copy(p, r.req) // a buffer smaller than one request
	}
	return n, nil
}

// respFixture is a server on a fresh DB and a client of it fed from memory:
// each step frames one request, dispatches it and drops the reply, as the
// connection loop does, without a socket.
type respFixture struct {
	s  *Server
	db *lsm.DB
	cl *client
}

func newRESPFixture(tb testing.TB, appendfsync string, req []byte) *respFixture {
	tb.Helper()
	return newRESPFixtureOpts(tb, &Options{AppendFsync: appendfsync}, req)
}

// newRESPFixtureOpts is newRESPFixture with the server's Options (the
// logger is set here).
func newRESPFixtureOpts(tb testing.TB, opts *Options, req []byte) *respFixture {
	tb.Helper()
	db, err := lsm.Open(filepath.Join(tb.TempDir(), "data"), &lsm.Options{Logger: quietLogger(), Sync: lsm.SyncNo})
	if err != nil {
		tb.Fatal(err)
	}
	o := *opts
	o.Logger = quietLogger()
	s, err := New(db, &o)
	if err != nil {
		db.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	cl := &client{s: s, id: 1, authed: true, rd: newReqReader(&repeatReader{req: req})}
	cl.out.proto = 2
	return &respFixture{s: s, db: db, cl: cl}
}

// step serves one request and reports the reply's first byte.
func (f *respFixture) step(tb testing.TB) byte {
	f.serve(tb)
	c := f.cl.out.b[0]
	f.cl.out.reset()
	return c
}

// serve reads one request and dispatches it, leaving its reply in
// f.cl.out.
func (f *respFixture) serve(tb testing.TB) {
	argv, err := f.cl.rd.next()
	for argv == nil && err == nil {
		if err = f.cl.rd.fill(); err != nil {
			tb.Fatal(err)
		}
		argv, err = f.cl.rd.next()
	}
	if err != nil {
		tb.Fatal(err)
	}
	f.s.dispatch(f.cl, argv)
}

func respRequest(args ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return []byte(b.String())
}

var respCases = []struct {
	name string
	req  []byte
	want byte // the reply's type
}{
	{"GET", respRequest("GET", "key:000000000042"), '$'},
	{"GET-missing", respRequest("GET", "key:000000000043"), '$'},
	{"get", respRequest("get", "key:000000000042"), '$'},
	{"SET", respRequest("SET", "key:000000000042", strings.Repeat("v", 100)), '+'},
	{"set", respRequest("set", "key:000000000042", strings.Repeat("v", 100)), '+'},
}

// BenchmarkRESPPath is one request through the reader, the dispatcher, the
// handler and the reply writer, over the engine (no socket). Compare its
// allocations with BenchmarkRESPKeyspaceOnly, the same engine calls alone:
// the difference is what the RESP path allocates.
func BenchmarkRESPPath(b *testing.B) {
	for _, mode := range []string{"everysec", "always"} {
		for _, c := range respCases {
			b.Run(mode+"/"+c.name, func(b *testing.B) {
				f := newRESPFixture(b, mode, c.req)
				f.db.Put([]byte("key:000000000042"), []byte(strings.Repeat("v", 100)))
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					if got := f.step(b); got != c.want {
						b.Fatalf("reply starts with %q, want %q", got, c.want)
					}
				}
			})
		}
	}
}

// BenchmarkRESPKeyspaceOnly is the engine work of GET and SET alone: the
// Keyspace calls their handlers make.
func BenchmarkRESPKeyspaceOnly(b *testing.B) {
	key, val := []byte("key:000000000042"), []byte(strings.Repeat("v", 100))
	for _, mode := range []string{"everysec", "always"} {
		f := newRESPFixture(b, mode, respRequest("PING"))
		f.db.Put(key, val)
		b.Run(mode+"/GET", func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, err := f.s.ks.Get(key); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(mode+"/SET", func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, err := f.s.ks.Set(key, val, SetOpts{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestRESPPathAllocs holds GET and SET to no allocation per request, end
// to end: the reader, the dispatcher, the handler, the Keyspace and engine
// calls and the reply writer, whatever the case of the name, with the value
// in the memtable or in a table (read through the block cache). GET reads
// the value into the reply writer's scratch buffer (Store.GetAppend), and a
// read-only Tx notes no string read.
func TestRESPPathAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	if testing.Short() {
		t.Skip("opens a DB per case")
	}
	key, val := []byte("key:000000000042"), []byte(strings.Repeat("v", 100))
	for _, c := range respCases {
		for _, flushed := range []bool{false, true} {
			name := c.name + "/memtable"
			if flushed {
				name = c.name + "/table"
			}
			t.Run(name, func(t *testing.T) {
				f := newRESPFixture(t, "everysec", c.req)
				if err := f.db.Put(key, val); err != nil {
					t.Fatal(err)
				}
				if flushed {
					if err := f.db.Flush(); err != nil {
						t.Fatal(err)
					}
				}
				f.step(t) // warm the buffers up
				// The least of three measures: AllocsPerRun counts the
				// whole process, and the engine's background work may
				// allocate during one.
				least := math.Inf(1)
				for range 3 {
					least = min(least, testing.AllocsPerRun(2000, func() {
						if got := f.step(t); got != c.want {
							t.Fatalf("reply starts with %q, want %q", got, c.want)
						}
					}))
				}
				if least != 0 {
					t.Errorf("%s allocates %v per request end to end, want 0", c.name, least)
				}
			})
		}
	}
}

// TestHGetAllocatesNothing: HGET of a field, in the memtable or in a table,
// allocates nothing per request end to end (HGetAppend into the reply
// writer's scratch buffer), with the hash's metadata cached, and with the
// string probe that skips or not (Options.SoleWriter).
func TestHGetAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	if testing.Short() {
		t.Skip("opens a DB per case")
	}
	for _, c := range []struct{ flushed, sole bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		flushed := c.flushed
		t.Run(fmt.Sprintf("flushed=%v/sole=%v", flushed, c.sole), func(t *testing.T) {
			f := newRESPFixtureOpts(t, &Options{AppendFsync: "everysec", SoleWriter: c.sole}, respRequest("HGET", "hash:42", "f0"))
			if _, err := f.s.store.HSet([]byte("hash:42"), []byte("f0"), []byte(strings.Repeat("v", 100))); err != nil {
				t.Fatal(err)
			}
			if flushed {
				if err := f.db.Flush(); err != nil {
					t.Fatal(err)
				}
			}
			f.step(t)
			least := math.Inf(1)
			for range 3 {
				least = min(least, testing.AllocsPerRun(2000, func() {
					if got := f.step(t); got != '$' {
						t.Fatalf("reply %q", f.cl.out.b)
					}
				}))
			}
			if least != 0 {
				t.Errorf("HGET allocates %v per request end to end, want 0", least)
			}
		})
	}
}

// TestAppendKeyPositions checks the dispatcher's allocation-free key
// positions against the command table's keyPositions, for every command
// and a range of argument counts.
func TestAppendKeyPositions(t *testing.T) {
	table := buildTable()
	var cmds []*command
	for _, c := range table {
		cmds = append(cmds, c)
		for _, sub := range c.subs {
			cmds = append(cmds, sub)
		}
	}
	for _, cmd := range cmds {
		for argc := 1; argc <= 12; argc++ {
			argv := make([][]byte, argc)
			argv[0] = []byte(cmd.name)
			for i := 1; i < argc; i++ {
				argv[i] = []byte("2") // a key count of 2 where one is read
			}
			want := cmd.keyPositions(argv)
			var buf [8]int
			got := appendKeyPositions(buf[:0], cmd, argv)
			if len(got) != len(want) {
				t.Errorf("%s with %d args: positions %v, keyPositions %v", cmd.name, argc, got, want)
				continue
			}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("%s with %d args: positions %v, keyPositions %v", cmd.name, argc, got, want)
					break
				}
			}
		}
	}
}

// TestLookupCase: the dispatcher's lookup finds commands and subcommands
// in any case, as the table's lookup does.
func TestLookupCase(t *testing.T) {
	s := &Server{table: buildTable()}
	for _, c := range []struct{ argv []string }{
		{[]string{"GET", "k"}}, {[]string{"gEt", "k"}}, {[]string{"get", "k"}},
		{[]string{"CLIENT", "LIST"}}, {[]string{"client", "Setname", "x"}},
		{[]string{"CONFIG"}}, {[]string{"NOSUCHCOMMAND"}}, {[]string{"client", "nosuchsub"}},
		{[]string{strings.Repeat("X", 40)}},
	} {
		argv := make([][]byte, len(c.argv))
		for i, a := range c.argv {
			argv[i] = []byte(a)
		}
		if got, want := s.lookup(argv), s.table.lookup(argv); got != want {
			t.Errorf("lookup(%q) = %v, table.lookup %v", c.argv, got, want)
		}
	}
}

// TestCounterPathAllocatesNothing: INCR, INCRBY and DECR on an existing
// counter allocate nothing end to end (reader, dispatcher, the one engine
// Increment, reply), where reading the value first allocated its copy.
func TestCounterPathAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	if testing.Short() {
		t.Skip("opens a DB per case")
	}
	for _, req := range [][]byte{
		respRequest("INCR", "counter"),
		respRequest("INCRBY", "counter", "7"),
		respRequest("DECR", "counter"),
	} {
		f := newRESPFixture(t, "everysec", req)
		f.step(t) // creates the counter and warms the buffers up
		if n := testing.AllocsPerRun(2000, func() {
			if got := f.step(t); got != ':' {
				t.Fatalf("reply starts with %q, want ':'", got)
			}
		}); n != 0 {
			t.Errorf("%q allocates %v per request", req, n)
		}
	}
	// A counter created by its first INCR: the engine's failed IfPresent
	// increment costs its error and nothing more (the error, formatted at
	// once, and the metadata probe's key were six allocations in all).
	f := newRESPFixture(t, "everysec", respRequest("PING"))
	f.cl.rd = newReqReader(&newCounterReader{})
	if n := testing.AllocsPerRun(2000, func() {
		if got := f.step(t); got != ':' {
			t.Fatalf("reply starts with %q, want ':'", got)
		}
	}); n > 1 {
		t.Errorf("INCR of a new counter allocates %v per request, want at most 1", n)
	}
	if got, err := f.db.Get([]byte("new:00000042")); err != nil || string(got) != "1" {
		t.Errorf("new:00000042 = %q, %v after its INCR; want \"1\"", got, err)
	}
}

// newCounterReader yields INCR new:00000000, INCR new:00000001, ... (whole
// requests only), writing the digits in place so that reading allocates
// nothing.
type newCounterReader struct{ i int }

const newCounterReq = "*2\r\n$4\r\nINCR\r\n$12\r\nnew:00000000\r\n"

func (r *newCounterReader) Read(p []byte) (int, error) {
	n := 0
	for len(p)-n >= len(newCounterReq) {
		b := p[n : n+len(newCounterReq)]
		copy(b, newCounterReq)
		for v, j := r.i, len(newCounterReq)-3; j >= len(newCounterReq)-10; j-- {
			b[j] = byte('0' + v%10) // the name's 8 digits end before "\r\n"
			v /= 10
		}
		r.i++
		n += len(newCounterReq)
	}
	return n, nil
}

// BenchmarkIncrNew is INCR creating a counter per request, through the
// reader, dispatcher, handler and reply writer.
func BenchmarkIncrNew(b *testing.B) {
	f := newRESPFixture(b, "everysec", respRequest("PING"))
	f.cl.rd = newReqReader(&newCounterReader{})
	f.measure(b, ':')
}

// measure serves b.N requests, each of whose replies must start with want,
// and reports the process's CPU time per request (cpu-ns/op) beside the
// wall time and allocations.
func (f *respFixture) measure(b *testing.B, want byte) {
	b.ReportAllocs()
	b.ResetTimer()
	sys0, user0 := cpuTimes()
	for range b.N {
		if got := f.step(b); got != want {
			b.Fatalf("reply %q", f.cl.out.b)
		}
	}
	sys1, user1 := cpuTimes()
	b.ReportMetric((sys1-sys0+user1-user0)*1e9/float64(b.N), "cpu-ns/op")
}

// TestScoreReplyAllocatesNothing: ZSCORE of a member allocates nothing end
// to end, in RESP2 (a bulk string) and RESP3 (a double): the score is
// formatted into the reply, where RESP3's was a string of its own.
func TestScoreReplyAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	for _, proto := range []int{2, 3} {
		f := newRESPFixture(t, "everysec", respRequest("ZSCORE", "zset", "tenth"))
		if _, err := f.s.store.ZAdd([]byte("zset"), collections.ZAddArgs{}, collections.Z{Score: 0.1, Member: []byte("tenth")}); err != nil {
			t.Fatal(err)
		}
		f.cl.out.proto = proto
		want := map[int]string{2: "$19\r\n0.10000000000000001\r\n", 3: ",0.10000000000000001\r\n"}[proto]
		f.step(t)
		if n := testing.AllocsPerRun(500, func() {
			f.serve(t)
			if string(f.cl.out.b) != want {
				t.Fatalf("RESP%d reply %q, want %q", proto, f.cl.out.b, want)
			}
			f.cl.out.reset()
		}); n != 0 {
			t.Errorf("ZSCORE in RESP%d allocates %v", proto, n)
		}
	}
}

// TestAppendDouble: the reply's formatting of a score is formatDouble's.
func TestAppendDouble(t *testing.T) {
	for _, f := range []float64{0, math.Copysign(0, -1), 42, -1.5, 0.1, 1e300, -2.5e-300, math.MaxFloat64, math.Inf(1), math.Inf(-1), math.NaN()} {
		want := map[bool]string{true: "inf", false: "-inf"}[f > 0]
		switch {
		case math.IsNaN(f):
			want = "nan"
		case !math.IsInf(f, 0):
			want = strconv.FormatFloat(f, 'g', 17, 64)
		}
		if got := string(appendDouble([]byte("x"), f)); got != "x"+want {
			t.Errorf("appendDouble(%v) = %q, want %q", f, got, "x"+want)
		}
		if got := formatDouble(f); got != want {
			t.Errorf("formatDouble(%v) = %q, want %q", f, got, want)
		}
	}
}

package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stratadb/strata/lsm"
)

// pipeListener hands the server the far ends of in-memory pipes: a client's
// pipeline written in one Write is then read by the server in one read,
// whole, every time (a socket may split it).
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	select {
	case <-l.done:
	default:
		close(l.done)
	}
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "127.0.0.1:1" }

// pipeServer is a server on a fresh DB (appendfsync as given) served over
// pipeListener; dial returns a client of it.
type pipeServer struct {
	s  *Server
	db *lsm.DB
	ln *pipeListener
}

func startPipeServer(t *testing.T, appendfsync string, noGroup bool) *pipeServer {
	t.Helper()
	dir := t.TempDir()
	db, err := lsm.Open(filepath.Join(dir, "data"), &lsm.Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(db, &Options{Dir: dir, Logger: quietLogger(), AppendFsync: appendfsync})
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	s.noGroup = noGroup
	ln := &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
	served := make(chan struct{})
	go func() { s.ServeListeners(ln); close(served) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		<-served
		db.Close()
	})
	return &pipeServer{s: s, db: db, ln: ln}
}

func (p *pipeServer) dial(t *testing.T) *respConn {
	a, b := net.Pipe()
	p.ln.conns <- b
	t.Cleanup(func() { a.Close() })
	return &respConn{t: t, nc: a, r: bufio.NewReaderSize(a, 1<<16)}
}

// pipeline sends reqs in one write and returns their replies.
func (c *respConn) pipeline(reqs [][]string) []string {
	c.t.Helper()
	var b bytes.Buffer
	for _, r := range reqs {
		b.Write(encodeCommand(r...))
	}
	done := make(chan struct{})
	go func() { // a pipe's write waits for the reader: write while reading
		defer close(done)
		c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		c.nc.Write(b.Bytes())
	}()
	out := make([]string, len(reqs))
	for i := range reqs {
		out[i] = c.mustRead()
	}
	<-done
	return out
}

func commitGroups(db *lsm.DB) int64 { return db.Metrics().CommitGroups }

// TestPipelinedWritesShareACommit: a pipeline of plain writes read at once
// reaches the engine as one commit (before, each write was its own), with
// the replies each command gives alone, in order, and the data each would
// have left. The same pipelines with grouping off give the same replies
// and data, one commit per write.
func TestPipelinedWritesShareACommit(t *testing.T) {
	v := strings.Repeat("v", 100)
	cases := []struct {
		name    string
		reqs    [][]string
		replies []string
		check   [][]string // a request and its reply, after the pipeline
		commits int        // commits with grouping on
	}{
		{
			name:    "SET",
			reqs:    [][]string{{"SET", "a", v}, {"SET", "b", "2"}, {"set", "a", "3"}, {"SET", "c", v}},
			replies: []string{"+OK\r\n", "+OK\r\n", "+OK\r\n", "+OK\r\n"},
			check:   [][]string{{"GET", "a", "$1\r\n3\r\n"}, {"GET", "b", "$1\r\n2\r\n"}},
			commits: 1,
		},
		{
			name: "mixed",
			reqs: [][]string{
				{"HSET", "h", "f1", "x", "f2", "y"}, {"HSET", "h", "f1", "z"},
				{"SADD", "s", "m1", "m2"}, {"SADD", "s", "m2", "m3"},
				{"LPUSH", "l", "a", "b"}, {"RPUSH", "l", "c"}, {"LPUSH", "l", "d"},
				{"MSET", "k1", "1", "k2", "2"}, {"SET", "k1", "9"},
			},
			replies: []string{":2\r\n", ":0\r\n", ":2\r\n", ":1\r\n", ":2\r\n", ":3\r\n", ":4\r\n", "+OK\r\n", "+OK\r\n"},
			check: [][]string{
				{"HGET", "h", "f1", "$1\r\nz\r\n"}, {"SCARD", "s", ":3\r\n"},
				{"LRANGE", "l", "0", "-1", "*4\r\n$1\r\nd\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nc\r\n"},
				{"MGET", "k1", "k2", "*2\r\n$1\r\n9\r\n$1\r\n2\r\n"},
			},
			commits: 1,
		},
		{
			// WRONGTYPE in the middle: the run goes one by one, so the
			// writes around the error land as they would alone.
			name:    "error",
			reqs:    [][]string{{"SET", "x", "1"}, {"SADD", "x", "m"}, {"SET", "y", "2"}},
			replies: []string{"+OK\r\n", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "+OK\r\n"},
			check:   [][]string{{"GET", "x", "$1\r\n1\r\n"}, {"GET", "y", "$1\r\n2\r\n"}},
			commits: 2,
		},
		{
			// A run of counters is one IncrByEach: one commit, whether
			// the counters exist or not, a key repeated seeing its
			// earlier increments.
			name:    "counters",
			reqs:    [][]string{{"INCR", "a"}, {"incr", "a"}, {"INCRBY", "b", "5"}, {"DECR", "c"}, {"DECRBY", "a", "2"}, {"INCRBY", "b", "-7"}},
			replies: []string{":1\r\n", ":2\r\n", ":5\r\n", ":-1\r\n", ":0\r\n", ":-2\r\n"},
			check:   [][]string{{"MGET", "a", "b", "c", "*3\r\n$1\r\n0\r\n$2\r\n-2\r\n$2\r\n-1\r\n"}},
			commits: 1,
		},
		{
			// HINCRBY joins the transaction of a run, as HSET does.
			name:    "hincrby",
			reqs:    [][]string{{"HSET", "h", "f", "1"}, {"HINCRBY", "h", "f", "5"}, {"HINCRBY", "h", "g", "-2"}, {"HINCRBY", "h2", "f", "1"}},
			replies: []string{":1\r\n", ":6\r\n", ":-2\r\n", ":1\r\n"},
			check:   [][]string{{"HMGET", "h", "f", "g", "*2\r\n$1\r\n6\r\n$2\r\n-2\r\n"}},
			commits: 1,
		},
		{
			// Pops join the run's transaction: each sees the pushes and
			// pops before it, a list emptied and pushed to again in
			// the run included, and a missing list answers nil.
			name: "pops",
			reqs: [][]string{
				{"RPUSH", "l", "a", "b", "c", "d", "e"}, {"RPOP", "l"}, {"LPOP", "l"}, {"rpop", "l", "2"},
				{"RPOP", "none"}, {"LPOP", "none", "3"},
				{"RPUSH", "q", "x"}, {"LPOP", "q"}, {"RPOP", "q"}, {"RPUSH", "q", "y"}, {"LPOP", "q", "5"},
				{"SET", "k", "1"}, {"LPOP", "l"},
			},
			replies: []string{":5\r\n", "$1\r\ne\r\n", "$1\r\na\r\n", "*2\r\n$1\r\nd\r\n$1\r\nc\r\n",
				"$-1\r\n", "*-1\r\n",
				":1\r\n", "$1\r\nx\r\n", "$-1\r\n", ":1\r\n", "*1\r\n$1\r\ny\r\n",
				"+OK\r\n", "$1\r\nb\r\n"},
			check:   [][]string{{"EXISTS", "l", "q", ":0\r\n"}, {"GET", "k", "$1\r\n1\r\n"}},
			commits: 1,
		},
		{
			// A pop that answers an error (WRONGTYPE, a bad count)
			// sends the run one by one: the writes and pops around it
			// land as they would alone.
			name: "pop errors",
			reqs: [][]string{
				{"RPUSH", "l", "a", "b", "c"}, {"SET", "s", "v"}, {"RPOP", "l"}, {"RPOP", "s"}, {"LPOP", "l"},
				{"LPOP", "l", "-1"}, {"LPOP", "l", "x"}, {"RPOP", "l"},
			},
			replies: []string{":3\r\n", "+OK\r\n", "$1\r\nc\r\n",
				"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "$1\r\na\r\n",
				"-ERR value is out of range, must be positive\r\n", "-ERR value is out of range, must be positive\r\n", "$1\r\nb\r\n"},
			check:   [][]string{{"EXISTS", "l", ":0\r\n"}, {"GET", "s", "$1\r\nv\r\n"}},
			commits: -1,
		},
		{
			// Counters and other writes: a segment of each, in order.
			name:    "counters and writes",
			reqs:    [][]string{{"SET", "x", "10"}, {"SET", "z", "1"}, {"INCR", "x"}, {"INCR", "z"}, {"INCRBY", "x", "5"}, {"SET", "z", "7"}, {"HSET", "h", "f", "v"}},
			replies: []string{"+OK\r\n", "+OK\r\n", ":11\r\n", ":2\r\n", ":16\r\n", "+OK\r\n", ":1\r\n"},
			check:   [][]string{{"MGET", "x", "z", "*2\r\n$2\r\n16\r\n$1\r\n7\r\n"}},
			commits: 3,
		},
		{
			// A counter that fails (not an integer, WRONGTYPE, a delta
			// that does not parse) sends its segment one by one: the
			// others are written and answered as alone.
			name: "counter errors",
			reqs: [][]string{
				{"SET", "s", "abc"}, {"SADD", "set", "m"},
				{"INCR", "a"}, {"INCR", "s"}, {"INCR", "a"}, {"INCR", "set"}, {"INCRBY", "a", "x"}, {"DECRBY", "a", "-9223372036854775808"}, {"INCR", "a"},
			},
			replies: []string{"+OK\r\n", ":1\r\n",
				":1\r\n", "-ERR value is not an integer or out of range\r\n", ":2\r\n",
				"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
				"-ERR value is not an integer or out of range\r\n", "-ERR decrement would overflow\r\n", ":3\r\n"},
			check:   [][]string{{"GET", "a", "$1\r\n3\r\n"}, {"GET", "s", "$3\r\nabc\r\n"}},
			commits: -1, // one by one: reported, not checked
		},
	}
	for _, mode := range []string{"always", "everysec"} {
		for _, tc := range cases {
			for _, noGroup := range []bool{false, true} {
				name := mode + "/" + tc.name + "/grouped"
				if noGroup {
					name = mode + "/" + tc.name + "/alone"
				}
				t.Run(name, func(t *testing.T) {
					p := startPipeServer(t, mode, noGroup)
					c := p.dial(t)
					// The first collection makes the ID block's mark
					// durable in a commit of its own: not part of what
					// is counted.
					if r := c.do("SADD", "warm", "up"); r != ":1\r\n" {
						t.Fatalf("SADD: %q", r)
					}
					before := commitGroups(p.db)
					got := c.pipeline(tc.reqs)
					commits := commitGroups(p.db) - before
					for i := range got {
						if got[i] != tc.replies[i] {
							t.Errorf("reply %d to %v: %q, want %q", i, tc.reqs[i], got[i], tc.replies[i])
						}
					}
					for _, ch := range tc.check {
						if r := c.do(ch[:len(ch)-1]...); r != ch[len(ch)-1] {
							t.Errorf("%v: %q, want %q", ch[:len(ch)-1], r, ch[len(ch)-1])
						}
					}
					want := int64(tc.commits)
					if noGroup || tc.commits < 0 {
						want = commits // reported, not checked: one per write and per ID block
						t.Logf("%d commits one by one", commits)
					}
					if commits != want {
						t.Errorf("%d commits for a pipeline of %d writes, want %d", commits, len(tc.reqs), want)
					}
				})
			}
		}
	}
}

// TestPipelinedPushWakesBlockedClientInOrder: a client blocked on a list
// gets the first push of a pipeline, as in Redis, which serves it after
// each command; a run sharing one commit would have handed it the last.
func TestPipelinedPushWakesBlockedClientInOrder(t *testing.T) {
	p := startPipeServer(t, "everysec", false)
	b := p.dial(t)
	b.send("BLPOP", "q", "0")
	for p.s.blocking.nBlocked.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	a := p.dial(t)
	got := a.pipeline([][]string{{"LPUSH", "q", "first"}, {"LPUSH", "q", "second"}})
	if got[0] != ":1\r\n" {
		t.Errorf("first LPUSH: %q", got[0])
	}
	if r := b.mustRead(); r != "*2\r\n$1\r\nq\r\n$5\r\nfirst\r\n" {
		t.Errorf("BLPOP got %q, want the first push", r)
	}
	if r := a.do("LRANGE", "q", "0", "-1"); r != "*1\r\n$6\r\nsecond\r\n" {
		t.Errorf("left in the list: %q", r)
	}
}

// TestPipelinedRunAgainstRedis: the same pipelines, mixed with requests
// that break runs (reads, options, errors), answer as redis-server does.
func TestPipelinedRunAgainstRedis(t *testing.T) {
	addr := refRedis(t)
	reqs := [][]string{
		{"SET", "p:a", "1"}, {"SET", "p:b", "2"}, {"SET", "p:a", "3", "GET"},
		{"HSET", "p:h", "f", "1"}, {"HSET", "p:h", "f", "2", "g", "3"}, {"HGETALL", "p:h"},
		{"SADD", "p:s", "x"}, {"SADD", "p:a", "x"}, {"SADD", "p:s", "x", "y"},
		{"RPUSH", "p:l", "1", "2"}, {"LPUSH", "p:l", "0"}, {"HSET", "p:l", "f", "v"},
		{"MSET", "p:m1", "a", "p:m2", "b"}, {"MSET", "p:m1"}, {"HSET", "p:h", "odd"},
		{"SET", "p:a", "4"}, {"LRANGE", "p:l", "0", "-1"}, {"MGET", "p:a", "p:b", "p:m1", "p:m2"},
		{"INCR", "p:a"}, {"SET", "p:b", "x"},
		// Runs of counters: new and existing ones, repeated keys, and
		// every error INCR can answer inside a run.
		{"INCR", "p:c"}, {"INCRBY", "p:c", "10"}, {"DECR", "p:c"}, {"DECRBY", "p:c", "3"}, {"INCR", "p:d"},
		{"INCR", "p:c"}, {"INCR", "p:b"}, {"INCR", "p:c"},
		{"INCRBY", "p:c", "abc"}, {"DECRBY", "p:c", "-9223372036854775808"}, {"INCR", "p:h"}, {"INCR", "p:c"},
		{"INCRBY", "p:big", "9223372036854775807"}, {"INCR", "p:big"}, {"DECRBY", "p:big", "1"}, {"INCRBY", "p:c", "-9223372036854775808"},
		{"HINCRBY", "p:h", "n", "5"}, {"HINCRBY", "p:h", "n", "-9"}, {"HINCRBY", "p:h", "f", "1"}, {"HINCRBY", "p:h", "n", "x"},
		{"HINCRBY", "p:h", "n", "9223372036854775807"}, {"HINCRBY", "p:c", "f", "1"}, {"HINCRBY", "p:h", "n", "1"}, {"HGETALL", "p:h"},
		{"SET", "p:e", "007"}, {"INCR", "p:e"}, {"SET", "p:e", " 1"}, {"INCR", "p:e"}, {"SET", "p:e", "-0"}, {"INCR", "p:e"},
		{"MGET", "p:c", "p:d", "p:big", "p:e"},
		// Pops in runs: with pushes, a list emptied and refilled, counts,
		// a missing list, and the errors a pop can answer.
		{"RPUSH", "p:q", "1", "2", "3", "4"}, {"RPOP", "p:q"}, {"LPOP", "p:q"}, {"RPOP", "p:q", "5"}, {"LPOP", "p:q"},
		{"RPOP", "p:none"}, {"LPOP", "p:none", "2"}, {"LPUSH", "p:q", "z"}, {"LPOP", "p:q", "1"},
		{"LPUSH", "p:q", "a", "b"}, {"RPOP", "p:a"}, {"LPOP", "p:q", "0"}, {"RPOP", "p:q", "-2"}, {"LPOP", "p:q", "nan"}, {"RPOP", "p:q", "1", "2"},
		{"LPOP", "p:h"}, {"RPOP", "p:q"}, {"LRANGE", "p:q", "0", "-1"},
		{"DEL", "p:a", "p:b", "p:h", "p:s", "p:l", "p:m1", "p:m2", "p:c", "p:d", "p:big", "p:e", "p:q"},
	}
	ref := dial(t, addr)
	ref.do("DEL", "p:a", "p:b", "p:h", "p:s", "p:l", "p:m1", "p:m2", "p:c", "p:d", "p:big", "p:e", "p:q")
	want := pipelineOver(ref, reqs)
	p := startPipeServer(t, "everysec", false)
	got := p.dial(t).pipeline(reqs)
	for i := range reqs {
		if got[i] != want[i] {
			t.Errorf("%v: %q, redis-server %q", reqs[i], got[i], want[i])
		}
	}
}

// pipelineOver sends reqs in one write over a socket and reads the replies.
func pipelineOver(c *respConn, reqs [][]string) []string {
	var b bytes.Buffer
	for _, r := range reqs {
		b.Write(encodeCommand(r...))
	}
	c.sendRaw(b.Bytes())
	out := make([]string, len(reqs))
	for i := range reqs {
		out[i] = c.mustRead()
	}
	return out
}

// pipelineCases are pipelines of 16 writes, as the compare's P16 lines
// send them.
var pipelineCases = func() []struct {
	name string
	req  []byte
} {
	v := strings.Repeat("v", 100)
	var cases []struct {
		name string
		req  []byte
	}
	add := func(name string, mk func(i int) []string) {
		var b bytes.Buffer
		for i := range 16 {
			b.Write(encodeCommand(mk(i)...))
		}
		cases = append(cases, struct {
			name string
			req  []byte
		}{name, b.Bytes()})
	}
	key := func(i int) string { return fmt.Sprintf("key:%012d", i*7919%1000) }
	add("SET", func(i int) []string { return []string{"SET", key(i), v} })
	add("HSET", func(i int) []string { return []string{"HSET", "h" + key(i%4), key(i), v} })
	add("SADD", func(i int) []string { return []string{"SADD", "s" + key(i%4), key(i)} })
	add("LPUSH", func(i int) []string { return []string{"LPUSH", "l" + key(i%4), v} })
	add("INCR", func(i int) []string { return []string{"INCR", "ctr:" + key(i)} })
	add("LPUSH+RPOP", func(i int) []string { // a queue: every pop finds the push before it
		if i%2 == 0 {
			return []string{"LPUSH", "q" + key(i%8), v}
		}
		return []string{"RPOP", "q" + key((i-1)%8)}
	})
	add("MSET", func(i int) []string {
		a := []string{"MSET"}
		for j := range 10 {
			a = append(a, key(i*10+j), v)
		}
		return a
	})
	return cases
}()

// stepBuffered serves one pipeline (reading it in as many reads as the
// buffer takes) and drops the replies.
func (f *respFixture) stepBuffered(tb testing.TB) {
	r := f.cl.rd.rd.(*onceReader)
	for {
		if err := f.cl.rd.fill(); err != nil {
			tb.Fatal(err)
		}
		if !f.cl.runBuffered() {
			tb.Fatal("connection ended")
		}
		if r.off == 0 && f.cl.rd.pending() == 0 {
			break
		}
	}
	if f.cl.out.len() == 0 {
		tb.Fatal("no replies")
	}
	f.cl.out.reset()
}

// BenchmarkPipelinedWrites serves pipelines of 16 writes through the
// reader, the run gathering and the dispatcher, over the engine (no
// socket), with runs sharing a commit ("grouped") and one by one
// ("alone"). ns/op, cpu-ns/op (the process's CPU time, background work
// included) and allocs/op are per pipeline of 16. No reply is flushed, so
// appendfsync always would fsync nothing here: everysec alone is run.
func BenchmarkPipelinedWrites(b *testing.B) {
	for _, mode := range []string{"everysec"} {
		for _, c := range pipelineCases {
			for _, alone := range []bool{false, true} {
				name := mode + "/" + c.name + "/grouped"
				if alone {
					name = mode + "/" + c.name + "/alone"
				}
				b.Run(name, func(b *testing.B) {
					f := newPipeFixture(b, mode, c.req, alone)
					f.stepBuffered(b)
					b.ReportAllocs()
					b.ResetTimer()
					sys0, user0 := cpuTimes()
					for range b.N {
						f.stepBuffered(b)
					}
					sys1, user1 := cpuTimes()
					b.ReportMetric((sys1-sys0+user1-user0)*1e9/float64(b.N), "cpu-ns/op")
				})
			}
		}
	}
}

// newPipeFixture is a respFixture whose reader yields req (a pipeline)
// once per read.
func newPipeFixture(tb testing.TB, mode string, req []byte, alone bool) *respFixture {
	f := newRESPFixture(tb, mode, nil)
	f.cl.rd = newReqReader(&onceReader{req: req})
	f.s.noGroup = alone
	return f
}

// onceReader yields req over and over, a read never going past the end
// of one copy.
type onceReader struct {
	req []byte
	off int
}

func (r *onceReader) Read(p []byte) (int, error) {
	n := copy(p, r.req[r.off:])
	r.off = (r.off + n) % len(r.req)
	return n, nil
}

// TestPipelinedRunAllocs: a pipeline of 16 writes served as one run
// allocates no more than the same 16 served one by one: the run itself
// (gathering, the transaction's function, keyspace and replies, the
// collections transaction's lock set of more than four stripes, which
// its pooled Tx keeps) allocates nothing per command once its buffers
// have grown.
func TestPipelinedRunAllocs(t *testing.T) {
	const runOverheadAllocs = 0
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	for _, c := range pipelineCases {
		t.Run(c.name, func(t *testing.T) {
			var per [2]float64
			for i, alone := range []bool{false, true} {
				f := newPipeFixture(t, "everysec", c.req, alone)
				f.stepBuffered(t)
				per[i] = testing.AllocsPerRun(200, func() { f.stepBuffered(t) })
			}
			t.Logf("%s: %v allocations per pipeline of 16 as a run, %v one by one", c.name, per[0], per[1])
			if per[0] > per[1]+runOverheadAllocs {
				t.Errorf("%s: a run allocates %v per pipeline of 16, one by one %v: over %d more", c.name, per[0], per[1], runOverheadAllocs)
			}
		})
	}
}

// freshIncrReader yields pipelines of 16 INCRs of counters never used
// before, one pipeline per read: the compare's INCR line, whose keys are
// drawn from a keyspace larger than a run touches, mostly creates them.
type freshIncrReader struct {
	n        int
	buf      []byte
	off      int
	key, num []byte
}

func (r *freshIncrReader) Read(p []byte) (int, error) {
	if r.off == len(r.buf) {
		r.buf, r.off = r.buf[:0], 0
		for range 16 {
			r.num = strconv.AppendInt(r.num[:0], int64(r.n), 10)
			r.key = append(append(r.key[:0], "ctr:"...), r.num...)
			r.buf = fmt.Appendf(r.buf, "*2\r\n$4\r\nINCR\r\n$%d\r\n%s\r\n", len(r.key), r.key)
			r.n++
		}
	}
	n := copy(p, r.buf[r.off:])
	r.off += n
	return n, nil
}

// BenchmarkPipelinedIncrNew is BenchmarkPipelinedWrites for INCRs that
// create their counters (16 per pipeline, each op a pipeline), as a run
// sharing one commit ("grouped") and one by one ("alone").
func BenchmarkPipelinedIncrNew(b *testing.B) {
	for _, alone := range []bool{false, true} {
		name := "grouped"
		if alone {
			name = "alone"
		}
		b.Run(name, func(b *testing.B) {
			f := newRESPFixture(b, "everysec", nil)
			r := &freshIncrReader{}
			f.cl.rd = newReqReader(r)
			f.s.noGroup = alone
			step := func() {
				for {
					if err := f.cl.rd.fill(); err != nil {
						b.Fatal(err)
					}
					if !f.cl.runBuffered() {
						b.Fatal("connection ended")
					}
					if r.off == len(r.buf) && f.cl.rd.pending() == 0 {
						break
					}
				}
				if f.cl.out.len() == 0 || bytes.IndexByte(f.cl.out.b, '-') >= 0 {
					b.Fatalf("replies %q", f.cl.out.b)
				}
				f.cl.out.reset()
			}
			step()
			b.ReportAllocs()
			b.ResetTimer()
			sys0, user0 := cpuTimes()
			for range b.N {
				step()
			}
			sys1, user1 := cpuTimes()
			b.ReportMetric((sys1-sys0+user1-user0)*1e9/float64(b.N), "cpu-ns/op")
		})
	}
}

// TestPipelinedCountersBreakWatch: a run of counters marks the clients
// watching its keys, as INCR alone does: their EXEC answers nil.
func TestPipelinedCountersBreakWatch(t *testing.T) {
	p := startPipeServer(t, "everysec", false)
	a, b := p.dial(t), p.dial(t)
	for _, r := range [][]string{{"WATCH", "w"}, {"MULTI"}, {"SET", "x", "1"}} {
		a.do(r...)
	}
	before := commitGroups(p.db)
	got := b.pipeline([][]string{{"INCR", "c"}, {"INCR", "w"}, {"INCRBY", "c", "2"}})
	if fmt.Sprint(got) != fmt.Sprint([]string{":1\r\n", ":1\r\n", ":3\r\n"}) {
		t.Fatalf("replies %q", got)
	}
	if n := commitGroups(p.db) - before; n != 1 {
		t.Errorf("%d commits for a run of 3 counters, want 1", n)
	}
	if r := a.do("EXEC"); r != "*-1\r\n" {
		t.Errorf("EXEC after a run incremented a watched key: %q, want a nil reply", r)
	}
	if r := a.do("EXISTS", "x"); r != ":0\r\n" {
		t.Errorf("the aborted EXEC wrote: EXISTS x = %q", r)
	}
}

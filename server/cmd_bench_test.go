package server

import (
	"flag"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stratadb/strata/collections"
)

// lockRelease is the usual lock-release script: delete the key only if it
// still holds the caller's token.
const lockRelease = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`

// cmdCases are the commands of the benchmark lines, one request each
// (RPOP's request is an LPUSH and an RPOP, so the list never empties).
var cmdCases = []struct {
	name string
	req  []byte
}{
	{"GET", respRequest("GET", "key:000000000042")},
	{"SET", respRequest("SET", "key:000000000042", strings.Repeat("v", 100))},
	{"INCR", respRequest("INCR", "counter")},
	{"INCRBY", respRequest("INCRBY", "counter", "7")},
	{"DECR", respRequest("DECR", "counter")},
	{"HINCRBY", respRequest("HINCRBY", "h", "counter", "3")},
	{"EVALSHA", respRequest("EVALSHA", sha1hex([]byte(lockRelease)), "1", "lock:1", "token")},
	{"MULTI", slices.Concat(respRequest("MULTI"), // the compare's transaction
		respRequest("SET", "key:000000000042", strings.Repeat("v", 100)), respRequest("GET", "key:000000000043"),
		respRequest("INCR", "counter"), respRequest("SET", "key:000000000044", strings.Repeat("v", 100)),
		respRequest("GET", "key:000000000045"), respRequest("EXEC"))},
	{"LPUSH", respRequest("LPUSH", "list", strings.Repeat("v", 16))},
	{"LPUSH+RPOP", append(respRequest("LPUSH", "list2", strings.Repeat("v", 16)), respRequest("RPOP", "list2")...)},
	{"SADD", respRequest("SADD", "set", "member:42")},
	{"SISMEMBER", respRequest("SISMEMBER", "set", "member:42")},
	{"HSET", respRequest("HSET", "hash", "field:42", strings.Repeat("v", 16))},
	{"HGET", respRequest("HGET", "hash", "field:42")},
	{"ZADD", respRequest("ZADD", "zset", "42", "member:42")},
	{"ZSCORE", respRequest("ZSCORE", "zset", "member:42")},
	{"ZRANK", respRequest("ZRANK", "zset", "member:42")},
}

// seedCmdFixture fills the collections the cases read: 1000 members each,
// the string keys, the lock key and the script.
func seedCmdFixture(tb testing.TB, f *respFixture) {
	tb.Helper()
	ks := f.s.ks
	if _, err := ks.Set([]byte("key:000000000042"), []byte(strings.Repeat("v", 100)), SetOpts{}); err != nil {
		tb.Fatal(err)
	}
	if _, err := ks.Set([]byte("lock:1"), []byte("someone-else"), SetOpts{}); err != nil {
		tb.Fatal(err)
	}
	d := f.s.store
	for i := range 1000 {
		m := []byte("member:" + strconv.Itoa(i))
		fl := []byte("field:" + strconv.Itoa(i))
		if _, err := d.SAdd([]byte("set"), m); err != nil {
			tb.Fatal(err)
		}
		if _, err := d.HSet([]byte("hash"), fl, []byte("v")); err != nil {
			tb.Fatal(err)
		}
		if _, err := d.ZAdd([]byte("zset"), collections.ZAddArgs{}, collections.Z{Score: float64(i), Member: m}); err != nil {
			tb.Fatal(err)
		}
	}
	if _, msg := f.s.lua.compile([]byte(lockRelease)); msg != "" {
		tb.Fatal(msg)
	}
}

// benchSole is Options.SoleWriter of BenchmarkCommands's server.
var benchSole = flag.Bool("cmdbench.sole", true, "BenchmarkCommands: the server is its DB's sole writer, as the binary is")

// BenchmarkCommands is each benchmark line's command through the reader,
// dispatcher, handler and reply writer over the engine (no socket), under
// appendfsync everysec, with the server its DB's sole writer as in the
// binary (-cmdbench.sole=false: not).
func BenchmarkCommands(b *testing.B) {
	for _, c := range cmdCases {
		b.Run(c.name, func(b *testing.B) {
			f := newRESPFixtureOpts(b, &Options{AppendFsync: "everysec", SoleWriter: *benchSole}, c.req)
			seedCmdFixture(b, f)
			b.ReportAllocs()
			b.ResetTimer()
			sys0, user0 := cpuTimes()
			for range b.N {
				if got := f.step(b); got == '-' {
					b.Fatalf("error reply: %q", f.cl.out.b)
				}
			}
			sys1, user1 := cpuTimes()
			// The process's CPU (every goroutine: commit, flush,
			// compaction) per command: steadier than ns/op on a loaded
			// machine.
			b.ReportMetric((sys1-sys0+user1-user0)*1e9/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkCommandsParallel is clients on their own goroutines, each on a
// key of its own (EVALSHA of the lock release, SET, INCR): what scripts on
// different keys and the write path's shared locks cost when commands run
// side by side.
func BenchmarkCommandsParallel(b *testing.B) {
	for _, c := range []struct {
		name string
		req  func(key string) []byte
	}{
		{"EVALSHA", func(k string) []byte { return respRequest("EVALSHA", sha1hex([]byte(lockRelease)), "1", k, "token") }},
		{"SET", func(k string) []byte { return respRequest("SET", k, strings.Repeat("v", 100)) }},
		{"INCR", func(k string) []byte { return respRequest("INCR", k) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			f := newRESPFixture(b, "everysec", respRequest("PING"))
			seedCmdFixture(b, f)
			var next atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(4)
			b.ResetTimer()
			sys0, user0 := cpuTimes()
			b.RunParallel(func(pb *testing.PB) {
				id := next.Add(1)
				key := "pkey:" + strconv.FormatInt(id, 10)
				f.s.ks.Set([]byte(key), []byte("0"), SetOpts{}) // not the token: the script reads only
				g := &respFixture{s: f.s, db: f.db, cl: &client{s: f.s, id: 100 + id, authed: true, rd: newReqReader(&repeatReader{req: c.req(key)})}}
				g.cl.out.proto = 2
				for pb.Next() {
					if got := g.step(b); got == '-' {
						b.Errorf("error reply: %q", g.cl.out.b)
						return
					}
				}
			})
			sys1, user1 := cpuTimes()
			b.ReportMetric((sys1-sys0+user1-user0)*1e9/float64(b.N), "cpu-ns/op")
		})
	}
}

package server

import (
	"strconv"
	"strings"
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

// BenchmarkCommands is each benchmark line's command through the reader,
// dispatcher, handler and reply writer over the engine (no socket), under
// appendfsync everysec.
func BenchmarkCommands(b *testing.B) {
	for _, c := range cmdCases {
		b.Run(c.name, func(b *testing.B) {
			f := newRESPFixture(b, "everysec", c.req)
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

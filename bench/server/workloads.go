package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// The lock release script: delete the key only if it still holds the
// caller's token.
const releaseScript = `if redis.call('get',KEYS[1]) == ARGV[1] then return redis.call('del',KEYS[1]) else return 0 end`

// Cursors of the workloads that fill collections in key order, so that the
// reads after them know which keys and members exist.
const (
	curList = iota
	curSet
	curHash
	curZSet
	curLock
	nCursors
)

// membersPerKey is how many members (fields) a set, hash or sorted set
// gets before the cursor comes back to its key.
const membersPerKey = 8

// target is one server under load with what the workloads know of its data.
type target struct {
	srv     *server
	keys    int64 // keyspace size
	valSize int
	filler  string // redis-benchmark's values: valSize x's (its -d data is alike)
	cursors [nCursors]atomic.Int64
	sha     string // the release script's SHA1 once loaded
}

func newTarget(srv *server, keys int64, valSize int) *target {
	return &target{srv: srv, keys: keys, valSize: valSize, filler: strings.Repeat("x", valSize)}
}

// valuePool is 1 MiB of random letters and digits (the same on every
// run): values are windows of it, so they do not compress (a block
// compressor finds no repeats within a block), as most stored data does
// not, and cost the generator a copy, not random numbers.
var valuePool = func() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	rng := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 1<<20)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}()

// value is key k's value: "v<k>:" and then valSize bytes in all from
// valuePool at an offset that k picks. Every writer of key:<k>, list:<k>
// and hash:<k> writes it, so a read can check what it gets.
func (t *target) value(k int64) string {
	p := "v" + strconv.FormatInt(k, 10) + ":"
	n := t.valSize - len(p)
	if n <= 0 {
		return p
	}
	off := int((uint64(k) * 0x9E3779B97F4A7C15 >> 32) % uint64(len(valuePool)-n))
	return p + valuePool[off:off+n]
}

// covered is how many positions of a collection cursor have been written
// (at most keys x membersPerKey distinct ones).
func (t *target) covered(c int) int64 {
	return min(t.cursors[c].Load(), t.keys*membersPerKey)
}

// op is one queued operation and what its check needs.
type op struct {
	cmd redis.Cmder
	k   int64
	j   int64
	n   int64
	ks  [5]int64
}

// worker is one client's state.
type worker struct {
	t   *target
	rng *rand.Rand
	ctx context.Context
}

func (w *worker) key() int64 { return w.rng.Int64N(w.t.keys) }

// next takes the next position of a filling cursor: key n mod keys,
// member n / keys.
func (w *worker) next(c int) (k, j, n int64) {
	n = w.t.cursors[c].Add(1) - 1
	return n % w.t.keys, (n / w.t.keys) % membersPerKey, n
}

// written picks a position a filling cursor has written.
func (w *worker) written(c int) (k, j int64) {
	cov := w.t.covered(c)
	if cov == 0 {
		return w.key(), 0
	}
	n := w.rng.Int64N(cov)
	return n % w.t.keys, n / w.t.keys
}

// ks is a key name: prefix and k in 12 digits, as redis-benchmark expands
// __rand_int__, so its reads find the keys the workloads wrote.
func ks(prefix string, k int64) string {
	var b [32]byte
	d := strconv.AppendInt(b[:0], k, 10)
	out := make([]byte, 0, len(prefix)+12)
	out = append(out, prefix...)
	for i := len(d); i < 12; i++ {
		out = append(out, '0')
	}
	return string(append(out, d...))
}

func field(j int64) string { return "f" + strconv.FormatInt(j, 10) }

func member(j int64) string { return "m" + strconv.FormatInt(j, 10) }

// workload is one command measured alone.
type workload struct {
	Name  string
	Group string // strings, lists, sets, hashes, zsets, scripts, transactions
	Write bool
	// cmds are the commands the workload sends: a server whose COMMAND INFO
	// does not know one of them does not support the workload (yet), and
	// its line is reported as unsupported.
	cmds []string
	// setup runs before each line (preloads it needs).
	setup func(ctx context.Context, t *target, clients int) error
	queue func(w *worker, p redis.Pipeliner) op
	check func(w *worker, o *op) error
	// rb is the command redis-benchmark runs for this workload, with the
	// -r keyspace it needs; nil: redis-benchmark cannot express it.
	rb func(t *target, peers []*target) (args []string, keyspace int64)
}

var errUnexpected = errors.New("unexpected reply")

func expectStr(cmd redis.Cmder, want string) error {
	got, err := cmd.(interface{ Result() (string, error) }).Result()
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("%w: %q, want %q", errUnexpected, abbrev(got), abbrev(want))
	}
	return nil
}

func abbrev(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

func intIn(cmd *redis.IntCmd, lo, hi int64) error {
	v, err := cmd.Result()
	if err != nil {
		return err
	}
	if v < lo || v > hi {
		return fmt.Errorf("%w: %d, want %d..%d", errUnexpected, v, lo, hi)
	}
	return nil
}

// minCovered is the smallest number of keys a cursor covered on any of the
// targets, so redis-benchmark reads the same hit ratio from each.
func minCovered(c int, ts []*target) int64 {
	n := ts[0].keys
	for _, t := range ts {
		n = min(n, t.covered(c))
	}
	return max(n, 1)
}

var workloads = []*workload{
	{
		Name: "SET", Group: "strings", Write: true, cmds: []string{"set"},
		queue: func(w *worker, p redis.Pipeliner) op {
			k := w.key()
			return op{cmd: p.Set(w.ctx, ks("key:", k), w.t.value(k), 0), k: k}
		},
		check: func(w *worker, o *op) error { return expectStr(o.cmd, "OK") },
		rb: func(t *target, _ []*target) ([]string, int64) {
			return []string{"SET", "rb:key:__rand_int__", t.filler}, t.keys
		},
	},
	{
		Name: "GET", Group: "strings", cmds: []string{"get"},
		queue: func(w *worker, p redis.Pipeliner) op {
			k := w.key()
			return op{cmd: p.Get(w.ctx, ks("key:", k)), k: k}
		},
		check: func(w *worker, o *op) error { return expectStr(o.cmd, w.t.value(o.k)) },
		rb: func(t *target, _ []*target) ([]string, int64) {
			return []string{"GET", "key:__rand_int__"}, t.keys
		},
	},
	{
		Name: "INCR", Group: "strings", Write: true, cmds: []string{"incr"},
		queue: func(w *worker, p redis.Pipeliner) op {
			return op{cmd: p.Incr(w.ctx, ks("ctr:", w.key()))}
		},
		check: func(w *worker, o *op) error { return intIn(o.cmd.(*redis.IntCmd), 1, 1<<62) },
		rb: func(t *target, _ []*target) ([]string, int64) {
			return []string{"INCR", "rb:ctr:__rand_int__"}, t.keys
		},
	},
	{
		Name: "MSET", Group: "strings", Write: true, cmds: []string{"mset"},
		queue: func(w *worker, p redis.Pipeliner) op {
			kv := make([]any, 0, 20)
			for range 10 {
				k := w.key()
				kv = append(kv, ks("key:", k), w.t.value(k))
			}
			return op{cmd: p.MSet(w.ctx, kv...)}
		},
		check: func(w *worker, o *op) error { return expectStr(o.cmd, "OK") },
		rb: func(t *target, _ []*target) ([]string, int64) {
			a := []string{"MSET"}
			for range 10 {
				a = append(a, "rb:key:__rand_int__", t.filler)
			}
			return a, t.keys
		},
	},
	{
		Name: "LPUSH", Group: "lists", Write: true, cmds: []string{"lpush"},
		queue: func(w *worker, p redis.Pipeliner) op {
			k, _, _ := w.next(curList)
			return op{cmd: p.LPush(w.ctx, ks("list:", k), w.t.value(k))}
		},
		check: func(w *worker, o *op) error { return intIn(o.cmd.(*redis.IntCmd), 1, 1<<62) },
		rb: func(t *target, _ []*target) ([]string, int64) {
			return []string{"LPUSH", "rb:list:__rand_int__", t.filler}, t.keys
		},
	},
	{
		Name: "RPOP", Group: "lists", Write: true, cmds: []string{"rpop"},
		queue: func(w *worker, p redis.Pipeliner) op {
			k, _ := w.written(curList)
			return op{cmd: p.RPop(w.ctx, ks("list:", k)), k: k}
		},
		check: func(w *worker, o *op) error {
			if errors.Is(o.cmd.Err(), redis.Nil) { // emptied by earlier pops
				return nil
			}
			return expectStr(o.cmd, w.t.value(o.k))
		},
		rb: func(t *target, peers []*target) ([]string, int64) {
			return []string{"RPOP", "list:__rand_int__"}, min(minCovered(curList, peers), t.keys)
		},
	},
	{
		Name: "SADD", Group: "sets", Write: true, cmds: []string{"sadd"},
		queue: func(w *worker, p redis.Pipeliner) op {
			k, j, _ := w.next(curSet)
			return op{cmd: p.SAdd(w.ctx, ks("set:", k), member(j))}
		},
		check: func(w *worker, o *op) error { return intIn(o.cmd.(*redis.IntCmd), 0, 1) },
		rb: func(t *target, _ []*target) ([]string, int64) {
			return []string{"SADD", "rb:set:__rand_int__", "m__rand_int__"}, t.keys
		},
	},
	{
		Name: "SISMEMBER", Group: "sets", cmds: []string{"sismember"},
		queue: func(w *worker, p redis.Pipeliner) op {
			k, j := w.written(curSet)
			return op{cmd: p.SIsMember(w.ctx, ks("set:", k), member(j))}
		},
		check: func(w *worker, o *op) error {
			v, err := o.cmd.(*redis.BoolCmd).Result()
			if err == nil && !v {
				return fmt.Errorf("%w: a member added is missing", errUnexpected)
			}
			return err
		},
		rb: func(t *target, peers []*target) ([]string, int64) {
			return []string{"SISMEMBER", "set:__rand_int__", "m0"}, minCovered(curSet, peers)
		},
	},
	{
		Name: "HSET", Group: "hashes", Write: true, cmds: []string{"hset"},
		queue: func(w *worker, p redis.Pipeliner) op {
			k, j, _ := w.next(curHash)
			return op{cmd: p.HSet(w.ctx, ks("hash:", k), field(j), w.t.value(k))}
		},
		check: func(w *worker, o *op) error { return intIn(o.cmd.(*redis.IntCmd), 0, 1) },
		rb: func(t *target, _ []*target) ([]string, int64) {
			return []string{"HSET", "rb:hash:__rand_int__", "f0", t.filler}, t.keys
		},
	},
	{
		Name: "HGET", Group: "hashes", cmds: []string{"hget"},
		queue: func(w *worker, p redis.Pipeliner) op {
			k, j := w.written(curHash)
			return op{cmd: p.HGet(w.ctx, ks("hash:", k), field(j)), k: k}
		},
		check: func(w *worker, o *op) error { return expectStr(o.cmd, w.t.value(o.k)) },
		rb: func(t *target, peers []*target) ([]string, int64) {
			return []string{"HGET", "hash:__rand_int__", "f0"}, minCovered(curHash, peers)
		},
	},
	{
		Name: "ZADD", Group: "zsets", Write: true, cmds: []string{"zadd"},
		queue: func(w *worker, p redis.Pipeliner) op {
			k, j, _ := w.next(curZSet)
			return op{cmd: p.ZAdd(w.ctx, ks("zset:", k), redis.Z{Score: float64(j) + 0.5, Member: member(j)})}
		},
		check: func(w *worker, o *op) error { return intIn(o.cmd.(*redis.IntCmd), 0, 1) },
		rb: func(t *target, _ []*target) ([]string, int64) {
			return []string{"ZADD", "rb:zset:__rand_int__", "1.5", "m__rand_int__"}, t.keys
		},
	},
	{
		Name: "ZSCORE", Group: "zsets", cmds: []string{"zscore"},
		queue: func(w *worker, p redis.Pipeliner) op {
			k, j := w.written(curZSet)
			return op{cmd: p.ZScore(w.ctx, ks("zset:", k), member(j)), j: j}
		},
		check: func(w *worker, o *op) error {
			v, err := o.cmd.(*redis.FloatCmd).Result()
			if err == nil && v != float64(o.j)+0.5 {
				return fmt.Errorf("%w: score %v, want %v", errUnexpected, v, float64(o.j)+0.5)
			}
			return err
		},
		rb: func(t *target, peers []*target) ([]string, int64) {
			return []string{"ZSCORE", "zset:__rand_int__", "m0"}, minCovered(curZSet, peers)
		},
	},
	{
		Name: "ZRANGE", Group: "zsets", cmds: []string{"zrange"},
		queue: func(w *worker, p redis.Pipeliner) op {
			k, j := w.written(curZSet)
			return op{cmd: p.ZRange(w.ctx, ks("zset:", k), 0, 9), j: j}
		},
		check: func(w *worker, o *op) error {
			v, err := o.cmd.(*redis.StringSliceCmd).Result()
			if err == nil && (len(v) <= int(o.j) || len(v) > membersPerKey) {
				return fmt.Errorf("%w: %d members, want more than %d", errUnexpected, len(v), o.j)
			}
			return err
		},
		rb: func(t *target, peers []*target) ([]string, int64) {
			return []string{"ZRANGE", "zset:__rand_int__", "0", "9"}, minCovered(curZSet, peers)
		},
	},
	{
		Name: "ZRANK", Group: "zsets", cmds: []string{"zrank"},
		queue: func(w *worker, p redis.Pipeliner) op {
			k, j := w.written(curZSet)
			return op{cmd: p.ZRank(w.ctx, ks("zset:", k), member(j)), j: j}
		},
		// Members are added in score order, so a member's rank is its index.
		check: func(w *worker, o *op) error { return intIn(o.cmd.(*redis.IntCmd), o.j, o.j) },
		rb: func(t *target, peers []*target) ([]string, int64) {
			return []string{"ZRANK", "zset:__rand_int__", "m0"}, minCovered(curZSet, peers)
		},
	},
	{
		Name: "EVALSHA", Group: "scripts", Write: true, cmds: []string{"script", "evalsha"},
		setup: setupLocks,
		queue: func(w *worker, p redis.Pipeliner) op {
			k, _, n := w.next(curLock)
			return op{cmd: p.EvalSha(w.ctx, w.t.sha, []string{ks("lock:", k)}, ks("owner-", k)), n: n}
		},
		// Every lock is held by its owner at the start of the line, so the
		// first release of each deletes it; later ones find it gone.
		check: func(w *worker, o *op) error {
			want := int64(0)
			if o.n < w.t.keys {
				want = 1
			}
			v, err := o.cmd.(*redis.Cmd).Int64()
			if err == nil && v != want {
				return fmt.Errorf("%w: %d, want %d", errUnexpected, v, want)
			}
			return err
		},
		rb: func(t *target, _ []*target) ([]string, int64) {
			return []string{"EVALSHA", t.sha, "1", "rb:lock:__rand_int__", "owner"}, t.keys
		},
	},
	{
		Name: "MULTI", Group: "transactions", Write: true, cmds: []string{"multi", "set", "get", "incr", "exec"},
		queue: func(w *worker, p redis.Pipeliner) op {
			var o op
			for i := range o.ks {
				o.ks[i] = w.key()
			}
			p.Do(w.ctx, "multi")
			p.Do(w.ctx, "set", ks("key:", o.ks[0]), w.t.value(o.ks[0]))
			p.Do(w.ctx, "get", ks("key:", o.ks[1]))
			p.Do(w.ctx, "incr", ks("ctr:", o.ks[2]))
			p.Do(w.ctx, "set", ks("key:", o.ks[3]), w.t.value(o.ks[3]))
			p.Do(w.ctx, "get", ks("key:", o.ks[4]))
			o.cmd = p.Do(w.ctx, "exec")
			return o
		},
		check: func(w *worker, o *op) error {
			v, err := o.cmd.(*redis.Cmd).Slice()
			if err != nil {
				return err
			}
			if len(v) != 5 || v[0] != "OK" || v[1] != w.t.value(o.ks[1]) || v[3] != "OK" || v[4] != w.t.value(o.ks[4]) {
				return fmt.Errorf("%w: EXEC gave %v", errUnexpected, abbrevAny(v))
			}
			if n, ok := v[2].(int64); !ok || n < 1 {
				return fmt.Errorf("%w: INCR in EXEC gave %v", errUnexpected, v[2])
			}
			return nil
		},
	},
}

func abbrevAny(v []any) string {
	s := fmt.Sprint(v)
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return s
}

// setupLocks loads the release script and makes every lock:<k> held by
// owner-<k>, and rewinds the lock cursor.
func setupLocks(ctx context.Context, t *target, clients int) error {
	c := t.srv.client(1)
	sha, err := c.ScriptLoad(ctx, releaseScript).Result()
	c.Close()
	if err != nil {
		return err
	}
	t.sha = sha
	t.cursors[curLock].Store(0)
	return fill(ctx, t, clients, func(k int64) (string, string) { return ks("lock:", k), ks("owner-", k) })
}

// preloadStrings writes key:<k> = value(k) for every key.
func preloadStrings(ctx context.Context, t *target, clients int) error {
	return fill(ctx, t, clients, func(k int64) (string, string) { return ks("key:", k), t.value(k) })
}

// fill writes kv(k) for k in [0, keys) with MSETs of 100 pairs, pipelined
// 4 deep, over clients connections.
func fill(ctx context.Context, t *target, clients int, kv func(int64) (string, string)) error {
	const perMSet, depth = 100, 4
	var next atomic.Int64
	errc := make(chan error, clients)
	for range clients {
		go func() {
			c := t.srv.client(1)
			defer c.Close()
			p := c.Pipeline()
			for {
				start := next.Add(perMSet*depth) - perMSet*depth
				if start >= t.keys {
					errc <- nil
					return
				}
				end := min(start+perMSet*depth, t.keys)
				for b := start; b < end; b += perMSet {
					args := make([]any, 0, 2*perMSet)
					for k := b; k < min(b+perMSet, end); k++ {
						key, val := kv(k)
						args = append(args, key, val)
					}
					p.MSet(ctx, args...)
				}
				if _, err := p.Exec(ctx); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	var first error
	for range clients {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	return first
}

func findWorkload(name string) *workload {
	for _, w := range workloads {
		if strings.EqualFold(w.Name, name) {
			return w
		}
	}
	return nil
}

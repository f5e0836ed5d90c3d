package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The kill -9 test (RELIABILITY.md G21): go-redis clients write through a
// strata-server process (plain SETs, pipelines, MULTI/EXEC, EVAL, INCR,
// HINCRBY, RPUSH, ZINCRBY, and MULTI/EXEC and EVAL writing a string, a
// hash, a list, a set and a sorted set at once) until the process is
// killed with SIGKILL at a random moment; after a restart, every write
// whose reply a client received is there, and every EXEC and EVAL is there
// whole or not at all. Per appendfsync mode.

var killCycles = flag.Int("kill.cycles", 3, "kill -9 cycles per appendfsync mode in TestKill9 (CI: 50)")

// killModel is what the clients did, as far as they know.
type killModel struct {
	mu sync.Mutex
	// seq: the value written to each plain key, acked and attempted.
	acked, tried map[string]int
	// groups: the keys of each EXEC or EVAL, and whether it was acked.
	groups map[string][]string
	done   map[string]bool
	// counters: the largest INCR reply acked, and INCRs sent ever. The
	// same for hash fields (HINCRBY) and scores (ZINCRBY), by "key field".
	incrAcked, incrTried map[string]int64
	hincAcked, hincTried map[string]int64
	zincAcked, zincTried map[string]int64
	// lists: each worker RPUSHes 1, 2, 3... to its own list.
	pushAcked, pushTried map[string]int
	// mixed: EXECs and EVALs writing one key of each type.
	mixed     map[string]bool // gid -> acknowledged
	nextGroup int
}

func newKillModel() *killModel {
	return &killModel{acked: map[string]int{}, tried: map[string]int{}, groups: map[string][]string{},
		done: map[string]bool{}, incrAcked: map[string]int64{}, incrTried: map[string]int64{},
		hincAcked: map[string]int64{}, hincTried: map[string]int64{}, zincAcked: map[string]int64{}, zincTried: map[string]int64{},
		pushAcked: map[string]int{}, pushTried: map[string]int{}, mixed: map[string]bool{}}
}

func (m *killModel) nextSeq(key string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tried[key]++
	return m.tried[key]
}

func (m *killModel) ack(key string, seq int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if seq > m.acked[key] {
		m.acked[key] = seq
	}
}

func (m *killModel) newGroup(prefix string) (string, []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nextGroup++
	id := fmt.Sprintf("%s%d", prefix, m.nextGroup)
	keys := []string{id + ":1", id + ":2", id + ":3"}
	m.groups[id] = keys
	return id, keys
}

// worker writes with one kind of command until the connection fails.
func (m *killModel) worker(ctx context.Context, addr string, id int, proto int) {
	rdb := redis.NewClient(&redis.Options{Addr: addr, Protocol: proto, MaxRetries: -1, PoolSize: 1,
		DialTimeout: 2 * time.Second, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second})
	defer rdb.Close()
	r := rand.New(rand.NewPCG(uint64(id), uint64(time.Now().UnixNano())))
	for ctx.Err() == nil {
		var err error
		switch id % 10 {
		case 0: // plain SET
			key := fmt.Sprintf("p:%d:%d", id, r.IntN(40))
			seq := m.nextSeq(key)
			if err = rdb.Set(ctx, key, seq, 0).Err(); err == nil {
				m.ack(key, seq)
			}
		case 1: // a pipeline of SETs
			keys := make([]string, 8)
			seqs := make([]int, 8)
			_, err = rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				for i := range keys {
					keys[i] = fmt.Sprintf("q:%d:%d", id, r.IntN(60))
					seqs[i] = m.nextSeq(keys[i])
					p.Set(ctx, keys[i], seqs[i], 0)
				}
				return nil
			})
			if err == nil {
				for i := range keys {
					m.ack(keys[i], seqs[i])
				}
			}
		case 2: // MULTI/EXEC
			gid, keys := m.newGroup(fmt.Sprintf("tx:%d:", id))
			_, err = rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
				for _, k := range keys {
					p.Set(ctx, k, gid, 0)
				}
				return nil
			})
			if err == nil {
				m.mu.Lock()
				m.done[gid] = true
				m.mu.Unlock()
			}
		case 3: // EVAL
			gid, keys := m.newGroup(fmt.Sprintf("ev:%d:", id))
			err = rdb.Eval(ctx, "for i = 1, #KEYS do redis.call('SET', KEYS[i], ARGV[1]) end return #KEYS", keys, gid).Err()
			if err == nil {
				m.mu.Lock()
				m.done[gid] = true
				m.mu.Unlock()
			}
		case 4: // INCR
			key := fmt.Sprintf("c:%d", id)
			err = m.count(m.incrTried, m.incrAcked, key, func() (int64, error) { return rdb.Incr(ctx, key).Result() })
		case 5: // HINCRBY on a few fields of one hash
			key, field := fmt.Sprintf("h:%d", id), fmt.Sprintf("f%d", r.IntN(8))
			err = m.count(m.hincTried, m.hincAcked, key+" "+field, func() (int64, error) { return rdb.HIncrBy(ctx, key, field, 1).Result() })
		case 6: // RPUSH 1, 2, 3... to the worker's own list
			key := fmt.Sprintf("l:%d", id)
			m.mu.Lock()
			m.pushTried[key]++
			n := m.pushTried[key]
			m.mu.Unlock()
			if err = rdb.RPush(ctx, key, n).Err(); err == nil {
				m.mu.Lock()
				m.pushAcked[key] = max(m.pushAcked[key], n)
				m.mu.Unlock()
			}
		case 7, 9: // one key of each type in one EXEC (7) or one EVAL (9)
			gid := m.newMixed(fmt.Sprintf("mx:%d:", id))
			if id%10 == 7 {
				_, err = rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
					p.Set(ctx, gid+":s", gid, 0)
					p.HSet(ctx, gid+":h", "f", gid)
					p.RPush(ctx, gid+":l", gid)
					p.SAdd(ctx, gid+":st", gid)
					p.ZAdd(ctx, gid+":z", redis.Z{Score: 1.5, Member: gid})
					return nil
				})
			} else {
				err = rdb.Eval(ctx, mixedScript, []string{gid + ":s", gid + ":h", gid + ":l", gid + ":st", gid + ":z"}, gid).Err()
			}
			if err == nil {
				m.mu.Lock()
				m.mixed[gid] = true
				m.mu.Unlock()
			}
		case 8: // ZINCRBY a leaderboard
			member := fmt.Sprintf("p%d", r.IntN(6))
			key := fmt.Sprintf("board:%d", id)
			err = m.count(m.zincTried, m.zincAcked, key+" "+member, func() (int64, error) {
				f, err := rdb.ZIncrBy(ctx, key, 1, member).Result()
				return int64(f), err
			})
		}
		if err != nil {
			return
		}
	}
}

// mixedScript writes one key of each type, as the EXEC of case 7 does.
const mixedScript = `redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'f', ARGV[1])
redis.call('RPUSH', KEYS[3], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[1])
return redis.call('ZADD', KEYS[5], 1.5, ARGV[1])`

// count runs an increment of counter name, noting it tried and the
// largest value acknowledged.
func (m *killModel) count(tried, acked map[string]int64, name string, incr func() (int64, error)) error {
	m.mu.Lock()
	tried[name]++
	m.mu.Unlock()
	n, err := incr()
	if err == nil {
		m.mu.Lock()
		acked[name] = max(acked[name], n)
		m.mu.Unlock()
	}
	return err
}

func (m *killModel) newMixed(prefix string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nextGroup++
	gid := fmt.Sprintf("%s%d", prefix, m.nextGroup)
	m.mixed[gid] = false
	return gid
}

// verify checks the restarted server against the model.
func (m *killModel) verify(t *testing.T, addr string) (checked int) {
	t.Helper()
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	m.mu.Lock()
	defer m.mu.Unlock()
	get := func(keys []string) []interface{} {
		vals, err := rdb.MGet(ctx, keys...).Result()
		if err != nil {
			t.Fatal(err)
		}
		return vals
	}
	var keys []string
	for k := range m.tried {
		keys = append(keys, k)
	}
	for start := 0; start < len(keys); start += 500 {
		batch := keys[start:min(start+500, len(keys))]
		for i, v := range get(batch) {
			k := batch[i]
			seq := 0
			if s, ok := v.(string); ok {
				seq, _ = strconv.Atoi(s)
			}
			if seq < m.acked[k] || seq > m.tried[k] {
				t.Errorf("%s = %d after the crash: acknowledged up to %d, written up to %d", k, seq, m.acked[k], m.tried[k])
			}
			// What survived is what the next writes build on.
			m.acked[k] = seq
			m.tried[k] = max(seq, m.tried[k])
			checked++
		}
	}
	// The checks below run in pipelines of up to 500 commands: the state
	// grows with every cycle, and one round trip per check made the
	// verification quadratic in the number of cycles.
	pipe := func(n int, queue func(p redis.Pipeliner, i int), check func(cmds []redis.Cmder, i int)) {
		for lo := 0; lo < n; lo += 500 {
			hi := min(lo+500, n)
			cmds, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				for i := lo; i < hi; i++ {
					queue(p, i)
				}
				return nil
			})
			if err != nil && !errors.Is(err, redis.Nil) {
				t.Fatal(err)
			}
			per := len(cmds) / (hi - lo)
			for i := lo; i < hi; i++ {
				check(cmds[(i-lo)*per:(i-lo+1)*per], i)
			}
		}
	}
	gids := make([]string, 0, len(m.groups))
	for gid := range m.groups {
		gids = append(gids, gid)
	}
	pipe(len(gids), func(p redis.Pipeliner, i int) { p.MGet(ctx, m.groups[gids[i]]...) }, func(cmds []redis.Cmder, i int) {
		gid, gkeys := gids[i], m.groups[gids[i]]
		vals, err := cmds[0].(*redis.SliceCmd).Result()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, v := range vals {
			if v == gid {
				n++
			}
		}
		switch {
		case m.done[gid] && n != len(gkeys):
			t.Errorf("%s was acknowledged but %d of its %d keys survived", gid, n, len(gkeys))
		case n != 0 && n != len(gkeys):
			t.Errorf("%s is half there: %d of %d keys", gid, n, len(gkeys))
		}
		checked++
		if n == len(gkeys) {
			m.done[gid] = true
		}
	})
	counters := []struct {
		what         string
		tried, acked map[string]int64
		read         func(p redis.Pipeliner, name string)
		value        func(c redis.Cmder) (int64, error)
	}{
		{"INCR", m.incrTried, m.incrAcked, func(p redis.Pipeliner, k string) { p.Get(ctx, k) },
			func(c redis.Cmder) (int64, error) { return c.(*redis.StringCmd).Int64() }},
		{"HINCRBY", m.hincTried, m.hincAcked, func(p redis.Pipeliner, k string) {
			key, field, _ := strings.Cut(k, " ")
			p.HGet(ctx, key, field)
		}, func(c redis.Cmder) (int64, error) { return c.(*redis.StringCmd).Int64() }},
		{"ZINCRBY", m.zincTried, m.zincAcked, func(p redis.Pipeliner, k string) {
			key, member, _ := strings.Cut(k, " ")
			p.ZScore(ctx, key, member)
		}, func(c redis.Cmder) (int64, error) {
			f, err := c.(*redis.FloatCmd).Result()
			return int64(f), err
		}},
	}
	for _, c := range counters {
		names := make([]string, 0, len(c.tried))
		for k := range c.tried {
			names = append(names, k)
		}
		pipe(len(names), func(p redis.Pipeliner, i int) { c.read(p, names[i]) }, func(cmds []redis.Cmder, i int) {
			k, tried := names[i], c.tried[names[i]]
			v, err := c.value(cmds[0])
			if err != nil && !errors.Is(err, redis.Nil) {
				t.Fatal(err)
			}
			if v < c.acked[k] || v > tried {
				t.Errorf("%s = %d after the crash: acknowledged up to %d, %d %ss sent", k, v, c.acked[k], tried, c.what)
			}
			c.acked[k] = v
			c.tried[k] = max(v, tried)
			checked++
		})
	}
	for k, tried := range m.pushTried {
		vals, err := rdb.LRange(ctx, k, 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		// What survived is 1..n in order, for an n between the pushes
		// acknowledged and those sent.
		for i, v := range vals {
			if v != strconv.Itoa(i+1) {
				t.Errorf("%s holds %q after the crash: not 1..n in order", k, vals)
				break
			}
		}
		if n := len(vals); n < m.pushAcked[k] || n > tried {
			t.Errorf("%s has %d elements after the crash: acknowledged up to %d, %d pushed", k, n, m.pushAcked[k], tried)
		}
		m.pushAcked[k] = len(vals)
		m.pushTried[k] = len(vals)
		checked++
	}
	mixed := make([]string, 0, len(m.mixed))
	for gid := range m.mixed {
		mixed = append(mixed, gid)
	}
	pipe(len(mixed), func(p redis.Pipeliner, i int) {
		gid := mixed[i]
		p.Get(ctx, gid+":s")
		p.HGet(ctx, gid+":h", "f")
		p.LRange(ctx, gid+":l", 0, -1)
		p.SIsMember(ctx, gid+":st", gid)
		p.ZScore(ctx, gid+":z", gid)
	}, func(cmds []redis.Cmder, i int) {
		gid := mixed[i]
		parts := 0
		if v, _ := cmds[0].(*redis.StringCmd).Result(); v == gid {
			parts++
		}
		if v, _ := cmds[1].(*redis.StringCmd).Result(); v == gid {
			parts++
		}
		if v, _ := cmds[2].(*redis.StringSliceCmd).Result(); len(v) == 1 && v[0] == gid {
			parts++
		}
		if ok, _ := cmds[3].(*redis.BoolCmd).Result(); ok {
			parts++
		}
		if f, err := cmds[4].(*redis.FloatCmd).Result(); err == nil && f == 1.5 {
			parts++
		}
		acked := m.mixed[gid]
		switch {
		case acked && parts != 5:
			t.Errorf("%s (a string, a hash, a list, a set and a sorted set) was acknowledged but %d of its 5 keys survived", gid, parts)
		case parts != 0 && parts != 5:
			t.Errorf("%s is half there: %d of its 5 keys", gid, parts)
		}
		m.mixed[gid] = parts == 5
		checked++
	})
	return checked
}

func TestKill9(t *testing.T) {
	cycles := *killCycles
	if testing.Short() {
		cycles = 1
	}
	for _, mode := range []string{"always", "everysec", "no"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			m := newKillModel()
			port := freePort(t)
			args := []string{"--dir", dir, "--port", port, "--bind", "127.0.0.1", "--appendfsync", mode, "--loglevel", "warning"}
			p := start(t, args...)
			total := 0
			for c := 0; c < cycles; c++ {
				ctx, cancel := context.WithCancel(context.Background())
				var wg sync.WaitGroup
				for w := 0; w < 10; w++ {
					wg.Add(1)
					go func(w int) { defer wg.Done(); m.worker(ctx, p.addr, w, 2+w%2) }(w)
				}
				time.Sleep(time.Duration(100+rand.IntN(600)) * time.Millisecond)
				p.cmd.Process.Kill() // SIGKILL
				p.wait(t)
				cancel()
				wg.Wait()
				t0 := time.Now()
				p = start(t, args...)
				t1 := time.Now()
				n := m.verify(t, p.addr)
				total += n
				if testing.Verbose() {
					t.Logf("cycle %d: restart %v, %d checks in %v", c, t1.Sub(t0).Round(time.Millisecond), n, time.Since(t1).Round(time.Millisecond))
				}
				if t.Failed() {
					t.Fatalf("cycle %d failed; server log:\n%s", c, p.stderr)
				}
			}
			m.mu.Lock()
			acked := 0
			for _, ok := range m.done {
				if ok {
					acked++
				}
			}
			for _, ok := range m.mixed {
				if ok {
					acked++
				}
			}
			m.mu.Unlock()
			t.Logf("appendfsync %s: %d kill -9 cycles, %d checks, %d transactions and scripts whole", mode, cycles, total, acked)
			p.cmd.Process.Kill()
			p.wait(t)
		})
	}
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The kill -9 test (RELIABILITY.md G21): go-redis clients write through a
// strata-server process (plain SETs, pipelines, MULTI/EXEC, EVAL, INCR)
// until the process is killed with SIGKILL at a random moment; after a
// restart, every write whose reply a client received is there, and every
// EXEC and EVAL is there whole or not at all. Per appendfsync mode.

var killCycles = flag.Int("kill.cycles", 3, "kill -9 cycles per appendfsync mode in TestKill9 (CI: 50)")

// killModel is what the clients did, as far as they know.
type killModel struct {
	mu sync.Mutex
	// seq: the value written to each plain key, acked and attempted.
	acked, tried map[string]int
	// groups: the keys of each EXEC or EVAL, and whether it was acked.
	groups map[string][]string
	done   map[string]bool
	// counters: the largest INCR reply acked, and INCRs sent ever.
	incrAcked, incrTried map[string]int64
	nextGroup            int
}

func newKillModel() *killModel {
	return &killModel{acked: map[string]int{}, tried: map[string]int{}, groups: map[string][]string{},
		done: map[string]bool{}, incrAcked: map[string]int64{}, incrTried: map[string]int64{}}
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
		switch id % 5 {
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
			m.mu.Lock()
			m.incrTried[key]++
			m.mu.Unlock()
			var n int64
			if n, err = rdb.Incr(ctx, key).Result(); err == nil {
				m.mu.Lock()
				if n > m.incrAcked[key] {
					m.incrAcked[key] = n
				}
				m.mu.Unlock()
			}
		}
		if err != nil {
			return
		}
	}
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
	for gid, gkeys := range m.groups {
		vals := get(gkeys)
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
	}
	for k, tried := range m.incrTried {
		v, err := rdb.Get(ctx, k).Int64()
		if err != nil && !errors.Is(err, redis.Nil) {
			t.Fatal(err)
		}
		if v < m.incrAcked[k] || v > tried {
			t.Errorf("%s = %d after the crash: acknowledged up to %d, %d INCRs sent", k, v, m.incrAcked[k], tried)
		}
		m.incrAcked[k] = v
		checked++
	}
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
				p = start(t, args...)
				total += m.verify(t, p.addr)
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
			m.mu.Unlock()
			t.Logf("appendfsync %s: %d kill -9 cycles, %d checks, %d transactions and scripts whole", mode, cycles, total, acked)
			p.cmd.Process.Kill()
			p.wait(t)
		})
	}
}

package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// waitBlocked polls INFO until the server counts n blocked clients.
func waitBlocked(t *testing.T, ts *testServer, n int) {
	t.Helper()
	c := dial(t, ts.addr)
	defer c.nc.Close()
	want := fmt.Sprintf("blocked_clients:%d\r\n", n)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(c.do("INFO", "clients"), want) {
		if time.Now().After(deadline) {
			t.Fatalf("the server never counted %d blocked clients", n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestGoRedisBlockingPops drives the blocking pops with go-redis clients,
// each on its own connection, in RESP3 and RESP2: consumers are served in
// the order they blocked, by pushes from other clients, from EXEC and from
// Go code on the server's Store; timeouts answer nil; a transaction never
// blocks.
func TestGoRedisBlockingPops(t *testing.T) {
	ts := startServer(t, nil)
	for _, proto := range []int{3, 2} {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			ctx := context.Background()
			client := func() *redis.Client {
				rdb := redis.NewClient(&redis.Options{Addr: ts.addr, Protocol: proto, PoolSize: 1, ReadTimeout: -1})
				t.Cleanup(func() { rdb.Close() })
				return rdb
			}
			producer := client()
			if err := producer.FlushAll(ctx).Err(); err != nil {
				t.Fatal(err)
			}

			// Fairness: four consumers block one after the other; one RPUSH
			// of four jobs, then four RPUSHes of one, serve them in order.
			for round, push := range []func(){
				func() { producer.RPush(ctx, "jobs", "j0", "j1", "j2", "j3") },
				func() {
					for i := 0; i < 4; i++ {
						producer.RPush(ctx, "jobs", fmt.Sprintf("j%d", i))
					}
				},
			} {
				got := make([]string, 4)
				var wg sync.WaitGroup
				for i := 0; i < 4; i++ {
					rdb := client()
					rdb.Ping(ctx) // connected before it blocks
					wg.Add(1)
					go func() {
						defer wg.Done()
						v, err := rdb.BLPop(ctx, 0, "other", "jobs").Result()
						if err != nil {
							got[i] = err.Error()
							return
						}
						got[i] = v[0] + "=" + v[1]
					}()
					waitBlocked(t, ts, i+1)
				}
				push()
				wg.Wait()
				for i, g := range got {
					if want := fmt.Sprintf("jobs=j%d", i); g != want {
						t.Errorf("round %d: consumer %d got %q, want %q (served out of arrival order)", round, i, g, want)
					}
				}
				if n := producer.LLen(ctx, "jobs").Val(); n != 0 {
					t.Errorf("round %d: %d jobs left", round, n)
				}
			}

			// A push from EXEC wakes a BRPOP; BLMOVE and BZPOPMIN wake too.
			consumer := client()
			done := make(chan []string, 1)
			go func() { v, _ := consumer.BRPop(ctx, 0, "q").Result(); done <- v }()
			waitBlocked(t, ts, 1)
			if _, err := producer.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.LPush(ctx, "q", "a", "b")
				p.Set(ctx, "marker", "1", 0)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if v := <-done; strings.Join(v, ",") != "q,a" {
				t.Errorf("BRPOP woken by EXEC: %q", v)
			}
			moved := make(chan string, 1)
			go func() { v, _ := consumer.BLMove(ctx, "src", "dst", "LEFT", "RIGHT", 0).Result(); moved <- v }()
			waitBlocked(t, ts, 1)
			producer.RPush(ctx, "src", "m1", "m2")
			if v := <-moved; v != "m1" {
				t.Errorf("BLMOVE got %q", v)
			}
			if v := producer.LRange(ctx, "dst", 0, -1).Val(); strings.Join(v, ",") != "m1" {
				t.Errorf("dst after BLMOVE: %q", v)
			}
			zpopped := make(chan *redis.ZWithKey, 1)
			go func() { v, _ := consumer.BZPopMin(ctx, 0, "board").Result(); zpopped <- v }()
			waitBlocked(t, ts, 1)
			producer.ZAdd(ctx, "board", redis.Z{Score: 2.5, Member: "bob"}, redis.Z{Score: 1.5, Member: "ann"})
			if v := <-zpopped; v == nil || v.Key != "board" || v.Member != "ann" || v.Score != 1.5 {
				t.Errorf("BZPOPMIN got %+v", v)
			}

			// Go code pushing through Server.Store wakes a blocked client.
			go func() { v, _ := consumer.BLPop(ctx, 0, "fromgo").Result(); done <- v }()
			waitBlocked(t, ts, 1)
			if _, err := ts.s.Store().RPush([]byte("fromgo"), []byte("g")); err != nil {
				t.Fatal(err)
			}
			if v := <-done; strings.Join(v, ",") != "fromgo,g" {
				t.Errorf("BLPOP woken by Go code: %q", v)
			}

			// Timeouts and transactions answer nil.
			// (go-redis rounds durations up to a second: the raw form
			// keeps the test short.)
			if _, err := consumer.Do(ctx, "BLPOP", "empty", "0.05").Result(); !errors.Is(err, redis.Nil) {
				t.Errorf("BLPOP timing out: %v", err)
			}
			if _, err := consumer.Do(ctx, "BLMOVE", "empty", "dst", "LEFT", "LEFT", "0.05").Result(); !errors.Is(err, redis.Nil) {
				t.Errorf("BLMOVE timing out: %v", err)
			}
			cmds, err := consumer.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.BLPop(ctx, 0, "empty")
				p.BZPopMax(ctx, 0, "empty")
				return nil
			})
			if !errors.Is(err, redis.Nil) || len(cmds) != 2 {
				t.Errorf("blocking pops in MULTI: %v %v", cmds, err)
			}
			waitBlocked(t, ts, 0)
		})
	}
}

// TestBlockedClientThatLeavesLosesNothing: a client that closes its
// connection while blocked stops waiting at once, so the next push stays
// in the list instead of going to a dead connection.
func TestBlockedClientThatLeavesLosesNothing(t *testing.T) {
	ts := startServer(t, nil)
	a := dial(t, ts.addr)
	a.send("BLPOP", "q", "0")
	waitBlocked(t, ts, 1)
	a.nc.Close()
	waitBlocked(t, ts, 0)
	b := dial(t, ts.addr)
	if got := b.do("RPUSH", "q", "job"); got != ":1\r\n" {
		t.Fatalf("RPUSH: %q", got)
	}
	if got := b.do("LRANGE", "q", "0", "-1"); got != "*1\r\n$3\r\njob\r\n" {
		t.Fatalf("the element went to the client that left: %q", got)
	}
	// CLIENT KILL of a blocked client does the same.
	c := dial(t, ts.addr)
	id := strings.TrimSpace(strings.TrimPrefix(c.do("CLIENT", "ID"), ":"))
	c.send("BRPOP", "q2", "0")
	waitBlocked(t, ts, 1)
	if got := b.do("CLIENT", "KILL", "ID", id); got != ":1\r\n" {
		t.Fatalf("CLIENT KILL: %q", got)
	}
	waitBlocked(t, ts, 0)
	b.do("RPUSH", "q2", "x")
	if got := b.do("LLEN", "q2"); got != ":1\r\n" {
		t.Fatalf("LLEN after the killed client: %q", got)
	}
}

// TestBlockedClientPipeline: what a blocked client sends meanwhile runs
// after its reply, in order.
func TestBlockedClientPipeline(t *testing.T) {
	ts := startServer(t, nil)
	a, b := dial(t, ts.addr), dial(t, ts.addr)
	a.send("BLPOP", "q", "0")
	waitBlocked(t, ts, 1)
	a.send("RPUSH", "q", "own")
	a.send("LPOP", "q")
	b.do("RPUSH", "q", "first")
	for _, want := range []string{"*2\r\n$1\r\nq\r\n$5\r\nfirst\r\n", ":1\r\n", "$3\r\nown\r\n"} {
		if got := a.mustRead(); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}

// TestShutdownWithBlockedClients: a shutdown does not wait for blocked
// clients' timeouts.
func TestShutdownWithBlockedClients(t *testing.T) {
	ts := startServer(t, nil)
	for i := 0; i < 3; i++ {
		dial(t, ts.addr).send("BLPOP", fmt.Sprint("q", i), "0")
	}
	waitBlocked(t, ts, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with blocked clients: %v", err)
	}
}

// TestBlockedClientIsNotIdle: the idle timeout does not close a client
// while it is blocked, nor right after, for the time it spent blocked.
func TestBlockedClientIsNotIdle(t *testing.T) {
	ts := startServer(t, &Options{Timeout: time.Second})
	c := dial(t, ts.addr)
	if got := c.do("BLPOP", "q", "1.5"); got != "*-1\r\n" {
		t.Fatalf("BLPOP timing out: %q", got)
	}
	if got := c.do("PING"); got != "+PONG\r\n" {
		t.Fatalf("PING after a blocking pop longer than the idle timeout: %q", got)
	}
}

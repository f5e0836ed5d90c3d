package server

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestGoRedis drives the server with go-redis v9, in RESP3 (its default)
// and RESP2, through the calls applications make.
func TestGoRedis(t *testing.T) {
	ts := startServer(t, nil)
	for _, proto := range []int{3, 2} {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			ctx := context.Background()
			rdb := redis.NewClient(&redis.Options{Addr: ts.addr, Protocol: proto})
			defer rdb.Close()
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(rdb.FlushAll(ctx).Err())
			if hello, err := rdb.Do(ctx, "HELLO").Result(); err != nil {
				t.Fatal(err)
			} else if m, ok := hello.(map[interface{}]interface{}); proto == 3 && (!ok || m["proto"] != int64(3)) {
				t.Fatalf("HELLO over RESP3: %#v", hello)
			}

			must(rdb.Set(ctx, "user:1:session", `{"theme":"dark"}`, 0).Err())
			if v, err := rdb.Get(ctx, "user:1:session").Result(); err != nil || v != `{"theme":"dark"}` {
				t.Fatalf("GET: %q %v", v, err)
			}
			if _, err := rdb.Get(ctx, "missing").Result(); !errors.Is(err, redis.Nil) {
				t.Fatalf("GET missing: %v", err)
			}
			must(rdb.Set(ctx, "rate", 100, time.Minute).Err())
			if ttl, err := rdb.TTL(ctx, "rate").Result(); err != nil || ttl <= 58*time.Second || ttl > time.Minute {
				t.Fatalf("TTL: %v %v", ttl, err)
			}
			if ok, err := rdb.SetNX(ctx, "lock", "tok", 10*time.Second).Result(); err != nil || !ok {
				t.Fatalf("SETNX: %v %v", ok, err)
			}
			if ok, err := rdb.SetNX(ctx, "lock", "tok2", 10*time.Second).Result(); err != nil || ok {
				t.Fatalf("second SETNX: %v %v", ok, err)
			}
			if n, err := rdb.IncrBy(ctx, "balance", 100).Result(); err != nil || n != 100 {
				t.Fatalf("INCRBY: %d %v", n, err)
			}
			if f, err := rdb.IncrByFloat(ctx, "f", 0.1).Result(); err != nil || f != 0.1 {
				t.Fatalf("INCRBYFLOAT: %v %v", f, err)
			}
			if _, err := rdb.Incr(ctx, "user:1:session").Result(); err == nil || !strings.Contains(err.Error(), "not an integer") {
				t.Fatalf("INCR on text: %v", err)
			}
			must(rdb.MSet(ctx, "a", "1", "b", "2").Err())
			if vals, err := rdb.MGet(ctx, "a", "nope", "b").Result(); err != nil || vals[0] != "1" || vals[1] != nil || vals[2] != "2" {
				t.Fatalf("MGET: %#v %v", vals, err)
			}
			if v, err := rdb.GetEx(ctx, "a", time.Hour).Result(); err != nil || v != "1" {
				t.Fatalf("GETEX: %q %v", v, err)
			}
			if d, err := rdb.ExpireTime(ctx, "a").Result(); err != nil || d < time.Duration(time.Now().Unix())*time.Second {
				t.Fatalf("EXPIRETIME: %v %v", d, err)
			}

			// A pipeline, and MULTI/EXEC through TxPipelined.
			cmds, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				p.Incr(ctx, "api:count")
				p.Expire(ctx, "api:count", time.Minute)
				p.Get(ctx, "api:count")
				return nil
			})
			if err != nil || cmds[2].(*redis.StringCmd).Val() != "1" {
				t.Fatalf("pipeline: %v %v", cmds, err)
			}
			_, err = rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, "tx:a", "1", 0)
				p.Set(ctx, "tx:b", "2", 0)
				p.IncrBy(ctx, "tx:a", 5)
				return nil
			})
			if v, _ := rdb.Get(ctx, "tx:a").Result(); err != nil || v != "6" {
				t.Fatalf("MULTI/EXEC: %q %v", v, err)
			}
			// Optimistic locking with WATCH: a concurrent write aborts.
			err = rdb.Watch(ctx, func(tx *redis.Tx) error {
				n, _ := tx.Get(ctx, "tx:b").Int()
				rdb.Set(ctx, "tx:b", "changed", 0)
				_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
					p.Set(ctx, "tx:b", n+1, 0)
					return nil
				})
				return err
			}, "tx:b")
			if !errors.Is(err, redis.TxFailedErr) {
				t.Fatalf("WATCH with a concurrent write: %v", err)
			}

			// Scripts: EVAL, EVALSHA through Script.Run (EVALSHA first).
			release := redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) else return 0 end`)
			must(rdb.ScriptFlush(ctx).Err())
			if n, err := release.Run(ctx, rdb, []string{"lock"}, "wrong").Int(); err != nil || n != 0 {
				t.Fatalf("release with a wrong token: %d %v", n, err)
			}
			if n, err := release.Run(ctx, rdb, []string{"lock"}, "tok").Int(); err != nil || n != 1 {
				t.Fatalf("release: %d %v", n, err)
			}
			if ok, err := release.Exists(ctx, rdb).Result(); err != nil || !ok[0] {
				t.Fatalf("SCRIPT EXISTS: %v %v", ok, err)
			}
			if res, err := rdb.Eval(ctx, "return {KEYS[1], ARGV[1], 3, {ok='x'}}", []string{"k"}, "v").Result(); err != nil {
				t.Fatal(err)
			} else if s := fmt.Sprint(res); s != "[k v 3 x]" {
				t.Fatalf("EVAL: %s", s)
			}
			if _, err := rdb.Eval(ctx, "return redis.call('nosuch')", nil).Result(); err == nil || !strings.Contains(err.Error(), "Unknown Redis command") {
				t.Fatalf("EVAL error: %v", err)
			}

			// SCAN through the iterator, KEYS, DEL, EXISTS, TYPE.
			for i := 0; i < 50; i++ {
				must(rdb.Set(ctx, fmt.Sprintf("scan:%02d", i), i, 0).Err())
			}
			var got []string
			it := rdb.Scan(ctx, 0, "scan:*", 7).Iterator()
			for it.Next(ctx) {
				got = append(got, it.Val())
			}
			must(it.Err())
			sort.Strings(got)
			if len(got) != 50 || got[0] != "scan:00" || got[49] != "scan:49" {
				t.Fatalf("SCAN: %d keys %v", len(got), got)
			}
			if keys, err := rdb.Keys(ctx, "scan:1*").Result(); err != nil || len(keys) != 10 {
				t.Fatalf("KEYS: %v %v", keys, err)
			}
			if n, err := rdb.Del(ctx, "scan:00", "scan:01", "nope").Result(); err != nil || n != 2 {
				t.Fatalf("DEL: %d %v", n, err)
			}
			if typ, err := rdb.Type(ctx, "scan:02").Result(); err != nil || typ != "string" {
				t.Fatalf("TYPE: %q %v", typ, err)
			}
			if n, err := rdb.DBSize(ctx).Result(); err != nil || n < 50 {
				t.Fatalf("DBSIZE: %d %v", n, err)
			}

			// Server and connection commands.
			must(rdb.Do(ctx, "CLIENT", "SETNAME", "e2e").Err())
			if name, err := rdb.ClientGetName(ctx).Result(); err != nil || name != "e2e" {
				t.Fatalf("CLIENT GETNAME: %q %v", name, err)
			}
			if cfg, err := rdb.ConfigGet(ctx, "appendfsync").Result(); err != nil || cfg["appendfsync"] != "everysec" {
				t.Fatalf("CONFIG GET: %v %v", cfg, err)
			}
			if info, err := rdb.Info(ctx, "server").Result(); err != nil || !strings.Contains(info, "redis_version:7.0.0") {
				t.Fatalf("INFO: %v", err)
			}
			if tm, err := rdb.Time(ctx).Result(); err != nil || time.Since(tm).Abs() > time.Minute {
				t.Fatalf("TIME: %v %v", tm, err)
			}
			if n, err := rdb.Do(ctx, "COMMAND", "COUNT").Int(); err != nil || n < 80 {
				t.Fatalf("COMMAND COUNT: %d %v", n, err)
			}
			if err := rdb.Do(ctx, "CLUSTER", "INFO").Err(); err == nil || !strings.Contains(err.Error(), "not supported") {
				t.Fatalf("CLUSTER: %v", err)
			}
		})
	}
}

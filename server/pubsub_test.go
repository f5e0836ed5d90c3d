package server

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestGoRedisPubSub subscribes with go-redis (RESP3 pushes and RESP2
// arrays) to a channel and a pattern, and receives what another client
// publishes, in order.
func TestGoRedisPubSub(t *testing.T) {
	ts := startServer(t, nil)
	for _, proto := range []int{3, 2} {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			sub := redis.NewClient(&redis.Options{Addr: ts.addr, Protocol: proto})
			defer sub.Close()
			pub := redis.NewClient(&redis.Options{Addr: ts.addr, Protocol: proto})
			defer pub.Close()
			ps := sub.Subscribe(ctx, "orders")
			defer ps.Close()
			if _, err := ps.Receive(ctx); err != nil { // the confirmation
				t.Fatal(err)
			}
			if err := ps.PSubscribe(ctx, "events.*"); err != nil {
				t.Fatal(err)
			}
			if _, err := ps.Receive(ctx); err != nil {
				t.Fatal(err)
			}
			const n = 200
			for i := 0; i < n; i++ {
				if got, err := pub.Publish(ctx, "orders", strconv.Itoa(i)).Result(); err != nil || got != 1 {
					t.Fatalf("PUBLISH: %d %v", got, err)
				}
			}
			if got, err := pub.Publish(ctx, "events.login", "alice").Result(); err != nil || got != 1 {
				t.Fatalf("PUBLISH to the pattern: %d %v", got, err)
			}
			for i := 0; i < n; i++ {
				m, err := ps.ReceiveMessage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if m.Channel != "orders" || m.Payload != strconv.Itoa(i) {
					t.Fatalf("message %d: %+v", i, m)
				}
			}
			m, err := ps.ReceiveMessage(ctx)
			if err != nil || m.Pattern != "events.*" || m.Channel != "events.login" || m.Payload != "alice" {
				t.Fatalf("pattern message: %+v %v", m, err)
			}
			if got, err := pub.PubSubNumSub(ctx, "orders").Result(); err != nil || got["orders"] != 1 {
				t.Fatalf("PUBSUB NUMSUB: %v %v", got, err)
			}
			ps.Close()
			// The server drops a closed subscriber's subscriptions.
			deadline := time.Now().Add(10 * time.Second)
			for {
				got, err := pub.Publish(ctx, "orders", "late").Result()
				if err != nil {
					t.Fatal(err)
				}
				if got == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("a closed subscriber still receives")
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}

// TestPubSubManyPublishers has several clients publish at once to one
// subscriber, which must receive every message of each publisher once and
// in that publisher's order, framed whole among its own replies (PINGs
// sent meanwhile in RESP3).
func TestPubSubManyPublishers(t *testing.T) {
	ts := startServer(t, nil)
	sub := dial(t, ts.addr)
	if r := sub.do("HELLO", "3"); r[0] != '%' {
		t.Fatalf("HELLO 3: %q", r)
	}
	if r := sub.do("SUBSCRIBE", "c"); r != ">3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n" {
		t.Fatalf("SUBSCRIBE: %q", r)
	}
	const pubs, each = 4, 300
	var wg sync.WaitGroup
	for p := 0; p < pubs; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			c := dial(t, ts.addr)
			defer c.nc.Close()
			for i := 0; i < each; i++ {
				if r := c.do("PUBLISH", "c", fmt.Sprintf("%d:%d", p, i)); r != ":1\r\n" {
					t.Errorf("PUBLISH: %q", r)
					return
				}
			}
		}(p)
	}
	// Pings interleave with the messages: each reply must come whole.
	for i := 0; i < 50; i++ {
		sub.send("PING")
	}
	next := make([]int, pubs)
	pongs := 0
	for got := 0; got < pubs*each+50; got++ {
		r, err := sub.read()
		if err != nil {
			t.Fatalf("after %d replies: %v", got, err)
		}
		if r == "+PONG\r\n" {
			pongs++
			continue
		}
		v, err := parseReply(r)
		if err != nil || len(v.elems) != 3 || v.elems[0].str != "message" {
			t.Fatalf("not a message: %q", r)
		}
		var p, i int
		if _, err := fmt.Sscanf(v.elems[2].str, "%d:%d", &p, &i); err != nil || p < 0 || p >= pubs || i != next[p] {
			t.Fatalf("message %q out of order (want %d next from publisher %d)", v.elems[2].str, next[p], p)
		}
		next[p]++
	}
	wg.Wait()
	if pongs != 50 {
		t.Fatalf("%d PONGs, want 50", pongs)
	}
}

// TestPublishInATransactionLeavesOnCommit: a message PUBLISH sends from
// inside a transaction (EXEC, a script) reaches other clients only once the
// transaction commits, and never if it does not: the Store may run the
// transaction's function again, and a message must leave once.
func TestPublishInATransactionLeavesOnCommit(t *testing.T) {
	ts := startServer(t, nil)
	sub := dial(t, ts.addr)
	if r := sub.do("SUBSCRIBE", "c"); !strings.Contains(r, "subscribe") {
		t.Fatalf("SUBSCRIBE: %q", r)
	}
	publish := func(ks Keyspace, msg string) {
		argv := [][]byte{[]byte("PUBLISH"), []byte("c"), []byte(msg)}
		var w replyWriter
		publishCommand(&cmdCtx{s: ts.s, cl: &client{}, cmd: ts.s.lookup(argv), argv: argv, w: &w, ks: ks, inTx: true})
		if string(w.b) != ":1\r\n" {
			t.Errorf("PUBLISH %s answered %q", msg, w.b)
		}
	}
	err := ts.s.update(func(ks Keyspace) error {
		publish(ks, "aborted")
		return errors.New("the transaction fails")
	})
	if err == nil {
		t.Fatal("update did not fail")
	}
	err = ts.s.update(func(ks Keyspace) error {
		publish(ks, "committed")
		// Not yet: the subscriber's connection must hold nothing until
		// the commit. A PING's reply would come after a message sent now.
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := sub.mustRead(); !strings.Contains(r, "committed") || strings.Contains(r, "aborted") {
		t.Fatalf("the subscriber read %q, want the committed message alone", r)
	}
	if r := sub.do("PING"); !strings.Contains(r, "pong") {
		t.Fatalf("then %q, want PING's reply (no second message)", r)
	}
}

// TestSubscribedOnceConfirmed: a client that has read its subscription's
// confirmation is subscribed: a PUBLISH another client sends on seeing it
// reaches it (the confirmation once left before the server's maps held
// the subscription).
func TestSubscribedOnceConfirmed(t *testing.T) {
	ts := startServer(t, nil)
	sub := dial(t, ts.addr)
	pub := dial(t, ts.addr)
	for i := 0; i < 500; i++ {
		ch := fmt.Sprintf("c%d", i)
		if r := sub.do("SUBSCRIBE", ch); !strings.Contains(r, "subscribe") {
			t.Fatalf("SUBSCRIBE %s: %q", ch, r)
		}
		if r := pub.do("PUBLISH", ch, "m"); r != ":1\r\n" {
			t.Fatalf("PUBLISH to %s right after its confirmation reached %q subscribers, want 1", ch, r)
		}
		if r := sub.mustRead(); !strings.Contains(r, ch) {
			t.Fatalf("the subscriber read %q", r)
		}
	}
}

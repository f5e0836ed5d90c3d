package server

import (
	"strings"
	"testing"
	"time"
)

// TestDifferentialClientUnblock compares CLIENT UNBLOCK with Redis's, reply
// for reply, in RESP2 and RESP3: the blocked client's answer (a timeout's
// null, or the UNBLOCKED error) for each blocking command, the count the
// unblocker gets, and the argument errors. Client ids differ between the
// servers, so each side is sent its own blocked client's id.
func TestDifferentialClientUnblock(t *testing.T) {
	refAddr := refRedis(t)
	ts := startServer(t, nil)
	blocking := [][]string{
		{"BLPOP", "nokey", "0"},
		{"BRPOP", "nokey", "other", "0"},
		{"BLMOVE", "nokey", "dst", "LEFT", "RIGHT", "0"},
		{"BZPOPMIN", "nokey", "0"},
		{"BLMPOP", "0", "1", "nokey", "LEFT", "COUNT", "2"},
		{"BZMPOP", "0", "2", "nokey", "z2", "MAX"},
	}
	compared := 0
	for _, proto := range []int{2, 3} {
		p := newDiffPair(t, refAddr, ts.addr, proto)
		p.flushAll()
		ids := func(c *respConn) string {
			v, err := parseReply(c.do("CLIENT", "ID"))
			if err != nil {
				t.Fatal(err)
			}
			return v.str
		}
		refID, ourID := ids(p.ref), ids(p.ours)
		same := func(what, want, got string) {
			t.Helper()
			compared++
			if want != got {
				t.Errorf("RESP%d %s:\nredis: %q\nours:  %q", proto, what, want, got)
			}
		}
		for _, cmd := range blocking {
			for _, reason := range []string{"", "TIMEOUT", "error"} {
				what := strings.Join(cmd, " ") + " unblocked " + reason
				p.ref.send(cmd...)
				p.ours.send(cmd...)
				p.step(what, diffStep{mode: "blocked", args: []string{"1"}})
				args := func(id string) []string {
					a := []string{"CLIENT", "UNBLOCK", id}
					if reason != "" {
						a = append(a, reason)
					}
					return a
				}
				same(what+": CLIENT UNBLOCK", p.ref2.do(args(refID)...), p.our2.do(args(ourID)...))
				want, err1 := p.ref.read()
				got, err2 := p.ours.read()
				if err1 != nil || err2 != nil {
					t.Fatalf("%s: %v %v", what, err1, err2)
				}
				same(what, want, got)
				// Not blocked any more: 0.
				same(what+": again", p.ref2.do(args(refID)...), p.our2.do(args(ourID)...))
			}
		}
		for _, args := range [][]string{
			{"CLIENT", "UNBLOCK", "abc"},
			{"CLIENT", "UNBLOCK", "999999"},
			{"CLIENT", "UNBLOCK", "-5"},
			{"CLIENT", "UNBLOCK", "1", "FOO"},
			{"CLIENT", "UNBLOCK", "abc", "FOO"},
			{"CLIENT", "UNBLOCK", "1", "TIMEOUT", "x"},
			{"CLIENT", "UNBLOCK"},
			{"CLIENT", "UNBLOCK", refID},
		} {
			ours := append([]string(nil), args...)
			if len(ours) == 3 && ours[2] == refID {
				ours[2] = ourID // itself: not blocked
			}
			same(strings.Join(args, " "), p.ref2.do(args...), p.our2.do(ours...))
		}
		// Unblocked while a push serves it: it gets the element or the
		// timeout's null, never both and never nothing.
		for i := 0; i < 20; i++ {
			p.ours.send("BLPOP", "race", "0")
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(p.our2.do("INFO", "clients"), "blocked_clients:1\r\n") {
				if time.Now().After(deadline) {
					t.Fatal("never blocked")
				}
				time.Sleep(time.Millisecond)
			}
			p.our2.send("RPUSH", "race", "x")
			p.our2.send("CLIENT", "UNBLOCK", ourID)
			p.our2.read()
			p.our2.read()
			r, err := p.ours.read()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(r, "race") && r != "*-1\r\n" && r != "_\r\n" {
				t.Fatalf("unblocked during a push: %q", r)
			}
			p.our2.do("DEL", "race")
		}
	}
	t.Logf("compared %d replies of CLIENT UNBLOCK with redis-server", compared)
}

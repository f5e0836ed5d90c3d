package server

import (
	"strconv"
	"strings"
	"sync"
	"time"
)

// Slow log limits, as Redis's: an entry keeps at most 32 arguments of at
// most 128 bytes each.
const (
	slowlogMaxArgc = 32
	slowlogMaxArg  = 128
)

type slowEntry struct {
	id     int64
	at     int64 // unix seconds
	micros int64
	argv   [][]byte
	addr   string
	name   string
}

// slowlog keeps the slowest recent commands, newest first.
type slowlog struct {
	mu      sync.Mutex
	entries []slowEntry // newest last
	nextID  int64
}

func (l *slowlog) maybeAdd(s *Server, ctx *cmdCtx, start time.Time, dur time.Duration) {
	limit := time.Duration(s.slowerThan.Load())
	if limit < 0 || dur < limit || ctx.script != nil {
		return
	}
	max := int(s.slowlogMax.Load())
	e := slowEntry{at: start.Unix(), micros: dur.Microseconds()}
	argc := len(ctx.argv)
	if argc > slowlogMaxArgc {
		argc = slowlogMaxArgc
	}
	redact := ctx.cmd.name == "auth" || ctx.cmd.name == "hello" || strings.HasPrefix(ctx.cmd.name, "config|set") && len(ctx.argv) > 2 && strings.EqualFold(string(ctx.argv[2]), "requirepass")
	for i := 0; i < argc; i++ {
		a := ctx.argv[i]
		switch {
		case argc != len(ctx.argv) && i == argc-1:
			a = []byte("... (" + strconv.Itoa(len(ctx.argv)-argc+1) + " more arguments)")
		case redact && i > 0, ctx.cmd.name == "acl|setuser" && i > 1: // passwords
			a = []byte("(redacted)")
		case len(a) > slowlogMaxArg:
			a = append(append([]byte(nil), a[:slowlogMaxArg]...), "... ("+strconv.Itoa(len(a)-slowlogMaxArg)+" more bytes)"...)
		default:
			a = append([]byte(nil), a...)
		}
		e.argv = append(e.argv, a)
	}
	if ctx.cl != nil {
		e.addr, e.name = ctx.cl.addr, ctx.cl.getName()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e.id = l.nextID
	l.nextID++
	if max <= 0 {
		return
	}
	l.entries = append(l.entries, e)
	if n := len(l.entries) - max; n > 0 {
		l.entries = append(l.entries[:0], l.entries[n:]...)
	}
}

func (l *slowlog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

func (l *slowlog) reset() {
	l.mu.Lock()
	l.entries = nil
	l.mu.Unlock()
}

// write answers SLOWLOG GET count (-1: all), newest first.
func (l *slowlog) write(w *replyWriter, count int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := int64(len(l.entries))
	if count >= 0 && count < n {
		n = count
	}
	w.array(int(n))
	for i := int64(0); i < n; i++ {
		e := l.entries[len(l.entries)-1-int(i)]
		w.array(6)
		w.int(e.id)
		w.int(e.at)
		w.int(e.micros)
		w.array(len(e.argv))
		for _, a := range e.argv {
			w.bulk(a)
		}
		w.bulkString(e.addr)
		w.bulkString(e.name)
	}
}

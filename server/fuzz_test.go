package server

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stratadb/strata/lsm"
)

// FuzzRESPReader feeds arbitrary bytes to the request reader, in chunks of
// a size the input chooses: it must never panic, never return an empty
// request, and frame the same requests however the bytes are chunked.
func FuzzRESPReader(f *testing.F) {
	for _, s := range []string{
		"*2\r\n$3\r\nGET\r\n$1\r\na\r\n", "PING\r\n", "SET \"a b\" 'c'\r\n", "*0\r\n", "*-1\r\n",
		"*1\r\n$-1\r\n", "*1\r\n$4\r\nPINGxx", "ECHO \"\\x41\"\n", "*3\r\n$1\r\n\x00\r\n", "*x\r\n",
		"GET \"a\r\n", "\r\n\r\n", "*1\r\n:1\r\n",
	} {
		f.Add([]byte(s), uint8(1))
		f.Add([]byte(s), uint8(7))
	}
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		whole, errWhole := readAll(data, len(data)+1, 1<<16, chunk%2 == 0)
		split, errSplit := readAll(data, int(chunk%16)+1, 1<<16, chunk%2 == 0)
		if fmt.Sprint(whole) != fmt.Sprint(split) || fmt.Sprint(errWhole) != fmt.Sprint(errSplit) {
			t.Fatalf("chunking changed the framing:\nwhole: %v %v\nsplit: %v %v", whole, errWhole, split, errSplit)
		}
		for _, c := range whole {
			if c == "" {
				t.Fatal("an empty request came through")
			}
		}
		if n := bytes.Count(data, []byte("\n")) + 1; len(whole) > n {
			t.Fatalf("%d requests from %d lines", len(whole), n)
		}
	})
}

var (
	fuzzOnce sync.Once
	fuzzSrv  *Server
	fuzzBase Options
)

// fuzzServer is one server per fuzzing process, on a DB in a temporary
// directory left to the OS to clean.
func fuzzServer(t *testing.T) *Server {
	fuzzOnce.Do(func() {
		dir, err := os.MkdirTemp("", "strata-fuzz-dispatch")
		if err != nil {
			t.Fatal(err)
		}
		db, err := lsm.Open(dir, &lsm.Options{Logger: quietLogger()})
		if err != nil {
			t.Fatal(err)
		}
		fuzzBase = Options{ProtoMaxBulkLen: 1 << 20, LuaTimeLimit: 20 * time.Millisecond, Logger: quietLogger()}
		if fuzzSrv, err = New(db, &fuzzBase); err != nil {
			t.Fatal(err)
		}
		fuzzBase = fuzzSrv.Config()
	})
	return fuzzSrv
}

// fuzzArgv decodes requests: 0xFF separates requests, 0xFE arguments; a
// one-byte first argument names a command of the table by its index, so
// inputs reach real commands often.
func fuzzArgv(s *Server, data []byte) [][][]byte {
	names := s.table.sortedNames()
	var out [][][]byte
	for _, req := range bytes.Split(data, []byte{0xFF}) {
		args := bytes.Split(req, []byte{0xFE})
		if len(args) > 12 {
			args = args[:12]
		}
		if len(args[0]) == 1 {
			name := names[int(args[0][0])%len(names)]
			args = append([][]byte{[]byte(name)}, args[1:]...)
			if c := s.table[name]; c.subs != nil && len(args) > 1 && len(args[1]) == 1 {
				subs := sortedKeys(c.subs)
				args[1] = []byte(subs[int(args[1][0])%len(subs)])
			}
		}
		out = append(out, args)
		if len(out) == 16 {
			break
		}
	}
	return out
}

// FuzzDispatch runs arbitrary argument vectors through the dispatcher, one
// client per input: no panic, no hang, and every reply well-formed RESP.
func FuzzDispatch(f *testing.F) {
	for _, s := range []string{
		"SET\xfek\xfev", "GET\xfek", "MULTI\xffSET\xfea\xfe1\xffEXEC", "EVAL\xfereturn redis.call('incr','a')\xfe0",
		"EVAL\xfewhile true do end\xfe0", "SCAN\xfe0\xfeMATCH\xfe*", "CONFIG\xfeSET\xfemaxclients\xfe1", "SETRANGE\xfek\xfe1048576\xfex",
		"INCRBYFLOAT\xfek\xfe1e308\xffINCRBYFLOAT\xfek\xfe1e308", "WATCH\xfek\xffMULTI\xffGET\xfek\xffEXEC", "\x05\xfe\x01",
		"HELLO\xfe3\xffGET\xfenope", "EXPIRE\xfek\xfe-1\xfeGT", "COMMAND\xfeGETKEYS\xfeEVAL\xfex\xfe2\xfea",
		"HSET\xfeh\xfef\xfev\xffHGETALL\xfeh", "ZADD\xfez\xfe1.5\xfem\xffZRANGE\xfez\xfe0\xfe-1\xfeWITHSCORES",
		"RPUSH\xfel\xfea\xffBLPOP\xfel\xfe0\xffBRPOP\xfel\xfe0.01", "MULTI\xffBLPOP\xfel\xfe0\xffSADD\xfes\xfex\xffEXEC",
		"SUBSCRIBE\xfec\xffPUBLISH\xfec\xfem\xffPING\xffUNSUBSCRIBE", "HELLO\xfe3\xffPSUBSCRIBE\xfe*\xffPUBLISH\xfex\xfey\xffRESET",
		"RPUSH\xfel\xfea\xfeb\xffLMPOP\xfe1\xfel\xfeLEFT\xfeCOUNT\xfe5\xffBZMPOP\xfe0.01\xfe1\xfez\xfeMIN",
		"ZADD\xfea\xfe1\xfex\xffZDIFFSTORE\xfed\xfe1\xfea\xffZRANGESTORE\xfee\xfea\xfe0\xfe-1\xffZINTERCARD\xfe2\xfed\xfee",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := fuzzServer(t)
		s.setConfig(fuzzBase)
		if err := s.ks.Flush(); err != nil {
			t.Fatal(err)
		}
		a, b := net.Pipe()
		defer a.Close()
		defer b.Close()
		go io.Copy(io.Discard, b) // a subscriber's output goes through the pipe
		cl := newClient(s, a)
		s.mu.Lock()
		s.clients[cl.id] = cl
		s.conns.Add(1)
		s.mu.Unlock()
		defer s.removeClient(cl)
		for _, argv := range fuzzArgv(s, data) {
			done := make(chan struct{})
			go func() {
				defer close(done)
				s.dispatch(cl, argv)
			}()
			select {
			case <-done:
			case <-time.After(2 * time.Second):
				s.lua.killForShutdown() // a script that loops for ever
				cl.kill()               // a client blocked in BLPOP for ever
				select {
				case <-done:
				case <-time.After(30 * time.Second):
					t.Fatalf("%q hangs", argv)
				}
			}
			r := bufio.NewReader(bytes.NewReader(cl.out.b))
			for {
				if _, err := r.Peek(1); err != nil {
					break
				}
				var sink bytes.Buffer
				if err := readValue(r, &sink); err != nil {
					t.Fatalf("%q: malformed reply %q: %v", argv, cl.out.b, err)
				}
			}
			cl.out.reset()
			if cl.closeAfter {
				break
			}
		}
	})
}

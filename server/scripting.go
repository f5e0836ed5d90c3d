package server

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stratadb/strata/collections"
	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// Version is the server's own version, reported as strata_version.
const Version = "0.1.0"

// Scripting: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT. Lua 5.1 through
// gopher-lua, with the libraries Redis offers scripts (base, table,
// string, math, coroutine, cjson, bit), the redis.* API, and Redis's
// conversions between Lua values and replies (lua_conv.go).
//
// Scripts run on a pool of Lua states, each with the same sandbox; the
// compiled scripts are shared. The Lua state decides nothing about
// atomicity: the locks do. A script first runs keyed: holding the gate
// shared and the stripes of its KEYS, against a transaction of just those
// keys (Store.UpdateKeys), as a lone write command holds its keys, so
// scripts on different keys run side by side. If it calls a command on a
// key it did not declare, or a keyless command that reads or writes the
// keyspace (KEYS, DBSIZE, FLUSHALL, ...), the run is abandoned before
// anything is written and the script runs again globally, as every script
// did before: holding the gate exclusively, against a transaction of every
// key (Server.update), so no other command runs meanwhile; the script is
// marked and always runs globally after that. Either way its writes reach
// the WAL as one batch. As in Redis, a script that fails after writing
// keeps its writes.

func scriptingCommands() []*command {
	scr := func(s, since, cx string) cmdDoc { return cmdDoc{s, since, "scripting", cx} }
	const (
		evalFlags = "noscript stale skip_monitor no_mandatory_keys movablekeys"
		rwKeys    = "RW access update | index 2 | keynum 0 1 1"
		roKeys    = "RO access | index 2 | keynum 0 1 1"
	)
	return []*command{
		def("eval", -3, evalFlags, "@scripting", evalCommand, scr("Run a Lua script", "2.6.0", "Depends on the script"), rwKeys),
		def("evalsha", -3, evalFlags, "@scripting", evalCommand, scr("Run a cached Lua script by its SHA1", "2.6.0", "Depends on the script"), rwKeys),
		def("eval_ro", -3, "readonly "+evalFlags, "@scripting", evalCommand, scr("Run a read-only Lua script", "7.0.0", "Depends on the script"), roKeys),
		def("evalsha_ro", -3, "readonly "+evalFlags, "@scripting", evalCommand, scr("Run a cached read-only Lua script by its SHA1", "7.0.0", "Depends on the script"), roKeys),
		container(group("script", scr("Manage the script cache", "2.6.0", "Depends on subcommand")),
			def("load", 3, "noscript stale tip:request_policy:all_nodes tip:response_policy:all_succeeded", "@scripting", scriptLoadCommand,
				scr("Cache a script and return its SHA1", "2.6.0", "O(N) with N the length of the script")),
			def("exists", -3, "noscript tip:request_policy:all_shards tip:response_policy:agg_logical_and", "@scripting", scriptExistsCommand,
				scr("Whether scripts are cached", "2.6.0", "O(N) with N the number of scripts asked")),
			def("flush", -2, "noscript tip:request_policy:all_nodes tip:response_policy:all_succeeded", "@scripting", scriptFlushCommand,
				scr("Empty the script cache", "2.6.0", "O(N) with N the number of cached scripts")),
			def("kill", 2, "noscript allow_busy tip:request_policy:all_shards tip:response_policy:one_succeeded", "@scripting", scriptKillCommand,
				scr("Stop the script running past lua-time-limit, if it has not written", "2.6.0", "O(1)")),
			def("debug", 3, "noscript", "@scripting", notOffered("SCRIPT DEBUG (the Lua debugger)"),
				scr("Not supported: the Lua debugger", "3.2.0", "O(1)")),
			def("help", 2, "loading stale", "@scripting", helpCommand(scriptHelp),
				scr("Show the SCRIPT subcommands", "5.0.0", "O(1)")),
		),
	}
}

var scriptHelp = []string{
	"SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"EXISTS <sha1> [<sha1> ...]", "    Return information about the existence of the scripts in the script cache.",
	"FLUSH [ASYNC|SYNC]", "    Flush the Lua scripts cache.",
	"KILL", "    Kill the currently executing Lua script.",
	"LOAD <script>", "    Load a script into the scripts cache without executing it.",
	"HELP", "    Print this help.",
}

// script is a compiled, cached script.
type script struct {
	sha      string
	proto    *lua.FunctionProto
	noWrites bool        // shebang flags=no-writes
	global   atomic.Bool // it touched a key it did not declare: run it globally
}

// scriptRun is the script being run.
type scriptRun struct {
	caller   *cmdCtx
	ks       Keyspace
	sha      string
	readOnly bool
	resp     int // redis.setresp: the protocol of redis.call's replies
	wrote    atomic.Bool
	killed   atomic.Int32 // 1: SCRIPT KILL, 2: shutdown
	busy     atomic.Bool  // past lua-time-limit
	cancel   context.CancelFunc

	// declared is the script's KEYS when it runs keyed (nil when global):
	// the only keys its commands may name.
	declared [][]byte
	// needGlobal is set when a keyed run called a command it may not
	// (see call): the run is abandoned and the script runs globally.
	needGlobal bool
}

// luaState is one sandboxed Lua state of the pool, and the run using it.
// It belongs to one script run at a time (scripting.getState/putState).
type luaState struct {
	L    *lua.LState
	env  *lua.LTable // the scripts' globals: a read-only view of real
	real *lua.LTable
	cur  *scriptRun
	// ctx is L's context, kept from run to run (a fresh one per run costs
	// allocations); cancel stops the script running on L. A cancelled
	// ctx is replaced before the next run.
	ctx    context.Context
	cancel context.CancelFunc
	// w takes the reply of each redis.call, read into Lua values before
	// the next.
	w replyWriter
}

// maxIdleStates is how many idle Lua states the pool keeps.
const maxIdleStates = 16

// scripting is the Lua side of the server. mu guards the cache and the
// idle states; runsMu guards runs; randMu guards rand.
type scripting struct {
	s     *Server
	mu    sync.Mutex
	cache map[string]*script
	idle  []*luaState

	runsMu   sync.Mutex
	runs     map[*scriptRun]struct{} // the scripts running now
	busyRuns atomic.Int32            // how many of them are past lua-time-limit

	randMu sync.Mutex
	rand   rand48
}

func newScripting(s *Server) *scripting {
	l := &scripting{s: s, cache: map[string]*script{}, runs: map[*scriptRun]struct{}{}}
	l.rand.x = 0x1234ABCD330E // lrand48's state before any seeding, as Redis starts
	l.idle = append(l.idle, l.newState())
	return l
}

// getState takes an idle Lua state, or makes one.
func (l *scripting) getState() *luaState {
	l.mu.Lock()
	if n := len(l.idle); n > 0 {
		st := l.idle[n-1]
		l.idle = l.idle[:n-1]
		l.mu.Unlock()
		return st
	}
	l.mu.Unlock()
	return l.newState()
}

// putState returns a state to the pool, or lets it go if the pool is full.
func (l *scripting) putState(st *luaState) {
	l.mu.Lock()
	if len(l.idle) < maxIdleStates {
		l.idle = append(l.idle, st)
		l.mu.Unlock()
		return
	}
	l.mu.Unlock()
	st.L.Close()
}

func (l *scripting) busy() bool { return l.busyRuns.Load() > 0 }

// killForShutdown stops the running scripts (SHUTDOWN NOSAVE, or a
// signal): their writes, still in their batches, are dropped.
func (l *scripting) killForShutdown() {
	l.runsMu.Lock()
	defer l.runsMu.Unlock()
	for r := range l.runs {
		r.killed.Store(2)
		r.cancel()
	}
}

// luaNumberString formats a number as Lua 5.1 does ("%.14g"); gopher-lua
// itself prints the shortest exact form, which tostring and redis.call
// arguments must not.
func luaNumberString(n lua.LNumber) string {
	f := float64(n)
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	return fmt.Sprintf("%.14g", f)
}

func sha1hex(b []byte) string {
	h := sha1.Sum(b)
	return hex.EncodeToString(h[:])
}

// compile parses body (after its shebang line, if any) and caches it.
func (l *scripting) compile(body []byte) (*script, string) {
	sha := sha1hex(body)
	l.mu.Lock()
	sc := l.cache[sha]
	l.mu.Unlock()
	if sc != nil {
		return sc, ""
	}
	src := string(body)
	sc = &script{sha: sha}
	if strings.HasPrefix(src, "#!") {
		line, rest, _ := strings.Cut(src, "\n")
		if !strings.HasPrefix(line, "#!lua") || (len(line) > 5 && line[5] != ' ') {
			return nil, "ERR Unexpected engine in script shebang: " + line
		}
		for _, f := range strings.Fields(line[5:]) {
			flags, ok := strings.CutPrefix(f, "flags=")
			if !ok {
				return nil, "ERR Unknown lua shebang option: " + f
			}
			for _, fl := range strings.Split(flags, ",") {
				switch fl {
				case "no-writes":
					sc.noWrites = true
				case "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys", "":
				default:
					return nil, "ERR Unexpected flag in script shebang: " + fl
				}
			}
		}
		src = "\n" + rest // keep the line numbers
	}
	chunk, err := parse.Parse(strings.NewReader(src), "user_script")
	if err == nil {
		sc.proto, err = lua.Compile(chunk, "user_script")
	}
	if err != nil {
		msg := strings.ReplaceAll(err.Error(), "\n", " ")
		return nil, "ERR Error compiling script (new function): " + msg
	}
	// A main chunk is vararg, and Lua 5.1's compatibility builds it an
	// "arg" table (a table and two maps) on every call. No name reaches
	// that table in a main chunk ("arg" there is a global, and "..." still
	// works), so the script is called without it.
	sc.proto.IsVarArg &^= lua.VarArgNeedsArg
	l.mu.Lock()
	l.cache[sha] = sc
	l.mu.Unlock()
	return sc, ""
}

func evalCommand(c *cmdCtx) {
	l := c.s.lua
	name := c.cmd.name
	numKeys, ok := parseInt64(c.argv[2])
	switch {
	case !ok:
		c.w.err(msgNotInt)
		return
	case numKeys < 0:
		c.w.err("ERR Number of keys can't be negative")
		return
	case numKeys > int64(len(c.argv)-3):
		c.w.err("ERR Number of keys can't be greater than number of args")
		return
	}
	var sc *script
	if name == "eval" || name == "eval_ro" {
		var msg string
		if sc, msg = l.compile(c.argv[1]); msg != "" {
			c.w.err(msg)
			return
		}
	} else {
		l.mu.Lock()
		sc = l.cache[string(c.argv[1])] // a SHA1 as SCRIPT LOAD wrote it: no copy
		if sc == nil {
			sc = l.cache[strings.ToLower(c.arg(1))]
		}
		l.mu.Unlock()
		if sc == nil {
			c.w.err("NOSCRIPT No matching script. Please use EVAL.")
			return
		}
	}
	keys := c.argv[3 : 3+numKeys]
	args := c.argv[3+numKeys:]
	readOnly := name == "eval_ro" || name == "evalsha_ro" || sc.noWrites
	if c.inTx { // inside EXEC: EXEC's transaction, gate and commit
		l.run(c.w, c, c.ks, sc, keys, args, readOnly, nil)
		return
	}
	out := &replyWriter{proto: c.w.proto}
	err := errNeedGlobal
	if !sc.global.Load() {
		err = l.runKeyed(out, c, sc, keys, args, readOnly)
		if errors.Is(err, errNeedGlobal) {
			sc.global.Store(true)
		}
	}
	if errors.Is(err, errNeedGlobal) || errors.Is(err, errBusy) {
		c.s.gate.exclusive()
		err = c.s.update(func(ks Keyspace) error {
			*out = replyWriter{proto: c.w.proto} // afresh if the Store runs this again
			return l.run(out, c, ks, sc, keys, args, readOnly, nil)
		})
		c.s.gate.releaseExclusive()
	}
	switch {
	case errors.Is(err, errScriptKilled):
		c.w.err("ERR Script killed by a server shutdown script: " + sc.sha)
	case err != nil:
		c.w.err(keyError(err)) // the writes did not reach the engine
	default:
		c.w.raw(out.b)
		c.w.errors += out.errors
		if out.errors > 0 {
			c.w.lastErr = out.lastErr
		}
	}
}

var (
	errScriptKilled = errors.New("script killed")
	// errNeedGlobal: a keyed run called a command it may not; nothing was
	// written, and the script must run globally.
	errNeedGlobal = errors.New("script needs the global lock")
)

// runKeyed runs the script holding the gate shared and its keys' stripes,
// against a transaction of its keys alone, as a lone write command runs.
// It returns errNeedGlobal, having written nothing, if the script called a
// command on other keys or on the whole keyspace.
func (l *scripting) runKeyed(out *replyWriter, c *cmdCtx, sc *script, keys, args [][]byte, readOnly bool) error {
	s := c.s
	if err := s.gate.shared(); err != nil {
		return err // a global script is past lua-time-limit: wait in line for the gate
	}
	defer s.gate.releaseShared()
	var buf [16]int
	stripes := s.keyStripes(buf[:0], keys)
	s.lockStripes(stripes)
	defer s.unlockStripes(stripes)
	declared := keys
	if declared == nil {
		declared = [][]byte{} // keyed, with no key to touch
	}
	return s.store.UpdateKeys(keys, func(tx *collections.Tx) error {
		*out = replyWriter{proto: c.w.proto} // afresh if the Store runs this again
		return l.run(out, c, newTxKeyspace(s, tx), sc, keys, args, readOnly, declared)
	})
}

// run runs the script against ks and writes its reply to w. It returns
// errScriptKilled if a shutdown killed the script (its writes must be
// dropped). declared is nil for a global run, the keys the script may
// touch for a keyed one: a keyed run that calls a command on any other key
// is stopped and returns errNeedGlobal (its writes must be dropped and the
// script run globally).
func (l *scripting) run(w *replyWriter, c *cmdCtx, ks Keyspace, sc *script, keys, args [][]byte, readOnly bool, declared [][]byte) error {
	st := l.getState()
	if st.ctx.Err() != nil { // a kill reached it late
		st.L.RemoveContext()
		st.ctx, st.cancel = context.WithCancel(context.Background())
		st.L.SetContext(st.ctx)
	}
	run := &scriptRun{caller: c, ks: ks, sha: sc.sha, readOnly: readOnly, resp: 2, cancel: st.cancel, declared: declared}
	l.runsMu.Lock()
	l.runs[run] = struct{}{}
	l.runsMu.Unlock()
	global := declared == nil
	limit := time.Duration(l.s.luaLimit.Load())
	timer := time.AfterFunc(limit, func() {
		l.s.log.Warn("script running past lua-time-limit: other clients get -BUSY", "sha", sc.sha, "limit", limit)
		l.runsMu.Lock()
		defer l.runsMu.Unlock()
		if _, ok := l.runs[run]; !ok {
			return // it ended meanwhile
		}
		run.busy.Store(true)
		l.busyRuns.Add(1)
		if global {
			l.s.gate.setBusy()
		}
	})
	st.cur = run
	defer func() {
		timer.Stop()
		l.runsMu.Lock()
		delete(l.runs, run)
		if run.busy.Load() {
			l.busyRuns.Add(-1)
		}
		l.runsMu.Unlock()
		st.cur = nil
		l.putState(st)
	}()

	L := st.L
	L.SetTop(0)
	st.real.RawSetString("KEYS", stringsTable(L, keys))
	st.real.RawSetString("ARGV", stringsTable(L, args))
	fn := L.NewFunctionFromProto(sc.proto)
	fn.Env = st.env
	L.Push(fn)
	err := L.PCall(0, 1, nil)
	if run.needGlobal {
		L.SetTop(0)
		return errNeedGlobal
	}
	if err != nil {
		L.SetTop(0)
		w.err(l.errorText(run, err))
		if run.killed.Load() == 2 {
			return errScriptKilled
		}
		return nil
	}
	ret := L.Get(-1)
	L.SetTop(0)
	luaToReply(w, ret, run.resp, 0)
	return nil
}

var linePrefix = regexp.MustCompile(`^user_script:(\d+): `)

// errorText is the reply to a script that raised an error, as Redis 7.0
// words it: the error, then " script: <sha>, on @user_script:<line>.".
func (l *scripting) errorText(run *scriptRun, err error) string {
	var msg string
	line := "0"
	var obj lua.LValue = lua.LNil
	var ae *lua.ApiError
	if errors.As(err, &ae) {
		obj = ae.Object
	}
	switch v := obj.(type) {
	case *lua.LTable:
		msg = lua.LVAsString(v.RawGetString("err"))
		if ln := v.RawGetString("line"); ln != lua.LNil {
			line = ln.String()
		}
	case lua.LString:
		msg = "ERR " + string(v)
		if m := linePrefix.FindStringSubmatch(string(v)); m != nil {
			line = m[1]
		}
	default:
		msg = "ERR " + strings.ReplaceAll(err.Error(), "\n", " ")
	}
	if run.killed.Load() != 0 {
		msg = "ERR Script killed by user with SCRIPT KILL..."
		if run.killed.Load() == 2 {
			msg = "ERR Script killed by a server shutdown"
		}
	}
	if msg == "" {
		msg = "ERR unknown error"
	}
	return msg + " script: " + run.sha + ", on @user_script:" + line + "."
}

func stringsTable(L *lua.LState, items [][]byte) *lua.LTable {
	t := L.CreateTable(len(items), 0)
	for _, it := range items {
		t.Append(lua.LString(it))
	}
	return t
}

// callerLine is the line of the innermost script frame, for errors raised
// from Go functions.
func callerLine(L *lua.LState) int {
	for level := 1; level < 64; level++ {
		dbg, ok := L.GetStack(level)
		if !ok {
			return 0
		}
		if _, err := L.GetInfo("Sl", dbg, lua.LNil); err == nil && dbg.Source == "user_script" && dbg.CurrentLine > 0 {
			return dbg.CurrentLine
		}
	}
	return 0
}

// raise raises the table error {err = msg, line = ...}, as redis.call
// does with a command's error.
func raise(L *lua.LState, msg string) {
	t := L.NewTable()
	t.RawSetString("err", lua.LString(msg))
	t.RawSetString("line", lua.LNumber(callerLine(L)))
	L.Error(t, 0)
}

// raiseString raises "user_script:<line>: msg", as luaL_error does.
func raiseString(L *lua.LState, msg string) {
	L.Error(lua.LString(fmt.Sprintf("user_script:%d: %s", callerLine(L), msg)), 0)
}

// newState builds a Lua state and the scripts' environment in it.
func (l *scripting) newState() *luaState {
	st := &luaState{}
	L := lua.NewState(lua.Options{SkipOpenLibs: true, CallStackSize: 1024, RegistrySize: 1024 * 16, RegistryMaxSize: 1024 * 1024 * 8})
	for _, lib := range []struct {
		name string
		fn   lua.LGFunction
	}{{lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString},
		{lua.MathLibName, lua.OpenMath}, {lua.CoroutineLibName, lua.OpenCoroutine}} {
		L.Push(L.NewFunction(lib.fn))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	g := L.G.Global
	real := L.NewTable()
	// The base functions Redis offers; nothing that reads files or the
	// environment (dofile, loadfile, load, require, module, print are out).
	for _, name := range []string{"assert", "collectgarbage", "getmetatable", "ipairs", "loadstring", "next", "pairs",
		"rawequal", "rawget", "rawset", "select", "setmetatable", "tonumber", "tostring", "type", "unpack", "xpcall", "_VERSION"} {
		real.RawSetString(name, g.RawGetString(name))
	}
	real.RawSetString("error", L.NewFunction(luaErrorFn))
	real.RawSetString("pcall", L.NewFunction(func(L *lua.LState) int { return luaPcall(st, L) }))
	tostring := g.RawGetString("tostring")
	real.RawSetString("tostring", L.NewFunction(func(L *lua.LState) int {
		if n, ok := L.Get(1).(lua.LNumber); ok {
			L.Push(lua.LString(luaNumberString(n)))
			return 1
		}
		L.Push(tostring)
		L.Push(L.CheckAny(1))
		L.Call(1, 1)
		return 1
	}))
	real.RawSetString("gcinfo", L.NewFunction(func(L *lua.LState) int { L.Push(lua.LNumber(0)); return 1 }))
	real.RawSetString("coroutine", g.RawGetString("coroutine"))
	math := g.RawGetString("math").(*lua.LTable)
	math.RawSetString("random", L.NewFunction(l.mathRandom))
	math.RawSetString("randomseed", L.NewFunction(l.mathRandomSeed))
	readonly := func(t *lua.LTable) *lua.LTable { return readonlyView(L, t, false) }
	real.RawSetString("math", readonly(math))
	str := g.RawGetString("string").(*lua.LTable)
	rep := str.RawGetString("rep")
	str.RawSetString("rep", L.NewFunction(func(L *lua.LState) int {
		// A script cannot build a string larger than a client may send.
		if n := float64(len(L.CheckString(1))) * float64(L.CheckInt(2)); n > float64(l.s.maxBulk.Load()) {
			raiseString(L, "string.rep: result over proto-max-bulk-len")
		}
		L.Push(rep)
		L.Push(L.Get(1))
		L.Push(L.Get(2))
		L.Call(2, 1)
		return 1
	}))
	real.RawSetString("string", readonly(str))
	table := g.RawGetString("table").(*lua.LTable)
	real.RawSetString("table", readonly(table))
	real.RawSetString("redis", readonly(l.redisTable(st, L)))
	real.RawSetString("cjson", readonly(cjsonTable(L)))
	real.RawSetString("bit", readonly(bitTable(L)))
	env := readonlyView(L, real, true)
	real.RawSetString("_G", env)
	st.L, st.real, st.env = L, real, env
	st.ctx, st.cancel = context.WithCancel(context.Background())
	L.SetContext(st.ctx)
	return st
}

// readonlyView is an empty table reading through to t and refusing
// writes, as Redis 7.0 makes the globals and the libraries read-only. With
// strict, reading a name t lacks is an error, as for Redis's globals.
func readonlyView(L *lua.LState, t *lua.LTable, strict bool) *lua.LTable {
	view := L.NewTable()
	meta := L.NewTable()
	if strict {
		meta.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
			k := L.Get(2)
			v := t.RawGet(k)
			if v == lua.LNil {
				raiseString(L, fmt.Sprintf("Script attempted to access nonexistent global variable '%s'", lua.LVAsString(k)))
			}
			L.Push(v)
			return 1
		}))
	} else {
		meta.RawSetString("__index", t)
	}
	meta.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		raiseString(L, "Attempt to modify a readonly table")
		return 0
	}))
	meta.RawSetString("__metatable", lua.LFalse)
	L.SetMetatable(view, meta)
	return view
}

// luaErrorFn is error(): a table error gets the line it was raised at.
func luaErrorFn(L *lua.LState) int {
	obj := L.Get(1) // error() raises nil
	level := L.OptInt(2, 1)
	if t, ok := obj.(*lua.LTable); ok && t.RawGetString("line") == lua.LNil {
		t.RawSetString("line", lua.LNumber(callerLine(L)))
	}
	L.Error(obj, level)
	return 0
}

// luaPcall is pcall as Redis 7.0 has it: an error raised as a table (as
// redis.call raises) comes back as its "err" string.
func luaPcall(st *luaState, L *lua.LState) int {
	L.CheckAny(1)
	err := L.PCall(L.GetTop()-1, lua.MultRet, nil)
	if err != nil && st.cur != nil && st.cur.needGlobal {
		L.Error(lua.LString("script needs the global lock"), 0) // not the script's to catch
	}
	if err != nil {
		var obj lua.LValue = lua.LString(err.Error())
		var ae *lua.ApiError
		if errors.As(err, &ae) && ae.Object != nil {
			obj = ae.Object
		}
		if t, ok := obj.(*lua.LTable); ok {
			if e, ok := t.RawGetString("err").(lua.LString); ok {
				obj = e
			}
		}
		L.SetTop(0)
		L.Push(lua.LFalse)
		L.Push(obj)
		return 2
	}
	L.Insert(lua.LTrue, 1)
	return L.GetTop()
}

func (l *scripting) redisTable(st *luaState, L *lua.LState) *lua.LTable {
	t := L.NewTable()
	fn := func(f lua.LGFunction) lua.LValue { return L.NewFunction(f) }
	t.RawSetString("call", fn(func(L *lua.LState) int { return l.call(st, L, true) }))
	t.RawSetString("pcall", fn(func(L *lua.LState) int { return l.call(st, L, false) }))
	t.RawSetString("error_reply", fn(func(L *lua.LState) int {
		if L.GetTop() != 1 || L.Get(1).Type() != lua.LTString {
			raiseString(L, "wrong number or type of arguments")
		}
		r := L.NewTable()
		r.RawSetString("err", lua.LString(strings.TrimPrefix(L.CheckString(1), "-")))
		L.Push(r)
		return 1
	}))
	t.RawSetString("status_reply", fn(func(L *lua.LState) int {
		if L.GetTop() != 1 || L.Get(1).Type() != lua.LTString {
			raiseString(L, "wrong number or type of arguments")
		}
		r := L.NewTable()
		r.RawSetString("ok", lua.LString(L.CheckString(1)))
		L.Push(r)
		return 1
	}))
	t.RawSetString("sha1hex", fn(func(L *lua.LState) int {
		if L.GetTop() != 1 {
			raise(L, "ERR wrong number of arguments")
		}
		L.Push(lua.LString(sha1hex([]byte(lua.LVAsString(L.Get(1))))))
		return 1
	}))
	t.RawSetString("log", fn(func(L *lua.LState) int {
		if L.GetTop() < 2 {
			raise(L, "ERR redis.log() requires two arguments or more.")
		}
		lvl, ok := L.Get(1).(lua.LNumber)
		if !ok || lvl < 0 || lvl > 3 {
			raise(L, "ERR Invalid debug level.")
		}
		parts := make([]string, 0, L.GetTop()-1)
		for i := 2; i <= L.GetTop(); i++ {
			parts = append(parts, lua.LVAsString(L.Get(i)))
		}
		msg := strings.Join(parts, " ")
		switch int(lvl) {
		case 0:
			l.s.log.Debug(msg, "source", "script")
		case 3:
			l.s.log.Warn(msg, "source", "script")
		default:
			l.s.log.Info(msg, "source", "script")
		}
		return 0
	}))
	t.RawSetString("setresp", fn(func(L *lua.LState) int {
		if L.GetTop() != 1 {
			raise(L, "ERR redis.setresp() requires one argument.")
		}
		v, ok := L.Get(1).(lua.LNumber)
		if !ok || (v != 2 && v != 3) {
			raise(L, "ERR RESP version must be 2 or 3.")
		}
		st.cur.resp = int(v)
		return 0
	}))
	t.RawSetString("set_repl", fn(func(L *lua.LState) int { return 0 }))
	t.RawSetString("replicate_commands", fn(func(L *lua.LState) int { L.Push(lua.LTrue); return 1 }))
	t.RawSetString("breakpoint", fn(func(L *lua.LState) int { L.Push(lua.LFalse); return 1 }))
	t.RawSetString("debug", fn(func(L *lua.LState) int { return 0 }))
	t.RawSetString("acl_check_cmd", fn(func(L *lua.LState) int {
		if L.GetTop() < 1 {
			raise(L, "ERR Please specify at least one argument for this redis lib call")
		}
		argv := make([][]byte, L.GetTop())
		for i := range argv {
			argv[i] = []byte(lua.LVAsString(L.Get(i + 1)))
		}
		if cmd := l.s.table.lookup(argv); cmd == nil || !cmd.arityOK(len(argv)) {
			raise(L, "ERR Invalid command passed to redis.acl_check_cmd()")
		}
		L.Push(lua.LTrue)
		return 1
	}))
	for k, v := range map[string]int{"LOG_DEBUG": 0, "LOG_VERBOSE": 1, "LOG_NOTICE": 2, "LOG_WARNING": 3,
		"REPL_NONE": 0, "REPL_AOF": 1, "REPL_SLAVE": 2, "REPL_REPLICA": 2, "REPL_ALL": 3} {
		t.RawSetString(k, lua.LNumber(v))
	}
	ver := l.s.config().Version
	t.RawSetString("REDIS_VERSION", lua.LString(ver))
	t.RawSetString("REDIS_VERSION_NUM", lua.LNumber(versionNum(ver)))
	return t
}

func versionNum(v string) int {
	n := 0
	for i, p := range strings.SplitN(v, ".", 3) {
		x, _ := strconv.Atoi(p)
		n |= (x & 0xff) << (16 - 8*i)
	}
	return n
}

// call is redis.call (raise true) and redis.pcall.
func (l *scripting) call(st *luaState, L *lua.LState, raiseErrors bool) int {
	run := st.cur
	fail := func(msg string) int {
		if raiseErrors {
			raise(L, msg)
		}
		t := L.NewTable()
		t.RawSetString("err", lua.LString(msg))
		L.Push(t)
		return 1
	}
	if run.needGlobal {
		L.Error(lua.LString("script needs the global lock"), 0) // it is being abandoned
	}
	n := L.GetTop()
	if n == 0 {
		return fail("ERR Please specify at least one argument for this redis lib call")
	}
	// The arguments' bytes are copied into one buffer: a command may keep
	// them (PUBLISH's message waits for the commit), so it is the call's.
	size := 0
	for i := 1; i <= n; i++ {
		switch v := L.Get(i).(type) {
		case lua.LString:
			size += len(v)
		case lua.LNumber:
			size += 24
		default:
			return fail("ERR Lua redis lib command arguments must be strings or integers")
		}
	}
	argv := make([][]byte, n)
	abuf := make([]byte, 0, size)
	for i := 1; i <= n; i++ {
		start := len(abuf)
		switch v := L.Get(i).(type) {
		case lua.LString:
			abuf = append(abuf, v...)
		case lua.LNumber:
			abuf = append(abuf, luaNumberString(v)...)
		}
		argv[i-1] = abuf[start:len(abuf):len(abuf)] // valid if a later append moves abuf
	}
	s := l.s
	cmd := s.table.lookup(argv)
	if cmd == nil || (cmd.subs != nil && (len(argv) >= 2 || cmd.handler == nil)) {
		return fail("ERR Unknown Redis command called from script")
	}
	if !cmd.arityOK(len(argv)) {
		return fail("ERR Wrong number of args calling Redis command from script")
	}
	if cmd.flags&flagNoscript != 0 {
		return fail("ERR This Redis command is not allowed from script")
	}
	if cl := run.caller.cl; cl != nil {
		if st := s.userOf(cl).state(); !st.unrestricted {
			if msg := aclDenied(st, cmd, argv); msg != "" {
				if msg == msgNoPermChannel {
					return fail("ERR The user executing the script can't publish to the channel mentioned in the command")
				}
				if msg == msgNoPermKey {
					return fail("ERR The user executing the script can't access at least one of the keys mentioned in the command arguments")
				}
				return fail("ERR The user executing the script can't run this command or subcommand")
			}
		}
	}
	if cmd.flags&flagWrite != 0 {
		if run.readOnly {
			return fail("ERR Write commands are not allowed from read-only scripts.")
		}
		run.wrote.Store(true)
	}
	if msg := checkKeys(cmd, argv); msg != "" {
		return fail(msg)
	}
	if run.declared != nil && !keyedCallOK(cmd, argv, run.declared) {
		// A keyed run holds only its KEYS: abandon it (nothing is
		// written) for a global run.
		run.needGlobal = true
		run.cancel()
		L.Error(lua.LString("script needs the global lock"), 0)
	}
	// The reply is read into Lua values (copies) at once: the state's
	// writer serves every call.
	w := &st.w
	w.b, w.proto, w.errors, w.lastErr = w.b[:0], run.resp, 0, ""
	inner := ctxPool.Get().(*cmdCtx)
	*inner = cmdCtx{s: s, cl: run.caller.cl, cmd: cmd, argv: argv, w: w, ks: run.ks, inTx: true, script: run}
	s.call(inner, false)
	*inner = cmdCtx{}
	ctxPool.Put(inner)
	if cap(w.b) > maxScratch {
		defer func() { w.b = nil }()
	}
	v, err := replyToLua(L, w.b, raiseErrors)
	if err != nil {
		return fail("ERR " + err.Error())
	}
	if raiseErrors {
		if t, ok := v.(*lua.LTable); ok && w.errors > 0 && t.RawGetString("err") != lua.LNil && len(w.b) > 0 && w.b[0] == '-' {
			t.RawSetString("line", lua.LNumber(callerLine(L)))
			L.Error(t, 0)
		}
	}
	L.Push(v)
	return 1
}

// keyedCallOK reports whether a keyed script run (holding the keys
// declared) may call cmd: every key it names is declared, and a keyless
// command is one that does not touch the keyspace.
func keyedCallOK(cmd *command, argv [][]byte, declared [][]byte) bool {
	var buf [8]int
	pos := appendKeyPositions(buf[:0], cmd, argv)
	if len(pos) == 0 {
		switch cmd.name {
		case "ping", "echo", "time":
			return true
		}
		return false
	}
	if cmd.name == "sort" || cmd.name == "sort_ro" {
		return false // BY and GET patterns read other keys
	}
	for _, i := range pos {
		if !slices.ContainsFunc(declared, func(k []byte) bool { return bytes.Equal(k, argv[i]) }) {
			return false
		}
	}
	return true
}

func scriptLoadCommand(c *cmdCtx) {
	sc, msg := c.s.lua.compile(c.argv[2])
	if msg != "" {
		c.w.err(msg)
		return
	}
	c.w.bulkString(sc.sha)
}

func scriptExistsCommand(c *cmdCtx) {
	l := c.s.lua
	c.w.array(len(c.argv) - 2)
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, a := range c.argv[2:] {
		_, ok := l.cache[strings.ToLower(string(a))]
		c.w.int(b2i(ok))
	}
}

func scriptFlushCommand(c *cmdCtx) {
	switch {
	case len(c.argv) == 2:
	case len(c.argv) == 3 && (strings.EqualFold(c.arg(2), "async") || strings.EqualFold(c.arg(2), "sync")):
	default:
		c.w.err("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
		return
	}
	l := c.s.lua
	l.mu.Lock()
	l.cache = map[string]*script{}
	l.mu.Unlock()
	c.w.ok()
}

func scriptKillCommand(c *cmdCtx) {
	l := c.s.lua
	// The scripts past lua-time-limit: Redis has at most one, a pool may
	// have several. Those that have not written are killed.
	l.runsMu.Lock()
	defer l.runsMu.Unlock()
	busy, killed := 0, 0
	for run := range l.runs {
		if !run.busy.Load() {
			continue
		}
		busy++
		if !run.wrote.Load() {
			run.killed.Store(1)
			run.cancel()
			killed++
		}
	}
	switch {
	case busy == 0:
		c.w.err("NOTBUSY No scripts in execution right now.")
	case killed == 0:
		c.w.err("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.")
	default:
		c.w.ok()
	}
}

// rand48 is the C library's lrand48, which Redis uses for math.random (one
// sequence for the server's life), so scripts draw the numbers Redis would.
type rand48 struct{ x uint64 }

func (r *rand48) seed(s int32) { r.x = uint64(uint32(s))<<16 | 0x330E }

func (r *rand48) next() int32 {
	r.x = (0x5DEECE66D*r.x + 0xB) & (1<<48 - 1)
	return int32(r.x >> 17)
}

func (l *scripting) mathRandom(L *lua.LState) int {
	const max = math.MaxInt32
	l.randMu.Lock()
	r := float64(l.rand.next()%max) / float64(max)
	l.randMu.Unlock()
	switch L.GetTop() {
	case 0:
		L.Push(lua.LNumber(r))
	case 1:
		u := L.CheckInt(1)
		if u < 1 {
			raiseString(L, "bad argument #1 to 'random' (interval is empty)")
		}
		L.Push(lua.LNumber(math.Floor(r*float64(u)) + 1))
	case 2:
		lo, up := L.CheckInt(1), L.CheckInt(2)
		if lo > up {
			raiseString(L, "bad argument #2 to 'random' (interval is empty)")
		}
		L.Push(lua.LNumber(math.Floor(r*float64(up-lo+1)) + float64(lo)))
	default:
		raiseString(L, "wrong number of arguments")
	}
	return 1
}

func (l *scripting) mathRandomSeed(L *lua.LState) int {
	seed := int32(L.CheckInt(1))
	l.randMu.Lock()
	l.rand.seed(seed)
	l.randMu.Unlock()
	return 0
}

package server

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The configuration parameters, by their redis.conf names. One table
// serves the config file, the command line (--name value...) and CONFIG
// GET/SET: apply parses a directive's arguments into Options, get prints
// the current value as CONFIG GET does, and live says whether CONFIG SET
// may change it while the server runs.

type param struct {
	name    string
	alias   string
	live    bool
	apply   func(o *Options, args []string) error
	get     func(o *Options) string
	choices string // for the error of a bad enum value
}

var errArg = fmt.Errorf("argument couldn't be parsed into an integer")

func oneArg(args []string) (string, error) {
	if len(args) != 1 {
		return "", fmt.Errorf("wrong number of arguments")
	}
	return args[0], nil
}

func yesNo(args []string) (bool, error) {
	v, err := oneArg(args)
	if err != nil {
		return false, err
	}
	switch strings.ToLower(v) {
	case "yes":
		return true, nil
	case "no":
		return false, nil
	}
	return false, fmt.Errorf("argument must be 'yes' or 'no'")
}

func intArg(args []string, lo, hi int64) (int64, error) {
	v, err := oneArg(args)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, errArg
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("argument must be between %d and %d inclusive", lo, hi)
	}
	return n, nil
}

// parseMemory reads "100", "1k", "1kb", "5mb", "2gb" (k = 1000, kb = 1024)
// as redis.conf does.
func parseMemory(s string) (int64, bool) {
	s = strings.ToLower(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"kb", 1024}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"k", 1000}, {"m", 1000 * 1000}, {"g", 1000 * 1000 * 1000}, {"b", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, false
	}
	return n * mult, true
}

func memArg(args []string) (int64, error) {
	v, err := oneArg(args)
	if err != nil {
		return 0, err
	}
	n, ok := parseMemory(v)
	if !ok {
		return 0, fmt.Errorf("argument must be a memory value")
	}
	return n, nil
}

func onlyValue(want string) func(o *Options, args []string) error {
	return func(o *Options, args []string) error {
		v, err := oneArg(args)
		if err != nil {
			return err
		}
		if strings.ToLower(v) != want {
			return fmt.Errorf("only %q is supported", want)
		}
		return nil
	}
}

var params = []*param{
	{name: "bind", apply: func(o *Options, a []string) error {
		if len(a) == 0 {
			return fmt.Errorf("wrong number of arguments")
		}
		o.Bind = append([]string(nil), a...)
		return nil
	}, get: func(o *Options) string { return strings.Join(o.Bind, " ") }},
	{name: "port", apply: func(o *Options, a []string) error {
		n, err := intArg(a, 0, 65535)
		if n == 0 {
			n = -1
		}
		o.Port = int(n)
		return err
	}, get: func(o *Options) string { return strconv.Itoa(max(o.Port, 0)) }},
	{name: "tls-port", apply: func(o *Options, a []string) error {
		n, err := intArg(a, 0, 65535)
		o.TLSPort = int(n)
		return err
	}, get: func(o *Options) string { return strconv.Itoa(o.TLSPort) }},
	{name: "tls-cert-file", apply: func(o *Options, a []string) (err error) {
		o.TLSCertFile, err = oneArg(a)
		return
	}, get: func(o *Options) string { return o.TLSCertFile }},
	{name: "tls-key-file", apply: func(o *Options, a []string) (err error) {
		o.TLSKeyFile, err = oneArg(a)
		return
	}, get: func(o *Options) string { return o.TLSKeyFile }},
	{name: "tls-ca-cert-file", apply: func(o *Options, a []string) (err error) {
		o.TLSCACertFile, err = oneArg(a)
		return
	}, get: func(o *Options) string { return o.TLSCACertFile }},
	{name: "tls-auth-clients", choices: "yes, no, optional", apply: func(o *Options, a []string) error {
		v, err := oneArg(a)
		if err != nil {
			return err
		}
		switch v = strings.ToLower(v); v {
		case "yes", "no", "optional":
			o.TLSAuthClients = v
			return nil
		}
		return fmt.Errorf("argument(s) must be one of the following: yes, no, optional")
	}, get: func(o *Options) string { return o.TLSAuthClients }},
	{name: "requirepass", live: true, apply: func(o *Options, a []string) (err error) {
		o.RequirePass, err = oneArg(a)
		return
	}, get: func(o *Options) string { return o.RequirePass }},
	{name: "protected-mode", live: true, apply: func(o *Options, a []string) error {
		on, err := yesNo(a)
		o.ProtectedModeOff = !on
		return err
	}, get: func(o *Options) string { return yesno(!o.ProtectedModeOff) }},
	{name: "appendfsync", live: true, apply: func(o *Options, a []string) error {
		v, err := oneArg(a)
		if err != nil {
			return err
		}
		switch v = strings.ToLower(v); v {
		case "always", "everysec", "no":
			o.AppendFsync = v
			return nil
		}
		return fmt.Errorf("argument(s) must be one of the following: everysec, always, no")
	}, get: func(o *Options) string { return o.AppendFsync }},
	{name: "appendonly", live: true, apply: onlyValue("yes"), get: func(*Options) string { return "yes" }},
	{name: "save", live: true, apply: func(o *Options, a []string) error {
		if len(a) == 1 && a[0] == "" {
			return nil
		}
		return fmt.Errorf(`only "" is supported: the data is always on disk`)
	}, get: func(*Options) string { return "" }},
	{name: "maxclients", live: true, apply: func(o *Options, a []string) error {
		n, err := intArg(a, 1, math.MaxInt32)
		o.MaxClients = int(n)
		return err
	}, get: func(o *Options) string { return strconv.Itoa(o.MaxClients) }},
	{name: "timeout", live: true, apply: func(o *Options, a []string) error {
		n, err := intArg(a, 0, math.MaxInt32)
		o.Timeout = time.Duration(n) * time.Second
		return err
	}, get: func(o *Options) string { return strconv.FormatInt(int64(o.Timeout/time.Second), 10) }},
	{name: "lua-time-limit", alias: "busy-reply-threshold", live: true, apply: func(o *Options, a []string) error {
		n, err := intArg(a, 0, math.MaxInt32)
		o.LuaTimeLimit = time.Duration(n) * time.Millisecond
		if n == 0 {
			o.LuaTimeLimit = time.Nanosecond // 0 in redis.conf: at once
		}
		return err
	}, get: func(o *Options) string { return strconv.FormatInt(int64(o.LuaTimeLimit/time.Millisecond), 10) }},
	{name: "maxmemory", apply: func(o *Options, a []string) error {
		n, err := memArg(a)
		o.MaxMemory = n
		return err
	}, get: func(o *Options) string { return strconv.FormatInt(o.MaxMemory, 10) }},
	{name: "maxmemory-policy", live: true, apply: onlyValue("noeviction"), get: func(*Options) string { return "noeviction" }},
	{name: "databases", apply: func(o *Options, a []string) error {
		if _, err := intArg(a, 1, 1); err != nil {
			return fmt.Errorf("only 1 database is supported")
		}
		return nil
	}, get: func(*Options) string { return "1" }},
	{name: "dir", apply: func(o *Options, a []string) (err error) {
		o.Dir, err = oneArg(a)
		return
	}, get: func(o *Options) string { return o.Dir }},
	{name: "loglevel", live: true, apply: func(o *Options, a []string) error {
		v, err := oneArg(a)
		if err != nil {
			return err
		}
		if _, err := parseLogLevel(strings.ToLower(v)); err != nil {
			return fmt.Errorf("argument(s) must be one of the following: debug, verbose, notice, warning")
		}
		o.LogLevel = strings.ToLower(v)
		return nil
	}, get: func(o *Options) string { return o.LogLevel }},
	{name: "proto-max-bulk-len", live: true, apply: func(o *Options, a []string) error {
		n, err := memArg(a)
		if err == nil && n < 1<<20 {
			err = fmt.Errorf("argument must be between 1048576 and 9223372036854775807 inclusive")
		}
		o.ProtoMaxBulkLen = n
		return err
	}, get: func(o *Options) string { return strconv.FormatInt(o.ProtoMaxBulkLen, 10) }},
	{name: "client-query-buffer-limit", live: true, apply: func(o *Options, a []string) error {
		n, err := memArg(a)
		if err == nil && n < 1<<20 {
			err = fmt.Errorf("argument must be between 1048576 and 9223372036854775807 inclusive")
		}
		o.ClientQueryBufferLimit = n
		return err
	}, get: func(o *Options) string { return strconv.FormatInt(o.ClientQueryBufferLimit, 10) }},
	{name: "slowlog-log-slower-than", live: true, apply: func(o *Options, a []string) error {
		n, err := intArg(a, math.MinInt64, math.MaxInt64)
		switch {
		case n < 0:
			o.SlowlogLogSlowerThan = -1
		case n == 0:
			o.SlowlogLogSlowerThan = time.Nanosecond // log everything
		default:
			o.SlowlogLogSlowerThan = time.Duration(n) * time.Microsecond
		}
		return err
	}, get: func(o *Options) string {
		if o.SlowlogLogSlowerThan < 0 {
			return "-1"
		}
		return strconv.FormatInt(int64(o.SlowlogLogSlowerThan/time.Microsecond), 10)
	}},
	{name: "slowlog-max-len", live: true, apply: func(o *Options, a []string) error {
		n, err := intArg(a, 0, math.MaxInt32)
		o.SlowlogMaxLen = int(n)
		if n == 0 {
			o.SlowlogMaxLen = -1 // keep nothing
		}
		return err
	}, get: func(o *Options) string { return strconv.Itoa(max(o.SlowlogMaxLen, 0)) }},
}

func yesno(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func findParam(name string) *param {
	name = strings.ToLower(name)
	for _, p := range params {
		if p.name == name || p.alias == name {
			return p
		}
	}
	return nil
}

// ApplyDirective applies one redis.conf directive ("port", "6380") to o.
// Unknown directives and bad values are errors.
func (o *Options) ApplyDirective(name string, args []string) error {
	p := findParam(name)
	if p == nil {
		return fmt.Errorf("unknown directive %q", name)
	}
	if err := p.apply(o, args); err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	return nil
}

// Directive is one line of a config file.
type Directive struct {
	Name string
	Args []string
	Line int
}

// ParseConfig reads redis.conf syntax: one directive per line, arguments
// separated by blanks and quoted as in redis-cli ("a b", 'c'), '#' starting
// a comment line. It checks nothing but the syntax; apply the directives
// with Options.ApplyDirective.
func ParseConfig(r io.Reader, name string) ([]Directive, error) {
	var out []Directive
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		args, ok := splitArgs([]byte(line))
		if !ok {
			return nil, fmt.Errorf("%s:%d: unbalanced quotes in %q", name, n, line)
		}
		if len(args) == 0 {
			continue
		}
		d := Directive{Name: strings.ToLower(string(args[0])), Line: n}
		for _, a := range args[1:] {
			d.Args = append(d.Args, string(a))
		}
		out = append(out, d)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// configGet answers CONFIG GET patterns: every parameter matching any
// pattern, once.
func (s *Server) configGet(w *replyWriter, patterns [][]byte) {
	o := s.config()
	var names []string
	seen := map[string]bool{}
	for _, pat := range patterns {
		for _, p := range params {
			for _, n := range []string{p.name, p.alias} {
				if n == "" || seen[n] {
					continue
				}
				if globMatch(pat, []byte(n), true) {
					seen[n] = true
					names = append(names, n)
				}
			}
		}
	}
	if len(patterns) > 1 {
		sort.Strings(names)
	}
	w.mapHeader(len(names))
	for _, n := range names {
		w.bulkString(n)
		w.bulkString(findParam(n).get(&o))
	}
}

// configSet applies CONFIG SET pairs all at once or not at all.
func (s *Server) configSet(args [][]byte) string {
	if len(args)%2 != 0 {
		return msgSyntax
	}
	o := s.config()
	seen := map[*param]bool{}
	for i := 0; i < len(args); i += 2 {
		name := string(args[i])
		p := findParam(name)
		if p == nil {
			return "ERR Unknown option or number of arguments for CONFIG SET - '" + name + "'"
		}
		if seen[p] {
			return "ERR CONFIG SET failed (possibly related to argument '" + name + "') - duplicate parameter"
		}
		seen[p] = true
		if !p.live {
			return "ERR CONFIG SET failed (possibly related to argument '" + name + "') - can't set immutable config"
		}
		vals := []string{string(args[i+1])}
		if p.name == "save" && vals[0] != "" {
			vals = strings.Fields(vals[0])
		}
		if err := p.apply(&o, vals); err != nil {
			return "ERR CONFIG SET failed (possibly related to argument '" + name + "') - " + err.Error()
		}
	}
	if err := o.validate(); err != nil {
		return "ERR CONFIG SET failed - " + err.Error()
	}
	s.setConfig(o)
	return ""
}

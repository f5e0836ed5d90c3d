package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestACLGoRedis: a user restricted to GET and SET on user:* keys, over
// go-redis, runs those and gets NOPERM for anything else; a change of its
// rules reaches its open connection; deleting it disconnects it.
func TestACLGoRedis(t *testing.T) {
	ts := startServer(t, nil)
	for _, proto := range []int{3, 2} {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			ctx := context.Background()
			admin := redis.NewClient(&redis.Options{Addr: ts.addr, Protocol: proto})
			defer admin.Close()
			if err := admin.Do(ctx, "ACL", "SETUSER", "app", "on", ">s3cret", "~user:*", "+get", "+set", "+ping").Err(); err != nil {
				t.Fatal(err)
			}
			app := redis.NewClient(&redis.Options{Addr: ts.addr, Protocol: proto, Username: "app", Password: "s3cret", MaxRetries: -1, PoolSize: 1})
			defer app.Close()
			if err := app.Set(ctx, "user:1", "v", 0).Err(); err != nil {
				t.Fatalf("allowed SET: %v", err)
			}
			if v, err := app.Get(ctx, "user:1").Result(); err != nil || v != "v" {
				t.Fatalf("allowed GET: %q %v", v, err)
			}
			noperm := func(err error, want string) {
				t.Helper()
				if err == nil || err.Error() != want {
					t.Fatalf("got %v, want %q", err, want)
				}
			}
			noperm(app.Incr(ctx, "user:1").Err(), "NOPERM this user has no permissions to run the 'incr' command")
			noperm(app.Get(ctx, "other").Err(), "NOPERM this user has no permissions to access one of the keys used as arguments")
			noperm(app.ConfigGet(ctx, "maxclients").Err(), "NOPERM this user has no permissions to run the 'config|get' command")
			if err := admin.Do(ctx, "ACL", "SETUSER", "app", "-set").Err(); err != nil {
				t.Fatal(err)
			}
			noperm(app.Set(ctx, "user:1", "w", 0).Err(), "NOPERM this user has no permissions to run the 'set' command")
			if v, err := admin.Get(ctx, "user:1").Result(); err != nil || v != "v" {
				t.Fatalf("the denied SET wrote: %q %v", v, err)
			}
			if n, err := admin.Do(ctx, "ACL", "DELUSER", "app").Int(); err != nil || n != 1 {
				t.Fatalf("DELUSER: %d %v", n, err)
			}
			if err := app.Ping(ctx).Err(); err == nil {
				t.Fatal("a deleted user's connection still answers")
			}
			if err := admin.Ping(ctx).Err(); err != nil {
				t.Fatalf("the default user's connection: %v", err)
			}
		})
	}
}

// TestACLRequirePass: requirepass is the default user's password; a named
// user authenticates beside it and HELLO AUTH takes either.
func TestACLRequirePass(t *testing.T) {
	ts := startServer(t, &Options{RequirePass: "top"})
	c := dial(t, ts.addr)
	steps := []struct{ cmd, want string }{
		{"GET k", "-NOAUTH Authentication required.\r\n"},
		{"ACL WHOAMI", "-NOAUTH Authentication required.\r\n"},
		{"AUTH wrong", "-WRONGPASS invalid username-password pair or user is disabled.\r\n"},
		{"AUTH top", "+OK\r\n"},
		{"ACL LIST", "*1\r\n$93\r\nuser default on #" + hexDigest("top") + " ~* &* +@all\r\n"},
		{"ACL SETUSER ro on >pw ~* +@read", "+OK\r\n"},
		{"AUTH ro pw", "+OK\r\n"},
		{"ACL WHOAMI", "-NOPERM this user has no permissions to run the 'acl|whoami' command\r\n"},
		{"GET k", "$-1\r\n"},
		{"SET k v", "-NOPERM this user has no permissions to run the 'set' command\r\n"},
		{"HELLO 2 AUTH default top", ""},
		{"SET k v", "+OK\r\n"},
		{"RESET", "+RESET\r\n"},
		{"GET k", "-NOAUTH Authentication required.\r\n"},
	}
	for _, st := range steps {
		got := c.do(strings.Fields(st.cmd)...)
		if st.want != "" && got != st.want {
			t.Fatalf("%s: got %q, want %q", st.cmd, got, st.want)
		}
	}
}

// TestACLDescribeRoundTrip: the rules ACL LIST gives for a user, applied
// to a new user, give the same command set (Redis checks the same and
// aborts otherwise).
func TestACLDescribeRoundTrip(t *testing.T) {
	ts := startServer(t, nil)
	a := &ts.s.acl
	cases := [][]string{
		{"+@all"}, {"-@all"}, {"+get"}, {"+@string", "-set"}, {"+@all", "-@dangerous", "+config|get"},
		{"+@read", "+@write", "-@keyspace", "+del"}, {"+@all", "-@write", "+config"}, {"+config", "-config|set"},
		{"+@hash", "+@list", "-@slow", "+@scripting", "-eval"}, {"+@all", "-@fast", "-@slow", "+ping"},
	}
	for _, rules := range cases {
		st := a.newState()
		for _, r := range rules {
			if e := a.apply(st, r); e != "" {
				t.Fatalf("%v: %s: %s", rules, r, e)
			}
		}
		desc := a.describeCommands(st)
		back := a.newState()
		for _, r := range strings.Fields(desc) {
			if e := a.apply(back, r); e != "" {
				t.Fatalf("%v described as %q: %s: %s", rules, desc, r, e)
			}
		}
		if !slices.Equal(back.allowed, st.allowed) || back.allCmds != st.allCmds {
			t.Errorf("%v described as %q, which gives another command set", rules, desc)
		}
	}
}

// TestACLSetuserErrors: each malformed modifier is refused with Redis's
// reason, and leaves the user as it was.
func TestACLSetuserErrors(t *testing.T) {
	ts := startServer(t, nil)
	a := &ts.s.acl
	cases := map[string]aclOpError{
		"+nosuch": aclErrUnknown, "-@nosuch": aclErrUnknown, "bogus": aclErrSyntax,
		"<notthere": aclErrNoPass, "#12": aclErrHash, "%Q~x": aclErrSyntax,
		"+config|get|x": aclErrSubArg, "+config|": aclErrSyntax, "+get|x": aclErrFirstArg,
		"~a b": aclErrSyntax,
	}
	for op, want := range cases {
		st := a.newState()
		if got := a.apply(st, op); got != want {
			t.Errorf("%q: got %q, want %q", op, got, want)
		}
	}
	st := a.newState()
	a.apply(st, "allkeys")
	if got := a.apply(st, "~x"); got != aclErrAllKeys {
		t.Errorf("~x after allkeys: %q", got)
	}
	a.apply(st, "&*")
	if got := a.apply(st, "&x"); got != aclErrAllChans {
		t.Errorf("&x after allchannels: %q", got)
	}
}

// TestACLCheckAllocs: the check of a restricted user on GET and SET
// allocates nothing (the default user's is one branch, held by
// TestRESPPathAllocs).
func TestACLCheckAllocs(t *testing.T) {
	ts := startServer(t, nil)
	a := &ts.s.acl
	st := a.newState()
	for _, r := range []string{"~user:*", "%R~pub:*", "+get", "+set"} {
		a.apply(st, r)
	}
	get, set := ts.s.table["get"], ts.s.table["set"]
	argvGet := [][]byte{[]byte("get"), []byte("user:1")}
	argvSet := [][]byte{[]byte("set"), []byte("user:1"), []byte("v")}
	argvDenied := [][]byte{[]byte("set"), []byte("pub:1"), []byte("v")}
	if aclDenied(st, get, argvGet) != "" || aclDenied(st, set, argvSet) != "" {
		t.Fatal("allowed commands denied")
	}
	if aclDenied(st, set, argvDenied) == "" || aclDenied(st, ts.s.table["incr"], argvGet) == "" {
		t.Fatal("denied commands allowed")
	}
	n := testing.AllocsPerRun(1000, func() {
		aclDenied(st, get, argvGet)
		aclDenied(st, set, argvSet)
	})
	if n != 0 {
		t.Errorf("the ACL check allocates %v per GET and SET", n)
	}
}

// FuzzACLSetuser applies arbitrary modifiers (the bytes of ACL SETUSER
// from the network): none panics, and whatever state they leave, ACL
// LIST's description of its commands rebuilds the same command set.
func FuzzACLSetuser(f *testing.F) {
	for _, s := range []string{"on >pw ~k* +get", "+@all -@dangerous +config|get", "%RW~a %R~b &ch* reset",
		"+config -config|set", "#5e884898da28047151d0e56f8dc6292773603d0d61aabd62d3bd0d2f0a4b6c6a <x", "allkeys ~x", "+@string -set +get"} {
		f.Add(s)
	}
	ts := startServer(f, nil)
	a := &ts.s.acl
	f.Fuzz(func(t *testing.T, ops string) {
		st := a.newState()
		for _, op := range strings.Split(ops, " ") {
			a.apply(st, op)
		}
		u := &aclUser{name: "u"}
		u.st.Store(st)
		a.describeUser(u)
		desc := a.describeCommands(st)
		back := a.newState()
		for _, r := range strings.Fields(desc) {
			if e := a.apply(back, r); e != "" {
				t.Fatalf("%q described as %q: %s: %s", ops, desc, r, e)
			}
		}
		if !slices.Equal(back.allowed, st.allowed) {
			t.Fatalf("%q described as %q, which gives another command set", ops, desc)
		}
		for _, k := range st.keys {
			if strings.ContainsAny(k.pat, " \x00") {
				t.Fatalf("%q: a key pattern with a space: %q", ops, k.pat)
			}
		}
	})
}

// TestACLConfigRequirePassAndSlowlog: CONFIG SET requirepass changes the
// default user's password (and "" makes it nopass again); the slow log
// never holds ACL SETUSER's rules, which carry passwords.
func TestACLConfigRequirePassAndSlowlog(t *testing.T) {
	ts := startServer(t, nil)
	c := dial(t, ts.addr)
	steps := []struct{ cmd, want string }{
		{"CONFIG SET slowlog-log-slower-than 0", "+OK\r\n"},
		{"ACL SETUSER zz >hunter2", "+OK\r\n"},
		{"CONFIG SET requirepass pw1", "+OK\r\n"},
		{"ACL LIST", "*2\r\n$93\r\nuser default on #" + hexDigest("pw1") + " ~* &* +@all\r\n$97\r\nuser zz off #" + hexDigest("hunter2") + " resetchannels -@all\r\n"},
		{"AUTH pw1", "+OK\r\n"},
	}
	for _, st := range steps {
		got := c.do(strings.Fields(st.cmd)...)
		if st.want != "" && got != st.want {
			t.Fatalf("%s: got %q, want %q", st.cmd, got, st.want)
		}
	}
	if got := c.do("CONFIG", "SET", "requirepass", ""); got != "+OK\r\n" {
		t.Fatalf("CONFIG SET requirepass '': %q", got)
	}
	if got := c.do("ACL", "GETUSER", "default"); !strings.Contains(got, "nopass") {
		t.Fatalf("requirepass '' leaves the default user with a password: %q", got)
	}
	if got := c.do("SLOWLOG", "GET", "100"); strings.Contains(got, "hunter2") || !strings.Contains(got, "SETUSER") {
		t.Fatalf("the slow log of ACL SETUSER: %q", got)
	}
}

// TestACLClientInfoUser: CLIENT INFO and CLIENT LIST name the user a
// connection runs as.
func TestACLClientInfoUser(t *testing.T) {
	ts := startServer(t, nil)
	c := dial(t, ts.addr)
	if got := c.do("CLIENT", "INFO"); !strings.Contains(got, " user=default ") {
		t.Fatalf("CLIENT INFO before AUTH: %q", got)
	}
	c.do("ACL", "SETUSER", "ops", "on", "nopass", "+@all", "~*")
	c.do("AUTH", "ops", "x")
	if got := c.do("CLIENT", "INFO"); !strings.Contains(got, " user=ops ") {
		t.Fatalf("CLIENT INFO as ops: %q", got)
	}
	if got := c.do("CLIENT", "LIST"); !strings.Contains(got, " user=ops ") {
		t.Fatalf("CLIENT LIST as ops: %q", got)
	}
}

// TestACLDisconnects: ACL DELUSER closes the deleted user's connections,
// and narrowing a user's channels closes its clients subscribed to one it
// lost; each read ends with the connection closed (EOF), not a timeout.
func TestACLDisconnects(t *testing.T) {
	ts := startServer(t, nil)
	admin := dial(t, ts.addr)
	closed := func(c *respConn, what string) {
		t.Helper()
		_, err := c.read()
		if err == nil {
			t.Fatalf("%s: the connection answered", what)
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("%s: the connection is still open", what)
		}
	}
	admin.do("ACL", "SETUSER", "sub", "on", "nopass", "~*", "&ch*", "&news", "+@all")
	c := dial(t, ts.addr)
	c.do("AUTH", "sub", "x")
	c.do("SUBSCRIBE", "news")
	if got := admin.do("ACL", "SETUSER", "sub", "&more"); got != "+OK\r\n" {
		t.Fatal(got)
	}
	admin.do("PUBLISH", "news", "m")
	if got, err := c.read(); err != nil || !strings.Contains(got, "news") {
		t.Fatalf("a widening closed the subscriber: %q %v", got, err)
	}
	admin.do("ACL", "SETUSER", "sub", "resetchannels", "&ch*")
	closed(c, "subscriber after its channel was revoked")

	d := dial(t, ts.addr)
	d.do("AUTH", "sub", "x")
	if got := admin.do("ACL", "DELUSER", "sub"); got != ":1\r\n" {
		t.Fatal(got)
	}
	closed(d, "client of a deleted user")
}

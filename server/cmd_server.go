package server

import (
	"strconv"
	"strings"
	"time"

	"github.com/stratadb/strata/collections"
)

// Server commands: CONFIG COMMAND INFO DBSIZE FLUSHDB FLUSHALL TIME
// SHUTDOWN SLOWLOG FUNCTION SAVE BGSAVE LASTSAVE, and the commands the
// server refuses.

func serverCommands() []*command {
	srv := func(s, since, cx string) cmdDoc { return cmdDoc{s, since, "server", cx} }
	return []*command{
		container(group("config", srv("Configuration", "2.0.0", "Depends on subcommand")),
			def("get", -3, "admin noscript loading stale", "", configGetCommand,
				srv("Read configuration parameters", "2.0.0", "O(N) when N is the number of parameters")),
			def("set", -4, "admin noscript loading stale tip:request_policy:all_nodes tip:response_policy:all_succeeded", "", configSetCommand,
				srv("Change configuration parameters while the server runs", "2.0.0", "O(N) when N is the number of parameters")),
			def("resetstat", 2, "admin noscript loading stale", "", configResetStatCommand,
				srv("Reset the statistics INFO reports", "2.0.0", "O(1)")),
			def("rewrite", 2, "admin noscript loading stale", "", notOffered("CONFIG REWRITE"),
				srv("Not supported: the configuration file is never rewritten", "2.8.0", "O(1)")),
			def("help", 2, "loading stale", "", helpCommand(configHelp),
				srv("Show the CONFIG subcommands", "5.0.0", "O(1)")),
		),
		container(def("command", -1, "loading stale tip:nondeterministic_output_order", "@connection", commandCommand,
			cmdDoc{"Describe the commands", "2.8.13", "server", "O(N) where N is the number of commands"}),
			def("count", 2, "loading stale", "@connection", commandCountCommand,
				srv("The number of commands", "2.8.13", "O(1)")),
			def("info", -2, "loading stale tip:nondeterministic_output_order", "@connection", commandInfoCommand,
				srv("Describe commands", "2.8.13", "O(N) where N is the number of commands asked")),
			def("docs", -2, "loading stale tip:nondeterministic_output_order", "@connection", commandDocsCommand,
				srv("Document commands", "7.0.0", "O(N) where N is the number of commands asked")),
			def("list", -2, "loading stale tip:nondeterministic_output_order", "@connection", commandListCommand,
				srv("List the command names", "7.0.0", "O(N) where N is the number of commands")),
			def("getkeys", -4, "loading stale", "@connection", commandGetKeysCommand,
				srv("Extract the keys of a command line", "2.8.13", "O(N) where N is the number of arguments")),
			def("help", 2, "loading stale", "@connection", helpCommand(commandHelp),
				srv("Show the COMMAND subcommands", "5.0.0", "O(1)")),
		),
		def("info", -1, "loading stale tip:nondeterministic_output tip:request_policy:all_shards tip:response_policy:special", "@dangerous", infoCommand,
			srv("Information and statistics about the server", "1.0.0", "O(1)")),
		def("dbsize", 1, "readonly fast tip:request_policy:all_shards tip:response_policy:agg_sum", "@keyspace", dbsizeCommand,
			srv("The number of keys", "1.0.0", "O(N) where N is the number of keys: counted, not kept")),
		def("flushdb", -1, "write tip:request_policy:all_shards tip:response_policy:all_succeeded", "@keyspace @dangerous", flushCommand,
			srv("Delete every key", "1.0.0", "O(1) range delete")),
		def("flushall", -1, "write tip:request_policy:all_shards tip:response_policy:all_succeeded", "@keyspace @dangerous", flushCommand,
			srv("Delete every key", "1.0.0", "O(1) range delete")),
		def("time", 1, "loading stale fast tip:nondeterministic_output", "", timeCommand,
			srv("The server's time", "2.6.0", "O(1)")),
		def("shutdown", -1, "admin noscript loading stale no_multi allow_busy", "", shutdownCommand,
			srv("Stop the server: finish the commands in flight, close the database", "1.0.0", "O(1)")),
		container(group("slowlog", srv("The slow log", "2.2.12", "Depends on subcommand")),
			def("get", -2, "admin loading stale tip:request_policy:all_nodes tip:nondeterministic_output", "", slowlogGetCommand,
				srv("The slow log's entries", "2.2.12", "O(N) where N is the number of entries returned")),
			def("len", 2, "admin loading stale tip:request_policy:all_nodes tip:response_policy:agg_sum tip:nondeterministic_output", "", slowlogLenCommand,
				srv("The slow log's length", "2.2.12", "O(1)")),
			def("reset", 2, "admin loading stale tip:request_policy:all_nodes tip:response_policy:all_succeeded", "", slowlogResetCommand,
				srv("Empty the slow log", "2.2.12", "O(N) where N is the number of entries")),
			def("help", 2, "loading stale", "", helpCommand(slowlogHelp),
				srv("Show the SLOWLOG subcommands", "6.2.0", "O(1)")),
		),
		container(group("function", cmdDoc{"Functions (only FLUSH: functions are not supported)", "7.0.0", "scripting", "Depends on subcommand"}),
			def("flush", -2, "write noscript tip:request_policy:all_shards tip:response_policy:all_succeeded", "@scripting", functionFlushCommand,
				cmdDoc{"Delete every function (there are none)", "7.0.0", "scripting", "O(1)"}),
			def("load", -3, "write denyoom noscript tip:request_policy:all_shards tip:response_policy:all_succeeded", "@scripting", notOffered("FUNCTION LOAD (functions)"),
				cmdDoc{"Not supported: functions", "7.0.0", "scripting", "O(1)"}),
			def("list", -2, "noscript tip:nondeterministic_output_order", "@scripting", notOffered("FUNCTION LIST (functions)"),
				cmdDoc{"Not supported: functions", "7.0.0", "scripting", "O(1)"}),
			def("help", 2, "loading stale", "@scripting", helpCommand(functionHelp),
				cmdDoc{"Show the FUNCTION subcommands", "7.0.0", "scripting", "O(1)"}),
		),
		def("save", 1, "admin noscript no_async_loading no_multi", "", saveCommand,
			srv("Write a backup (a checkpoint) of the database to <dir>/backup", "1.0.0", "O(N) in the files of the database")),
		def("bgsave", -1, "admin noscript no_async_loading", "", bgsaveCommand,
			srv("Write a backup (a checkpoint) in the background", "1.0.0", "O(N) in the files of the database")),
		def("lastsave", 1, "loading stale fast tip:nondeterministic_output", "@admin @dangerous", lastsaveCommand,
			srv("When the last backup finished, as a Unix time", "1.0.0", "O(1)")),
		def("role", 1, "noscript loading stale fast", "@admin @dangerous", roleCommand,
			srv("The replication role: always master", "2.8.12", "O(1)")),
		def("wait", 3, "noscript tip:request_policy:all_shards tip:response_policy:agg_min", "@connection", waitCommand,
			cmdDoc{"Wait for replicas (there are none): answers 0", "3.0.0", "generic", "O(1)"}),
	}
}

var configHelp = []string{
	"CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"GET <pattern> [<pattern> ...]", "    Return the parameters matching the glob-like patterns and their values.",
	"SET <directive> <value> [<directive> <value> ...]", "    Set configuration directives.",
	"RESETSTAT", "    Reset the statistics reported by the INFO command.",
	"HELP", "    Print this help.",
}

var commandHelp = []string{
	"COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"(no subcommand)", "    Describe every command.",
	"COUNT", "    The number of commands.",
	"INFO [<command-name> ...]", "    Describe the commands named, or all.",
	"DOCS [<command-name> ...]", "    Document the commands named, or all.",
	"LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]", "    List the command names.",
	"GETKEYS <full-command>", "    The keys of a command line.",
	"HELP", "    Print this help.",
}

var slowlogHelp = []string{
	"SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"GET [<count>]", "    The top <count> entries of the slow log (default: 10, -1 for all).",
	"LEN", "    The number of entries in the slow log.",
	"RESET", "    Empty the slow log.",
	"HELP", "    Print this help.",
}

var functionHelp = []string{
	"FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"FLUSH [ASYNC|SYNC]", "    Delete every function: accepted, there are none (functions are not supported).",
	"HELP", "    Print this help.",
}

// refusedCommands are Redis commands this server does not offer. Each
// answers an error naming the feature; they are in the table so COMMAND
// lists them and MULTI refuses them at queue time like unknown ones do not.
func refusedCommands() []*command {
	gen := func(s string) cmdDoc { return cmdDoc{"Not supported: " + s, "", "server", "O(1)"} }
	return []*command{
		def("replicaof", 3, "admin noscript stale no_async_loading", "", notOffered("replication (REPLICAOF)"), gen("replication")),
		def("slaveof", 3, "admin noscript stale no_async_loading", "", notOffered("replication (SLAVEOF)"), gen("replication")),
		def("sync", 1, "admin noscript no_async_loading no_multi", "", notOffered("replication (SYNC)"), gen("replication")),
		def("psync", -3, "admin noscript no_async_loading no_multi", "", notOffered("replication (PSYNC)"), gen("replication")),
		def("cluster", -2, "", "", notOffered("CLUSTER (cluster mode)"), gen("cluster mode")),
		def("debug", -2, "admin noscript loading stale", "", notOffered("DEBUG"), gen("DEBUG")),
		def("module", -2, "", "", notOffered("MODULE (modules)"), gen("modules")),
		def("object", -2, "", "", notOffered("OBJECT (object encodings are the engine's)"), gen("OBJECT")),
		def("monitor", 1, "admin noscript loading stale", "", notOffered("MONITOR"), gen("MONITOR")),
		def("failover", -1, "admin noscript stale", "", notOffered("replication (FAILOVER)"), gen("replication")),
		container(group("acl", cmdDoc{"Access control lists: users, their passwords and permissions", "6.0.0", "server", "Depends on subcommand"}),
			def("whoami", 2, "noscript loading stale", "", aclWhoamiCommand, srv0("The user the connection is authenticated as")),
			def("cat", -2, "noscript loading stale", "", aclCatCommand, srv0("The ACL categories, or the commands in one")),
			def("setuser", -3, "admin noscript loading stale", "", aclSetuserCommand, srv0("Create or modify a user with rules")),
			def("deluser", -3, "admin noscript loading stale", "", aclDeluserCommand, srv0("Delete users and disconnect their clients")),
			def("getuser", 3, "admin noscript loading stale", "", aclGetuserCommand, srv0("One user's flags, passwords, commands, keys and channels")),
			def("list", 2, "admin noscript loading stale", "", aclListCommand, srv0("The users as rules")),
			def("users", 2, "admin noscript loading stale", "", aclUsersCommand, srv0("The user names")),
			def("log", -2, "admin noscript loading stale", "", aclLogCommand, srv0("Denials are not logged: an empty list")),
			def("dryrun", -4, "admin noscript loading stale", "", aclDryrunCommand, srv0("Whether a user could run a command")),
			def("genpass", -2, "noscript loading stale", "", aclGenpassCommand, srv0("A random password")),
			def("save", 2, "admin noscript loading stale", "", aclFileCommand, srv0("Not supported: an ACL file")),
			def("load", 2, "admin noscript loading stale", "", aclFileCommand, srv0("Not supported: an ACL file")),
		),
	}
}

func srv0(s string) cmdDoc { return cmdDoc{s, "6.0.0", "server", "O(1)"} }

func aclCatCommand(c *cmdCtx) {
	if len(c.argv) == 2 {
		c.w.array(len(catNames))
		for _, n := range catNames {
			c.w.bulkString(n)
		}
		return
	}
	if len(c.argv) > 3 {
		c.w.err(wrongArgs("acl|cat"))
		return
	}
	i := indexOf(catNames[:], strings.ToLower(c.arg(2)))
	if i < 0 {
		c.w.err("ERR Unknown category '" + c.arg(2) + "'")
		return
	}
	var names []string
	for _, n := range c.s.table.sortedNames() {
		cmd := c.s.table[n]
		if cmd.acl&(1<<i) != 0 {
			names = append(names, n)
		}
		for _, sn := range sortedKeys(cmd.subs) {
			if cmd.subs[sn].acl&(1<<i) != 0 {
				names = append(names, cmd.subs[sn].name)
			}
		}
	}
	c.w.array(len(names))
	for _, n := range names {
		c.w.bulkString(n)
	}
}

func configGetCommand(c *cmdCtx) { c.s.configGet(c.w, c.argv[2:]) }

func configSetCommand(c *cmdCtx) {
	if msg := c.s.configSet(c.argv[2:]); msg != "" {
		c.w.err(msg)
		return
	}
	c.w.ok()
}

func configResetStatCommand(c *cmdCtx) {
	c.s.resetStats()
	c.w.ok()
}

func commandCountCommand(c *cmdCtx) { c.w.int(int64(len(c.s.table))) }

// commandCommand is COMMAND without a subcommand: every command's info.
func commandCommand(c *cmdCtx) {
	names := c.s.table.sortedNames()
	c.w.array(len(names))
	for _, n := range names {
		c.s.table[n].writeInfo(c.w)
	}
}

func commandInfoCommand(c *cmdCtx) {
	if len(c.argv) == 2 {
		commandCommand(c)
		return
	}
	c.w.array(len(c.argv) - 2)
	for _, a := range c.argv[2:] {
		if cmd := c.s.table.lookupName(string(a)); cmd != nil {
			cmd.writeInfo(c.w)
		} else {
			c.w.null()
		}
	}
}

func commandDocsCommand(c *cmdCtx) {
	var cmds []*command
	if len(c.argv) == 2 {
		for _, n := range c.s.table.sortedNames() {
			cmds = append(cmds, c.s.table[n])
		}
	} else {
		for _, a := range c.argv[2:] {
			if cmd := c.s.table.lookupName(string(a)); cmd != nil {
				cmds = append(cmds, cmd)
			}
		}
	}
	c.w.mapHeader(len(cmds))
	for _, cmd := range cmds {
		c.w.bulkString(cmd.name)
		cmd.writeDocs(c.w)
	}
}

func commandListCommand(c *cmdCtx) {
	filter := func(*command) bool { return true }
	switch {
	case len(c.argv) == 2:
	case len(c.argv) == 5 && strings.EqualFold(c.arg(2), "filterby"):
		v := c.argv[4]
		switch strings.ToLower(c.arg(3)) {
		case "module":
			filter = func(*command) bool { return false }
		case "aclcat":
			i := indexOf(catNames[:], strings.ToLower(string(v)))
			filter = func(cmd *command) bool { return i >= 0 && cmd.acl&(1<<i) != 0 }
		case "pattern":
			filter = func(cmd *command) bool { return globMatch(v, []byte(cmd.name), true) }
		default:
			c.w.err(msgSyntax)
			return
		}
	default:
		c.w.err(msgSyntax)
		return
	}
	var names []string
	for _, n := range c.s.table.sortedNames() {
		cmd := c.s.table[n]
		if filter(cmd) {
			names = append(names, n)
		}
		for _, sn := range sortedKeys(cmd.subs) {
			if filter(cmd.subs[sn]) {
				names = append(names, cmd.subs[sn].name)
			}
		}
	}
	c.w.array(len(names))
	for _, n := range names {
		c.w.bulkString(n)
	}
}

func commandGetKeysCommand(c *cmdCtx) {
	argv := c.argv[2:]
	cmd := c.s.table.lookup(argv)
	switch {
	case cmd == nil || (cmd.subs != nil && cmd.handler == nil):
		c.w.err("ERR Invalid command specified")
		return
	case !cmd.arityOK(len(argv)):
		c.w.err("ERR Invalid number of arguments specified for command")
		return
	}
	pos := cmd.keyPositions(argv)
	if len(pos) == 0 {
		if cmd.flags&flagNoMandatoryKeys != 0 {
			c.w.array(0)
			return
		}
		c.w.err("ERR Invalid arguments specified for command")
		return
	}
	c.w.array(len(pos))
	for _, i := range pos {
		c.w.bulk(argv[i])
	}
}

func dbsizeCommand(c *cmdCtx) {
	n := 0
	if err := c.ks.Keys(&collections.KeysOptions{}, func([]byte, Kind, time.Time) bool { n++; return true }); err != nil {
		c.errReply(err)
		return
	}
	c.w.int(int64(n))
}

func flushCommand(c *cmdCtx) {
	if len(c.argv) > 2 || (len(c.argv) == 2 && !strings.EqualFold(c.arg(1), "async") && !strings.EqualFold(c.arg(1), "sync")) {
		c.w.err(msgSyntax)
		return
	}
	if !c.inTx {
		c.s.gate.exclusive()
		defer c.s.gate.releaseExclusive()
	}
	c.s.touchExisting(c.ks)
	if err := c.ks.Flush(); err != nil {
		c.errReply(err)
		return
	}
	if !c.inTx && c.s.syncAlways() { // appendfsync always (EXEC syncs its own)
		if err := c.s.db.Sync(); err != nil {
			c.errReply(err)
			return
		}
	}
	c.s.cursors.reset()
	c.w.ok()
}

func timeCommand(c *cmdCtx) {
	now := c.s.now()
	c.w.array(2)
	c.w.bulkString(strconv.FormatInt(now.Unix(), 10))
	c.w.bulkString(strconv.FormatInt(int64(now.Nanosecond()/1000), 10))
}

func shutdownCommand(c *cmdCtx) {
	save := false
	for _, a := range c.argv[1:] {
		switch strings.ToLower(string(a)) {
		case "nosave", "now", "force":
		case "save":
			save = true
		case "abort":
			c.w.err("ERR No shutdown in progress.")
			return
		default:
			c.w.err(msgSyntax)
			return
		}
	}
	if save {
		if err := c.s.backupNow(); err != nil {
			c.w.err("ERR Errors trying to SHUTDOWN. Check logs.")
			c.s.log.Error("backup before shutdown failed", "err", err)
			return
		}
	}
	c.s.log.Info("shutdown requested", "addr", c.cl.addr)
	c.cl.closeAfter = true // no reply: the connection closes, as in Redis
	c.s.requestShutdown()
}

func slowlogGetCommand(c *cmdCtx) {
	count := int64(10)
	if len(c.argv) == 3 {
		n, ok := parseInt64(c.argv[2])
		if !ok || n < -1 {
			c.w.err("ERR count should be greater than or equal to -1")
			return
		}
		count = n
	} else if len(c.argv) > 3 {
		c.w.err(wrongArgs("slowlog|get"))
		return
	}
	c.s.slowlog.write(c.w, count)
}

func slowlogLenCommand(c *cmdCtx) { c.w.int(int64(c.s.slowlog.len())) }

func slowlogResetCommand(c *cmdCtx) {
	c.s.slowlog.reset()
	c.w.ok()
}

func functionFlushCommand(c *cmdCtx) {
	switch {
	case len(c.argv) == 2:
	case len(c.argv) == 3 && (strings.EqualFold(c.arg(2), "async") || strings.EqualFold(c.arg(2), "sync")):
	case len(c.argv) == 3:
		c.w.err("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
		return
	default:
		c.w.err("ERR unknown subcommand or wrong number of arguments for 'FLUSH'. Try FUNCTION HELP.")
		return
	}
	c.w.ok()
}

func saveCommand(c *cmdCtx) {
	if c.s.backup.running.Load() {
		c.w.err("ERR Background save already in progress")
		return
	}
	if err := c.s.backupNow(); err != nil {
		c.w.err("ERR " + err.Error())
		return
	}
	c.w.ok()
}

func bgsaveCommand(c *cmdCtx) {
	schedule := false
	if len(c.argv) == 2 {
		if !strings.EqualFold(c.arg(1), "schedule") {
			c.w.err(msgSyntax)
			return
		}
		schedule = true
	} else if len(c.argv) > 2 {
		c.w.err(msgSyntax)
		return
	}
	if !c.s.backupInBackground() {
		if schedule {
			c.w.simple("Background saving scheduled")
			return
		}
		c.w.err("ERR Background save already in progress")
		return
	}
	c.w.simple("Background saving started")
}

func lastsaveCommand(c *cmdCtx) { c.w.int(c.s.backup.lastSave.Load()) }

func roleCommand(c *cmdCtx) {
	c.w.array(3)
	c.w.bulkString("master")
	c.w.int(0)
	c.w.array(0)
}

func waitCommand(c *cmdCtx) {
	if _, ok := parseInt64(c.argv[1]); !ok {
		c.w.err(msgNotInt)
		return
	}
	if t, ok := parseInt64(c.argv[2]); !ok {
		c.w.err("ERR timeout is not an integer or out of range")
		return
	} else if t < 0 {
		c.w.err("ERR timeout is negative")
		return
	}
	c.w.int(0)
}

package server

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

	"github.com/stratadb/strata/lsm"
)

// Options configures a Server. The zero value of every field is its
// default, which is Redis 7.0's unless said otherwise. Each field also has
// the redis.conf directive that sets it (ApplyDirective), named in its doc.
type Options struct {
	// Bind lists the addresses to listen on (bind); an address written
	// with a leading '-' may fail (a machine without IPv6), and "*" is every
	// address. The default value is 127.0.0.1 and -::1: only this machine
	// can connect.
	Bind []string
	// Port is the TCP port (port). The default value is 6379; -1 disables
	// the plain TCP listener (redis.conf's "port 0").
	Port int
	// TLSPort is the TLS port (tls-port). The default value is 0: no TLS.
	TLSPort int
	// TLSCertFile and TLSKeyFile are the server's certificate and key in
	// PEM (tls-cert-file, tls-key-file). Required with TLSPort unless
	// TLSConfig is set.
	TLSCertFile, TLSKeyFile string
	// TLSCACertFile holds the CAs that sign client certificates
	// (tls-ca-cert-file).
	TLSCACertFile string
	// TLSAuthClients is "yes" (a client certificate is required), "no" or
	// "optional" (tls-auth-clients). The default value is "yes" when
	// TLSCACertFile is set and "no" otherwise.
	TLSAuthClients string
	// TLSConfig, when set, is used for the TLS listener instead of the files
	// above (for embedding programs).
	TLSConfig *tls.Config

	// RequirePass is the default user's password (requirepass). The default
	// value is none: no authentication.
	RequirePass string
	// ProtectedModeOff turns protected mode off (protected-mode no). By
	// default, with no password set, connections from other than loopback
	// addresses are refused with -DENIED.
	ProtectedModeOff bool

	// AppendFsync is "always", "everysec" or "no" (appendfsync): when a
	// write is fsynced, on top of the DB's own SyncMode. The default value
	// is "everysec". See doc.go for how each is carried out.
	AppendFsync string
	// MaxClients bounds the connected clients (maxclients). The default
	// value is 10000.
	MaxClients int
	// Timeout closes a client idle this long (timeout, in seconds). The
	// default value is 0: never.
	Timeout time.Duration
	// LuaTimeLimit is how long a script runs before other clients get
	// -BUSY and SCRIPT KILL may stop it (lua-time-limit, busy-reply-
	// threshold, in ms). The default value is 5 s.
	LuaTimeLimit time.Duration
	// MaxMemory is reported by CONFIG GET maxmemory and INFO; the binary
	// passes it to the engine as lsm.Options.MemoryLimit (at least 32 MiB).
	// It never evicts: the data lives on disk. The default value is 0: the
	// binary then gives the engine half the memory limit of the container
	// it runs in, or the engine's own defaults outside one.
	MaxMemory int64

	// ProtoMaxBulkLen bounds one argument (proto-max-bulk-len). The default
	// value is 512 MiB. Values are further bounded by lsm.MaxValueSize.
	ProtoMaxBulkLen int64
	// ClientQueryBufferLimit bounds a client's unprocessed input
	// (client-query-buffer-limit). The default value is 1 GiB.
	ClientQueryBufferLimit int64
	// MaxMultibulkLen bounds the arguments of one request. The default
	// value is 1M (1048576), the bound Redis had before 7.0 made it INT_MAX.
	MaxMultibulkLen int64

	// SlowlogLogSlowerThan is the duration from which a command enters the
	// slow log (slowlog-log-slower-than, in µs). The default value is
	// 10 ms; a negative value disables the log; a value under 1 µs logs
	// every command.
	SlowlogLogSlowerThan time.Duration
	// SlowlogMaxLen is the number of slow log entries kept
	// (slowlog-max-len). The default value is 128; a negative value keeps
	// none.
	SlowlogMaxLen int

	// Dir is the data directory (dir): strata-server keeps the database in
	// Dir/data and SAVE and BGSAVE write their backup to Dir/backup. The
	// default value is the DB's directory. A checkpoint may not lie inside
	// the DB it copies, so when Dir is the DB's own directory the backup
	// goes beside it instead, to <DB directory>.backup.
	Dir string
	// LogLevel is "debug", "verbose", "notice" or "warning" (loglevel), or
	// slog's "info"/"warn". The default value is "notice" (info).
	LogLevel string
	// Logger receives the server's log. The default value writes text to
	// stderr at LogLevel.
	Logger *slog.Logger
	// LevelVar, when set, is the level of Logger that CONFIG SET loglevel
	// changes. The default value is none with a Logger given (loglevel
	// then changes nothing), and the default logger's own level otherwise.
	LevelVar *slog.LevelVar

	// ShutdownTimeout bounds how long a shutdown waits for the commands in
	// flight before closing connections. The default value is 10 s.
	ShutdownTimeout time.Duration
	// Version is the redis_version the server reports. The default value is
	// "7.0.0".
	Version string
	// SoleWriter promises that the server is the only writer of the DB:
	// no Go code of the embedding program writes it (db.Put and the rest)
	// while the server runs. A read of a collection whose metadata the
	// Store caches then skips the probe for a string of the same name, and
	// costs one engine lookup fewer (collections.Options.SoleWriter). The
	// strata-server binary, which alone opens its DB, sets it. The default
	// value is false: raw writes are seen as ever.
	SoleWriter bool
	// MetaCacheSize bounds the Store's cache of collection metadata
	// (collections.Options.MetaCacheSize): 0 means the collections
	// package's default, a negative value turns the cache off. The
	// strata-server binary sizes it with the engine's memory (see its
	// engineOptions).
	MetaCacheSize int64

	// now is the clock of expirations and INFO (tests).
	now func() time.Time
}

func (o *Options) normalized() Options {
	var c Options
	if o != nil {
		c = *o
	}
	if len(c.Bind) == 0 {
		c.Bind = []string{"127.0.0.1", "-::1"}
	}
	if c.Port == 0 {
		c.Port = 6379
	}
	if c.AppendFsync == "" {
		c.AppendFsync = "everysec"
	}
	if c.MaxClients == 0 {
		c.MaxClients = 10000
	}
	if c.LuaTimeLimit == 0 {
		c.LuaTimeLimit = 5 * time.Second
	}
	if c.ProtoMaxBulkLen == 0 {
		c.ProtoMaxBulkLen = 512 << 20
	}
	if c.ClientQueryBufferLimit == 0 {
		c.ClientQueryBufferLimit = 1 << 30
	}
	if c.MaxMultibulkLen == 0 {
		c.MaxMultibulkLen = 1 << 20
	}
	if c.SlowlogLogSlowerThan == 0 {
		c.SlowlogLogSlowerThan = 10 * time.Millisecond
	}
	if c.SlowlogMaxLen == 0 {
		c.SlowlogMaxLen = 128
	}
	if c.LogLevel == "" {
		c.LogLevel = "notice"
	}
	if c.TLSAuthClients == "" {
		c.TLSAuthClients = "no"
		if c.TLSCACertFile != "" {
			c.TLSAuthClients = "yes"
		}
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 10 * time.Second
	}
	if c.Version == "" {
		c.Version = "7.0.0"
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

func (o *Options) validate() error {
	if _, err := lsm.ParseSyncMode(o.AppendFsync); err != nil {
		return fmt.Errorf("server: appendfsync %q: must be always, everysec or no", o.AppendFsync)
	}
	if o.Port < -1 || o.Port > 65535 || o.TLSPort < 0 || o.TLSPort > 65535 {
		return fmt.Errorf("server: port out of range")
	}
	if o.TLSPort > 0 && o.TLSConfig == nil && (o.TLSCertFile == "" || o.TLSKeyFile == "") {
		return fmt.Errorf("server: tls-port needs tls-cert-file and tls-key-file")
	}
	switch o.TLSAuthClients {
	case "yes", "no", "optional":
	default:
		return fmt.Errorf("server: tls-auth-clients %q: must be yes, no or optional", o.TLSAuthClients)
	}
	if o.MaxClients < 1 {
		return fmt.Errorf("server: maxclients must be at least 1")
	}
	if o.Timeout < 0 || o.LuaTimeLimit < 0 || o.MaxMemory < 0 {
		return fmt.Errorf("server: negative timeout, lua-time-limit or maxmemory")
	}
	if o.ProtoMaxBulkLen < 1024*1024 || o.ClientQueryBufferLimit < 1024*1024 {
		return fmt.Errorf("server: proto-max-bulk-len and client-query-buffer-limit must be at least 1mb")
	}
	if o.MaxMultibulkLen < 1 {
		return fmt.Errorf("server: bad multibulk length")
	}
	if _, err := parseLogLevel(o.LogLevel); err != nil {
		return err
	}
	return nil
}

// ParseLogLevel reads a loglevel: Redis's debug, verbose, notice and
// warning, or slog's info and warn.
func ParseLogLevel(s string) (slog.Level, error) { return parseLogLevel(s) }

func parseLogLevel(s string) (slog.Level, error) {
	switch s {
	case "debug":
		return slog.LevelDebug, nil
	case "verbose", "notice", "info", "":
		return slog.LevelInfo, nil
	case "warning", "warn":
		return slog.LevelWarn, nil
	}
	return 0, fmt.Errorf("server: loglevel %q: must be debug, verbose, notice or warning", s)
}

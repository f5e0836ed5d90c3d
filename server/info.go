package server

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/stratadb/strata/collections"
)

// INFO: Redis 7.0's sections and the fields exporters read, plus a
// "strata" section with the engine's metrics. Fields Redis has and this
// server cannot mean the same thing by are left out rather than faked.

var defaultSections = []string{"server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules", "errorstats", "cluster", "keyspace", "strata"}
var allSections = []string{"server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules", "commandstats", "errorstats", "cluster", "keyspace", "strata"}

func infoCommand(c *cmdCtx) {
	want := map[string]bool{}
	var order []string
	add := func(names ...string) {
		for _, n := range names {
			if !want[n] {
				want[n] = true
				order = append(order, n)
			}
		}
	}
	if len(c.argv) == 1 {
		add(defaultSections...)
	}
	for _, a := range c.argv[1:] {
		switch s := strings.ToLower(string(a)); s {
		case "default":
			add(defaultSections...)
		case "all", "everything":
			add(allSections...)
		default:
			add(s)
		}
	}
	var b strings.Builder
	for _, sec := range allSections {
		if !want[sec] {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		c.s.infoSection(&b, sec)
	}
	c.w.verbatim(b.String())
}

func (s *Server) infoSection(b *strings.Builder, sec string) {
	kv := func(k string, v any) { fmt.Fprintf(b, "%s:%v\r\n", k, v) }
	o := s.config()
	now := s.now()
	switch sec {
	case "server":
		b.WriteString("# Server\r\n")
		kv("redis_version", o.Version)
		kv("strata_version", Version)
		kv("redis_git_sha1", "00000000")
		kv("redis_git_dirty", 0)
		kv("redis_mode", "standalone")
		kv("os", runtime.GOOS+" "+runtime.GOARCH)
		kv("arch_bits", 32<<(^uint(0)>>63))
		kv("go_version", runtime.Version())
		kv("process_id", os.Getpid())
		kv("run_id", s.runID)
		kv("tcp_port", max(o.Port, 0))
		kv("tls_port", o.TLSPort)
		kv("server_time_usec", now.UnixMicro())
		up := now.Sub(s.start)
		kv("uptime_in_seconds", int64(up.Seconds()))
		kv("uptime_in_days", int64(up.Hours()/24))
		kv("hz", 10)
		kv("executable", executable())
		kv("config_file", "")
	case "clients":
		b.WriteString("# Clients\r\n")
		s.mu.Lock()
		n := len(s.clients)
		s.mu.Unlock()
		kv("connected_clients", n)
		kv("cluster_connections", 0)
		kv("maxclients", o.MaxClients)
		blocked := s.blocking.nBlocked.Load()
		kv("blocked_clients", blocked)
		kv("tracking_clients", 0)
		kv("clients_in_timeout_table", blocked)
	case "memory":
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		m := s.db.Metrics()
		b.WriteString("# Memory\r\n")
		used := ms.HeapAlloc + ms.StackInuse
		kv("used_memory", used)
		kv("used_memory_human", human(int64(used)))
		rss := ms.Sys - ms.HeapReleased
		kv("used_memory_rss", rss)
		kv("used_memory_rss_human", human(int64(rss)))
		peak := s.stats.notePeak(int64(used))
		kv("used_memory_peak", peak)
		kv("used_memory_peak_human", human(peak))
		kv("used_memory_engine_memtables", m.MemtableBytes)
		kv("used_memory_engine_block_cache", m.BlockCacheBytes)
		kv("maxmemory", o.MaxMemory)
		kv("maxmemory_human", human(o.MaxMemory))
		kv("maxmemory_policy", "noeviction")
		frag := 0.0
		if used > 0 {
			frag = float64(rss) / float64(used)
		}
		kv("mem_fragmentation_ratio", fmt.Sprintf("%.2f", frag))
		kv("mem_allocator", "go")
	case "persistence":
		m := s.db.Metrics()
		b.WriteString("# Persistence\r\n")
		kv("loading", 0)
		kv("async_loading", 0)
		kv("rdb_changes_since_last_save", 0)
		kv("rdb_bgsave_in_progress", b2i(s.backup.running.Load()))
		kv("rdb_last_save_time", s.backup.lastSave.Load())
		status := "ok"
		if s.backup.tried.Load() && !s.backup.lastOK.Load() {
			status = "err"
		}
		kv("rdb_last_bgsave_status", status)
		kv("rdb_last_bgsave_time_sec", s.backup.lastSecs.Load())
		kv("backup_dir", s.backupDir())
		kv("aof_enabled", 1)
		kv("aof_rewrite_in_progress", 0)
		kv("aof_last_write_status", okIf(m.BackgroundError == ""))
		kv("appendfsync", s.config().AppendFsync)
		kv("wal_bytes_written", m.WALBytesWritten)
		kv("wal_syncs", m.WALSyncs)
		kv("last_seq", m.LastSeq)
		kv("flushes", m.Flushes)
		kv("flush_bytes", m.FlushBytes)
		kv("compactions", m.Compactions)
		kv("compaction_bytes_read", m.CompactionBytesRead)
		kv("compaction_bytes_written", m.CompactionBytesWritten)
	case "stats":
		m := s.db.Metrics()
		st := &s.stats
		b.WriteString("# Stats\r\n")
		kv("total_connections_received", st.connsReceived.Load())
		kv("total_commands_processed", st.commands.Load())
		kv("instantaneous_ops_per_sec", st.opsPerSec())
		kv("total_net_input_bytes", st.netIn.Load())
		kv("total_net_output_bytes", st.netOut.Load())
		kv("rejected_connections", st.rejectedConns.Load())
		kv("expired_keys", m.ExpiredDropped)
		kv("evicted_keys", 0)
		kv("keyspace_hits", st.hits.Load())
		kv("keyspace_misses", st.misses.Load())
		nch, npat, nshard := s.pubsub.counts()
		kv("pubsub_channels", nch)
		kv("pubsub_patterns", npat)
		kv("pubsubshard_channels", nshard)
		kv("total_error_replies", st.errorReplies.Load())
	case "replication":
		b.WriteString("# Replication\r\n")
		kv("role", "master")
		kv("connected_slaves", 0)
		kv("master_repl_offset", 0)
	case "cpu":
		b.WriteString("# CPU\r\n")
		sys, user := cpuTimes()
		kv("used_cpu_sys", fmt.Sprintf("%.6f", sys))
		kv("used_cpu_user", fmt.Sprintf("%.6f", user))
	case "modules":
		b.WriteString("# Modules\r\n")
	case "cluster":
		b.WriteString("# Cluster\r\n")
		kv("cluster_enabled", 0)
	case "errorstats":
		b.WriteString("# Errorstats\r\n")
		s.stats.errMu.Lock()
		codes := make([]string, 0, len(s.stats.errors))
		for k := range s.stats.errors {
			codes = append(codes, k)
		}
		sort.Strings(codes)
		for _, k := range codes {
			kv("errorstat_"+k, fmt.Sprintf("count=%d", s.stats.errors[k]))
		}
		s.stats.errMu.Unlock()
	case "commandstats":
		b.WriteString("# Commandstats\r\n")
		for _, n := range s.table.sortedNames() {
			cmd := s.table[n]
			writeCmdStat(b, cmd)
			for _, sn := range sortedKeys(cmd.subs) {
				writeCmdStat(b, cmd.subs[sn])
			}
		}
	case "keyspace":
		b.WriteString("# Keyspace\r\n")
		keys, expires, avgTTL, all := s.keyspaceSummary()
		if keys > 0 {
			kv("db0", fmt.Sprintf("keys=%d,expires=%d,avg_ttl=%d", keys, expires, avgTTL))
		}
		if !all {
			kv("keyspace_counted_all", 0)
		}
	case "strata":
		m := s.db.Metrics()
		b.WriteString("# Strata\r\n")
		kv("sync_mode", m.SyncMode)
		kv("tables", m.Tables)
		kv("disk_bytes", m.DiskBytes)
		for l, lm := range m.Levels {
			kv(fmt.Sprintf("level%d", l), fmt.Sprintf("tables=%d,bytes=%d,score=%.2f", lm.Tables, lm.Bytes, lm.Score))
		}
		kv("write_amplification", fmt.Sprintf("%.2f", m.WriteAmp))
		kv("read_amplification", m.ReadAmp)
		ratio := 0.0
		if t := m.BlockCacheHits + m.BlockCacheMisses; t > 0 {
			ratio = float64(m.BlockCacheHits) / float64(t)
		}
		kv("block_cache_hit_ratio", fmt.Sprintf("%.4f", ratio))
		kv("block_cache_hits", m.BlockCacheHits)
		kv("block_cache_misses", m.BlockCacheMisses)
		kv("data_blocks_read", m.DataBlocksRead)
		kv("commit_groups", m.CommitGroups)
		kv("commit_writes", m.CommitWrites)
		kv("block_cache_bytes", m.BlockCacheBytes)
		kv("block_cache_capacity", m.BlockCacheCapacity)
		kv("memtable_bytes", m.MemtableBytes)
		kv("immutable_memtables", m.ImmutableMemtables)
		kv("write_stalls", m.WriteStalls)
		kv("write_slowdowns", m.WriteSlowdowns)
		kv("write_stall_time_ms", m.WriteStallTime.Milliseconds())
		kv("ttl_compactions", m.TTLCompactions)
		kv("expired_hidden", m.ExpiredHidden)
		kv("background_errors", m.BackgroundErrors)
		kv("background_error", m.BackgroundError)
	}
}

func writeCmdStat(b *strings.Builder, c *command) {
	calls := c.stats.calls.Load()
	rej, failed := c.stats.rejected.Load(), c.stats.failed.Load()
	if calls == 0 && rej == 0 && failed == 0 {
		return
	}
	usec := c.stats.usec.Load()
	per := 0.0
	if calls > 0 {
		per = float64(usec) / float64(calls)
	}
	fmt.Fprintf(b, "cmdstat_%s:calls=%d,usec=%d,usec_per_call=%.2f,rejected_calls=%d,failed_calls=%d\r\n", c.name, calls, usec, per, rej, failed)
}

func okIf(b bool) string {
	if b {
		return "ok"
	}
	return "err"
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2fG", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2fM", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.2fK", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}

func executable() string {
	p, err := os.Executable()
	if err != nil {
		return ""
	}
	return p
}

// keyspaceLimit bounds the keys INFO keyspace counts, so INFO stays cheap
// on a large database: past it, keys is that lower bound and the section
// says keyspace_counted_all:0.
const keyspaceLimit = 1_000_000

// keyspaceSummary counts keys and keys with an expiry, and the mean TTL in
// ms, reading at most keyspaceLimit keys; all reports whether it read them
// all.
func (s *Server) keyspaceSummary() (keys, expires, avgTTL int64, all bool) {
	now := s.now()
	var ttlSum int64
	all = true
	s.ks.Keys(&collections.KeysOptions{}, func(k []byte, _ Kind, exp time.Time) bool {
		if keys >= keyspaceLimit {
			all = false
			return false
		}
		keys++
		if !exp.IsZero() {
			expires++
			ttlSum += exp.Sub(now).Milliseconds()
		}
		return true
	})
	if expires > 0 {
		avgTTL = ttlSum / expires
	}
	return keys, expires, avgTTL, all
}

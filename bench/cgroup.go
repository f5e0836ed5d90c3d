package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The memory-limit mode runs each (engine, workload) child in a memory
// cgroup of its own, as a container would: the limit bounds the process's
// anonymous memory and the page cache it brings in, and the kernel's OOM
// killer ends the child when reclaim cannot keep it under the limit.
//
// The harness creates each group as a child of the memory cgroup it runs in
// (so whatever limits that group has still apply above it), passes its path
// to the child with -cgroup, and the child writes its own pid into it before
// it opens anything. After the child exits the parent reads the group's
// peak usage and OOM-kill count, reclaims its pages (so the next child
// starts with a cold page cache, as a fresh container would) and removes it.

// cgroupVersion is 1 (the legacy memory controller) or 2 (unified).
type cgroupVersion int

// memCgroups is where the harness can create memory cgroups.
type memCgroups struct {
	version cgroupVersion
	parent  string // directory of the harness's own memory cgroup
	seq     int
}

// errNoCgroup says why the memory-limit mode cannot run here.
var errNoCgroup = errors.New("no usable memory cgroup")

// findMemCgroups locates the memory controller and the harness's own group
// in it, from /proc/self/mounts and /proc/self/cgroup.
func findMemCgroups() (*memCgroups, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("%w: creating cgroups needs root (running as uid %d)", errNoCgroup, os.Geteuid())
	}
	mounts, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoCgroup, err)
	}
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoCgroup, err)
	}
	cg, err := parseMemCgroups(string(mounts), string(self), func(p string) ([]byte, error) { return os.ReadFile(p) })
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(cg.parent); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%w: own group %s not found", errNoCgroup, cg.parent)
	}
	if cg.version == 2 {
		// A child group has a memory controller only if the parent hands
		// it down; enabling that fails when the parent has processes of
		// its own (the "no internal processes" rule).
		ctl, _ := os.ReadFile(filepath.Join(cg.parent, "cgroup.subtree_control"))
		if !hasWord(string(ctl), "memory") {
			if err := os.WriteFile(filepath.Join(cg.parent, "cgroup.subtree_control"), []byte("+memory"), 0o644); err != nil {
				return nil, fmt.Errorf("%w: cgroup v2 group %s does not delegate the memory controller (%v)", errNoCgroup, cg.parent, err)
			}
		}
	}
	return cg, nil
}

// parseMemCgroups picks the memory controller from the mount table (cgroup
// v1 with the memory option first, else cgroup2 whose root offers memory)
// and joins it with this process's path in that hierarchy.
func parseMemCgroups(mounts, self string, read func(string) ([]byte, error)) (*memCgroups, error) {
	var v1, v2 string
	for _, line := range strings.Split(mounts, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		switch f[2] {
		case "cgroup":
			for _, o := range strings.Split(f[3], ",") {
				if o == "memory" && v1 == "" {
					v1 = f[1]
				}
			}
		case "cgroup2":
			if v2 == "" {
				if b, err := read(filepath.Join(f[1], "cgroup.controllers")); err == nil && hasWord(string(b), "memory") {
					v2 = f[1]
				}
			}
		}
	}
	for _, line := range strings.Split(self, "\n") {
		// hierarchy-ID:controller-list:path
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if v1 != "" {
			for _, c := range strings.Split(parts[1], ",") {
				if c == "memory" {
					return &memCgroups{version: 1, parent: filepath.Join(v1, parts[2])}, nil
				}
			}
		} else if v2 != "" && parts[0] == "0" && parts[1] == "" {
			return &memCgroups{version: 2, parent: filepath.Join(v2, parts[2])}, nil
		}
	}
	return nil, fmt.Errorf("%w: no memory controller mounted (cgroup v1 \"memory\" or cgroup2 offering memory)", errNoCgroup)
}

func hasWord(s, w string) bool {
	for _, f := range strings.Fields(s) {
		if f == w {
			return true
		}
	}
	return false
}

// memCgroup is one child's group.
type memCgroup struct {
	version cgroupVersion
	dir     string
	limit   int64
}

// create makes a new group with the given limit.
func (m *memCgroups) create(limit int64) (*memCgroup, error) {
	m.seq++
	g := &memCgroup{version: m.version, limit: limit,
		dir: filepath.Join(m.parent, fmt.Sprintf("strata-bench-%d-%d", os.Getpid(), m.seq))}
	if err := os.Mkdir(g.dir, 0o755); err != nil {
		return nil, fmt.Errorf("create cgroup: %w", err)
	}
	lim := strconv.FormatInt(limit, 10)
	var err error
	if g.version == 1 {
		err = g.write("memory.limit_in_bytes", lim)
		// With swap accounting, bound memory+swap too; absent without it.
		if _, serr := os.Stat(filepath.Join(g.dir, "memory.memsw.limit_in_bytes")); serr == nil {
			g.write("memory.memsw.limit_in_bytes", lim)
		}
	} else {
		err = g.write("memory.max", lim)
		if _, serr := os.Stat(filepath.Join(g.dir, "memory.swap.max")); serr == nil {
			g.write("memory.swap.max", "0")
		}
	}
	if err != nil {
		os.Remove(g.dir)
		return nil, err
	}
	return g, nil
}

func (g *memCgroup) write(file, v string) error {
	if err := os.WriteFile(filepath.Join(g.dir, file), []byte(v), 0o644); err != nil {
		return fmt.Errorf("cgroup %s: %w", file, err)
	}
	return nil
}

func (g *memCgroup) readInt(file string) int64 {
	b, err := os.ReadFile(filepath.Join(g.dir, file))
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// cgroupStats is what the parent reads from a group after its child exited.
type cgroupStats struct {
	Peak     int64 // peak usage: memory.max_usage_in_bytes (v1), memory.peak (v2)
	OOMKills int64 // memory.oom_control (v1) or memory.events (v2) oom_kill
	Failcnt  int64 // v1: times usage hit the limit (each triggers reclaim)
}

func (g *memCgroup) stats() cgroupStats {
	var s cgroupStats
	if g.version == 1 {
		s.Peak = g.readInt("memory.max_usage_in_bytes")
		s.Failcnt = g.readInt("memory.failcnt")
		s.OOMKills = keyedField(g.dir, "memory.oom_control", "oom_kill")
	} else {
		s.Peak = g.readInt("memory.peak")
		s.OOMKills = keyedField(g.dir, "memory.events", "oom_kill")
	}
	return s
}

// keyedField reads "name value" lines (memory.oom_control, memory.events).
func keyedField(dir, file, name string) int64 {
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == name {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}

// remove reclaims the group's pages (its share of the page cache) and
// removes it. The child must have exited.
func (g *memCgroup) remove() error {
	if g.version == 1 {
		g.write("memory.force_empty", "0")
	} else {
		g.write("memory.reclaim", strconv.FormatInt(max(g.limit, 1<<20)*2, 10))
	}
	var err error
	for i := 0; i < 50; i++ {
		// The exited child can linger in the group for a moment.
		if err = syscall.Rmdir(g.dir); err == nil || errors.Is(err, os.ErrNotExist) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("remove cgroup %s: %w", g.dir, err)
}

// joinCgroup moves this process into the group at dir: the child's first
// act when the parent runs it under a memory limit.
// cgroupLimit returns the memory limit of the cgroup at dir (v1's
// memory.limit_in_bytes or v2's memory.max), 0 if there is none or dir is "".
func cgroupLimit(dir string) int64 {
	if dir == "" {
		return 0
	}
	for _, name := range []string{"memory.limit_in_bytes", "memory.max"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err == nil && n > 0 && n < 1<<60 {
			return n
		}
	}
	return 0
}

func joinCgroup(dir string) error {
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return fmt.Errorf("join cgroup %s: %w", dir, err)
	}
	return nil
}

// parseSize reads a byte size: a number with an optional unit B, KiB, MiB,
// GiB, TiB (or K, M, G, T, KB, MB, GB, TB, all binary).
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	num, unit := s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || num == "" {
		return 0, fmt.Errorf("size %q: want a number and a unit such as 512MiB or 1GiB", s)
	}
	mult := map[string]float64{"": 1, "b": 1,
		"k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
		"m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
		"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
		"t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("size %q: unknown unit %q", s, unit)
	}
	n := int64(v * mult)
	if n <= 0 {
		return 0, fmt.Errorf("size %q: must be positive", s)
	}
	return n, nil
}

// parseCount reads a key count: 20000000, 20M, 1.5M, 500k, 2G.
func parseCount(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "k") || strings.HasSuffix(s, "K"):
		mult, s = 1e3, s[:len(s)-1]
	case strings.HasSuffix(s, "m") || strings.HasSuffix(s, "M"):
		mult, s = 1e6, s[:len(s)-1]
	case strings.HasSuffix(s, "g") || strings.HasSuffix(s, "G"):
		mult, s = 1e9, s[:len(s)-1]
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v*mult < 1 {
		return 0, fmt.Errorf("count %q: want a number such as 1000000, 10M or 500k", s)
	}
	return int64(v * mult), nil
}

// fmtLimit prints a limit the way the flag takes it: 1GiB, 512MiB.
func fmtLimit(n int64) string {
	switch {
	case n == 0:
		return "none"
	case n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	default:
		return fmt.Sprintf("%dB", n)
	}
}

// fmtCount prints a key count: 20M, 1.5M, 500k.
func fmtCount(n int64) string {
	switch {
	case n >= 1e6 && n%1e5 == 0:
		return strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%.1f", float64(n)/1e6), "0"), ".") + "M"
	case n >= 1e3 && n%100 == 0:
		return strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%.1f", float64(n)/1e3), "0"), ".") + "k"
	default:
		return strconv.FormatInt(n, 10)
	}
}

// dropFileCache asks the kernel to drop the cached pages of every file
// under dir (clean pages only; the engines have closed and synced them), so
// that a limited child starts cold even for pages its predecessors left in
// the page cache outside its group.
func dropFileCache(dir string) {
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return nil
		}
		fadviseDontNeed(f)
		f.Close()
		return nil
	})
}

func fadviseDontNeed(f *os.File) {
	fd := int(f.Fd())
	unix.Fdatasync(fd)
	unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED)
}

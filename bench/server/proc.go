package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc/PID/stat: 100
// on every Linux architecture Go supports.
const clockTicks = 100

// procCPU is the user plus system CPU time a process has used, from fields
// 14 and 15 of /proc/PID/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// count fields from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no ')'", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state), so utime (14) is f[11] and stime (15) f[12].
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime/stime", pid)
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// procStatus reads one "Name: N kB" field of /proc/PID/status in bytes.
func procStatus(pid int, name string) int64 {
	return fileField(fmt.Sprintf("/proc/%d/status", pid), name+":") * 1024
}

// resetPeakRSS sets VmHWM back to the current RSS (writing 5 to
// clear_refs), so the next read gives the peak since now.
func resetPeakRSS(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

func fileField(path, name string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, name); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// loadAvg is the 1-minute load average of the machine.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// loadSampler records the 1-minute load average every few seconds while a
// run lasts.
type loadSampler struct {
	mu      sync.Mutex // guards samples
	samples []float64
	stop    chan struct{}
	done    chan struct{}
}

func startLoadSampler(every time.Duration) *loadSampler {
	l := &loadSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			l.mu.Lock()
			l.samples = append(l.samples, loadAvg())
			l.mu.Unlock()
			select {
			case <-l.stop:
				return
			case <-t.C:
			}
		}
	}()
	return l
}

// summary stops the sampler and returns the minimum, mean and maximum.
func (l *loadSampler) summary() LoadSummary {
	close(l.stop)
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	s := LoadSummary{Samples: len(l.samples)}
	for i, v := range l.samples {
		if i == 0 || v < s.Min {
			s.Min = v
		}
		s.Max = max(s.Max, v)
		s.Mean += v
	}
	if len(l.samples) > 0 {
		s.Mean /= float64(len(l.samples))
	}
	return s
}

// LoadSummary is the machine's 1-minute load average during a run.
type LoadSummary struct {
	Min, Mean, Max float64
	Samples        int
}

// diskUsage is the allocated size of the files under dir.
func diskUsage(dir string) int64 {
	var total int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			total += st.Blocks * 512
		} else {
			total += info.Size()
		}
		return nil
	})
	return total
}

// Machine describes where a run happened.
type Machine struct {
	CPUs       int
	CPUModel   string
	MemoryMiB  int64
	Kernel     string
	GoVersion  string
	Filesystem string
	Redis      string // redis-server --version
	Benchmark  string // redis-benchmark --version
}

func describeMachine(scratch string) Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "model name"); ok {
				m.CPUModel = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
				break
			}
		}
	}
	m.MemoryMiB = fileField("/proc/meminfo", "MemTotal:") / 1024
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = "Linux " + strings.TrimSpace(string(b))
	}
	m.Filesystem = filesystemOf(scratch)
	return m
}

// filesystemOf finds the mount holding path (longest mount-point prefix).
func filesystemOf(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "unknown"
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	b, err := os.ReadFile("/proc/mounts")
	if err != nil {
		return "unknown"
	}
	best, bestLen := "unknown", -1
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		mp := f[1]
		if (abs == mp || strings.HasPrefix(abs, strings.TrimSuffix(mp, "/")+"/")) && len(mp) > bestLen {
			best, bestLen = f[2]+" ("+f[0]+" on "+mp+")", len(mp)
		}
	}
	return best
}

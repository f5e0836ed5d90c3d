package main

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// procIOWriteBytes is write_bytes from /proc/self/io: the bytes this
// process caused to be sent to storage (page-cache pages it dirtied,
// including through mmap). 0 where /proc is missing.
func procIOWriteBytes() int64 { return procField("/proc/self/io", "write_bytes:") }

// procIOReadBytes is read_bytes from /proc/self/io: the bytes this process
// caused to be fetched from storage (page-cache misses, readahead and
// faults on mapped files included; reads served by the page cache are not).
func procIOReadBytes() int64 { return procField("/proc/self/io", "read_bytes:") }

// peakRSS is VmHWM from /proc/self/status: the resident-set high-water mark
// of this process, in bytes.
func peakRSS() int64 { return procField("/proc/self/status", "VmHWM:") * 1024 }

// sampleAnonRSS samples RssAnon of /proc/self/status (the process's
// private resident memory: heap, stacks and anonymous mappings, not the
// pages of mapped files, which belong to the page cache) every 20 ms until
// stop is called, and stop returns the largest sample in bytes (0 where
// /proc is missing). VmHWM counts mapped file pages too, so an engine that
// reads its files through mmap shows them there.
func sampleAnonRSS() (stop func() int64) {
	done := make(chan struct{})
	peak := make(chan int64, 1)
	go func() {
		var max int64
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if v := procField("/proc/self/status", "RssAnon:") * 1024; v > max {
				max = v
			}
			select {
			case <-done:
				peak <- max
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 {
		close(done)
		return <-peak
	}
}

func procField(path, name string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, name); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// diskUsage is what du reports for dir: allocated blocks, not apparent
// sizes (Badger preallocates a sparse 2 GiB value log).
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
	CPUs       int    `json:"cpus"`
	CPUModel   string `json:"cpu_model"`
	MemoryMiB  int64  `json:"memory_mib"`
	Kernel     string `json:"kernel"`
	GoVersion  string `json:"go_version"`
	ScratchDir string `json:"scratch_dir"`
	Filesystem string `json:"filesystem"`
	// LoadAvg is the 1-minute load average when the run started.
	LoadAvg float64 `json:"load_avg"`
}

func describeMachine(scratch string) Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), ScratchDir: scratch, LoadAvg: loadAvg1()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "model name"); ok {
				m.CPUModel = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
				break
			}
		}
	}
	m.MemoryMiB = procField("/proc/meminfo", "MemTotal:") / 1024
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = "Linux " + strings.TrimSpace(string(b))
	}
	m.Filesystem = filesystemOf(scratch)
	return m
}

// filesystemOf finds the mount holding path in /proc/mounts (longest
// mount-point prefix) and returns "type (device on mountpoint)".
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

// loadAvg1 is the 1-minute load average from /proc/loadavg: how busy the
// whole machine was, this harness and everything else on it.
func loadAvg1() float64 {
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

// cpuSeconds is the user+system CPU time this process has used.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

package main

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestContainerMemoryLimit(t *testing.T) {
	root := t.TempDir()
	// cgroup v2: the process's own cgroup says "max", its parent 512 MiB,
	// the grandparent 1 GiB: the parent's is the limit.
	writeFile(t, filepath.Join(root, "v2/memory.max"), "max\n")
	writeFile(t, filepath.Join(root, "v2/box/memory.max"), "1073741824\n")
	writeFile(t, filepath.Join(root, "v2/box/svc/memory.max"), "536870912\n")
	writeFile(t, filepath.Join(root, "v2/box/svc/proc/memory.max"), "max\n")
	// cgroup v1: the memory controller's file, "unlimited" at the root.
	writeFile(t, filepath.Join(root, "v1/memory/memory.limit_in_bytes"), "9223372036854771712\n")
	writeFile(t, filepath.Join(root, "v1/memory/docker/abc/memory.limit_in_bytes"), "268435456\n")
	writeFile(t, filepath.Join(root, "v1/cpu/docker/abc/memory.limit_in_bytes"), "1\n")
	writeFile(t, filepath.Join(root, "none/memory.max"), "max\n")

	for _, tc := range []struct {
		name, root, self string
		want             int64
	}{
		{"v2 nested", "v2", "0::/box/svc/proc\n", 512 << 20},
		{"v2 at the root", "none", "0::/\n", 0},
		{"v2 missing files", "v2", "0::/elsewhere\n", 0},
		{"v1 memory controller", "v1", "12:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n", 256 << 20},
		{"v1 unlimited", "v1", "4:memory:/\n", 0},
		{"no cgroup text", "v2", "", 0},
		{"garbage", "v2", "not a cgroup line\n::\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := containerMemoryLimit(filepath.Join(root, tc.root), []byte(tc.self)); got != tc.want {
				t.Fatalf("limit = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestEngineMemoryLimit(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		name                 string
		maxmemory, container int64
		want                 int64
	}{
		{"maxmemory wins", 256 << 20, 1 << 30, 256 << 20},
		{"half the container's limit", 0, 1 << 30, 512 << 20},
		{"never below the engine's minimum", 0, 40 << 20, 32 << 20},
		{"neither: engine defaults", 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := engineOptions(tc.maxmemory, tc.container, log).MemoryLimit; got != tc.want {
				t.Fatalf("MemoryLimit = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestMaxMemoryBelowTheEngineMinimumIsAUsageError(t *testing.T) {
	var stderr bytes.Buffer
	dir := t.TempDir()
	if code := run([]string{"--dir", dir, "--port", "0", "--maxmemory", "1mb"}, &stderr); code != 2 {
		t.Fatalf("exit %d, want 2; stderr:\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "maxmemory 1048576 is below") {
		t.Fatalf("stderr does not say why:\n%s", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Fatalf("a database was created: %v", err)
	}
}

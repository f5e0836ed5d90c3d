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

// TestEngineMemoryLimit: maxmemory (or half the container's limit) is
// shared by the engine's MemoryLimit and the Store's metadata cache,
// counted twice for the collector's headroom; without a limit the block
// cache and the metadata cache take what the block cache alone took.
func TestEngineMemoryLimit(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	const MiB = 1 << 20
	for _, tc := range []struct {
		name                 string
		maxmemory, container int64
		want, wantMeta       int64
	}{
		{"maxmemory wins", 256 * MiB, 1 << 30, 256*MiB - 2*16*MiB, 16 * MiB},
		{"a large maxmemory: the metadata cache's cap", 4 << 30, 0, 4<<30 - 2*serverMetaCache, serverMetaCache},
		{"half the container's limit", 0, 1 << 30, 512*MiB - 2*serverMetaCache, serverMetaCache},
		{"a small container: a sixteenth", 0, 80 * MiB, 40*MiB - 2*(40*MiB/16), 40 * MiB / 16},
		{"the engine's minimum first", 34 * MiB, 0, 32 * MiB, 1 * MiB},
		{"never below the engine's minimum: no metadata cache", 0, 40 * MiB, 32 * MiB, -1},
		{"maxmemory at the minimum: no metadata cache", 32 * MiB, 0, 32 * MiB, -1},
		{"neither: engine defaults", 0, 0, 0, serverMetaCache},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, meta := engineOptions(tc.maxmemory, tc.container, log)
			if got := o.MemoryLimit; got != tc.want {
				t.Fatalf("MemoryLimit = %d, want %d", got, tc.want)
			}
			if meta != tc.wantMeta {
				t.Fatalf("metadata cache = %d, want %d", meta, tc.wantMeta)
			}
			budget := tc.maxmemory
			if budget == 0 {
				budget = max(tc.container/2, minMaxMemory)
			}
			if tc.want != 0 && o.MemoryLimit+2*max(meta, 0) > budget {
				t.Fatalf("engine %d + 2 x metadata cache %d over the budget %d", o.MemoryLimit, meta, budget)
			}
			// A limit sizes the block cache; without one the server's own,
			// less the metadata cache's share.
			wantCache := int64(0)
			if tc.want == 0 {
				wantCache = serverBlockCache - 2*serverMetaCache
			}
			if o.BlockCacheSize != wantCache {
				t.Fatalf("BlockCacheSize = %d, want %d", o.BlockCacheSize, wantCache)
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

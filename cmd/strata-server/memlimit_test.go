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
			o := engineOptions(tc.maxmemory, tc.container, log)
			if got := o.MemoryLimit; got != tc.want {
				t.Fatalf("MemoryLimit = %d, want %d", got, tc.want)
			}
			// A limit sizes the cache; without one the server's own.
			wantCache := int64(0)
			if tc.want == 0 {
				wantCache = serverBlockCache
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

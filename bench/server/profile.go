package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"
)

// startProfiles fetches strata-server's CPU, allocation, mutex and block
// profiles over the next duration into prefix.{cpu,allocs,mutex,block}.pprof,
// and returns a function that waits for them.
func startProfiles(s *server, prefix string, duration time.Duration) func() {
	if s.spec.Pprof == "" {
		return func() {}
	}
	secs := max(int(duration.Seconds()), 1)
	var wg sync.WaitGroup
	for _, kind := range []struct{ name, path string }{
		{"cpu", "profile"}, {"allocs", "allocs"}, {"mutex", "mutex"}, {"block", "block"},
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			url := fmt.Sprintf("http://%s/debug/pprof/%s?seconds=%d", s.spec.Pprof, kind.path, secs)
			resp, err := http.Get(url)
			if err != nil {
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return
			}
			f, err := os.Create(prefix + "." + kind.name + ".pprof")
			if err != nil {
				return
			}
			io.Copy(f, resp.Body)
			f.Close()
		}()
	}
	return wg.Wait
}

package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/stratadb/strata/lsm"
)

// serverStats are the counters INFO stats reports. All atomic.
type serverStats struct {
	connsReceived atomic.Int64
	rejectedConns atomic.Int64
	commands      atomic.Int64
	hits, misses  atomic.Int64
	netIn, netOut atomic.Int64
	errorReplies  atomic.Int64
	peakMemory    atomic.Int64

	errMu  sync.Mutex
	errors map[string]int64 // error code -> count (INFO errorstats)

	// The sampler keeps instantaneous_ops_per_sec as Redis does: the mean
	// of the last 16 rates sampled every 100 ms.
	sampleMu  sync.Mutex
	samples   [16]float64
	sampleIdx int
	stop      chan struct{}
	stopped   sync.WaitGroup
}

// notePeak records used memory and returns the peak seen by INFO.
func (st *serverStats) notePeak(used int64) int64 {
	for {
		p := st.peakMemory.Load()
		if used <= p {
			return p
		}
		if st.peakMemory.CompareAndSwap(p, used) {
			return used
		}
	}
}

// hit counts a lookup of a read command in keyspace_hits or _misses.
func (st *serverStats) hit(found bool) {
	if found {
		st.hits.Add(1)
	} else {
		st.misses.Add(1)
	}
}

func (st *serverStats) errorReply(code string) {
	st.errorReplies.Add(1)
	st.errMu.Lock()
	if st.errors == nil {
		st.errors = map[string]int64{}
	}
	if len(st.errors) < 128 || st.errors[code] > 0 { // Redis bounds the table too
		st.errors[code]++
	}
	st.errMu.Unlock()
}

func (st *serverStats) startSampler(s *Server) {
	st.stop = make(chan struct{})
	st.stopped.Add(1)
	go func() {
		defer st.stopped.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		last, lastAt := st.commands.Load(), time.Now()
		for {
			select {
			case <-st.stop:
				return
			case now := <-t.C:
				n := st.commands.Load()
				rate := float64(n-last) / now.Sub(lastAt).Seconds()
				last, lastAt = n, now
				st.sampleMu.Lock()
				st.samples[st.sampleIdx%len(st.samples)] = rate
				st.sampleIdx++
				st.sampleMu.Unlock()
			}
		}
	}()
}

func (st *serverStats) stopSampler() {
	if st.stop != nil {
		select {
		case <-st.stop:
		default:
			close(st.stop)
		}
		st.stopped.Wait()
	}
}

func (st *serverStats) opsPerSec() int64 {
	st.sampleMu.Lock()
	defer st.sampleMu.Unlock()
	var sum float64
	for _, v := range st.samples {
		sum += v
	}
	return int64(sum/float64(len(st.samples)) + 0.5)
}

// resetStats is CONFIG RESETSTAT.
func (s *Server) resetStats() {
	st := &s.stats
	st.connsReceived.Store(0)
	st.rejectedConns.Store(0)
	st.commands.Store(0)
	st.hits.Store(0)
	st.misses.Store(0)
	st.netIn.Store(0)
	st.netOut.Store(0)
	st.errorReplies.Store(0)
	st.errMu.Lock()
	st.errors = nil
	st.errMu.Unlock()
	for _, c := range s.table {
		c.stats.reset()
		for _, sc := range c.subs {
			sc.stats.reset()
		}
	}
	s.slowlog.reset()
}

func (cs *cmdStats) reset() {
	cs.calls.Store(0)
	cs.usec.Store(0)
	cs.rejected.Store(0)
	cs.failed.Store(0)
}

// syncLoop fsyncs the WAL once a second under appendfsync everysec. The
// server opens nothing itself: the DB may run in any SyncMode, and this
// loop adds the fsyncs everysec promises whatever that mode is.
type syncLoop struct {
	stopc chan struct{}
	done  sync.WaitGroup
}

func (l *syncLoop) start(s *Server) {
	l.stopc = make(chan struct{})
	l.done.Add(1)
	go func() {
		defer l.done.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-l.stopc:
				return
			case <-t.C:
				if s.appendfsync.Load() == int32(lsm.SyncEverySec) {
					if err := s.db.Sync(); err != nil && !errors.Is(err, lsm.ErrClosed) {
						s.log.Error("background fsync failed", "err", err)
					}
				}
			}
		}
	}()
}

func (l *syncLoop) stop() {
	if l.stopc != nil {
		select {
		case <-l.stopc:
		default:
			close(l.stopc)
		}
		l.done.Wait()
	}
}

func appendInt(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) }

func newRunID() string {
	var b [20]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// isTemporary reports accept errors worth retrying (out of descriptors).
func isTemporary(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}

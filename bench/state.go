package main

import (
	"fmt"
	"math/bits"
	"time"
)

// EngineState is an engine's compaction state as its own API reports it:
// what a fast load leaves behind for the reads that follow.
type EngineState struct {
	Known bool // the engine reported something
	// L0Tables is the number of tables in level 0 (each one a Get may
	// have to probe).
	L0Tables int
	// DebtBytes is the engine's estimate of the bytes compaction must
	// still rewrite to bring every level within its target: Pebble's
	// Metrics().Compact.EstimatedDebt; for the others the bytes above the
	// levels' targets (all of L0 once it is past its trigger).
	DebtBytes int64
	// MaxScore is the largest level compaction score (1 or more: the
	// engine wants to compact).
	MaxScore float64
	// Busy is true while a compaction runs (where the engine says).
	Busy bool
}

// Stater is an engine that reports its compaction state.
type Stater interface{ State() EngineState }

// settled says whether the engine has no compaction left to do.
func (s EngineState) settled() bool { return s.MaxScore < 1 && !s.Busy }

func (s EngineState) String() string {
	if !s.Known {
		return "no state reported"
	}
	return fmt.Sprintf("L0 %d tables, max score %.2f, debt %s", s.L0Tables, s.MaxScore, fmtBytesOrZero(s.DebtBytes))
}

func fmtBytesOrZero(n int64) string {
	if n == 0 {
		return "0"
	}
	return fmtBytes(n)
}

// The workloads this file adds, and where they go in the run order.
func init() {
	insertWorkload("fillseq", &workload{name: "fillseq-batch", group: "fill", writes: true, run: batchFill("fillseq-batch", false),
		about: "-keys Puts in key order into an empty DB, in write batches of 1000 keys (a bulk load), 1 writer; latency is per batch"})
	insertWorkload("fillseq-batch", &workload{name: "fillrandom-batch", group: "fill", writes: true, run: batchFill("fillrandom-batch", true),
		about: "-keys Puts in random order into an empty DB, in write batches of 1000 keys (an import), 1 writer; latency is per batch"})
	insertWorkload("fillrandom", &workload{name: "settle", group: "settle", data: true, explicit: true, run: (*child).settle,
		about: "not timed: reopen the data set and wait (up to -settletimeout) until the engine has no compaction debt " +
			"(every level score below 1, no compaction running, no disk writes for 2 s); only run when named"})
}

// insertWorkload puts w into the run order right after the workload named
// after (at the end if there is none).
func insertWorkload(after string, w *workload) {
	for i, x := range workloads {
		if x.name == after {
			workloads = append(workloads[:i+1], append([]*workload{w}, workloads[i+1:]...)...)
			return
		}
	}
	workloads = append(workloads, w)
}

// batchBatch is the batch size of the *-batch workloads.
const batchBatch = 1000

func batchFill(name string, random bool) func(c *child) ([]Result, error) {
	return func(c *child) ([]Result, error) {
		c.p.Batch = batchBatch
		order := func(i uint64) uint64 { return i }
		if random {
			o := newKeyOrder(uint64(c.p.Keys))
			order = o.at
		}
		r, err := c.fill(name, order)
		r.Note = fmt.Sprintf("batches of %d keys", batchBatch)
		return []Result{r}, err
	}
}

// settle waits until the engine reports no compaction debt and has
// written nothing for two seconds (engines without a state API: only the
// latter), and reports how long that took.
func (c *child) settle() ([]Result, error) {
	r := Result{Workload: "settle", Threads: 1}
	st, hasState := c.e.(Stater)
	var first, last EngineState
	if hasState {
		first = st.State()
	}
	const poll = 250 * time.Millisecond
	const quiet = 2 * time.Second
	start := time.Now()
	lastWrite, lastIO := start, procIOWriteBytes()
	for {
		time.Sleep(poll)
		now := time.Now()
		if io := procIOWriteBytes(); io != lastIO {
			lastWrite, lastIO = now, io
		}
		if hasState {
			last = st.State()
		}
		if (!hasState || last.settled()) && now.Sub(lastWrite) >= quiet {
			// The quiet period is part of the check, not of the work.
			r.Seconds = lastWrite.Sub(start).Seconds()
			break
		}
		if c.p.SettleTimeout > 0 && now.Sub(start) >= c.p.SettleTimeout {
			r.Seconds = now.Sub(start).Seconds()
			r.Note = fmt.Sprintf("NOT settled after %s: ", c.p.SettleTimeout)
			break
		}
	}
	if hasState {
		r.HasState, r.L0Tables, r.DebtBytes, r.MaxScore = true, last.L0Tables, last.DebtBytes, last.MaxScore
		r.Note += fmt.Sprintf("%.1f s to settle; at reopen %s; settled %s", r.Seconds, first, last)
	} else {
		r.Note += fmt.Sprintf("%.1f s until no disk writes for %s (no compaction state API)", r.Seconds, quiet)
	}
	return []Result{r}, nil
}

// keyOrder is a pseudo-random permutation of [0, n) computed per index
// (a 4-round Feistel network over the smallest power-of-four domain that
// holds n, cycle-walking back into range), so that a fill of 50M keys
// needs no 200 MB table in the harness's process, whose memory counts
// against the engine's under -memlimit.
type keyOrder struct {
	n    uint64
	half uint // bits per Feistel half
	mask uint64
	keys [4]uint64
}

func newKeyOrder(n uint64) *keyOrder {
	b := uint(bits.Len64(max(n-1, 1)))
	half := (b + 1) / 2
	return &keyOrder{n: n, half: half, mask: 1<<half - 1,
		keys: [4]uint64{0x9e3779b97f4a7c15, 0xbf58476d1ce4e5b9, 0x94d049bb133111eb, 0x2545f4914f6cdd1d}}
}

func (o *keyOrder) round(x uint64, k uint64) uint64 {
	x ^= k
	x *= 0xff51afd7ed558ccd
	x ^= x >> 29
	return x & o.mask
}

func (o *keyOrder) permute(x uint64) uint64 {
	l, r := x>>o.half, x&o.mask
	for _, k := range o.keys {
		l, r = r, l^o.round(r, k)
	}
	return l<<o.half | r
}

// at is the i-th index of the order, for i < n.
func (o *keyOrder) at(i uint64) uint64 {
	x := o.permute(i)
	for x >= o.n {
		x = o.permute(x)
	}
	return x
}

// Noter is an engine with something to say about the workload that just
// ran (write stalls, say), appended to the result's note.
type Noter interface{ RunNote() string }

// ReadCounters are an engine's own counts of what its reads fetched from
// table files, for the note of a read workload.
type ReadCounters struct {
	TableOpens      int64 // table readers opened (footer, properties, index, filter read)
	TableBytes      int64 // bytes reads read from tables: data blocks and metadata
	DataBytes       int64 // of TableBytes, data blocks
	CompactionBytes int64 // bytes compactions read from tables meanwhile
	IndexReads      int64 // index blocks read (opens and cache misses)
	FilterReads     int64 // filter blocks read
}

// ReadCounter is an engine that counts its table reads (ReadCounters).
type ReadCounter interface{ ReadCounters() ReadCounters }

// readNote formats the difference of two ReadCounters over ops
// operations: bytes per operation, and table opens per 1,000 operations.
func readNote(a, b ReadCounters, ops int64) string {
	if ops <= 0 {
		return ""
	}
	per := func(x int64) string { return fmtPerOp(float64(x) / float64(ops)) }
	perK := func(x int64) float64 { return float64(x) * 1000 / float64(ops) }
	return fmt.Sprintf("engine read/op %s (data %s, metadata %s); per 1k ops %.1f table opens, %.1f index and %.1f filter blocks read; compaction read/op %s",
		per(b.TableBytes-a.TableBytes), per(b.DataBytes-a.DataBytes),
		per((b.TableBytes-a.TableBytes)-(b.DataBytes-a.DataBytes)),
		perK(b.TableOpens-a.TableOpens), perK(b.IndexReads-a.IndexReads), perK(b.FilterReads-a.FilterReads),
		per(b.CompactionBytes-a.CompactionBytes))
}

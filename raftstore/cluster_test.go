package raftstore

import (
	"encoding/binary"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// setFSM keeps the set of uint64 commands it applied. A command applied
// twice (a client retrying after a lost leadership) counts once, so the
// test can retry safely; its snapshot is the whole set.
type setFSM struct {
	mu   sync.Mutex
	seen map[uint64]bool
}

func (f *setFSM) Apply(l *raft.Log) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen[binary.BigEndian.Uint64(l.Data)] = true
	return nil
}

// has reports whether every value 1..n was applied.
func (f *setFSM) has(n uint64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for v := uint64(1); v <= n; v++ {
		if !f.seen[v] {
			return false
		}
	}
	return true
}

func (f *setFSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b []byte
	for v := range f.seen {
		b = binary.BigEndian.AppendUint64(b, v)
	}
	return setSnap(b), nil
}

func (f *setFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	if len(b)%8 != 0 {
		return fmt.Errorf("snapshot of %d bytes", len(b))
	}
	seen := make(map[uint64]bool, len(b)/8)
	for ; len(b) > 0; b = b[8:] {
		seen[binary.BigEndian.Uint64(b)] = true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen = seen
	return nil
}

type setSnap []byte

func (s setSnap) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(s); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (setSnap) Release() {}

type node struct {
	id    raft.ServerID
	dir   string
	store *Store
	fsm   *setFSM
	trans *raft.InmemTransport
	raft  *raft.Raft
}

type cluster struct {
	t     *testing.T
	nodes []*node
}

func nodeConfig(id raft.ServerID) *raft.Config {
	c := raft.DefaultConfig()
	c.LocalID = id
	// Short enough for a quick test, long enough for a loaded 2-core
	// machine under the race detector not to flap leaders.
	c.HeartbeatTimeout = 300 * time.Millisecond
	c.ElectionTimeout = 300 * time.Millisecond
	c.LeaderLeaseTimeout = 200 * time.Millisecond
	c.CommitTimeout = 5 * time.Millisecond
	// Snapshots only when the test asks, keeping 50 entries behind them.
	c.SnapshotThreshold = 1 << 40
	c.SnapshotInterval = time.Hour
	c.TrailingLogs = 50
	c.Logger = hclog.New(&hclog.LoggerOptions{Name: string(id), Level: hclog.Error, Output: io.Discard})
	return c
}

// start opens n's store and snapshot store and starts Raft on them, with a
// fresh transport connected both ways to every running node.
func (c *cluster) start(n *node) {
	c.t.Helper()
	var err error
	if n.store, err = New(filepath.Join(n.dir, "raft"), testOptions(false)); err != nil {
		c.t.Fatal(err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(filepath.Join(n.dir, "snaps"), 2, hclog.NewNullLogger())
	if err != nil {
		c.t.Fatal(err)
	}
	_, n.trans = raft.NewInmemTransport(raft.ServerAddress(n.id))
	for _, o := range c.nodes {
		if o != n && o.raft != nil {
			n.trans.Connect(o.trans.LocalAddr(), o.trans)
			o.trans.Connect(n.trans.LocalAddr(), n.trans)
		}
	}
	n.fsm = &setFSM{seen: map[uint64]bool{}}
	if n.raft, err = raft.NewRaft(nodeConfig(n.id), n.fsm, n.store, n.store, snaps, n.trans); err != nil {
		c.t.Fatal(err)
	}
}

func (c *cluster) stop(n *node) {
	c.t.Helper()
	if err := n.raft.Shutdown().Error(); err != nil {
		c.t.Fatal(err)
	}
	n.raft = nil
	if err := n.store.Close(); err != nil {
		c.t.Fatal(err)
	}
}

// waitFor polls cond until it holds; the generous limit only stops a hung
// test, it measures nothing.
func (c *cluster) waitFor(what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (c *cluster) leader() *node {
	c.t.Helper()
	var l *node
	c.waitFor("a leader", func() bool {
		for _, n := range c.nodes {
			if n.raft != nil && n.raft.State() == raft.Leader {
				l = n
				return true
			}
		}
		return false
	})
	return l
}

// apply commits the values from..to through the leader, retrying those
// that a change of leader failed (the FSM ignores a duplicate).
func (c *cluster) apply(from, to uint64) {
	c.t.Helper()
	pending := make([]uint64, 0, to-from+1)
	for v := from; v <= to; v++ {
		pending = append(pending, v)
	}
	for try := 0; len(pending) > 0; try++ {
		if try == 20 {
			c.t.Fatalf("%d commands still failing after %d tries", len(pending), try)
		}
		l := c.leader()
		futures := make([]raft.ApplyFuture, len(pending))
		for i, v := range pending {
			var b [8]byte
			binary.BigEndian.PutUint64(b[:], v)
			futures[i] = l.raft.Apply(b[:], 10*time.Second)
		}
		var failed []uint64
		for i, f := range futures {
			if err := f.Error(); err != nil {
				failed = append(failed, pending[i])
			}
		}
		pending = failed
	}
}

// converge waits until every running node has applied the values 1..n.
func (c *cluster) converge(n uint64) {
	c.t.Helper()
	for _, nd := range c.nodes {
		c.waitFor(fmt.Sprintf("%s to apply 1..%d", nd.id, n), func() bool { return nd.fsm.has(n) })
	}
}

// TestCluster runs a 3-node hashicorp/raft cluster on the in-memory
// transport with this store under every node: election, replication,
// snapshots that truncate the log head, a follower restart that catches up,
// and a full restart that keeps terms, votes and the log.
func TestCluster(t *testing.T) {
	c := &cluster{t: t}
	var servers []raft.Server
	for i := 0; i < 3; i++ {
		id := raft.ServerID(fmt.Sprintf("node%d", i))
		c.nodes = append(c.nodes, &node{id: id, dir: t.TempDir()})
		servers = append(servers, raft.Server{ID: id, Address: raft.ServerAddress(id)})
	}
	for _, n := range c.nodes {
		c.start(n)
	}
	defer func() {
		for _, n := range c.nodes {
			if n.raft != nil {
				c.stop(n)
			}
		}
	}()
	if err := c.nodes[0].raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil {
		t.Fatal(err)
	}

	// Elect and replicate.
	c.apply(1, 300)
	c.converge(300)
	for _, n := range c.nodes {
		if last, _ := n.store.LastIndex(); last < 300 {
			t.Errorf("%s: LastIndex %d after 300 commands", n.id, last)
		}
		term, err := n.store.GetUint64([]byte("CurrentTerm"))
		if err != nil || term == 0 {
			t.Errorf("%s: CurrentTerm = %d, %v", n.id, term, err)
		}
	}

	// Snapshot every node: raft truncates the head, keeping TrailingLogs.
	for _, n := range c.nodes {
		if err := n.raft.Snapshot().Error(); err != nil {
			t.Fatalf("%s: snapshot: %v", n.id, err)
		}
		first, _ := n.store.FirstIndex()
		last, _ := n.store.LastIndex()
		if first <= 1 || last-first+1 > 60 {
			t.Errorf("%s: log [%d, %d] after a snapshot keeping 50 entries", n.id, first, last)
		}
		var l raft.Log
		if err := n.store.GetLog(first-1, &l); err != raft.ErrLogNotFound {
			t.Errorf("%s: entry %d before the head: %v", n.id, first-1, err)
		}
	}

	// Stop a follower, run on, and truncate past it: it comes back through
	// the leader's snapshot and then the log.
	l := c.leader()
	var f *node
	for _, n := range c.nodes {
		if n != l {
			f = n
			break
		}
	}
	c.stop(f)
	c.apply(301, 600)
	if err := l.raft.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	c.start(f)
	c.apply(601, 700)
	c.converge(700)
	// It installed the leader's snapshot (taken after 600). Raft then
	// compacts only its own old entries, so its log may keep a gap before
	// the entries that followed the snapshot: the store serves both sides.
	snapIdx, err := strconv.ParseUint(f.raft.Stats()["last_snapshot_index"], 10, 64)
	if err != nil || snapIdx < 600 {
		t.Errorf("restarted follower's last snapshot index = %d, %v; want the leader's, >= 600", snapIdx, err)
	}
	var entry raft.Log
	if last, _ := f.store.LastIndex(); f.store.GetLog(last, &entry) != nil || last <= snapIdx {
		t.Errorf("restarted follower: last entry %d (snapshot %d) not readable", last, snapIdx)
	}

	// Restart the whole cluster: terms, votes and logs come back from the
	// stores, a leader is elected without bootstrapping, and nothing is lost.
	for _, n := range c.nodes {
		c.stop(n)
	}
	for _, n := range c.nodes {
		c.start(n)
	}
	c.apply(701, 750)
	c.converge(750)
	for _, n := range c.nodes {
		has, err := raft.HasExistingState(n.store, n.store, raft.NewInmemSnapshotStore())
		if err != nil || !has {
			t.Errorf("%s: HasExistingState = %v, %v", n.id, has, err)
		}
		if m := n.store.Metrics(); m.Fsyncs == 0 || m.Appends == 0 {
			t.Errorf("%s: metrics after a run: %+v", n.id, m)
		}
	}
}

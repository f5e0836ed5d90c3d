package raftstore_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"
	"github.com/stratadb/strata/raftstore"
)

// A node hands the one store to Raft twice: as its LogStore and as its
// StableStore, where it would have handed raft-boltdb's BoltStore.
func Example() {
	dir, _ := os.MkdirTemp("", "raftstore-example")
	defer os.RemoveAll(dir)

	store, err := raftstore.New(filepath.Join(dir, "raft"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()
	var logs raft.LogStore = store
	var stable raft.StableStore = store
	// r, err := raft.NewRaft(conf, fsm, store, store, snapshots, transport)

	_ = logs.StoreLogs([]*raft.Log{{Index: 1, Term: 1, Data: []byte("x")}, {Index: 2, Term: 1}})
	_ = stable.SetUint64([]byte("CurrentTerm"), 1)
	first, _ := logs.FirstIndex()
	last, _ := logs.LastIndex()
	_, err = stable.Get([]byte("LastVoteCand"))
	fmt.Println(first, last, err)
	// Output: 1 2 not found
}

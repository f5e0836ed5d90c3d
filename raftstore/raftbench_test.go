package raftstore

import (
	"testing"

	raftbench "github.com/hashicorp/raft/bench"
)

// hashicorp/raft's own store benchmark suite, wired as raft-boltdb wires it:
// a fresh store per benchmark, fsync on. CI runs it with a fixed
// -benchtime so every function runs against the store.

func benchStore(b *testing.B) *Store {
	b.Helper()
	s, err := New(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func BenchmarkStore_FirstIndex(b *testing.B) { raftbench.FirstIndex(b, benchStore(b)) }
func BenchmarkStore_LastIndex(b *testing.B)  { raftbench.LastIndex(b, benchStore(b)) }
func BenchmarkStore_GetLog(b *testing.B)     { raftbench.GetLog(b, benchStore(b)) }
func BenchmarkStore_StoreLog(b *testing.B)   { raftbench.StoreLog(b, benchStore(b)) }
func BenchmarkStore_StoreLogs(b *testing.B)  { raftbench.StoreLogs(b, benchStore(b)) }
func BenchmarkStore_DeleteRange(b *testing.B) {
	raftbench.DeleteRange(b, benchStore(b))
}
func BenchmarkStore_Set(b *testing.B)       { raftbench.Set(b, benchStore(b)) }
func BenchmarkStore_Get(b *testing.B)       { raftbench.Get(b, benchStore(b)) }
func BenchmarkStore_SetUint64(b *testing.B) { raftbench.SetUint64(b, benchStore(b)) }
func BenchmarkStore_GetUint64(b *testing.B) { raftbench.GetUint64(b, benchStore(b)) }

package lsm_test

import (
	"math/rand/v2"
	"testing"

	"github.com/stratadb/strata/internal/dbtest"
	"github.com/stratadb/strata/lsm"
	"github.com/stratadb/strata/vfs"
)

// Queries with every combination of BeginsWith, From, To, After, Reverse
// and Limit, over partition and sort keys drawn from bytes that stress the
// item key encoding (0x00, 0x01, 0xFE, 0xFF), answer as the model does.
func TestQueryAgreesWithModel(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	alphabet := []byte{0, 1, 'a', 'b', 0xFE, 0xFF}
	rnd := func(max int) []byte {
		b := make([]byte, r.IntN(max+1))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return b
	}
	rndPK := func() []byte { // 1 or 2 bytes: a partition key is never empty
		return append([]byte{alphabet[r.IntN(len(alphabet))]}, rnd(1)...)
	}
	maybe := func() []byte {
		if r.IntN(2) == 0 {
			return nil
		}
		return rnd(2)
	}
	var ops []dbtest.Op
	for i := range 4000 {
		op := dbtest.Op{Kind: dbtest.OpPutItem, Key: rndPK(), SK: rnd(3), Value: []byte("v")}
		if r.IntN(4) == 0 {
			op.Kind, op.Value = dbtest.OpDeleteItem, nil
		}
		ops = append(ops, op)
		if i%1000 == 999 {
			ops = append(ops, dbtest.Op{Kind: dbtest.OpFlush})
		}
	}
	for range 3000 {
		q := dbtest.QuerySpec{BeginsWith: maybe(), From: maybe(), To: maybe(), After: maybe(), Reverse: r.IntN(2) == 0}
		if r.IntN(2) == 0 {
			q.Limit = 1 + r.IntN(5)
		}
		ops = append(ops, dbtest.Op{Kind: dbtest.OpQuery, Key: rndPK(), Query: q})
	}
	db := dbtest.DBConfig("small", "MemtableSize=64KiB BlockSize=512 L0 trigger 2", func(clock *dbtest.Clock) func() (*lsm.DB, error) {
		fs := vfs.NewMem()
		return func() (*lsm.DB, error) {
			return lsm.Open("/db", &lsm.Options{FS: fs, Clock: clock.Now, MemtableSize: 64 << 10, BlockSize: 512,
				TargetFileSize: 32 << 10, BaseLevelSize: 128 << 10, L0CompactionTrigger: 2, TTLCompactionInterval: -1})
		}
	}, lsm.VersionInvariantsForTest)
	if report := dbtest.Compare(ops, db, dbtest.ModelConfig()); report != "" {
		t.Error(report)
	}
}

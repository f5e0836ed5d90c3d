package dbtest

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/lsm"
	"github.com/stratadb/strata/vfs"
)

// Every generated operation prints as a line that parses back to the same
// operation, and prints the same again.
func TestPrintParseRoundTrip(t *testing.T) {
	for seed := range uint64(20) {
		g := NewGenerator(rand.New(rand.NewPCG(seed, 1)), nil)
		for range 500 {
			op := g.Next()
			line := op.String()
			got, err := Parse(line)
			require.NoError(t, err, line)
			require.Equal(t, op, got, line)
			require.Equal(t, line, got.String())
			require.NotContains(t, line, "\n")
		}
	}
}

func TestParseLines(t *testing.T) {
	cases := []struct {
		line string
		want Op
	}{
		{"put k1 v1", Op{Kind: OpPut, Key: []byte("k1"), Value: []byte("v1")}},
		{"put k1 v1 ttl=5s if-absent", Op{Kind: OpPut, Key: []byte("k1"), Value: []byte("v1"), TTL: 5 * time.Second, Cond: Cond{Kind: CondAbsent}}},
		{`put "a b" "" if-value="x y"`, Op{Kind: OpPut, Key: []byte("a b"), Value: []byte{}, Cond: Cond{Kind: CondValue, Value: []byte("x y")}}},
		{"put k v7*10", Op{Kind: OpPut, Key: []byte("k"), Value: []byte("v7........")}},
		{`put k "v7*10"`, Op{Kind: OpPut, Key: []byte("k"), Value: []byte("v7*10")}},
		{"delete k if-present", Op{Kind: OpDelete, Key: []byte("k"), Cond: Cond{Kind: CondPresent}}},
		{`delete-range "" c`, Op{Kind: OpDeleteRange, Key: []byte{}, End: []byte("c")}},
		{"incr n -3 ttl=1.5s", Op{Kind: OpIncr, Key: []byte("n"), Delta: -3, TTL: 1500 * time.Millisecond}},
		{"expire k 0s", Op{Kind: OpExpire, Key: []byte("k")}},
		{`put-item p "" v`, Op{Kind: OpPutItem, Key: []byte("p"), SK: []byte{}, Value: []byte("v")}},
		{"batch: put a 1 ; delete-range b c ; delete-item p s if-absent", Op{Kind: OpBatch, Batch: []Op{
			{Kind: OpPut, Key: []byte("a"), Value: []byte("1")},
			{Kind: OpDeleteRange, Key: []byte("b"), End: []byte("c")},
			{Kind: OpDeleteItem, Key: []byte("p"), SK: []byte("s"), Cond: Cond{Kind: CondAbsent}},
		}}},
		{"batch:", Op{Kind: OpBatch, Batch: []Op{}}},
		{"get k at=s1", Op{Kind: OpGet, Key: []byte("k"), Snap: "s1"}},
		{`query p begins=s from="" reverse limit=2`, Op{Kind: OpQuery, Key: []byte("p"), Query: QuerySpec{BeginsWith: []byte("s"), From: []byte{}, Reverse: true, Limit: 2}}},
		{`iter lower=b upper="\xff": first seek-lt c prev`, Op{Kind: OpIter, Lower: []byte("b"), Upper: []byte{0xFF}, Steps: []Step{
			{Kind: StepFirst}, {Kind: StepSeekLT, Key: []byte("c")}, {Kind: StepPrev}}}},
		{"iter: last", Op{Kind: OpIter, Steps: []Step{{Kind: StepLast}}}},
		{"compact a z", Op{Kind: OpCompact, Key: []byte("a"), End: []byte("z")}},
		{"advance 1m0s", Op{Kind: OpAdvance, TTL: time.Minute}},
		{"snapshot s1", Op{Kind: OpSnapshot, Snap: "s1"}},
	}
	for _, c := range cases {
		got, err := Parse(c.line)
		require.NoError(t, err, c.line)
		require.Equal(t, c.want, got, c.line)
	}
	for _, bad := range []string{
		"", "frob k", "put k", "put k v ttl=x", "put k v if-absent if-present", "delete k v",
		"batch: get k", "batch put k v", "iter first", "iter lower=a first", "get", `put "k v`,
		"incr k x", "query p color=red", "iter: jump", "put k v*x", "flush now",
	} {
		_, err := Parse(bad)
		require.Error(t, err, "%q", bad)
	}
}

func TestFormatValue(t *testing.T) {
	require.Equal(t, "v1", FormatValue([]byte("v1")))
	require.Equal(t, "v1...", FormatValue([]byte("v1...")), "fewer than 8 dots print as they are")
	require.Equal(t, "v1*300", FormatValue(PadValue("v1", 300)))
	require.Equal(t, `"a\x00"`, FormatValue([]byte("a\x00")))
	require.Equal(t, `""`, FormatValue([]byte{}))
	require.Equal(t, `"a b........."`, FormatValue([]byte("a b.........")), "only a bare prefix abbreviates")
}

// modelHistory runs a script on a new model.
func modelHistory(t *testing.T, script string) string {
	t.Helper()
	ops, err := ParseScript(script)
	require.NoError(t, err)
	return strings.Join(Run(NewModel(), ops), "\n")
}

// The model's answers for the rules it must get right; the DB is held to
// the same answers by the scripts of lsm/testdata and the metamorphic test.
func TestModelSemantics(t *testing.T) {
	cases := []struct{ name, script, want string }{
		{"an entry is gone at its expiry instant", `
			put a 1 ttl=2s
			advance 1999ms
			get a
			advance 1ms
			get a`, "ok\nok\n1\nok\nnot-found"},
		{"a put without ttl clears the expiry; incr keeps it", `
			put a 1 ttl=5s
			incr a 1
			ttl a
			put a 7
			ttl a`, "ok\n2\n5s\nok\nnever"},
		{"incr creates with its ttl, and judges the value", `
			incr n 3 ttl=4s
			ttl n
			put s x
			incr s 1
			put m 9223372036854775807
			incr m 1`, "3\n4s\nok\nnot-integer\nok\ninvalid-argument"},
		{"conditions judge live values", `
			put a 1 ttl=1s
			put a 2 ttl=1s if-present
			advance 1s
			put a 3 if-present
			put a 4 if-absent
			delete a if-value=3
			delete a if-value=4
			get a`, "ok\nok\nok\ncondition-failed\nok\ncondition-failed\nok\nnot-found"},
		{"a batch judges its conditions before any of its writes", `
			batch: put a 1 ; put a 2 if-present
			batch: put a 1 ; put b 2 if-absent
			get a`, "condition-failed\nok\n1"},
		{"a batch applies in order", `
			batch: put b 1 ; delete-range a c ; put a 2
			iter: first next`, "ok\na=2 ."},
		{"an invalid operation fails the batch before its conditions", `
			batch: put a 1 if-present ; delete-range c c`, "invalid-argument"},
		{"a snapshot keeps its data but judges expiry now", `
			put a 1 ttl=3s
			put b 1
			snapshot s1
			delete b
			advance 3s
			get a at=s1
			get b at=s1
			get b at=s9
			close-snapshot s1
			get b at=s1`, "ok\nok\nok\nok\nok\nnot-found\n1\nno-snapshot\nok\nno-snapshot"},
		{"iteration bounds and direction changes", `
			batch: put a 1 ; put b 2 ; put c 3 ; put d 4
			iter lower=b upper=d: first prev next next next last seek-ge a seek-lt z seek-lt b`,
			"ok\nb=2 . . . . c=3 b=2 c=3 ."},
		{"queries", `
			put-item p s1 1
			put-item p s2 2
			put-item p s3 3
			put-item q s1 9
			query p begins=s reverse limit=2
			query p from=s2 to=s3 after=s2
			query "" 
			query r`, "ok\nok\nok\nok\ns3=3 s2=2\ns3=3\ninvalid-argument\n(none)"},
		{"reopen drops the snapshots", `
			snapshot s1
			reopen
			get a at=s1`, "ok\nok\nno-snapshot"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, modelHistory(t, c.script))
		})
	}
}

// The runner gives the model's answers on a real DB (the metamorphic test
// holds a dozen configurations to this).
func TestRunnerAgreesWithModel(t *testing.T) {
	for seed := range uint64(3) {
		ops := Generate(rand.New(rand.NewPCG(seed, 2)), 300, nil)
		fs, clock := vfs.NewMem(), NewClock()
		r, err := NewRunner(clock, func() (*lsm.DB, error) {
			return lsm.Open("/db", &lsm.Options{FS: fs, Clock: clock.Now, MemtableSize: 8 << 10, TTLCompactionInterval: -1})
		})
		require.NoError(t, err)
		m := NewModel()
		for i, op := range ops {
			require.Equal(t, m.Do(op), r.Do(op), "seed %d operation %d: %s", seed, i+1, op)
		}
		require.NoError(t, r.Close())
	}
}

func TestByteSource(t *testing.T) {
	s := NewByteSource([]byte{7, 1, 2})
	require.Equal(t, 2, s.IntN(5))
	require.Equal(t, 0, s.IntN(1), "a choice of one reads nothing")
	require.Equal(t, 258%1000, s.IntN(1000), "two bytes for more than 256")
	require.True(t, s.Exhausted())
	require.Equal(t, 0, s.IntN(9))
	ops := Generate(NewByteSource([]byte{1, 2, 3, 4, 5}), 1000, nil)
	require.NotEmpty(t, ops)
	require.Less(t, len(ops), 5, "generation stops when the bytes run out")
}

// Reduce keeps only what the failure needs.
func TestReduce(t *testing.T) {
	ops, err := ParseScript(`
		put a 1
		put b 2
		flush
		batch: put c 3 ; delete a ; put d 4
		get b
		iter: first next next last prev
		put e 5
		get a`)
	require.NoError(t, err)
	// The "failure": a is deleted in a batch and then read, and some
	// iteration moves backward.
	fails := func(c []Op) bool {
		deleted, prev := false, false
		for _, op := range c {
			for _, s := range op.Batch {
				deleted = deleted || s.Kind == OpDelete && string(s.Key) == "a"
			}
			for _, s := range op.Steps {
				prev = prev || s.Kind == StepPrev
			}
			if deleted && prev && op.Kind == OpGet && string(op.Key) == "a" {
				return true
			}
		}
		return false
	}
	require.True(t, fails(ops))
	got := Reduce(ops, fails, 1000)
	require.Equal(t, "batch: delete a\niter: prev\nget a\n", FormatScript(got))
	require.Equal(t, 8, len(ops), "the input is left alone")

	calls := 0
	Reduce(ops, func(c []Op) bool { calls++; return fails(c) }, 5)
	require.Equal(t, 5, calls, "the budget bounds the calls")
}

package dbtest

import (
	"fmt"
	"math"
	"time"
)

// Source is where the generator draws its choices: a *rand.Rand of
// math/rand/v2, or a ByteSource over a fuzzer's input.
type Source interface {
	// IntN returns a number in [0, n); n > 0.
	IntN(n int) int
}

// ByteSource draws choices from bytes, for a fuzz target: each choice takes
// one byte (two for a choice among more than 256), and 0 once the bytes
// run out.
type ByteSource struct {
	b   []byte
	pos int
}

// NewByteSource returns a source reading b.
func NewByteSource(b []byte) *ByteSource { return &ByteSource{b: b} }

// IntN returns the next choice in [0, n).
func (s *ByteSource) IntN(n int) int {
	if n <= 1 {
		return 0
	}
	v := s.byte()
	if n > 256 {
		v = v<<8 | s.byte()
	}
	return v % n
}

func (s *ByteSource) byte() int {
	if s.pos >= len(s.b) {
		return 0
	}
	s.pos++
	return int(s.b[s.pos-1])
}

// Exhausted reports whether every byte has been read.
func (s *ByteSource) Exhausted() bool { return s.pos >= len(s.b) }

// Weights give how often the generator picks each kind of operation, out
// of their sum; a kind absent from the map is never picked.
type Weights map[Kind]int

// DefaultWeights mix every kind of operation; reads are about a third.
var DefaultWeights = Weights{
	OpPut: 18, OpDelete: 5, OpDeleteRange: 4, OpIncr: 4, OpExpire: 2,
	OpPutItem: 6, OpDeleteItem: 2, OpBatch: 5,
	OpGet: 14, OpGetItem: 4, OpTTL: 2, OpQuery: 4, OpIter: 10,
	OpSnapshot: 3, OpCloseSnapshot: 1,
	OpFlush: 4, OpCompact: 2, OpReopen: 1, OpAdvance: 5,
}

// GenOptions shape generated scripts. The zero value is DefaultWeights
// over 24 keys.
type GenOptions struct {
	// Weights is the mix of operations; nil means DefaultWeights.
	Weights Weights
	// Keys is the number of plain keys (k00, k01, ...); 0 means 24. A
	// small key space makes overwrites, deletes and shadowing across
	// levels frequent. Some keys are binary, with 0x00 and 0xFF bytes.
	Keys int
	// MaxPad is the largest padded value; 0 means 400 bytes.
	MaxPad int
}

// Generator makes random scripts. It remembers which snapshots it opened
// and the values it wrote, so that reads at snapshots and IfValue
// conditions are mostly meaningful (a reduced script may still read at a
// snapshot it no longer opens: that reads as no-snapshot).
type Generator struct {
	src     Source
	o       GenOptions
	kinds   []Kind
	total   int
	step    int
	snaps   []string
	nsnap   int
	written map[string][]byte
}

// NewGenerator returns a generator drawing from src.
func NewGenerator(src Source, o *GenOptions) *Generator {
	g := &Generator{src: src, written: map[string][]byte{}}
	if o != nil {
		g.o = *o
	}
	if g.o.Weights == nil {
		g.o.Weights = DefaultWeights
	}
	if g.o.Keys == 0 {
		g.o.Keys = 24
	}
	if g.o.MaxPad == 0 {
		g.o.MaxPad = 400
	}
	for k := OpPut; k <= OpAdvance; k++ { // a fixed order: the map's is random
		if w := g.o.Weights[k]; w > 0 {
			g.kinds = append(g.kinds, k)
			g.total += w
		}
	}
	return g
}

// Generate returns n operations, or fewer if a ByteSource runs out.
func Generate(src Source, n int, o *GenOptions) []Op {
	g := NewGenerator(src, o)
	ops := make([]Op, 0, n)
	for len(ops) < n {
		if bs, ok := src.(*ByteSource); ok && bs.Exhausted() {
			break
		}
		ops = append(ops, g.Next())
	}
	return ops
}

func (g *Generator) n(n int) int    { return g.src.IntN(n) }
func (g *Generator) pct(p int) bool { return g.n(100) < p }

// Next returns the next operation.
func (g *Generator) Next() Op {
	g.step++
	w := g.n(g.total)
	kind := g.kinds[len(g.kinds)-1]
	for _, k := range g.kinds {
		if w < g.o.Weights[k] {
			kind = k
			break
		}
		w -= g.o.Weights[k]
	}
	return g.op(kind)
}

func (g *Generator) op(kind Kind) Op {
	op := Op{Kind: kind}
	switch kind {
	case OpPut:
		op.Key, op.Value = g.key(), g.value()
		if g.pct(25) {
			op.TTL = g.ttl()
		}
		op.Cond = g.cond(op.Key, 30)
		g.written[string(op.Key)] = op.Value
	case OpDelete:
		op.Key = g.key()
		op.Cond = g.cond(op.Key, 20)
	case OpDeleteRange:
		op.Key, op.End = g.keyRange()
	case OpIncr:
		op.Key = g.key()
		switch g.n(40) {
		case 0:
			op.Delta = math.MaxInt64
		case 1:
			op.Delta = math.MinInt64
		default:
			op.Delta = int64(g.n(9) - 3)
		}
		if g.pct(20) {
			op.TTL = g.ttl()
		}
		op.Cond = g.cond(op.Key, 10)
	case OpExpire:
		op.Key = g.key()
		if g.pct(70) {
			op.TTL = g.ttl()
		}
	case OpPutItem:
		op.Key, op.SK, op.Value = g.pk(), g.sk(), g.value()
		if g.pct(20) {
			op.TTL = g.ttl()
		}
		op.Cond = g.cond(ItemKeyOf(op.Key, op.SK), 15)
		g.written[string(ItemKeyOf(op.Key, op.SK))] = op.Value
	case OpDeleteItem:
		op.Key, op.SK = g.pk(), g.sk()
		op.Cond = g.cond(ItemKeyOf(op.Key, op.SK), 15)
	case OpBatch:
		op.Batch = []Op{}
		for i := g.n(6); i >= 0; i-- {
			var sub Op
			switch r := g.n(20); {
			case r < 10:
				sub = g.op(OpPut)
			case r < 14:
				sub = g.op(OpDelete)
			case r < 16:
				sub = g.op(OpDeleteRange)
			case r < 19:
				sub = g.op(OpPutItem)
			default:
				sub = g.op(OpDeleteItem)
			}
			if g.pct(60) {
				sub.Cond = Cond{} // conditions fail often: keep most batches unconditional
			}
			op.Batch = append(op.Batch, sub)
		}
	case OpGet:
		op.Key, op.Snap = g.key(), g.atSnap()
	case OpGetItem:
		op.Key, op.SK, op.Snap = g.pk(), g.sk(), g.atSnap()
	case OpTTL:
		op.Key = g.key()
	case OpQuery:
		op.Key = g.pk()
		q := &op.Query
		if g.pct(20) {
			q.BeginsWith = []byte(fmt.Sprintf("sk%d", g.n(8)))
		}
		if g.pct(30) {
			q.From = g.sk()
		}
		if g.pct(30) {
			q.To = g.sk()
		}
		if g.pct(20) {
			q.After = g.sk()
		}
		q.Reverse = g.pct(50)
		if g.pct(30) {
			q.Limit = 1 + g.n(4)
		}
	case OpIter:
		if g.pct(40) {
			op.Lower = g.seekKey()
		}
		if g.pct(40) {
			op.Upper = g.seekKey()
		}
		op.Snap = g.atSnap()
		for i := 1 + g.n(12); i > 0; i-- {
			var s Step
			switch r := g.n(10); {
			case r < 1 || len(op.Steps) == 0 && r < 3:
				s.Kind = StepFirst
			case r < 2 || len(op.Steps) == 0 && r < 5:
				s.Kind = StepLast
			case r < 3 || len(op.Steps) == 0 && r < 8:
				s.Kind, s.Key = StepSeekGE, g.seekKey()
			case r < 4 || len(op.Steps) == 0:
				s.Kind, s.Key = StepSeekLT, g.seekKey()
			case r < 7:
				s.Kind = StepNext
			default:
				s.Kind = StepPrev
			}
			op.Steps = append(op.Steps, s)
		}
	case OpSnapshot:
		g.nsnap++
		op.Snap = fmt.Sprintf("s%d", g.nsnap)
		g.snaps = append(g.snaps, op.Snap)
	case OpCloseSnapshot:
		if len(g.snaps) == 0 {
			return g.op(OpFlush)
		}
		i := g.n(len(g.snaps))
		op.Snap = g.snaps[i]
		g.snaps = append(g.snaps[:i], g.snaps[i+1:]...)
	case OpCompact:
		if g.pct(30) {
			op.Key, op.End = g.keyRange()
			if string(op.Key) > string(op.End) || len(op.Key) == 0 {
				op.Key, op.End = nil, nil
			}
		}
	case OpReopen:
		g.snaps = nil
	case OpAdvance:
		op.TTL = time.Duration(g.n(13)) * time.Second
		if g.pct(10) {
			op.TTL = time.Minute
		}
	}
	return op
}

// ItemKeyOf is the raw key of item (pk, sk), as lsm.ItemKey (nil for an
// empty pk, which is invalid).
func ItemKeyOf(pk, sk []byte) []byte {
	k, _ := keyOf(Op{Kind: OpPutItem, Key: pk, SK: sk})
	return k
}

// plainKey returns plain key i: k00, k01, ... (k000, ... past 100 keys).
func (g *Generator) plainKey(i int) []byte {
	if g.o.Keys > 100 {
		return []byte(fmt.Sprintf("k%03d", i))
	}
	return []byte(fmt.Sprintf("k%02d", i))
}

// key returns a key to write or read: mostly plain, sometimes binary, very
// rarely empty (an invalid argument).
func (g *Generator) key() []byte {
	switch r := g.n(200); {
	case r == 0:
		return []byte{}
	case r < 12:
		return []byte{byte(g.n(4)), 0x00, 0xFF}
	case r < 14:
		return []byte{0xFF, 0xFF}
	}
	return g.plainKey(g.n(g.o.Keys))
}

// seekKey returns an iterator bound or seek key: usually a plain key, or
// one between plain keys, or binary.
func (g *Generator) seekKey() []byte {
	switch r := g.n(20); {
	case r == 0:
		return []byte{0x01}
	case r == 1:
		return []byte{0xFF, 0xFF, 0x00}
	case r < 5:
		return append(g.plainKey(g.n(g.o.Keys)), '5')
	}
	return g.plainKey(g.n(g.o.Keys))
}

// keyRange returns a range of a few plain keys; sometimes one from the
// first key, sometimes an empty or inverted one (an invalid argument).
func (g *Generator) keyRange() (start, end []byte) {
	a := g.n(g.o.Keys)
	b := a + 1 + g.n(6)
	start, end = g.plainKey(a), g.plainKey(b)
	switch g.n(25) {
	case 0:
		start = []byte{}
	case 1:
		start, end = end, start
	case 2:
		end = start
	case 3:
		start, end = []byte{byte(g.n(4))}, []byte{byte(g.n(4)), 0xFF, 0}
	}
	return start, end
}

func (g *Generator) pk() []byte {
	switch r := g.n(100); {
	case r == 0:
		return []byte{}
	case r < 8:
		return []byte{0x00, 'p'}
	}
	return []byte(fmt.Sprintf("p%d", g.n(4)))
}

func (g *Generator) sk() []byte {
	switch r := g.n(20); {
	case r < 2:
		return []byte{}
	case r < 3:
		return []byte{0xFF}
	}
	return []byte(fmt.Sprintf("sk%d", g.n(8)))
}

// value returns a fresh value: v<step>, often padded, or a small integer
// for incr to find.
func (g *Generator) value() []byte {
	switch r := g.n(10); {
	case r < 2:
		return []byte(fmt.Sprint(g.n(200) - 50))
	case r < 5:
		return PadValue(fmt.Sprintf("v%d", g.step), 40+g.n(g.o.MaxPad))
	}
	return []byte(fmt.Sprintf("v%d", g.step))
}

func (g *Generator) ttl() time.Duration {
	if g.pct(10) {
		return time.Duration(1+g.n(1500)) * time.Millisecond
	}
	return time.Duration(1+g.n(20)) * time.Second
}

// cond returns a condition on a write of key p percent of the time.
func (g *Generator) cond(key []byte, p int) Cond {
	if !g.pct(p) {
		return Cond{}
	}
	switch g.n(3) {
	case 0:
		return Cond{Kind: CondAbsent}
	case 1:
		return Cond{Kind: CondPresent}
	}
	v, ok := g.written[string(key)]
	if !ok || g.pct(20) {
		v = []byte(fmt.Sprintf("v%d", g.n(g.step+1)))
	}
	return Cond{Kind: CondValue, Value: v}
}

// atSnap returns an open snapshot to read at, a quarter of the time.
func (g *Generator) atSnap() string {
	if len(g.snaps) == 0 || !g.pct(25) {
		return ""
	}
	return g.snaps[g.n(len(g.snaps))]
}

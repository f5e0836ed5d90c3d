package dbtest

import "bytes"

// Reduce shrinks a failing script: it returns a script for which fails
// still reports true, from which no single operation, batch operation or
// iterator step can be removed, and no operation simplified, without
// losing the failure (unless the budget of calls to fails ran out first).
// It tries removing chunks of operations, halving the chunk down to single
// operations, then the parts of batches and iterations, then simpler forms
// of each operation (see simpler), and repeats while anything goes. ops
// must fail; fails must not keep or change the slices it is given.
func Reduce(ops []Op, fails func([]Op) bool, budget int) []Op {
	calls := 0
	try := func(c []Op) bool {
		if calls >= budget {
			return false
		}
		calls++
		return fails(c)
	}
	cur := ops
	for changed := true; changed && calls < budget; {
		changed = false
		// Chunks of operations, from half the script down to one.
		for chunk := max(len(cur)/2, 1); chunk >= 1; chunk /= 2 {
			for i := 0; i < len(cur); {
				end := min(i+chunk, len(cur))
				cand := append(append(make([]Op, 0, len(cur)-(end-i)), cur[:i]...), cur[end:]...)
				if try(cand) {
					cur, changed = cand, true
				} else {
					i += chunk
				}
			}
		}
		// The parts of compound operations, last first (an iterator step
		// depends on those before it).
		for i := range cur {
			for j := len(cur[i].Batch) - 1; j >= 0; j-- {
				cand := withOp(cur, i, func(op *Op) { op.Batch = remove(op.Batch, j) })
				if try(cand) {
					cur, changed = cand, true
				}
			}
			for j := len(cur[i].Steps) - 1; j >= 0 && len(cur[i].Steps) > 1; j-- {
				cand := withOp(cur, i, func(op *Op) { op.Steps = remove(op.Steps, j) })
				if try(cand) {
					cur, changed = cand, true
				}
			}
			for _, edit := range simpler(cur[i]) {
				cand := withOp(cur, i, edit)
				if try(cand) {
					cur, changed = cand, true
				}
			}
		}
	}
	return cur
}

// simpler returns the edits that make op simpler, if they apply: a batch
// of one operation becomes that operation; a write loses its TTL, its
// condition, its value's padding; an iteration loses a bound.
func simpler(op Op) []func(*Op) {
	var edits []func(*Op)
	if op.Kind == OpBatch && len(op.Batch) == 1 {
		edits = append(edits, func(o *Op) { *o = o.Batch[0] })
	}
	if op.TTL != 0 && op.Kind != OpExpire && op.Kind != OpAdvance {
		edits = append(edits, func(o *Op) { o.TTL = 0 })
	}
	if op.Cond.Kind != CondNone {
		edits = append(edits, func(o *Op) { o.Cond = Cond{} })
	}
	if p := bytes.TrimRight(op.Value, "."); len(p) > 0 && len(p) < len(op.Value) {
		edits = append(edits, func(o *Op) { o.Value = o.Value[:len(p)] })
	}
	if op.Lower != nil {
		edits = append(edits, func(o *Op) { o.Lower = nil })
	}
	if op.Upper != nil {
		edits = append(edits, func(o *Op) { o.Upper = nil })
	}
	return edits
}

// withOp returns a copy of ops whose i'th operation, a deep copy, edit has
// changed.
func withOp(ops []Op, i int, edit func(*Op)) []Op {
	c := append([]Op(nil), ops...)
	op := ops[i].Clone()
	edit(&op)
	c[i] = op
	return c
}

func remove[T any](s []T, i int) []T {
	return append(append(make([]T, 0, len(s)-1), s[:i]...), s[i+1:]...)
}

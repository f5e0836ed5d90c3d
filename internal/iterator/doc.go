// Package iterator combines internal iterators: a merging iterator that
// interleaves many sorted sources with a heap, and a level iterator that walks
// the non-overlapping tables of one level, opening each only when reached.
//
// Both implement keys.Iterator over internal keys in keys.Compare order, in
// both directions, and switch direction correctly: after Next, a Prev returns
// the entry before the current one across every source, and vice versa.
//
// Who may use it: package lsm, which reads through them, and its tests.
// It is internal because no exported API hands one out: a DB iterator
// (lsm.Iterator) is the public face.
package iterator

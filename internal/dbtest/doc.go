// Package dbtest is the test support shared by the DB's model tests, its
// metamorphic test, its scripted tests and its fuzz target: one model of
// the DB, one operation type that prints as a line of a script, a
// generator of random scripts, a runner that applies a script to a real
// DB, and a reducer that shrinks a failing script. It is a normal package
// so that tests of several packages (lsm, fuzz) can share it; only tests
// import it.
//
// # Scripts
//
// An operation is one line; a script is a list of them. Every line prints
// back exactly as it parses (Parse(op.String()) gives op again), so a
// failing random script is printed as a readable script that can be pasted
// into a testdata file.
//
//	put <key> <value> [ttl=<dur>] [<cond>]     Put; <cond> is if-absent, if-present or if-value=<v>
//	delete <key> [<cond>]                      Delete
//	delete-range <start> <end>                 DeleteRange [start, end)
//	incr <key> <delta> [ttl=<dur>] [<cond>]    Increment
//	expire <key> <dur>                         Expire (0s: never expires)
//	put-item <pk> <sk> <value> [ttl=<dur>] [<cond>]
//	delete-item <pk> <sk> [<cond>]
//	batch: <op> ; <op> ; ...                   Apply of put, delete, delete-range, put-item, delete-item
//	get <key> [at=<snap>]                      Get, or Snapshot.Get
//	get-item <pk> <sk> [at=<snap>]
//	ttl <key>                                  Expiry: the time left, "never" or not-found
//	query <pk> [begins=<s>] [from=<s>] [to=<s>] [after=<s>] [reverse] [limit=<n>]
//	iter [lower=<k>] [upper=<k>] [at=<snap>]: <step> ...
//	                                           a new iterator walked by first, last, next,
//	                                           prev, seek-ge <k>, seek-lt <k>, then closed
//	snapshot <name>                            NewSnapshot
//	close-snapshot <name>
//	flush | compact [<lo> <hi>] | reopen       Flush, Compact, Close and Open again
//	advance <dur>                              move the clock forward
//
// Keys and values print bare when they hold only letters, digits and
// _ - . # / +, and in Go's double-quoted form otherwise ("" is the empty
// string). A bare value <p>*<n> stands for p followed by dots up to n
// bytes (v12*300): padded values keep scripts short.
//
// # Results
//
// Each operation has one result line: "ok" for a write that succeeded, the
// value read, or the class of the error: condition-failed, not-found,
// not-integer, invalid-argument, no-snapshot; any other error prints as
// "error: <message>" and is never expected. An iteration prints what each
// step lands on (key=value, or "." when the iterator is not valid), a query
// its items (sk=value), ttl the time left. The model and the runner produce
// the same lines, so a history (the result of every operation) compares
// with a string comparison.
package dbtest

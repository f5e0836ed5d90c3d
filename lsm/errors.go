package lsm

import (
	"errors"

	"github.com/stratadb/strata/keys"
)

// The errors every call returns, tested with errors.Is at any depth of
// wrapping.
var (
	// ErrNotFound: the key is absent, deleted, or expired.
	ErrNotFound = errors.New("strata: not found")
	// ErrClosed: the DB was closed.
	ErrClosed = errors.New("strata: closed")
	// ErrLocked: the directory is open elsewhere, in this process or another.
	ErrLocked = errors.New("strata: directory locked")
	// ErrReadOnly: a write on a DB opened with Options.ReadOnly.
	ErrReadOnly = errors.New("strata: read-only")
	// ErrConditionFailed: IfAbsent, IfPresent or IfValue did not hold;
	// nothing was written.
	ErrConditionFailed = errors.New("strata: condition failed")
	// ErrNotInteger: Increment on a value that is not a decimal int64.
	ErrNotInteger = errors.New("strata: value is not an integer")
	// ErrInvalidArgument: an empty key, a key over 64 KiB, a value over
	// 256 MiB, a bad option, or a call the DB's state does not allow.
	ErrInvalidArgument = errors.New("strata: invalid argument")
	// ErrCorruption: a checksum or format failure of on-disk bytes; the
	// message names the file and the byte offset.
	ErrCorruption = keys.ErrCorruption
	// ErrNoDatabase: a read-only Open, or Repair, of a directory that holds
	// no database (no CURRENT file). It is not ErrNotFound, which says a
	// key is absent.
	ErrNoDatabase = errors.New("strata: no database")
)

// Limits on keys and values.
const (
	// MaxKeySize is the largest key accepted: 64 KiB.
	MaxKeySize = 64 << 10
	// MaxValueSize is the largest value accepted: 256 MiB.
	MaxValueSize = 256 << 20
)

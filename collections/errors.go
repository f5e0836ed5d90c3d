package collections

import (
	"errors"

	"github.com/stratadb/strata/lsm"
)

// The errors of the package. Each one's text is the error reply Redis 7.0
// gives in the same case (without the leading '-'), so a server can send
// err.Error() as it is. Test them with errors.Is.
var (
	// ErrNotFound: the key, field, member or index does not exist. It is
	// lsm.ErrNotFound, so one errors.Is test covers both packages.
	ErrNotFound = lsm.ErrNotFound
	// ErrWrongType: the key holds a value of another type.
	ErrWrongType = errors.New("WRONGTYPE Operation against a key holding the wrong kind of value")
	// ErrNotInteger: a string value or an argument is not a decimal int64.
	ErrNotInteger = errors.New("ERR value is not an integer or out of range")
	// ErrNotFloat: a string value or an argument is not a valid float.
	ErrNotFloat = errors.New("ERR value is not a valid float")
	// ErrHashNotInteger: HINCRBY on a field whose value is not an integer.
	ErrHashNotInteger = errors.New("ERR hash value is not an integer")
	// ErrHashNotFloat: HINCRBYFLOAT on a field whose value is not a float.
	ErrHashNotFloat = errors.New("ERR hash value is not a float")
	// ErrOverflow: INCRBY, DECRBY or HINCRBY would leave the int64 range.
	ErrOverflow = errors.New("ERR increment or decrement would overflow")
	// ErrNaNOrInf: INCRBYFLOAT or HINCRBYFLOAT would produce NaN or an
	// infinity.
	ErrNaNOrInf = errors.New("ERR increment would produce NaN or Infinity")
	// ErrScoreNaN: ZADD INCR or ZINCRBY would make a score NaN (+inf plus
	// -inf), or a NaN score was given.
	ErrScoreNaN = errors.New("ERR resulting score is not a number (NaN)")
	// ErrNoSuchKey: RENAME, LSET or another command that needs the key
	// found none.
	ErrNoSuchKey = errors.New("ERR no such key")
	// ErrIndexOutOfRange: LSET beyond the list.
	ErrIndexOutOfRange = errors.New("ERR index out of range")
	// ErrCountOutOfRange is HRANDFIELD's, SRANDMEMBER's and ZRANDMEMBER's
	// answer to a count of -2^63, whose negation does not fit.
	ErrCountOutOfRange = errors.New("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
	// ErrStringTooLong: APPEND or SETRANGE would make a string over the
	// engine's value limit (lsm.MaxValueSize; Redis's is 512 MB).
	ErrStringTooLong = errors.New("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
	// ErrSyntax: options that cannot go together (SET NX XX, ZADD NX GT,
	// EXPIRE NX XX, ...).
	ErrSyntax = errors.New("ERR syntax error")
	// ErrExpireOptions: EXPIRE with NX and XX, GT or LT together.
	ErrExpireOptions = errors.New("ERR NX and XX, GT or LT options at the same time are not compatible")
	// ErrZAddOptions: ZADD with NX and XX, or GT/LT with NX.
	ErrZAddOptions = errors.New("ERR GT, LT, and/or NX options at the same time are not compatible")
	// ErrZAddIncrPairs: ZADD INCR with other than one score-member pair.
	ErrZAddIncrPairs = errors.New("ERR INCR option supports a single increment-element pair")
	// ErrInvalidExpire: an expiry time out of range (EXPIRE with an
	// overflowing time, SET EX 0).
	ErrInvalidExpire = errors.New("ERR invalid expire time")
	// ErrTxKey: a Tx of UpdateKeys touched a key it did not declare.
	ErrTxKey = errors.New("ERR collections: key not declared to UpdateKeys")
	// ErrTxDone: a Tx used after its function returned.
	ErrTxDone = errors.New("ERR collections: transaction already finished")
	// ErrReadOnlyTx: a write in a read-only Tx (View).
	ErrReadOnlyTx = errors.New("ERR collections: write in a read-only transaction")
	// ErrInvalidArgument: a name or element over the size limits, an odd
	// field/value list, and other misuse. It is lsm.ErrInvalidArgument.
	ErrInvalidArgument = lsm.ErrInvalidArgument
)

package collections

import "time"

// Cmdable is every operation that both Store and Tx offer, with the same
// meaning: a Store runs each as its own atomic unit, a Tx as part of its
// Update. Code written against Cmdable (a server's command handlers) runs
// alone or inside MULTI/EXEC and scripts unchanged.
type Cmdable interface {
	// Keys
	Type(key []byte) (Type, error)
	Delete(keys ...[]byte) (int, error)
	Exists(keys ...[]byte) (int, error)
	Expire(key []byte, ttl time.Duration) (bool, error)
	ExpireFlags(key []byte, ttl time.Duration, flags ExpireFlags) (bool, error)
	ExpireAt(key []byte, at time.Time, flags ExpireFlags) (bool, error)
	TTL(key []byte) (time.Duration, error)
	ExpireTime(key []byte) (time.Time, error)
	Persist(key []byte) (bool, error)
	Rename(src, dst []byte) error
	RenameNX(src, dst []byte) (bool, error)

	// Strings
	Get(key []byte) ([]byte, error)
	Set(key, value []byte) error
	SetArgs(key, value []byte, a SetArgs) (SetResult, error)
	GetDel(key []byte) ([]byte, error)
	IncrBy(key []byte, delta int64) (int64, error)
	IncrByFloat(key []byte, incr float64) (float64, error)
	IncrByFloatText(key, incr []byte) ([]byte, error)
	Append(key, value []byte) (int, error)
	StrLen(key []byte) (int, error)
	GetRange(key []byte, start, end int64) ([]byte, error)
	SetRange(key []byte, offset int64, value []byte) (int, error)
	MGet(keys ...[]byte) ([][]byte, error)
	MSet(kv ...[]byte) error
	MSetNX(kv ...[]byte) (bool, error)

	// Hashes
	HSet(key []byte, fieldValues ...[]byte) (int, error)
	HSetNX(key, field, value []byte) (bool, error)
	HGet(key, field []byte) ([]byte, error)
	HMGet(key []byte, fields ...[]byte) ([][]byte, error)
	HDel(key []byte, fields ...[]byte) (int, error)
	HExists(key, field []byte) (bool, error)
	HLen(key []byte) (int64, error)
	HGetAll(key []byte) ([][]byte, error)
	HKeys(key []byte) ([][]byte, error)
	HVals(key []byte) ([][]byte, error)
	HStrLen(key, field []byte) (int, error)
	HIncrBy(key, field []byte, delta int64) (int64, error)
	HIncrByFloat(key, field []byte, incr float64) (float64, error)
	HIncrByFloatText(key, field, incr []byte) ([]byte, error)
	HRandField(key []byte, count int64, withValues bool) ([][]byte, error)
	HScan(key, cursor []byte, count int) ([][]byte, []byte, error)
	HIter(key []byte) (*Iter, error)

	// Sets
	SAdd(key []byte, members ...[]byte) (int, error)
	SRem(key []byte, members ...[]byte) (int, error)
	SIsMember(key, member []byte) (bool, error)
	SMIsMember(key []byte, members ...[]byte) ([]bool, error)
	SMembers(key []byte) ([][]byte, error)
	SCard(key []byte) (int64, error)
	SPop(key []byte, count int64) ([][]byte, error)
	SRandMember(key []byte, count int64) ([][]byte, error)
	SMove(src, dst, member []byte) (bool, error)
	SInter(keys ...[]byte) ([][]byte, error)
	SInterCard(limit int64, keys ...[]byte) (int64, error)
	SUnion(keys ...[]byte) ([][]byte, error)
	SDiff(keys ...[]byte) ([][]byte, error)
	SInterStore(dst []byte, keys ...[]byte) (int64, error)
	SUnionStore(dst []byte, keys ...[]byte) (int64, error)
	SDiffStore(dst []byte, keys ...[]byte) (int64, error)
	SScan(key, cursor []byte, count int) ([][]byte, []byte, error)
	SIter(key []byte) (*Iter, error)

	// Lists
	LPush(key []byte, elems ...[]byte) (int64, error)
	RPush(key []byte, elems ...[]byte) (int64, error)
	LPushX(key []byte, elems ...[]byte) (int64, error)
	RPushX(key []byte, elems ...[]byte) (int64, error)
	LPop(key []byte) ([]byte, error)
	RPop(key []byte) ([]byte, error)
	LPopCount(key []byte, count int64) ([][]byte, error)
	RPopCount(key []byte, count int64) ([][]byte, error)
	LLen(key []byte) (int64, error)
	LRange(key []byte, start, stop int64) ([][]byte, error)
	LIndex(key []byte, index int64) ([]byte, error)
	LSet(key []byte, index int64, elem []byte) error
	LTrim(key []byte, start, stop int64) error
	LRem(key []byte, count int64, elem []byte) (int64, error)
	LInsert(key []byte, before bool, pivot, elem []byte) (int64, error)
	LPos(key, elem []byte, a LPosArgs) ([]int64, error)
	LMove(src, dst []byte, srcLeft, dstLeft bool) ([]byte, error)
	RPopLPush(src, dst []byte) ([]byte, error)
	LIter(key []byte, start, stop int64) (*Iter, error)

	// Sorted sets
	ZAdd(key []byte, a ZAddArgs, members ...Z) (int64, error)
	ZAddIncr(key []byte, a ZAddArgs, incr float64, member []byte) (float64, bool, error)
	ZIncrBy(key []byte, incr float64, member []byte) (float64, error)
	ZScore(key, member []byte) (float64, error)
	ZMScore(key []byte, members ...[]byte) ([]float64, []bool, error)
	ZCard(key []byte) (int64, error)
	ZRem(key []byte, members ...[]byte) (int64, error)
	ZRank(key, member []byte) (int64, error)
	ZRevRank(key, member []byte) (int64, error)
	ZCount(key []byte, r ScoreRange) (int64, error)
	ZLexCount(key []byte, r LexRange) (int64, error)
	ZRangeArgs(key []byte, a ZRangeArgs) ([]Z, error)
	ZRange(key []byte, start, stop int64) ([]Z, error)
	ZRevRange(key []byte, start, stop int64) ([]Z, error)
	ZRangeByScore(key []byte, r ScoreRange, offset, count int64) ([]Z, error)
	ZRevRangeByScore(key []byte, r ScoreRange, offset, count int64) ([]Z, error)
	ZRangeByLex(key []byte, r LexRange, offset, count int64) ([]Z, error)
	ZPopMin(key []byte, count int64) ([]Z, error)
	ZPopMax(key []byte, count int64) ([]Z, error)
	ZRemRangeByRank(key []byte, start, stop int64) (int64, error)
	ZRemRangeByScore(key []byte, r ScoreRange) (int64, error)
	ZRemRangeByLex(key []byte, r LexRange) (int64, error)
	ZRandMember(key []byte, count int64) ([]Z, error)
	ZScan(key, cursor []byte, count int) ([]Z, []byte, error)
	ZUnionStore(dst []byte, keys [][]byte, a ZStoreArgs) (int64, error)
	ZInterStore(dst []byte, keys [][]byte, a ZStoreArgs) (int64, error)
	ZUnion(keys [][]byte, a ZStoreArgs) ([]Z, error)
	ZInter(keys [][]byte, a ZStoreArgs) ([]Z, error)
	ZIter(key []byte, a ZRangeArgs) (*Iter, error)
	ZDiff(keys [][]byte) ([]Z, error)
	ZDiffStore(dst []byte, keys [][]byte) (int64, error)
	ZInterCard(limit int64, keys ...[]byte) (int64, error)
	ZRangeStore(dst, src []byte, a ZRangeArgs) (int64, error)
}

var (
	_ Cmdable = (*Store)(nil)
	_ Cmdable = (*Tx)(nil)
)

package collections_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/stratadb/strata/collections"
	"github.com/stratadb/strata/lsm"
)

// open returns a Store on a fresh DB in a temporary directory, and a
// function that closes both and removes the directory.
func open() (*collections.Store, func()) {
	dir, err := os.MkdirTemp("", "collections-example")
	if err != nil {
		log.Fatal(err)
	}
	db, err := lsm.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	store := collections.New(db)
	return store, func() {
		store.Close()
		db.Close()
		os.RemoveAll(dir)
	}
}

// A job queue: producers LPUSH, workers RPOP, first in first out.
func Example_jobQueue() {
	store, done := open()
	defer done()
	jobs := []byte("queue:jobs")
	store.LPush(jobs, []byte("job1"), []byte("job2"), []byte("job3"))
	for {
		job, err := store.RPop(jobs)
		if errors.Is(err, collections.ErrNotFound) {
			break // the queue is empty (and gone, as in Redis)
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("working on %s\n", job)
	}
	n, _ := store.Exists(jobs)
	fmt.Println("queue keys left:", n)
	// Output:
	// working on job1
	// working on job2
	// working on job3
	// queue keys left: 0
}

// A reliable queue: LMOVE hands a job to a worker's processing list in the
// same atomic step that takes it off the queue, so a worker that dies
// leaves it there to be retried; LREM acknowledges it.
func Example_reliableQueue() {
	store, done := open()
	defer done()
	queue, processing := []byte("queue:jobs"), []byte("queue:processing:worker1")
	store.LPush(queue, []byte("resize:42"), []byte("email:7"))

	job, err := store.LMove(queue, processing, false, true) // RPOP from queue, LPUSH to processing
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("took %s\n", job)
	inFlight, _ := store.LRange(processing, 0, -1)
	fmt.Printf("in flight: %q\n", inFlight)

	// ... the work succeeds: acknowledge it.
	store.LRem(processing, 1, job)
	left, _ := store.LLen(queue)
	fmt.Println("still queued:", left)
	// Output:
	// took resize:42
	// in flight: ["resize:42"]
	// still queued: 1
}

// A user profile as a hash that expires: HSET the fields, EXPIRE the key,
// and the whole profile goes at once when its time is up.
func Example_profileWithExpiry() {
	store, done := open()
	defer done()
	user := []byte("user:123")
	store.HSet(user, []byte("name"), []byte("Alice"), []byte("email"), []byte("alice@example.com"))
	store.Expire(user, time.Hour)

	name, _ := store.HGet(user, []byte("name"))
	fields, _ := store.HLen(user)
	ttl, _ := store.TTL(user)
	fmt.Printf("%s, %d fields, expires within the hour: %v\n", name, fields, ttl > 59*time.Minute && ttl <= time.Hour)
	profile, _ := store.HGetAll(user)
	for i := 0; i < len(profile); i += 2 {
		fmt.Printf("%s=%s\n", profile[i], profile[i+1])
	}
	// Output:
	// Alice, 2 fields, expires within the hour: true
	// email=alice@example.com
	// name=Alice
}

// Likes as a set: SADD is idempotent, SISMEMBER answers with one read.
func Example_likes() {
	store, done := open()
	defer done()
	likes := []byte("user:123:likes")
	added, _ := store.SAdd(likes, []byte("item1"), []byte("item2"), []byte("item3"))
	again, _ := store.SAdd(likes, []byte("item2"))
	fmt.Println("added:", added, "added again:", again)
	liked, _ := store.SIsMember(likes, []byte("item1"))
	fmt.Println("likes item1:", liked)
	all, _ := store.SMembers(likes)
	fmt.Printf("%s\n", all)
	// Output:
	// added: 3 added again: 0
	// likes item1: true
	// [item1 item2 item3]
}

// A leaderboard: ZADD scores, the top 10 with ZREVRANGE, a player's rank
// with ZREVRANK (0 is first place).
func Example_leaderboard() {
	store, done := open()
	defer done()
	board := []byte("leaderboard")
	store.ZAdd(board, collections.ZAddArgs{},
		collections.Z{Score: 100, Member: []byte("alice")},
		collections.Z{Score: 200, Member: []byte("bob")},
		collections.Z{Score: 150, Member: []byte("charlie")})
	store.ZIncrBy(board, 75, []byte("alice")) // alice scores again

	top, _ := store.ZRevRange(board, 0, 9)
	for i, z := range top {
		fmt.Printf("%d. %s %v\n", i+1, z.Member, z.Score)
	}
	rank, _ := store.ZRevRank(board, []byte("charlie"))
	fmt.Println("charlie is number", rank+1)
	// Output:
	// 1. bob 200
	// 2. alice 175
	// 3. charlie 150
	// charlie is number 3
}

// A capped activity feed: LPUSH the newest event, LTRIM to the last N, in
// one atomic Update. LTRIM costs two range deletes whatever it drops.
func Example_cappedFeed() {
	store, done := open()
	defer done()
	feed := []byte("feed:alice")
	const keep = 3
	for i := 1; i <= 5; i++ {
		err := store.Update(func(tx *collections.Tx) error {
			if _, err := tx.LPush(feed, []byte(fmt.Sprint("event ", i))); err != nil {
				return err
			}
			return tx.LTrim(feed, 0, keep-1)
		})
		if err != nil {
			log.Fatal(err)
		}
	}
	events, _ := store.LRange(feed, 0, -1)
	for _, e := range events {
		fmt.Printf("%s\n", e)
	}
	// Output:
	// event 5
	// event 4
	// event 3
}

// Update applies any mix of operations atomically, reading its own writes:
// here a transfer between two hashes that never shows half done.
func ExampleStore_Update() {
	store, done := open()
	defer done()
	store.HSet([]byte("account:a"), []byte("balance"), []byte("100"))
	store.HSet([]byte("account:b"), []byte("balance"), []byte("0"))
	err := store.Update(func(tx *collections.Tx) error {
		left, err := tx.HIncrBy([]byte("account:a"), []byte("balance"), -30)
		if err != nil {
			return err
		}
		if left < 0 {
			return errors.New("insufficient funds") // nothing is written
		}
		_, err = tx.HIncrBy([]byte("account:b"), []byte("balance"), 30)
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
	a, _ := store.HGet([]byte("account:a"), []byte("balance"))
	b, _ := store.HGet([]byte("account:b"), []byte("balance"))
	fmt.Printf("a=%s b=%s\n", a, b)
	// Output:
	// a=70 b=30
}

// HIter streams a hash of any size without holding it in memory.
func ExampleStore_HIter() {
	store, done := open()
	defer done()
	for i := 0; i < 3; i++ {
		store.HSet([]byte("big"), []byte(fmt.Sprint("field", i)), []byte(fmt.Sprint(i*i)))
	}
	it, err := store.HIter([]byte("big"))
	if err != nil {
		log.Fatal(err)
	}
	defer it.Close()
	for it.Next() {
		fmt.Printf("%s=%s\n", it.Field(), it.Value())
	}
	if err := it.Err(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// field0=0
	// field1=1
	// field2=4
}

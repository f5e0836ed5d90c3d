package lsm_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/stratadb/strata/lsm"
)

// clock is a settable clock, so the examples can show expiry without
// sleeping. Programs use the default, time.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// openExample opens a DB in a fresh temporary directory.
func openExample(c *clock) (*lsm.DB, func()) {
	dir, err := os.MkdirTemp("", "strata-example-")
	if err != nil {
		log.Fatal(err)
	}
	opts := &lsm.Options{}
	if c != nil {
		opts.Clock = c.Now
	}
	db, err := lsm.Open(dir, opts)
	if err != nil {
		log.Fatal(err)
	}
	return db, func() {
		if err := db.Close(); err != nil {
			log.Fatal(err)
		}
		os.RemoveAll(dir)
	}
}

// Cache-aside: read the cache, on a miss load from the source of truth and
// cache the result with a TTL.
func Example_cacheAside() {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	db, done := openExample(c)
	defer done()

	loads := 0
	loadUser := func(id string) []byte { loads++; return []byte(`{"id":"` + id + `","name":"ada"}`) }
	getUser := func(id string) []byte {
		key := []byte("cache:user:" + id)
		if v, err := db.Get(key); err == nil {
			return v
		}
		v := loadUser(id)
		if err := db.Put(key, v, lsm.WithTTL(5*time.Minute)); err != nil {
			log.Fatal(err)
		}
		return v
	}
	getUser("42")
	getUser("42")
	fmt.Println("loads after two reads:", loads)
	c.Advance(6 * time.Minute) // the entry expires
	getUser("42")
	fmt.Println("loads after expiry:", loads)
	// Output:
	// loads after two reads: 1
	// loads after expiry: 2
}

// A session store: sessions expire after idle time; each request slides the
// expiry forward with Expire.
func Example_sessionStore() {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	db, done := openExample(c)
	defer done()

	const idle = 30 * time.Minute
	sid := []byte("session:9f2c")
	if err := db.Put(sid, []byte("user=42"), lsm.WithTTL(idle)); err != nil {
		log.Fatal(err)
	}
	c.Advance(20 * time.Minute)
	if err := db.Expire(sid, idle); err != nil { // a request: slide the window
		log.Fatal(err)
	}
	c.Advance(20 * time.Minute)
	v, err := db.Get(sid)
	fmt.Printf("40 minutes in, still active: %s %v\n", v, err)
	c.Advance(31 * time.Minute)
	_, err = db.Get(sid)
	fmt.Println("after 31 idle minutes:", errors.Is(err, lsm.ErrNotFound))
	// Output:
	// 40 minutes in, still active: user=42 <nil>
	// after 31 idle minutes: true
}

// A fixed-window rate limiter: one counter per client per window, created
// with the window's TTL by the first Increment.
func Example_rateLimiter() {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	db, done := openExample(c)
	defer done()

	const limit = 3
	allow := func(client string) bool {
		window := c.Now().Unix() / 60
		key := []byte(fmt.Sprintf("rate:%s:%d", client, window))
		n, err := db.Increment(key, 1, lsm.WithTTL(time.Minute))
		if err != nil {
			log.Fatal(err)
		}
		return n <= limit
	}
	var got []bool
	for i := 0; i < 5; i++ {
		got = append(got, allow("10.0.0.1"))
	}
	fmt.Println(got)
	c.Advance(time.Minute) // a new window
	fmt.Println(allow("10.0.0.1"))
	// Output:
	// [true true true false false]
	// true
}

// A lock with a token: acquire with IfAbsent and a TTL (so a crashed holder
// cannot keep it forever), release only with the token (IfValue).
func Example_lock() {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	db, done := openExample(c)
	defer done()

	key := []byte("lock:nightly-report")
	acquire := func(token string) bool {
		err := db.Put(key, []byte(token), lsm.IfAbsent(), lsm.WithTTL(10*time.Second))
		return err == nil
	}
	release := func(token string) bool {
		return db.Delete(key, lsm.IfValue([]byte(token))) == nil
	}
	fmt.Println("A acquires:", acquire("A"))
	fmt.Println("B acquires:", acquire("B"))
	fmt.Println("B releases A's lock:", release("B"))
	c.Advance(11 * time.Second) // A crashed; its lock expires
	fmt.Println("B acquires after expiry:", acquire("B"))
	fmt.Println("A's late release:", release("A"))
	fmt.Println("B releases:", release("B"))
	// Output:
	// A acquires: true
	// B acquires: false
	// B releases A's lock: false
	// B acquires after expiry: true
	// A's late release: false
	// B releases: true
}

// A leaderboard: items under one partition whose sort key is the score
// (zero-padded so bytes sort as numbers); the top N is a reverse query with a
// limit, and a score change moves the player in one batch.
func Example_leaderboard() {
	db, done := openExample(nil)
	defer done()

	board := []byte("board:weekly")
	sk := func(score int, player string) []byte { return []byte(fmt.Sprintf("%010d#%s", score, player)) }
	scores := map[string]int{"ada": 120, "bob": 95, "cy": 180, "dee": 60}
	for p, s := range scores {
		if err := db.PutItem(board, sk(s, p), []byte(p)); err != nil {
			log.Fatal(err)
		}
		if err := db.Put([]byte("score:"+p), []byte(strconv.Itoa(s))); err != nil {
			log.Fatal(err)
		}
	}
	// bob scores 100 more: remove the old entry, add the new, update his
	// score record, all at once.
	b := db.NewBatch()
	b.DeleteItem(board, sk(95, "bob"))
	b.PutItem(board, sk(195, "bob"), []byte("bob"))
	b.Put([]byte("score:bob"), []byte("195"), lsm.IfValue([]byte("95")))
	if err := db.Apply(b); err != nil {
		log.Fatal(err)
	}
	items := db.Query(board, &lsm.Query{Reverse: true, Limit: 3})
	for rank := 1; items.Next(); rank++ {
		fmt.Printf("%d. %s\n", rank, items.Item().Value)
	}
	if err := items.Close(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// 1. bob
	// 2. cy
	// 3. ada
}

// Single-table design: a user's profile and orders live under one partition
// key; orders sort by date inside it and are fetched with BeginsWith.
func Example_singleTable() {
	db, done := openExample(nil)
	defer done()

	pk := []byte("USER#42")
	put := func(sk, v string) {
		if err := db.PutItem(pk, []byte(sk), []byte(v)); err != nil {
			log.Fatal(err)
		}
	}
	put("PROFILE", `{"name":"ada"}`)
	put("ORDER#2026-09-14", `{"total":12}`)
	put("ORDER#2026-11-20", `{"total":7}`)
	put("ORDER#2026-10-02", `{"total":40}`)

	profile, _ := db.GetItem(pk, []byte("PROFILE"))
	fmt.Println("profile:", string(profile))
	items := db.Query(pk, &lsm.Query{BeginsWith: []byte("ORDER#"), From: []byte("ORDER#2026-10")})
	for items.Next() {
		fmt.Printf("%s %s\n", items.Item().SK, items.Item().Value)
	}
	if err := items.Close(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// profile: {"name":"ada"}
	// ORDER#2026-10-02 {"total":40}
	// ORDER#2026-11-20 {"total":7}
}

// A secondary index kept consistent with its table (the GSI pattern): the
// user record and its email index entry change in one batch, and the index
// entry is created only if no other user holds the email.
func Example_secondaryIndex() {
	db, done := openExample(nil)
	defer done()

	setEmail := func(user, oldEmail, newEmail string) error {
		b := db.NewBatch()
		b.Put([]byte("user:"+user), []byte(newEmail))
		if oldEmail != "" {
			b.DeleteItem([]byte("idx:email"), []byte(oldEmail), lsm.IfValue([]byte(user)))
		}
		b.PutItem([]byte("idx:email"), []byte(newEmail), []byte(user), lsm.IfAbsent())
		return db.Apply(b)
	}
	fmt.Println(setEmail("42", "", "ada@example.com"))
	err := setEmail("43", "", "ada@example.com") // taken: nothing written
	fmt.Println("43 takes the same email:", errors.Is(err, lsm.ErrConditionFailed))
	fmt.Println(setEmail("42", "ada@example.com", "ada@strata.dev"))

	owner, _ := db.GetItem([]byte("idx:email"), []byte("ada@strata.dev"))
	_, err = db.Get([]byte("user:43"))
	fmt.Println("owner:", string(owner), "| user 43 exists:", err == nil)
	items := db.Query([]byte("idx:email"), nil)
	for items.Next() {
		fmt.Printf("index: %s -> %s\n", items.Item().SK, items.Item().Value)
	}
	if err := items.Close(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// <nil>
	// 43 takes the same email: true
	// <nil>
	// owner: 42 | user 43 exists: false
	// index: ada@strata.dev -> 42
}

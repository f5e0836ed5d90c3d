"""Key-value patterns a Python application writes with redis-py, run
against the server: caching, sessions with SETEX, counters, fixed-window
rate limits (a pipeline, and a Lua script), locks (SET NX EX, released
by a compare-and-delete script, with EVAL and with EVALSHA first), and
the data structures: a profile hash set in a pipeline with its expiry, a
job queue (LPUSH/RPOP, and workers blocked in BRPOP), likes in a set, a
leaderboard in a sorted set, and a product hash.

Usage: patterns.py PORT. Prints one line per pattern; exits non-zero on
the first failure."""

import json
import sys
import time
import uuid

import redis

r = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), db=0)
r.flushall()


def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)


# Strings, expiry, counters.
profile = {"name": "Alice", "plan": "pro"}
r.set("user:123:session", json.dumps(profile))
check(json.loads(r.get("user:123:session")) == profile, "JSON value round trip")
r.set("rate:limit:192.168.1.1", 100, ex=60)
check(r.ttl("rate:limit:192.168.1.1") in (59, 60), "SET EX")
check(r.get("rate:limit:192.168.1.1") == b"100", "numbers are stored as text")
r.incr("api:request:count")
r.incr("api:request:count")
check(r.get("api:request:count") == b"2", "INCR")
check(r.incrby("user:123:balance", 100) == 100, "INCRBY")
print("strings ok")


# Cache-aside: a miss fills the cache with SETEX, a hit reads it.
calls = []


def fetch_from_database(user_id):
    calls.append(user_id)
    return {"id": user_id, "name": "user %d" % user_id}


def cached_profile(user_id):
    key = "user:profile:%d" % user_id
    hit = r.get(key)
    if hit:
        return json.loads(hit)
    value = fetch_from_database(user_id)
    r.setex(key, 300, json.dumps(value))
    return value


check(cached_profile(7) == cached_profile(7), "cache returns the same profile")
check(calls == [7], "the database was read once")
check(r.ttl("user:profile:7") in (299, 300), "SETEX TTL")
print("cache ok")


# Sessions with SETEX, refreshed on every request.
sid = uuid.uuid4().hex
r.setex("session:" + sid, 86400, json.dumps({}))
for _ in range(3):
    data = json.loads(r.get("session:" + sid))
    data["page_views"] = data.get("page_views", 0) + 1
    r.setex("session:" + sid, 86400, json.dumps(data))
check(json.loads(r.get("session:" + sid))["page_views"] == 3, "session page views")
check(r.ttl("session:" + sid) > 86000, "session TTL refreshed")
r.setex("session:short", 1, "x")
time.sleep(1.2)
check(r.get("session:short") is None, "an expired session is gone")
print("sessions ok")


# Fixed-window rate limit with a pipeline.
def allowed_pipeline(client_id, limit=3, window=60):
    key = "ratelimit:pipe:" + client_id
    current = r.get(key)
    if current and int(current) >= limit:
        return False
    pipe = r.pipeline()
    pipe.incr(key)
    pipe.expire(key, window)
    pipe.execute()
    return True


results = [allowed_pipeline("10.0.0.1") for _ in range(5)]
check(results == [True, True, True, False, False], "pipeline rate limit: %r" % results)
check(r.ttl("ratelimit:pipe:10.0.0.1") in (59, 60), "rate limit window")
print("rate limit (pipeline) ok")


# The same limit, atomic, with a Lua script.
RATE_SCRIPT = """
local count = redis.call('GET', KEYS[1])
if count and tonumber(count) >= tonumber(ARGV[1]) then
    return 0
end
count = redis.call('INCR', KEYS[1])
if tonumber(count) == 1 then
    redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 1
"""


def allowed_script(client_id, limit=3, window=60):
    return bool(r.eval(RATE_SCRIPT, 1, "ratelimit:lua:" + client_id, limit, window))


results = [allowed_script("10.0.0.2") for _ in range(5)]
check(results == [True, True, True, False, False], "script rate limit: %r" % results)
check(r.ttl("ratelimit:lua:10.0.0.2") in (59, 60), "script rate limit window")
print("rate limit (script) ok")


# Simple locks: SET NX EX, released with DEL.
def take(name, timeout=10):
    return r.set("lock:" + name, "1", nx=True, ex=timeout)


check(take("orders") is True, "first lock")
check(take("orders") is None, "second lock refused")
r.delete("lock:orders")
check(take("orders") is True, "lock after release")
print("simple lock ok")


# Token locks released only by their owner, with EVAL and with a
# registered script (EVALSHA first, EVAL when the server lacks it).
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


class TokenLock:
    def __init__(self, client, name, timeout=10):
        self.client = client
        self.key = "lock:" + name
        self.timeout = timeout
        self.token = str(uuid.uuid4())

    def acquire(self, blocking=True, blocking_timeout=2):
        start = time.time()
        while True:
            if self.client.set(self.key, self.token, nx=True, ex=self.timeout):
                return True
            if not blocking or time.time() - start >= blocking_timeout:
                return False
            time.sleep(0.01)

    def release(self):
        return self.client.eval(RELEASE, 1, self.key, self.token)


a, b = TokenLock(r, "report"), TokenLock(r, "report")
check(a.acquire(), "A takes the lock")
check(not b.acquire(blocking=True, blocking_timeout=0.1), "B waits, then gives up")
check(b.release() == 0, "B cannot release A's lock")
check(a.release() == 1, "A releases its lock")
check(b.acquire(blocking=False), "B takes the free lock")

r.script_flush()
release = r.register_script(RELEASE)
check(release(keys=[b.key], args=["not the token"]) == 0, "EVALSHA falls back to EVAL")
check(r.script_exists(release.sha) == [True], "the script is cached after the fallback")
check(release(keys=[b.key], args=[b.token]) == 1, "EVALSHA releases")
check(r.get(b.key) is None, "the lock is gone")
print("token lock ok")


# Data structures: a profile hash written in a pipeline (MULTI/EXEC) with
# its expiry.
pipe = r.pipeline()
pipe.hset('user:123', mapping={'name': 'Alice', 'email': 'alice@example.com'})
pipe.expire('user:123', 3600)
check(pipe.execute() == [2, True], "pipelined HSET and EXPIRE")
check(r.hgetall('user:123') == {b'name': b'Alice', b'email': b'alice@example.com'}, "HGETALL of the profile")
check(r.ttl('user:123') in (3599, 3600), "the profile's TTL")
check(r.type('user:123') == b'hash', "TYPE of a hash")
r.hincrby('user:123', 'logins', 1)
check(r.hget('user:123', 'logins') == b'1', "HINCRBY")
print("profile hash ok")


# A job queue: LPUSH at one end, RPOP at the other, oldest job first.
r.lpush('queue:jobs', 'job1', 'job2', 'job3')
next_job = r.rpop('queue:jobs')
check(next_job == b'job1', "RPOP takes the oldest job: %r" % next_job)
check(r.llen('queue:jobs') == 2, "two jobs left")
check(r.lrange('queue:jobs', 0, -1) == [b'job3', b'job2'], "LRANGE of the queue")
r.rpop('queue:jobs')
r.rpop('queue:jobs')
check(r.rpop('queue:jobs') is None, "an empty queue pops None")
check(r.exists('queue:jobs') == 0, "an empty queue is gone")
print("job queue ok")


# Workers blocked in BRPOP get jobs pushed by another client, in order.
import threading

done = []


def worker(name):
    w = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), db=0)
    while True:
        item = w.brpop('queue:work', timeout=10)
        if item is None or item[1] == b'stop':
            return
        done.append((name, item[1]))


threads = [threading.Thread(target=worker, args=("w%d" % i,)) for i in range(3)]
for th in threads:
    th.start()
for i in range(30):
    r.lpush('queue:work', 'task%d' % i)
for _ in threads:
    r.lpush('queue:work', 'stop')
for th in threads:
    th.join()
got = sorted(int(task[4:]) for _, task in done)
check(got == list(range(30)), "every task done exactly once: %r" % got)
check(r.exists('queue:work') == 0, "the work queue drained")
check(r.brpop('queue:work', timeout=1) is None, "BRPOP times out on an empty queue")
print("blocking workers ok")


# Likes: a set of unique items.
r.sadd('user:123:likes', 'item1', 'item2', 'item3')
is_member = r.sismember('user:123:likes', 'item1')
all_items = r.smembers('user:123:likes')
check(bool(is_member), "SISMEMBER")
check(all_items == {b'item1', b'item2', b'item3'}, "SMEMBERS: %r" % all_items)
check(r.sadd('user:123:likes', 'item1') == 0, "a like counts once")
check(r.scard('user:123:likes') == 3, "SCARD")
r.sadd('user:456:likes', 'item2', 'item4')
check(r.sinter('user:123:likes', 'user:456:likes') == {b'item2'}, "likes in common")
r.srem('user:123:likes', 'item1')
check(not r.sismember('user:123:likes', 'item1'), "SREM")
print("likes ok")


# A leaderboard: a sorted set.
r.zadd('leaderboard', {'alice': 100, 'bob': 200, 'charlie': 150})
top_players = r.zrevrange('leaderboard', 0, 9, withscores=True)
rank = r.zrank('leaderboard', 'alice')
check(top_players == [(b'bob', 200.0), (b'charlie', 150.0), (b'alice', 100.0)], "ZREVRANGE WITHSCORES: %r" % top_players)
check(rank == 0, "ZRANK")


def update_leaderboard(player_id, score):
    r.zadd('leaderboard', {player_id: score})


def get_top_players(n=10):
    return r.zrevrange('leaderboard', 0, n-1, withscores=True)


def get_player_rank(player_id):
    rank = r.zrank('leaderboard', player_id)
    return rank + 1 if rank is not None else None


update_leaderboard('dave', 175.5)
update_leaderboard('alice', 250)
check(get_top_players(2) == [(b'alice', 250.0), (b'bob', 200.0)], "top two: %r" % get_top_players(2))
check(get_player_rank('charlie') == 1, "charlie ranks first from the bottom")
check(get_player_rank('nobody') is None, "an unknown player has no rank")
check(r.zincrby('leaderboard', 0.25, 'dave') == 175.75, "ZINCRBY")
check(r.zscore('leaderboard', 'dave') == 175.75, "ZSCORE")
check(r.zcard('leaderboard') == 4, "ZCARD")
print("leaderboard ok")


# A product hash with numbers stored as text.
r.hset('product:SKU-001', mapping={
    'name': 'Gaming Laptop',
    'price': 1299.99,
    'stock': 50
})
product = r.hgetall('product:SKU-001')
check(product == {b'name': b'Gaming Laptop', b'price': b'1299.99', b'stock': b'50'}, "HGETALL: %r" % product)
check(r.hincrby('product:SKU-001', 'stock', -1) == 49, "a sale takes one from stock")
check(r.hincrbyfloat('product:SKU-001', 'price', -100) == 1199.99, "a discount")
check(r.hmget('product:SKU-001', 'name', 'stock', 'nope') == [b'Gaming Laptop', b'49', None], "HMGET")
r.set('user:123', 'now a string')
check(r.type('user:123') == b'string', "SET replaces a hash")
try:
    r.hget('user:123', 'name')
    check(False, "HGET on a string must fail")
except redis.exceptions.ResponseError as e:
    check(str(e).startswith("WRONGTYPE"), "WRONGTYPE: %s" % e)
print("product hash ok")

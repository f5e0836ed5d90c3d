"""Key-value patterns a Python application writes with redis-py, run
against the server: caching, sessions with SETEX, counters, fixed-window
rate limits (a pipeline, and a Lua script), and locks (SET NX EX, released
by a compare-and-delete script, with EVAL and with EVALSHA first).

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

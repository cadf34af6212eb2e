"""Rate limits and button replies in Redis, so several bot processes behind a load balancer
agree: a person limited by one process is limited by all, and a button pressed on a reply
sent by one process is answered by whichever process receives the press.

Same interfaces as RateLimiter and ReplyCache. When Redis does not answer in time, each falls
back to this process's own memory (and logs it) rather than failing the person's request.
"""

from __future__ import annotations

import logging
import secrets
import time

import redis

from bot.core.ratelimit import RateLimiter
from bot.core.reply import Reply
from bot.core.sessions import ReplyCache
from bot.core.signed import SignatureError, Signer

log = logging.getLogger(__name__)
WINDOW_S = 60

# A sliding one-minute window in a sorted set (scores are hit times), checked and recorded in
# one atomic step. Returns the wait as a string: Lua numbers come back to Redis as integers.
_SLIDING_WINDOW = """
local key, now, limit, cost = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - ARGV[5])
local over = redis.call('ZCARD', key) + cost - limit
if over > 0 then
  local hit = redis.call('ZRANGE', key, over - 1, over - 1, 'WITHSCORES')
  return tostring(math.max(0.1, ARGV[5] - (now - tonumber(hit[2]))))
end
for i = 1, cost do redis.call('ZADD', key, now, ARGV[4] .. ':' .. i) end
redis.call('EXPIRE', key, ARGV[5] + 1)
return '0'
"""


class RedisRateLimiter(RateLimiter):
    """RateLimiter's sliding window, kept in Redis (clock: wall time, the same on every host)."""

    def __init__(
        self, client: redis.Redis, per_minute: int, prefix: str = "headshot", clock=time.time
    ) -> None:
        super().__init__(per_minute, clock)
        self.client = client
        self.prefix = prefix
        self._script = client.register_script(_SLIDING_WINDOW)

    def retry_after(self, key: str, cost: int = 1) -> float:
        if self.per_minute <= 0:
            return 0.0
        cost = min(cost, self.per_minute)  # as RateLimiter: callers cap larger batches
        args = [self.clock(), self.per_minute, cost, secrets.token_hex(8), WINDOW_S]
        try:
            return float(self._script(keys=[f"{self.prefix}:rl:{key}"], args=args))
        except redis.RedisError as exc:
            log.warning("rate limit in Redis unavailable (%s); using this process's", type(exc))
            return super().retry_after(key, cost)


class RedisReplyCache(ReplyCache):
    """ReplyCache's put/get/page with entries in Redis (signed pickles, expiring with ttl_s)."""

    def __init__(
        self, client: redis.Redis, signer: Signer, ttl_s: float = 900, prefix: str = "headshot"
    ) -> None:
        super().__init__(ttl_s=ttl_s)
        self.client = client
        self.signer = signer
        self.prefix = prefix

    def put(self, reply: Reply) -> str:
        try:
            token = secrets.token_urlsafe(8)
            self.client.set(self._key(token), self.signer.dumps(reply), px=int(self.ttl_s * 1000))
            return token
        except (redis.RedisError, SignatureError) as exc:
            log.warning("reply cache in Redis unavailable (%s); keeping it here", type(exc))
            return super().put(reply)

    def get(self, token: str) -> Reply | None:
        try:
            blob = self.client.get(self._key(token))
        except redis.RedisError as exc:
            log.warning("reply cache in Redis unavailable (%s)", type(exc))
            blob = None
        if blob is None:
            return super().get(token)  # put here while Redis was away
        try:
            return self.signer.loads(blob)
        except SignatureError:
            log.warning("ignored a cached reply with a bad signature")
            return None

    def _key(self, token: str) -> str:
        return f"{self.prefix}:reply:{token}"

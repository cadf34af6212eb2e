"""State that several bot processes must share: the per-user rate limit, the buttons' reply
memory and which platform events were already handled. With `[state] backend = "redis"` they
live in Redis, so processes behind a load balancer agree on who may send another photo, any of
them answers any button, and an event redelivered to another process is not answered twice;
with "memory" (the default, no servers) each process keeps its own.

`make_limiter`, `make_reply_cache` and `make_seen_events` are the one place that chooses. While
Redis does not answer, each process falls back to its own memory (the limit then holds per
process, and a button whose reply lives elsewhere says so) and tries Redis again
`retry_after_s` later, so no request waits out a connect timeout more than once per outage.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from typing import Any, TypeVar, cast

import redis

from bot.core.ratelimit import WINDOW_S, Limiter, RateLimiter
from bot.core.reply import Reply, message_reply
from bot.core.sessions import ReplyCache
from bot.core.signed import SignatureError, Signer
from bot.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
BACKENDS = ("memory", "redis")


class StateConfigError(RuntimeError):
    """`[state] backend = "redis"` without a URL or secret, or an unknown backend."""


# -- the choice ---------------------------------------------------------------------------
def make_limiter(settings: Settings) -> Limiter:
    """The per-user rate limit: in Redis when configured, else in this process."""
    per_minute = settings.rate_limit.per_user_per_minute
    if not _uses_redis(settings):
        return RateLimiter(per_minute)
    return RedisRateLimiter(_client(settings), per_minute, _namespace(settings), _outage(settings))


def make_reply_cache(
    settings: Settings, *, ttl_s: float = 900, max_entries: int = 1000
) -> ReplyCache:
    """The buttons' reply memory: in Redis (and this process) when configured."""
    if not _uses_redis(settings):
        return ReplyCache(ttl_s=ttl_s, max_entries=max_entries)
    secret = settings.queue_secret
    if secret is None:
        raise StateConfigError('[state] backend = "redis" needs QUEUE_SECRET (signs replies)')
    signer = Signer(secret.get_secret_value().encode(), settings.state.max_reply_bytes)
    return RedisReplyCache(
        _client(settings),
        signer,
        _namespace(settings),
        _outage(settings),
        ttl_s=ttl_s,
        max_entries=max_entries,
    )


def make_seen_events(settings: Settings, *, ttl_s: float = 900) -> SeenEvents:
    """Which event ids were handled (a redelivery is dropped): in Redis when configured."""
    if not _uses_redis(settings):
        return SeenEvents(ttl_s=ttl_s)
    return RedisSeenEvents(_client(settings), _namespace(settings), _outage(settings), ttl_s)


def _uses_redis(settings: Settings) -> bool:
    backend = settings.state.backend
    if backend not in BACKENDS:
        raise StateConfigError(f"[state] backend must be one of {BACKENDS}, not {backend!r}")
    return backend == "redis"


def state_url(settings: Settings) -> str:
    url = settings.redis_url or settings.queue_url
    if url is None:
        raise StateConfigError('[state] backend = "redis" needs REDIS_URL (or QUEUE_URL)')
    return url.get_secret_value()


def _namespace(settings: Settings) -> str:
    return f"{settings.queue.name}-state"


def _client(settings: Settings) -> redis.Redis:
    return _client_for(state_url(settings), settings.state.timeout_s)


@lru_cache(maxsize=8)
def _client_for(url: str, timeout_s: float) -> redis.Redis:
    """One connection pool per URL, shared by the limiter and the reply cache."""
    return redis.Redis.from_url(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s)


def _outage(settings: Settings) -> Outage:
    return _outage_for(state_url(settings), settings.state.retry_after_s)


@lru_cache(maxsize=8)
def _outage_for(url: str, retry_after_s: float) -> Outage:
    return Outage(retry_after_s)


# -- Redis down ---------------------------------------------------------------------------
class Outage:
    """Remembers that Redis failed, so that for `retry_after_s` callers use this process's
    memory at once; logs once when an outage starts and once when it ends."""

    def __init__(self, retry_after_s: float, clock: Callable[[], float] = time.monotonic):
        self.retry_after_s = retry_after_s
        self.clock = clock
        self._until = 0.0
        self._failing = False
        self._lock = threading.Lock()

    def down(self) -> bool:
        return self.clock() < self._until

    def call(self, what: str, fn: Callable[[], T]) -> T | None:
        """fn(), or None when Redis is down now or fails on this call."""
        if self.down():
            return None
        try:
            out = fn()
        except redis.RedisError as exc:
            self._failed(what, exc)
            return None
        if self._failing:
            with self._lock:
                self._failing = False
            log.warning("Redis answers again: shared state back in use")
        return out

    def _failed(self, what: str, exc: redis.RedisError) -> None:
        with self._lock:
            first, self._failing = not self._failing, True
            self._until = self.clock() + self.retry_after_s
        if first:  # the class name only: a connection error's text may hold the URL
            log.error(
                "Redis did not answer (%s, during %s): using this process's memory for the "
                "rate limit, button replies and handled events until it does",
                type(exc).__name__,
                what,
            )


# -- the rate limit -----------------------------------------------------------------------
# The in-process RateLimiter's sliding window, kept in one sorted set per person and run
# atomically: two processes taking at once never both get the last unit. Members are
# "id:i:cost" scored by when they were spent; time is Redis's own, so machines whose clocks
# differ still agree. Waits come back as strings (Lua numbers would be truncated to integers).
TAKE = """
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local count, cost = tonumber(ARGV[3]), tonumber(ARGV[4])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local spent = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local function cost_of(member) return tonumber(string.match(member, '[^:]+$')) end
local used = 0
for i = 1, #spent, 2 do used = used + cost_of(spent[i]) end
local granted = math.max(0, math.min(count, math.floor((limit - used) / cost + 1e-9)))
for i = 1, granted do
  redis.call('ZADD', KEYS[1], now, ARGV[5] .. ':' .. i .. ':' .. ARGV[4])
end
if granted > 0 then redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000)) end
if granted == count then return {granted, '0'} end
local room = limit - used - granted * cost
for i = 1, #spent, 2 do
  room = room + cost_of(spent[i])
  if room + 1e-9 >= cost then
    return {granted, tostring(math.max(0.1, window - (now - tonumber(spent[i + 1]))))}
  end
end
return {granted, tostring(window)}
"""


class RedisRateLimiter:
    """RateLimiter's `take`, in Redis: every bot process sees the same spending."""

    def __init__(
        self,
        client: redis.Redis,
        per_minute: int,
        namespace: str,
        outage: Outage,
        window_s: float = WINDOW_S,
    ) -> None:
        self._take = client.register_script(TAKE)
        self.namespace = namespace
        self.outage = outage
        self.window_s = window_s
        # While Redis is down: the same limit, per process.
        self.fallback = RateLimiter(per_minute, window_s=window_s)

    @property
    def per_minute(self) -> int:
        return self.fallback.per_minute

    @per_minute.setter
    def per_minute(self, value: int) -> None:
        self.fallback.per_minute = value

    def take(self, key: str, count: int, cost: float = 1.0) -> tuple[int, float]:
        if self.per_minute <= 0 or count <= 0:
            return count, 0.0
        args: list[str | int | float] = [
            self.per_minute,
            self.window_s,
            count,
            repr(float(cost)),
            secrets.token_hex(6),
        ]
        keys = [f"{self.namespace}:rate:{key}"]
        out = self.outage.call("the rate limit", lambda: self._take(keys=keys, args=args))
        if out is None:
            return self.fallback.take(key, count, cost)
        granted, wait = cast(list[Any], out)
        return int(granted), float(wait)


# -- the reply memory ---------------------------------------------------------------------
class RedisReplyCache(ReplyCache):
    """Replies in Redis for every bot process (signed pickles that expire after ttl_s), and in
    this process's memory too: a press on the process that answered needs no round trip, and
    keeps working while Redis is down. Writes go out on a thread of their own, so a large
    reply (a stripped copy) never holds up the event loop."""

    def __init__(
        self,
        client: redis.Redis,
        signer: Signer,
        namespace: str,
        outage: Outage,
        *,
        ttl_s: float = 900,
        max_entries: int = 1000,
    ) -> None:
        super().__init__(ttl_s=ttl_s, max_entries=max_entries)
        self.client = client
        self.signer = signer
        self.namespace = namespace
        self.outage = outage
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reply-cache")
        self._last_write: Future[None] | None = None

    def put(self, reply: Reply) -> str:
        token = super().put(reply)
        self._last_write = self._writer.submit(self._store, token, reply)
        return token

    def get(self, token: str) -> Reply | None:
        reply = super().get(token)
        if reply is not None:
            return reply
        blob = self.outage.call("a button press", lambda: self.client.get(self._key(token)))
        if not isinstance(blob, bytes):
            return None
        try:
            return cast(Reply, self.signer.loads(blob))
        except SignatureError:
            log.warning("ignored a stored reply whose signature does not match QUEUE_SECRET")
            return None

    def page(self, token: str, name: str) -> Reply:
        page = super().page(token, name)
        if self.outage.down() and super().get(token) is None:  # not "expired": unreachable
            return message_reply("scale.state_unavailable", "warning")
        return page

    def flush(self) -> None:
        """Wait until every reply put so far is in Redis (or given up on)."""
        if self._last_write is not None:
            self._last_write.result()

    def _store(self, token: str, reply: Reply) -> None:
        try:
            blob = self.signer.dumps(reply)
        except SignatureError:
            log.warning("a reply over [state] max_reply_bytes is kept in this process only")
            return
        ttl_ms = max(1, int(self.ttl_s * 1000))
        self.outage.call(
            "storing a reply", lambda: self.client.set(self._key(token), blob, px=ttl_ms)
        )

    def _key(self, token: str) -> str:
        return f"{self.namespace}:reply:{token}"


# -- events already handled ---------------------------------------------------------------
class SeenEvents:
    """Event ids handled within the last `ttl_s`, in this process."""

    def __init__(
        self,
        ttl_s: float = 900,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first_time(self, event_id: str) -> bool:
        """True the first time an id is offered within the TTL (and remembers it)."""
        now = self.clock()
        while self._seen and next(iter(self._seen.values())) < now:
            self._seen.popitem(last=False)
        if event_id in self._seen:
            return False
        self._seen[event_id] = now + self.ttl_s
        while len(self._seen) > self.max_entries:
            self._seen.popitem(last=False)
        return True


class RedisSeenEvents(SeenEvents):
    """The same, shared by every bot process: the first to claim an id (SET NX) handles it.
    While Redis is down each process remembers on its own (a redelivery to another process
    may then be answered twice: better than none)."""

    def __init__(self, client: redis.Redis, namespace: str, outage: Outage, ttl_s: float) -> None:
        super().__init__(ttl_s=ttl_s)
        self.client = client
        self.namespace = namespace
        self.outage = outage

    def first_time(self, event_id: str) -> bool:
        key = f"{self.namespace}:seen:{event_id}"
        ttl_ms = max(1, round(self.ttl_s * 1000))
        claimed = self.outage.call(
            "the event memory", lambda: self.client.set(key, b"1", nx=True, px=ttl_ms)
        )
        if claimed is None and self.outage.down():
            return super().first_time(event_id)
        return bool(claimed)

"""Shared state for several bot processes (bot/core/state.py): the per-user rate limit and the
buttons' reply memory in the real Redis on 127.0.0.1 (skipped when none answers), in memory by
default, and what happens when Redis stops answering."""

from __future__ import annotations

import logging
import secrets
import threading
import time

import pytest
import redis

from bot import messages
from bot.core.ratelimit import RateLimiter
from bot.core.reply import Attachment, Reply, Section
from bot.core.service import HeadshotService
from bot.core.sessions import ReplyCache
from bot.core.signed import Signer
from bot.core.state import (
    Outage,
    RedisRateLimiter,
    RedisReplyCache,
    RedisSeenEvents,
    SeenEvents,
    StateConfigError,
    make_limiter,
    make_reply_cache,
    make_seen_events,
)
from bot.settings import Settings
from tests.queue_support import REDIS_URL, queue_env, redis_or_skip

DEAD_URL = "redis://127.0.0.1:1/0"  # nothing listens there: connections are refused at once
SECRET = b"s" * 32


@pytest.fixture
def ns():
    """A fresh key namespace on the test Redis, deleted afterwards."""
    client = redis_or_skip()
    name = f"test-state-{secrets.token_hex(4)}"
    yield name
    for key in client.scan_iter(f"{name}*"):
        client.delete(key)


def process_client(url: str = REDIS_URL) -> redis.Redis:
    """A connection of its own, as a second bot process would have."""
    return redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=1)


def limiter(ns: str, per_minute: int, url: str = REDIS_URL, **kw) -> RedisRateLimiter:
    return RedisRateLimiter(process_client(url), per_minute, ns, Outage(5.0), **kw)


def reply_cache(ns: str, url: str = REDIS_URL, ttl_s: float = 60, **kw) -> RedisReplyCache:
    return RedisReplyCache(
        process_client(url), Signer(SECRET, 1_000_000), ns, Outage(5.0), ttl_s=ttl_s, **kw
    )


def a_reply() -> Reply:
    return Reply(
        title="AI-generated",
        tone="ai_generated",
        pages={"details": [Section("Evidence", ["a generator's metadata"])]},
        offers={"strip": Attachment("clean.jpg", b"\xff\xd8 bytes", "Copy without metadata")},
    )


# -- the limit: the same answers in memory and in Redis ------------------------------------
@pytest.fixture(params=["memory", "redis"])
def make(request, ns):
    if request.param == "memory":
        return lambda per_minute: RateLimiter(per_minute)
    return lambda per_minute: limiter(ns, per_minute)


def test_both_limiters_grant_what_fits_and_say_how_long_to_wait(make):
    rl = make(3)
    assert rl.take("u", 2) == (2, 0.0)
    granted, wait = rl.take("u", 2)
    assert granted == 1 and 59 < wait <= 60
    assert rl.take("u", 1) == (0, pytest.approx(wait, abs=1))
    assert rl.take("someone else", 3) == (3, 0.0)


def test_both_limiters_count_fractional_costs(make):
    rl = make(2)
    assert rl.take("u", 3, cost=0.5) == (3, 0.0)
    assert rl.take("u", 2, cost=0.5)[0] == 1
    assert rl.take("u", 1, cost=0.5)[0] == 0
    assert rl.take("u", 0) == (0, 0.0)


def test_both_limiters_are_off_at_zero(make):
    assert make(0).take("u", 100) == (100, 0.0)


def test_two_processes_share_one_limit(ns):
    bot_a, bot_b = limiter(ns, 3), limiter(ns, 3)
    assert bot_a.take("discord:1", 2) == (2, 0.0)
    assert bot_b.take("discord:1", 2)[0] == 1  # b sees what a spent
    assert bot_a.take("discord:1", 1)[0] == 0
    assert bot_b.take("slack:1", 1) == (1, 0.0)


def test_a_race_between_processes_never_grants_more_than_the_limit(ns):
    bots = [limiter(ns, 5) for _ in range(2)]
    granted: list[int] = []
    start = threading.Barrier(8)

    def one(i: int) -> None:
        start.wait()
        granted.append(bots[i % 2].take("u", 1)[0])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(granted) == [0, 0, 0, 1, 1, 1, 1, 1]


def test_spending_leaves_the_window_in_redis(ns):
    rl = limiter(ns, 2, window_s=0.6)
    assert rl.take("u", 2) == (2, 0.0)
    granted, wait = rl.take("u", 1)
    assert granted == 0 and 0.1 <= wait <= 0.6
    time.sleep(wait + 0.1)
    assert limiter(ns, 2, window_s=0.6).take("u", 2) == (2, 0.0)
    ttl = process_client().pttl(f"{ns}:rate:u")
    assert 0 < ttl <= 600  # the key goes away by itself


# -- the reply memory ------------------------------------------------------------------------
def test_a_reply_stored_by_one_process_is_served_by_another(ns):
    bot_a, bot_b = reply_cache(ns), reply_cache(ns)
    token = bot_a.put(a_reply())
    bot_a.flush()
    served = bot_b.get(token)
    assert served == a_reply()
    details = bot_b.page(token, "details")
    assert details.title.startswith("Details") and details.sections[0].lines == [
        "a generator's metadata"
    ]
    assert bot_b.page(token, "strip").attachments[0].data == b"\xff\xd8 bytes"


def test_stored_replies_expire(ns):
    bot_a, bot_b = reply_cache(ns, ttl_s=0.3), reply_cache(ns, ttl_s=0.3)
    token = bot_a.put(a_reply())
    bot_a.flush()
    assert bot_b.get(token) is not None
    time.sleep(0.45)
    assert bot_b.get(token) is None
    assert bot_a.get(token) is None  # its own memory forgets too
    assert bot_b.page(token, "details").title == "This result has expired"


def test_a_reply_not_signed_with_our_secret_is_never_unpickled(ns, caplog):
    client = process_client()
    forged = Signer(b"o" * 32, 1_000_000).dumps(a_reply())
    client.set(f"{ns}:reply:forged", forged)
    client.set(f"{ns}:reply:garbage", b"\x80\x04not even signed")
    cache = reply_cache(ns)
    with caplog.at_level(logging.WARNING):
        assert cache.get("forged") is None
        assert cache.get("garbage") is None
    assert "signature" in caplog.text


def test_a_reply_too_large_for_redis_stays_in_this_process(ns, caplog):
    big = a_reply()
    big.offers["strip"] = Attachment("big.jpg", b"x" * 2_000_000)
    bot_a, bot_b = reply_cache(ns), reply_cache(ns)
    with caplog.at_level(logging.WARNING):
        token = bot_a.put(big)
        bot_a.flush()
    assert "max_reply_bytes" in caplog.text
    assert bot_a.get(token) is big
    assert bot_b.get(token) is None


# -- Redis down -------------------------------------------------------------------------------
def test_redis_down_the_limit_holds_per_process_and_it_is_logged_once(caplog):
    rl = limiter("down", 3, url=DEAD_URL)
    with caplog.at_level(logging.ERROR):
        assert rl.take("u", 5)[0] == 3
        assert rl.take("u", 1)[0] == 0
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "Redis did not answer" in errors[0].getMessage()
    assert "127.0.0.1:1" not in caplog.text  # no URL (it may hold a password) in the log
    assert rl.outage.down()


def test_redis_down_a_press_elsewhere_says_the_memory_is_unreachable():
    here, elsewhere = reply_cache("down", url=DEAD_URL), reply_cache("down", url=DEAD_URL)
    token = here.put(a_reply())
    here.flush()
    assert here.page(token, "details").sections  # the process that answered still can
    page = elsewhere.page(token, "details")
    assert page.title == messages.text("scale.state_unavailable.title")
    assert page.tone == "warning"


def test_after_an_outage_redis_is_tried_again_and_used(ns, caplog):
    now = [0.0]
    rl = limiter(ns, 2)
    rl.outage = Outage(5.0, clock=lambda: now[0])
    good = rl._take
    rl._take = lambda **kw: (_ for _ in ()).throw(redis.ConnectionError("refused"))
    assert rl.take("u", 2)[0] == 2  # in memory
    rl._take = good
    assert rl.take("u", 1)[0] == 0  # still in memory: not retried before retry_after_s
    now[0] = 6.0
    with caplog.at_level(logging.WARNING):
        assert rl.take("u", 2) == (2, 0.0)  # Redis again, where nothing was spent yet
    assert "answers again" in caplog.text
    assert limiter(ns, 2).take("u", 1)[0] == 0  # and another process sees it


# -- the choice, from config -------------------------------------------------------------------
def test_memory_is_the_default_with_no_servers():
    settings = Settings(_env_file=None)
    assert type(make_limiter(settings)) is RateLimiter
    assert type(make_reply_cache(settings)) is ReplyCache


def test_redis_backend_needs_its_url_and_secret(monkeypatch):
    for var in ("REDIS_URL", "QUEUE_URL", "QUEUE_SECRET"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HEADSHOT_STATE__BACKEND", "redis")
    with pytest.raises(StateConfigError, match="REDIS_URL"):
        make_limiter(Settings(_env_file=None))
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    with pytest.raises(StateConfigError, match="QUEUE_SECRET"):
        make_reply_cache(Settings(_env_file=None))
    monkeypatch.setenv("HEADSHOT_STATE__BACKEND", "memcached")
    with pytest.raises(StateConfigError, match="memory"):
        make_limiter(Settings(_env_file=None))


def test_two_services_configured_for_redis_agree(monkeypatch):
    client = redis_or_skip()
    env = queue_env(
        monkeypatch,
        HEADSHOT_STATE__BACKEND="redis",
        HEADSHOT_QUEUE__BACKEND="inprocess",
        HEADSHOT_RATE_LIMIT__PER_USER_PER_MINUTE="2",
    )
    settings = Settings(_env_file=None)
    a, b = HeadshotService(settings), HeadshotService(settings)
    try:
        assert isinstance(a.limiter, RedisRateLimiter)
        assert a.admit("slack", "U1", 2).granted == 2
        assert b.admit("slack", "U1", 1).granted == 0
        assert b.admit("console", "U1", 1).granted == 1  # the operator is never limited
        cache = make_reply_cache(settings)
        assert isinstance(cache, RedisReplyCache)
    finally:
        a.close()
        b.close()
        for key in client.scan_iter(f"{env['HEADSHOT_QUEUE__NAME']}*"):
            client.delete(key)


# -- events already handled: a redelivery to another process is dropped too -------------------
def seen_events(ns: str, url: str = REDIS_URL, ttl_s: float = 60) -> RedisSeenEvents:
    return RedisSeenEvents(process_client(url), ns, Outage(5.0), ttl_s)


def test_an_event_handled_by_one_process_is_dropped_by_another(ns):
    bot_a, bot_b = seen_events(ns), seen_events(ns)
    assert bot_a.first_time("Ev01") is True
    assert bot_b.first_time("Ev01") is False and bot_a.first_time("Ev01") is False
    assert bot_b.first_time("Ev02") is True


def test_seen_events_expire_in_redis(ns):
    bot_a, bot_b = seen_events(ns, ttl_s=0.3), seen_events(ns, ttl_s=0.3)
    assert bot_a.first_time("Ev01")
    time.sleep(0.45)
    assert bot_b.first_time("Ev01")  # Slack stopped retrying long ago: a new delivery


def test_redis_down_each_process_remembers_its_own_events(caplog):
    down = seen_events("unused", url=DEAD_URL)
    with caplog.at_level(logging.WARNING):
        assert down.first_time("Ev01") is True
        assert down.first_time("Ev01") is False  # still dropped by this process
    assert len([r for r in caplog.records if "event memory" in r.getMessage()]) == 1


def test_the_event_memory_follows_the_state_backend(monkeypatch):
    assert type(make_seen_events(Settings(_env_file=None))) is SeenEvents
    redis_or_skip()
    queue_env(monkeypatch, HEADSHOT_STATE__BACKEND="redis")
    assert isinstance(make_seen_events(Settings(_env_file=None)), RedisSeenEvents)

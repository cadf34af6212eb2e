"""The platform-neutral core: service routing, pool, cache, rate limit, button pages."""

from __future__ import annotations

import asyncio
import re

import pytest

from bot.core.pool import AnalysisPool
from bot.core.ratelimit import RateLimiter
from bot.core.reply import Action, Reply, Section
from bot.core.request import ImageInput, Kind, Request
from bot.core.service import HeadshotService
from bot.core.sessions import ReplyCache, button_id, parse_button_id
from tests.conftest import jpeg_bytes, loop_lag_budget_s, png_bytes


@pytest.fixture
def service():
    svc = HeadshotService(pool=AnalysisPool(inline=True))
    yield svc
    svc.close()


async def test_check_request_gives_one_reply_per_image(service):
    req = Request(
        Kind.CHECK,
        "discord",
        images=[ImageInput("a.png", png_bytes()), ImageInput("b.jpg", jpeg_bytes())],
    )
    replies = await service.handle(req)
    assert [r.tone for r in replies] == ["no_evidence", "no_evidence"]
    assert "a.png" in replies[0].title and "b.jpg" in replies[1].title
    assert any(a.id == "details" for a in replies[0].actions)


async def test_non_image_becomes_error_reply(service):
    replies = await service.handle(
        Request(Kind.CHECK, "discord", images=[ImageInput("x.pdf", b"%PDF-1.4")])
    )
    assert replies[0].tone == "error"
    assert "PDF" in replies[0].summary


async def test_check_without_images_says_so(service):
    replies = await service.handle(Request(Kind.CHECK, "discord"))
    assert replies[0].title == "No photo found"


async def test_adapter_download_errors_are_shown(service):
    req = Request(Kind.CHECK, "discord", intake_errors=[("big.jpg", "too_large", "Too big.")])
    replies = await service.handle(req)
    assert replies[0].tone == "error" and replies[0].summary == "Too big."


async def test_results_are_cached_by_content(service):
    data = png_bytes((80, 80))
    first = await service.check(ImageInput("one.png", data))
    second = await service.check(ImageInput("two.png", data))
    assert second.sha256 == first.sha256
    assert second.filename == "two.png"
    assert len(service._cache) == 1


async def test_rate_limit_is_per_user(service):
    service.limiter = RateLimiter(per_minute=2)
    img = [ImageInput("a.png", png_bytes())]
    for _ in range(2):
        await service.handle(Request(Kind.CHECK, "discord", user_id="u1", images=img))
    limited = await service.handle(Request(Kind.CHECK, "discord", user_id="u1", images=img))
    assert limited[0].title == "Slow down a little"
    other = await service.handle(Request(Kind.CHECK, "discord", user_id="u2", images=img))
    assert other[0].tone == "no_evidence"


async def test_help_and_disclose_route(service):
    (help_reply,) = await service.handle(Request(Kind.HELP, "discord"))
    assert "how to use" in help_reply.title.lower()
    (d,) = await service.handle(Request(Kind.DISCLOSE, "discord", context="linkedin"))
    assert "linkedin" in d.title.lower()


async def test_internal_errors_become_an_apology_with_an_id(service, caplog):
    async def boom(req):
        raise RuntimeError("secret detail")

    service._route = boom
    (reply,) = await service.handle(Request(Kind.ASK, "discord", text="hi"))
    assert reply.tone == "error"
    assert "secret detail" not in reply.summary
    assert "error id" in reply.summary


async def test_process_pool_keeps_the_loop_free():
    pool = AnalysisPool(workers=2, timeout_s=30)
    svc = HeadshotService(pool=pool)
    try:
        await pool.warm_up()
        big = jpeg_bytes((3000, 2000), quality=95)
        lags: list[float] = []

        async def ticker() -> None:
            loop = asyncio.get_running_loop()
            while True:
                t = loop.time()
                await asyncio.sleep(0.01)
                lags.append(loop.time() - t - 0.01)

        tick = asyncio.create_task(ticker())
        imgs = [ImageInput(f"{i}.jpg", big + bytes([i])) for i in range(6)]
        reports = await asyncio.gather(*(svc.check(i) for i in imgs))
        tick.cancel()
        assert all(r.ok for r in reports)
        budget = loop_lag_budget_s()
        assert max(lags) < budget, f"event loop stalled for {max(lags) * 1000:.0f} ms"
    finally:
        svc.close()


def test_reply_cache_pages_and_expiry():
    now = [0.0]
    cache = ReplyCache(ttl_s=10, clock=lambda: now[0])
    reply = Reply(
        title="T",
        pages={"details": [Section("All", ["x"])]},
        actions=[Action("details", "Details")],
    )
    token = cache.put(reply)
    assert parse_button_id(button_id(token, "details")) == (token, "details")
    assert cache.page(token, "details").sections[0].lines == ["x"]
    now[0] = 11
    assert cache.page(token, "details").title == "This result has expired"
    assert parse_button_id("other:thing") is None


def test_rate_limiter_window():
    now = [0.0]
    rl = RateLimiter(3, clock=lambda: now[0])
    assert [rl.take("k", 1) for _ in range(3)] == [(1, 0), (1, 0), (1, 0)]
    granted, wait = rl.take("k", 1)
    assert granted == 0 and wait == pytest.approx(60)
    now[0] = 61
    assert rl.take("k", 1) == (1, 0)


def test_rate_limiter_grants_what_fits_and_says_when_the_next_fits():
    now = [0.0]
    rl = RateLimiter(4, clock=lambda: now[0])
    for t in (0, 10, 20):
        now[0] = t
        assert rl.take("k", 1) == (1, 0)
    now[0] = 30
    assert rl.take("k", 3) == (1, pytest.approx(30))  # one slot left; the hit at 0 goes at 60
    now[0] = 60
    assert rl.take("k", 3) == (1, pytest.approx(10))


def test_questions_cost_less_than_photos():
    rl = RateLimiter(2, clock=lambda: 0.0)
    assert rl.take("k", 1) == (1, 0)
    assert rl.take("k", 5, cost=0.5)[0] == 2  # the second photo's share, as two questions
    assert rl.take("k", 1, cost=0.5)[0] == 0


async def test_more_photos_than_the_limit_checks_the_first_ones_and_says_so(service):
    service.limiter = RateLimiter(per_minute=2)
    images = [ImageInput(f"p{i}.png", png_bytes((60 + i, 60))) for i in range(3)]
    replies = await service.handle(Request(Kind.CHECK, "discord", user_id="u", images=images))
    assert [r.tone for r in replies[:2]] == ["no_evidence", "no_evidence"]
    assert replies[2].title == "Some photos have to wait" and "p2.png" in replies[2].summary
    # Then the usual friendly wait, in words people use.
    (limited,) = await service.handle(
        Request(Kind.CHECK, "discord", user_id="u", images=images[:1])
    )
    assert limited.title == "Slow down a little"
    assert re.search(r"in (1 second|\d+ seconds)\.", limited.summary), limited.summary
    assert "in 0 seconds" not in limited.summary


async def test_the_console_is_not_rate_limited(service):
    service.limiter = RateLimiter(per_minute=2)
    images = [ImageInput(f"c{i}.png", png_bytes((50 + i, 50))) for i in range(3)]
    replies = await service.handle(Request(Kind.CHECK, "console", images=images))
    assert [r.tone for r in replies] == ["no_evidence"] * 3
    again = await service.handle(Request(Kind.CHECK, "console", images=images[:1]))
    assert again[0].tone == "no_evidence"


async def test_start_builds_the_question_index_off_the_loop():
    from bot.guidance import Guide

    svc = HeadshotService(pool=AnalysisPool(inline=True), guide=Guide())
    try:
        assert "answerer" not in svc.guide.__dict__
        await svc.start()
        assert "answerer" in svc.guide.__dict__  # built in a thread, before any question
    finally:
        svc.close()


async def test_questions_count_toward_the_per_user_limit(service):
    service.limiter = RateLimiter(per_minute=1)  # a question costs half a photo by default
    ask = Request(Kind.ASK, "discord", user_id="q", text="Is an AI headshot okay on LinkedIn?")
    for _ in range(2):
        (answer,) = await service.handle(ask)
        assert answer.title != "Slow down a little"
    (limited,) = await service.handle(ask)
    assert limited.title == "Slow down a little" and "Ask again in" in limited.summary
    img = [ImageInput("a.png", png_bytes())]
    (photo,) = await service.handle(Request(Kind.CHECK, "discord", user_id="q", images=img))
    assert photo.title == "Slow down a little"
    (console,) = await service.handle(Request(Kind.ASK, "console", text="What is C2PA?"))
    assert console.title != "Slow down a little"


async def test_admit_reserves_before_any_download(service):
    service.limiter = RateLimiter(per_minute=3)
    first = service.admit("slack", "u", 10)
    assert (first.granted, first.wanted) == (3, 10) and first.wait_s == pytest.approx(60)
    assert service.admit("slack", "u", 1).granted == 0
    assert service.admit("console", "u", 10).granted == 10
    # A request built from admitted photos is not charged again, and names the ones left out.
    req = Request(Kind.CHECK, "slack", user_id="u", images=[ImageInput("a.png", png_bytes())])
    req.admission, req.left_out = first, ["x.png", "y.png"]
    replies = await service.handle(req)
    assert replies[0].tone == "no_evidence"
    assert replies[-1].title == "Some photos have to wait"
    assert "x.png, y.png" in replies[-1].summary and "Send them again in" in replies[-1].summary


def test_a_request_names_its_platform_with_the_one_platform_type():
    from bot.core.request import Platform

    req = Request(Kind.ASK, "slack", text="hi")
    assert req.platform is Platform.SLACK and not req.platform.is_local
    assert Request(Kind.HELP, Platform.CLI).platform.is_local
    with pytest.raises(ValueError):
        Request(Kind.ASK, "irc")

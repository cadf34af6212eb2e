"""Load faults, end to end: one person's flood of photos is refused before it is downloaded,
and a burst of Slack replies is delivered despite 429s, 5xx answers and dropped connections.
The real discord.py client and slack-bolt app against the local fakes (tests/fakes/)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

from bot.adapters.discord import HeadshotBot, configure_endpoints
from bot.core.pool import AnalysisPool
from bot.core.service import HeadshotService
from bot.settings import DiscordSettings, SlackSettings, get_settings
from tests.conftest import png_bytes
from tests.fakes.discord_fake import FakeDiscord
from tests.fakes.slack_fake import DROP, FakeSlack
from tests.test_slack_e2e import DM, Harness, blocks_of, dm_event, header_of, make_settings

FLOOD_DMS, PHOTOS_EACH, PER_MINUTE = 8, 10, 6
JOBS = 2  # Discord interactions and DMs worked on at once, in these tests


def photos(prefix: str, n: int) -> list[tuple[str, bytes]]:
    return [(f"{prefix}{i}.png", png_bytes((40 + i, 40), color=(i, 7, 7))) for i in range(n)]


# -- Discord ----------------------------------------------------------------------------------
@pytest_asyncio.fixture
async def discord_bot(tmp_path) -> AsyncIterator[tuple[FakeDiscord, HeadshotBot]]:
    fake = await FakeDiscord(heartbeat_interval_ms=1000).start_in_thread()
    base = fake.bot_settings(get_settings(), tmp_path, max_jobs=JOBS)
    limit = base.rate_limit.model_copy(update={"per_user_per_minute": PER_MINUTE})
    settings = base.model_copy(update={"rate_limit": limit})
    service = HeadshotService(settings, pool=AnalysisPool(inline=True))
    async with aiohttp.ClientSession() as session:
        bot = HeadshotBot(service=service, session=session, settings=settings)
        task = asyncio.create_task(bot.start("fake-discord-token-for-tests"))
        await asyncio.wait_for(bot.wait_until_ready(), 30)
        yield fake, bot
        await bot.close()
        await asyncio.wait_for(task, 10)
    service.close()
    await fake.stop()
    configure_endpoints(DiscordSettings())  # discord.py keeps these process-wide


def attachment_gets(fake: FakeDiscord) -> int:
    return sum(1 for method, path in fake.requests if path.startswith("/cdn/attachments/"))


async def test_discord_dm_flood_is_refused_before_downloading(discord_bot) -> None:
    fake, _bot = discord_bot
    mallory = fake.user("mallory")
    channel = str(int(mallory["id"]) + 7)  # the fake's DM channel for her
    for n in range(FLOOD_DMS):
        atts = [fake.attachment(name, data, "image/png") for name, data in photos(f"d{n}-", 10)]
        await fake.dm(mallory, "", atts)

    def titles() -> list[str]:
        return [e.get("title", "") for s in fake.channel_sent(channel) for e in s.embeds]

    def slow_downs() -> int:
        return sum("Slow down" in t for t in titles())

    await fake.wait_until(lambda: slow_downs() >= FLOOD_DMS - 1, 60, "a refusal for each DM")
    await fake.wait_until(lambda: sum(".png" in t for t in titles()) >= PER_MINUTE, 60, "results")
    await asyncio.sleep(0.3)  # anything still on its way would show now
    assert attachment_gets(fake) == PER_MINUTE  # six photos fetched, not eighty
    assert sum(".png" in t for t in titles()) == PER_MINUTE
    assert "Some photos have to wait" in titles()
    refusal = next(s for s in fake.channel_sent(channel) if "Slow down" in s.text())
    assert "Try again in" in refusal.text()


async def test_discord_works_on_a_bounded_number_of_requests_at_once(discord_bot) -> None:
    fake, _bot = discord_bot
    fake.cdn_delay_s = 2.0  # each download takes 2 s: the requests in flight pile up
    try:
        for n in range(JOBS + 3):
            person = fake.user(f"busy{n}")
            await fake.dm(person, "", [fake.attachment(f"b{n}.png", png_bytes(), "image/png")])
        await fake.wait_until(lambda: attachment_gets(fake) >= JOBS, 20, "the first downloads")
        await asyncio.sleep(1.0)
        assert attachment_gets(fake) == JOBS  # the others wait their turn, not downloading
        await fake.wait_until(lambda: attachment_gets(fake) == JOBS + 3, 30, "all downloads")
    finally:
        fake.cdn_delay_s = 0.0


# -- Slack ------------------------------------------------------------------------------------
@pytest.fixture
async def slack_fake() -> AsyncIterator[FakeSlack]:
    f = await FakeSlack().start()
    yield f
    await f.stop()


@pytest.fixture
async def slack(slack_fake: FakeSlack) -> AsyncIterator[Harness]:
    h = Harness(slack_fake, make_settings(slack_fake))
    await h.start()
    yield h
    await h.close()


async def test_slack_dm_flood_is_refused_before_downloading(slack: Harness) -> None:
    assert slack.settings.rate_limit.per_user_per_minute == PER_MINUTE
    for n in range(FLOOD_DMS):
        files = [
            slack.fake.add_file(name, data, "image/png") for name, data in photos(f"s{n}-", 10)
        ]
        await slack.event(dm_event(files=files))
    await slack.settle()
    posts = slack.fake.calls_to("chat.postMessage")
    headers = [header_of(blocks_of(p.params)) for p in posts]
    assert len(slack.fake.downloads) == PER_MINUTE  # six photos fetched, not forty
    assert not slack.fake.calls_to("files.info")
    assert sum(h.endswith(".png") for h in headers) == PER_MINUTE
    refusals = [h for h in headers if "Slow down" in h]
    assert len(refusals) >= FLOOD_DMS - 2  # the first DM (and maybe a second) got photos in
    assert all(p.params["channel"] == DM for p in posts)


@pytest.fixture
async def slack_retrying(slack_fake: FakeSlack) -> AsyncIterator[Harness]:
    """Retries as configured by default, with short backoffs for the test."""
    settings = make_settings(slack_fake)
    quick = settings.slack.model_copy(
        update={"ratelimit_retries": SlackSettings().ratelimit_retries, "retry_backoff_s": 0.05}
    )
    h = Harness(slack_fake, settings.model_copy(update={"slack": quick}))
    await h.start()
    yield h
    await h.close()


async def test_a_burst_of_100_dms_gets_100_replies(slack_retrying: Harness) -> None:
    fake = slack_retrying.fake
    fake.post_limit = (20, 1.0)  # Slack lets a channel take a short burst, then answers 429
    fake.fail("chat.postMessage", "internal_error", status=500)
    fake.fail("chat.postMessage", "service_unavailable", status=503)
    fake.fail("chat.postMessage", DROP)  # three failures in a row on the first reply
    for n in range(100):
        assert await slack_retrying.event(dm_event(f"Question {n}: is an AI headshot okay?")) == 200
    await fake.wait_until(lambda: len(fake.messages) >= 100, timeout=90)
    await slack_retrying.settle()
    assert len(fake.messages) == 100  # one reply each, none lost and none doubled
    assert len(fake.calls_to("chat.postMessage")) > 103  # the fake refused some: they were retried


async def test_replies_survive_5xx_and_dropped_connections(slack_retrying: Harness) -> None:
    fake = slack_retrying.fake
    fake.fail("chat.postMessage", "bad_gateway", status=502)
    fake.fail("chat.postMessage", DROP)
    fake.fail("chat.postMessage", "ratelimited", retry_after=0, times=2)
    await slack_retrying.event(dm_event("What is C2PA?"))
    await fake.wait_until(lambda: len(fake.messages) >= 1, timeout=30)
    assert len(fake.calls_to("chat.postMessage")) == 5

"""End-to-end: channel watch on Discord, through the real discord.py client against the fake
Discord. Off by default; a moderator turns it on for a channel; images with AI or privacy
signals get a 🔎 reaction (nothing else public); only the poster's press gets an answer, by
DM. Without the Message Content intent Discord sends a message's images only when it mentions
the bot, and the fake does the same."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import pytest_asyncio

from bot.adapters.discord import HeadshotBot, configure_endpoints
from bot.core.channel_watch import MAGNIFIER
from bot.core.pool import AnalysisPool
from bot.core.service import HeadshotService
from bot.settings import DiscordSettings, get_settings
from tests.fakes.discord_fake import MODERATOR_PERMISSIONS, FakeDiscord, Sent
from tests.metadata_fixtures import phone_exif
from tests.test_discord_audit import Harness, camera_jpeg, encode, grid, plain_png, xmp_ai_png

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def fake():
    f = await FakeDiscord(heartbeat_interval_ms=1000).start_in_thread()
    f.art = f.add_text_channel("art")
    yield f
    await f.stop()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def harness(fake: FakeDiscord, tmp_path_factory):
    settings = fake.bot_settings(
        get_settings(), tmp_path_factory.mktemp("data"), message_content_intent=True
    )
    service = HeadshotService(settings, pool=AnalysisPool(1, timeout_s=60))
    h = Harness(fake, settings, service)
    await h.start()
    yield h
    await h.stop()
    service.close()
    configure_endpoints(DiscordSettings())


def attach(fake: FakeDiscord, name: str, data: bytes, ctype: str) -> dict[str, Any]:
    return fake.attachment(name, data, ctype)


def ai_image(fake: FakeDiscord, seed: int) -> dict[str, Any]:
    return attach(fake, f"ai-{seed}.png", xmp_ai_png(seed), "image/png")


def plain_image(fake: FakeDiscord, seed: int) -> dict[str, Any]:
    return attach(fake, f"plain-{seed}.png", plain_png(seed), "image/png")


async def settled(fake: FakeDiscord, bot: HeadshotBot) -> None:
    """Every posted image looked at, every press answered."""
    cog = bot.get_cog("ChannelWatch")
    await asyncio.sleep(0.3)  # the gateway event reaches the bot
    await fake.wait_until(lambda: not cog._tasks, 60, "channel watch to finish")


def marked(fake: FakeDiscord, message: dict[str, Any]) -> bool:
    return (message["channel_id"], message["id"], MAGNIFIER) in fake.reactions


async def watch_setting(fake: FakeDiscord, channel: dict, on: bool | None = None) -> Sent:
    options = [{"name": "watch-channel", "type": 7, "value": channel["id"]}]
    if on is not None:
        options.append({"name": "channel-watch", "type": 5, "value": on})
    resolved = {"channels": {channel["id"]: channel | {"permissions": str(MODERATOR_PERMISSIONS)}}}
    inter = await fake.slash(
        "headshot-settings", fake.user("mod"), options, resolved, permissions=MODERATOR_PERMISSIONS
    )
    (sent,) = await fake.wait_replies(inter)
    return sent


async def test_off_by_default_then_on_for_one_channel(fake: FakeDiscord, harness: Harness):
    poster = fake.user("painter")
    before = await fake.post(poster, [ai_image(fake, 1)], channel_id=fake.art["id"])
    sent = await watch_setting(fake, fake.art)
    assert f"Channel watch: <#{fake.art['id']}>" in sent.text()
    assert "only the poster" in sent.text()
    elsewhere = await fake.post(poster, [ai_image(fake, 2)])  # #general is not watched
    after = await fake.post(poster, [ai_image(fake, 3)], channel_id=fake.art["id"])
    await settled(fake, harness.bot)
    assert marked(fake, after)
    assert not marked(fake, before) and not marked(fake, elsewhere)
    assert fake.sent == [s for s in fake.sent if s.route != "channel"]  # no message anywhere


async def test_only_images_with_signals_get_the_magnifier(fake: FakeDiscord, harness: Harness):
    poster = fake.user("photographer")
    plain = await fake.post(poster, [plain_image(fake, 10)], channel_id=fake.art["id"])
    camera = attach(fake, "phone.jpg", camera_jpeg(11), "image/jpeg")
    no_gps = await fake.post(poster, [camera], channel_id=fake.art["id"])
    gps = encode(grid(12), "JPEG", quality=90, exif=phone_exif())
    located = await fake.post(
        poster, [attach(fake, "home.jpg", gps, "image/jpeg")], channel_id=fake.art["id"]
    )
    text_only = await fake.post(poster, content="just words", channel_id=fake.art["id"])
    await settled(fake, harness.bot)
    assert marked(fake, located)  # a privacy signal (where it was taken) is worth a look
    assert not marked(fake, plain) and not marked(fake, no_gps) and not marked(fake, text_only)


async def test_only_the_posters_press_is_answered_and_only_by_dm(
    fake: FakeDiscord, harness: Harness
):
    poster, other = fake.user("poster"), fake.user("nosy")
    message = await fake.post(poster, [ai_image(fake, 20)], channel_id=fake.art["id"])
    await settled(fake, harness.bot)
    assert marked(fake, message)
    await fake.react(other, message, MAGNIFIER)
    await fake.react(poster, message, "👍")  # another emoji is not a question
    await settled(fake, harness.bot)
    assert fake.dms_to(other["id"]) == [] and fake.dms_to(poster["id"]) == []
    await fake.react(poster, message, MAGNIFIER)
    await fake.wait_until(lambda: fake.dms_to(poster["id"]), 30, "the DM")
    await settled(fake, harness.bot)
    dms = fake.dms_to(poster["id"])
    text = "\n".join(s.text() for s in dms)
    assert "About the image in" in text and message["id"] in text  # a link to the message
    assert "Only you see this answer" in text and "not a verdict" in text
    assert "AI" in text
    assert [s for s in fake.sent if s.route == "channel" and s.key == fake.art["id"]] == []
    await fake.react(poster, message, MAGNIFIER)  # pressed again: not answered twice
    await settled(fake, harness.bot)
    assert len(fake.dms_to(poster["id"])) == len(dms)


async def test_turning_a_channel_off(fake: FakeDiscord, harness: Harness):
    options = [{"name": "channel-watch", "type": 5, "value": False}]
    inter = await fake.slash(
        "headshot-settings", fake.user("mod"), options, permissions=MODERATOR_PERMISSIONS
    )
    (which,) = await fake.wait_replies(inter)
    assert "Name the channel too" in which.text()
    sent = await watch_setting(fake, fake.art, on=False)
    assert "Channel watch: off in every channel" in sent.text()
    message = await fake.post(fake.user("late"), [ai_image(fake, 30)], channel_id=fake.art["id"])
    await settled(fake, harness.bot)
    assert not marked(fake, message)
    await watch_setting(fake, fake.art, on=True)


async def test_without_message_content_only_mentions_are_seen(fake: FakeDiscord, harness: Harness):
    await harness.stop()
    await harness.start(message_content_intent=False)
    sent = await watch_setting(fake, fake.art)
    assert "Message Content intent" in sent.text()
    poster = fake.user("mentioner")
    unseen = await fake.post(poster, [ai_image(fake, 40)], channel_id=fake.art["id"])
    seen = await fake.post(
        poster, [ai_image(fake, 41)], channel_id=fake.art["id"], mention_bot=True
    )
    await settled(fake, harness.bot)
    assert marked(fake, seen) and not marked(fake, unseen)

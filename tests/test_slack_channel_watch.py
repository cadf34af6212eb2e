"""Channel watch on Slack, end to end: the real Bolt app against the fake Slack. Off by default;
a moderator turns it on for a channel with /headshot-settings; mentioning the app on a photo
(in the same message, or in the photo's thread) gets an ephemeral answer only the person who
asked sees, and nothing is posted for anyone else."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.adapters.slack_listeners.moderation import WATCH_CHANNEL, parse_settings
from bot.audit.audit_service import AuditService
from bot.core.pool import AnalysisPool
from bot.store.sqlite import SQLiteStore
from tests.fakes.slack_fake import BOT_USER_ID, FakeSlack
from tests.metadata_fixtures import phone_exif, save, scene
from tests.test_slack_audit import ADMIN, PLAIN, audit_settings, pictures
from tests.test_slack_e2e import Harness, header_of, texts
from tests.test_slack_e2e import blocks_of as message_blocks

PHOTOS = "C0PHOTOS01"
OTHER = "C0OTHER001"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    f = await FakeSlack().start()
    yield f
    await f.stop()


@pytest.fixture
async def slack(fake: FakeSlack, tmp_path) -> AsyncIterator[Harness]:
    settings = audit_settings(fake)
    h = Harness(fake, settings)
    store = await SQLiteStore.open(tmp_path / "watch.sqlite3")
    h.bridge.audits = AuditService(store, AnalysisPool(inline=True), settings)
    await h.start()
    yield h
    await h.close()
    await store.close()


def mention(user: str, channel: str, files: list | None = None, thread: str | None = None):
    event: dict[str, Any] = {
        "type": "app_mention",
        "user": user,
        "channel": channel,
        "text": f"<@{BOT_USER_ID}> is this AI?",
        "ts": "1700000000.000100",
        "event_ts": "1700000000.000100",
    }
    if files:
        event["files"] = files
    if thread:
        event["thread_ts"] = thread
    return event


def ephemerals(fake: FakeSlack) -> list[dict[str, Any]]:
    return [c.params for c in fake.calls_to("chat.postEphemeral")]


def blocks_of(params: dict[str, Any]) -> list[dict[str, Any]]:
    """Its blocks, with those in a verdict's colour-bar attachment (JSON text in form posts)."""
    parts = {k: v for k, v in params.items() if k in ("blocks", "attachments")}
    return message_blocks({k: json.loads(v) if isinstance(v, str) else v for k, v in parts.items()})


def answer_text(fake: FakeSlack) -> str:
    return "\n".join(texts(blocks_of(p)) for p in ephemerals(fake))


async def turn_on(h: Harness, channel: str = PHOTOS, on: str = "on") -> str:
    h.fake.add_user(ADMIN, "Ada Admin", is_admin=True)
    status, _ = await h.command(
        "/headshot-settings", f"channelwatch <#{channel}|photos> {on}", user_id=ADMIN
    )
    assert status == 200
    await h.settle()
    return json.dumps(h.fake.responses[-1])


def test_parse_channel_watch():
    assert parse_settings("channelwatch <#C0PHOTOS01|photos> on") == {
        WATCH_CHANNEL: ("C0PHOTOS01", True)
    }
    assert parse_settings("channelwatch here off", "C0HERE0001") == {
        WATCH_CHANNEL: ("C0HERE0001", False)
    }
    assert isinstance(parse_settings("channelwatch"), str)
    assert isinstance(parse_settings("channelwatch #photos maybe"), str)


async def test_off_by_default_then_an_ephemeral_answer_to_whoever_asked(
    fake: FakeSlack, slack: Harness
):
    photo = fake.add_file("ai.png", pictures()["xmp-ai0"], "image/png")
    await slack.event(mention(PLAIN, PHOTOS, [photo]))
    await slack.settle()
    (off,) = ephemerals(fake)
    assert off["user"] == PLAIN and "Channel watch is off" in texts(blocks_of(off))
    assert not fake.downloads  # nothing looked at in a channel nobody opted in

    saved = await turn_on(slack)
    assert "Channel watch" in saved and PHOTOS in saved
    await slack.event(mention(PLAIN, PHOTOS, [photo]))
    await slack.settle()
    answers = ephemerals(fake)[1:]
    assert answers and all(p["user"] == PLAIN and p["channel"] == PHOTOS for p in answers)
    assert header_of(blocks_of(answers[0])) == "About the image in this channel"
    text = answer_text(fake)
    assert "Only you see this answer" in text and "AI" in text
    assert not fake.calls_to("chat.postMessage")  # nothing anyone else can see
    assert not fake.calls_to("reactions.add")


async def test_a_mention_in_the_photos_thread(fake: FakeSlack, slack: Harness):
    await turn_on(slack)
    photo = fake.add_file("ai.png", pictures()["xmp-ai1"], "image/png")
    posted = fake.post_message(PHOTOS, PLAIN, "my new headshot", [photo])
    await slack.event(mention(PLAIN, PHOTOS, thread=posted["ts"]))
    await slack.settle()
    (replies,) = fake.calls_to("conversations.replies")
    assert replies.params["ts"] == posted["ts"]
    answers = ephemerals(fake)
    assert answers[0]["thread_ts"] == posted["ts"]
    assert "About the image" in answer_text(fake)


async def test_someone_elses_photo_keeps_its_private_details(fake: FakeSlack, slack: Harness):
    await turn_on(slack)
    located = save(scene((64, 64), 5), "JPEG", exif=phone_exif())
    photo = fake.add_file("home.jpg", located, "image/jpeg")  # uploaded by U0ALICE001
    await slack.event(mention("U0BOBBY001", PHOTOS, [photo]))
    await slack.settle()
    text = answer_text(fake)
    assert "About the image" in text
    assert "51.5" not in text  # the GPS position is for the photo's owner only
    await slack.event(mention(PLAIN, PHOTOS, [photo]))  # the owner asks
    await slack.settle()
    assert "51.5" in answer_text(fake)


async def test_no_photo_and_other_channels(fake: FakeSlack, slack: Harness):
    await turn_on(slack)
    await slack.event(mention(PLAIN, PHOTOS))
    await slack.event(mention(PLAIN, OTHER))
    await slack.settle()
    text = answer_text(fake)
    assert "Mention me in the message with the photo" in text
    assert "Channel watch is off" in text
    await turn_on(slack, on="off")
    assert "off in every channel" in json.dumps(fake.responses[-1])

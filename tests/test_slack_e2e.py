"""End-to-end tests of the Slack adapter: the real slack-bolt AsyncApp in HTTP mode (its
aiohttp web app on 127.0.0.1), requests signed exactly as Slack signs them, and a local fake
of Slack's Web API, file hosts, response URLs and Socket Mode (tests/fakes/slack_fake.py)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image

from bot.adapters.slack import bridge_of, build_app, check_auth, make_client, web_app
from bot.core.pool import AnalysisPool
from bot.core.reply import Attachment, Reply
from bot.core.service import HeadshotService
from bot.core.sessions import button_id
from bot.settings import Settings, SlackSettings, get_settings
from tests.conftest import jpeg_bytes, png_bytes
from tests.fakes.slack_fake import (
    APP_TOKEN,
    BOT_TOKEN,
    BOT_USER_ID,
    TEAM_ID,
    FakeSlack,
    signed_headers,
)

ROOT = Path(__file__).resolve().parent.parent
SECRET = "test-signing-secret-not-a-real-one"
USER = "U0ALICE001"
DM = "D0ALICE001"


class Harness:
    def __init__(self, fake: FakeSlack, settings: Settings) -> None:
        self.fake = fake
        self.settings = settings
        self.service = HeadshotService(settings, pool=AnalysisPool(inline=True))
        self.app = build_app(settings, self.service)
        self.bridge = bridge_of(self.app)
        self.http: TestClient | None = None
        self._n = 0

    async def start(self) -> None:
        self.http = TestClient(TestServer(web_app(self.app, self.settings), host="127.0.0.1"))
        await self.http.start_server()

    async def close(self) -> None:
        await self.bridge.close()
        if self.http is not None:
            await self.http.close()
        self.service.close()

    # -- requests signed like Slack signs them ---------------------------------------------
    async def post(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: int | str | None = None,
        secret: str = SECRET,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        all_headers = {**signed_headers(secret, body, content_type, timestamp), **(headers or {})}
        assert self.http is not None
        resp = await self.http.post("/slack/events", data=body, headers=all_headers)
        return resp.status, await resp.text()

    async def event(self, event: dict[str, Any], event_id: str | None = None, **kw) -> int:
        self._n += 1
        body = {
            "token": "legacy",
            "team_id": TEAM_ID,
            "api_app_id": "A0FAKEAPP1",
            "type": "event_callback",
            "event_id": event_id or f"Ev0TEST{self._n:04d}",
            "event_time": int(time.time()),
            "event": event,
        }
        status, _ = await self.post(json.dumps(body).encode(), "application/json", **kw)
        return status

    async def command(self, command: str, text: str = "", **extra: str) -> tuple[int, str]:
        form = {
            "token": "legacy",
            "team_id": TEAM_ID,
            "channel_id": "C0GENERAL1",
            "user_id": USER,
            "command": command,
            "text": text,
            "response_url": self.fake.response_url(),
            "trigger_id": "13345224609.738474920.8088930838d88f008e0",
            "api_app_id": "A0FAKEAPP1",
            **extra,
        }
        return await self.post(urlencode(form).encode(), "application/x-www-form-urlencoded")

    async def interactive(self, payload: dict[str, Any]) -> tuple[int, str]:
        payload = {
            "team": {"id": TEAM_ID},
            "user": {"id": USER},
            "api_app_id": "A0FAKEAPP1",
            **payload,
        }
        form = urlencode({"payload": json.dumps(payload)}).encode()
        return await self.post(form, "application/x-www-form-urlencoded")

    async def settle(self) -> None:
        """Let acknowledged work finish."""
        for _ in range(3):
            await asyncio.sleep(0.05)
            await self.bridge.jobs.drain()


def dm_event(text: str = "", files: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "message",
        "channel": DM,
        "channel_type": "im",
        "user": USER,
        "text": text,
        "ts": f"{time.time():.6f}",
        "event_ts": f"{time.time():.6f}",
    }
    if files:
        event.update(subtype="file_share", files=files)
    return event


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    f = await FakeSlack().start()
    yield f
    await f.stop()


def make_settings(fake: FakeSlack) -> Settings:
    return Settings(
        _env_file=None,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_APP_TOKEN=APP_TOKEN,
        slack=SlackSettings(
            api_base_url=fake.api_url,
            file_hosts=[fake.host],
            dedupe_ttl_s=60,
            ratelimit_retries=1,
            colours=get_settings().slack.colours,  # config/default.toml's verdict colours
        ),
    )


@pytest.fixture
async def slack(fake: FakeSlack, caplog: pytest.LogCaptureFixture) -> AsyncIterator[Harness]:
    h = Harness(fake, make_settings(fake))
    await h.start()
    yield h
    await h.close()
    # A listener or job that crashed would only show in the log: fail the test on it.
    records = caplog.get_records("call") + caplog.get_records("teardown")
    errors = [r for r in records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


# -- helpers to read what the app sent ----------------------------------------------------
def texts(blocks: list[dict[str, Any]]) -> str:
    """All text in blocks, joined (what a person would read)."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                out.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return "\n".join(out).replace("\u200b", "")  # the escaping's zero-width spaces


def blocks_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    """A message's blocks, with those in its attachments (a verdict's colour bar holds them)."""
    extra = [b for a in message.get("attachments") or [] for b in a.get("blocks") or []]
    return [*(message.get("blocks") or []), *extra]


def header_of(blocks: list[dict[str, Any]]) -> str:
    return next(b["text"]["text"] for b in blocks if b["type"] == "header")


def buttons(blocks: list[dict[str, Any]]) -> dict[str, str]:
    """Button label → action_id."""
    return {
        e["text"]["text"]: e["action_id"]
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
    }


def gps_camera_jpeg() -> bytes:
    """A camera-style JPEG with make/model, capture time and GPS position in its EXIF."""
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "Canon EOS R6"
    exif[0x0131] = "Firmware 1.8.1"
    exif.get_ifd(0x8769)[0x9003] = "2026:05:04 10:11:12"
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (52.0, 31.0, 12.5)
    gps[3] = "E"
    gps[4] = (13.0, 24.0, 36.0)
    buf = io.BytesIO()
    Image.new("RGB", (320, 400), (150, 120, 100)).save(buf, "JPEG", exif=exif, quality=90)
    return buf.getvalue()


# -- DMs ------------------------------------------------------------------------------------
async def test_dm_photo_is_checked_and_answered_in_thread(slack: Harness) -> None:
    f = slack.fake.add_file("portrait.png", png_bytes((256, 256)), "image/png")
    event = dm_event(files=[f])
    assert await slack.event(event) == 200
    [post] = await slack.fake.wait_for("chat.postMessage")
    assert post.token == BOT_TOKEN
    assert post.params["channel"] == DM
    assert post.params["thread_ts"] == event["ts"]  # the reply goes in the photo's thread
    assert "portrait.png" in header_of(blocks_of(post.params))
    assert "Details" in buttons(blocks_of(post.params))
    assert post.params["text"]  # fallback text for notifications
    # The file was fetched from the fake's file host with the bot token.
    assert slack.fake.downloads == [
        (f"/files-pri/{TEAM_ID}-{f['id']}/portrait.png", f"Bearer {BOT_TOKEN}")
    ]


async def test_details_button_answers_in_the_thread(slack: Harness) -> None:
    f = slack.fake.add_file("me.png", png_bytes((200, 200)), "image/png")
    await slack.event(dm_event(files=[f]))
    [post] = await slack.fake.wait_for("chat.postMessage")
    await press(slack, buttons(blocks_of(post.params))["Details"], ephemeral=False)
    posts = await slack.fake.wait_for("chat.postMessage", 2)
    details = posts[1].params
    assert details["thread_ts"] == "111.222"
    assert header_of(blocks_of(details)).startswith("Details")
    assert "All findings" in texts(blocks_of(details))


async def test_dm_text_is_answered(slack: Harness) -> None:
    assert await slack.event(dm_event("Is an AI headshot okay on LinkedIn?")) == 200
    [post] = await slack.fake.wait_for("chat.postMessage")
    assert post.params["channel"] == DM
    assert "thread_ts" not in post.params or post.params["thread_ts"] is None
    assert texts(blocks_of(post.params)).strip()


async def test_the_apps_own_posts_are_ignored(slack: Harness) -> None:
    f = slack.fake.add_file("a-clean.jpg", png_bytes(), "image/png")
    own = {**dm_event(files=[f]), "user": BOT_USER_ID}  # e.g. the copy it uploaded itself
    bot = {**dm_event("a result"), "user": "U0OTHERBOT", "bot_id": "B0OTHER001"}
    assert await slack.event(own) == 200 and await slack.event(bot) == 200
    await slack.settle()
    assert slack.fake.calls_to("chat.postMessage") == [] and slack.fake.downloads == []


async def test_too_many_files_in_one_message(slack: Harness) -> None:
    slack.settings.slack.max_files = 2
    files = [
        slack.fake.add_file(f"m{i}.png", png_bytes(color=(i, 1, 1)), "image/png") for i in range(3)
    ]
    await slack.event(dm_event(files=files))
    posts = await slack.fake.wait_for("chat.postMessage", 3)
    assert "up to 2 photos" in texts(blocks_of(posts[2].params))
    assert len(slack.fake.downloads) == 2


async def test_c2pa_signed_ai_photo_by_dm(slack: Harness) -> None:
    fixtures = pytest.importorskip("tests.c2pa_fixtures")
    data = fixtures.signed_ai_jpeg()
    if isinstance(data, (str, Path)):
        data = Path(data).read_bytes()
    f = slack.fake.add_file("ai-headshot.jpg", data, "image/jpeg")
    await slack.event(dm_event(files=[f]))
    [post] = await slack.fake.wait_for("chat.postMessage")
    blocks = blocks_of(post.params)
    assert "AI-generated" in header_of(blocks)
    assert "Disclosure text" in buttons(blocks)
    # The verdict's colour bar (issue 15): the header on top, the rest in a coloured attachment.
    (bar,) = post.params["attachments"]
    assert bar["color"] == slack.settings.slack.colours["ai_generated"]
    assert [b["type"] for b in post.params["blocks"]] == ["header"]


async def test_non_image_files_get_a_clear_answer(slack: Harness) -> None:
    txt = slack.fake.add_file("notes.txt", b"just some notes", "text/plain")
    junk = slack.fake.add_file("broken.jpg", b"this is not a jpeg at all", "image/jpeg")
    await slack.event(dm_event(files=[txt, junk]))
    posts = await slack.fake.wait_for("chat.postMessage", 2)
    by_header = {header_of(blocks_of(p.params)): texts(blocks_of(p.params)) for p in posts}
    txt_reply = next(v for k, v in by_header.items() if "notes.txt" in k)
    assert "not a photo I can check" in txt_reply
    assert any("broken.jpg" in k and "couldn" in k for k in by_header)
    # The text file was never downloaded; the mislabelled one was, and then refused.
    assert [path for path, _ in slack.fake.downloads] == [
        f"/files-pri/{TEAM_ID}-{junk['id']}/broken.jpg"
    ]


async def test_files_outside_slack_hosts_are_not_downloaded(slack: Harness) -> None:
    elsewhere = f"http://localhost:{slack.fake.port}/files-pri/{TEAM_ID}-F0EVIL0001/x.png"
    f = slack.fake.add_file("x.png", png_bytes(), "image/png", url=elsewhere)
    await slack.event(dm_event(files=[f]))
    [post] = await slack.fake.wait_for("chat.postMessage")
    assert "only download files from the platform" in texts(blocks_of(post.params))
    assert slack.fake.downloads == []  # and the bot token went nowhere


async def press(slack: Harness, action_id: str, *, ephemeral: bool) -> None:
    """Press a button on a result, as Slack reports it."""
    status, _ = await slack.interactive(
        {
            "type": "block_actions",
            "container": {"type": "message", "message_ts": "111.222", "is_ephemeral": ephemeral},
            "channel": {"id": "C0GENERAL1" if ephemeral else DM},
            **({} if ephemeral else {"message": {"ts": "111.222", "text": "x"}}),
            "response_url": slack.fake.response_url(),
            "trigger_id": "1.2.3",
            "actions": [{"action_id": action_id, "value": action_id, "type": "button"}],
        }
    )
    assert status == 200


# -- message shortcut ----------------------------------------------------------------------
def shortcut_payload(
    fake: FakeSlack, files: list[dict[str, Any]], author: str = "U0BOB00001"
) -> dict[str, Any]:
    return {
        "type": "message_action",
        "callback_id": "check_headshot",
        "trigger_id": "1.2.3",
        "response_url": fake.response_url(),
        "channel": {"id": "C0GENERAL1", "name": "general"},
        "message": {
            "type": "message",
            "user": author,
            "ts": "1700000000.000100",
            "files": files,
        },
    }


async def test_shortcut_on_a_camera_photo_with_gps_is_private(slack: Harness) -> None:
    f = slack.fake.add_file("holiday.jpg", gps_camera_jpeg(), "image/jpeg")
    status, _ = await slack.interactive(shortcut_payload(slack.fake, [f], author=USER))
    assert status == 200
    [eph] = await slack.fake.wait_for("chat.postEphemeral")
    assert eph.params["channel"] == "C0GENERAL1" and eph.params["user"] == USER
    blocks = blocks_of(eph.params)
    assert "holiday.jpg" in header_of(blocks)
    assert slack.fake.calls_to("chat.postMessage") == []  # nothing public
    if (ROOT / "bot/analysis/checks/privacy.py").exists():
        shown = texts(blocks)
        assert "Privacy" in shown and ("GPS" in shown or "location" in shown.lower())
    if "Strip metadata" in buttons(blocks):  # once the privacy check and stripping are merged
        await press(slack, buttons(blocks)["Strip metadata"], ephemeral=True)
        await slack.fake.wait_for("files.completeUploadExternal")
        [copy] = slack.fake.uploads.values()
        assert not Image.open(io.BytesIO(copy)).getexif().get_ifd(0x8825)  # no GPS left


async def test_shortcut_on_someone_elses_photo_withholds_its_privacy_details(slack: Harness):
    """Checking Bob's photo must not hand his location or serial numbers to the asker."""
    f = slack.fake.add_file("bobs.jpg", gps_camera_jpeg(), "image/jpeg")
    await slack.interactive(shortcut_payload(slack.fake, [f], author="U0BOB00001"))
    [eph] = await slack.fake.wait_for("chat.postEphemeral")
    shown = texts(blocks_of(eph.params))
    assert "bobs.jpg" in header_of(blocks_of(eph.params))
    assert "EXIF GPS" not in shown and "records where it was taken" not in shown
    assert "only to the person who sent the photo" in shown
    assert "Strip metadata" not in buttons(blocks_of(eph.params))
    await press(slack, buttons(blocks_of(eph.params))["Details"], ephemeral=True)
    [resp] = await slack.fake.wait_for("response")
    assert "EXIF GPS" not in texts(blocks_of(resp))


async def test_buttons_on_a_private_result_answer_privately(slack: Harness) -> None:
    f = slack.fake.add_file("quiet.png", png_bytes(), "image/png")
    await slack.interactive(shortcut_payload(slack.fake, [f]))
    [eph] = await slack.fake.wait_for("chat.postEphemeral")
    await press(slack, buttons(blocks_of(eph.params))["Details"], ephemeral=True)
    [resp] = await slack.fake.wait_for("response")
    assert resp["response_type"] == "ephemeral" and resp["replace_original"] is False
    assert header_of(blocks_of(resp)).startswith("Details")
    assert slack.fake.calls_to("chat.postMessage") == []


async def test_shortcut_falls_back_to_dm_when_ephemeral_is_impossible(slack: Harness) -> None:
    slack.fake.fail("chat.postEphemeral", "channel_not_found")
    files = [
        slack.fake.add_file(f"face{i}.png", png_bytes(color=(i, 2, 2)), "image/png") for i in (1, 2)
    ]
    await slack.interactive(shortcut_payload(slack.fake, files))
    posts = await slack.fake.wait_for("chat.postMessage", 3)
    await slack.settle()
    assert len(slack.fake.calls_to("chat.postMessage")) == 3  # one note, then both results
    assert len(slack.fake.calls_to("chat.postEphemeral")) == 1
    assert {p.params["channel"] for p in posts} == {DM}
    assert "privately" in posts[0].params["text"] and "blocks" not in posts[0].params
    assert {header_of(blocks_of(p.params)).rsplit(" ", 1)[-1] for p in posts[1:]} == {
        "face1.png",
        "face2.png",
    }


async def test_shortcut_on_a_message_without_photos(slack: Harness) -> None:
    await slack.interactive(shortcut_payload(slack.fake, []))
    [eph] = await slack.fake.wait_for("chat.postEphemeral")
    assert "No photo found" in header_of(blocks_of(eph.params))


# -- /headshot-check: the modal and file links ---------------------------------------------
async def test_modal_flow_checks_the_upload_and_answers_by_dm(slack: Harness) -> None:
    status, _ = await slack.command("/headshot-check")
    assert status == 200
    [opened] = await slack.fake.wait_for("views.open")
    view = opened.params["view"]
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert inputs["photo"]["type"] == "file_input"
    assert inputs["context"]["type"] == "static_select"

    f = slack.fake.add_file("upload.png", png_bytes((300, 300)), "image/png")
    submission = {
        "type": "view_submission",
        "trigger_id": "1.2.3",
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": view["callback_id"],
            "state": {
                "values": {
                    "photo": {"files": {"type": "file_input", "files": [f]}},
                    "context": {
                        "value": {
                            "type": "static_select",
                            "selected_option": {
                                "text": {"type": "plain_text", "text": "LinkedIn"},
                                "value": "linkedin",
                            },
                        }
                    },
                }
            },
        },
    }
    status, body = await slack.interactive(submission)
    assert status == 200 and body == ""  # an empty ack closes the modal
    [post] = await slack.fake.wait_for("chat.postMessage")
    assert slack.fake.calls_to("conversations.open")[0].params["users"] == USER
    assert post.params["channel"] == DM
    assert "upload.png" in header_of(blocks_of(post.params))


async def test_modal_without_a_file_is_refused_in_place(slack: Harness) -> None:
    submission = {
        "type": "view_submission",
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": "headshot_check_modal",
            "state": {"values": {}},
        },
    }
    status, body = await slack.interactive(submission)
    assert status == 200
    assert json.loads(body)["response_action"] == "errors"


async def test_modal_that_cannot_open_is_explained(slack: Harness) -> None:
    slack.fake.fail("views.open", "expired_trigger_id")
    await slack.command("/headshot-check")
    [resp] = await slack.fake.wait_for("response")
    assert "couldn't open the form" in header_of(blocks_of(resp))
    assert "expired_trigger_id" in texts(blocks_of(resp))


async def test_oversized_files_are_refused_before_download(slack: Harness) -> None:
    slack.settings.limits.max_bytes = 1000
    f = slack.fake.add_file(
        "huge.png", png_bytes((400, 400), color=(1, 2, 3)) + b"\0" * 2000, "image/png"
    )
    await slack.event(dm_event(files=[f]))
    [post] = await slack.fake.wait_for("chat.postMessage")
    assert "larger than" in texts(blocks_of(post.params))
    assert slack.fake.downloads == []


async def test_check_command_with_a_file_link(slack: Harness) -> None:
    f = slack.fake.add_file("linked.png", png_bytes((128, 128)), "image/png")
    await slack.command("/headshot-check", f"<{f['permalink']}>")
    [resp] = await slack.fake.wait_for("response")
    assert resp["response_type"] == "ephemeral"
    assert "linked.png" in header_of(blocks_of(resp))
    assert slack.fake.calls_to("files.info")[0].params["file"] == f["id"]


async def test_check_command_with_a_missing_file(slack: Harness) -> None:
    await slack.command("/headshot-check", "https://fake.slack.com/files/U1/F0GONE00001/x.png")
    [resp] = await slack.fake.wait_for("response")
    assert "can't see that file" in texts(blocks_of(resp))


# -- questions and disclosure --------------------------------------------------------------
async def test_ask_command_answers_privately(slack: Harness) -> None:
    status, _ = await slack.command("/headshot-ask", "Can I use an AI headshot on my CV?")
    assert status == 200
    [resp] = await slack.fake.wait_for("response")
    assert resp["response_type"] == "ephemeral" and texts(blocks_of(resp)).strip()


async def test_disclose_command(slack: Harness) -> None:
    await slack.command("/headshot-disclose", "linkedin")
    await slack.command("/headshot-disclose", "somewhere-odd")
    resps = await slack.fake.wait_for("response", 2)
    shown = [texts(blocks_of(r)) for r in resps]
    assert any("Disclosure" in s for s in shown)
    assert any("LinkedIn" in s and "resume" in s for s in shown)  # the usage hint lists places


async def test_app_home_tab_is_published(slack: Harness) -> None:
    await slack.event({"type": "app_home_opened", "user": USER, "channel": DM, "tab": "home"})
    [pub] = await slack.fake.wait_for("views.publish")
    assert pub.params["user_id"] == USER
    shown = texts(pub.params["view"]["blocks"])
    assert "Privacy" in shown and "/headshot-check" in shown
    # Its button opens the upload form.
    action_id = buttons(pub.params["view"]["blocks"])["Check a photo"]
    await slack.interactive(
        {
            "type": "block_actions",
            "container": {"type": "view", "view_id": "V1"},
            "view": {"id": "V1", "type": "home"},
            "trigger_id": "9.8.7",
            "actions": [{"action_id": action_id, "type": "button"}],
        }
    )
    [opened] = await slack.fake.wait_for("views.open")
    assert opened.params["trigger_id"] == "9.8.7"
    assert opened.params["view"]["callback_id"] == "headshot_check_modal"


# -- security and robustness ---------------------------------------------------------------
async def test_bad_signature_is_rejected(slack: Harness) -> None:
    body = json.dumps(
        {"type": "event_callback", "event_id": "Ev1", "event": dm_event("hi")}
    ).encode()
    status, _ = await slack.post(body, "application/json", secret="not-the-secret")
    assert status == 401
    await slack.settle()
    assert slack.fake.calls_to("chat.postMessage") == []


async def test_replayed_old_request_is_rejected(slack: Harness) -> None:
    six_minutes_ago = int(time.time()) - 6 * 60
    status = await slack.event(dm_event("hi"), timestamp=six_minutes_ago)
    assert status == 401
    await slack.settle()
    assert slack.fake.calls_to("chat.postMessage") == []


async def test_retried_event_is_handled_once(slack: Harness) -> None:
    event = dm_event("hello there")
    assert await slack.event(event, event_id="Ev0RETRY001") == 200
    await slack.fake.wait_for("chat.postMessage")
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert await slack.event(event, event_id="Ev0RETRY001", headers=retry) == 200
    assert (
        await slack.event(event, event_id="Ev0RETRY001", headers={"X-Slack-Retry-Num": "2"}) == 200
    )
    await slack.settle()
    assert len(slack.fake.calls_to("chat.postMessage")) == 1
    # A different event is still handled.
    await slack.event(dm_event("another"), event_id="Ev0RETRY002")
    await slack.fake.wait_for("chat.postMessage", 2)


async def test_a_retry_that_reaches_another_process_is_dropped_with_shared_state(
    fake: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two bot processes behind a load balancer, state in the real Redis: Slack's retry of an
    event lands on the other process, which must not answer it a second time."""
    from tests.queue_support import queue_env, redis_or_skip

    redis_or_skip()
    queue_env(monkeypatch, HEADSHOT_STATE__BACKEND="redis", HEADSHOT_QUEUE__BACKEND="inprocess")
    settings = make_settings(fake).model_copy(update={"state": Settings().state})
    assert settings.state.backend == "redis"
    first, second = Harness(fake, settings), Harness(fake, settings)
    await first.start()
    await second.start()
    try:
        event = dm_event("hello from behind the load balancer")
        assert await first.event(event, event_id="Ev0SHARED01") == 200
        await fake.wait_for("chat.postMessage")
        retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
        assert await second.event(event, event_id="Ev0SHARED01", headers=retry) == 200
        await second.settle()
        await first.settle()
        assert len(fake.calls_to("chat.postMessage")) == 1
        await second.event(dm_event("another"), event_id="Ev0SHARED02")
        await fake.wait_for("chat.postMessage", 2)
    finally:
        await first.close()
        await second.close()


async def test_mentions_in_file_names_come_out_escaped(slack: Harness) -> None:
    name = "<!channel> <@U0BOSS0001> <https://evil.example|click> @here.png"
    f = slack.fake.add_file(name, png_bytes(), "image/png")
    await slack.event(dm_event(files=[f]))
    [post] = await slack.fake.wait_for("chat.postMessage")
    sent = json.dumps(post.params)
    for raw in ("<!channel>", "<@U0BOSS0001>", "<https://evil", "@here"):
        assert raw not in sent
    assert "&lt;!channel&gt;" in header_of(blocks_of(post.params))
    assert "&lt;!channel&gt;" in post.params["text"]


async def test_mentions_in_questions_never_reach_slack_raw(slack: Harness) -> None:
    await slack.command("/headshot-ask", "<!here> is <@U0BOSS0001> using an AI photo? @channel")
    await slack.command("/headshot-disclose", "linkedin <!channel> <@U0BOSS0001>")
    resps = await slack.fake.wait_for("response", 2)
    sent = json.dumps(resps)
    for raw in ("<!here>", "<!channel>", "<@U0BOSS0001>", "@channel"):
        assert raw not in sent


async def test_ratelimited_api_call_is_retried_after_retry_after(slack: Harness) -> None:
    slack.fake.fail("files.info", "ratelimited", retry_after=1)
    f = slack.fake.add_file("slow.png", png_bytes(), "image/png")
    started = time.monotonic()
    await slack.command("/headshot-check", f["permalink"])
    [resp] = await slack.fake.wait_for("response")
    assert "slow.png" in header_of(blocks_of(resp))
    assert len(slack.fake.calls_to("files.info")) == 2
    assert time.monotonic() - started >= 1.0


async def test_persistent_ratelimit_and_invalid_auth_are_explained(slack: Harness) -> None:
    slack.fake.fail("files.info", "ratelimited", retry_after=1, times=2)
    f = slack.fake.add_file("busy.png", png_bytes(), "image/png")
    await slack.command("/headshot-check", f["permalink"])
    [resp] = await slack.fake.wait_for("response")
    assert "Slack asked me to slow down" in texts(blocks_of(resp))

    slack.fake.fail("files.info", "invalid_auth")
    await slack.command("/headshot-check", f["permalink"])
    resps = await slack.fake.wait_for("response", 2)
    assert "rejected my access token" in texts(blocks_of(resps[1]))


async def test_strip_button_uploads_the_copy_by_dm_with_files_upload_v2(slack: Harness) -> None:
    copy = jpeg_bytes((40, 40))
    reply = Reply(
        title="🤖 x — a.jpg",
        offers={"strip": Attachment("a-clean.jpg", copy, "Copy without metadata")},
    )
    token = slack.bridge.cache.put(reply)
    action_id = button_id(token, "strip")
    await slack.interactive(
        {
            "type": "block_actions",
            "container": {"type": "message", "is_ephemeral": True, "channel_id": "C0GENERAL1"},
            "channel": {"id": "C0GENERAL1"},
            "response_url": slack.fake.response_url(),
            "actions": [{"action_id": action_id, "value": action_id, "type": "button"}],
        }
    )
    [complete] = await slack.fake.wait_for("files.completeUploadExternal")
    assert complete.params["channel_id"] == DM  # files go to the person's DM, never the channel
    [upload_id] = slack.fake.uploads
    assert slack.fake.uploads[upload_id] == copy
    assert slack.fake.calls_to("files.getUploadURLExternal")[0].params["filename"] == "a-clean.jpg"
    assert slack.fake.responses == []


async def test_expired_button_says_so(slack: Harness) -> None:
    action_id = button_id("no-such-token", "details")
    await slack.interactive(
        {
            "type": "block_actions",
            "container": {"type": "message", "is_ephemeral": True},
            "channel": {"id": "C0GENERAL1"},
            "response_url": slack.fake.response_url(),
            "actions": [{"action_id": action_id, "value": action_id, "type": "button"}],
        }
    )
    [resp] = await slack.fake.wait_for("response")
    assert "expired" in header_of(blocks_of(resp))


async def test_url_verification_challenge(slack: Harness) -> None:
    body = json.dumps({"token": "legacy", "challenge": "c-123", "type": "url_verification"})
    status, text = await slack.post(body.encode(), "application/json")
    assert status == 200 and json.loads(text)["challenge"] == "c-123"


async def test_per_user_rate_limit(slack: Harness) -> None:
    first = [
        slack.fake.add_file(f"p{i}.png", png_bytes(color=(i, 9, 9)), "image/png") for i in range(5)
    ]
    await slack.event(dm_event(files=first))
    await slack.fake.wait_for("chat.postMessage", 5)
    more = [
        slack.fake.add_file(f"q{i}.png", png_bytes(color=(9, i, 9)), "image/png") for i in range(2)
    ]
    await slack.event(dm_event(files=more))
    posts = await slack.fake.wait_for("chat.postMessage", 7)  # the one that fits is checked
    assert "q0.png" in header_of(blocks_of(posts[5].params))
    assert "Some photos have to wait" in header_of(blocks_of(posts[6].params))
    assert "q1.png" in texts(blocks_of(posts[6].params))
    await slack.event(dm_event(files=more[1:]))
    posts = await slack.fake.wait_for("chat.postMessage", 8)
    assert "Slow down" in header_of(blocks_of(posts[7].params))


async def test_health_route(slack: Harness) -> None:
    assert slack.http is not None
    resp = await slack.http.get("/health")
    assert resp.status == 200 and (await resp.json())["ok"] is True


async def test_start_up_auth_check(fake: FakeSlack) -> None:
    settings = make_settings(fake)
    assert await check_auth(make_client(settings)) is None
    bad = settings.model_copy(
        update={"slack_bot_token": type(settings.slack_bot_token)("xoxb-wrong")}
    )
    problem = await check_auth(make_client(bad))
    assert problem is not None and "invalid_auth" in problem


# -- Socket Mode ---------------------------------------------------------------------------
async def test_socket_mode_start_up_and_event(fake: FakeSlack) -> None:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    settings = make_settings(fake)
    service = HeadshotService(settings, pool=AnalysisPool(inline=True))
    app = build_app(settings, service)
    handler = AsyncSocketModeHandler(app, APP_TOKEN)
    try:
        await handler.connect_async()
        await fake.wait_socket()
        [opened] = fake.calls_to("apps.connections.open")
        assert opened.token == APP_TOKEN
        envelope = {
            "envelope_id": "57d6a792-4d35-4d0b-b6aa-3361493e1caf",
            "type": "events_api",
            "accepts_response_payload": False,
            "retry_attempt": 0,
            "retry_reason": "",
            "payload": {
                "team_id": TEAM_ID,
                "api_app_id": "A0FAKEAPP1",
                "type": "event_callback",
                "event_id": "Ev0SOCKET01",
                "event_time": int(time.time()),
                "event": dm_event("hello over socket mode"),
            },
        }
        await fake.send_envelope(envelope)
        [post] = await fake.wait_for("chat.postMessage")
        assert post.params["channel"] == DM
        deadline = time.monotonic() + 5
        while not any(
            m.get("envelope_id") == envelope["envelope_id"] for m in fake.socket_received
        ):
            assert time.monotonic() < deadline, "the envelope was not acknowledged"
            await asyncio.sleep(0.05)
    finally:
        await handler.close_async()
        await bridge_of(app).close()
        service.close()

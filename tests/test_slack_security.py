"""Attacks on the Slack adapter (issue 12): the real slack-bolt AsyncApp in HTTP mode on
127.0.0.1, requests signed as Slack signs them, and the local fake of Slack's Web API."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import pytest

from tests.fakes.slack_fake import TEAM_ID, FakeSlack
from tests.test_slack_e2e import (
    DM,
    SECRET,
    Harness,
    blocks_of,
    buttons,
    dm_event,
    gps_camera_jpeg,
    header_of,
    make_settings,
    shortcut_payload,
    texts,
)

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
async def app(caplog: pytest.LogCaptureFixture) -> AsyncIterator[Harness]:
    fake = await FakeSlack().start()
    h = Harness(fake, make_settings(fake))
    await h.start()
    yield h
    await h.close()
    await fake.stop()


def _no_tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The warnings logged; fails on any error or traceback."""
    records = caplog.get_records("call")
    assert not [r.getMessage() for r in records if r.levelno >= logging.ERROR or r.exc_info]
    return [r for r in records if r.levelno == logging.WARNING]


# -- item 12: signed but malformed requests --------------------------------------------------
def _form(payload: dict) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


BUTTON_WITHOUT_USER = {
    "type": "block_actions",
    "team": {"id": TEAM_ID},
    "api_app_id": "A0FAKEAPP1",
    "container": {"type": "message", "message_ts": "111.222"},
    "channel": {"id": "D0ALICE001"},
    "response_url": "http://127.0.0.1:9/response/x",
    "trigger_id": "1.2.3",
    "actions": [{"action_id": "hc:abc123:details", "value": "hc:abc123:details"}],
}
COMMAND_WITHOUT_USER = {"command": "/headshot-ask", "text": "hi", "team_id": TEAM_ID}


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"payload=%7Bnot+json", FORM),
        (b"payload=%5B1%2C2%5D", FORM),  # JSON, but not an object
        (b'{"type": "event_callback", "event": ', "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (_form(BUTTON_WITHOUT_USER), FORM),
        (_form({**BUTTON_WITHOUT_USER, "user": "U0ALICE001"}), FORM),  # user not an object
        (urlencode(COMMAND_WITHOUT_USER).encode(), FORM),
    ],
    ids=[
        "bad-json",
        "json-list",
        "bad-json-event",
        "event-list",
        "button-no-user",
        "button-user-str",
        "command-no-user",
    ],
)
async def test_signed_malformed_request_is_a_400(
    app: Harness, caplog: pytest.LogCaptureFixture, body: bytes, content_type: str
) -> None:
    caplog.set_level(logging.INFO)
    status, _ = await app.post(body, content_type)
    await app.settle()
    assert status == 400
    warnings = _no_tracebacks(caplog)
    assert len([w for w in warnings if "refused" in w.getMessage()]) == 1
    assert app.fake.calls_to("chat.postMessage") == []


async def test_signed_non_utf8_body_is_a_400(
    app: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    body, ts = b"\xff\xfe\x00payload=\x80\x81", str(int(time.time()))
    digest = hmac.new(SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
    headers = {
        "Content-Type": FORM,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": "v0=" + digest.hexdigest(),
    }
    assert app.http is not None
    resp = await app.http.post("/slack/events", data=body, headers=headers)
    assert resp.status == 400
    assert len([w for w in _no_tracebacks(caplog) if "refused" in w.getMessage()]) == 1


@pytest.mark.parametrize("timestamp", ["soon", "", "1e9", "-5", "１２３"])
async def test_non_numeric_timestamp_is_a_401(
    app: Harness, caplog: pytest.LogCaptureFixture, timestamp: str
) -> None:
    caplog.set_level(logging.INFO)
    body = urlencode({"command": "/headshot-ask", "user_id": "U1", "text": "hi"}).encode()
    status, _ = await app.post(body, FORM, timestamp=timestamp)  # signed with that timestamp
    assert status == 401
    assert len([w for w in _no_tracebacks(caplog) if "refused" in w.getMessage()]) == 1


async def test_bad_signature_and_old_requests_stay_401(
    app: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    body = b"payload=%7Bnot+json"  # malformed too: the signature is what is judged first
    assert (await app.post(body, FORM, secret="wrong"))[0] == 401
    assert (await app.post(body, FORM, timestamp=int(time.time()) - 3600))[0] == 401
    _no_tracebacks(caplog)


async def test_well_formed_requests_still_work(app: Harness) -> None:
    status, _ = await app.command("/headshot-ask", "Can I use an AI headshot?")
    assert status == 200
    await app.fake.wait_for("response")
    body = json.dumps({"type": "url_verification", "challenge": "c-123", "token": "t"}).encode()
    status, text = await app.post(body, "application/json")
    assert status == 200 and "c-123" in text


# -- item 1: only files the asker may see ---------------------------------------------------
ALICE, BOB = "U0ALICE001", "U0BOB00001"
REFUSED = "only check a file you uploaded"


def _bobs_photo(app: Harness, **shared: list[str]) -> dict:
    return app.fake.add_file("bobs-secret.jpg", gps_camera_jpeg(), "image/jpeg", user=BOB, **shared)


async def _check_link(app: Harness, f: dict, channel: str = "C0GENERAL1") -> list[dict]:
    await app.command("/headshot-check", f"<{f['permalink']}>", channel_id=channel)
    [resp] = await app.fake.wait_for("response")
    await app.settle()
    return blocks_of(resp)


def _downloaded(app: Harness, f: dict) -> bool:
    return any(f["id"] in path for path, _ in app.fake.downloads)


async def test_link_to_someone_elses_private_file_is_refused(app: Harness) -> None:
    f = _bobs_photo(app)
    blocks = await _check_link(app, f)
    assert REFUSED in texts(blocks)
    assert "bobs-secret" not in texts(blocks)  # not even its name
    assert not _downloaded(app, f)
    assert app.fake.uploads == {}


async def test_link_to_a_file_in_a_channel_the_asker_is_not_in_is_refused(app: Harness) -> None:
    app.fake.conversations["C0SECRET01"] = [BOB, "U0CAROL001"]
    f = _bobs_photo(app, groups=["C0SECRET01"])
    assert REFUSED in texts(await _check_link(app, f))
    assert not _downloaded(app, f)


async def test_link_to_a_file_in_the_askers_channel_is_checked_without_privacy(app: Harness):
    app.fake.members_page_max = 2  # the asker is on the third page of members
    app.fake.conversations["C0TEAM0001"] = [BOB, "U01", "U02", "U03", ALICE]
    f = _bobs_photo(app, channels=["C0OTHER001", "C0TEAM0001"])
    blocks = await _check_link(app, f)
    assert "bobs-secret.jpg" in header_of(blocks)
    assert "EXIF GPS" not in texts(blocks)
    assert "Strip metadata" not in buttons(blocks)  # never a copy of someone else's photo
    members = app.fake.calls_to("conversations.members")
    assert [c.params.get("cursor") for c in members if c.params["channel"] == "C0TEAM0001"] == [
        None,
        "2",
        "4",
    ]


async def test_link_to_a_file_shared_where_the_command_was_typed(app: Harness) -> None:
    f = _bobs_photo(app, channels=["C0GENERAL1"])
    blocks = await _check_link(app, f, channel="C0GENERAL1")
    assert "bobs-secret.jpg" in header_of(blocks)
    assert app.fake.calls_to("conversations.members") == []  # Slack says the asker is there


async def test_own_file_by_link_still_gets_strip(app: Harness) -> None:
    f = app.fake.add_file("mine.jpg", gps_camera_jpeg(), "image/jpeg", user=ALICE)
    blocks = await _check_link(app, f)
    assert "mine.jpg" in header_of(blocks)
    assert "Strip metadata" in buttons(blocks)


async def test_modal_with_someone_elses_file_is_refused(app: Harness) -> None:
    f = _bobs_photo(app)
    values = {"photo": {"files": {"type": "file_input", "files": [f]}}}
    view = {"id": "V1", "type": "modal", "callback_id": "headshot_check_modal"}
    await app.interactive(
        {"type": "view_submission", "view": {**view, "state": {"values": values}}}
    )
    [post] = await app.fake.wait_for("chat.postMessage")
    assert REFUSED in texts(blocks_of(post.params))
    assert not _downloaded(app, f)


async def test_shortcut_on_a_message_whose_file_is_not_shared_there_is_refused(app: Harness):
    f = _bobs_photo(app, groups=["C0SECRET01"])
    await app.interactive(shortcut_payload(app.fake, [f], author=BOB))
    [eph] = await app.fake.wait_for("chat.postEphemeral")
    assert REFUSED in texts(blocks_of(eph.params))
    assert not _downloaded(app, f)


async def test_shortcut_on_someone_elses_photo_in_the_channel_is_checked(app: Harness) -> None:
    f = _bobs_photo(app, channels=["C0GENERAL1"])
    await app.interactive(shortcut_payload(app.fake, [f], author=BOB))
    [eph] = await app.fake.wait_for("chat.postEphemeral")
    assert "bobs-secret.jpg" in header_of(blocks_of(eph.params))
    assert "Strip metadata" not in buttons(blocks_of(eph.params))


async def test_someone_elses_photo_forwarded_in_a_dm_gets_no_strip(app: Harness) -> None:
    """Alice shares Bob's photo into her DM with the app: she may see it (it is in her DM),
    but its location and a metadata-free copy are Bob's business."""
    f = _bobs_photo(app, channels=["C0GENERAL1"], ims=[DM])
    await app.event(dm_event(files=[f]))
    [post] = await app.fake.wait_for("chat.postMessage")
    await app.settle()
    blocks = blocks_of(post.params)
    assert "bobs-secret.jpg" in header_of(blocks)
    assert "EXIF GPS" not in texts(blocks) and "Strip metadata" not in buttons(blocks)
    assert app.fake.uploads == {}


async def test_file_in_a_dm_between_two_other_people_is_refused(app: Harness) -> None:
    f = _bobs_photo(app, ims=["D0BOBCAROL"])  # the app is not in that DM
    await app.event(dm_event(files=[f]))
    [post] = await app.fake.wait_for("chat.postMessage")
    assert REFUSED in texts(blocks_of(post.params))
    assert not _downloaded(app, f)


async def test_socket_mode_drops_a_payload_without_a_user(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Socket Mode has no HTTP gate: the same check runs inside Bolt, so a button press naming
    no user is acknowledged and dropped with one line, not a KeyError in a listener."""
    import asyncio

    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    from bot.adapters.slack import bridge_of, build_app
    from bot.core.pool import AnalysisPool
    from bot.core.service import HeadshotService
    from tests.fakes.slack_fake import APP_TOKEN

    caplog.set_level(logging.INFO)
    fake = await FakeSlack().start()
    settings = make_settings(fake)
    service = HeadshotService(settings, pool=AnalysisPool(inline=True))
    app = build_app(settings, service)
    handler = AsyncSocketModeHandler(app, APP_TOKEN)
    envelope = {
        "envelope_id": "0f1e2d3c-malformed",
        "type": "interactive",
        "accepts_response_payload": False,
        "payload": BUTTON_WITHOUT_USER,
    }
    try:
        await handler.connect_async()
        await fake.wait_socket()
        await fake.send_envelope(envelope)
        deadline = time.monotonic() + 5
        while not any(
            m.get("envelope_id") == envelope["envelope_id"] for m in fake.socket_received
        ):
            assert time.monotonic() < deadline, "the malformed envelope was not acknowledged"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        await bridge_of(app).jobs.drain()
    finally:
        await handler.close_async()
        await bridge_of(app).close()
        service.close()
        await fake.stop()
    warnings = _no_tracebacks(caplog)
    assert len([w for w in warnings if "dropped a Slack payload" in w.getMessage()]) == 1
    assert fake.calls_to("chat.postMessage") == [] and fake.calls_to("chat.postEphemeral") == []

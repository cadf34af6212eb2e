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
from slack_sdk.signature import SignatureVerifier

from tests.fakes.slack_fake import TEAM_ID, FakeSlack
from tests.test_slack_e2e import SECRET, Harness, make_settings

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
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=timestamp, body=body)
    headers = {
        "Content-Type": FORM,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
    }
    assert app.http is not None
    resp = await app.http.post("/slack/events", data=body, headers=headers)
    assert resp.status == 401
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

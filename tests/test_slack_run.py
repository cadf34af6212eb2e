"""`headshot-bot slack` as a process: start-up, serving, and a clean stop on SIGTERM, in
HTTP mode and in Socket Mode, against the local fake Slack."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest

from tests.conftest import png_bytes
from tests.fakes.slack_fake import APP_TOKEN, BOT_TOKEN, TEAM_ID, FakeSlack, signed_headers

ROOT = Path(__file__).resolve().parent.parent
SECRET = "run-test-signing-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def start_bot(fake: FakeSlack, *args: str) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "HEADSHOT_SLACK__API_BASE_URL": fake.api_url,
        "HEADSHOT_SLACK__FILE_HOSTS": json.dumps([fake.host]),
        "HEADSHOT_SLACK__HTTP_HOST": "127.0.0.1",
        "HEADSHOT_ANALYSIS__WORKERS": "1",
        # The audit store (SQLite): a fresh directory, not the checkout's data/.
        "HEADSHOT_DATA_DIR": tempfile.mkdtemp(prefix="headshot-slack-run-"),
    }
    env.pop("DATABASE_URL", None)
    env.pop("PORT", None)
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "slack", *args,
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip


async def stop_bot(proc: asyncio.subprocess.Process) -> tuple[int, str]:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    return proc.returncode or 0, out.decode(errors="replace")


async def wait_serving(http: aiohttp.ClientSession, url: str, proc) -> None:
    """Until the app's HTTP server answers `url` (it starts in a few seconds)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            async with http.get(url) as resp:
                assert resp.status == 200
                return
        except aiohttp.ClientConnectionError:
            assert proc.returncode is None, "the bot exited early"
            assert time.monotonic() < deadline, "HTTP mode did not come up"
            await asyncio.sleep(0.2)


@pytest.fixture
async def fake():
    f = await FakeSlack().start()
    yield f
    await f.stop()


async def test_http_mode_serves_health_and_signed_commands(fake: FakeSlack) -> None:
    port = free_port()
    proc = await start_bot(fake, "--http", "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            await wait_serving(http, base + "/health", proc)
            form = {
                "team_id": TEAM_ID,
                "user_id": "U0ALICE001",
                "channel_id": "C0GENERAL1",
                "command": "/headshot-ask",
                "text": "what is C2PA?",
                "response_url": fake.response_url(),
                "trigger_id": "1.2.3",
            }
            body = urlencode(form).encode()
            headers = signed_headers(SECRET, body, "application/x-www-form-urlencoded")
            async with http.post(base + "/slack/events", data=body, headers=headers) as resp:
                assert resp.status == 200
            await fake.wait_for("response", timeout=30)
    finally:
        code, out = await stop_bot(proc)
    assert code == 0, out
    assert "Traceback" not in out and "ERROR" not in out, out
    assert fake.calls_to("auth.test")  # the token was checked at start-up


async def test_socket_mode_connects_and_checks_a_photo(fake: FakeSlack) -> None:
    photo = fake.add_file("me.png", png_bytes((256, 256)), "image/png")
    proc = await start_bot(fake)
    try:
        await fake.wait_socket(timeout=30)
        envelope = {
            "envelope_id": "b3c4-socket-run",
            "type": "events_api",
            "accepts_response_payload": False,
            "payload": {
                "team_id": TEAM_ID,
                "type": "event_callback",
                "event_id": "Ev0RUNSOCK1",
                "event": {
                    "type": "message",
                    "channel": "D0ALICE001",
                    "channel_type": "im",
                    "user": "U0ALICE001",
                    "subtype": "file_share",
                    "text": "",
                    "files": [photo],
                    "ts": "1700000000.000200",
                },
            },
        }
        await fake.send_envelope(envelope)
        [post] = await fake.wait_for("chat.postMessage", timeout=30)
        # Checked in the process pool, answered in the photo's thread.
        assert "me.png" in json.dumps(post.params["blocks"])
        assert post.params["thread_ts"] == "1700000000.000200"
    finally:
        code, out = await stop_bot(proc)
    assert code == 0, out
    assert "Traceback" not in out and "ERROR" not in out, out
    assert [c.token for c in fake.calls_to("apps.connections.open")][:1] == [APP_TOKEN]
    assert any(m.get("envelope_id") == "b3c4-socket-run" for m in fake.socket_received)


async def test_a_rejected_token_stops_start_up_with_a_clear_error(fake: FakeSlack) -> None:
    fake.bot_token = "xoxb-fake-accepted-token"
    proc = await start_bot(fake)
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    code, out = proc.returncode, out.decode(errors="replace")
    assert code == 2 and "Slack rejected SLACK_BOT_TOKEN (invalid_auth)" in out

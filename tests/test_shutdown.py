"""SIGTERM (docker stop, systemd, a Heroku restart) to `headshot-bot discord` and
`headshot-bot slack` (both modes) as real processes against the local fakes, while a photo
is being checked: the bot answers it "restarting", exits 0 within 10 s, and nothing it
started (forkserver, workers, resource tracker) outlives it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.fakes.discord_fake import FakeDiscord
from tests.fakes.slack_fake import TEAM_ID, FakeSlack, signed_headers
from tests.hostile_cases import jpeg_100k_empty_scans
from tests.processes import descendants, still_running
from tests.test_slack_run import SECRET, free_port, start_bot

ROOT = Path(__file__).resolve().parent.parent
EXIT_WITHIN_S = 10.0
# The photo in flight: 100,000 empty progressive scans (minutes of libjpeg), let through
# intake's scan and segment limits for this test, so it is still being checked at SIGTERM.
SLOW_PHOTO_ENV = {
    "HEADSHOT_LIMITS__MAX_JPEG_SCANS": "1000000",
    "HEADSHOT_LIMITS__MAX_CHUNKS": "1000000",
    "HEADSHOT_LIMITS__ANALYSIS_TIMEOUT_S": "600",
    "HEADSHOT_LIMITS__SHUTDOWN_GRACE_S": "1",
    "HEADSHOT_ANALYSIS__WORKERS": "1",
}
RESTARTING = "The bot is restarting"


async def terminate(
    proc: asyncio.subprocess.Process, sig: signal.Signals
) -> tuple[int, float, str, set[int]]:
    """Send `sig`; the exit code, seconds to exit, output, and what it had started then."""
    started = descendants(proc.pid)
    assert len(started) >= 2, f"expected a forkserver and a worker, found {started}"
    sent = time.monotonic()
    proc.send_signal(sig)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
    took = time.monotonic() - sent
    print(f"\n{sig.name} to exit: {took:.2f} s")
    return proc.returncode, took, out.decode(errors="replace"), started


async def assert_clean_exit(
    proc: asyncio.subprocess.Process, sig: signal.Signals = signal.SIGTERM
) -> str:
    code, took, out, started = await terminate(proc, sig)
    assert code == 0, out
    assert took < EXIT_WITHIN_S, out
    assert not await still_running(started, within_s=2), f"outlived the bot; output:\n{out}"
    assert "Traceback" not in out, out
    return out


# -- Discord --------------------------------------------------------------------------------
@pytest.fixture
async def discord_fake():
    fake = await FakeDiscord(heartbeat_interval_ms=1000).start_in_thread()
    yield fake
    await fake.stop()


async def start_discord(fake: FakeDiscord) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        **SLOW_PHOTO_ENV,
        "DISCORD_TOKEN": "fake-discord-token-for-tests",
        "HEADSHOT_DISCORD__API_BASE": fake.api_base,
        "HEADSHOT_DISCORD__CDN_BASE": fake.cdn_base,
        "HEADSHOT_DISCORD__ATTACHMENT_HOSTS": json.dumps([fake.host]),
        "HEADSHOT_DISCORD__GUILD_READY_TIMEOUT": "0.01",
        "HEADSHOT_DATA_DIR": tempfile.mkdtemp(prefix="headshot-discord-run-"),
    }
    env.pop("DATABASE_URL", None)
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "discord",
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_discord_stop_signal_answers_the_photo_in_flight_and_leaves_nothing(
    discord_fake: FakeDiscord, sig: signal.Signals
) -> None:
    fake = discord_fake
    proc = await start_discord(fake)
    try:
        await fake.wait_until(lambda: fake.identifies >= 1, 60, "the bot to connect")
        alice = fake.user("alice")
        attachment = fake.attachment("slow.jpg", jpeg_100k_empty_scans(), "image/jpeg")
        interaction = await fake.check_attachment(alice, attachment)
        await fake.wait_callback(interaction, 30)  # deferred: the check is under way
        await fake.wait_until(lambda: fake.cdn_gets("attachments/") >= 1, 30, "the download")
        await asyncio.sleep(1.0)  # in the worker now
        assert fake.replies_to(interaction) == []
        await assert_clean_exit(proc, sig)
    finally:
        if proc.returncode is None:
            proc.kill()
    [reply] = fake.replies_to(interaction)
    assert RESTARTING in reply.text(), reply.text()


# -- Slack ----------------------------------------------------------------------------------
@pytest.fixture
async def slack_fake(monkeypatch: pytest.MonkeyPatch):
    for name, value in SLOW_PHOTO_ENV.items():
        monkeypatch.setenv(name, value)
    fake = await FakeSlack().start()
    yield fake
    await fake.stop()


def dm_with_file(photo: dict) -> dict:
    return {
        "team_id": TEAM_ID,
        "type": "event_callback",
        "event_id": "Ev0SHUTDOWN1",
        "event_time": int(time.time()),
        "event": {
            "type": "message",
            "channel": "D0ALICE001",
            "channel_type": "im",
            "user": "U0ALICE001",
            "subtype": "file_share",
            "text": "",
            "files": [photo],
            "ts": "1700000000.000300",
        },
    }


async def wait_for_download(fake: FakeSlack) -> None:
    deadline = time.monotonic() + 30
    while not fake.downloads:
        assert time.monotonic() < deadline, "the photo was never downloaded"
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)  # in the worker now


def restarting_posted(fake: FakeSlack) -> bool:
    return any(RESTARTING in json.dumps(c.params) for c in fake.calls_to("chat.postMessage"))


async def test_slack_socket_mode_sigterm_answers_and_leaves_nothing(slack_fake: FakeSlack):
    fake = slack_fake
    photo = fake.add_file("slow.jpg", jpeg_100k_empty_scans(), "image/jpeg")
    proc = await start_bot(fake)
    try:
        await fake.wait_socket(timeout=60)
        envelope = {
            "envelope_id": "shutdown-socket",
            "type": "events_api",
            "accepts_response_payload": False,
            "payload": dm_with_file(photo),
        }
        await fake.send_envelope(envelope)
        await wait_for_download(fake)
        await assert_clean_exit(proc)
    finally:
        if proc.returncode is None:
            proc.kill()
    assert restarting_posted(fake), [c.params for c in fake.calls_to("chat.postMessage")]


async def test_slack_http_mode_sigterm_answers_and_leaves_nothing(slack_fake: FakeSlack):
    import aiohttp

    fake = slack_fake
    photo = fake.add_file("slow.jpg", jpeg_100k_empty_scans(), "image/jpeg")
    port = free_port()
    proc = await start_bot(fake, "--http", "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            deadline = time.monotonic() + 60
            while True:
                try:
                    async with http.get(base + "/health") as resp:
                        break
                except aiohttp.ClientConnectionError:
                    assert proc.returncode is None and time.monotonic() < deadline
                    await asyncio.sleep(0.2)
            body = json.dumps(dm_with_file(photo)).encode()
            headers = signed_headers(SECRET, body)
            async with http.post(base + "/slack/events", data=body, headers=headers) as resp:
                assert resp.status == 200
        await wait_for_download(fake)
        await assert_clean_exit(proc)
    finally:
        if proc.returncode is None:
            proc.kill()
    assert restarting_posted(fake), [c.params for c in fake.calls_to("chat.postMessage")]


async def test_discord_sigterm_while_the_workers_start_leaves_nothing(
    discord_fake: FakeDiscord,
) -> None:
    proc = await start_discord(discord_fake)
    try:
        deadline = time.monotonic() + 60
        while len(descendants(proc.pid)) < 2:  # the forkserver and a worker, warming up
            assert proc.returncode is None and time.monotonic() < deadline
            await asyncio.sleep(0.05)
        await assert_clean_exit(proc)
    finally:
        if proc.returncode is None:
            proc.kill()
    assert discord_fake.identifies == 0, "it connected although it was told to stop"

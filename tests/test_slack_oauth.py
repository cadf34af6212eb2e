"""Slack in many workspaces, end to end: the real Bolt app in HTTP mode with our OAuth stores
(SQLite here; tests/test_store.py runs the store on PostgreSQL too), the install flow driven
over HTTP as a browser does it, events answered with each workspace's own token, background
work per workspace, and uninstalling clearing that workspace's data."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.adapters.slack import (
    OAUTH_NEEDS_HTTP,
    bridge_of,
    build_app,
    missing_settings,
    run_slack,
    web_app,
    workspaces_of,
)
from bot.adapters.slack_listeners.audit import resume_unfinished
from bot.adapters.slack_oauth import InstalledWorkspaces
from bot.audit.audit_service import AuditService
from bot.core.pool import AnalysisPool
from bot.core.service import HeadshotService
from bot.settings import Settings, SlackSettings
from bot.store import AuditRow
from bot.store.sqlite import SQLiteStore
from tests.fakes.slack_fake import APP_ID, CLIENT_ID, CLIENT_SECRET, FakeSlack, signed_headers

SECRET = "oauth-test-signing-secret"
ACME, GLOBEX = "T0ACME0001", "T0GLOBEX01"
ADMIN = "U0ADMIN001"


def oauth_settings(fake: FakeSlack) -> Settings:
    return Settings(
        _env_file=None,
        SLACK_BOT_TOKEN=None,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_CLIENT_ID=CLIENT_ID,
        SLACK_CLIENT_SECRET=CLIENT_SECRET,
        slack=SlackSettings(
            api_base_url=fake.api_url,
            file_hosts=[fake.host],
            oauth_scopes=["chat:write", "commands", "im:history"],
        ),
    )


class App:
    """The Slack app as `headshot-bot slack --http` builds it in OAuth mode."""

    def __init__(self, fake: FakeSlack, settings: Settings, store: SQLiteStore) -> None:
        self.fake = fake
        self.store = store
        self.service = HeadshotService(settings, pool=AnalysisPool(inline=True))
        self.audits = AuditService(store, self.service.pool, settings)
        self.app = build_app(settings, self.service, audits=self.audits, store=store)
        self.settings = settings
        self.http = TestClient(TestServer(web_app(self.app, settings), host="127.0.0.1"))
        self._n = 0

    async def install(self, team: str) -> int:
        """An admin of `team` opens the install link, approves, and Slack redirects back."""
        page = await self.http.get("/slack/install")
        assert page.status == 200
        (state,) = set(re.findall(r"state=([\w-]+)", await page.text()))
        # The browser sends back the state cookie (Secure: over HTTPS in production).
        cookie = page.cookies["slack-app-oauth-state"].value
        assert cookie == state
        done = await self.http.get(
            "/slack/oauth_redirect",
            params={"code": self.fake.install_code(team), "state": state},
            headers={"Cookie": f"slack-app-oauth-state={cookie}"},
        )
        return done.status

    async def event(self, team: str, event: dict[str, Any]) -> int:
        self._n += 1
        body = json.dumps(
            {
                "token": "legacy",
                "team_id": team,
                "api_app_id": APP_ID,
                "type": "event_callback",
                "event_id": f"Ev0OAUTH{self._n:04d}",
                "event_time": int(time.time()),
                "event": event,
            }
        ).encode()
        resp = await self.http.post(
            "/slack/events", data=body, headers=signed_headers(SECRET, body)
        )
        return resp.status

    async def uninstalled(self, team: str) -> None:
        """Until the uninstall listener (run after its ack) has deleted the installation."""
        async with asyncio.timeout(20):
            while await self.store.find_installation(CLIENT_ID, "", team) is not None:
                await asyncio.sleep(0.05)
        await self.settle()

    async def settle(self) -> None:
        for _ in range(3):
            await asyncio.sleep(0.05)
            await bridge_of(self.app).jobs.drain()


def question(user: str = "U0ALICE001") -> dict[str, Any]:
    now = f"{time.time():.6f}"
    return {
        "type": "message",
        "channel": "D0ALICE001",
        "channel_type": "im",
        "user": user,
        "text": "Is an AI headshot okay on LinkedIn?",
        "ts": now,
        "event_ts": now,
    }


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    f = await FakeSlack().start()
    yield f
    await f.stop()


@pytest.fixture
async def app(fake: FakeSlack, tmp_path: Path) -> AsyncIterator[App]:
    store = await SQLiteStore.open(tmp_path / "oauth.sqlite3")
    a = App(fake, oauth_settings(fake), store)
    await a.http.start_server()
    yield a
    await bridge_of(a.app).close()
    await a.http.close()
    a.service.close()
    await store.close()


async def test_install_answer_per_workspace_and_uninstall(fake: FakeSlack, app: App) -> None:
    assert await app.install(ACME) == 200
    assert await app.install(GLOBEX) == 200
    acme, globex = fake.token_of(ACME), fake.token_of(GLOBEX)
    saved = await app.store.find_installation(CLIENT_ID, "", ACME)
    assert saved is not None and saved["bot_token"] == acme
    # A state is good once: replaying the redirect installs nothing.
    assert not fake.oauth_codes

    # Each workspace's event is answered with that workspace's token.
    for team, token in ((ACME, acme), (GLOBEX, globex)):
        fake.calls.clear()
        assert await app.event(team, question()) == 200
        [post] = await fake.wait_for("chat.postMessage")
        assert post.token == token
        assert {c.token for c in fake.calls} == {token}  # auth.test too: nothing else

    # Stored data of both workspaces, then Acme removes the app.
    for team in (ACME, GLOBEX):
        await app.store.set_settings("slack", team, {"watch": True})
        run = await app.store.create_run("slack", team, ADMIN, {})
        await app.store.add_results(run.id, [AuditRow("U1", "x", "ab", None, "no_evidence", None)])
        await app.store.remember_avatar("slack", team, "U1", "ab", None, "no_evidence")
    fake.revoke(ACME)
    assert await app.event(ACME, {"type": "app_uninstalled"}) == 200
    await app.uninstalled(ACME)

    assert await app.store.get_settings("slack", ACME) == {}
    assert [r.server_id for r in await app.store.unfinished_runs("slack")] == [GLOBEX]
    assert await app.store.member_avatar_sha("slack", ACME, "U1") is None
    # Globex keeps everything.
    assert await app.store.find_installation(CLIENT_ID, "", GLOBEX) is not None
    assert await app.store.get_settings("slack", GLOBEX) == {"watch": True}
    assert await app.store.member_avatar_sha("slack", GLOBEX, "U1") == "ab"

    # Acme's events are no longer answered (no installation, no token to answer with).
    fake.calls.clear()
    await app.event(ACME, question())
    await app.settle()
    assert fake.calls_to("chat.postMessage") == []


async def test_tokens_revoked_for_the_bot_clears_the_workspace(fake: FakeSlack, app: App) -> None:
    assert await app.install(ACME) == 200
    await app.store.set_settings("slack", ACME, {"watch": True})
    # A user's token revoked: the bot's installation stays.
    users_only = {"type": "tokens_revoked", "tokens": {"oauth": ["U0ALICE001"], "bot": []}}
    assert await app.event(ACME, users_only) == 200
    await app.settle()
    assert await app.store.find_installation(CLIENT_ID, "", ACME) is not None
    bot = {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["U0BOTUSER1"]}}
    assert await app.event(ACME, bot) == 200
    await app.uninstalled(ACME)
    assert await app.store.get_settings("slack", ACME) == {}


async def test_a_forged_or_reused_state_installs_nothing(fake: FakeSlack, app: App) -> None:
    async def redirect(state: str, cookie: str) -> int:
        resp = await app.http.get(
            "/slack/oauth_redirect",
            params={"code": fake.install_code(ACME), "state": state},
            headers={"Cookie": f"slack-app-oauth-state={cookie}"},
        )
        return resp.status

    # Refused (400 or 401, as Bolt answers each case) before any code is exchanged.
    assert await redirect("made-up", "made-up") == 401  # never issued
    page = await app.http.get("/slack/install")
    state = page.cookies["slack-app-oauth-state"].value
    assert await redirect(state, "another") == 400  # not this browser's
    assert await redirect(state, state) == 200
    assert await redirect(state, state) == 401  # used once already
    assert len(fake.calls_to("oauth.v2.access")) == 1
    assert await app.store.installed_teams(CLIENT_ID) == [("", ACME)]


async def test_background_work_uses_each_workspaces_token(fake: FakeSlack, app: App) -> None:
    for team in (ACME, GLOBEX):
        assert await app.install(team) == 200
    workspaces = await workspaces_of(app.app, app.settings)
    assert isinstance(workspaces, InstalledWorkspaces)
    assert sorted(await workspaces.teams()) == [ACME, GLOBEX]
    assert (await workspaces.client(GLOBEX)).token == fake.token_of(GLOBEX)  # type: ignore[union-attr]
    assert await workspaces.client("T0NOTHERE1") is None

    # An audit a restart interrupted, in Globex: resumed with Globex's token, and one of a
    # workspace that removed the app meanwhile is dropped.
    fake.add_user(ADMIN, "Ada Admin", is_admin=True)
    run = await app.store.create_run("slack", GLOBEX, ADMIN, {})
    gone = await app.store.create_run("slack", "T0NOTHERE1", ADMIN, {})
    fake.calls.clear()
    assert await resume_unfinished(bridge_of(app.app), workspaces) == 1
    await app.settle()
    assert fake.calls_to("users.list") and fake.calls_to("chat.postMessage")
    assert {c.token for c in fake.calls} == {fake.token_of(GLOBEX)}
    statuses = dict(await app.store.fetch("SELECT id, status FROM audit_runs"))
    assert statuses == {run.id: "done", gone.id: "cancelled"}


def test_oauth_mode_needs_http_and_the_signing_secret(fake: FakeSlack, capsys) -> None:
    settings = oauth_settings(fake)
    assert settings.slack_oauth
    assert run_slack(settings, http=False) == 2
    assert OAUTH_NEEDS_HTTP in capsys.readouterr().err
    assert missing_settings(settings, http=True) == []  # no SLACK_BOT_TOKEN needed
    unsigned = settings.model_copy(update={"slack_signing_secret": None})
    assert missing_settings(unsigned, http=True) == ["SLACK_SIGNING_SECRET"]
    # The client secret never shows in the settings' repr or logs.
    assert CLIENT_SECRET not in repr(settings)


async def test_the_process_installs_and_answers_a_workspace(fake: FakeSlack, monkeypatch) -> None:
    """`headshot-bot slack --http` with a client id and secret: SLACK_BOT_TOKEN is ignored."""
    import aiohttp

    from tests.test_slack_run import SECRET as RUN_SECRET
    from tests.test_slack_run import free_port, start_bot, stop_bot, wait_serving

    monkeypatch.setenv("SLACK_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("SLACK_CLIENT_SECRET", CLIENT_SECRET)
    port = free_port()
    proc = await start_bot(fake, "--http", "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            await wait_serving(http, base + "/health", proc)
            async with http.get(base + "/slack/install") as page:
                state = page.cookies["slack-app-oauth-state"].value
            params = {"code": fake.install_code(ACME), "state": state}
            cookie = {"Cookie": f"slack-app-oauth-state={state}"}
            async with http.get(base + "/slack/oauth_redirect", params=params, headers=cookie) as r:
                assert r.status == 200
            body = json.dumps(
                {
                    "team_id": ACME,
                    "type": "event_callback",
                    "event_id": "Ev0PROC1",
                    "event": question(),
                }
            ).encode()
            headers = signed_headers(RUN_SECRET, body)
            async with http.post(base + "/slack/events", data=body, headers=headers) as r:
                assert r.status == 200
            [post] = await fake.wait_for("chat.postMessage", timeout=30)
    finally:
        code, out = await stop_bot(proc)
    assert post.token == fake.token_of(ACME)
    assert code == 0, out
    assert "Traceback" not in out and CLIENT_SECRET not in out, out

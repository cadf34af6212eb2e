"""The Slack app: slack-bolt's AsyncApp, in Socket Mode (default) or HTTP mode.

The adapter only translates: Slack events become core `Request`s, the core's `Reply`s become
Block Kit (bot.render.slack). The listeners live in bot.adapters.slack_listeners."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import weakref

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import messages
from bot.adapters.lifecycle import run_until, stop_event
from bot.adapters.slack_listeners import register_all, uninstall
from bot.adapters.slack_listeners.audit import resume_unfinished
from bot.adapters.slack_listeners.bridge import Bridge, retry_handlers
from bot.adapters.slack_listeners.guard import request_guard
from bot.adapters.slack_oauth import (
    FixedWorkspaces,
    InstalledWorkspaces,
    StoreInstallationStore,
    Workspaces,
    oauth_settings,
)
from bot.audit.audit_service import AuditService
from bot.core.request import Platform
from bot.core.service import HeadshotService
from bot.settings import Settings
from bot.store import Store, open_store

log = logging.getLogger(__name__)
_BRIDGES: weakref.WeakKeyDictionary[AsyncApp, Bridge] = weakref.WeakKeyDictionary()
OAUTH_NEEDS_HTTP = messages.text("startup.slack.oauth_needs_http")


def make_client(settings: Settings, token: str | None = None) -> AsyncWebClient:
    """A Web API client with `token`, else SLACK_BOT_TOKEN (none in OAuth mode: Bolt gives
    each request its workspace's token), retrying rate limits, server errors and dropped
    connections."""
    if token is None and settings.slack_bot_token and not settings.slack_oauth:
        token = settings.slack_bot_token.get_secret_value()
    return AsyncWebClient(
        token=token,
        base_url=settings.slack.api_base_url,
        timeout=settings.slack.api_timeout_s,
        retry_handlers=retry_handlers(settings.slack),
    )


def build_app(
    settings: Settings,
    service: HeadshotService,
    client: AsyncWebClient | None = None,
    audits: AuditService | None = None,
    store: Store | None = None,
) -> AsyncApp:
    """With `store` and SLACK_CLIENT_ID/SLACK_CLIENT_SECRET set: many workspaces, installed
    through the OAuth flow and kept in `store`; otherwise the one of SLACK_BOT_TOKEN."""
    secret = settings.slack_signing_secret
    oauth = oauth_settings(settings, store) if store is not None and settings.slack_oauth else None
    app = AsyncApp(
        client=client or make_client(settings),
        # HTTP mode verifies every request with it (and rejects ones older than 5 minutes);
        # Socket Mode needs none.
        signing_secret=secret.get_secret_value() if secret else "",
        name="headshot-check",
        oauth_settings=oauth,
    )
    bridge = Bridge(settings, service, audits)
    _BRIDGES[app] = bridge
    register_all(app, bridge)
    if oauth is not None:
        uninstall.register(app, bridge)
    return app


async def workspaces_of(app: AsyncApp, settings: Settings) -> Workspaces:
    """The workspaces background work (audit resume, retention) runs for, each with its
    own token: every installation in OAuth mode, else SLACK_BOT_TOKEN's workspace."""
    installations = app.installation_store
    if isinstance(installations, StoreInstallationStore):
        return InstalledWorkspaces(installations, lambda token: make_client(settings, token))
    team = str((await app.client.auth_test()).get("team_id") or "")
    return FixedWorkspaces(app.client, [team])


def bridge_of(app: AsyncApp) -> Bridge:
    return _BRIDGES[app]


def web_app(app: AsyncApp, settings: Settings) -> web.Application:
    """HTTP mode's aiohttp application: Slack's requests on events_path (malformed ones
    refused before Bolt sees them), and /health."""
    application = app.web_app(path=settings.slack.events_path)
    secret = settings.slack_signing_secret
    guard = request_guard(secret.get_secret_value() if secret else "", settings.slack.events_path)
    application.middlewares.append(guard)

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    application.router.add_get("/health", health)
    return application


def missing_settings(settings: Settings, http: bool) -> list[str]:
    if settings.slack_oauth:  # many workspaces: tokens come from installations
        secret = settings.slack_signing_secret
        return [] if secret and secret.get_secret_value() else ["SLACK_SIGNING_SECRET"]
    needed = {
        "SLACK_BOT_TOKEN": settings.slack_bot_token,
        **(
            {"SLACK_SIGNING_SECRET": settings.slack_signing_secret}
            if http
            else {"SLACK_APP_TOKEN": settings.slack_app_token}
        ),
    }
    return [name for name, value in needed.items() if value is None or not value.get_secret_value()]


async def check_auth(client: AsyncWebClient) -> str | None:
    """None if Slack accepts the bot token, else why not (in words for the operator)."""
    try:
        await client.auth_test()
    except SlackApiError as exc:
        code = exc.response.get("error")
        return messages.text("startup.slack.token_rejected", code=code)
    except Exception as exc:  # network trouble at start-up: say so instead of a traceback
        return messages.text("startup.slack.unreachable", kind=type(exc).__name__, error=exc)
    return None


def run_slack(settings: Settings, http: bool = False, port: int | None = None) -> int:
    if settings.slack_oauth and not http:
        print(OAUTH_NEEDS_HTTP, file=sys.stderr)
        return 2
    missing = missing_settings(settings, http)
    if missing:
        mode = messages.text("startup.slack.http_mode" if http else "startup.slack.socket_mode")
        names = messages.text("startup.slack.and").join(missing)
        print(messages.text("startup.slack.missing", mode=mode, names=names), file=sys.stderr)
        return 2
    app_token = settings.slack_app_token.get_secret_value() if settings.slack_app_token else ""
    if not http and not app_token.startswith("xapp-"):
        print(messages.text("startup.slack.app_token"), file=sys.stderr)
        return 2
    try:
        return asyncio.run(_serve(settings, http, port))
    except KeyboardInterrupt:
        return 0


async def _serve(settings: Settings, http: bool, port: int | None) -> int:
    client = make_client(settings)
    problem = None if settings.slack_oauth else await check_auth(client)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    stop = stop_event()  # before the workers start: a SIGTERM from now on shuts them down
    service = HeadshotService(settings)
    store = await open_store(settings)
    audits = AuditService(store, service.pool, settings)
    app = build_app(settings, service, client, audits, store)
    bridge = bridge_of(app)
    workspaces = await workspaces_of(app, settings)
    purger = asyncio.create_task(
        retention_loop(audits, settings.slack.purge_interval_s, workspaces)
    )
    try:
        # A stop while the workers start skips serving; `finally` kills them.
        if await run_until(stop, service.start()) is None:
            await resume_unfinished(bridge, workspaces)
            if http:
                await _serve_http(app, settings, port, stop)
            else:
                await _serve_socket_mode(app, settings, stop)
        await _wind_down(bridge, service, settings)
    finally:
        purger.cancel()
        with contextlib.suppress(TimeoutError):  # jobs were drained above; do not wait again
            await asyncio.wait_for(bridge.close(), 1.0)
        service.close()
        await store.close()
    return 0


async def _wind_down(bridge: Bridge, service: HeadshotService, settings: Settings) -> None:
    """Stopped (SIGTERM/SIGINT), no longer receiving events: audits pause where they are
    (resumed at the next start); photos being checked get shutdown_grace_s to finish, then
    are answered "the bot is restarting"; the answers get shutdown_reply_s to go out."""
    log.info("stopping: finishing the photos being checked")
    flows = bridge.moderation
    # Cancelled at once; they end while the pool finishes the avatars being checked.
    audits_stopped = asyncio.create_task(flows.stop()) if flows is not None else None
    await service.pool.shutdown(settings.limits.shutdown_grace_s)
    with contextlib.suppress(TimeoutError):
        await bridge.jobs.drain(timeout_s=settings.limits.shutdown_reply_s)
    if audits_stopped is not None:
        await audits_stopped


async def retention_loop(audits: AuditService, interval_s: float, workspaces: Workspaces) -> None:
    """Delete stored audit results past their retention, now and every interval_s: the
    app-wide retention for everything, and each workspace's own when it is shorter."""
    while True:
        try:
            await audits.purge()
            for team in await workspaces.teams():  # installations come and go
                await audits.purge_server(Platform.SLACK, team)
        except Exception:  # a failed purge is retried next time; the app keeps running
            log.exception("retention purge failed")
        await asyncio.sleep(interval_s)


async def _serve_http(
    app: AsyncApp, settings: Settings, port: int | None, stop: asyncio.Event
) -> None:
    port = port or int(os.environ.get("PORT") or settings.slack.http_port)
    # On stop, requests in progress get a moment (events are acknowledged at once anyway).
    runner = web.AppRunner(web_app(app, settings), shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, settings.slack.http_host, port).start()
    log.info("Slack HTTP mode on %s:%s", settings.slack.http_host, port)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


async def _serve_socket_mode(app: AsyncApp, settings: Settings, stop: asyncio.Event) -> None:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    assert settings.slack_app_token is not None
    handler = AsyncSocketModeHandler(app, settings.slack_app_token.get_secret_value())
    await handler.connect_async()  # type: ignore[no-untyped-call]
    log.info("Slack Socket Mode connected")
    try:
        await stop.wait()
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]

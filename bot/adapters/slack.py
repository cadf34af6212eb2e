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
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.lifecycle import run_until, stop_event
from bot.adapters.slack_listeners import register_all
from bot.adapters.slack_listeners.audit import resume_unfinished
from bot.adapters.slack_listeners.bridge import Bridge
from bot.adapters.slack_listeners.guard import request_guard
from bot.audit.service import AuditService
from bot.core.service import HeadshotService
from bot.settings import Settings
from bot.store import open_store

log = logging.getLogger(__name__)
_BRIDGES: weakref.WeakKeyDictionary[AsyncApp, Bridge] = weakref.WeakKeyDictionary()


def make_client(settings: Settings) -> AsyncWebClient:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    client = AsyncWebClient(
        token=token,
        base_url=settings.slack.api_base_url,
        timeout=settings.slack.api_timeout_s,
    )
    if settings.slack.ratelimit_retries > 0:
        # Wait out Retry-After and try again; after that the caller explains the error.
        client.retry_handlers.append(
            AsyncRateLimitErrorRetryHandler(max_retry_count=settings.slack.ratelimit_retries)
        )
    return client


def build_app(
    settings: Settings,
    service: HeadshotService,
    client: AsyncWebClient | None = None,
    audits: AuditService | None = None,
) -> AsyncApp:
    secret = settings.slack_signing_secret
    app = AsyncApp(
        client=client or make_client(settings),
        # HTTP mode verifies every request with it (and rejects ones older than 5 minutes);
        # Socket Mode needs none.
        signing_secret=secret.get_secret_value() if secret else "",
        name="headshot-check",
    )
    bridge = Bridge(settings, service, audits)
    _BRIDGES[app] = bridge
    register_all(app, bridge)
    return app


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
        return f"Slack rejected SLACK_BOT_TOKEN ({code}). Check the token in the app's settings."
    except Exception as exc:  # network trouble at start-up: say so instead of a traceback
        return f"Could not reach Slack's Web API ({type(exc).__name__}: {exc})."
    return None


def run_slack(settings: Settings, http: bool = False, port: int | None = None) -> int:
    missing = missing_settings(settings, http)
    if missing:
        mode = "HTTP mode" if http else "Socket Mode"
        print(
            f"The Slack app in {mode} needs {' and '.join(missing)} in the environment "
            "(see docs/slack.md).",
            file=sys.stderr,
        )
        return 2
    app_token = settings.slack_app_token.get_secret_value() if settings.slack_app_token else ""
    if not http and not app_token.startswith("xapp-"):
        print("SLACK_APP_TOKEN must be an app-level token (xapp-…).", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_serve(settings, http, port))
    except KeyboardInterrupt:
        return 0


async def _serve(settings: Settings, http: bool, port: int | None) -> int:
    client = make_client(settings)
    problem = await check_auth(client)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    stop = stop_event()  # before the workers start: a SIGTERM from now on shuts them down
    service = HeadshotService(settings)
    store = await open_store(settings)
    audits = AuditService(store, service.pool, settings)
    app = build_app(settings, service, client, audits)
    bridge = bridge_of(app)
    team = str((await client.auth_test()).get("team_id") or "")
    purger = asyncio.create_task(retention_loop(audits, settings.slack.purge_interval_s, [team]))
    try:
        # A stop while the workers start skips serving; `finally` kills them.
        if await run_until(stop, service.start()) is None:
            await resume_unfinished(bridge, client)
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
    for task in bridge.auditing.values():
        task.cancel()
    await service.pool.shutdown(settings.limits.shutdown_grace_s)
    with contextlib.suppress(TimeoutError):
        await bridge.jobs.drain(timeout_s=settings.limits.shutdown_reply_s)


async def retention_loop(audits: AuditService, interval_s: float, teams: list[str]) -> None:
    """Delete stored audit results past their retention, now and every interval_s: the
    app-wide retention for everything, and each workspace's own when it is shorter."""
    while True:
        try:
            await audits.purge()
            for team in teams:
                await audits.purge_server("slack", team)
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
    await handler.connect_async()
    log.info("Slack Socket Mode connected")
    try:
        await stop.wait()
    finally:
        await handler.close_async()
